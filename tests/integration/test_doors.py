"""The four doors: what each offers, what each refuses, local and relay rules.

Listeners run on free high ports, so every mode here comes from the service
name in the config (the port number cannot tell).
"""

import re
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import (HOST, Conn, caps, message, send_raw_message, smtp_client, token,
                      header_block)

BASE_CAPS = ("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8", "CHUNKING", "DSN")


def assert_base_caps(r, size=36700160):
    c = caps(r)
    for k in BASE_CAPS:
        assert k in c, "EHLO lacks %s: %r" % (k, r)
    assert "SIZE" in c, "EHLO lacks SIZE: %r" % r
    assert c["SIZE"].split()[1:] == [str(size)], "SIZE should be %d: %r" % (size, c["SIZE"])
    return c


# ---------------------------------------------------------------- startup and shutdown


def test_listening_logged_per_listener(server):
    log = server.log_text()
    for name, svc in server.doors.items():
        pat = r"event=listening\b.*\baddr=%s:%d\b.*\bservice=%s\b" % (
            re.escape(HOST), server.port(name), svc)
        alt = r"event=listening\b.*\bservice=%s\b.*\baddr=%s:%d\b" % (
            svc, re.escape(HOST), server.port(name))
        assert re.search(pat, log) or re.search(alt, log), \
            "no event=listening line for %s:%d %s in:\n%s" % (HOST, server.port(name), svc, log)


def test_sigterm_exits_zero(make_server):
    srv = make_server()
    with Conn(srv.port("smtp")) as c:
        assert c.greeting.code == 220
    assert srv.stop() == 0, srv.log_text()[-3000:]


def test_sigterm_with_open_session_exits_zero(make_server):
    srv = make_server()
    c = Conn(srv.port("submission"))
    try:
        c.ehlo()
        t0 = time.monotonic()
        assert srv.stop() == 0, srv.log_text()[-3000:]
        assert time.monotonic() - t0 < 10
        assert c.closed(5)
    finally:
        c.close()


def test_unbindable_port_exits_nonzero_naming_port(make_server):
    srv = make_server(start=False)
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind((HOST, srv.port("smtp")))
    busy.listen(1)
    srv.expect_exit = True
    try:
        srv.start(wait=False)
        try:
            code = srv.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("mailport kept running although port %d is taken" % srv.port("smtp"))
        assert code != 0
        assert str(srv.port("smtp")) in srv.log_text(), srv.log_text()
    finally:
        busy.close()


def test_bad_config_exits_nonzero_with_file_line(make_server):
    srv = make_server(start=False, extra=["no-such-directive 1"])
    srv.expect_exit = True
    srv.start(wait=False)
    try:
        code = srv.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("mailport kept running with an unknown directive")
    assert code != 0
    n = srv.config_text().splitlines().index("no-such-directive 1") + 1
    assert re.search(r"mailport\.conf:%d\b" % n, srv.log_text()), srv.log_text()


# ---------------------------------------------------------------- smtp (25)


def test_smtp_greeting_and_ehlo_caps(server):
    with Conn(server.port("smtp")) as c:
        assert c.greeting.code == 220
        r = c.ehlo()
        cs = assert_base_caps(r)
        assert "STARTTLS" in cs, r
        assert "AUTH" not in cs, "AUTH must never be offered on the smtp door: %r" % r


def test_smtp_helo_works(server):
    with Conn(server.port("smtp")) as c:
        assert c.cmd("HELO client.example.test").code == 250


def test_smtp_no_auth_even_after_starttls(server):
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        r = c.cmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1zZWNyZXQtMQ==")
        assert (r.code, r.enhanced) == (503, "5.5.1"), r
        c.starttls(server.certs.client_context())
        r = c.ehlo()
        cs = caps(r)
        assert "AUTH" not in cs, r
        assert "STARTTLS" not in cs, "STARTTLS offered again after TLS: %r" % r
        r = c.auth_plain("alice@example.test", server.users["alice@example.test"])
        assert (r.code, r.enhanced) == (503, "5.5.1"), r


def test_smtp_plain_delivers_local(server):
    m = token()
    s = smtp_client(server, "smtp", starttls=False)
    try:
        refused = s.sendmail("sender@remote.test", ["alice@example.test"],
                             message(m, frm="sender@remote.test"))
        assert refused == {}
    finally:
        s.quit()
    got = server.wait_mail("alice@example.test", m)
    assert len(got) == 1, "message not delivered to example.test/alice/new"
    data = got[0]
    assert b"\r" not in data, "Maildir files use LF line ends"
    hdr = header_block(data)
    assert hdr[0] == "Return-Path: <sender@remote.test>", hdr[:3]
    # Mail from another server: our Authentication-Results opens it (issue 14).
    assert hdr[1].startswith("Authentication-Results: mx.example.test;"), hdr[:3]
    assert hdr[2].startswith("Received:"), hdr[:3]
    assert "hello " + m in data.decode()


def test_smtp_starttls_delivers_local_with_tls_in_received(server):
    m = token()
    s = smtp_client(server, "smtp")  # STARTTLS, certificate verified against the test CA
    try:
        cipher = s.sock.cipher()
        s.sendmail("sender@remote.test", ["bob@example.test"], message(m, to="bob@example.test"))
    finally:
        s.quit()
    got = server.wait_mail("bob@example.test", m)
    assert len(got) == 1
    rec = header_block(got[0])[2]  # after Return-Path and our Authentication-Results
    assert rec.startswith("Received:"), rec
    assert cipher[1] in rec, "Received: should name %s: %s" % (cipher[1], rec)
    assert cipher[0] in rec, "Received: should name the cipher %s: %s" % (cipher[0], rec)


def test_smtp_second_domain_is_local(server):
    m = token()
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        r = send_raw_message(c, "x@remote.test", ["carol@second.test"],
                             message(m, to="carol@second.test").encode() + b".\r\n")
        assert r.code == 250, r
    assert len(server.wait_mail("carol@second.test", m)) == 1


def test_smtp_case_and_tag_go_to_base_mailbox(server):
    m = token()
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        r = send_raw_message(c, "x@remote.test", ["Alice+News@EXAMPLE.Test"],
                             message(m).encode() + b".\r\n")
        assert r.code == 250, r
    got = server.wait_mail("alice@example.test", m)
    assert len(got) == 1, "Alice+News@EXAMPLE.Test not in mail/example.test/alice/new"


def test_smtp_postmaster_always_accepted(server):
    # RFC 5321 4.5.1: every local domain takes mail for postmaster.
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<x@remote.test>").code == 250
        assert c.cmd("RCPT TO:<postmaster@example.test>").code == 250
        assert c.cmd("RCPT TO:<Postmaster>").code == 250


def test_smtp_unknown_local_user_550_511(server):
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<x@remote.test>").code == 250
        r = c.cmd("RCPT TO:<nobody-here@example.test>")
        assert (r.code, r.enhanced) == (550, "5.1.1"), r


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "starttls"])
def test_smtp_relay_denied_550_571(server, tls):
    # From loopback, with and without TLS: no client is exempt by its address.
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        if tls:
            c.starttls(server.certs.client_context())
            c.ehlo()
        assert c.cmd("MAIL FROM:<alice@example.test>").code == 250
        r = c.cmd("RCPT TO:<someone@remote.test>")
        assert (r.code, r.enhanced) == (550, "5.7.1"), r
        assert "relay" in r.text.lower(), r
        assert "587" in r.text, r
        # Nor can a trick of address syntax relay.
        for rc in ("someone%remote.test@example.test", "@example.test:someone@remote.test",
                   "someone@remote.test."):
            r = c.cmd("RCPT TO:<%s>" % rc)
            assert r.code >= 500, (rc, r)
        # The local user is still fine in the same transaction.
        assert c.cmd("RCPT TO:<alice@example.test>").code == 250


def test_smtp_relay_denied_smtplib(server):
    s = smtp_client(server, "smtp", starttls=False)
    try:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            s.sendmail("alice@example.test", ["someone@remote.test"], message(token()))
        code, text = e.value.recipients["someone@remote.test"]
        assert code == 550 and b"5.7.1" in text
    finally:
        s.close()


# ---------------------------------------------------------------- submission (587, 2525)


@pytest.mark.parametrize("door", ["submission", "fallback"])
def test_submission_ehlo_before_and_after_tls(server, door):
    with Conn(server.port(door)) as c:
        assert c.greeting.code == 220
        r = c.ehlo()
        cs = assert_base_caps(r)
        assert "STARTTLS" in cs, r
        assert "AUTH" not in cs, "AUTH offered before TLS: %r" % r
        c.starttls(server.certs.client_context())
        r = c.ehlo()
        cs = assert_base_caps(r)
        assert "STARTTLS" not in cs, r
        assert "AUTH" in cs, r
        mechs = cs["AUTH"].upper().split()[1:]
        assert "PLAIN" in mechs and "LOGIN" in mechs, r


@pytest.mark.parametrize("door", ["submission", "fallback"])
@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_submission_auth_before_tls_530(server, door, mech):
    with Conn(server.port(door)) as c:
        c.ehlo()
        if mech == "PLAIN":
            r = c.auth_plain("alice@example.test", server.users["alice@example.test"])
        else:
            r = c.cmd("AUTH LOGIN")
        assert (r.code, r.enhanced) == (530, "5.7.0"), r
        assert "STARTTLS" in r.text and "465" in r.text, r


@pytest.mark.parametrize("door", ["submission", "fallback"])
def test_submission_mail_before_auth_530(server, door):
    with Conn(server.port(door)) as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<alice@example.test>")
        assert (r.code, r.enhanced) == (530, "5.7.0"), "before TLS: %r" % r
        c.starttls(server.certs.client_context())
        c.ehlo()
        r = c.cmd("MAIL FROM:<alice@example.test>")
        assert (r.code, r.enhanced) == (530, "5.7.0"), "after TLS, before AUTH: %r" % r
        assert "authentication required" in r.text.lower(), r
        r = c.cmd("RCPT TO:<alice@example.test>")
        assert r.code in (503, 530), r


@pytest.mark.parametrize("door", ["submission", "fallback"])
@pytest.mark.parametrize("method", ["PLAIN", "LOGIN"])
def test_submission_smtplib_starttls_login_delivers(server, door, method):
    m = token()
    s = smtp_client(server, door, login="alice@example.test", method=method)
    try:
        s.sendmail("alice@example.test", ["bob@example.test"], message(m, to="bob@example.test"))
    finally:
        s.quit()
    got = server.wait_mail("bob@example.test", m)
    assert len(got) == 1
    hdr = header_block(got[0])
    assert hdr[0] == "Return-Path: <alice@example.test>", hdr[:2]
    assert hdr[1].startswith("Received:") and "TLSv1." in hdr[1], hdr[1]


def test_submission_remote_recipient_queued(server):
    m = token()
    s = smtp_client(server, "submission", login="alice@example.test")
    try:
        s.sendmail("alice@example.test", ["friend@remote.test", "bob@example.test"],
                   message(m, to="friend@remote.test"))
    finally:
        s.quit()
    # The local copy is delivered; the remote one waits in the queue.
    assert len(server.wait_mail("bob@example.test", m)) == 1
    q = server.wait_queue(m)
    assert q, "no spool/queue file holds the message for friend@remote.test"
    text = list(q.values())[0].decode(errors="replace")
    env = text.split("\n\n", 1)[0] if "\n\n" in text else text.split("\r\n\r\n", 1)[0]
    assert re.search(r"^rcpt <?friend@remote\.test>?", env, re.M), env
    assert re.search(r"^from <?alice@example\.test>?", env, re.M), env


# ---------------------------------------------------------------- submissions (465)


def test_submissions_smtp_ssl_delivers(server):
    m = token()
    s = smtp_client(server, "submissions", login="bob@example.test", method="PLAIN")
    try:
        code, resp = s.ehlo("client.example.test")
        assert "STARTTLS" not in resp.decode().upper().split(), \
            "STARTTLS offered on the implicit-TLS door"
        assert s.has_extn("auth")
        s.sendmail("bob@example.test", ["alice@example.test"], message(m, frm="bob@example.test"))
    finally:
        s.quit()
    got = server.wait_mail("alice@example.test", m)
    assert len(got) == 1
    assert "TLSv1." in header_block(got[0])[1]


def test_submissions_ehlo_caps(server):
    with Conn(server.port("submissions"), tls_ctx=server.certs.client_context()) as c:
        assert c.greeting.code == 220
        cs = assert_base_caps(c.ehlo())
        assert "STARTTLS" not in cs
        assert "PLAIN" in cs["AUTH"].upper().split() and "LOGIN" in cs["AUTH"].upper().split()
        r = c.cmd("MAIL FROM:<bob@example.test>")
        assert (r.code, r.enhanced) == (530, "5.7.0"), r
        r = c.cmd("STARTTLS")
        assert 500 <= r.code < 600, "STARTTLS inside TLS: %r" % r


def test_address_in_use_names_the_port_in_the_fix(make_server):
    """The ss command in the fix is ready to paste: the real port, not ':PORT'."""
    srv = make_server(start=False)
    port = srv.ports["submission"]
    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    taken.bind((HOST, port))
    taken.listen(1)
    try:
        srv.expect_exit = True
        srv.start(wait=False)
        assert srv.proc.wait(timeout=20) != 0
    finally:
        taken.close()
    log = srv.log_text()
    assert "address already in use" in log, log
    assert "ss -ltnp 'sport = :%d'" % port in log, log
    assert ":PORT" not in log
