"""Real third-party clients: swaks and `openssl s_client`."""

import base64
import os
import re
import select
import shutil
import subprocess
import time

import pytest

from conftest import HOST, token

pytestmark = pytest.mark.skipif(shutil.which("swaks") is None or shutil.which("openssl") is None,
                                reason="swaks and openssl are needed for these tests")


def swaks(srv, door, *args, timeout=60):
    cmd = ["swaks", "--server", HOST, "--port", str(srv.port(door)), "--timeout", "20",
           "--helo", "client.example.test", *args]
    p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def verify_args(srv):
    return ["--tls-verify", "--tls-ca-path", srv.certs.ca]


# ---------------------------------------------------------------- swaks


@pytest.mark.parametrize("door,auth", [("submission", "LOGIN"), ("fallback", "PLAIN")])
def test_swaks_starttls_auth(server, door, auth):
    m = token()
    rc, out = swaks(server, door, "--tls", *verify_args(server), "--auth", auth,
                    "--auth-user", "alice@example.test",
                    "--auth-password", server.users["alice@example.test"],
                    "--from", "alice@example.test", "--to", "bob@example.test",
                    "--header", "Subject: swaks %s" % m)
    assert rc == 0, out
    assert server.wait_mail("bob@example.test", m), out


def test_swaks_tls_on_connect_465(server):
    m = token()
    rc, out = swaks(server, "submissions", "--tls-on-connect", *verify_args(server),
                    "--auth", "PLAIN", "--auth-user", "bob@example.test",
                    "--auth-password", server.users["bob@example.test"],
                    "--from", "bob+swaks@example.test", "--to", "alice@example.test",
                    "--header", "Subject: swaks %s" % m)
    assert rc == 0, out
    assert server.wait_mail("alice@example.test", m), out


def test_swaks_pipelining_587(server):
    m = token()
    rc, out = swaks(server, "submission", "--tls", *verify_args(server), "--pipeline",
                    "--auth", "PLAIN", "--auth-user", "alice@example.test",
                    "--auth-password", server.users["alice@example.test"],
                    "--from", "alice@example.test", "--to", "alice@example.test,bob@example.test",
                    "--header", "Subject: swaks %s" % m)
    assert rc == 0, out
    assert server.wait_mail("alice@example.test", m), out
    assert server.wait_mail("bob@example.test", m), out


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "starttls"])
def test_swaks_port25_local(server, tls):
    m = token()
    extra = ["--tls", *verify_args(server)] if tls else []
    rc, out = swaks(server, "smtp", *extra, "--from", "someone@remote.test",
                    "--to", "alice@example.test", "--header", "Subject: swaks %s" % m)
    assert rc == 0, out
    got = server.wait_mail("alice@example.test", m)
    assert got, out
    assert (b"TLSv1." in got[0].split(b"\n\n")[0]) == tls


def test_swaks_port25_relay_denied(server):
    rc, out = swaks(server, "smtp", "--from", "alice@example.test", "--to", "x@remote.test")
    assert rc != 0, out
    assert re.search(r"<~?\*+ 550 5\.7\.1 .*relay", out, re.I), out


def test_swaks_port25_auth_not_offered(server):
    rc, out = swaks(server, "smtp", "--tls", *verify_args(server), "--auth", "PLAIN",
                    "--auth-user", "alice@example.test",
                    "--auth-password", server.users["alice@example.test"],
                    "--from", "alice@example.test", "--to", "x@remote.test")
    assert rc != 0, out
    assert not re.search(r"<\S* 235", out), out


def test_swaks_587_auth_without_tls_refused(server):
    m = token()
    rc, out = swaks(server, "submission", "--auth", "PLAIN", "--auth-user", "alice@example.test",
                    "--auth-password", server.users["alice@example.test"],
                    "--from", "alice@example.test", "--to", "bob@example.test",
                    "--header", "Subject: swaks %s" % m)
    assert rc != 0, out
    # The password never went over the wire in clear.
    pw_b64 = base64.b64encode(("\0alice@example.test\0%s" % server.users["alice@example.test"])
                              .encode()).decode()
    assert pw_b64 not in out, out
    server.wait_sessions_closed()
    server.wait_settled()
    assert not server.find_mail("bob@example.test", m)


def test_swaks_587_wrong_password(server):
    rc, out = swaks(server, "submission", "--tls", *verify_args(server), "--auth", "LOGIN",
                    "--auth-user", "alice@example.test", "--auth-password", "nope",
                    "--from", "alice@example.test", "--to", "bob@example.test")
    assert rc != 0, out
    assert re.search(r"<~?\*+ 535 5\.7\.8", out), out


def test_swaks_from_not_owned(server):
    rc, out = swaks(server, "submission", "--tls", *verify_args(server), "--auth", "PLAIN",
                    "--auth-user", "alice@example.test",
                    "--auth-password", server.users["alice@example.test"],
                    "--from", "bob@example.test", "--to", "bob@example.test")
    assert rc != 0, out
    assert re.search(r"<~?\*+ 553 5\.7\.1", out), out


# ---------------------------------------------------------------- openssl s_client


class SClient:
    """`openssl s_client` driven line by line (one command, then its reply),
    so nothing is pipelined where SMTP says to wait."""

    def __init__(self, srv, door, *extra):
        args = ["openssl", "s_client", "-connect", "%s:%d" % (HOST, srv.port(door)),
                "-brief", "-nocommands", "-verify_return_error", "-CAfile", srv.certs.ca,
                "-verify_hostname", "localhost", "-servername", "localhost", *extra]
        if srv.doors[door] != "submissions":
            args += ["-starttls", "smtp"]
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.buf = b""
        self.err = b""

    def _read(self, deadline):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("s_client: no reply; stderr: %r" % self.err)
            r, _, _ = select.select([self.p.stdout, self.p.stderr], [], [], left)
            if self.p.stderr in r:
                chunk = os.read(self.p.stderr.fileno(), 65536)
                self.err += chunk
            if self.p.stdout in r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    raise EOFError("s_client ended; stderr: %r" % self.err.decode(errors="replace"))
                self.buf += chunk
                return

    def reply(self, timeout=20):
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            while b"\n" not in self.buf:
                self._read(deadline)
            ln, self.buf = self.buf.split(b"\n", 1)
            ln = ln.rstrip(b"\r").decode(errors="replace")
            lines.append(ln)
            if re.match(r"^\d{3} ", ln):
                return int(ln[:3]), lines

    def cmd(self, line):
        self.p.stdin.write(line.encode() + b"\r\n")
        self.p.stdin.flush()
        return self.reply()

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(timeout=5)
        self.err += self.p.stderr.read() or b""
        return self.err.decode(errors="replace")


def s_client_send(srv, door, user, rcpt, marker, *extra):
    sc = SClient(srv, door, *extra)
    try:
        if srv.doors[door] == "submissions":
            code, lines = sc.reply()
            assert code == 220, lines
        code, lines = sc.cmd("EHLO client.example.test")
        assert code == 250, lines
        if user:
            b = base64.b64encode(("\0%s\0%s" % (user, srv.users[user])).encode()).decode()
            code, lines = sc.cmd("AUTH PLAIN " + b)
            assert code == 235, lines
        frm = user or "someone@remote.test"
        assert sc.cmd("MAIL FROM:<%s>" % frm)[0] == 250
        assert sc.cmd("RCPT TO:<%s>" % rcpt)[0] == 250
        assert sc.cmd("DATA")[0] == 354
        sc.p.stdin.write(("Subject: s_client %s\r\n\r\nvia openssl\r\n..dot\r\n" % marker).encode())
        code, lines = sc.cmd(".")
        assert code == 250, lines
        assert sc.cmd("QUIT")[0] == 221
    finally:
        err = sc.close()
    return err


@pytest.mark.parametrize("door,user", [("submission", "alice@example.test"),
                                       ("fallback", "bob@example.test"),
                                       ("submissions", "alice@example.test"),
                                       ("smtp", None)])
def test_openssl_s_client_delivers(server, door, user):
    m = token()
    err = s_client_send(server, door, user, "carol@second.test", m)
    assert "Verification: OK" in err, err
    got = server.wait_mail("carol@second.test", m)
    assert got
    assert got[0].endswith(b"via openssl\n.dot\n")


def test_openssl_s_client_tls13_reported(server):
    m = token()
    err = s_client_send(server, "submission", "alice@example.test", "bob@example.test", m,
                        "-tls1_3")
    assert re.search(r"Protocol version: TLSv1\.3", err), err
    got = server.wait_mail("bob@example.test", m)
    assert got and b"TLSv1.3" in got[0].split(b"\n\n")[0]


@pytest.mark.parametrize("door", ["submission", "submissions"])
def test_openssl_s_client_tls11_refused(server, door):
    sc = SClient(server, door, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
    try:
        with pytest.raises((EOFError, TimeoutError, BrokenPipeError)):
            code, lines = sc.cmd("EHLO client.example.test")
            # a session that got this far is TLS 1.1: the server accepted it
            pytest.fail("TLS 1.1 session established: %r" % lines)
    finally:
        err = sc.close()
    assert sc.p.returncode != 0, err
