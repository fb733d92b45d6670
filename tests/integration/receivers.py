"""Receiving SMTP servers for the outbound tests, each on port 25 of its own
loopback address (127.0.25.X), where MX delivery connects.

`Receiver`: a scriptable Python receiver built on aiosmtpd (Debian
python3-aiosmtpd) that records every message it accepts:

    rx = make_receiver(tls=True, temp_fail_rcpt=2, reject={"bad@r.test": "550 5.1.1 no"},
                       data_delay=5)
    rx.ip                    # "127.0.25.N"; point an A record at it
    rx.wait_messages(marker) # [Received(...)] with mail_from, rcpt_tos, data, tls, ...
    rx.rcpt_log              # every RCPT seen: (address, reply code)
    rx.connections, rx.peak_connections, rx.transactions, rx.rsets, rx.peak_busy()
    rx.conn_log              # (connection number, "MAIL"/"RCPT addr"/"RSET") in order
    rx.max_in_data           # the most DATA transactions open at once

`requiretls=True` offers REQUIRETLS (RFC 8689) after STARTTLS and takes the
MAIL parameter there (recorded: "REQUIRETLS" in Received.mail_options).

`refuse_after=N` answers 421 to the MAIL after N transactions of a connection
and closes it; `hangup_after=N` closes it silently after the Nth RSET.

`SmtpSink`: Postfix's smtp-sink (a third-party receiver), dumping every
transaction into its own file: sink.wait_messages(marker) -> [bytes].

Both need root (port 25); the factories skip otherwise. Addresses are handed
out once per test run (next_ip), so no two receivers share one.
"""

import asyncio
import os
import random
import shutil
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
import pwd

import pytest

from conftest import can_connect, poll, read_text, stop_process

SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"

_used = set()
_rng = random.Random("%d-%f" % (os.getpid(), time.time()))


def _bindable(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def next_ip(net="127.0.25", ports=(25,)):
    """A loopback address of net (127.0.25.X) not handed out before in this
    process, where nothing holds the given ports now: another test run on the
    same machine picks other addresses (random start, bind check)."""
    start = _rng.randrange(2, 255)
    for i in range(253):
        ip = "%s.%d" % (net, 2 + (start - 2 + i) % 253)
        if ip in _used:
            continue
        if all(_bindable(ip, p) for p in ports):
            _used.add(ip)
            return ip
    raise RuntimeError("no free loopback address in %s.0/24" % net)


def require_root():
    if os.geteuid() != 0:
        pytest.skip("receivers listen on port 25 of 127.0.25.X: needs root")


# ---------------------------------------------------------------- aiosmtpd


class Received:
    """One message accepted by a Receiver."""

    def __init__(self, mail_from, rcpt_tos, data, tls_version, helo, mail_options, conn=0,
                 peer=None):
        self.mail_from = mail_from
        self.rcpt_tos = list(rcpt_tos)
        self.data = data
        self.tls_version = tls_version   # "TLSv1.3" etc., None in the clear
        self.tls = tls_version is not None
        self.helo = helo
        self.mail_options = list(mail_options)
        self.conn = conn                 # which connection of the receiver carried it
        self.peer = peer                 # the client's IP address
        self.time = time.monotonic()

    def __repr__(self):
        return "Received(from=%r, to=%r, tls=%r, %d bytes)" % (
            self.mail_from, self.rcpt_tos, self.tls_version, len(self.data))


def _smtp_class():
    from aiosmtpd.smtp import SMTP

    class CountingSMTP(SMTP):
        """Counts connections (a STARTTLS upgrade calls connection_made again
        on the same object: counted once)."""

        def __init__(self, rx, *a, **kw):
            super().__init__(*a, **kw)
            self.rx = rx
            self.conn_no = 0
            self.transactions = 0

        def connection_made(self, transport):
            first = self.conn_no == 0
            super().connection_made(transport)
            if first:
                with self.rx.lock:
                    self.rx.connections += 1
                    self.conn_no = self.rx.connections
                    self.rx.open_now += 1
                    self.rx.peak_connections = max(self.rx.peak_connections,
                                                   self.rx.open_now)

        async def smtp_MAIL(self, arg):
            # aiosmtpd knows no REQUIRETLS: take it off the line here, after
            # STARTTLS only (in the clear it stays, and aiosmtpd answers 555).
            words = (arg or "").split()
            rtls = (self.rx.requiretls and self._tls_protocol is not None
                    and any(w.upper() == "REQUIRETLS" for w in words[1:]))
            if rtls:
                arg = " ".join([words[0]] + [w for w in words[1:] if w.upper() != "REQUIRETLS"])
            await super().smtp_MAIL(arg)
            if rtls and self.envelope.mail_from is not None:
                self.envelope.mail_options.append("REQUIRETLS")

        def connection_lost(self, error):
            if self.conn_no > 0:
                with self.rx.lock:
                    self.rx.open_now -= 1
                self.conn_no = -self.conn_no  # counted once
            super().connection_lost(error)

    return CountingSMTP


def _controller_class():
    from aiosmtpd.controller import Controller

    class CountingController(Controller):
        def __init__(self, rx, *a, **kw):
            self.rx = rx
            super().__init__(*a, **kw)

        def factory(self):
            return _smtp_class()(self.rx, self.handler, **self.SMTP_kwargs)

    return CountingController


def _close_soon(server):
    # After the reply already written: close() flushes it, then FIN.
    asyncio.get_running_loop().call_soon(server.transport.close)


class _Handler:
    def __init__(self, rx):
        self.rx = rx

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        rx = self.rx
        server.transactions += 1
        with rx.lock:
            rx.transactions += 1
            rx.conn_log.append((abs(server.conn_no), "MAIL"))
            refuse = rx.refuse_after and server.transactions > rx.refuse_after
            later = rx.temp_fail_mail > 0
            rx.temp_fail_mail -= later
        if later:
            return "451 4.3.2 Try again later (scripted)"
        if refuse:
            _close_soon(server)
            return "421 4.7.0 Too many transactions on one connection, closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.rx.requiretls and session.ssl is not None:
            responses.insert(len(responses) - 1, "250-REQUIRETLS")
        return responses

    async def handle_RSET(self, server, session, envelope):
        rx = self.rx
        with rx.lock:
            rx.rsets += 1
            rx.conn_log.append((abs(server.conn_no), "RSET"))
        if rx.hangup_after and server.transactions >= rx.hangup_after:
            _close_soon(server)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        rx = self.rx
        with rx.lock:
            rx.conn_log.append((abs(server.conn_no), "RCPT " + address))
            reply = None
            if address.lower() in rx.reject:
                reply = rx.reject[address.lower()]
            elif rx.temp_fail_rcpt > 0:
                rx.temp_fail_rcpt -= 1
                reply = "451 4.3.0 Try again later (scripted)"
            else:
                envelope.rcpt_tos.append(address)
                envelope.rcpt_options.extend(rcpt_options)
                reply = "250 2.1.5 OK"
            rx.rcpt_log.append((address, int(reply[:3])))
        return reply

    async def handle_DATA(self, server, session, envelope):
        rx = self.rx
        with rx.lock:
            rx.data_started += 1
            rx.in_data += 1
            rx.max_in_data = max(rx.max_in_data, rx.in_data)
        try:
            if rx.data_delay:
                # A slow receiver is what such a test asks for, not a wait.
                await asyncio.sleep(rx.data_delay)
        finally:
            with rx.lock:
                rx.in_data -= 1
        with rx.lock:
            rx.data_attempts += 1
            if rx.temp_fail_data > 0:
                rx.temp_fail_data -= 1
                return "451 4.3.0 Try again later (scripted)"
            version = None
            if session.ssl is not None:
                obj = session.ssl.get("ssl_object")
                version = obj.version() if obj is not None else "TLS"
            data = envelope.original_content or envelope.content or b""
            if isinstance(data, str):
                data = data.encode("utf-8", errors="surrogateescape")
            rx.messages.append(Received(envelope.mail_from, envelope.rcpt_tos, data, version,
                                        session.host_name, envelope.mail_options,
                                        abs(server.conn_no),
                                        session.peer[0] if session.peer else None))
        return "250 2.0.0 OK: recorded"


class Receiver:
    """aiosmtpd on ip:25. Options: tls (offer STARTTLS with the test CA's
    leaf), temp_fail_mail / temp_fail_rcpt / temp_fail_data (451 to the first N), reject
    {address: full reply}, data_delay (seconds to sleep before the reply to
    the end of DATA), idle_timeout (seconds before an idle connection is
    dropped)."""

    def __init__(self, certs=None, *, ip=None, port=25, tls=False, temp_fail_rcpt=0,
                 temp_fail_data=0, reject=None, data_delay=0, hostname=None,
                 refuse_after=0, hangup_after=0, idle_timeout=300, temp_fail_mail=0,
                 requiretls=False):
        Controller = _controller_class()  # Debian python3-aiosmtpd

        self.ip = ip or next_ip(ports=(port,))
        self.port = port
        self.tls = tls
        self.temp_fail_rcpt = temp_fail_rcpt
        self.temp_fail_data = temp_fail_data
        self.temp_fail_mail = temp_fail_mail
        self.reject = {k.lower(): v for k, v in (reject or {}).items()}
        self.data_delay = data_delay
        self.requiretls = requiretls
        self.lock = threading.Lock()
        self.messages = []
        self.rcpt_log = []
        self.data_started = 0   # DATA transactions that reached the end of data
        self.data_attempts = 0  # ... and were answered (after data_delay)
        self.refuse_after = refuse_after
        self.hangup_after = hangup_after
        self.connections = 0       # opened, ever
        self.open_now = 0
        self.peak_connections = 0  # open at the same time, at most
        self.transactions = 0      # MAIL commands
        self.rsets = 0
        self.conn_log = []
        self.in_data = 0
        self.max_in_data = 0       # DATA transactions open at once, at most
        ctx = None
        if tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(certs.chain_a, certs.key_a)
        self.controller = Controller(self, _Handler(self), hostname=self.ip, port=port,
                                     server_hostname=hostname or "rx-%s.test" % self.ip,
                                     tls_context=ctx, require_starttls=False,
                                     enable_SMTPUTF8=True, decode_data=False,
                                     ready_timeout=10, timeout=idle_timeout)

    def start(self):
        self.controller.start()
        # The controller's own readiness check connected once: not a client's.
        deadline = time.monotonic() + 5
        while self.open_now and time.monotonic() < deadline:
            time.sleep(0.01)
        with self.lock:
            self.connections = self.peak_connections = 0
            self.conn_log = []
        return self

    def stop(self):
        try:
            self.controller.stop()
        except (AssertionError, RuntimeError):
            pass

    def peak_busy(self):
        """The most connections in the middle of their dialogue at once: each
        counts from its first command to its last in conn_log, whose order is
        the order the server handled them. Unlike open sockets, this does not
        lag behind the client: a client that waits for the last reply on one
        connection before it uses the next one is never counted twice."""
        with self.lock:
            log = list(self.conn_log)
        span = {}
        for i, (conn, _) in enumerate(log):
            span[conn] = (span.get(conn, (i, i))[0], i)
        edges = sorted([(a, 1) for a, _ in span.values()] + [(b, -1) for _, b in span.values()],
                       key=lambda e: (e[0], -e[1]))
        peak = busy = 0
        for _, step in edges:
            busy += step
            peak = max(peak, busy)
        return peak

    def find(self, marker):
        if isinstance(marker, str):
            marker = marker.encode()
        with self.lock:
            return [m for m in self.messages if marker in m.data]

    def wait_messages(self, marker, timeout=15.0, count=1):
        """Polls until `count` recorded messages contain marker; returns them."""
        return poll(lambda: self.find(marker), timeout, done=lambda found: len(found) >= count)


@pytest.fixture
def make_receiver(certs):
    """Factory: make_receiver(**Receiver options) -> a started Receiver on
    127.0.25.X:25, stopped after the test."""
    require_root()
    pytest.importorskip("aiosmtpd", reason="python3-aiosmtpd is not installed "
                        "(scripts/deps.sh --test installs it)")
    made = []

    def factory(**kw):
        rx = Receiver(certs, **kw)
        made.append(rx)
        return rx.start()

    yield factory
    for rx in made:
        rx.stop()


# ---------------------------------------------------------------- smtp-sink


class SmtpSink:
    """Postfix's smtp-sink on ip:25; every transaction dumped into its own
    file under dump_dir (smtp-sink -d), read back with messages()."""

    def __init__(self, root, *, ip=None, port=25, extra_args=()):
        if not os.access(SMTP_SINK, os.X_OK):
            pytest.skip("smtp-sink is not installed (Debian package postfix)")
        self.ip = ip or next_ip()
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="smtp-sink-", dir=root)
        os.chmod(self.dir, 0o755)
        self.dump_dir = os.path.join(self.dir, "dump")
        os.makedirs(self.dump_dir)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.dump_dir, nobody.pw_uid, nobody.pw_gid)
        self.log = os.path.join(self.dir, "smtp-sink.log")
        self.extra_args = list(extra_args)
        self.proc = None

    def start(self, timeout=10.0):
        cmd = [SMTP_SINK, "-u", "nobody", "-h", "sink-%s.test" % self.ip,
               "-d", os.path.join(self.dump_dir, "%Y%m%d%H%M%S."), *self.extra_args,
               "%s:%d" % (self.ip, self.port), "10"]
        with open(self.log, "ab") as lf:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=lf, stderr=lf)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("smtp-sink exited with %s: %s"
                                     % (self.proc.returncode, self.log_text()[-2000:]))
            if can_connect(self.port, self.ip):
                return self
            time.sleep(0.05)
        self.stop()
        raise AssertionError("smtp-sink not listening on %s:%d" % (self.ip, self.port))

    def log_text(self):
        return read_text(self.log)

    def messages(self):
        """Every dumped transaction (bytes), smtp-sink's X-* headers included."""
        out = []
        for dirpath, _, names in os.walk(self.dump_dir):
            for n in sorted(names):
                try:
                    with open(os.path.join(dirpath, n), "rb") as f:
                        out.append(f.read())
                except FileNotFoundError:
                    pass
        return out

    def wait_messages(self, marker, timeout=15.0, count=1):
        if isinstance(marker, str):
            marker = marker.encode()
        return poll(lambda: [m for m in self.messages() if marker in m], timeout,
                    done=lambda found: len(found) >= count)

    def stop(self):
        stop_process(self.proc)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def make_sink(workroot):
    """Factory: make_sink() -> a started SmtpSink on 127.0.25.X:25."""
    require_root()
    made = []

    def factory(**kw):
        s = SmtpSink(workroot, **kw)
        made.append(s)
        return s.start()

    yield factory
    for s in made:
        s.cleanup()


# ---------------------------------------------------------------- plaintext ESMTP


class PlainHandler(socketserver.StreamRequestHandler):
    """Plaintext ESMTP, no STARTTLS; AUTH offered when the server's
    offer_auth says so, more EHLO keywords from its extensions. Answers 250
    to everything else (so it is an open relay, too); records "connect" and
    every line in the server's seen."""

    def handle(self):
        self.server.seen.append("connect")
        self.wfile.write(b"220 plain.example ESMTP\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            self.server.seen.append(line.decode(errors="replace").strip())
            verb = line[:4].upper()
            if verb == b"EHLO":
                auth = b"250-AUTH PLAIN LOGIN\r\n" if self.server.offer_auth else b""
                more = b"".join(b"250-%s\r\n" % e.encode() for e in self.server.extensions)
                self.wfile.write(b"250-plain.example\r\n" + auth + more + b"250 8BITMIME\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def start_server(handler, host="127.0.0.1", **attrs):
    """A threaded TCP server with handler on host, a free port; attrs set on
    it (seen starts empty). Stop it with shutdown() and server_close()."""
    srv = socketserver.ThreadingTCPServer((host, 0), handler)
    srv.daemon_threads = True
    srv.seen = []
    for k, v in attrs.items():
        setattr(srv, k, v)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv
