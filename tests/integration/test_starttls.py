"""TLS: versions, ciphers, chain, STARTTLS buffer discard and state reset,
plaintext on the implicit-TLS door, self-signed first start, SIGHUP reload."""

import glob
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import warnings

import pytest

from conftest import (HOST, Closed, Conn, caps, header_block, login_conn, message,
                      smtp_client, token)

TLS_DOORS = ["smtp", "submission", "submissions"]


def tls_socket(srv, door, ctx, server_hostname="localhost"):
    """A TLS socket on the door, through STARTTLS where the door needs it."""
    if srv.doors[door] == "submissions":
        s = socket.create_connection((HOST, srv.port(door)), timeout=10)
        return ctx.wrap_socket(s, server_hostname=server_hostname)
    c = Conn(srv.port(door))
    c.ehlo()
    c.starttls(ctx, server_hostname=server_hostname)
    return c.sock


def old_tls_client_ctx(version):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return _old_tls_client_ctx(version)


def _old_tls_client_ctx(version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = version
    ctx.maximum_version = version
    return ctx


def client_can_speak(version, certs, cipher=None):
    """Can this machine's OpenSSL do `version` (and `cipher`) at all? Checked
    against a local Python TLS server that allows it, so that a refusal seen
    later is the server's."""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.set_ciphers((cipher or "DEFAULT") + ":@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sctx.minimum_version = version
        sctx.maximum_version = version
    sctx.load_cert_chain(certs.chain_a, certs.key_a)
    ls = socket.socket()
    ls.bind((HOST, 0))
    ls.listen(1)
    ls.settimeout(5)
    ok = {}

    def serve():
        try:
            conn, _ = ls.accept()
            with sctx.wrap_socket(conn, server_side=True) as t:
                ok["server"] = t.version()
        except Exception:
            pass

    th = threading.Thread(target=serve)
    th.start()
    try:
        cctx = old_tls_client_ctx(version)
        if cipher:
            cctx.set_ciphers(cipher + ":@SECLEVEL=0")
        with socket.create_connection(ls.getsockname(), timeout=5) as s:
            with cctx.wrap_socket(s) as t:
                ok["client"] = t.version()
    except Exception:
        pass
    th.join(6)
    ls.close()
    return "client" in ok


# ---------------------------------------------------------------- versions and ciphers


@pytest.mark.parametrize("door", TLS_DOORS)
@pytest.mark.parametrize("version,name", [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
                                          (ssl.TLSVersion.TLSv1_3, "TLSv1.3")])
def test_tls12_and_13_accepted_with_verified_chain(server, door, version, name):
    ctx = server.certs.client_context(minimum=version, maximum=version)
    t = tls_socket(server, door, ctx)
    try:
        assert t.version() == name
        # Verified against the root CA only: the intermediate came from the server's chain.
        assert t.getpeercert()["subject"] == ((("commonName", "localhost"),),)
    finally:
        t.close()


@pytest.mark.parametrize("door", TLS_DOORS)
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1],
                         ids=["TLSv1.0", "TLSv1.1"])
def test_old_tls_refused(server, door, version):
    if not client_can_speak(version, server.certs):
        pytest.skip("this machine's OpenSSL cannot negotiate %s even with SECLEVEL=0, "
                    "so a refusal would not prove anything about the server" % version.name)
    with pytest.raises((ssl.SSLError, OSError, Closed)):
        t = tls_socket(server, door, old_tls_client_ctx(version))
        t.close()


@pytest.mark.parametrize("cipher", ["AES128-SHA", "AES256-SHA256", "AES128-GCM-SHA256",
                                    "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384"])
def test_weak_tls12_ciphers_refused(server, cipher):
    # Mozilla "intermediate": TLS 1.2 only with ECDHE/DHE + AEAD. The leaf key is
    # RSA, so these suites would be usable if the server allowed them.
    if not client_can_speak(ssl.TLSVersion.TLSv1_2, server.certs, cipher):
        pytest.skip("this machine's OpenSSL cannot negotiate %s at all, so a refusal "
                    "would prove nothing about the server" % cipher)
    ctx = old_tls_client_ctx(ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers(cipher + ":@SECLEVEL=0")
    with pytest.raises((ssl.SSLError, OSError, Closed)):
        t = tls_socket(server, "submissions", ctx)
        t.close()


def test_intermediate_tls12_cipher_accepted(server):
    ctx = server.certs.client_context(minimum=ssl.TLSVersion.TLSv1_2,
                                      maximum=ssl.TLSVersion.TLSv1_2,
                                      ciphers="ECDHE-RSA-AES128-GCM-SHA256")
    t = tls_socket(server, "submissions", ctx)
    try:
        assert t.cipher()[0] == "ECDHE-RSA-AES128-GCM-SHA256"
    finally:
        t.close()


def test_received_names_tls12_and_cipher(server):
    m = token()
    ctx = server.certs.client_context(maximum=ssl.TLSVersion.TLSv1_2)
    s = smtp_client(server, "submissions", ctx=ctx, login="alice@example.test")
    try:
        cipher = s.sock.cipher()
        assert cipher[1] == "TLSv1.2"
        s.sendmail("alice@example.test", ["bob@example.test"], message(m))
    finally:
        s.quit()
    got = server.wait_mail("bob@example.test", m)
    assert got
    rec = header_block(got[0])[1]
    assert "TLSv1.2" in rec and cipher[0] in rec, rec


# ---------------------------------------------------------------- STARTTLS


@pytest.mark.parametrize("door", ["smtp", "submission"])
def test_starttls_discards_pipelined_bytes(server, door):
    ctx = server.certs.client_context()
    with Conn(server.port(door)) as c:
        c.ehlo()
        c.send("STARTTLS\r\nHELP\r\nMAIL FROM:<alice@example.test>\r\n")
        r = c.reply()
        assert r.code == 220, r
        time.sleep(0.3)  # kept: the time a wrong server would take to answer in plaintext
        c.sock.setblocking(False)
        try:
            extra = c.sock.recv(4096, socket.MSG_PEEK)
        except BlockingIOError:
            extra = b""
        c.sock.setblocking(True)
        assert c.buf == b"" and extra == b"", \
            "plaintext bytes after the 220 to STARTTLS: %r" % (c.buf + extra)
        c.sock.settimeout(10)
        c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
        # The first reply over TLS is the one to our next command, VRFY (252),
        # not to the HELP (214) or the MAIL sent before the handshake.
        r = c.cmd("VRFY someone")
        assert r.code == 252, "first reply after the handshake: %r" % r
        c.ehlo()
        r = c.cmd("RCPT TO:<alice@example.test>")
        assert r.code in (503, 530), "a MAIL from before TLS must not be in effect: %r" % r


@pytest.mark.parametrize("door", ["smtp", "submission"])
def test_state_reset_after_starttls(server, door):
    with Conn(server.port(door)) as c:
        c.ehlo()
        c.starttls(server.certs.client_context())
        r = c.cmd("MAIL FROM:<alice@example.test>")
        assert r.code == 503, "MAIL after STARTTLS without a new EHLO: %r" % r
        c.ehlo()
        if door == "smtp":
            assert c.cmd("MAIL FROM:<alice@example.test>").code == 250


def test_transaction_before_starttls_forgotten(server):
    # RFC 3207 4.2: a MAIL given in plaintext must not survive the handshake.
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        r = c.cmd("STARTTLS")
        if r.code != 220:
            assert r.code == 503, "STARTTLS inside a transaction: %r" % r
            return
        c.sock = server.certs.client_context().wrap_socket(c.sock, server_hostname="localhost")
        c.ehlo()
        r = c.cmd("RCPT TO:<alice@example.test>")
        assert r.code == 503, "the plaintext MAIL is still in effect after TLS: %r" % r


def test_starttls_not_offered_or_accepted_twice(server):
    with Conn(server.port("submission")) as c:
        c.ehlo()
        c.starttls(server.certs.client_context())
        r = c.ehlo()
        assert "STARTTLS" not in caps(r)
        r = c.cmd("STARTTLS")
        assert 500 <= r.code < 600, r


def test_starttls_with_argument_refused(server):
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        r = c.cmd("STARTTLS now")
        assert r.code == 501, r


# ---------------------------------------------------------------- 465 plaintext


@pytest.mark.parametrize("speak", [False, True], ids=["waits", "sends_ehlo"])
def test_submissions_plaintext_client_gets_no_plaintext(server, speak):
    mark = server.log_size()
    s = socket.create_connection((HOST, server.port("submissions")), timeout=10)
    got = b""
    try:
        if speak:
            s.sendall(b"EHLO client.example.test\r\n")
        s.settimeout(2.0)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
    finally:
        s.close()
    assert not re.match(rb"^\d{3}[ -]", got), "plaintext SMTP reply on the TLS door: %r" % got
    assert b"220" not in got and b"SMTP" not in got.upper() and b"ESMTP" not in got, got
    if speak:
        m = server.wait_log(r"[^\n]*plaintext[^\n]*", timeout=5, since=mark)
        assert m, "no log line about the plaintext client:\n%s" % server.log_text()[mark:]
        line = m.group(0)
        assert "587" in line and "STARTTLS" in line, line


# ---------------------------------------------------------------- certificates


def served_cert_der(port, starttls=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if starttls:
        c = Conn(port)
        c.ehlo()
        c.starttls(ctx)
        t = c.sock
    else:
        t = ctx.wrap_socket(socket.create_connection((HOST, port), timeout=10),
                            server_hostname="localhost")
    try:
        return t.getpeercert(binary_form=True)
    finally:
        t.close()


def pem_to_der(path):
    p = subprocess.run(["openssl", "x509", "-in", path, "-outform", "DER"], capture_output=True,
                       timeout=30)
    return p.stdout if p.returncode == 0 else None


def test_self_signed_certificate_made_on_first_start(make_server):
    srv = make_server(tls=False)
    der = served_cert_der(srv.port("submissions"))
    assert der
    assert served_cert_der(srv.port("smtp"), starttls=True) == der
    text = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject", "-issuer",
                           "-ext", "subjectAltName"], input=der, capture_output=True,
                          timeout=30).stdout.decode()
    subj = re.search(r"subject=(.*)", text).group(1).strip()
    issuer = re.search(r"issuer=(.*)", text).group(1).strip()
    assert subj == issuer, "not self-signed: %s" % text
    assert "mx.example.test" in text, "the hostname should be the certificate's name: %s" % text
    # It was written under the spool folder, and is the one served.
    pems = [p for p in glob.glob(os.path.join(srv.spool, "**", "*"), recursive=True)
            if os.path.isfile(p) and pem_to_der(p) == der]
    assert pems, "served certificate not found in a file under the spool folder"
    # Made once: a restart serves the same certificate.
    srv.restart()
    assert served_cert_der(srv.port("submissions")) == der


def read_peer_cn(srv, door="submissions"):
    ctx = srv.certs.client_context()
    t = tls_socket(srv, door, ctx)
    try:
        return dict(x[0] for x in t.getpeercert()["subject"])["commonName"]
    finally:
        t.close()


def test_sighup_reloads_certificate_keeping_live_sessions(make_server):
    srv = make_server()
    assert read_peer_cn(srv) == srv.certs.cn_a
    pid = srv.pid
    m = token()
    # A session opened before the reload, in the middle of a transaction.
    live = login_conn(srv, "submission", "alice@example.test")
    try:
        assert live.cmd("MAIL FROM:<alice@example.test>").code == 250
        assert live.cmd("RCPT TO:<bob@example.test>").code == 250
        # New certificate in place (renamed over, as deploy tools do), then SIGHUP.
        for src, dst in ((srv.certs.chain_b, srv.cert), (srv.certs.key_b, srv.key)):
            shutil.copy(src, dst + ".new")
            os.chmod(dst + ".new", 0o644)
            os.rename(dst + ".new", dst)
        srv.sighup()
        deadline = time.monotonic() + 10
        cn = None
        while time.monotonic() < deadline:
            cn = read_peer_cn(srv)
            if cn == srv.certs.cn_b:
                break
            time.sleep(0.2)
        assert cn == srv.certs.cn_b, "new connections still get %r after SIGHUP" % cn
        assert read_peer_cn(srv, "smtp") == srv.certs.cn_b
        assert srv.alive() and srv.pid == pid
        # The old session completes its message.
        assert live.cmd("DATA").code == 354
        live.send(message(m, to="bob@example.test").encode() + b".\r\n")
        r = live.reply()
        assert r.code == 250, r
        assert live.cmd("QUIT").code == 221
    finally:
        live.close()
    assert srv.wait_mail("bob@example.test", m)


def test_sighup_reloads_users(make_server):
    srv = make_server()
    c = Conn(srv.port("submission"))
    c.ehlo()
    c.starttls(srv.certs.client_context())
    c.ehlo()
    assert c.auth_plain("dora@example.test", "dora-pw").code == 535
    c.close()
    srv.users["dora@example.test"] = "dora-pw"
    srv.write_users()
    mark = srv.log_size()
    srv.sighup()
    ok = False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not ok:
        with Conn(srv.port("submission")) as c:
            c.ehlo()
            c.starttls(srv.certs.client_context())
            c.ehlo()
            ok = c.auth_plain("dora@example.test", "dora-pw").code == 235
        if not ok:
            time.sleep(0.3)
    assert ok, "new user not accepted after SIGHUP:\n%s" % srv.log_text()[mark:]
    assert srv.alive()


def test_sighup_reloads_config_limits(make_server):
    srv = make_server()
    with Conn(srv.port("smtp")) as c:
        assert caps(c.ehlo())["SIZE"].split()[1:] == ["36700160"]
    srv.limits["message-size-limit"] = 5000
    srv.write_config()
    srv.sighup()
    deadline = time.monotonic() + 10
    size = None
    while time.monotonic() < deadline:
        with Conn(srv.port("smtp")) as c:
            size = caps(c.ehlo())["SIZE"].split()[1:]
        if size == ["5000"]:
            break
        time.sleep(0.2)
    assert size == ["5000"], "EHLO SIZE after SIGHUP: %r" % size
    with Conn(srv.port("smtp")) as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<a@remote.test> SIZE=5001")
        assert (r.code, r.enhanced) == (552, "5.3.4"), r


def test_sighup_with_broken_certificate_keeps_serving(make_server):
    # A bad new certificate must not take the server down; it keeps the old one.
    srv = make_server()
    with open(srv.cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    mark = srv.log_size()
    srv.sighup()
    srv.wait_log(r"event=reload tls=", since=mark)
    assert srv.alive(), "SIGHUP with a broken certificate killed the server"
    assert read_peer_cn(srv) == srv.certs.cn_a
