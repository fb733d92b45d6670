#!/usr/bin/python3
"""Outbound delivery rate: mailport vs Postfix, each draining a queue into
Postfix's smtp-sink on loopback.

Run as root (smtp-sink listens on port 25 of 127.0.25.X; the private Postfix
needs root): `/usr/bin/python3 bench/outbound_bench.py` after `make`.

For each server and each run:
  1. A fresh server is filled with N messages of 4 KiB for N recipients of
     sink.test, whose MX (dnsmasq for mailport; `relayhost = [IP]:25` for
     Postfix, which then needs no DNS) is an address where nothing listens
     yet: every message is tried once and deferred. Retries are an hour away.
     mailport takes them on its submission door (STARTTLS + AUTH, one
     session); Postfix on its smtp port from 127.0.0.1 (mynetworks).
  2. smtp-sink starts on that address, dumping every transaction to a file.
  3. The clock starts, the queue is flushed (`mailport queue flush`,
     `postqueue -f`), and it stops when smtp-sink has written N messages.
Both servers keep their own defaults for concurrency and connection
reuse (mailport: 20 connections, 10 per destination, kept 2 s; Postfix:
20 per destination, connection cache on demand). mailport and Postfix runs
alternate; each figure is the median. Everything started is stopped and the
folder removed, also on failure.

Options (environment): BENCH_QUICK=1 (1 run of 500 messages), BENCH_RUNS
(default 3), BENCH_MESSAGES (default 2000), BENCH_MP_EXTRA (config lines
for mailport, separated by ';', e.g. "tls-report off").
"""

import os
import shutil
import smtplib
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from conftest import free_port, make_certs, read_text, stop_process  # noqa: E402
from dns import Dnsmasq  # noqa: E402
from peers import PostfixPeer, ensure_postfix  # noqa: E402
from receivers import SmtpSink, next_ip  # noqa: E402

HOST = "127.0.0.1"
DOMAIN = "bench.test"
SINK_DOMAIN = "sink.test"
AUTH_USER = "user@" + DOMAIN
AUTH_PW = "bench-auth-pw-7"
MAILPORT = os.path.join(REPO, "build", "mailport")
POSTQUEUE = "/usr/sbin/postqueue"

QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = int(os.environ.get("BENCH_RUNS", "1" if QUICK else "3"))
N = int(os.environ.get("BENCH_MESSAGES", "500" if QUICK else "2000"))
BODY = ("X" * 76 + "\r\n") * (4096 // 78)


def log(*a):
    print(*a, flush=True)


def message(i):
    return ("From: <%s>\r\nTo: <r%d@%s>\r\nSubject: outbound bench %d\r\n\r\n%s"
            % (AUTH_USER, i, SINK_DOMAIN, i, BODY))


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.02)


def count_files(d):
    return sum(len(names) for _, _, names in os.walk(d))


class MailportRun:
    name = "mailport"

    def __init__(self, root, certs, dns_port, sink_ip):
        self.dir = tempfile.mkdtemp(prefix="mailport-out-", dir=root)
        os.chmod(self.dir, 0o755)
        self.sub_port = free_port()
        self.certs = certs
        self.log_file = os.path.join(self.dir, "log.txt")
        p = subprocess.run([MAILPORT, "passwd", "--user", AUTH_USER],
                           input=(AUTH_PW + "\n").encode(), capture_output=True,
                           timeout=30, check=True)
        with open(os.path.join(self.dir, "users"), "wb") as f:
            f.write(p.stdout.strip().splitlines()[-1] + b"\n")
        for src, dst in ((certs.chain_a, "cert.pem"), (certs.key_a, "key.pem")):
            shutil.copy(src, os.path.join(self.dir, dst))
        for n in ("users", "cert.pem", "key.pem"):
            os.chmod(os.path.join(self.dir, n), 0o644)
        self.conf = os.path.join(self.dir, "mailport.conf")
        with open(self.conf, "w") as f:
            f.write("hostname mx.%s\ndomain %s\nusers users\nspool spool\nmailboxes mail\n"
                    "tls cert.pem key.pem\nlisten %s:%d submission\n"
                    "resolver 127.0.0.1:%d\nretry-interval 1h\nretry-max-interval 1h\n"
                    % (DOMAIN, DOMAIN, HOST, self.sub_port, dns_port))
            # Extra lines for A/B runs, e.g. BENCH_MP_EXTRA="tls-report off".
            for line in os.environ.get("BENCH_MP_EXTRA", "").split(";"):
                if line.strip():
                    f.write(line.strip() + "\n")
        self.proc = None

    def start(self):
        with open(self.log_file, "wb") as lf:
            self.proc = subprocess.Popen([MAILPORT, "serve", "-c", self.conf], cwd=self.dir,
                                         stdin=subprocess.DEVNULL, stdout=lf, stderr=lf)
        wait_until(lambda: self.proc.poll() is not None or "event=listening" in self.log_text(),
                   10, "mailport to listen")
        if self.proc.poll() is not None:
            raise RuntimeError("mailport exited:\n" + self.log_text()[-2000:])
        time.sleep(0.2)

    def log_text(self):
        return read_text(self.log_file)

    def fill(self, n):
        ctx = ssl.create_default_context(cafile=self.certs.ca)
        with smtplib.SMTP(HOST, self.sub_port, timeout=30) as s:
            s.starttls(context=ctx)
            s.login(AUTH_USER, AUTH_PW)
            for i in range(n):
                s.sendmail(AUTH_USER, ["r%d@%s" % (i, SINK_DOMAIN)], message(i))
        wait_until(lambda: self.log_text().count("status=deferred") >= n, 120,
                   "every message to be deferred once")

    def flush(self):
        subprocess.run([MAILPORT, "queue", "flush", "-c", self.conf], check=True,
                       capture_output=True, timeout=30)

    def check(self, n):
        sent = self.log_text().count("status=sent")
        if sent < n:
            raise RuntimeError("mailport logged %d sent of %d" % (sent, n))

    def cleanup(self):
        stop_process(self.proc, timeout=15)
        shutil.rmtree(self.dir, ignore_errors=True)


class PostfixRun:
    name = "Postfix"

    def __init__(self, root, certs, dns_port, sink_ip):
        self.pf = PostfixPeer(
            root, certs, name="postfix-out", hostname="mx." + DOMAIN, domains=(DOMAIN,),
            users={}, mailboxes=(), submission=False, smtp=True, open_relay=True,
            relayhost="[%s]:25" % sink_ip,
            main_extra={
                # Tried once and deferred; the flush is the only retry.
                "queue_run_delay": "1h", "minimal_backoff_time": "1h",
                "maximal_backoff_time": "1h", "smtp_connect_timeout": "2s",
            })

    def start(self):
        self.pf.start()

    def fill(self, n):
        with smtplib.SMTP(HOST, self.pf.ports["smtp"], timeout=30) as s:
            s.ehlo("client.bench.test")
            for i in range(n):
                s.sendmail(AUTH_USER, ["r%d@%s" % (i, SINK_DOMAIN)], message(i))
        deferred = os.path.join(self.pf.queue_dir, "deferred")
        wait_until(lambda: count_files(deferred) >= n, 120,
                   "every message in Postfix's deferred queue")

    def flush(self):
        subprocess.run([POSTQUEUE, "-c", self.pf.config_dir, "-f"], check=True,
                       capture_output=True, timeout=30)

    def check(self, n):
        wait_until(lambda: count_files(os.path.join(self.pf.queue_dir, "deferred")) == 0
                   and count_files(os.path.join(self.pf.queue_dir, "active")) == 0, 30,
                   "Postfix's queue to empty")

    def cleanup(self):
        self.pf.cleanup()


def one_run(kind, root, certs, n):
    sink_ip = next_ip()
    dns = Dnsmasq(root, mx={SINK_DOMAIN: [(10, "mx." + SINK_DOMAIN)]},
                  hosts={"mx." + SINK_DOMAIN: [sink_ip]}).start()
    srv = kind(root, certs, dns.port, sink_ip)
    sink = None
    try:
        srv.start()
        srv.fill(n)
        sink = SmtpSink(root, ip=sink_ip).start()
        t0 = time.monotonic()
        srv.flush()
        wait_until(lambda: count_files(sink.dump_dir) >= n, 300, "smtp-sink to get them all")
        dt = time.monotonic() - t0
        srv.check(n)
        got = count_files(sink.dump_dir)
        rate = n / dt
        log("%-8s %d messages delivered in %.2f s: %.0f msgs/s (smtp-sink holds %d)"
            % (srv.name, n, dt, rate, got))
        return rate
    finally:
        if sink:
            sink.cleanup()
        srv.cleanup()
        dns.cleanup()


def main():
    if os.geteuid() != 0:
        sys.exit("outbound_bench.py needs root (smtp-sink on port 25, a private Postfix)")
    if not os.access(MAILPORT, os.X_OK):
        sys.exit("build/mailport is missing: run make first")
    ensure_postfix()
    root = tempfile.mkdtemp(prefix="mailport-outbench-", dir="/var/tmp")
    os.chmod(root, 0o755)
    try:
        certs_dir = os.path.join(root, "certs")
        os.makedirs(certs_dir)
        certs = make_certs(certs_dir)
        rates = {"mailport": [], "Postfix": []}
        for r in range(RUNS):
            for kind in (MailportRun, PostfixRun):
                rates[kind.name].append(one_run(kind, root, certs, N))
        mp, pf = statistics.median(rates["mailport"]), statistics.median(rates["Postfix"])
        log("\n| outbound to smtp-sink, 4 KiB, %d messages | mailport msgs/s | Postfix msgs/s "
            "| mailport / Postfix |" % N)
        log("|---|---|---|---|")
        log("| median of %d | %.0f | %.0f | %.2f× |" % (RUNS, mp, pf, mp / pf))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
