"""The Postfix peer itself, proven with real clients (swaks, Python's ssl).

These tests check the test harness in peers.py, not mailport: a private
Postfix on loopback with a STARTTLS + AUTH submission service, a port-25-like
receiver with Maildir delivery, and relaying to a relayhost. Tests that make
mailport talk to this peer build on the same fixtures.
"""

import os
import shutil
import socket
import subprocess

import pytest

from conftest import HOST, Conn, caps, free_port, token
from peers import PEER_USERS, make_postfix, postfix_peer, postfix_submission  # noqa: F401

SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
ALICE = "alice@peer.test"
RCPT = "rcpt@peer.test"


def swaks(port, *, to, frm=ALICE, marker, tls=False, ca=None, auth=None, user=None,
          password=None, extra=()):
    """Runs swaks against 127.0.0.1:port; returns (exit code, transcript)."""
    if not os.access(SWAKS, os.X_OK):
        pytest.fail("swaks is not installed (scripts/install-peers.sh installs it)")
    cmd = [SWAKS, "--server", HOST, "--port", str(port), "--timeout", "15",
           "--helo", "client.example.test", "--from", frm, "--to", to,
           "--header", "Subject: peer test " + marker,
           "--header", "Message-ID: <%s@client.example.test>" % marker,
           "--body", "hello " + marker]
    if tls:
        cmd += ["--tls"]
        if ca:
            cmd += ["--tls-verify", "--tls-ca-path", ca]
    if auth:
        cmd += ["--auth", auth, "--auth-user", user, "--auth-password", password]
    cmd += list(extra)
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


def queued_with(peer, marker):
    """Queue entries (postqueue -j) whose sender or recipient mentions marker:
    the queue JSON has no message text, so tests use unique addresses."""
    return [q for q in peer.queue()
            if marker in q.get("sender", "")
            or any(marker in r.get("address", "") for r in q.get("recipients", []))]


# ---------------------------------------------------------------- submission


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_submission_starttls_auth_delivers_to_maildir(postfix_submission, certs, mech):
    peer = postfix_submission
    m = token()
    code, out = swaks(peer.ports["submission"], to=RCPT, marker=m, tls=True, ca=certs.ca,
                      auth=mech, user=ALICE, password=PEER_USERS[ALICE])
    assert code == 0, out
    assert "235 " in out, out
    got = peer.wait_mail(RCPT, m)
    assert len(got) == 1, "not delivered to the Maildir:\n%s\n%s" % (out, peer.log_text()[-3000:])
    msg = got[0]
    assert b"Subject: peer test " + m.encode() in msg
    assert b"hello " + m.encode() in msg
    # Received: ... with ESMTPSA (TLS + authenticated), and the log names the user.
    assert b"with ESMTPSA" in msg, msg[:1500]
    assert peer.wait_log(r"sasl_method=%s, sasl_username=%s" % (mech, ALICE.replace(".", r"\.")))


def test_submission_sends_chain_that_verifies(postfix_submission, certs):
    """The client trusts only the root CA: the handshake succeeds because the
    peer sends leaf + intermediate. AUTH is offered only after STARTTLS."""
    peer = postfix_submission
    with Conn(peer.ports["submission"]) as c:
        assert c.greeting.code == 220, c.greeting
        before = caps(c.ehlo())
        assert "STARTTLS" in before
        assert "AUTH" not in before, before
        c.starttls(certs.client_context())
        after = caps(c.ehlo())
        assert "AUTH" in after and "PLAIN" in after["AUTH"] and "LOGIN" in after["AUTH"], after
        assert "STARTTLS" not in after
        r = c.auth_plain(ALICE, PEER_USERS[ALICE])
        assert r.code == 235, r
        assert c.cmd("QUIT").code == 221


def test_submission_requires_starttls(postfix_submission):
    with Conn(postfix_submission.ports["submission"]) as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<%s>" % ALICE)
        assert r.code == 530, r
        assert "STARTTLS" in r.text, r


def test_submission_wrong_password_refused(postfix_submission, certs):
    peer = postfix_submission
    m = token()
    code, out = swaks(peer.ports["submission"], to=RCPT, marker=m, tls=True, ca=certs.ca,
                      auth="PLAIN", user=ALICE, password="not-the-password")
    assert code != 0, out
    assert "535 " in out, out
    assert peer.find_mail(RCPT, m) == []


def test_submission_without_auth_refused(postfix_submission, certs):
    """TLS but no AUTH: even mail for the peer's own domain is refused."""
    peer = postfix_submission
    m = token()
    code, out = swaks(peer.ports["submission"], to=RCPT, marker=m, tls=True, ca=certs.ca)
    assert code != 0, out
    assert "554 5.7.1" in out and "Access denied" in out, out
    assert peer.find_mail(RCPT, m) == []


# ---------------------------------------------------------------- smtp receiver


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "starttls"])
def test_smtp_receiver_delivers_to_maildir(postfix_peer, certs, tls):
    peer = postfix_peer
    m = token()
    code, out = swaks(peer.ports["smtp"], to=RCPT, frm="sender@elsewhere.test", marker=m,
                      tls=tls, ca=certs.ca)
    assert code == 0, out
    got = peer.wait_mail(RCPT, m)
    assert len(got) == 1, "not delivered:\n%s\n%s" % (out, peer.log_text()[-3000:])
    assert (b"with ESMTPS" if tls else b"with ESMTP id") in got[0], got[0][:1500]
    assert b"Return-Path: <sender@elsewhere.test>" in got[0]


def test_smtp_receiver_offers_no_auth_and_starttls(postfix_peer, certs):
    with Conn(postfix_peer.ports["smtp"]) as c:
        assert c.greeting.code == 220 and "mx.peer.test" in c.greeting.text, c.greeting
        k = caps(c.ehlo())
        assert "STARTTLS" in k and "AUTH" not in k, k
        c.starttls(certs.client_context())
        assert "AUTH" not in caps(c.ehlo())


def test_smtp_receiver_unknown_user_rejected(postfix_peer):
    with Conn(postfix_peer.ports["smtp"]) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<sender@elsewhere.test>").code == 250
        r = c.cmd("RCPT TO:<no-such-user@peer.test>")
        assert r.code == 550 and r.enhanced == "5.1.1", r


def test_unauthenticated_relay_refused(postfix_peer):
    """A stranger (no AUTH) asking to relay to another domain is refused on the
    smtp service, and nothing is queued."""
    peer = postfix_peer
    m = token()
    target = "%s@elsewhere.test" % m
    code, out = swaks(peer.ports["smtp"], to=target, frm="sender@elsewhere.test", marker=m)
    assert code != 0, out
    assert "Relay access denied" in out, out
    assert queued_with(peer, m) == []
    assert peer.wait_log(r"reject: RCPT from .*Relay access denied.*to=<%s>" % target)


# ---------------------------------------------------------------- relaying, queue


def test_relayhost_deferred_then_flushed(make_postfix, postfix_peer):
    """A second instance relays everything not its own to relayhost: first to
    a dead port (the message waits in the queue, deferred), then, after
    postconf + reload + flush, to the first peer's smtp service, where it lands."""
    dead = free_port()
    relay = make_postfix(name="relay", hostname="relay.peer.test", domains=("relay.test",),
                         submission=False, open_relay=True,
                         relayhost="[%s]:%d" % (HOST, dead))
    assert relay.get("relayhost") == "[127.0.0.1]:%d" % dead
    m = token()
    rcpt = "rcpt@peer.test"
    frm = "%s@relay.test" % m  # the queue listing shows addresses, not text
    code, out = swaks(relay.ports["smtp"], to=rcpt, frm=frm, marker=m)
    assert code == 0, out

    # Deferred: connection refused at the dead port.
    assert relay.wait_log(r"to=<%s>, relay=none.*status=deferred" % rcpt, timeout=15), \
        relay.log_text()[-3000:]
    q = queued_with(relay, m)
    assert len(q) == 1 and q[0]["queue_name"] == "deferred", q
    assert "127.0.0.1" in q[0]["recipients"][0].get("delay_reason", ""), q

    relay.set_relayhost(postfix_peer.ports["smtp"])
    relay.flush()
    got = postfix_peer.wait_mail(rcpt, m, timeout=20)
    assert len(got) == 1, "relay:\n%s\npeer:\n%s" % (relay.log_text()[-3000:],
                                                   postfix_peer.log_text()[-2000:])
    assert relay.wait_log(r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d.*status=sent"
                          % postfix_peer.ports["smtp"], timeout=10)
    # The relay's client verified the peer's chain against the test CA.
    assert relay.wait_log(r"Trusted TLS connection established to 127\.0\.0\.1"), \
        relay.log_text()[-3000:]
    assert relay.wait_queue_empty() == []


def test_stop_leaves_nothing_running(make_postfix):
    peer = make_postfix(name="stopcheck", submission=False)
    ports = list(peer.ports.values())
    assert all(_connects(p) for p in ports)
    pid = peer.master_pid
    procs = peer.processes()
    assert pid in procs and len(procs) >= 2, procs  # master + at least qmgr
    # The daemons' parent is the supervisor (it reaps them), not init.
    with open("/proc/%d/stat" % pid) as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    assert ppid == peer.supervisor.pid
    sup = peer.supervisor
    peer.stop()
    assert not peer._pid_alive(pid)
    assert peer.processes() == []
    assert sup.returncode == 0
    assert not any(_connects(p) for p in ports)
    peer.stop()  # twice is fine


def test_no_system_postfix_running(postfix_peer):
    """The install step must not leave the system Postfix (/etc/postfix) running."""
    try:
        with open("/var/spool/postfix/pid/master.pid") as f:
            pid = int(f.read().strip() or "0")
    except (OSError, ValueError):
        return
    assert not os.path.exists("/proc/%d" % pid) or "master" not in open(
        "/proc/%d/comm" % pid).read(), "a system Postfix master is running (pid %d)" % pid


def _connects(port):
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False
