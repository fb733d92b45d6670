"""TLS session resumption: tickets on the STARTTLS and implicit-TLS doors,
across a SIGHUP reload, and not across a certificate change."""

import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import HOST

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
VERSIONS = {"TLSv1.3": "-tls1_3", "TLSv1.2": "-tls1_2"}


def s_client(srv, door, version, *, sess_in=None, sess_out=None):
    """One connection with `openssl s_client` (STARTTLS where the door needs it)
    that says QUIT and waits for the server to close, so that TLS 1.3 tickets,
    which come after the handshake, are read and saved. Returns the
    handshake's summary, e.g. ("Reused", "TLSv1.3"), and the peer's CN."""
    args = [OPENSSL, "s_client", "-connect", "%s:%d" % (HOST, srv.port(door)),
            "-CAfile", srv.certs.ca, "-verify_return_error", "-ign_eof", "-nocommands",
            VERSIONS[version]]
    if srv.doors[door] != "submissions":
        args += ["-starttls", "smtp"]
    if sess_in:
        args += ["-sess_in", sess_in]
    if sess_out:
        args += ["-sess_out", sess_out]
    p = subprocess.run(args, input=b"QUIT\r\n", capture_output=True, timeout=30)
    out = p.stdout.decode(errors="replace")
    m = re.search(r"^(New|Reused), (TLSv[\d.]+), Cipher is", out, re.M)
    assert p.returncode == 0 and m, "s_client failed (%d):\n%s\n%s" % (
        p.returncode, out[-2000:], p.stderr.decode(errors="replace")[-2000:])
    assert re.search(r"^221 ", out, re.M), "no 221 to QUIT:\n" + out[-2000:]
    cn = re.search(r"^subject=.*CN\s*=\s*([^,\n]+)", out, re.M)
    return (m.group(1), m.group(2)), cn.group(1).strip() if cn else None


def tickets_after(srv, door, sess_in=None):
    """How many TLS 1.3 tickets one connection brings (s_client announces
    each), and whether it resumed."""
    args = [OPENSSL, "s_client", "-connect", "%s:%d" % (HOST, srv.port(door)),
            "-CAfile", srv.certs.ca, "-verify_return_error", "-ign_eof", "-nocommands",
            VERSIONS["TLSv1.3"]] + (["-sess_in", sess_in] if sess_in else [])
    if srv.doors[door] != "submissions":
        args += ["-starttls", "smtp"]
    p = subprocess.run(args, input=b"QUIT\r\n", capture_output=True, timeout=30)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0 and re.search(r"^221 ", out, re.M), out[-2000:]
    return out.count("Post-Handshake New Session Ticket arrived"), "Reused, TLSv1.3" in out


@pytest.mark.parametrize("door", ["submission", "submissions"])
def test_one_ticket_per_connection(server, tmp_path, door):
    """One ticket after a full handshake (OpenSSL's default is two), and a
    fresh one after each resumed handshake, so a client keeps resuming."""
    sess = str(tmp_path / "sess.pem")
    new_session(server, door, "TLSv1.3", sess)
    assert tickets_after(server, door) == (1, False)
    assert tickets_after(server, door, sess_in=sess) == (1, True)


def new_session(srv, door, version, path):
    (kind, got), _ = s_client(srv, door, version, sess_out=path)
    assert (kind, got) == ("New", version)
    assert os.path.getsize(path) > 0, "no session saved: the server sent no ticket"


@pytest.mark.parametrize("version", list(VERSIONS))
@pytest.mark.parametrize("door", ["submission", "submissions", "smtp"])
def test_session_resumes(server, tmp_path, door, version):
    sess = str(tmp_path / "sess.pem")
    new_session(server, door, version, sess)
    for _ in range(2):   # a session may be offered again (TLS 1.3: its newest ticket)
        (kind, got), _ = s_client(server, door, version, sess_in=sess, sess_out=sess)
        assert (kind, got) == ("Reused", version)


def test_session_resumes_after_sighup(make_server, tmp_path):
    srv = make_server()
    sess = {d: str(tmp_path / (d + ".pem")) for d in ("submission", "submissions")}
    for door, path in sess.items():
        new_session(srv, door, "TLSv1.3", path)
    # A TLS 1.2 session held by a stateless ticket, not by the server's cache.
    sess12 = str(tmp_path / "tls12.pem")
    new_session(srv, "submission", "TLSv1.2", sess12)
    mark = srv.log_size()
    pid = srv.pid
    srv.sighup()
    srv.wait_log(r"event=reload tls=reloaded", since=mark)
    assert srv.pid == pid
    for door, path in sess.items():
        assert s_client(srv, door, "TLSv1.3", sess_in=path)[0] == ("Reused", "TLSv1.3"), door
    assert s_client(srv, "submission", "TLSv1.2", sess_in=sess12)[0] == ("Reused", "TLSv1.2")


def test_new_certificate_voids_sessions(make_server, tmp_path):
    srv = make_server()
    sess = str(tmp_path / "sess.pem")
    new_session(srv, "submissions", "TLSv1.3", sess)
    for src, dst in ((srv.certs.chain_b, srv.cert), (srv.certs.key_b, srv.key)):
        shutil.copy(src, dst + ".new")
        os.chmod(dst + ".new", 0o644)
        os.rename(dst + ".new", dst)
    mark = srv.log_size()
    srv.sighup()
    srv.wait_log(r"event=reload tls=reloaded", since=mark)
    # The client must see the new certificate, not resume on the old one.
    (kind, got), cn = s_client(srv, "submissions", "TLSv1.3", sess_in=sess)
    assert (kind, got) == ("New", "TLSv1.3")
    assert cn == srv.certs.cn_b


def test_restart_means_full_handshake(make_server, tmp_path):
    # Keys live in memory only: a ticket from before a restart is not an error.
    srv = make_server()
    sess = str(tmp_path / "sess.pem")
    new_session(srv, "submission", "TLSv1.3", sess)
    srv.restart()
    deadline = time.monotonic() + 10
    while True:
        try:
            r = s_client(srv, "submission", "TLSv1.3", sess_in=sess)[0]
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert r == ("New", "TLSv1.3")
