#!/usr/bin/python3
"""mailport vs Postfix on loopback: accept rate, latency, idle-connection memory.

Run with `make bench` (as root: the private Postfix instance needs it).

What it does, all on 127.0.0.1, all under one temporary folder:
  * mailport: build/mailport serve with an `smtp` (relay/MX) door for the local
    domain bench.test; the message file is fsynced in its spool before 250,
    then delivered to a Maildir (the script checks every 250 reached it).
  * Postfix: a private instance (tests/integration/peers.py, `postfix -c DIR`),
    its own queue in the temporary folder (the queue file is fsynced before
    250), delivering everything to the discard transport; and for the accept
    rate a second instance that delivers to a Maildir with virtual(8), which
    syncs each file, as mailport does (the like-for-like column).
  * Load: Postfix's smtp-source, one connection per message (its default),
    concurrency 1, 10, 50, 200, messages of 4 KiB and 100 KiB; each figure is
    the median of 3 runs; mailport and Postfix runs alternate.
  * STARTTLS + AUTH with bench/loadgen, with a full handshake each time and
    with TLS session resumption (`loadgen --resume`).
  * Latency of one transaction (connect .. 221) at concurrency 1.
  * Server memory with 1,000 idle connections (both) and 10,000 (mailport;
    Postfix needs one process per connection), plaintext and after TLS
    (STARTTLS, and implicit TLS on mailport's submissions door).
  * mailport's peak RSS while it takes one 34 MiB message (plain, and
    STARTTLS + AUTH) and delivers it.
Everything it started is stopped and the folder removed, also on failure.

Options (environment): BENCH_QUICK=1 for a short smoke run;
BENCH_RUNS (default 3); BENCH_SECONDS (target seconds per run, default 3);
BENCH_CERT=rsa to give both servers the test CA's RSA-2048 leaf instead of
a P-256 one.
"""

import os
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from conftest import free_port, make_certs, read_text  # noqa: E402
from peers import PostfixPeer, ensure_postfix  # noqa: E402

HOST = "127.0.0.1"
DOMAIN = "bench.test"
FROM = "from@" + DOMAIN
TO = "to@" + DOMAIN
AUTH_USER = "user@" + DOMAIN      # the STARTTLS+AUTH sender, on both servers
AUTH_PW = "bench-auth-pw-7"
SMTP_SOURCE = "/usr/sbin/smtp-source"
MAILPORT = os.path.join(REPO, "build", "mailport")

QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = int(os.environ.get("BENCH_RUNS", "1" if QUICK else "3"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "1" if QUICK else "3"))
CONCURRENCY = (1, 10, 50) if QUICK else (1, 10, 50, 200)
SIZES = ((4096, "4 KiB"), (102400, "100 KiB"))
IDLE = (1000,) if QUICK else (1000, 10000)
TLS_CONCURRENCY = (1, 10, 50)
# The servers' certificate: a P-256 leaf by default (mailport's own
# self-signed default, and what a server should prefer: signing costs a
# twentieth of RSA-2048's), or the test CA's RSA-2048 leaf (BENCH_CERT=rsa).
CERT = os.environ.get("BENCH_CERT", "ecdsa")
TLS_MODES = ("full", "resume")   # loadgen without and with --resume
BIG_MESSAGE = 34 * 1024 * 1024   # under mailport's default 35 MiB limit
DISK_SETTLE_SECONDS = 65

# KEEP_MAIL: delivered mail is kept until the end of the bench, not deleted after each
# run. On ext4 without a journal (this machine's disk), a new inode is not
# taken from those freed in the last 60 s (up to 6 minutes while their
# table block is dirty): every file creation walks past them one by one.
# Deleting a run's 10,000 Maildir files just before the next timed run made
# each file that run created cost that walk: 26 % of the machine's CPU in a
# profile (perf record -a -g, ext4_create -> recently_deleted), and half of
# the run-to-run spread. A mail server's own design can still pay it (a
# server that creates and deletes a queue file per message); the bench's
# clean-up should not. The folder is removed at the end, as before.


def log(*a):
    print(*a, flush=True)


# ---------------------------------------------------------------- servers


class Mailport:
    def __init__(self, root, certs):
        self.dir = tempfile.mkdtemp(prefix="mailport-", dir=root)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.sub_port = free_port()
        self.subs_port = free_port()   # submissions: implicit TLS
        self.maildir_new = os.path.join(self.dir, "mail", DOMAIN, "to", "new")
        self.log_file = os.path.join(self.dir, "log.txt")
        self.proc = None
        self.acknowledged = 0   # 250s counted by smtp-source / the latency client
        self.delivered = 0      # messages in the Maildir at the last settle()
        with open(os.path.join(self.dir, "users"), "wb") as f:
            for addr, pw in ((TO, "bench-pw-1"), (AUTH_USER, AUTH_PW)):
                p = subprocess.run([MAILPORT, "passwd", "--user", addr],
                                   input=(pw + "\n").encode(),
                                   capture_output=True, timeout=30, check=True)
                f.write(p.stdout.strip().splitlines()[-1] + b"\n")
        for src, dst in ((certs.chain_a, "cert.pem"), (certs.key_a, "key.pem")):
            shutil.copy(src, os.path.join(self.dir, dst))
            os.chmod(os.path.join(self.dir, dst), 0o644)
        os.chmod(os.path.join(self.dir, "users"), 0o644)
        with open(os.path.join(self.dir, "mailport.conf"), "w") as f:
            f.write("hostname mx.%s\n" % DOMAIN
                    + "domain %s\n" % DOMAIN
                    + "users users\nspool spool\nmailboxes mail\n"
                    + "tls cert.pem key.pem\n"
                    + "listen %s:%d smtp\n" % (HOST, self.port)
                    + "listen %s:%d submission\n" % (HOST, self.sub_port)
                    + "listen %s:%d submissions\n" % (HOST, self.subs_port)
                    + "max-connections %d\nmax-connections-per-ip 20000\n" % max_connections()
                    # Outbound DNS stays on loopback (nothing listens on 9).
                    + "resolver 127.0.0.1:9\n"
                    # The smtp door checks SPF, DKIM and DMARC (issue 14): here
                    # every lookup fails at once (no resolver), which enforce
                    # answers with 451; report-only accepts, with the verdict
                    # in Authentication-Results. bench/auth_bench.py measures
                    # the checks with their records served.
                    + "dmarc-policy report-only\n")
        os.chmod(os.path.join(self.dir, "mailport.conf"), 0o644)

    def start(self, timeout=10.0):
        with open(self.log_file, "wb") as lf:
            self.proc = subprocess.Popen([MAILPORT, "serve", "-c", "mailport.conf"],
                                         cwd=self.dir, stdin=subprocess.DEVNULL,
                                         stdout=lf, stderr=lf)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mailport exited (%s):\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            if (can_connect(self.port) and can_connect(self.sub_port)
                    and can_connect(self.subs_port)):
                return
            time.sleep(0.05)
        raise RuntimeError("mailport not ready:\n" + self.log_tail())

    def log_tail(self):
        return read_text(self.log_file)[-3000:]

    def pids(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def stored(self):
        try:
            return len(os.listdir(self.maildir_new))
        except FileNotFoundError:
            return 0

    def queued(self):
        try:
            return len(os.listdir(os.path.join(self.dir, "spool", "queue")))
        except FileNotFoundError:
            return 0

    def settle(self, timeout=30.0):
        """Waits (bounded) until the queue has been delivered to the Maildir,
        outside the timing. The delivered mail stays until the end: see
        KEEP_MAIL."""
        deadline = time.monotonic() + timeout
        while self.queued() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.delivered = self.stored()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def make_postfix(root, certs):
    """A private Postfix: smtpd on one loopback port (STARTTLS offered, like
    mailport's smtp door) and a submission port (STARTTLS + SASL required);
    bench.test is local, everything goes to discard(8). No DNS."""
    return PostfixPeer(
        root, certs, name="postfix", hostname="mx." + DOMAIN, domains=(DOMAIN,),
        users={AUTH_USER: AUTH_PW}, mailboxes=(), submission=True, smtp=True,
        main_extra={
            "mydestination": DOMAIN,
            "virtual_mailbox_domains": "",
            "virtual_mailbox_maps": "",
            "local_recipient_maps": "",
            "local_transport": "discard",
            "default_transport": "discard",
            # Room for 1,000 idle connections (one smtpd process each) and
            # concurrency 200; the default (100) would queue them unanswered.
            "default_process_limit": "1200",
            # TLS session resumption as Debian's default main.cf sets it up:
            # tickets (keys from tlsmgr, Postfix's default) for TLS 1.3 and a
            # session cache for TLS 1.2 clients without tickets.
            "smtpd_tls_session_cache_database": "btree:${data_directory}/smtpd_scache",
        })


def use_ecdsa_leaf(certs):
    """Both servers get a P-256 leaf from the test CA's intermediate instead
    of its RSA-2048 one (the default; BENCH_CERT=rsa keeps RSA)."""
    d = certs.dir

    def o(*args):
        subprocess.run(["openssl", *args], cwd=d, capture_output=True, timeout=60, check=True)

    o("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-keyout", "key-ec.pem", "-out", "leaf-ec.csr", "-subj", "/CN=%s" % certs.cn_a)
    o("x509", "-req", "-in", "leaf-ec.csr", "-CA", "int.pem", "-CAkey", "int.key",
      "-CAcreateserial", "-out", "leaf-ec.pem", "-days", "30", "-extfile", "leaf.ext")
    with open(os.path.join(d, "chain-ec.pem"), "w") as f:
        for part in ("leaf-ec.pem", "int.pem"):
            with open(os.path.join(d, part)) as g:
                f.write(g.read())
    for name in ("key-ec.pem", "chain-ec.pem"):
        os.chmod(os.path.join(d, name), 0o644)
    certs.chain_a = os.path.join(d, "chain-ec.pem")
    certs.key_a = os.path.join(d, "key-ec.pem")


def make_postfix_maildir(root, certs):
    """A second private Postfix for the like-for-like accept rate: it
    delivers to@bench.test to a Maildir with virtual(8), which syncs each
    file before it links it, as mailport does; only its smtp port."""
    return PostfixPeer(
        root, certs, name="postfix-maildir", hostname="mx." + DOMAIN, domains=(DOMAIN,),
        users={}, mailboxes=(TO,), submission=False, smtp=True,
        main_extra={"default_process_limit": "1200"})


def postfix_queued(pf):
    return sum(len(names) for sub in ("incoming", "active", "deferred", "maildrop")
               for _, _, names in os.walk(os.path.join(pf.queue_dir, sub)))


def settle_postfix(pf, timeout=60.0):
    """Like Mailport.settle: waits (bounded) for the queue to drain, outside
    the timing; the Maildir is kept until the end."""
    deadline = time.monotonic() + timeout
    while postfix_queued(pf) and time.monotonic() < deadline:
        time.sleep(0.05)


def can_connect(port):
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------- load


def smtp_source(port, count, conc, size, timeout):
    cmd = [SMTP_SOURCE, "-c", "-m", str(count), "-s", str(conc), "-l", str(size),
           "-f", FROM, "-t", TO, "-M", "client.bench.test", "%s:%d" % (HOST, port)]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    dt = time.monotonic() - t0
    if p.returncode != 0 or p.stderr.strip():
        raise RuntimeError("smtp-source failed (%d): %s\n%s"
                           % (p.returncode, " ".join(cmd),
                              (p.stdout + p.stderr).decode(errors="replace")[-2000:]))
    done = p.stdout.replace(b"\n", b"\r").split(b"\r")
    done = [x for x in done if x.strip().isdigit()]
    return dt, int(done[-1]) if done else 0


def calibrate(name, port, conc, size, mp, settle):
    """How many messages make a run of about SECONDS. A first short run, and
    while a run took under a third of SECONDS, a longer one: a short run is
    mostly its sessions starting and finishing, which under-counts a fast
    server (mailport's timed runs at concurrency 50 lasted 1.7 s of the 3 s
    meant, Postfix's 2.6 s)."""
    n = max(40, 4 * conc)
    for _ in range(3):
        dt, done = smtp_source(port, n, conc, size, timeout=120)
        if name == "mailport":
            mp.acknowledged += done
        settle()
        rate = n / dt
        if dt >= SECONDS / 3:
            break
        n = int(min(30000, rate * SECONDS / 2))
    return int(min(30000, max(5 * conc, rate * SECONDS)))


def throughput(servers, mp, settle):
    """{(size, conc): {name: [msgs/s per run]}}. settle[name]() waits until
    that server has delivered what it accepted, outside the timing, so no
    run shares the machine with the previous run's deliveries."""
    res = {}
    for size, _ in SIZES:
        for conc in CONCURRENCY:
            cell = res.setdefault((size, conc), {})
            counts = {}
            for name, port in servers:   # calibrate: runs not counted
                counts[name] = calibrate(name, port, conc, size, mp, settle[name])
            for r in range(RUNS):
                for name, port in servers:
                    n = counts[name]
                    dt, done = smtp_source(port, n, conc, size, timeout=SECONDS * 20 + 60)
                    if name == "mailport":
                        mp.acknowledged += done
                    settle[name]()
                    rate = done / dt
                    cell.setdefault(name, []).append(rate)
                    log("  %-8s size=%-6d conc=%-3d run %d: %5d msgs in %5.2f s = %7.1f msgs/s"
                        "  load %s" % (name, size, conc, r + 1, done, dt, rate, loadavg()))
    return res


def read_reply(f):
    while True:
        line = f.readline()
        if not line:
            raise RuntimeError("connection closed")
        if line[3:4] != b"-":
            return line


def one_transaction(port, body):
    t0 = time.perf_counter()
    with socket.create_connection((HOST, port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = s.makefile("rb")
        for cmd, want in ((None, b"220"), (b"EHLO client.bench.test\r\n", b"250"),
                          (b"MAIL FROM:<%s>\r\n" % FROM.encode(), b"250"),
                          (b"RCPT TO:<%s>\r\n" % TO.encode(), b"250"),
                          (b"DATA\r\n", b"354"), (body, b"250"), (b"QUIT\r\n", b"221")):
            if cmd:
                s.sendall(cmd)
            line = read_reply(f)
            if not line.startswith(want):
                raise RuntimeError("unexpected reply %r" % line)
    return time.perf_counter() - t0


def latency(servers, mp, n):
    body = (b"Subject: latency\r\n\r\n" + (b"x" * 78 + b"\r\n") * 50 + b".\r\n")
    out = {}
    for name, port in servers:
        for _ in range(10):
            one_transaction(port, body)   # warm-up
        ts = sorted(one_transaction(port, body) for _ in range(n))
        if name == "mailport":
            mp.acknowledged += n + 10
        out[name] = (ts[len(ts) // 2] * 1000, ts[min(len(ts) - 1, int(len(ts) * 0.99))] * 1000)
        log("  %-8s latency over %d transactions: p50 %.2f ms, p99 %.2f ms"
            % (name, n, out[name][0], out[name][1]))
    mp.settle()
    return out


# ---------------------------------------------------------------- STARTTLS + AUTH


def max_connections():
    """20,000, or what the open-file limit holds: serve refuses caps whose
    connections cannot fit (one file each, plus its reserve)."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return min(20000, soft - 200)


def build_loadgen(root):
    """bench/loadgen.c, built by CMake against the release build's client
    libraries (the target is not part of `make`)."""
    b = os.path.join(REPO, "build")
    p = subprocess.run(["cmake", "--build", b, "--target", "loadgen"], capture_output=True,
                       timeout=300)
    if p.returncode != 0:
        raise RuntimeError("loadgen build failed:\n" + p.stdout.decode(errors="replace")
                           + p.stderr.decode(errors="replace"))
    out = os.path.join(root, "loadgen")
    shutil.copy(os.path.join(b, "loadgen"), out)
    return out


def loadgen(binary, port, count, conc, size, cafile, timeout, resume=False):
    env = dict(os.environ, LOADGEN_PASSWORD=AUTH_PW)
    cmd = ([binary] + (["--resume"] if resume else [])
           + [HOST, str(port), AUTH_USER, AUTH_USER, TO, str(size), str(conc), str(count),
              cafile])
    p = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env,
                       stdin=subprocess.DEVNULL)
    kv = dict(x.split("=", 1) for x in p.stdout.decode().split() if "=" in x)
    if p.returncode != 0 or "rate" not in kv:
        raise RuntimeError("loadgen failed (%d): %s\n%s%s"
                           % (p.returncode, " ".join(cmd), p.stdout.decode(errors="replace"),
                              p.stderr.decode(errors="replace")[-2000:]))
    r = {k: float(v) for k, v in kv.items()}
    # Each thread's first connection is a full handshake. How many of the
    # others resume depends on the server: OpenSSL's client offers a TLS 1.3
    # session once, so a server that gives no new ticket on resumption
    # (Postfix) resumes every other connection. The report shows the count;
    # none at all would mean the row does not measure what it claims.
    if resume and r["ok"] > conc and r["resumed"] == 0:
        raise RuntimeError("loadgen --resume: no connection resumed (%s)" % " ".join(cmd))
    return r


def tls_throughput(binary, servers, mp, cafile, settle):
    """{(mode, conc): {name: [result dicts]}}, 4 KiB, STARTTLS + AUTH PLAIN, new
    connection each; mode "full" (a full handshake each time) or "resume"."""
    res = {}
    for mode in TLS_MODES:
        resume = mode == "resume"
        for conc in TLS_CONCURRENCY:
            cell = res.setdefault((mode, conc), {})
            counts = {}
            for name, port in servers:
                n0 = max(20, 2 * conc)
                r = loadgen(binary, port, n0, conc, 4096, cafile, timeout=120, resume=resume)
                counts[name] = int(min(20000, max(2 * conc, r["rate"] * SECONDS)))
                if name == "mailport":
                    mp.acknowledged += int(r["ok"])
                settle[name]()
            for i in range(RUNS):
                for name, port in servers:
                    r = loadgen(binary, port, counts[name], conc, 4096, cafile,
                                timeout=SECONDS * 20 + 60, resume=resume)
                    if name == "mailport":
                        mp.acknowledged += int(r["ok"])
                    settle[name]()
                    cell.setdefault(name, []).append(r)
                    log("  %-8s STARTTLS+AUTH %-6s conc=%-3d run %d: %5d msgs in %5.2f s = "
                        "%7.1f msgs/s, %d resumed (p50 %.1f ms, p99 %.1f ms)  load %s"
                        % (name, mode, conc, i + 1, r["ok"], r["seconds"], r["rate"],
                           r["resumed"], r["p50_ms"], r["p99_ms"], loadavg()))
    return res


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


# ---------------------------------------------------------------- memory


def mem_kib(pids):
    """(sum of VmRSS, sum of Pss) in KiB over the pids that still exist."""
    rss = pss = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for ln in f:
                    if ln.startswith("VmRSS:"):
                        rss += int(ln.split()[1])
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for ln in f:
                    if ln.startswith("Pss:"):
                        pss += int(ln.split()[1])
        except (OSError, ValueError):
            pass
    return rss, pss


def hold_idle(port, n, pids_fn, timeout):
    """Opens n connections (in batches of 100), reads each greeting, measures
    the server's memory, closes them all. Returns (greeted, rss_before,
    pss_before, rss, pss, nprocs, outcomes) where outcomes counts what each
    connection that was not greeted got instead."""
    base = mem_kib(pids_fn())
    socks, greeted, outcomes = [], 0, {}
    sel = selectors.DefaultSelector()
    deadline = time.monotonic() + timeout

    def drain(wait):
        nonlocal greeted
        for key, _ in sel.select(timeout=wait):
            s = key.fileobj
            try:
                data = s.recv(512)
            except BlockingIOError:
                continue
            except OSError as e:
                data = ("error %s" % (e.strerror or e)).encode()
            sel.unregister(s)
            if data.startswith(b"220"):
                greeted += 1
            else:
                k = data[:60].decode(errors="replace").strip() or "closed"
                outcomes[k] = outcomes.get(k, 0) + 1
    try:
        for i in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((HOST, port))
            socks.append(s)
            sel.register(s, selectors.EVENT_READ)
            if i % 100 == 99:   # let the server catch up
                while (len(sel.get_map()) > 100 and time.monotonic() < deadline):
                    drain(0.2)
        while sel.get_map() and time.monotonic() < deadline:
            drain(0.5)
        if sel.get_map():
            outcomes["no greeting within %d s" % timeout] = len(sel.get_map())
        time.sleep(1.0)
        pids = pids_fn()
        rss, pss = mem_kib(pids)
        return greeted, base[0], base[1], rss, pss, len(pids), outcomes
    finally:
        sel.close()
        for s in socks:
            s.close()


def smtp_reply(sock):
    """One SMTP reply (all its lines) from a blocking socket or SSL socket."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("connection closed after %r" % data[-200:])
        data += chunk
        lines = data.split(b"\r\n")
        if len(lines) > 1 and lines[-1] == b"":
            last = lines[-2]
            if len(last) >= 4 and last[3:4] == b" ":
                return data


def tls_idle_connection(port, implicit, ctx):
    """A connection that finished TLS (STARTTLS, or implicit TLS) and EHLO
    over it, then stays idle: what a connected mail client looks like. The
    EHLO reply also makes sure TLS 1.3 tickets have been read."""
    s = socket.create_connection((HOST, port), timeout=60)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if implicit:
            s = ctx.wrap_socket(s, server_hostname="localhost")
        if not smtp_reply(s).startswith(b"220"):
            raise RuntimeError("no greeting")
        if not implicit:
            s.sendall(b"EHLO client.bench.test\r\n")
            smtp_reply(s)
            s.sendall(b"STARTTLS\r\n")
            if not smtp_reply(s).startswith(b"220"):
                raise RuntimeError("STARTTLS refused")
            s = ctx.wrap_socket(s, server_hostname="localhost")
        s.sendall(b"EHLO client.bench.test\r\n")
        if not smtp_reply(s).startswith(b"250"):
            raise RuntimeError("EHLO over TLS refused")
        return s
    except Exception:
        s.close()
        raise


def hold_idle_tls(port, n, pids_fn, cafile, implicit, workers=8):
    """Like hold_idle, with n connections that completed TLS and EHLO (full
    handshakes, TLS 1.3, 8 at a time). Returns the same tuple."""
    import concurrent.futures
    import ssl
    ctx = ssl.create_default_context(cafile=cafile)
    base = mem_kib(pids_fn())
    socks, outcomes = [], {}
    try:
        with concurrent.futures.ThreadPoolExecutor(workers) as ex:
            futs = [ex.submit(tls_idle_connection, port, implicit, ctx) for _ in range(n)]
            for f in futs:
                try:
                    socks.append(f.result())
                except Exception as e:  # noqa: BLE001
                    k = str(e)[:60] or type(e).__name__
                    outcomes[k] = outcomes.get(k, 0) + 1
        time.sleep(1.0)
        pids = pids_fn()
        rss, pss = mem_kib(pids)
        return len(socks), base[0], base[1], rss, pss, len(pids), outcomes
    finally:
        for s in socks:
            s.close()


def proc_status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith(field + ":"):
                return int(ln.split()[1])
    return 0


def big_message(mp, port, cafile, tls):
    """One BIG_MESSAGE-byte message into mailport (plain on the relay door, or
    STARTTLS + AUTH on submission), with the peak RSS reset just before
    (clear_refs 5). Returns a dict of KiB figures: rss_before, peak_receive
    (VmHWM when the 250 arrived), peak_delivery (VmHWM once it reached the
    Maildir), rss_after, and the seconds the 250 took."""
    import smtplib
    import ssl
    pid = mp.proc.pid
    mp.settle()
    stored_before = mp.stored()
    line = b"x" * 78 + b"\r\n"
    body = (b"From: <%s>\r\nTo: <%s>\r\nSubject: big\r\n\r\n"
            % (FROM.encode(), TO.encode())) + line * (BIG_MESSAGE // len(line))
    if tls:
        # Log in once before: the first check of a password runs yescrypt,
        # which takes 16 MiB by itself (N=4096, r=32) and would be counted
        # as the message's. The login cache answers the next one.
        with smtplib.SMTP(HOST, port, local_hostname="client.bench.test", timeout=60) as c:
            c.starttls(context=ssl.create_default_context(cafile=cafile))
            c.login(AUTH_USER, AUTH_PW)
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")   # VmHWM := VmRSS
    before = proc_status_kib(pid, "VmRSS")
    t0 = time.monotonic()
    with smtplib.SMTP(HOST, port, local_hostname="client.bench.test", timeout=120) as c:
        if tls:
            c.starttls(context=ssl.create_default_context(cafile=cafile))
            c.login(AUTH_USER, AUTH_PW)
        refused = c.sendmail(AUTH_USER if tls else FROM, [TO], body)
        if refused:
            raise RuntimeError("big message refused: %r" % refused)
    took = time.monotonic() - t0
    peak_receive = proc_status_kib(pid, "VmHWM")
    mp.acknowledged += 1
    deadline = time.monotonic() + 120
    while mp.stored() == stored_before and time.monotonic() < deadline:
        time.sleep(0.05)
    delivered = mp.stored() > stored_before
    peak_delivery = proc_status_kib(pid, "VmHWM")
    after = proc_status_kib(pid, "VmRSS")
    mp.settle()
    if not delivered:
        raise RuntimeError("big message not delivered within 120 s")
    return {"rss_before": before, "peak_receive": peak_receive,
            "peak_delivery": peak_delivery, "rss_after": after, "seconds": took}


def wait_processes_settle(pids_fn, limit, timeout=30):
    deadline = time.monotonic() + timeout
    while len(pids_fn()) > limit and time.monotonic() < deadline:
        time.sleep(0.2)


# ---------------------------------------------------------------- report


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def report(tp, tls, lat, mem, big):
    out = ["", "## Accept rate (msgs/s, smtp-source, one connection per message, "
           "median of %d runs)" % RUNS, "",
           "Postfix: delivers to discard(8). Postfix (Maildir): a second instance that "
           "delivers to a Maildir with virtual(8), as mailport does.", "",
           "| size | concurrency | mailport | Postfix | mailport / Postfix | "
           "Postfix (Maildir) | mailport / Postfix (Maildir) |",
           "|---|---|---|---|---|---|---|"]
    for size, label in SIZES:
        for conc in CONCURRENCY:
            cell = tp[(size, conc)]
            m, p = med(cell.get("mailport", [])), med(cell.get("postfix", []))
            pm = med(cell.get("postfix-maildir", [])) if cell.get("postfix-maildir") else 0
            out.append("| %s | %d | %.0f | %.0f | %.2f× | %s | %s |"
                       % (label, conc, m, p, m / p, "%.0f" % pm if pm else "-",
                          "%.2f×" % (m / pm) if pm else "-"))
    if tls:
        out += ["", "## STARTTLS + AUTH PLAIN, 4 KiB, new connection per message (bench/loadgen, "
                "median of %d runs)" % RUNS, "",
                "full: a full handshake every time; resume: `loadgen --resume`, each "
                "thread offers its previous session (its first connection is full). "
                "Both servers' certificate: %s." % ("a P-256 leaf" if CERT == "ecdsa"
                                                   else "an RSA-2048 leaf"), "",
                "| handshake | concurrency | mailport msgs/s | Postfix msgs/s | "
                "mailport / Postfix | mailport p50/p99 ms | Postfix p50/p99 ms | "
                "resumed (mailport / Postfix) |", "|---|---|---|---|---|---|---|---|"]
        for mode in TLS_MODES:
            for conc in TLS_CONCURRENCY:
                cell = tls[(mode, conc)]
                m = med([r["rate"] for r in cell["mailport"]])
                p = med([r["rate"] for r in cell["postfix"]])
                lm = (med([r["p50_ms"] for r in cell["mailport"]]),
                      med([r["p99_ms"] for r in cell["mailport"]]))
                lp = (med([r["p50_ms"] for r in cell["postfix"]]),
                      med([r["p99_ms"] for r in cell["postfix"]]))
                rs = ["%d of %d" % (sum(r["resumed"] for r in cell[n]),
                                    sum(r["ok"] for r in cell[n])) for n in ("mailport", "postfix")]
                out.append("| %s | %d | %.0f | %.0f | %.2f× | %.1f / %.1f | %.1f / %.1f | %s |"
                           % (mode, conc, m, p, m / p, lm[0], lm[1], lp[0], lp[1],
                              " / ".join(rs)))
    out += ["", "## Latency of one transaction (connect .. 221, 4 KiB, concurrency 1)", "",
            "| server | p50 ms | p99 ms |", "|---|---|---|"]
    for name, (p50, p99) in lat.items():
        out.append("| %s | %.2f | %.2f |" % (name, p50, p99))
    out += ["", "## Server memory with idle connections", "",
            "plain: after the greeting; STARTTLS / implicit TLS: after a full TLS 1.3 "
            "handshake and EHLO over it.", "",
            "| server | connection | connections | ready | processes | "
            "RSS before → after (KiB) | RSS per connection | PSS per connection |",
            "|---|---|---|---|---|---|---|---|"]
    for name, kind, n, (g, rb, pb, r, p, np, oc) in mem:
        out.append("| %s | %s | %d | %d | %d | %d → %d | %.1f KiB | %.1f KiB |"
                   % (name, kind, n, g, np, rb, r, (r - rb) / max(g, 1), (p - pb) / max(g, 1)))
        if oc:
            out.append("|  |  | not ready: %s | | | | | |" % oc)
    if big:
        out += ["", "## One %.0f MiB message (mailport's RSS, KiB; peak = VmHWM, reset just "
                "before)" % (BIG_MESSAGE / 1048576), "",
                "| path | RSS before | peak until the 250 | peak until delivered | "
                "RSS after | growth of the peak | seconds to 250 |",
                "|---|---|---|---|---|---|---|"]
        for kind, r in big:
            out.append("| %s | %d | %d | %d | %d | %+d KiB | %.2f |"
                       % (kind, r["rss_before"], r["peak_receive"], r["peak_delivery"],
                          r["rss_after"], r["peak_delivery"] - r["rss_before"], r["seconds"]))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- main


def main():
    if os.geteuid() != 0:
        sys.exit("bench: run as root (the private Postfix instance needs it)")
    reason = ensure_postfix()
    if reason:
        sys.exit("bench: " + reason)
    if not os.access(MAILPORT, os.X_OK):
        sys.exit("bench: %s missing; run make" % MAILPORT)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(hard, 65536), 1048576)
    try:   # the servers inherit it
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    # Start from a settled disk: files deleted just before (a test suite's
    # temporary folders) would slow every file creation of the first
    # minutes, for both servers (see KEEP_MAIL). sync() writes their inode
    # blocks, after which ext4 stops skipping them 60 s after the deletion.
    if not QUICK:
        log("sync, then %d s for recently deleted files to age" % DISK_SETTLE_SECONDS)
        os.sync()
        time.sleep(DISK_SETTLE_SECONDS)
    root = tempfile.mkdtemp(prefix="mailport-bench-", dir="/var/tmp")
    os.chmod(root, 0o755)
    # Each server's folder in its own part of the disk (ext4's "top of a
    # directory hierarchy" flag spreads the folders made in root across
    # inode groups), as two servers on two machines would be: otherwise one
    # server's deleted queue files slow the other's file creation (see
    # KEEP_MAIL). Best effort: other filesystems have no such flag.
    subprocess.run(["chattr", "+T", root], capture_output=True, timeout=30)
    mp = pf = pfm = None
    t_start = time.monotonic()
    try:
        certs_dir = os.path.join(root, "certs")
        os.makedirs(certs_dir)
        os.chmod(certs_dir, 0o755)
        certs = make_certs(certs_dir)
        if CERT == "ecdsa":
            use_ecdsa_leaf(certs)
        mp = Mailport(root, certs)
        mp.start()
        pf = make_postfix(root, certs)
        pf.start()
        log("mailport on %s:%d/%d (pid %d), Postfix on %s:%d/%d, folder %s, load %s"
            % (HOST, mp.port, mp.sub_port, mp.proc.pid, HOST, pf.ports["smtp"],
               pf.ports["submission"], root, loadavg()))
        servers = [("mailport", mp.port), ("postfix", pf.ports["smtp"])]
        settle = {"mailport": mp.settle, "postfix": lambda: settle_postfix(pf)}

        # The timed figures first, on a machine nothing else has stirred: the
        # idle-connection figures leave thousands of sockets and a thousand
        # smtpd processes to wind down. STARTTLS + AUTH before the plain
        # runs: the discarding Postfix frees a queue file per message, and
        # for a minute after, a new file near them walks past them (see
        # KEEP_MAIL); the plain runs free tens of thousands.
        log("== STARTTLS + AUTH")
        tls = None
        try:
            lg = build_loadgen(root)
            tls = tls_throughput(lg, [("mailport", mp.sub_port),
                                      ("postfix", pf.ports["submission"])], mp, certs.ca,
                                 settle)
        except RuntimeError as e:
            log("  STARTTLS + AUTH load not measured: %s" % e)
        log("== accept rate")
        pfm = make_postfix_maildir(root, certs)
        pfm.start()
        settle["postfix-maildir"] = lambda: settle_postfix(pfm)
        tp = throughput(servers + [("postfix-maildir", pfm.ports["smtp"])], mp, settle)
        pfm.stop()
        log("== latency")
        lat = latency(servers, mp, 200 if QUICK else 1000)

        log("== idle connections")
        mem = []
        fdmax = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        for n in IDLE:
            if n + 100 > fdmax:
                log("  skip %d idle connections: fd limit %d" % (n, fdmax))
                continue
            # A fresh mailport for each figure: memory freed by the previous
            # connections would otherwise be reused and hide the cost.
            mp.stop()
            mp.start()
            r = hold_idle(mp.port, n, mp.pids, timeout=60)
            log("  mailport %d plain: %s" % (n, r))
            mem.append(("mailport", "plain", n, r))
            if n <= 1000:   # Postfix: one smtpd process per connection
                wait_processes_settle(pf.processes, 12, timeout=10)
                r = hold_idle(pf.ports["smtp"], n, pf.processes, timeout=120)
                log("  postfix  %d plain: %s" % (n, r))
                mem.append(("postfix", "plain", n, r))
        for n in IDLE:
            if n + 100 > fdmax:
                continue
            for kind, port, implicit in (("STARTTLS", mp.sub_port, False),
                                         ("implicit TLS", mp.subs_port, True)):
                mp.stop()
                mp.start()
                r = hold_idle_tls(port, n, mp.pids, certs.ca, implicit)
                log("  mailport %d %s: %s" % (n, kind, r))
                mem.append(("mailport", kind, n, r))
            if n <= 1000:
                # The plaintext run's idle smtpd processes linger (max_idle)
                # and would be reused: start Postfix afresh.
                pf.stop()
                pf.start()
                r = hold_idle_tls(pf.ports["smtp"], n, pf.processes, certs.ca, False)
                log("  postfix  %d STARTTLS: %s" % (n, r))
                mem.append(("postfix", "STARTTLS", n, r))
        # 1,000 idle smtpd processes would linger (max_idle) and load the
        # machine during the big message: stop them.
        pf.stop()
        log("== one %d-byte message" % BIG_MESSAGE)
        big = []
        for kind, port, over_tls in (("plain, relay door", mp.port, False),
                                     ("STARTTLS + AUTH, submission door", mp.sub_port, True)):
            r = big_message(mp, port, certs.ca, over_tls)
            log("  mailport %s: %s" % (kind, r))
            big.append((kind, r))
        mp.settle()
        check = ("mailport: %d messages acknowledged (250), %d delivered to the Maildir%s"
                 % (mp.acknowledged, mp.delivered,
                    "" if mp.acknowledged == mp.delivered else "  <-- MISMATCH"))
        log(check)
        text = report(tp, tls, lat, mem, big) + "\n" + check + "\n"
        text += "\n(total bench time %.0f s)\n" % (time.monotonic() - t_start)
        log(text)
        with open(os.path.join(REPO, "bench", "last-run.md"), "w") as f:
            f.write(text)
    finally:
        problems = []
        if mp is not None:
            try:
                mp.stop()
            except Exception as e:  # noqa: BLE001
                problems.append("mailport stop: %r" % e)
        for name, peer in (("postfix", pf), ("postfix-maildir", pfm)):
            if peer is None:
                continue
            try:
                peer.stop()
            except Exception as e:  # noqa: BLE001
                problems.append("%s stop: %r" % (name, e))
        shutil.rmtree(root, ignore_errors=True)
        if problems:
            log("cleanup problems: " + "; ".join(problems))


if __name__ == "__main__":
    main()
