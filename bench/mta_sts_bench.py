#!/usr/bin/python3
"""Outbound delivery rate with MTA-STS (a cached policy in enforce mode)
against the same delivery without it.

Run as root (the receiver listens on port 25 of 127.0.25.X, the policy host
on port 443 of 127.0.43.X): `/usr/bin/python3 bench/mta_sts_bench.py` after
`make` (build/mailport).

DNS is dnsmasq (tests/integration/dns.py), the policy host Python's
http.server behind ssl (tests/integration/sts_https.py) with a test CA the
sender trusts through `outbound-cafile`. The receiver is a second mailport
(a real TLS receiver: smtp-sink has no TLS) on 127.0.25.X:25 with one
certificate from that CA for both MX names. The two cases differ only in
the recipient's domain:
  sts    sink.sts.test, whose _mta-sts record and policy say enforce, mx:
         mx.sink.sts.test: each new connection needs the policy (the TXT
         lookup, the cached file) and a certificate that verifies for the MX
         name (the log says policy=mta-sts mode=enforce verified=yes);
  plain  sink.plain.test, no policy: opportunistic STARTTLS (policy=may).
For each run the sender is filled with N messages of 4 KiB while the
receiver is down (each tried once, deferred: the policy is fetched then, so
the timed part uses the cache), the receiver starts, the clock starts at
`mailport queue flush` and stops when the receiver's Maildir holds N
messages. Cases alternate; each figure is the median.

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
from dns import Dnsmasq  # noqa: E402
from receivers import next_ip  # noqa: E402
from sts_https import PolicyServer, StsCa, policy  # noqa: E402

MAILPORT = os.environ.get("MAILPORT", os.path.join(REPO, "build", "mailport"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
N = int(os.environ.get("BENCH_MESSAGES", "1000"))
SENDER_DOMAIN = "bench.plain.test"
AUTH_USER = "user@" + SENDER_DOMAIN
PW = "bench-sts-pw-7"
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


class Rx:
    """The receiver's certificate files, as Mailport takes them."""

    def __init__(self, chain, key):
        self.chain_a, self.key_a = chain, key


def one_run(case, root, certs, ca, rx, dns, rx_ip):
    rcpt_domain = "sink.%s.test" % case
    sub_port = free_port()
    sender = Mailport(root, "sts-snd-", [
        "hostname mx." + SENDER_DOMAIN, "domain " + SENDER_DOMAIN,
        "listen 127.0.0.1:%d submission" % sub_port, dns.resolver_line(),
        "outbound-cafile " + ca.ca, "retry-interval 1h", "retry-max-interval 1h"],
        [AUTH_USER], certs.chain_a, certs.key_a)
    receiver = Mailport(root, "sts-rcv-", [
        "hostname mx.sink.sts.test", "domain sink.sts.test sink.plain.test",
        "listen %s:25 smtp" % rx_ip, dns.resolver_line(), "auth-timeout 2",
        "max-connections-per-ip 100"],
        ["r@sink.sts.test", "r@sink.plain.test"], rx.chain_a, rx.key_a)
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
        want = "policy=mta-sts mode=enforce verified=yes" if case == "sts" else "policy=may"
        sent = [ln for ln in text.splitlines() if "status=sent" in ln]
        if len(sent) < N or not all(want in ln for ln in sent):
            raise RuntimeError("%s: %d sent lines, not all with %r:\n%s"
                               % (case, len(sent), want, "\n".join(sent[:3])))
        fetches = text.count("event=mta_sts_policy ")
        log("%-5s %d messages in %.2f s: %.0f msgs/s (policy fetches: %d)"
            % (case, N, dt, N / dt, fetches))
        return N / dt
    finally:
        receiver.cleanup()
        sender.cleanup()


def main():
    if os.geteuid() != 0:
        sys.exit("mta_sts_bench.py needs root (ports 25 and 443)")
    if not os.access(MAILPORT, os.X_OK):
        sys.exit("%s is missing: run make first" % MAILPORT)
    root = tempfile.mkdtemp(prefix="mailport-stsbench-", dir="/var/tmp")
    os.chmod(root, 0o755)
    dns = web = None
    try:
        certs_dir = os.path.join(root, "certs")
        os.makedirs(certs_dir)
        certs = make_certs(certs_dir)
        ca_dir = os.path.join(root, "sts-ca")
        os.makedirs(ca_dir)
        ca = StsCa(ca_dir)
        rx = Rx(*ca.issue(["mx.sink.sts.test", "mx.sink.plain.test"]))
        rx_ip = next_ip()
        web = PolicyServer(*ca.issue(["mta-sts.sink.sts.test"]),
                           policy("enforce", ["mx.sink.sts.test"])).start()
        dns = Dnsmasq(root, mx={"sink.sts.test": [(10, "mx.sink.sts.test")],
                                "sink.plain.test": [(10, "mx.sink.plain.test")]},
                      hosts={"mx.sink.sts.test": [rx_ip], "mx.sink.plain.test": [rx_ip],
                             "mta-sts.sink.sts.test": [web.ip],
                             "bench.plain.test": ["127.0.0.1"]},
                      txt={"_mta-sts.sink.sts.test": ["v=STSv1; id=bench1"]},
                      log_queries=False).start()
        rates = {"sts": [], "plain": []}
        for _ in range(RUNS):
            for case in ("plain", "sts"):
                rates[case].append(one_run(case, root, certs, ca, rx, dns, rx_ip))
        s, p = statistics.median(rates["sts"]), statistics.median(rates["plain"])
        log("\n| outbound over STARTTLS, 4 KiB, %d messages | MTA-STS msgs/s | no MTA-STS "
            "msgs/s | MTA-STS / none |" % N)
        log("|---|---|---|---|")
        log("| median of %d | %.0f | %.0f | %.2f |" % (RUNS, s, p, s / p))
    finally:
        if web is not None:
            web.stop()
        if dns is not None:
            dns.cleanup()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
