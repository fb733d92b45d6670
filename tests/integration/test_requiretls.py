"""REQUIRETLS (RFC 8689): the server side, over real TLS sessions.

The keyword is offered only on TLS sessions (after STARTTLS, on 465); MAIL
FROM with it in plaintext gets 530 5.7.10 with the fix; the flag goes into
the spool with the message and survives a restart (the queue file says
"requiretls", `mailport queue show --json` shows it). Delivery of such
mail is in test_requiretls_delivery.py.
"""

import json
import os
import re
import smtplib
import subprocess

from conftest import login_conn, message, run, tls_conn, Conn

ALICE = "alice@example.test"


def ehlo_keywords(reply):
    return [ln.split()[0].upper() for ln in reply.lines[1:]]


def test_offered_only_over_tls(server):
    c = Conn(server.port("smtp"))
    plain = c.ehlo()
    assert "STARTTLS" in ehlo_keywords(plain)
    assert "REQUIRETLS" not in ehlo_keywords(plain)
    c.starttls(server.certs.client_context())
    assert "REQUIRETLS" in ehlo_keywords(c.ehlo())
    c.cmd("QUIT")
    # 465: TLS from the first byte, so offered at once.
    c = tls_conn(server, "submissions")
    assert "REQUIRETLS" in ehlo_keywords(c.cmd("EHLO client.example.test"))
    c.cmd("QUIT")


def test_swaks_sees_it_after_starttls_only(server):
    """A third-party client's view: swaks -q EHLO, with and without -tls."""
    def ehlo(*tls):
        p = subprocess.run(["swaks", "-s", "127.0.0.1", "-p", str(server.port("smtp")),
                            "-q", "EHLO", *tls, "--tls-verify", "--tls-ca-path",
                            server.certs.ca] if tls else
                           ["swaks", "-s", "127.0.0.1", "-p", str(server.port("smtp")),
                            "-q", "EHLO"], capture_output=True, text=True, timeout=30)
        return p.stdout
    assert not re.search(r"<-  250.REQUIRETLS", ehlo())
    out = ehlo("-tls")
    assert re.search(r"<~  250.REQUIRETLS", out), out


def test_refused_in_plaintext_with_the_fix(server):
    c = Conn(server.port("smtp"))
    c.ehlo()
    r = c.cmd("MAIL FROM:<someone@remote.example> REQUIRETLS")
    assert r.code == 530 and r.text.startswith(
        "5.7.10 REQUIRETLS needs a TLS session: issue STARTTLS first"), r
    # The session goes on: the same MAIL without it is fine.
    assert c.cmd("MAIL FROM:<someone@remote.example>").code == 250
    c.cmd("QUIT")


def test_smtplib_over_starttls(server):
    """Python's smtplib, a real client: MAIL ... REQUIRETLS after STARTTLS."""
    marker = "rtls-smtplib"
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=15) as s:
        s.starttls(context=server.certs.client_context())
        s.ehlo()
        assert s.has_extn("requiretls")
        s.sendmail("someone@remote.example", [ALICE], message(marker, frm="someone@remote.example"),
                   mail_options=["REQUIRETLS"])
    server.wait_mail(ALICE, marker)
    assert re.search(r"event=mail from=<someone@remote\.example> size=\d+ requiretls=yes",
                     server.log_text())


def show(srv, qid):
    p = run([srv.binary, "queue", "show", qid, "--json", "-c", srv.conf], check=True)
    return json.loads(p.stdout)


def test_kept_in_the_queue_across_a_restart(make_server):
    # The resolver of make_server's config is a closed port: remote mail
    # stays queued, deferred.
    srv = make_server()
    with login_conn(srv, "submission", ALICE) as c:
        r = c.cmd("MAIL FROM:<%s> REQUIRETLS" % ALICE)
        assert r.code == 250, r
        assert c.cmd("RCPT TO:<friend@remote.example>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(message("rtls-kept", to="friend@remote.example").encode() + b".\r\n")
        r = c.reply()
        assert r.code == 250, r
        qid = re.search(r"queued as (\S+)", r.text).group(1)
        # A second message without it: the flag is per message.
        with_out = c.cmd("MAIL FROM:<%s>" % ALICE)
        assert with_out.code == 250
        assert c.cmd("RCPT TO:<friend@remote.example>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(message("rtls-not", to="friend@remote.example").encode() + b".\r\n")
        qid2 = re.search(r"queued as (\S+)", c.reply().text).group(1)
        c.cmd("QUIT")
    assert show(srv, qid)["requiretls"] is True
    assert show(srv, qid2)["requiretls"] is False
    with open("%s/queue/%s" % (srv.spool, qid), "rb") as f:
        head = f.read(4096).split(b"\n\n", 1)[0].split(b"\n")
    assert b"requiretls" in head
    srv.restart()
    assert show(srv, qid)["requiretls"] is True
    assert show(srv, qid2)["requiretls"] is False
    text = run([srv.binary, "queue", "show", qid, "-c", srv.conf], check=True).stdout.decode()
    assert re.search(r"^requiretls:\s+yes$", text, re.M), text


def send(srv, *args, login=True):
    env = dict(os.environ, MP_PW=srv.users[ALICE], HOME="/nonexistent")
    auth = ["--user", ALICE, "--password-env", "MP_PW"] if login else []
    return subprocess.run([srv.binary, "send", *auth,
                           "--from", ALICE, "--to", ALICE, "--subject", "s", *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_send_requiretls(server):
    """mailport send --requiretls: MAIL FROM ... REQUIRETLS over verified
    STARTTLS; refused with --insecure; not sent in the clear."""
    p = send(server, "--server", "localhost:%d" % server.port("submission"), "--cafile",
             server.certs.ca, "--requiretls", "--body", "rtls-send")
    assert p.returncode == 0, p.stderr
    server.wait_mail(ALICE, "rtls-send")
    assert re.search(r"event=mail from=<alice@example\.test> size=\d+ requiretls=yes",
                     server.log_text())
    p = send(server, "--server", "localhost:%d" % server.port("submission"), "--insecure",
             "--requiretls", "--body", "x")
    assert p.returncode == 64 and "--requiretls needs a verified certificate" in p.stderr
    # In the clear (--tls none, loopback): stopped before MAIL, nothing sent.
    p = send(server, "--server", "127.0.0.1:%d" % server.port("smtp"), "--tls", "none",
             "--requiretls", "--body", "rtls-clear", login=False)
    assert p.returncode == 69, (p.returncode, p.stderr)
    assert "REQUIRETLS support required" in p.stderr, p.stderr
    assert server.find_mail(ALICE, "rtls-clear") == []
