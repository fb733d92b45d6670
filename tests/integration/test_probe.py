"""`mailport probe` against a zoo of local servers on loopback.

mailport serve on its four doors, a refused port, a port that drops SYNs
(full accept queue), a silent listener, a plaintext server probed as an
implicit-TLS door, a server without STARTTLS, one offering AUTH before TLS,
an open relay, expired and self-signed certificates, a wrong password, a
relay refusal, and a server vulnerable to STARTTLS command injection. Every
--json answer is checked against the DESIGN.md contract.
"""
import json
import os
import socket
import socketserver
import ssl
import subprocess
import threading
import time

import pytest

from conftest import HOST, USERS, close_all, free_port, full_listener, new_dir
from dns import make_dns  # noqa: F401
from receivers import PlainHandler, start_server

ALICE = "alice@example.test"
STATUSES = {"ok", "timeout", "refused", "dns_error", "no_greeting", "tls_failed",
            "starttls_missing", "auth_failed", "auth_missing", "relay_denied", "rejected"}
TLS_MODES = {"starttls", "implicit", "none"}


def check_contract(obj):
    """The probe --json object of DESIGN.md: every field, every allowed value."""
    assert isinstance(obj, dict)
    assert isinstance(obj["host"], str) and obj["host"]
    assert isinstance(obj["doors"], list) and obj["doors"]
    for d in obj["doors"]:
        assert isinstance(d["port"], int) and 0 < d["port"] < 65536, d
        assert d["tls"] in TLS_MODES, d
        assert d["status"] in STATUSES, d
        assert isinstance(d["reply"], str), d
        assert isinstance(d["fix"], str) and d["fix"], d
    rec = obj["recommendation"]
    if rec is not None:
        assert isinstance(rec["port"], int) and rec["tls"] in TLS_MODES
        assert any(d["port"] == rec["port"] and d["status"] == "ok" for d in obj["doors"])
    return obj


def probe(binary, *args, host=HOST, timeout=60, password=None):
    env = dict(os.environ, HOME="/nonexistent")
    if password is not None:
        env["MP_PW"] = password
    started = time.monotonic()
    p = subprocess.run([binary, "probe", host, *args], capture_output=True, env=env,
                       timeout=timeout)
    p.elapsed = time.monotonic() - started
    p.out = p.stdout.decode(errors="replace")
    p.err = p.stderr.decode(errors="replace")
    p.json = None
    if "--json" in args:
        p.json = check_contract(json.loads(p.out))
        assert p.out.count("\n") == 1, "exactly one JSON object, one line"
        assert p.json["exit_code"] == p.returncode
    return p


def door(obj, port):
    return next(d for d in obj["doors"] if d["port"] == port)


def login(password=USERS[ALICE]):
    return ["--user", ALICE, "--password-env", "MP_PW"], password


def server_doors(srv):
    return ["--port", "%d:starttls" % srv.port("submission"),
            "--port", "%d:implicit" % srv.port("submissions"),
            "--port", "%d:starttls" % srv.port("fallback"),
            "--port", "%d:relay" % srv.port("smtp")]


# ---------------------------------------------------------------- mailport serve


def test_mailport_serve_all_doors_ok(server, mailport_bin, certs):
    args, pw = login()
    p = probe(mailport_bin, *server_doors(server), "--cafile", certs.ca, *args, "--json",
              password=pw)
    assert p.returncode == 0, p.out + p.err
    for d in p.json["doors"]:
        assert d["status"] == "ok", d
        assert d["tls_info"]["verified"] is True, d
        assert d["tls_info"]["version"].startswith("TLSv1."), d
        assert "localhost" in d["tls_info"]["sans"]
        assert d["fix"] == "nothing to fix"
    assert door(p.json, server.port("submissions"))["tls"] == "implicit"
    assert door(p.json, server.port("smtp"))["tls"] == "starttls"
    sub = door(p.json, server.port("submission"))
    assert "PLAIN" in sub["capabilities"]["auth"]
    assert sub["reply"].startswith("2")
    # No port is 587 here: the first submission door given, with STARTTLS.
    assert p.json["recommendation"] == {"port": server.port("submission"), "tls": "starttls",
                                        "host": HOST}
    # The password reached the server only as a login, and worked.
    assert "event=auth" in server.log_text()


def test_text_table_and_recommendation(server, mailport_bin, certs):
    p = probe(mailport_bin, *server_doors(server), "--cafile", certs.ca)
    assert p.returncode == 0, p.out + p.err
    assert "DOOR" in p.out and "ENCRYPTION" in p.out and "RESULT" in p.out and "FIX" in p.out
    assert "Use port %d with STARTTLS (server %s)" % (server.port("submission"), HOST) in p.out
    assert "\033[" not in p.out  # not a terminal: no colours
    assert "TLSv1." in p.out and "certificate verified" in p.out


def test_mailport_serve_passes_security(server, mailport_bin, certs):
    p = probe(mailport_bin, *server_doors(server), "--cafile", certs.ca, "--security",
              "--json")
    assert p.returncode == 0, p.out
    for d in p.json["doors"]:
        ids = [f["id"] for f in d["findings"]]
        assert "starttls_injection" not in ids, d
        assert "open_relay" not in ids, d
        assert "auth_cleartext" not in ids, d
        assert "tls_old_version" not in ids, d


# ---------------------------------------------------------------- reachability


def test_refused(mailport_bin):
    port = free_port()
    p = probe(mailport_bin, "--port", str(port), "--json")
    d = door(p.json, port)
    assert d["status"] == "refused"
    assert "verify the host name and the port" in d["fix"]
    assert p.json["recommendation"] is None
    assert p.returncode == 69


def test_timeout_when_syns_are_dropped(mailport_bin):
    port = free_port()
    lst, fillers = full_listener(HOST, port)
    try:
        p = probe(mailport_bin, "--port", str(port), "--timeout", "2", "--json")
    finally:
        close_all(lst, fillers)
    d = door(p.json, port)
    assert d["status"] == "timeout", d
    assert "587 -> 465 -> 2525" in d["fix"] and "firewall" in d["fix"]
    assert p.elapsed < 6, p.elapsed
    assert p.returncode == 69


def test_timeout_on_25_names_the_cloud_block(mailport_bin):
    if os.geteuid() != 0:
        pytest.skip("binding port 25 needs root")
    lst, fillers = full_listener("127.0.0.7", 25)
    try:
        p = probe(mailport_bin, "--port", "25", "--timeout", "1", "--json", host="127.0.0.7")
    finally:
        close_all(lst, fillers)
    d = door(p.json, 25)
    assert d["status"] == "timeout"
    assert "AWS" in d["fix"] or "AWS" in d["cause"]
    assert p.elapsed < 5


@pytest.fixture
def silent_listener():
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind((HOST, 0))
    lst.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        lst.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(lst.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield lst.getsockname()[1]
    stop.set()
    t.join(timeout=5)
    for c in held:
        c.close()
    lst.close()


def test_silent_listener_is_no_greeting(mailport_bin, silent_listener):
    p = probe(mailport_bin, "--port", str(silent_listener), "--timeout", "2", "--json")
    d = door(p.json, silent_listener)
    assert d["status"] == "no_greeting", d
    assert "not speak SMTP" in d["cause"] or "does not speak SMTP" in d["cause"]
    assert p.elapsed < 8, p.elapsed
    assert p.returncode != 0


def test_implicit_tls_door_probed_with_starttls(server, mailport_bin, certs):
    port = server.port("submissions")
    p = probe(mailport_bin, "--port", "%d:starttls" % port, "--cafile", certs.ca,
              "--timeout", "2", "--json")
    d = door(p.json, port)
    assert d["status"] == "no_greeting", d
    assert "expects TLS from the first byte" in d["what"]
    assert "--tls implicit" in d["fix"]
    assert any("implicit TLS" in w for w in d["warnings"])


# ---------------------------------------------------------------- plaintext servers


@pytest.fixture
def plain_server():
    srv = start_server(PlainHandler, offer_auth=False, extensions=[])
    yield srv
    srv.shutdown()
    srv.server_close()


def test_plaintext_on_the_465_door_is_a_mixup(mailport_bin, plain_server):
    port = plain_server.server_address[1]
    p = probe(mailport_bin, "--port", "%d:implicit" % port, "--timeout", "3", "--json")
    d = door(p.json, port)
    assert d["status"] == "tls_failed", d
    assert d["tls"] == "implicit"
    assert "plaintext" in d["what"], d
    assert "starttls" in d["fix"].lower(), d
    assert p.returncode == 78


def test_no_starttls_on_submission(mailport_bin, plain_server):
    port = plain_server.server_address[1]
    plain_server.offer_auth = True
    args, pw = login()
    p = probe(mailport_bin, "--port", str(port), *args, "--json", password=pw)
    d = door(p.json, port)
    assert d["status"] == "starttls_missing", d
    assert "465" in d["fix"]
    # Nothing was sent in the clear, and the finding is there.
    assert not any(s.upper().startswith(("AUTH", "MAIL", "RCPT")) for s in plain_server.seen)
    assert pw not in " ".join(plain_server.seen)
    assert any("AUTH was offered before TLS" in w for w in d["warnings"]), d
    assert d["capabilities"]["auth_before_tls"] is True


def test_auth_before_tls_is_a_security_finding(mailport_bin, plain_server):
    port = plain_server.server_address[1]
    plain_server.offer_auth = True
    p = probe(mailport_bin, "--port", str(port), "--security", "--json")
    d = door(p.json, port)
    f = [f for f in d["findings"] if f["id"] == "auth_cleartext"]
    assert f and f[0]["severity"] == "high" and "STARTTLS" in f[0]["fix"], d


def test_every_ehlo_keyword_is_shown(mailport_bin, plain_server):
    """Not a whitelist: DSN, CHUNKING, VRFY, ETRN, HELP and unknown ones too, as offered."""
    port = plain_server.server_address[1]
    plain_server.extensions = ["PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "HELP", "DSN",
                               "CHUNKING", "X-MADE-UP with args"]
    listed = plain_server.extensions + ["8BITMIME"]
    p = probe(mailport_bin, "--port", "%d:relay" % port, "--json")
    d = door(p.json, port)
    assert d["capabilities"]["keywords"] == listed, d
    p = probe(mailport_bin, "--port", "%d:relay" % port)
    line = next(ln for ln in p.out.splitlines() if "capabilities:" in ln)
    assert line.split("capabilities:", 1)[1].strip() == " ".join(listed), line


def test_relay_door_without_starttls_is_a_warning(mailport_bin, plain_server):
    port = plain_server.server_address[1]
    p = probe(mailport_bin, "--port", "%d:relay" % port, "--json")
    d = door(p.json, port)
    assert d["status"] == "ok", d
    assert d["tls"] == "none"
    assert any("STARTTLS not offered" in w for w in d["warnings"]), d


def test_open_relay_is_critical(mailport_bin, plain_server):
    port = plain_server.server_address[1]
    p = probe(mailport_bin, "--port", "%d:relay" % port, "--security", "--json")
    d = door(p.json, port)
    f = [f for f in d["findings"] if f["id"] == "open_relay"]
    assert f and f[0]["severity"] == "critical", d
    assert "MAIL FROM:<probe@example.com>" in plain_server.seen
    assert "RCPT TO:<probe@example.net>" in plain_server.seen
    assert "RSET" in plain_server.seen and "DATA" not in plain_server.seen


# ---------------------------------------------------------------- certificates


def openssl(d, *args):
    subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)


def server_with_cert(make_server, cert_pem, key_pem):
    srv = make_server(start=False)
    with open(srv.cert, "w") as f:
        f.write(cert_pem)
    with open(srv.key, "w") as f:
        f.write(key_pem)
    srv.start()
    return srv


def test_expired_certificate(make_server, mailport_bin, certs, workroot):
    d = new_dir(workroot, "expired-")
    openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "r.csr",
            "-subj", "/CN=localhost")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl(d, "x509", "-req", "-in", "r.csr", "-CA", os.path.join(certs.dir, "int.pem"),
            "-CAkey", os.path.join(certs.dir, "int.key"), "-CAcreateserial", "-days", "-1",
            "-extfile", "ext", "-out", "leaf.pem")
    chain = open(os.path.join(d, "leaf.pem")).read() + open(os.path.join(certs.dir,
                                                                         "int.pem")).read()
    srv = server_with_cert(make_server, chain, open(os.path.join(d, "key.pem")).read())
    args, pw = login()
    p = probe(mailport_bin, "--port", str(srv.port("submission")), "--cafile", certs.ca,
              *args, "--security", "--json", password=pw)
    door_ = door(p.json, srv.port("submission"))
    assert door_["status"] == "tls_failed", door_
    assert "expired" in door_["what"] and "renew" in door_["fix"]
    assert door_["tls_info"]["days_left"] < 0
    assert any(f["id"] == "cert_expiry" and f["severity"] == "critical"
               for f in door_["findings"]), door_
    assert p.returncode == 69  # the door is unusable: not a refused login (77)
    assert "event=auth" not in srv.log_text()  # no password over a refused certificate


def test_self_signed_certificate(make_server, mailport_bin, certs, workroot):
    d = new_dir(workroot, "selfsigned-")
    openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out",
            "cert.pem", "-days", "5", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
    srv = server_with_cert(make_server, open(os.path.join(d, "cert.pem")).read(),
                           open(os.path.join(d, "key.pem")).read())
    port = srv.port("submission")
    p = probe(mailport_bin, "--port", str(port), "--cafile", certs.ca, "--json")
    d_ = door(p.json, port)
    assert d_["status"] == "tls_failed", d_
    assert "not trusted" in d_["what"] and "--cafile" in d_["fix"]
    assert "self-signed" in d_["detail"] or "self-signed" in d_["tls_info"]["verify_error"]
    assert d_["tls_info"]["subject"] == "CN=localhost"
    assert any("expires in" in w for w in d_["warnings"]), d_
    # With its own certificate as the CA it is fine.
    p = probe(mailport_bin, "--port", str(port), "--cafile", os.path.join(d, "cert.pem"),
              "--json")
    assert door(p.json, port)["status"] == "ok"
    assert p.returncode == 0


# ---------------------------------------------------------------- auth and relay


def test_wrong_password(server, mailport_bin, certs):
    args, _ = login()
    port = server.port("submission")
    p = probe(mailport_bin, "--port", str(port), "--cafile", certs.ca, *args, "--json",
              password="not-the-password")
    d = door(p.json, port)
    assert d["status"] == "auth_failed", d
    assert d["reply"].startswith("535"), d
    assert "app password" in d["fix"] and "OAuth2" in d["fix"]
    assert p.returncode == 77


def test_auth_missing_on_relay_door_mode_starttls(server, mailport_bin, certs):
    args, pw = login()
    port = server.port("smtp")  # mailport's relay door offers no AUTH
    p = probe(mailport_bin, "--port", "%d:starttls" % port, "--cafile", certs.ca, *args,
              "--json", password=pw)
    d = door(p.json, port)
    assert d["status"] == "auth_missing", d
    assert "587" in d["fix"]


def test_relay_denied(server, mailport_bin, certs):
    port = server.port("smtp")
    p = probe(mailport_bin, "--port", "%d:relay" % port, "--cafile", certs.ca, "--from", ALICE,
              "--to", "friend@remote.test", "--json")
    d = door(p.json, port)
    assert d["status"] == "relay_denied", d
    assert d["reply"].startswith("5"), d
    assert "Authenticate first" in d["fix"] or "authenticate first" in d["fix"]
    assert p.returncode == 77


def test_mail_and_rcpt_then_rset(server, mailport_bin, certs):
    args, pw = login()
    port = server.port("submission")
    p = probe(mailport_bin, "--port", str(port), "--cafile", certs.ca, *args, "--from", ALICE,
              "--to", "bob@example.test", "--json", password=pw)
    assert door(p.json, port)["status"] == "ok", p.out
    server.wait_sessions_closed()
    server.wait_settled()
    assert not server.delivered("bob@example.test") or all(
        b"probe" not in v for v in server.delivered("bob@example.test").values())


# ---------------------------------------------------------------- STARTTLS injection


class InjectableHandler(socketserver.BaseRequestHandler):
    """STARTTLS done wrong: commands read before the handshake stay in the
    buffer and are answered over TLS (CVE-2011-0411)."""

    def handle(self):
        sock = self.request
        sock.settimeout(10)
        buf, tls = b"", False
        sock.sendall(b"220 inject.example ESMTP\r\n")
        try:
            while True:
                while b"\r\n" not in buf:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return
                    buf += chunk
                line, buf = buf.split(b"\r\n", 1)
                verb = line[:8].upper()
                if verb.startswith(b"EHLO"):
                    extra = b"250-AUTH PLAIN\r\n" if tls else b"250-STARTTLS\r\n"
                    sock.sendall(b"250-inject.example\r\n" + extra + b"250 8BITMIME\r\n")
                elif verb.startswith(b"STARTTLS"):
                    sock.sendall(b"220 go ahead\r\n")
                    sock = self.server.ctx.wrap_socket(sock, server_side=True)
                    tls = True  # the bug: buf is kept
                elif verb.startswith(b"QUIT"):
                    sock.sendall(b"221 bye\r\n")
                    return
                else:
                    sock.sendall(b"250 ok\r\n")
        except (OSError, ssl.SSLError):
            return


def test_starttls_injection_flagged(mailport_bin, certs):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certs.chain_a, certs.key_a)
    srv = start_server(InjectableHandler, ctx=ctx)
    try:
        port = srv.server_address[1]
        p = probe(mailport_bin, "--port", str(port), "--cafile", certs.ca, "--security",
                  "--json")
    finally:
        srv.shutdown()
        srv.server_close()
    d = door(p.json, port)
    assert d["status"] == "ok", d
    f = [f for f in d["findings"] if f["id"] == "starttls_injection"]
    assert f and f[0]["severity"] == "high" and "RFC 3207" in f[0]["fix"], d


# ---------------------------------------------------------------- usage


def test_usage_errors(mailport_bin):
    for args in (["--port", "99999"], ["--port", "587:bogus"], ["--user", ALICE],
                 ["--from", ALICE]):
        p = probe(mailport_bin, *args)
        assert p.returncode == 64, (args, p.err)
    p = subprocess.run([mailport_bin, "probe"], capture_output=True, timeout=10)
    assert p.returncode == 64


def test_json_escaping(mailport_bin):
    """A greeting with quotes, backslashes, control bytes and bad UTF-8 stays valid JSON."""
    lst = socket.socket()
    lst.bind((HOST, 0))
    lst.listen(1)
    port = lst.getsockname()[1]

    def serve():
        c, _ = lst.accept()
        c.sendall(b'220 odd "quoted" \\back\x01 \xff\xfe caf\xc3\xa9\r\n')
        c.recv(1000)
        c.sendall(b"500 no\r\n")
        c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    p = probe(mailport_bin, "--port", str(port), "--timeout", "3", "--json")
    t.join(timeout=5)
    lst.close()
    g = door(p.json, port)["greeting"]
    assert '"quoted"' in g and "\\back" in g and "\ufffd" in g and "café" in g, g


def weak_tls_findings(mailport_bin, workroot, *server_opts):
    """probe --security against an openssl s_server that allows every cipher
    (and TLS 1.0/1.1 but for server_opts such as -no_tls1): its findings by id."""
    d = new_dir(workroot, "weak-")
    openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out",
            "cert.pem", "-days", "60", "-subj", "/CN=localhost")
    port = free_port()
    s = subprocess.Popen(["openssl", "s_server", "-accept", "%s:%d" % (HOST, port), "-cert",
                          "cert.pem", "-key", "key.pem", "-cipher", "ALL:@SECLEVEL=0",
                          *server_opts, "-quiet"],
                         cwd=d, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection((HOST, port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        p = probe(mailport_bin, "--port", "%d:implicit" % port, "--insecure", "--security",
                  "--timeout", "2", "--json")
    finally:
        s.kill()
        s.wait(timeout=10)
    return {f["id"]: f for f in door(p.json, port)["findings"]}


def test_old_tls_and_weak_ciphers_flagged(mailport_bin, workroot):
    ids = weak_tls_findings(mailport_bin, workroot)
    # Every weak version accepted is named, not only the highest (TLS 1.1 hid 1.0).
    what = ids["tls_old_version"]["what"] if "tls_old_version" in ids else ids
    assert "TLS 1.0" in what and "TLS 1.1" in what, what
    assert "weak_cipher" in ids and ids["weak_cipher"]["severity"] == "medium", ids


def test_only_tls_1_1_named_when_1_0_refused(mailport_bin, workroot):
    ids = weak_tls_findings(mailport_bin, workroot, "-no_tls1")
    what = ids["tls_old_version"]["what"]
    assert "TLS 1.1" in what and "TLS 1.0" not in what, what


def test_resolver_is_used_for_the_connections_too(server, mailport_bin, make_dns):
    """A name only the --resolver knows: the doors are reached at its address."""
    dns = make_dns(hosts={"mail.probe-only.test": ["127.0.0.1"]})
    p = probe(mailport_bin, "--port", "%d:starttls" % server.port("submission"), "--insecure",
              "--resolver", dns.resolver_line().split()[1], "--json",
              host="mail.probe-only.test")
    assert p.json["doors"][0]["status"] == "ok", p.out + p.err
