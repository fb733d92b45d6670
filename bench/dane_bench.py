#!/usr/bin/python3
"""Outbound delivery rate with DANE against the same delivery without it.

Run as root (the receiver listens on port 25 of 127.0.25.X):
`/usr/bin/python3 bench/dane_bench.py` after `make` (build/mailport).

The DNS is tests/integration/dnssec.py's: NSD serving a signed zone
(dane.test) and an unsigned one (plain.test), a validating Unbound as
mailport's `resolver`. The receiver is a second mailport (a real TLS
receiver that keeps up: smtp-sink has no TLS) on 127.0.25.X:25 with one
certificate for both MX names. The two cases differ only in the
recipient's domain:
  dane   sink.dane.test, signed, with a TLSA 3 1 1 record for the
         receiver's key: every new connection looks up TLSA and is
         verified by OpenSSL's DANE (the log says policy=dane verified=yes);
  plain  sink.plain.test, unsigned: opportunistic STARTTLS (policy=may).
For each run the sender is filled with N messages of 4 KiB while the
receiver is down (each tried once, deferred), the receiver starts, the
clock starts at `mailport queue flush` and stops when the receiver's
Maildir holds N messages. Cases alternate; each figure is the median.

Options (environment): BENCH_RUNS (default 3), BENCH_MESSAGES (default 1000).
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
from dnssec import DnssecDns, leaf_certs, tlsa  # noqa: E402
from receivers import next_ip  # noqa: E402

MAILPORT = os.environ.get("MAILPORT", os.path.join(REPO, "build", "mailport"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
N = int(os.environ.get("BENCH_MESSAGES", "1000"))
SENDER_DOMAIN = "bench.plain.test"
AUTH_USER = "user@" + SENDER_DOMAIN
PW = "bench-dane-pw-7"
BODY = ("X" * 76 + "\r\n") * (4096 // 78)


def log(*a):
    print(*a, flush=True)


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.02)


def count_files(d):
    try:
        return len(os.listdir(d))
    except FileNotFoundError:
        return 0


def password_line(user):
    p = subprocess.run([MAILPORT, "passwd", "--user", user], input=(PW + "\n").encode(),
                       capture_output=True, timeout=30, check=True)
    return p.stdout.strip().splitlines()[-1] + b"\n"


class Mailport:
    def __init__(self, root, prefix, conf_lines, users, cert, key):
        self.dir = tempfile.mkdtemp(prefix=prefix, dir=root)
        os.chmod(self.dir, 0o755)
        with open(os.path.join(self.dir, "users"), "wb") as f:
            for u in users:
                f.write(password_line(u))
        shutil.copy(cert, os.path.join(self.dir, "cert.pem"))
        shutil.copy(key, os.path.join(self.dir, "key.pem"))
        for n in ("users", "cert.pem", "key.pem"):
            os.chmod(os.path.join(self.dir, n), 0o644)
        self.conf = os.path.join(self.dir, "mailport.conf")
        with open(self.conf, "w") as f:
            f.write("users users\nspool spool\nmailboxes mail\ntls cert.pem key.pem\n")
            f.write("\n".join(conf_lines) + "\n")
        self.log_file = os.path.join(self.dir, "log.txt")
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

    def cleanup(self):
        stop_process(self.proc, timeout=15)
        shutil.rmtree(self.dir, ignore_errors=True)


def one_run(case, root, certs, leaf, dns, rx_ip):
    rcpt_domain = "sink.%s.test" % case
    sub_port = free_port()
    sender = Mailport(root, "dane-snd-", [
        "hostname mx." + SENDER_DOMAIN, "domain " + SENDER_DOMAIN,
        "listen 127.0.0.1:%d submission" % sub_port, dns.resolver_line(),
        "retry-interval 1h", "retry-max-interval 1h"], [AUTH_USER], certs.chain_a, certs.key_a)
    receiver = Mailport(root, "dane-rcv-", [
        "hostname mx.sink.dane.test", "domain sink.dane.test sink.plain.test",
        "listen %s:25 smtp" % rx_ip, dns.resolver_line(), "auth-timeout 2",
        "max-connections-per-ip 100"],
        ["r@sink.dane.test", "r@sink.plain.test"], leaf.chain_a, leaf.key_a)
    try:
        sender.start()
        ctx = ssl.create_default_context(cafile=certs.ca)
        with smtplib.SMTP("127.0.0.1", sub_port, timeout=30) as s:
            s.starttls(context=ctx)
            s.login(AUTH_USER, PW)
            for i in range(N):
                s.sendmail(AUTH_USER, ["r@" + rcpt_domain],
                           "From: <%s>\r\nTo: <r@%s>\r\nSubject: bench %d\r\n\r\n%s"
                           % (AUTH_USER, rcpt_domain, i, BODY))
        wait_until(lambda: sender.log_text().count("status=deferred") >= N, 180,
                   "every message to be deferred once")
        receiver.start()
        new = os.path.join(receiver.dir, "mail", rcpt_domain, "r", "new")
        t0 = time.monotonic()
        subprocess.run([MAILPORT, "queue", "flush", "-c", sender.conf], check=True,
                       capture_output=True, timeout=30)
        wait_until(lambda: count_files(new) >= N, 600, "the receiver to get them all")
        dt = time.monotonic() - t0
        text = sender.log_text()
        want = "policy=dane verified=yes" if case == "dane" else "policy=may"
        sent = [ln for ln in text.splitlines() if "status=sent" in ln]
        if len(sent) < N or not all(want in ln for ln in sent):
            raise RuntimeError("%s: %d sent lines, not all with %r:\n%s"
                               % (case, len(sent), want, "\n".join(sent[:3])))
        conns = receiver.log_text().count("event=connect ")
        log("%-5s %d messages in %.2f s: %.0f msgs/s (%d connections)"
            % (case, N, dt, N / dt, conns))
        return N / dt
    finally:
        receiver.cleanup()
        sender.cleanup()


def main():
    if os.geteuid() != 0:
        sys.exit("dane_bench.py needs root (the receiver listens on port 25)")
    if not os.access(MAILPORT, os.X_OK):
        sys.exit("%s is missing: run make first" % MAILPORT)
    root = tempfile.mkdtemp(prefix="mailport-danebench-", dir="/var/tmp")
    os.chmod(root, 0o755)
    dns = None
    try:
        certs_dir = os.path.join(root, "certs")
        os.makedirs(certs_dir)
        certs = make_certs(certs_dir)
        leaf = leaf_certs(certs, "mx.sink.dane.test",
                          dns_names=["mx.sink.dane.test", "mx.sink.plain.test"])
        rx_ip = next_ip()
        dns = DnssecDns(root, signed={"dane.test": [
            "sink.dane.test. MX 10 mx.sink.dane.test.", "mx.sink.dane.test. A " + rx_ip,
            "_25._tcp.mx.sink.dane.test. TLSA " + tlsa(leaf.leaf_a)]},
            unsigned={"plain.test": [
                "sink.plain.test. MX 10 mx.sink.plain.test.", "mx.sink.plain.test. A " + rx_ip,
                "bench.plain.test. A 127.0.0.1"]}).start()
        rates = {"dane": [], "plain": []}
        for _ in range(RUNS):
            for case in ("plain", "dane"):
                rates[case].append(one_run(case, root, certs, leaf, dns, rx_ip))
        d, p = statistics.median(rates["dane"]), statistics.median(rates["plain"])
        log("\n| outbound over STARTTLS, 4 KiB, %d messages | DANE msgs/s | no DANE msgs/s "
            "| DANE / no DANE |" % N)
        log("|---|---|---|---|")
        log("| median of %d | %.0f | %.0f | %.2f |" % (RUNS, d, p, d / p))
    finally:
        if dns is not None:
            dns.cleanup()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
