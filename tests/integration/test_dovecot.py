"""Dovecot beside mailport (issue 16): local delivery over LMTP (RFC 2033)
and logins checked by Dovecot's auth server, against a real Dovecot
(tests/integration/dovecot.py) started by the tests.

The mailport here has no users file: logins are Dovecot's accounts, and
every address of example.test is taken at RCPT and answered for by
Dovecot's LMTP at delivery (unknown or over quota: returned to the sender).
What each test proves is in its docstring."""

import os
import re
import smtplib
import tempfile

import pytest

from conftest import HOST, Server, finish_server, message, poll, run, token
from dovecot import DovecotPeer, ensure_dovecot

ALICE, BOB, CAROL = "alice@example.test", "bob@example.test", "carol@example.test"
ACCOUNTS = {ALICE: "alice-dove-pw", BOB: "bob-dove-pw", CAROL: "carol-dove-pw"}
BOB_QUOTA = 1500  # bytes: a 4 KiB message is over it


class DovecotServer(Server):
    """A mailport whose logins and mailboxes are Dovecot's: no users line."""

    def config_text(self):
        return super().config_text().replace("users users\n", "")


@pytest.fixture(scope="module")
def dovecot(workroot):
    why = ensure_dovecot()
    if why:
        pytest.skip(why)
    d = DovecotPeer(workroot, ACCOUNTS, quotas={BOB: BOB_QUOTA})
    d.start()
    yield d
    d.stop()


@pytest.fixture
def mp(mailport_bin, workroot, certs, dovecot):
    """Factory: a mailport delivering to and logging in through `dovecot`."""
    made = []

    def factory(lmtp=None, auth=None, extra=(), peer=None):
        peer = peer or dovecot
        lines = ["deliver lmtp %s" % (lmtp or "unix:" + peer.lmtp_socket),
                 "auth dovecot %s" % (auth or peer.auth_socket),
                 "retry-interval 1h"] + list(extra)
        srv = DovecotServer(mailport_bin, workroot, certs, extra=lines, name="dove")
        made.append(srv)
        srv.start()
        return srv

    yield factory
    problems = []
    for srv in made:
        problems += finish_server(srv)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def submit(srv, user, password, rcpts, marker, body=None):
    """smtplib on the submission door: STARTTLS, AUTH with a Dovecot login, one message."""
    with smtplib.SMTP(HOST, srv.port("submission"), timeout=15) as s:
        s.starttls(context=srv.certs.client_context())
        s.login(user, password)
        s.sendmail(user, rcpts, message(marker, frm=user, to=rcpts[0], body=body))


def test_dovecot_login_then_lmtp_then_imap(mp, dovecot):
    """A message submitted with a login only Dovecot knows (mailport has no
    users file) is delivered over LMTP and read back over IMAP with imaplib;
    Dovecot's auth saw the client's address (rip=) and a TLS session."""
    srv = mp()
    marker = token()
    submit(srv, ALICE, ACCOUNTS[ALICE], [ALICE], marker)
    got = dovecot.wait_imap(ALICE, marker)
    assert got, "not in alice's INBOX over IMAP:\n" + srv.log_text()[-3000:]
    # Our Received: leads (with the TLS and the login), Dovecot added Return-Path.
    assert re.search(r"^Return-Path: <alice@example\.test>", got, re.M), got[:800]
    assert "by mx.example.test" in got and "with ESMTPSA" in got, got[:1500]
    assert srv.wait_log(r"to=<alice@example\.test> relay=lmtp:unix:\S+ delay=\d+ dsn=2\.0\.0 "
                        r"status=sent reply=\"250 2\.0\.0")
    assert srv.wait_log(r"id=\S+ event=removed")
    log = dovecot.log_text()
    assert re.search(r"auth: passwd-file\(alice@example\.test,127\.0\.0\.1", log) or \
        "rip=127.0.0.1" in log, log[-2000:]
    # The kept LMTP connection is closed (QUIT) once mailport has been idle
    # 2 s, so it does not hold one of Dovecot's lmtp processes.
    assert poll(lambda: re.search(r"lmtp\(\d+\): Info: Disconnect from local: "
                                  r"Logged out", dovecot.log_text()), timeout=15), \
        dovecot.log_text()[-2000:]


def test_wrong_password_refused(mp, dovecot):
    """Dovecot's verdict is the server's: a wrong password is 535, and
    Dovecot's log names the account and the client's address."""
    srv = mp()
    with smtplib.SMTP(HOST, srv.port("submission"), timeout=30) as s:
        s.starttls(context=srv.certs.client_context())
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login(ALICE, "not-" + ACCOUNTS[ALICE])
        assert e.value.smtp_code == 535
    assert poll(lambda: re.search(r"passwd-file\(alice@example\.test,127\.0\.0\.1.*"
                                  r"[Pp]assword mismatch", dovecot.log_text()))


def test_auth_socket_missing_is_a_temporary_failure(mp, dovecot, workroot):
    """No Dovecot at the auth socket: 454 (try later), with what happened
    and the fix in mailport's log, never 535 (the password may be right)."""
    srv = mp(auth="unix:%s/no-such-auth-socket" % workroot)
    with smtplib.SMTP(HOST, srv.port("submission"), timeout=30) as s:
        s.starttls(context=srv.certs.client_context())
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login(ALICE, ACCOUNTS[ALICE])
        assert e.value.smtp_code == 454
    assert srv.wait_log(r"event=auth_tempfail reason=\"Dovecot auth at unix:\S+no-such-auth-"
                        r"socket: .*is Dovecot running")


def test_over_quota_bounces_alone(mp, dovecot):
    """One message to alice, bob (over his Dovecot quota) and a mailbox
    Dovecot does not have: alice gets it; bob's INBOX does not; the sender
    (carol) gets one report naming bob (5.2.2) and the unknown one (5.1.1),
    delivered to her over LMTP too; the log says sent/bounced per recipient."""
    srv = mp()
    marker = token()
    nobody = "nobody-%s@example.test" % marker
    body = ("x" * 70 + "\r\n") * 60  # 4 KiB: over bob's 1500 bytes
    submit(srv, CAROL, ACCOUNTS[CAROL], [ALICE, BOB, nobody], marker, body=body)
    assert dovecot.wait_imap(ALICE, marker), srv.log_text()[-3000:]
    assert srv.wait_log(r"to=<bob@example\.test> relay=lmtp:\S+ delay=\d+ dsn=5\.2\.2 "
                        r"status=bounced reply=\"552 5\.2\.2"), srv.log_text()[-3000:]
    assert srv.wait_log(r"to=<%s> relay=lmtp:\S+ delay=\d+ dsn=5\.1\.1 status=bounced"
                        % re.escape(nobody))
    report = poll(lambda: next((m for m in dovecot.imap_messages(CAROL)
                                if "multipart/report" in m and marker in m), None))
    assert report, srv.log_text()[-3000:]
    assert "Final-Recipient: rfc822; bob@example.test" in report.replace(";bob", "; bob")
    assert re.search(r"Status: 5\.2\.2", report)
    assert re.search(r"Status: 5\.1\.1", report)
    assert ALICE not in re.findall(r"Final-Recipient: rfc822; ?(\S+)", report)
    assert not any(marker in m for m in dovecot.imap_messages(BOB))
    assert srv.wait_log(r"event=bounce bounce_id=\S+ to=<carol@example\.test> nrcpt=2")


def test_dovecot_down_defers_then_delivers(mp, workroot):
    """Dovecot stopped: the message is accepted, deferred with the reason
    and the fix, and stays queued; Dovecot started again and the queue
    flushed: it is delivered, once."""
    peer = DovecotPeer(workroot, ACCOUNTS)
    try:
        peer.start()
        srv = mp(peer=peer)
        peer.stop()
        marker = token()
        # Dovecot's auth is down too: send on the smtp door, no login needed.
        with smtplib.SMTP(HOST, srv.port("smtp"), timeout=15) as s:
            s.sendmail("someone@sender.test", [ALICE], message(marker, frm="someone@sender.test"))
        assert srv.wait_log(r"to=<alice@example\.test> relay=lmtp:\S+ delay=\d+ dsn=4\.4\.1 "
                            r"status=deferred attempts=1 next_attempt=\d+ reason=\"cannot "
                            r"connect to the LMTP server"), srv.log_text()[-3000:]
        out = run([srv.binary, "queue", "list", "-c", srv.conf], check=False)
        listing = out.stdout.decode(errors="replace")
        assert "alice@example.test" in listing, listing + out.stderr.decode(errors="replace")
        peer.start()
        since = srv.log_size()
        run([srv.binary, "queue", "flush", "-c", srv.conf])
        assert srv.wait_log(r"to=<alice@example\.test> relay=lmtp:\S+ delay=\d+ dsn=2\.0\.0 "
                            r"status=sent", since=since), srv.log_text()[-3000:]
        got = [m for m in peer.imap_messages(ALICE) if marker in m]
        assert len(got) == 1
        assert poll(lambda: not srv.queue_files())
    finally:
        peer.stop()


def test_lmtp_and_auth_over_tcp(mp, dovecot):
    """The HOST:PORT forms: LMTP and auth over TCP on loopback."""
    srv = mp(lmtp="%s:%d" % (HOST, dovecot.lmtp_port), auth="%s:%d" % (HOST, dovecot.auth_port))
    marker = token()
    submit(srv, BOB, ACCOUNTS[BOB], [ALICE], marker)
    assert dovecot.wait_imap(ALICE, marker), srv.log_text()[-3000:]
    assert srv.wait_log(r"relay=lmtp:127\.0\.0\.1:%d .*status=sent" % dovecot.lmtp_port)


def test_config_check_tells_when_dovecot_does_not_answer(mailport_bin, dovecot, workroot):
    """`mailport config check` accepts the Dovecot lines, says nothing of a
    Dovecot that answers, and notes (exit 0: the file is right) one that
    does not, naming the line; a bad line is FILE:LINE with the fix."""
    d = tempfile.mkdtemp(dir=workroot)
    conf = os.path.join(d, "mailport.conf")
    base = "domain example.test\nspool spool\nlisten 127.0.0.1:1 submission\n"

    def check(extra):
        with open(conf, "w") as f:
            f.write(base + extra)
        return run([mailport_bin, "config", "check", "-c", conf], check=False)

    r = check("deliver lmtp unix:%s\nauth dovecot %s\n" % (dovecot.lmtp_socket,
                                                          dovecot.auth_socket))
    err = r.stderr.decode()
    assert r.returncode == 0 and "nothing answers" not in err, err
    assert "no users line" not in err, err
    r = check("deliver lmtp unix:%s/gone\nauth dovecot 127.0.0.1:9\n" % d)
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert re.search(r"nothing answers at unix:\S+/gone \(deliver lmtp\)", err), err
    assert "nothing answers at 127.0.0.1:9 (auth dovecot)" in err, err
    r = check("deliver lmtp 127.0.0.1\n")
    assert r.returncode == 78
    assert "mailport.conf:4: " in r.stderr.decode() and "the port is required" in \
        r.stderr.decode()
