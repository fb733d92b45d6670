#!/usr/bin/python3
"""LMTP delivery to Dovecot: mailport's `deliver lmtp` beside Postfix's
`lmtp` transport, both delivering to the same kind of private Dovecot
(tests/integration/dovecot.py) over its Unix socket.

Run as root (Dovecot and the private Postfix need it):
`/usr/bin/python3 bench/lmtp_bench.py` after `make`.

For each server and each run:
  1. A fresh Dovecot is made (not started: its LMTP socket does not exist
     yet) with 10 accounts r0..r9@bench.test. The server is filled with N
     messages of 4 KiB, one recipient each, round robin over the accounts,
     on its smtp port from 127.0.0.1 (one session). Each is tried once and
     deferred (no socket); retries are an hour away.
  2. Dovecot starts.
  3. The clock starts, the queue is flushed (`mailport queue flush`,
     `postqueue -f`), and it stops when Dovecot's Maildirs hold N messages.
Both keep their defaults for concurrency: mailport's local agent is one
thread with one kept LMTP connection, a transaction per message; Postfix
runs up to 20 lmtp(8) processes at once (default_destination_concurrency_
limit) with its connection cache. mailport and Postfix runs alternate; each
figure is the median. Everything started is stopped and the folder removed,
also on failure.

A third figure is Dovecot's own ceiling: the same messages from 20 Python
LMTP clients straight into a fresh Dovecot, nothing queued before them.
Both servers are measured against it: neither can deliver faster.

Options (environment): BENCH_QUICK=1 (1 run of 300 messages), BENCH_RUNS
(default 3), BENCH_MESSAGES (default 2000).
"""

import os
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from conftest import free_port, make_certs, read_text, stop_process  # noqa: E402
from dovecot import DovecotPeer, ensure_dovecot  # noqa: E402
from peers import PostfixPeer, ensure_postfix  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import outbound_bench  # noqa: E402
from outbound_bench import count_files, log, wait_until  # noqa: E402

HOST = "127.0.0.1"
DOMAIN = "bench.test"
SENDER = "sender@client.test"
ACCOUNTS = {"r%d@%s" % (i, DOMAIN): "bench-pw-%d" % i for i in range(10)}
MAILPORT = os.path.join(REPO, "build", "mailport")
POSTQUEUE = "/usr/sbin/postqueue"

QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = int(os.environ.get("BENCH_RUNS", "1" if QUICK else "3"))
N = int(os.environ.get("BENCH_MESSAGES", "300" if QUICK else "2000"))
BODY = ("X" * 76 + "\r\n") * (4096 // 78)
RCPTS = sorted(ACCOUNTS)


def message(i):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: lmtp bench %d\r\n\r\n%s"
            % (SENDER, RCPTS[i % len(RCPTS)], i, BODY))


def delivered(dove):
    """Messages in Dovecot's Maildirs (new/ and cur/ of every account)."""
    n = 0
    base = os.path.join(dove.dir, "mail", DOMAIN)
    for acct in os.listdir(base) if os.path.isdir(base) else ():
        for sub in ("new", "cur"):
            p = os.path.join(base, acct, sub)
            if os.path.isdir(p):
                n += len(os.listdir(p))
    return n


def fill_smtp(port, n):
    with smtplib.SMTP(HOST, port, timeout=30) as s:
        s.ehlo("client.bench.test")
        for i in range(n):
            s.sendmail(SENDER, [RCPTS[i % len(RCPTS)]], message(i))


class MailportRun:
    name = "mailport"

    def __init__(self, root, certs, dove):
        self.dir = tempfile.mkdtemp(prefix="mailport-lmtp-", dir=root)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.log_file = os.path.join(self.dir, "log.txt")
        for src, dst in ((certs.chain_a, "cert.pem"), (certs.key_a, "key.pem")):
            shutil.copy(src, os.path.join(self.dir, dst))
            os.chmod(os.path.join(self.dir, dst), 0o644)
        self.conf = os.path.join(self.dir, "mailport.conf")
        # No users file: Dovecot's LMTP answers for the recipients.
        # dmarc-policy report-only: the resolver is a closed port, every
        # DMARC lookup fails at once, and enforce would answer 451.
        with open(self.conf, "w") as f:
            f.write("hostname mx.%s\ndomain %s\nspool spool\ntls cert.pem key.pem\n"
                    "listen %s:%d smtp\ndeliver lmtp unix:%s\nresolver 127.0.0.1:9\n"
                    "dmarc-policy report-only\nretry-interval 1h\nretry-max-interval 1h\n"
                    % (DOMAIN, DOMAIN, HOST, self.port, dove.lmtp_socket))
        self.proc = None

    def start(self):
        with open(self.log_file, "wb") as lf:
            self.proc = subprocess.Popen([MAILPORT, "serve", "-c", self.conf], cwd=self.dir,
                                         stdin=subprocess.DEVNULL, stdout=lf, stderr=lf)
        wait_until(lambda: self.proc.poll() is not None or "event=listening" in self.log_text(),
                   10, "mailport to listen")
        if self.proc.poll() is not None:
            raise RuntimeError("mailport exited:\n" + self.log_text()[-2000:])

    def log_text(self):
        return read_text(self.log_file)

    def fill(self, n):
        fill_smtp(self.port, n)
        wait_until(lambda: self.log_text().count("status=deferred") >= n, 120,
                   "every message to be deferred once")

    def flush(self):
        subprocess.run([MAILPORT, "queue", "flush", "-c", self.conf], check=True,
                       capture_output=True, timeout=30)

    def check(self, n):
        # Dovecot's files appear before mailport has read the last replies.
        wait_until(lambda: self.log_text().count("status=sent") >= n, 30,
                   "mailport to log every message sent")

    def cleanup(self):
        stop_process(self.proc, timeout=15)
        shutil.rmtree(self.dir, ignore_errors=True)


class PostfixRun(outbound_bench.PostfixRun):
    """Postfix handing its mail to Dovecot over LMTP; start, flush, check and
    cleanup as outbound_bench's."""

    name = "Postfix"

    def __init__(self, root, certs, dove):
        self.pf = PostfixPeer(
            root, certs, name="postfix-lmtp", hostname="mx." + DOMAIN, domains=(DOMAIN,),
            users={}, mailboxes=tuple(RCPTS), submission=False, smtp=True,
            main_extra={
                "virtual_transport": "lmtp:unix:" + dove.lmtp_socket,
                # Tried once and deferred; the flush is the only retry.
                "queue_run_delay": "1h", "minimal_backoff_time": "1h",
                "maximal_backoff_time": "1h",
            })

    def fill(self, n):
        fill_smtp(self.pf.ports["smtp"], n)
        deferred = os.path.join(self.pf.queue_dir, "deferred")
        wait_until(lambda: count_files(deferred) >= n, 120,
                   "every message in Postfix's deferred queue")


def ceiling_run(root, n, conns=20):
    """Dovecot's own ceiling: n messages straight from `conns` Python LMTP
    clients (smtplib.LMTP, one thread each) with nothing queued before
    them. No mail server can deliver faster than this through Dovecot."""
    dove = DovecotPeer(root, ACCOUNTS)
    try:
        dove.start()
        lock = threading.Lock()
        taken = [0]
        errors = []

        def work():
            try:
                with smtplib.LMTP(dove.lmtp_socket) as s:
                    while True:
                        with lock:
                            if taken[0] >= n:
                                return
                            i = taken[0]
                            taken[0] += 1
                        s.sendmail(SENDER, [RCPTS[i % len(RCPTS)]], message(i))
            except Exception as e:  # reported below: the figure would be wrong
                errors.append(repr(e))

        threads = [threading.Thread(target=work) for _ in range(conns)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wait_until(lambda: delivered(dove) >= n, 60, "Dovecot to hold them all")
        dt = time.monotonic() - t0
        if errors:
            raise RuntimeError("direct LMTP clients failed: " + "; ".join(errors[:3]))
        rate = n / dt
        log("%-8s %d messages delivered over LMTP in %.2f s: %.0f msgs/s (%d Python LMTP "
            "clients, nothing queued)" % ("direct", n, dt, rate, conns))
        return rate
    finally:
        dove.cleanup()


def one_run(kind, root, certs, n):
    dove = DovecotPeer(root, ACCOUNTS)
    srv = kind(root, certs, dove)
    try:
        srv.start()
        srv.fill(n)
        dove.start()
        t0 = time.monotonic()
        srv.flush()
        wait_until(lambda: delivered(dove) >= n, 600, "Dovecot to hold them all")
        dt = time.monotonic() - t0
        srv.check(n)
        rate = n / dt
        log("%-8s %d messages delivered over LMTP in %.2f s: %.0f msgs/s (Dovecot holds %d)"
            % (srv.name, n, dt, rate, delivered(dove)))
        return rate
    finally:
        srv.cleanup()
        dove.cleanup()


def main():
    if os.geteuid() != 0:
        sys.exit("lmtp_bench.py needs root (a private Dovecot and Postfix)")
    if not os.access(MAILPORT, os.X_OK):
        sys.exit("build/mailport is missing: run make first")
    ensure_postfix()
    why = ensure_dovecot()
    if why:
        sys.exit(why)
    root = tempfile.mkdtemp(prefix="mailport-lmtpbench-", dir="/var/tmp")
    os.chmod(root, 0o755)
    try:
        certs_dir = os.path.join(root, "certs")
        os.makedirs(certs_dir)
        certs = make_certs(certs_dir)
        rates = {"mailport": [], "Postfix": [], "direct": []}
        for r in range(RUNS):
            for kind in (MailportRun, PostfixRun):
                rates[kind.name].append(one_run(kind, root, certs, N))
            rates["direct"].append(ceiling_run(root, N))
        mp, pf = statistics.median(rates["mailport"]), statistics.median(rates["Postfix"])
        top = statistics.median(rates["direct"])
        log("\n| LMTP to Dovecot, 4 KiB, %d messages | mailport msgs/s | Postfix msgs/s "
            "| mailport / Postfix | Dovecot's ceiling msgs/s (direct clients) |" % N)
        log("|---|---|---|---|---|")
        log("| median of %d | %.0f | %.0f | %.2f× | %.0f |" % (RUNS, mp, pf, mp / pf, top))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
