#!/usr/bin/python3
"""`mailport verify` in bulk: addresses per second and SMTP connections opened.

Run as root (the receiver listens on port 25 of a 127.0.25.X address):

    MAILPORT=build/mailport python3 bench/verify_bench.py

What it does, all on loopback:
  * dnsmasq (tests/integration/dns.py) serves 100 domains, d0.bench.test ..
    d99.bench.test, each with one MX pointing at the same receiver;
  * one catch-all aiosmtpd receiver (tests/integration/receivers.py) on
    127.0.25.X:25 answers 250 to every RCPT and counts the connections,
    transactions and RCPTs it gets;
  * `mailport verify --file` checks 10,000 addresses (100 per domain, the
    list shuffled, so the domains are interleaved) with --concurrency 8 and
    the default --per-domain 1.
Reported: wall time, addresses/s, SMTP connections the receiver accepted
(the aim: one per domain, not one per address or per batch), the most in
use at once (Receiver.peak_busy; never above --concurrency), transactions
(MAIL commands), made-up catch-all addresses asked (the aim: one per
domain), and the verdict counts (all `risky`: the receiver is a catch-all).

Options (environment): VERIFY_BENCH_ADDRS (default 10000), VERIFY_BENCH_DOMAINS
(default 100), VERIFY_BENCH_CONCURRENCY (default 8), MAILPORT (the binary,
default build/mailport).
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from dns import Dnsmasq  # noqa: E402
from receivers import Receiver  # noqa: E402


def main():
    if os.geteuid() != 0:
        sys.exit("verify_bench: needs root (a receiver on port 25 of 127.0.25.X)")
    n_addrs = int(os.environ.get("VERIFY_BENCH_ADDRS", "10000"))
    n_doms = int(os.environ.get("VERIFY_BENCH_DOMAINS", "100"))
    conc = os.environ.get("VERIFY_BENCH_CONCURRENCY", "8")
    binary = os.environ.get("MAILPORT", os.path.join(ROOT, "build", "mailport"))
    root = tempfile.mkdtemp(prefix="verify-bench-")
    rx = dns = None
    try:
        rx = Receiver().start()
        domains = ["d%d.bench.test" % i for i in range(n_doms)]
        dns = Dnsmasq(root, mx={d: [(10, "mx.bench.test")] for d in domains},
                      hosts={"mx.bench.test": [rx.ip]}, zones=["test"])
        dns.start()
        addrs = ["user%d@%s" % (i // n_doms, domains[i % n_doms]) for i in range(n_addrs)]
        random.Random(7).shuffle(addrs)
        path = os.path.join(root, "list.txt")
        with open(path, "w") as f:
            f.write("\n".join(addrs) + "\n")
        t0 = time.monotonic()
        p = subprocess.run([binary, "verify", "--resolver", "127.0.0.1:%d" % dns.port,
                            "--timeout", "10", "--concurrency", conc, "--json", "--file",
                            path], capture_output=True, timeout=1800)
        took = time.monotonic() - t0
        if p.returncode != 0:
            sys.exit("verify_bench: mailport verify exited %d: %s"
                     % (p.returncode, p.stderr.decode(errors="replace")[-2000:]))
        rows = json.loads(p.stdout)
        verdicts = {}
        for r in rows:
            verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
        with rx.lock:
            log = list(rx.rcpt_log)
            conns, txs = rx.connections, rx.transactions
        peak = rx.peak_busy()
        probes = sum(1 for a, _ in log if a.startswith("mpv-"))
        asked = len(log) - probes
        print("addresses:        %d over %d domains, --concurrency %s" % (len(rows), n_doms,
                                                                         conc))
        print("wall time:        %.2f s" % took)
        print("addresses/s:      %.0f" % (len(rows) / took))
        print("SMTP connections: %d (%.2f per domain, %.1f addresses each, at most %d at once)"
              % (conns, conns / n_doms, asked / max(conns, 1), peak))
        print("transactions:     %d (%.1f RCPTs each)" % (txs, len(log) / max(txs, 1)))
        print("RCPTs seen:       %d (%d addresses + %d catch-all probes)"
              % (len(log), asked, probes))
        print("verdicts:         %s" % ", ".join("%s %d" % kv for kv in sorted(verdicts.items())))
        print("summary (stderr): %s" % p.stderr.decode(errors="replace").strip())
    finally:
        if dns is not None:
            dns.cleanup()
        if rx is not None:
            rx.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
