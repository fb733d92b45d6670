"""AUTH PLAIN/LOGIN against the users file; refusals, slowing, disconnect; MAIL FROM ownership."""

import base64
import smtplib
import socket
import subprocess
import time
import warnings

import pytest

from conftest import (Closed, Conn, login_conn, message, send_raw_message, smtp_client,
                      tls_conn, token)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt


def b64(s):
    return base64.b64encode(s.encode()).decode()


# ---------------------------------------------------------------- mailport passwd


def test_passwd_prints_crypt_hash(mailport_bin):
    pw = "correct horse battery"
    p = subprocess.run([mailport_bin, "passwd"], input=(pw + "\n").encode(),
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    h = p.stdout.decode().strip().splitlines()[-1]
    assert h.startswith("$"), h
    assert crypt.crypt(pw, h) == h, "hash does not verify the password with crypt(3)"
    assert crypt.crypt("wrong", h) != h


def test_passwd_user_prints_users_line(mailport_bin):
    pw = "s3cret"
    p = subprocess.run([mailport_bin, "passwd", "--user", "dave@example.test"],
                       input=(pw + "\n").encode(), capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    line = p.stdout.decode().strip().splitlines()[-1]
    addr, _, h = line.partition(":")
    assert addr == "dave@example.test", line
    assert crypt.crypt(pw, h) == h


def test_passwd_hash_works_for_login(mailport_bin, make_server):
    # The product path end to end: a users line made by `mailport passwd --user`.
    pw = "fresh-pass-9"
    p = subprocess.run([mailport_bin, "passwd", "--user", "erin@example.test"],
                       input=(pw + "\n").encode(), capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    srv = make_server(start=False)
    with open(srv.dir + "/users", "a") as f:
        f.write(p.stdout.decode().strip().splitlines()[-1] + "\n")
    srv.users["erin@example.test"] = pw
    srv.start()
    with tls_conn(srv) as c:
        assert c.auth_plain("erin@example.test", pw).code == 235


# ---------------------------------------------------------------- success


@pytest.mark.parametrize("door", ["submission", "fallback", "submissions"])
def test_auth_plain_and_login_succeed(server, door):
    for mech in ("PLAIN", "LOGIN"):
        with tls_conn(server, door) as c:
            if mech == "PLAIN":
                r = c.auth_plain("alice@example.test", server.users["alice@example.test"])
            else:
                r = c.cmd("AUTH LOGIN")
                assert r.code == 334, r
                assert base64.b64decode(r.lines[0]).lower().startswith(b"username"), r
                r = c.cmd(b64("alice@example.test"))
                assert r.code == 334, r
                assert base64.b64decode(r.lines[0]).lower().startswith(b"password"), r
                r = c.cmd(b64(server.users["alice@example.test"]))
            assert (r.code, r.enhanced) == (235, "2.7.0"), (mech, r)
            r = c.cmd("AUTH PLAIN " + b64("\0alice@example.test\0x"))
            assert r.code == 503, "second AUTH in one session: %r" % r


def test_auth_plain_without_initial_response(server):
    with tls_conn(server) as c:
        r = c.cmd("AUTH PLAIN")
        assert r.code == 334, r
        r = c.cmd(b64("\0bob@example.test\0" + server.users["bob@example.test"]))
        assert r.code == 235, r


def test_auth_user_case_insensitive(server):
    with tls_conn(server) as c:
        assert c.auth_plain("Alice@Example.TEST", server.users["alice@example.test"]).code == 235


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("who,pw", [
    ("alice@example.test", "not-the-password"),
    ("alice@example.test", "bob-pw-2"),            # someone else's password
    ("mallory@example.test", "anything"),          # no such user
    ("alice@example.test", ""),
])
def test_auth_wrong_credentials_535(make_server, who, pw):
    server = make_server()
    with tls_conn(server) as c:
        r = c.auth_plain(who, pw)
        assert (r.code, r.enhanced) == (535, "5.7.8"), r
        r = c.cmd("MAIL FROM:<alice@example.test>")
        assert (r.code, r.enhanced) == (530, "5.7.0"), "failed AUTH must not authenticate: %r" % r


def test_auth_login_wrong_password_535(make_server):
    server = make_server()
    with tls_conn(server) as c:
        r = c.auth_login("bob@example.test", "nope")
        assert (r.code, r.enhanced) == (535, "5.7.8"), r


def test_auth_plain_authzid_of_other_user_refused(make_server):
    server = make_server()
    # authorization identity bob, authenticated as alice with alice's password:
    # acting as someone else is not allowed.
    with tls_conn(server) as c:
        r = c.cmd("AUTH PLAIN " + b64("bob@example.test\0alice@example.test\0"
                                      + server.users["alice@example.test"]))
        assert r.code >= 500, r
        r = c.cmd("MAIL FROM:<bob@example.test>")
        assert r.code >= 500, r


def test_auth_malformed_base64_refused(make_server):
    server = make_server()
    with tls_conn(server) as c:
        r = c.cmd("AUTH PLAIN !!!notbase64!!!")
        assert r.code == 501 or r.code == 535, r
        r = c.cmd("MAIL FROM:<alice@example.test>")
        assert r.code == 530, r


def test_auth_failures_slowed(make_server):
    server = make_server()
    with tls_conn(server) as c:
        r = c.auth_plain("alice@example.test", "wrong-1")
        t1 = time.monotonic()
        assert r.code == 535, r
        r = c.auth_plain("alice@example.test", "wrong-2")
        t2 = time.monotonic()
        assert r.code == 535, r
        assert t2 - t1 >= 1.0, "2nd failure answered after %.2f s; must be slowed (>= 1 s)" % (
            t2 - t1)


def test_auth_failures_slowed_across_reconnects(make_server):
    # "Repeated failures from one client": reconnecting for each guess must not
    # reset the slowing, or a brute-forcer just opens a new connection each time.
    server = make_server()
    took = []
    for i in range(3):
        with tls_conn(server) as c:
            t0 = time.monotonic()
            r = c.auth_plain("alice@example.test", "guess-%d" % i)
            took.append(time.monotonic() - t0)
            assert r.code == 535, r
    assert took[2] - took[0] >= 0.8, "failure replies took %r s: not slowed across " \
        "connections from the same address" % [round(t, 2) for t in took]


def test_auth_failure_limit_disconnects(make_server):
    server = make_server()
    # Default auth-failure-limit 3: after the 3rd failure, 421 4.7.0 and close.
    # Even the right password is not accepted after that.
    with tls_conn(server) as c:
        codes = []
        got_421 = None
        for i in range(3):
            r = c.auth_plain("alice@example.test", "wrong-%d" % i)
            codes.append(r.code)
            if r.code == 421:
                got_421 = r
                break
            assert (r.code, r.enhanced) == (535, "5.7.8"), (i, r)
        if got_421 is None:
            # 535 to the 3rd, then 421 (unsolicited, or to the next command).
            try:
                r = c.reply(timeout=1.0)
            except (socket.timeout, Closed):
                try:
                    r = c.auth_plain("alice@example.test", server.users["alice@example.test"])
                except Closed:
                    pytest.fail("connection closed without a 421 after %r" % codes)
            assert r.code != 235, "authenticated after the failure limit: %r" % r
            got_421 = r
        assert (got_421.code, got_421.enhanced) == (421, "4.7.0"), (codes, got_421)
        assert c.closed(timeout=5), "connection still open after 421"


def test_auth_failure_limit_configurable(make_server):
    srv = make_server(limits={"auth-failure-limit": 1})
    with tls_conn(srv) as c:
        r = c.auth_plain("alice@example.test", "wrong")
        if r.code == 535:
            try:
                r = c.reply(timeout=1.0)
            except (socket.timeout, Closed):
                r = c.auth_plain("alice@example.test", srv.users["alice@example.test"])
        assert (r.code, r.enhanced) == (421, "4.7.0"), r
        assert c.closed(timeout=5)


def test_auth_failures_counted_per_session(make_server):
    server = make_server()
    # Failures in a closed session do not lock out the next one.
    with tls_conn(server) as c:
        assert c.auth_plain("bob@example.test", "x").code == 535
    with tls_conn(server) as c:
        assert c.auth_plain("bob@example.test", server.users["bob@example.test"]).code == 235


def test_auth_smtplib_wrong_password_raises(make_server):
    server = make_server()
    s = smtp_client(server, "fallback")
    try:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login("alice@example.test", "bad")
    finally:
        s.close()


# ---------------------------------------------------------------- MAIL FROM ownership


@pytest.mark.parametrize("frm,ok", [
    ("alice@example.test", True),
    ("alice+lists@example.test", True),
    ("alice@EXAMPLE.TEST", True),
    ("bob@example.test", False),
    ("carol@second.test", False),
    ("alice@second.test", False),
    ("alice@remote.test", False),
    ("xalice@example.test", False),
    ("alice@example.test.remote.test", False),
])
def test_mail_from_must_be_owned(server, frm, ok):
    with login_conn(server, "submission", "alice@example.test") as c:
        r = c.cmd("MAIL FROM:<%s>" % frm)
        if ok:
            assert r.code == 250, (frm, r)
        else:
            assert (r.code, r.enhanced) == (553, "5.7.1"), (frm, r)


def test_mail_from_owned_on_465_and_delivered_with_tag(server):
    m = token()
    with login_conn(server, "submissions", "bob@example.test") as c:
        assert c.cmd("MAIL FROM:<alice@example.test>").code == 553
        r = send_raw_message(c, "bob+tag@example.test", ["alice@example.test"],
                             message(m, frm="bob+tag@example.test").encode() + b".\r\n")
        assert r.code == 250, r
    got = server.wait_mail("alice@example.test", m)
    assert len(got) == 1
    assert got[0].startswith(b"Return-Path: <bob+tag@example.test>\n")
