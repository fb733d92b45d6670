#!/usr/bin/python3
"""What the outbound TLS benchmarks share (dane_bench.py, mta_sts_bench.py):
a sender mailport filled while its receiver, a second mailport with a real
TLS door, is down, then timed from `mailport queue flush` until the
receiver's Maildir holds every message.
"""

import os
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from conftest import free_port, read_text, stop_process  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from outbound_bench import count_files, log, wait_until  # noqa: E402

MAILPORT = os.environ.get("MAILPORT", os.path.join(REPO, "build", "mailport"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
N = int(os.environ.get("BENCH_MESSAGES", "4000"))
SENDER_DOMAIN = "bench.plain.test"
AUTH_USER = "user@" + SENDER_DOMAIN
PW = "bench-tls-pw-7"
BODY = ("X" * 76 + "\r\n") * (4096 // 78)


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




def timed_run(case, root, certs, dns, rx_ip, rx_certs, sender_extra, want):
    """One run to sink.CASE.test: msgs/s, after checking that every sent line
    says want (the policy the case must have used). rx_certs: an object with
    chain_a and key_a for the receiver's door (both MX names)."""
    rcpt_domain = "sink.%s.test" % case
    sub_port = free_port()
    sender = Mailport(root, "tls-snd-", [
        "hostname mx." + SENDER_DOMAIN, "domain " + SENDER_DOMAIN,
        "listen 127.0.0.1:%d submission" % sub_port, dns.resolver_line(),
        "retry-interval 1h", "retry-max-interval 1h", *sender_extra],
        [AUTH_USER], certs.chain_a, certs.key_a)
    receiver = Mailport(root, "tls-rcv-", [
        "hostname mx.%s" % rcpt_domain, "domain %s" % rcpt_domain,
        "listen %s:25 smtp" % rx_ip, dns.resolver_line(), "auth-timeout 2",
        "max-connections-per-ip 100"], ["r@" + rcpt_domain], rx_certs.chain_a, rx_certs.key_a)
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
        sent = [ln for ln in sender.log_text().splitlines() if "status=sent" in ln]
        if len(sent) < N or not all(want in ln for ln in sent):
            raise RuntimeError("%s: %d sent lines, not all with %r:\n%s"
                               % (case, len(sent), want, "\n".join(sent[:3])))
        log("%-5s %d messages in %.2f s: %.0f msgs/s (%d connections, %d policy fetches)"
            % (case, N, dt, N / dt, receiver.log_text().count("event=connect "),
               sender.log_text().count("event=mta_sts_policy ")))
        return N / dt
    finally:
        receiver.cleanup()
        sender.cleanup()
