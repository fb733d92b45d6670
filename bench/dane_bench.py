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

Options (environment): BENCH_RUNS (default 5), BENCH_MESSAGES (default 4000: a
shorter timed part is within this host's noise).
"""

import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from tls_pair import MAILPORT, N, RUNS, log, timed_run  # noqa: E402
from conftest import make_certs  # noqa: E402  (tests/integration, on tls_pair's path)
from dnssec import DnssecDns, leaf_certs, tlsa  # noqa: E402
from receivers import next_ip  # noqa: E402


def one_run(case, root, certs, leaf, dns, rx_ip):
    want = "policy=dane verified=yes" if case == "dane" else "policy=may"
    return timed_run(case, root, certs, dns, rx_ip, leaf, [], want)


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
