"""Integration fixtures: the real `mailport serve` on loopback ports, real clients.

Every server runs from its own folder under one mkdtemp() root made 0755, so
the server can still enter it after it drops root for its `mailport` account
(which the first server started as root creates). The binary is
$MAILPORT (the test runner sets it), else build-test/mailport in the repo.

After each test the server's log is checked for sanitizer reports and the
process must still be alive (a test that crashed it fails, not the next one).
"""

import base64
import os
import re
import select
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import uuid

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HOST = "127.0.0.1"

# Accounts in every server's users file: address -> password.
USERS = {
    "alice@example.test": "alice-secret-1",
    "bob@example.test": "bob-pw-2",
    "carol@second.test": "carol-pw-3",
}
DOMAINS = ("example.test", "second.test")
SANITIZER_MARKS = ("AddressSanitizer", "runtime error:", "LeakSanitizer")

# Listener names used by the tests -> service.
DEFAULT_DOORS = {
    "smtp": "smtp",
    "submission": "submission",
    "submissions": "submissions",
    "fallback": "submission",  # the 2525 door: same rules as 587
}


# ---------------------------------------------------------------- basics


def binary_path():
    path = os.environ.get("MAILPORT") or os.path.join(REPO, "build-test", "mailport")
    return os.path.abspath(path)


def token():
    """A unique marker for one message."""
    return "t" + uuid.uuid4().hex[:16]


def read_text(path):
    """A log file's text so far; empty while the program has not made it."""
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def poll(fn, timeout=10.0, done=bool, interval=0.05):
    """Calls fn until done(its value) holds or timeout seconds have passed;
    returns the last value either way, so the caller's own assertion says
    what was missing."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def wait_for(predicate, timeout=10.0, what="the condition", interval=0.05):
    """Waits until predicate() is truthy and returns its value; after timeout
    seconds fails the test, naming `what` it waited for."""
    value = poll(predicate, timeout, interval=interval)
    if not value:
        raise AssertionError("gave up after %.1f s waiting for %s" % (timeout, what))
    return value


def read_folder(d):
    """{name: bytes} of the regular files in folder d; empty if d is missing.
    A file removed while being listed is left out (the server moves them)."""
    out = {}
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        return out
    for n in names:
        p = os.path.join(d, n)
        try:
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    out[n] = f.read()
        except FileNotFoundError:
            pass
    return out


class MaildirReader:
    """find_mail and wait_mail for a mail system whose delivered(address)
    gives {filename: bytes} of an address's Maildir."""

    mail_timeout = 10.0

    def find_mail(self, address, marker):
        if isinstance(marker, str):
            marker = marker.encode()
        return [v for v in self.delivered(address).values() if marker in v]

    def wait_mail(self, address, marker, timeout=None, count=1):
        """Polls until `count` delivered files contain marker; returns those
        found (possibly fewer, after timeout)."""
        return poll(lambda: self.find_mail(address, marker),
                    self.mail_timeout if timeout is None else timeout,
                    done=lambda found: len(found) >= count)


def ipv6_loopback_ok():
    """Whether this machine can listen on ::1 (some CI containers cannot)."""
    if not socket.has_ipv6:
        return False
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def can_connect(port, host=HOST):
    """Whether something accepts a TCP connection on host:port now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


_used_ports = set()


def free_port():
    """A free TCP port on 127.0.0.1, never handed out twice in this run."""
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((HOST, 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise RuntimeError("no free port")


def run(cmd, *, input=None, timeout=30, check=True):
    p = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(
            "%s failed (%d):\n%s\n%s"
            % (" ".join(cmd), p.returncode, p.stdout.decode(errors="replace"),
               p.stderr.decode(errors="replace"))
        )
    return p


@pytest.fixture(scope="session")
def mailport_bin():
    path = binary_path()
    if not os.access(path, os.X_OK):
        pytest.fail("mailport binary not found or not executable at %s "
                    "(set MAILPORT to the built binary)" % path)
    return path


@pytest.fixture(scope="session")
def workroot():
    root = tempfile.mkdtemp(prefix="mailport-it-")
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def new_dir(root, prefix):
    d = tempfile.mkdtemp(prefix=prefix, dir=root)
    os.chmod(d, 0o755)
    return d


# ---------------------------------------------------------------- certificates


class Certs:
    """A root CA, an intermediate CA and two leaf certificates for localhost/127.0.0.1/::1.

    The chain files hold leaf + intermediate; clients trust only the root, so a
    server that does not send the chain from its config fails verification.
    """

    def __init__(self, d):
        self.dir = d
        self.ca = os.path.join(d, "ca.pem")
        self.chain_a = os.path.join(d, "chain-a.pem")
        self.key_a = os.path.join(d, "key-a.pem")
        self.leaf_a = os.path.join(d, "leaf-a.pem")
        self.chain_b = os.path.join(d, "chain-b.pem")
        self.key_b = os.path.join(d, "key-b.pem")
        self.leaf_b = os.path.join(d, "leaf-b.pem")
        self.cn_a = "localhost"
        self.cn_b = "localhost-reloaded"

    def client_context(self, *, minimum=None, maximum=None, ciphers=None):
        ctx = ssl.create_default_context(cafile=self.ca)
        if minimum is not None:
            ctx.minimum_version = minimum
        if maximum is not None:
            ctx.maximum_version = maximum
        if ciphers is not None:
            ctx.set_ciphers(ciphers)
        return ctx


def make_certs(d):
    c = Certs(d)

    def o(*args):
        p = subprocess.run(["openssl", *args], cwd=d, capture_output=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("openssl %s: %s" % (" ".join(args), p.stderr.decode()))

    with open(os.path.join(d, "ca.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:TRUE\n"
                "keyUsage=critical,keyCertSign,cRLSign\n"
                "subjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid\n")
    with open(os.path.join(d, "leaf.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                "subjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid\n")
    o("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
      "-days", "30", "-subj", "/CN=mailport test root CA",
      "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    o("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "int.key", "-out", "int.csr",
      "-subj", "/CN=mailport test intermediate CA")
    o("x509", "-req", "-in", "int.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
      "-CAcreateserial", "-out", "int.pem", "-days", "30", "-extfile", "ca.ext")
    for tag, cn in (("a", c.cn_a), ("b", c.cn_b)):
        # RSA leaves, so that RSA key exchange and CBC suites would be possible
        # if the server allowed them (the cipher test relies on that).
        o("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key-%s.pem" % tag,
          "-out", "leaf-%s.csr" % tag, "-subj", "/CN=%s" % cn)
        o("x509", "-req", "-in", "leaf-%s.csr" % tag, "-CA", "int.pem", "-CAkey", "int.key",
          "-CAcreateserial", "-out", "leaf-%s.pem" % tag, "-days", "30",
          "-extfile", "leaf.ext")
        with open(os.path.join(d, "chain-%s.pem" % tag), "w") as f:
            f.write(open(os.path.join(d, "leaf-%s.pem" % tag)).read())
            f.write(open(os.path.join(d, "int.pem")).read())
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)
    return c


@pytest.fixture(scope="session")
def certs(workroot):
    return make_certs(new_dir(workroot, "certs-"))


# ---------------------------------------------------------------- password hashes

_hash_cache = {}


def hash_password(binary, password):
    """Hash with `mailport passwd` (the product path); fall back to crypt(3) via
    Python so that other tests can still run (test_passwd_* checks the command)."""
    if password in _hash_cache:
        return _hash_cache[password]
    h = None
    try:
        p = subprocess.run([binary, "passwd"], input=(password + "\n").encode(),
                           capture_output=True, timeout=30)
        out = p.stdout.decode(errors="replace").strip().splitlines()
        if p.returncode == 0 and out and out[-1].startswith("$"):
            h = out[-1].strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    if h is None:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
    _hash_cache[password] = h
    return h


# ---------------------------------------------------------------- the server


class Server(MaildirReader):
    """One `mailport serve` process with its own folder, config and ports."""

    def __init__(self, binary, root, certs, *, doors=None, tls=True, limits=None,
                 extra=(), users=None, run_user=None, name="srv", env=None, prefix=()):
        self.binary = binary
        self.certs = certs
        self.dir = new_dir(root, name + "-")
        self.conf = os.path.join(self.dir, "mailport.conf")
        self.spool = os.path.join(self.dir, "spool")
        self.mail = os.path.join(self.dir, "mail")
        self.doors = dict(DEFAULT_DOORS if doors is None else doors)
        self.ports = {n: free_port() for n in self.doors}
        self.hosts = {n: HOST for n in self.doors}  # a test may set one to "::1"
        self.users = dict(USERS if users is None else users)
        self.limits = dict(limits or {})
        self.extra = list(extra)
        self.run_user = run_user
        self.tls = tls
        self.env = dict(env or {})
        self.prefix = list(prefix)  # a command that execs the server, e.g. prlimit
        self.proc = None
        self.logs = []          # one log file per start
        self.exit_codes = []    # exit code of each stopped process
        self.sanitizer_reported = 0  # log length already checked
        self.expect_exit = False     # a test that wants the process to fail sets this
        self.test_start = 0          # log offset where the current test began
        if tls:
            # Copies, so a test may replace them (SIGHUP reload) without
            # touching the session's certificates.
            self.cert = os.path.join(self.dir, "cert.pem")
            self.key = os.path.join(self.dir, "key.pem")
            shutil.copy(certs.chain_a, self.cert)
            shutil.copy(certs.key_a, self.key)
            os.chmod(self.cert, 0o644)
            # Readable after the privilege drop, for reloads; the server warns
            # that other accounts can read it (test_privileges checks the warning).
            os.chmod(self.key, 0o644)
        self.write_users()
        self.write_config()

    # -- files

    def write_users(self):
        with open(os.path.join(self.dir, "users"), "w") as f:
            for addr, pw in self.users.items():
                f.write("%s:%s\n" % (addr, hash_password(self.binary, pw)))
        os.chmod(os.path.join(self.dir, "users"), 0o644)

    def config_text(self):
        lines = ["# mailport integration test server",
                 "hostname mx.example.test"]
        lines += ["domain %s" % d for d in DOMAINS]
        lines += ["users users", "spool spool", "mailboxes mail"]
        if self.tls:
            lines.append("tls cert.pem key.pem")
        for n, svc in self.doors.items():
            h = self.hosts.get(n, HOST)
            h = "[%s]" % h if ":" in h else h
            lines.append("listen %s:%d %s" % (h, self.ports[n], svc))
        if self.run_user:
            lines.append("user %s" % self.run_user)
        for k, v in self.limits.items():
            lines.append("%s %s" % (k, v))
        # Outbound delivery asks DNS about remote domains: keep it on loopback.
        # Nothing listens on port 9, so lookups fail at once and remote mail
        # stays queued (deferred) unless a test brings its own resolver.
        if not any(x.split()[:1] == ["resolver"] for x in self.extra):
            lines.append("resolver 127.0.0.1:9")
        # With that resolver every DMARC lookup fails, which dmarc-policy
        # enforce answers with 451 (auth_check.h); tests about other things
        # get the verdict in Authentication-Results only. The mail
        # authentication tests set their own policy and resolver.
        if not any(x.split()[:1] == ["dmarc-policy"] for x in self.extra):
            lines.append("dmarc-policy report-only")
        lines += list(self.extra)
        return "\n".join(lines) + "\n"

    def add_door(self, name, service, host=HOST):
        """One more listener (host "::1" for IPv6) on a free port; its port."""
        self.doors[name] = service
        self.ports[name] = free_port()
        self.hosts[name] = host
        self.write_config()
        return self.ports[name]

    def write_config(self):
        with open(self.conf, "w") as f:
            f.write(self.config_text())
        os.chmod(self.conf, 0o644)

    # -- process

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait=True):
        assert not self.alive()
        log = os.path.join(self.dir, "log%d.txt" % len(self.logs))
        self.logs.append(log)
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        env.update(self.env)
        with open(log, "wb") as lf:
            self.proc = subprocess.Popen(self.prefix + [self.binary, "serve", "-c", self.conf],
                                         stdin=subprocess.DEVNULL, stdout=lf, stderr=lf,
                                         cwd=self.dir)
        if wait:
            self.wait_ready()
        return self

    def current_log(self):
        with open(self.logs[-1], "rb") as f:
            return f.read().decode(errors="replace")

    def log_text(self):
        out = []
        for p in self.logs:
            with open(p, "rb") as f:
                out.append(f.read().decode(errors="replace"))
        return "".join(out)

    def wait_ready(self, timeout=10.0):
        """Ready when every listener logged event=listening; as a fallback
        (after 1 s), when every port accepts a connection."""
        n = len(self.doors)
        t0 = time.monotonic()
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("mailport exited with %s while starting:\n%s"
                                     % (self.proc.returncode, self.current_log()[-4000:]))
            if self.current_log().count("event=listening") >= n:
                return
            if time.monotonic() - t0 > 1.0 and all(
                    can_connect(self.ports[n], self.hosts.get(n, HOST)) for n in self.doors):
                return
            time.sleep(0.05)
        raise AssertionError("mailport not ready after %.0f s:\n%s"
                             % (timeout, self.current_log()[-4000:]))

    def wait_log(self, pattern, timeout=10.0, since=0):
        """Wait until the concatenated log matches regex pattern (after offset
        since); returns the match, or None after timeout."""
        return poll(lambda: re.search(pattern, self.log_text()[since:]), timeout)

    def log_size(self):
        return len(self.log_text())

    def sessions_open(self):
        """Sessions of the running process that have not logged their end
        (each session logs one event=connect and one event=disconnect)."""
        text = self.current_log()
        return text.count(" event=connect ") - text.count(" event=disconnect ")

    def wait_sessions_closed(self, timeout=10.0):
        """Until every session so far has ended, readiness probes included."""
        wait_for(lambda: self.sessions_open() == 0, timeout,
                 "every session to log event=disconnect:\n" + self.current_log()[-2000:])

    def unsettled(self, since=0):
        """Queue ids accepted or queued as bounces after log offset since that
        the server may still act on: neither removed (every local copy
        delivered) nor through an outbound attempt."""
        text = self.log_text()
        ids = re.findall(r"\bid=(\w+) event=accepted\b|\bevent=bounce bounce_id=(\w+)",
                         text[since:])
        return [q for q in (a or b for a, b in ids)
                if not re.search(r"\bid=%s event=(removed|delivery)\b" % q, text)]

    def wait_settled(self, since=None, timeout=10.0):
        """Until every message accepted after log offset since is settled (see
        unsettled): from then on a check that something was not delivered is
        final, with no sleep to guess how long delivery takes. since defaults
        to where the current test began."""
        since = self.test_start if since is None else since
        left = poll(lambda: self.unsettled(since), timeout, done=lambda ids: not ids)
        if left:
            raise AssertionError("accepted messages %s not delivered nor tried after %.0f s:\n%s"
                                 % (left, timeout, self.log_text()[-3000:]))

    def stop(self, timeout=10.0):
        """SIGTERM, wait; returns the exit code (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.exit_codes.append("killed")
            raise AssertionError("mailport did not exit within %.0f s of SIGTERM" % timeout)
        self.exit_codes.append(code)
        return code

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def sighup(self):
        self.proc.send_signal(signal.SIGHUP)

    def restart(self):
        if self.alive():
            self.stop()
        return self.start()

    def sanitizer_problems(self, since=0):
        text = self.log_text()[since:]
        hits = [m for m in SANITIZER_MARKS if m in text]
        if not hits:
            return None
        i = min(text.index(m) for m in hits)
        return text[max(0, i - 500): i + 3000]

    # -- mailboxes and spool

    def maildir(self, address):
        local, domain = address.lower().split("@")
        local = local.split("+")[0]
        return os.path.join(self.mail, domain, local)

    def delivered(self, address):
        """{filename: bytes} of the files in the address's Maildir new/."""
        return read_folder(os.path.join(self.maildir(address), "new"))

    def queue_files(self):
        return read_folder(os.path.join(self.spool, "queue"))

    def wait_queue(self, marker, timeout=10.0):
        if isinstance(marker, str):
            marker = marker.encode()
        return poll(lambda: {k: v for k, v in self.queue_files().items() if marker in v},
                    timeout)

    # -- client helpers

    def port(self, door):
        return self.ports[door]


def finish_server(srv, since=0):
    """Stop and collect problems: sanitizer output, a crash."""
    problems = []
    was_alive = srv.alive()
    if (srv.proc is not None and not was_alive and not srv.expect_exit
            and srv.proc.returncode not in (0, None, -9)):
        problems.append("mailport had died with exit status %s" % srv.proc.returncode)
    try:
        srv.stop()
    except AssertionError as e:
        problems.append(str(e))
    rep = srv.sanitizer_problems(since)
    if rep:
        problems.append("sanitizer report in the server log:\n" + rep)
    return problems


@pytest.fixture
def make_server(mailport_bin, workroot, certs):
    """Factory: make_server(limits={...}, doors={...}, tls=False, start=True)."""
    made = []

    def factory(start=True, **kw):
        srv = Server(mailport_bin, workroot, certs, **kw)
        made.append(srv)
        if start:
            srv.start()
        return srv

    yield factory
    problems = []
    for srv in made:
        problems += finish_server(srv)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def shared_server(mailport_bin, workroot, certs):
    srv = Server(mailport_bin, workroot, certs, name="shared")
    srv.start()
    yield srv
    problems = finish_server(srv, since=srv.sanitizer_reported)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def server(shared_server):
    """The module's server with default config; the test fails if it crashed
    the server or a sanitizer reported during it."""
    srv = shared_server
    if not srv.alive():
        srv.start()
    mark = srv.test_start = srv.log_size()
    yield srv
    problems = []
    if not srv.alive():
        problems.append("mailport died during this test (exit status %s):\n%s"
                        % (srv.proc.returncode, srv.log_text()[mark:][-3000:]))
    rep = srv.sanitizer_problems(mark)
    srv.sanitizer_reported = srv.log_size()
    if rep:
        problems.append("sanitizer report in the server log:\n" + rep)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# ---------------------------------------------------------------- a raw SMTP client


class Reply:
    def __init__(self, code, lines):
        self.code = code
        self.lines = lines  # texts after "ddd-" / "ddd "

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def enhanced(self):
        m = re.match(r"^([245]\.\d{1,3}\.\d{1,3})\b", self.lines[-1] if self.lines else "")
        return m.group(1) if m else None

    def __repr__(self):
        return "Reply(%d, %r)" % (self.code, self.lines)


class Closed(Exception):
    pass


class Conn:
    """A raw SMTP connection: bytes in, parsed replies out, no cleverness."""

    def __init__(self, port, *, host=HOST, timeout=10.0, tls_ctx=None, greet=True):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""
        self.tls = False
        if tls_ctx is not None:
            self.sock = tls_ctx.wrap_socket(self.sock, server_hostname="localhost")
            self.tls = True
        self.greeting = self.reply() if greet else None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError) as e:
            raise Closed(repr(e))
        if not chunk:
            raise Closed("EOF")
        self.buf += chunk

    def line(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b"\r\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no reply line")
            self._fill(left)
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln.decode("utf-8", errors="replace")

    def reply(self, timeout=None):
        lines = []
        while True:
            ln = self.line(timeout)
            m = re.match(r"^(\d{3})([ -])(.*)$", ln)
            if not m:
                raise AssertionError("malformed reply line %r" % ln)
            lines.append(m.group(3))
            if m.group(2) == " ":
                return Reply(int(m.group(1)), lines)

    def cmd(self, line, timeout=None):
        self.send(line + "\r\n")
        return self.reply(timeout)

    def replies_until_quiet(self, quiet=1.5, limit=20):
        """Every reply that arrives until nothing comes for `quiet` seconds or EOF."""
        out = []
        for _ in range(limit):
            try:
                out.append(self.reply(timeout=quiet))
            except (socket.timeout, Closed):
                break
        return out

    def closed(self, timeout=5.0):
        """True if the peer closes (EOF/reset) within timeout; data received
        meanwhile is kept in self.buf."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self._fill(left)
            except Closed:
                return True
            except socket.timeout:
                return False
            except OSError:
                return True

    def ehlo(self, name="client.example.test"):
        r = self.cmd("EHLO " + name)
        assert r.code == 250, r
        return r

    def starttls(self, ctx, server_hostname="localhost"):
        r = self.cmd("STARTTLS")
        assert r.code == 220, r
        assert self.buf == b"", "bytes after the 220 to STARTTLS, before TLS: %r" % self.buf
        self.sock.settimeout(self.timeout)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)
        self.tls = True
        return r

    def auth_plain(self, user, password):
        b = base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()
        return self.cmd("AUTH PLAIN " + b)

    def auth_login(self, user, password):
        r = self.cmd("AUTH LOGIN")
        if r.code != 334:
            return r
        r = self.cmd(base64.b64encode(user.encode()).decode())
        if r.code != 334:
            return r
        return self.cmd(base64.b64encode(password.encode()).decode())


def caps(reply):
    """EHLO keywords -> full line (upper-cased keyword)."""
    out = {}
    for ln in reply.lines[1:]:
        parts = ln.split()
        if parts:
            out[parts[0].upper()] = ln
    return out


def message(marker, *, frm="alice@example.test", to="alice@example.test", body=None,
            subject=None):
    """An RFC 5322 message as a CRLF-ended str, carrying marker in Subject and Message-ID."""
    subject = subject or ("test " + marker)
    body = body if body is not None else "hello " + marker + "\r\n"
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@client.example.test>\r\n"
            "\r\n%s" % (frm, to, subject, marker, body))


def send_raw_message(conn, frm, rcpts, data_bytes):
    """MAIL/RCPT/DATA one step at a time; data_bytes must already be dot-stuffed
    and end with CRLF . CRLF. Returns the final reply."""
    r = conn.cmd("MAIL FROM:<%s>" % frm)
    assert r.code == 250, r
    for rc in rcpts:
        r = conn.cmd("RCPT TO:<%s>" % rc)
        assert r.code == 250, r
    r = conn.cmd("DATA")
    assert r.code == 354, r
    conn.send(data_bytes)
    return conn.reply()


def tls_conn(srv, door="submission", ctx=None):
    """A raw connection on a submission door with TLS up (implicit on
    submissions, else STARTTLS), after its EHLO."""
    ctx = ctx or srv.certs.client_context()
    if srv.doors[door] == "submissions":
        c = Conn(srv.port(door), tls_ctx=ctx)
    else:
        c = Conn(srv.port(door))
        c.ehlo()
        c.starttls(ctx)
    assert c.greeting is None or c.greeting.code == 220
    c.ehlo()
    return c


def login_conn(srv, door="submission", user="alice@example.test", ctx=None):
    """A raw connection on a submission door, TLS up and authenticated."""
    c = tls_conn(srv, door, ctx)
    r = c.auth_plain(user, srv.users[user])
    assert r.code == 235, r
    return c


def smtp_client(srv, door, *, ctx=None, starttls=True, login=None, method=None, timeout=15):
    """An smtplib client on the door (SMTP_SSL on submissions, else STARTTLS
    unless starttls=False), optionally logged in with AUTH `method`."""
    ctx = ctx or srv.certs.client_context()
    svc = srv.doors[door]
    if svc == "submissions":
        s = smtplib.SMTP_SSL(HOST, srv.port(door), context=ctx, timeout=timeout)
    else:
        s = smtplib.SMTP(HOST, srv.port(door), timeout=timeout)
        if starttls:
            s.starttls(context=ctx)
    s.ehlo("client.example.test")
    if login:
        s.user, s.password = login, srv.users[login]
        if method == "PLAIN":
            code, resp = s.auth("PLAIN", s.auth_plain)
        elif method == "LOGIN":
            code, resp = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        else:
            code, resp = s.login(login, srv.users[login])
        assert code == 235, (code, resp)
    return s


def header_block(data):
    """The header section of a delivered file (bytes -> str), unfolded lines list."""
    text = data.decode("utf-8", errors="replace")
    head = text.split("\n\n", 1)[0]
    lines = []
    for ln in head.split("\n"):
        if ln[:1] in (" ", "\t") and lines:
            lines[-1] += " " + ln.strip()
        else:
            lines.append(ln)
    return lines


def full_listener(ip, port):
    """A listener that never accepts, its queue full: further SYNs are dropped,
    so a client's connect times out, as behind a filtering firewall."""
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind((ip, port))
    lst.listen(0)
    fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect((ip, port))
        except BlockingIOError:
            pass
        fillers.append(c)
    # Full once a filler's handshake completed (the queue holds one): the
    # others, and the client under test, then wait on SYNs that go unanswered.
    wait_for(lambda: select.select([], fillers, [], 0.05)[1], 5,
             "a connection in the full listener's queue")
    return lst, fillers


def close_all(lst, fillers):
    for c in fillers:
        c.close()
    lst.close()


def stop_process(proc, timeout=10.0):
    """SIGTERM a helper process (dnsmasq, smtp-sink ...), SIGKILL it if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
