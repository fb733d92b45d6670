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
from dns import Dnsmasq  # noqa: E402
from receivers import next_ip  # noqa: E402
from sts_https import PolicyServer, StsCa, policy  # noqa: E402


class Rx:
    """The receiver's certificate files, as Mailport takes them."""

    def __init__(self, chain, key):
        self.chain_a, self.key_a = chain, key


def one_run(case, root, certs, ca, rx, dns, rx_ip):
    want = "policy=mta-sts mode=enforce verified=yes" if case == "sts" else "policy=may"
    return timed_run(case, root, certs, dns, rx_ip, rx, ["outbound-cafile " + ca.ca], want)


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
