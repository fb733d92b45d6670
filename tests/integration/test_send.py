"""`mailport send` and `mailport sendmail` against real servers on loopback.

mailport serve on every door, a door that refuses, a door that drops SYNs
(a listener whose accept queue is full), a plaintext server without
STARTTLS, a self-signed certificate, wrong passwords, relay refusals,
sendmail -t with Bcc, attachments read back by Python's email parser, and
a real Postfix as the submission server.
"""
import base64
import email
import email.policy
import os
import shutil
import socketserver
import subprocess
import threading
import time

import pytest

from conftest import HOST, USERS, full_listener, new_dir, token
from peers import PEER_USERS, make_postfix, postfix_submission  # noqa: F401
from receivers import PlainHandler, start_server

ALICE = "alice@example.test"
ALICE_PW = USERS[ALICE]


def send(binary, *args, password=ALICE_PW, stdin=None, timeout=60):
    env = dict(os.environ, MP_PW=password or "", HOME="/nonexistent")
    started = time.monotonic()
    as_is = os.path.basename(binary) == "sendmail" or (args and args[0] == "sendmail")
    cmd = [binary, *args] if as_is else [binary, "send", *args]
    p = subprocess.run(cmd, input=stdin, capture_output=True, env=env, timeout=timeout)
    p.elapsed = time.monotonic() - started
    p.err = p.stderr.decode(errors="replace")
    return p


def login_args(user=ALICE):
    return ["--user", user, "--password-env", "MP_PW"]


@pytest.fixture(scope="module")
def ip_certs(certs):
    """A leaf for 127.0.0.2 to 127.0.0.9, signed by the test intermediate CA."""
    d = certs.dir
    ext = os.path.join(d, "multi.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"
                "subjectAltName=" + ",".join("IP:127.0.0.%d" % i for i in range(2, 10)) + "\n")
    for args in (["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key-multi.pem", "-out",
                  "multi.csr", "-subj", "/CN=loopback"],
                 ["x509", "-req", "-in", "multi.csr", "-CA", "int.pem", "-CAkey", "int.key",
                  "-CAcreateserial", "-out", "leaf-multi.pem", "-days", "30", "-extfile", ext]):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)
    chain = os.path.join(d, "chain-multi.pem")
    with open(chain, "w") as f:
        f.write(open(os.path.join(d, "leaf-multi.pem")).read())
        f.write(open(os.path.join(d, "int.pem")).read())
    for n in ("chain-multi.pem", "key-multi.pem"):
        os.chmod(os.path.join(d, n), 0o644)
    return chain, os.path.join(d, "key-multi.pem")


def server_on(make_server, ip, doors, ip_certs):
    """mailport serve on fixed standard ports of one loopback address."""
    if os.geteuid() != 0:
        pytest.skip("binding ports 465/587 needs root")
    names = {p: (n, svc) for p, (n, svc) in doors.items()}
    srv = make_server(start=False, doors={n: svc for n, svc in names.values()})
    for port, (n, _) in names.items():
        srv.ports[n] = port
        srv.hosts[n] = ip
    shutil.copy(ip_certs[0], srv.cert)
    shutil.copy(ip_certs[1], srv.key)
    srv.write_config()
    srv.start()
    return srv


# ---------------------------------------------------------------- the doors


@pytest.mark.parametrize("door", ["submission", "submissions", "fallback"])
def test_each_door(server, mailport_bin, certs, door):
    m = token()
    p = send(mailport_bin, "--server", "%s:%d" % (HOST, server.port(door)),
             *(["--tls", "implicit"] if door == "submissions" else []),
             "--cafile", certs.ca, *login_args(), "--from", ALICE, "--to", ALICE,
             "--subject", m, "--body", "hello " + m)
    assert p.returncode == 0, p.err
    assert "sent via" in p.err
    got = server.wait_mail(ALICE, m)
    assert len(got) == 1
    assert b"TLSv1." in got[0]


def test_port_465_means_implicit_tls(make_server, mailport_bin, certs, ip_certs):
    srv = server_on(make_server, "127.0.0.4", {465: ("s465", "submissions")}, ip_certs)
    m = token()
    p = send(mailport_bin, "--server", "127.0.0.4:465", "--cafile", certs.ca, *login_args(),
             "--from", ALICE, "--to", ALICE, "--subject", m)
    assert p.returncode == 0, p.err
    assert "implicit TLS" in p.err
    assert srv.wait_mail(ALICE, m)


def test_fallback_when_587_is_refused(make_server, mailport_bin, certs, ip_certs):
    srv = server_on(make_server, "127.0.0.2",
                    {465: ("s465", "submissions"), 2525: ("s2525", "submission")}, ip_certs)
    m = token()
    p = send(mailport_bin, "--server", "127.0.0.2", "--cafile", certs.ca, *login_args(),
             "--from", ALICE, "--to", ALICE, "--subject", m)
    assert p.returncode == 0, p.err
    assert "127.0.0.2:587" in p.err and "refused" in p.err.lower()
    assert "sent via 127.0.0.2:465" in p.err
    assert srv.wait_mail(ALICE, m)


def test_fallback_when_587_times_out(make_server, mailport_bin, certs, ip_certs):
    srv = server_on(make_server, "127.0.0.3", {465: ("s465", "submissions")}, ip_certs)
    lst, fillers = full_listener("127.0.0.3", 587)
    try:
        m = token()
        p = send(mailport_bin, "--server", "127.0.0.3", "--timeout", "2", "--cafile", certs.ca,
                 *login_args(), "--from", ALICE, "--to", ALICE, "--subject", m)
    finally:
        for c in fillers:
            c.close()
        lst.close()
    assert p.returncode == 0, p.err
    assert "127.0.0.3:587" in p.err and "timed out" in p.err
    assert "465" in p.err
    # Bounded: one 2 s timeout, then a quick success.
    assert p.elapsed < 10, p.elapsed
    assert srv.wait_mail(ALICE, m)


def test_all_doors_blocked_fails_in_bounded_time(mailport_bin):
    lsts = [full_listener("127.0.0.5", port) for port in (587, 465, 2525)] \
        if os.geteuid() == 0 else pytest.skip("binding 465/587 needs root")
    try:
        p = send(mailport_bin, "--server", "127.0.0.5", "--timeout", "1", *login_args(),
                 "--from", ALICE, "--to", ALICE, "--subject", "x")
    finally:
        for lst, fillers in lsts:
            for c in fillers:
                c.close()
            lst.close()
    assert p.returncode in (69, 75), p.err
    assert p.elapsed < 8, p.elapsed
    for port in (587, 465, 2525):
        assert "127.0.0.5:%d" % port in p.err
    assert "firewall" in p.err.lower()


# ---------------------------------------------------------------- never in the clear


@pytest.fixture
def plaintext_server():
    """A plaintext ESMTP server that offers AUTH but no STARTTLS, and records."""
    srv = start_server(PlainHandler, offer_auth=True, extensions=[])
    yield srv
    srv.shutdown()
    srv.server_close()


def test_no_starttls_refused_before_auth(plaintext_server, mailport_bin):
    port = plaintext_server.server_address[1]
    p = send(mailport_bin, "--server", "%s:%d" % (HOST, port), *login_args(), "--from", ALICE,
             "--to", ALICE, "--subject", "x")
    assert p.returncode != 0
    assert "STARTTLS" in p.err
    sent = [s for s in plaintext_server.seen if s != "connect"]
    assert not any(s.upper().startswith(("AUTH", "MAIL", "RCPT", "DATA")) for s in sent), sent
    assert ALICE_PW not in " ".join(sent)


def test_self_signed_refused_without_cafile(make_server, mailport_bin):
    srv = make_server(tls=False)  # the server makes a self-signed certificate
    p = send(mailport_bin, "--server", "%s:%d" % (HOST, srv.port("submission")), *login_args(),
             "--from", ALICE, "--to", ALICE, "--subject", "x")
    # EX_UNAVAILABLE: the door cannot be used as things are; 77 is kept for a
    # login or relay the server refused, which a script must tell apart.
    assert p.returncode == 69, p.err
    assert "--cafile" in p.err
    assert "event=auth" not in srv.log_text()
    # With the server's own certificate as the CA, it works.
    cert = os.path.join(srv.spool, "tls", "cert.pem")
    m = token()
    p = send(mailport_bin, "--server", "%s:%d" % (HOST, srv.port("submission")), "--cafile",
             cert, *login_args(), "--from", ALICE, "--to", ALICE, "--subject", m)
    assert p.returncode == 0, p.err
    assert srv.wait_mail(ALICE, m)


def test_insecure_is_explicit_and_warned(make_server, mailport_bin):
    srv = make_server(tls=False)
    m = token()
    p = send(mailport_bin, "--server", "%s:%d" % (HOST, srv.port("submission")), "--insecure",
             *login_args(), "--from", ALICE, "--to", ALICE, "--subject", m)
    assert p.returncode == 0, p.err
    assert "warning" in p.err and "--insecure" in p.err
    assert srv.wait_mail(ALICE, m)


def test_tls_none_with_password_refused_for_remote_host(mailport_bin):
    p = send(mailport_bin, "--server", "mail.example.invalid:587", "--tls", "none",
             *login_args(), "--from", ALICE, "--to", ALICE)
    assert p.returncode == 64
    assert "in the clear" in p.err


def test_secrets_never_in_transcript(server, mailport_bin, certs):
    p = send(mailport_bin, "--server", "%s:%d" % (HOST, server.port("submission")), "--cafile",
             certs.ca, *login_args(), "--from", ALICE, "--to", ALICE, "--subject", "v", "-v")
    assert p.returncode == 0, p.err
    assert "AUTH PLAIN ****" in p.err
    b64 = base64.b64encode(("\0%s\0%s" % (ALICE, ALICE_PW)).encode()).decode()
    assert ALICE_PW not in p.err and b64 not in p.err


# ---------------------------------------------------------------- refusals explained


def test_wrong_password(make_server, mailport_bin, certs):
    srv = make_server()
    p = send(mailport_bin, "--server", "%s:%d" % (HOST, srv.port("submission")), "--cafile",
             certs.ca, *login_args(), "--from", ALICE, "--to", ALICE, "--subject", "x",
             password="not-the-password")
    assert p.returncode == 77, p.err
    assert "535" in p.err and "app password" in p.err.lower()


def test_wrong_password_with_provider_note(make_server, mailport_bin, certs):
    srv = make_server()
    p = send(mailport_bin, "--server", "%s:%d" % (HOST, srv.port("submission")), "--cafile",
             certs.ca, *login_args(), "--from", ALICE, "--to", ALICE, password="nope")
    assert p.returncode == 77
    # No provider for 127.0.0.1, so the generic advice: password vs app password vs OAuth2.
    assert "oauth" in p.err.lower()


def test_relay_denied_on_port_25(server, mailport_bin, certs):
    p = send(mailport_bin, "--server", "%s:%d" % (HOST, server.port("smtp")), "--tls",
             "starttls", "--cafile", certs.ca, "--from", ALICE, "--to", "friend@remote.test",
             "--subject", "x")
    assert p.returncode == 77, p.err
    assert "550" in p.err and "587" in p.err
    assert "authenticate" in p.err.lower() or "smtp auth" in p.err.lower()


def test_usage_errors(mailport_bin):
    assert send(mailport_bin, "--to", ALICE).returncode == 64
    assert send(mailport_bin, "--server", "x:99999", "--to", ALICE).returncode == 64
    p = send(mailport_bin, "--provider", "nosuch", "--to", ALICE)
    assert p.returncode == 64 and "--provider list" in p.err


def test_provider_list(mailport_bin):
    p = send(mailport_bin, "--provider", "list")
    out = p.stdout.decode()
    assert p.returncode == 0
    for name in ("gmail", "outlook", "yahoo", "icloud", "zoho", "fastmail", "sendgrid",
                 "mailgun", "postmark", "brevo", "mailjet", "ses-eu-west-1"):
        assert name in out, name
    assert "apikey" in out.lower() or "api key" in out.lower()


# ---------------------------------------------------------------- messages


def test_sendmail_t_with_cc_and_bcc(server, mailport_bin, certs):
    m = token()
    msg = ("From: Alice <%s>\nTo: bob@example.test\nCc: carol@second.test\n"
           "Bcc: Alice <%s>\nSubject: %s\n\nbody line\n.\nnot sent\n" % (ALICE, ALICE, m))
    p = send(mailport_bin, "sendmail", "-t", "--server", "%s:%d" % (HOST, server.port("submission")),
             "--cafile", certs.ca, *login_args(), stdin=msg.encode())
    assert p.returncode == 0, p.err
    assert p.err == ""  # sendmail is silent when all went well
    for rcpt in ("bob@example.test", "carol@second.test", ALICE):
        got = server.wait_mail(rcpt, m)
        assert len(got) == 1, rcpt
        head = got[0].split(b"\n\n", 1)[0]
        assert b"\nBcc:" not in head and b"Bcc:" not in head
        assert b"Message-ID:" in head or b"Message-Id:" in head
        body = got[0].split(b"\n\n", 1)[1]
        assert b"body line" in body and b"not sent" not in body  # "." ended the input


def test_sendmail_as_argv0_with_dash_i(server, mailport_bin, certs, workroot):
    link = os.path.join(new_dir(workroot, "bin-"), "sendmail")
    os.symlink(mailport_bin, link)
    m = token()
    msg = "Subject: %s\n\nline\n.\nstill body\n" % m
    p = send(link, "-i", "-f", ALICE, "--server", "%s:%d" % (HOST, server.port("submission")),
             "--cafile", certs.ca, *login_args(), "bob@example.test", stdin=msg.encode())
    assert p.returncode == 0, p.err
    got = server.wait_mail("bob@example.test", m)
    assert len(got) == 1 and b"still body" in got[0]


def test_attachments_read_back_by_python_email(server, mailport_bin, certs, workroot):
    d = new_dir(workroot, "att-")
    blob = bytes(range(256)) * 40 + b"\r\n.\r\n\x00tail"
    paths = {"data.bin": blob, "notes.txt": "ünïcode text\n".encode(),
             "räport.pdf": b"%PDF-1.4 fake\n" * 100}
    for name, data in paths.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    m = token()
    args = []
    for name in paths:
        args += ["--attach", os.path.join(d, name)]
    p = send(mailport_bin, "--server", "%s:%d" % (HOST, server.port("submission")), "--cafile",
             certs.ca, *login_args(), "--from", ALICE, "--to", ALICE, "--subject",
             "Grüße " + m, "--body", "see attached " + m, *args)
    assert p.returncode == 0, p.err
    got = server.wait_mail(ALICE, m.encode())
    assert len(got) == 1
    parsed = email.message_from_bytes(got[0], policy=email.policy.default)
    assert parsed["Subject"] == "Grüße " + m
    assert parsed.get_content_type() == "multipart/mixed"
    found = {part.get_filename(): part.get_content() for part in parsed.iter_attachments()}
    assert set(found) == set(paths)
    assert found["data.bin"] == blob
    assert found["räport.pdf"] == paths["räport.pdf"]
    assert found["notes.txt"] == "ünïcode text\n"
    types = {part.get_filename(): part.get_content_type() for part in parsed.iter_attachments()}
    assert types["räport.pdf"] == "application/pdf" and types["notes.txt"] == "text/plain"


def test_message_file_sent_as_is(server, mailport_bin, certs, workroot):
    m = token()
    path = os.path.join(new_dir(workroot, "msg-"), "m.eml")
    with open(path, "wb") as f:
        f.write(b"From: %s\r\nTo: %s\r\nSubject: %s\r\nX-Keep: exactly this\r\n\r\n..dot\r\n"
                % (ALICE.encode(), ALICE.encode(), m.encode()))
    p = send(mailport_bin, "--server", "%s:%d" % (HOST, server.port("submission")), "--cafile",
             certs.ca, *login_args(), "--from", ALICE, "--to", ALICE, path)
    assert p.returncode == 0, p.err
    got = server.wait_mail(ALICE, m)
    assert len(got) == 1
    assert b"X-Keep: exactly this" in got[0] and b"\n..dot" in got[0]
    assert b"Date:" in got[0]


def test_stdin_is_the_body_with_subject_and_attach(server, mailport_bin, certs, workroot):
    """send --subject S --attach F -: stdin is the text of a built message (mail -s S -A F)."""
    d = new_dir(workroot, "body-")
    att = os.path.join(d, "report.txt")
    with open(att, "wb") as f:
        f.write(b"attached line\n")
    m = token()
    p = send(mailport_bin, "--server", "%s:%d" % (HOST, server.port("submission")), "--cafile",
             certs.ca, *login_args(), "--from", ALICE, "--to", ALICE, "--subject", "S " + m,
             "--attach", att, "-", stdin=("Grüße from stdin %s\nsecond line\n" % m).encode())
    assert p.returncode == 0, p.err
    got = server.wait_mail(ALICE, m.encode())
    assert len(got) == 1
    parsed = email.message_from_bytes(got[0], policy=email.policy.default)
    assert parsed["Subject"] == "S " + m
    assert parsed["To"] == ALICE
    body = parsed.get_body(preferencelist=("plain",)).get_content()
    assert body == "Grüße from stdin %s\nsecond line\n" % m
    found = {part.get_filename(): part.get_content() for part in parsed.iter_attachments()}
    assert found == {"report.txt": "attached line\n"}


def test_message_file_as_body_with_subject(server, mailport_bin, certs, workroot):
    path = os.path.join(new_dir(workroot, "body-"), "text.txt")
    m = token()
    with open(path, "w") as f:
        f.write("text from a file %s\n" % m)
    p = send(mailport_bin, "--server", "%s:%d" % (HOST, server.port("submission")), "--cafile",
             certs.ca, *login_args(), "--from", ALICE, "--to", ALICE, "--subject", m, path)
    assert p.returncode == 0, p.err
    parsed = email.message_from_bytes(server.wait_mail(ALICE, m)[0], policy=email.policy.default)
    assert parsed["Subject"] == m and parsed["To"] == ALICE
    assert parsed.get_content() == "text from a file %s\n" % m


def test_building_options_never_dropped(mailport_bin):
    """Two sources of text, or sendmail with --subject: refused, not dropped."""
    p = send(mailport_bin, "--server", "127.0.0.1:1", "--from", ALICE, "--to", ALICE,
             "--body", "x", "-", stdin=b"y")
    assert p.returncode == 64 and "--body" in p.err and "fix:" in p.err
    p = send(mailport_bin, "sendmail", "--server", "127.0.0.1:1", "--subject", "s", ALICE,
             stdin=b"Subject: x\n\nbody\n")
    assert p.returncode == 64 and "--subject" in p.err and "mailport send" in p.err


# ---------------------------------------------------------------- a real peer


def test_send_to_postfix_submission(postfix_submission, mailport_bin, certs):  # noqa: F811
    peer = postfix_submission
    user, pw = next(iter(PEER_USERS.items()))
    m = token()
    p = send(mailport_bin, "--server", "%s:%d" % (HOST, peer.ports["submission"]), "--cafile",
             certs.ca, "--user", user, "--password-env", "MP_PW", "--from", user, "--to",
             "rcpt@peer.test", "--subject", m, "--body", "from mailport to postfix", password=pw)
    assert p.returncode == 0, p.err
    got = peer.wait_mail("rcpt@peer.test", m)
    assert len(got) == 1
    assert b"from mailport to postfix" in got[0]


# ---------------------------------------------------------------- accounts and OAuth2


def test_account_from_send_conf(server, mailport_bin, certs, workroot):
    d = new_dir(workroot, "acct-")
    conf = os.path.join(d, "send.conf")
    with open(conf, "w") as f:
        f.write("account test\nhost %s\nport %d\ntls starttls\nuser %s\n"
                "password-env MP_PW\nfrom %s\ncafile %s\n"
                % (HOST, server.port("submission"), ALICE, ALICE, certs.ca))
    m = token()
    env = dict(os.environ, MP_PW=ALICE_PW, MAILPORT_SEND_CONF=conf, HOME="/nonexistent")
    p = subprocess.run([mailport_bin, "send", "--account", "test", "--to", "bob@example.test",
                        "--subject", m], capture_output=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    assert server.wait_mail("bob@example.test", m)
    # The same account as the default one, for sendmail with no options at all.
    m2 = token()
    p = subprocess.run([mailport_bin, "sendmail", "bob@example.test"],
                       input=("Subject: %s\n\nvia the default account\n" % m2).encode(),
                       capture_output=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    assert server.wait_mail("bob@example.test", m2)


def test_password_in_send_conf_refused(mailport_bin, workroot):
    d = new_dir(workroot, "acct-")
    conf = os.path.join(d, "send.conf")
    with open(conf, "w") as f:
        f.write("account x\nhost 127.0.0.1\nuser a@b.example\npassword hunter2\n")
    env = dict(os.environ, MAILPORT_SEND_CONF=conf, HOME="/nonexistent")
    p = subprocess.run([mailport_bin, "send", "--account", "x", "--to", ALICE],
                       capture_output=True, env=env, timeout=30)
    assert p.returncode == 78
    err = p.stderr.decode()
    assert "password-file" in err and "hunter2" not in err


class OAuthHandler(socketserver.StreamRequestHandler):
    """Plaintext (loopback, --tls none) ESMTP offering XOAUTH2; checks the token."""

    def handle(self):
        self.wfile.write(b"220 oauth.example ESMTP\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            text = line.decode(errors="replace").rstrip("\r\n")
            self.server.seen.append(text)
            up = text.upper()
            if up.startswith("EHLO"):
                self.wfile.write(b"250-oauth.example\r\n250-AUTH XOAUTH2 PLAIN LOGIN\r\n"
                                 b"250 8BITMIME\r\n")
            elif up.startswith("AUTH XOAUTH2 "):
                raw = base64.b64decode(text.split(" ", 2)[2])
                ok = raw == b"user=%s\x01auth=Bearer %s\x01\x01" % (
                    ALICE.encode(), self.server.token.encode())
                self.wfile.write(b"235 2.7.0 ok\r\n" if ok else b"535 5.7.8 bad token\r\n")
            elif up.startswith("DATA"):
                self.wfile.write(b"354 go\r\n")
                while self.rfile.readline() not in (b".\r\n", b""):
                    pass
                self.wfile.write(b"250 2.0.0 queued\r\n")
            elif up.startswith("QUIT"):
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def test_oauth2_token_uses_xoauth2(mailport_bin, workroot):
    srv = socketserver.ThreadingTCPServer((HOST, 0), OAuthHandler)
    srv.daemon_threads = True
    srv.seen, srv.token = [], "ya29.test-token-" + token()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        tok = os.path.join(new_dir(workroot, "tok-"), "token")
        with open(tok, "w") as f:
            f.write(srv.token + "\n")
        p = send(mailport_bin, "--server", "%s:%d" % (HOST, srv.server_address[1]), "--tls",
                 "none", "--user", ALICE, "--oauth2-token-file", tok, "--from", ALICE, "--to",
                 ALICE, "--subject", "x", "-v")
    finally:
        srv.shutdown()
        srv.server_close()
    assert p.returncode == 0, p.err
    assert "AUTH XOAUTH2" in p.err and srv.token not in p.err
    assert any(s.startswith("AUTH XOAUTH2 ") for s in srv.seen)
