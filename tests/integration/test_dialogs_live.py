"""The dialogs of tests/dialogs/*.dlg, over TCP against the live server.

The same files run in process against the protocol core (tests/unit/
test_dialogs.c); here a real socket, the real TLS handshake and the real
spool prove the server behaves as the core promises. Format: see that file.
"""
import fnmatch
import glob
import os
import select
import socket
import ssl
import time

import pytest

from conftest import HOST, REPO, Server

DIALOGS = sorted(glob.glob(os.path.join(REPO, "tests", "dialogs", "*.dlg")))
# The fake world of the in-process runner: same users, same passwords.
DIALOG_USERS = {"alice@example.test": "alice-secret", "bob@example.test": "bob-secret"}


@pytest.fixture(scope="module")
def dialog_server(mailport_bin, workroot, certs):
    srv = Server(mailport_bin, workroot, certs, users=DIALOG_USERS, name="dialogs",
                 extra=["aliases aliases"])
    # The in-process runner's glue says "loop" for loop@: here a real cycle does.
    with open(os.path.join(srv.dir, "aliases"), "w") as f:
        f.write("loop@example.test: loop2@example.test\nloop2@example.test: loop@example.test\n")
    srv.start()
    yield srv
    srv.stop()
    problems = srv.sanitizer_problems()
    assert not problems, problems


def unescape(text):
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "x":
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"r": b"\r", "n": b"\n", "0": b"\0"}.get(n, n.encode())
            i += 2
            continue
        out += c.encode()
        i += 1
    return bytes(out)


class Peer:
    """A client socket that reads CRLF lines with a deadline."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        if data:
            self.sock.sendall(data)

    def _fill(self, deadline):
        while time.monotonic() < deadline:
            if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
                pass
            else:
                ready, _, _ = select.select([self.sock], [], [], max(0, deadline - time.monotonic()))
                if not ready:
                    return False
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                chunk = b""
            if not chunk:
                return None  # closed
            self.buf += chunk
            return True
        return False

    def line(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while b"\r\n" not in self.buf:
            got = self._fill(deadline)
            if not got:
                return None
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def quiet(self, timeout=0.3):
        """Nothing more arrives (None: the server closed)."""
        if self.buf:
            return self.buf.decode("utf-8", "replace")
        got = self._fill(time.monotonic() + timeout)
        return self.buf.decode("utf-8", "replace") if got else ("" if got is False else None)


def door_of(path):
    with open(path) as f:
        for line in f:
            if line.startswith("door "):
                return line.split()[1]
    return "smtp"


@pytest.mark.parametrize("path", DIALOGS, ids=[os.path.basename(p) for p in DIALOGS])
def test_dialog_live(dialog_server, certs, path):
    door = door_of(path)
    ctx = certs.client_context()
    sock = socket.create_connection((HOST, dialog_server.port(door)), timeout=10)
    if door == "submissions":
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
    peer = Peer(sock)
    pending = b""
    where = os.path.basename(path)
    try:
        with open(path) as f:
            lines = f.read().split("\n")
        for no, raw in enumerate(lines, 1):
            at = "%s:%d" % (where, no)
            if not raw or raw.startswith("#") or raw.startswith("door "):
                continue
            if raw.startswith("C:"):
                assert not peer.buf, "%s: unexpected reply %r" % (at, peer.buf)
                pending += raw[3:].encode() + b"\r\n"
            elif raw.startswith("W: "):
                pending += unescape(raw[3:])
            elif raw.startswith("S: "):
                peer.send(pending)
                pending = b""
                got = peer.line()
                assert got is not None, "%s: no reply, expected %r" % (at, raw[3:])
                assert fnmatch.fnmatchcase(got, raw[3:]), \
                    "%s: reply %r does not match %r" % (at, got, raw[3:])
            elif raw == "TLS":
                peer.send(pending)
                pending = b""
                assert peer.quiet() == "", "%s: data before the TLS handshake" % at
                peer.sock = ctx.wrap_socket(peer.sock, server_hostname="localhost")
            elif raw == "CLOSED":
                peer.send(pending)
                pending = b""
                assert peer.quiet(timeout=5) is None, "%s: the server did not close" % at
                return
            else:
                pytest.fail("%s: unknown dialog line %r" % (at, raw))
        peer.send(pending)
        left = peer.quiet()
        assert not left, "%s: unexpected reply at the end: %r" % (where, left)
    finally:
        sock.close()
