"""MTA-STS for outbound delivery (RFC 8461 4 and 5): the policy of the
recipient's domain, fetched over HTTPS and cached under the spool, decides
whether the MX must present a certificate that verifies for its name.

Real parts only: dnsmasq serves sts.test's MX and `_mta-sts` TXT record and
the address of mta-sts.sts.test; the policy host is Python's http.server
behind ssl on 127.0.43.X:443 (sts_https.py) with a certificate from a test CA
that mailport trusts through `outbound-cafile`; the MX is an aiosmtpd
receiver on 127.0.25.X:25 offering STARTTLS with a chosen certificate (from
the test CA for mx.sts.test, self-signed, or for another name).

Cases: enforce and all good (delivered, logged policy=mta-sts mode=enforce
verified=yes); enforce with a certificate that does not verify (deferred,
the receiver gets nothing); enforce with STARTTLS not offered (deferred,
never in the clear); enforce with an MX the policy does not name
(deferred without a connection); testing mode with a bad certificate
(delivered, the failure in the log); the policy cached across a restart
with the HTTPS host gone (still enforced); the cached policy kept while the
TXT id stays, refetched when it changes; max_age run out (refetched); a
policy over 64 KiB and one served too slowly (no policy: delivered as
before, the failure logged, bounded by outbound-timeout).
"""
import os
import re
import time

import pytest

from conftest import poll, token
from dns import make_dns  # noqa: F401
from receivers import Receiver, require_root
from sts_https import make_policy_server, policy, sts_ca  # noqa: F401
from test_outbound import deliveries, outbound_server, submit, wait_delivery

D = "sts.test"
MXH = "mx.sts.test"


@pytest.fixture
def sts_receiver(sts_ca):
    """Factory: sts_receiver(cert) -> a started receiver on 127.0.25.X:25
    offering STARTTLS with cert ("good": the test CA's for mx.sts.test,
    "self-signed", "other-name", or a (chain, key) pair)."""
    require_root()
    pytest.importorskip("aiosmtpd")
    made = []

    def factory(cert="good"):
        if cert is None:   # no STARTTLS offered (as if an attacker stripped it)
            rx = Receiver(None, tls=False)
            made.append(rx)
            return rx.start()
        if cert == "good":
            cert = sts_ca.issue([MXH])
        elif cert == "self-signed":
            cert = sts_ca.self_signed([MXH])
        elif cert == "other-name":
            cert = sts_ca.issue(["other.sts.test"])
        rx = Receiver(sts_ca.receiver_certs(cert), tls=True)
        made.append(rx)
        return rx.start()

    yield factory
    for rx in made:
        rx.stop()


class World:
    """A domain with an MTA-STS policy, its MX, and a mailport delivering to it."""

    def __init__(self, srv, dns, rx, web, sts_id):
        self.srv, self.dns, self.rx, self.web, self.sts_id = srv, dns, rx, web, sts_id

    def set_id(self, sts_id):
        self.sts_id = sts_id
        txt = dict(self.dns.txt)
        txt["_mta-sts." + D] = ["v=STSv1; id=%s" % sts_id]
        self.dns.restart(txt=txt)

    def send(self, status, rcpt="bob@" + D, fresh=False):
        """Submits a message; waits for its delivery line with status; returns it.
        fresh: first wait for the connection kept from the message before to
        close (2 s idle), so this one looks the policy up again instead of
        going out on it."""
        if fresh:
            assert poll(lambda: self.rx.open_now == 0, 10), "the kept connection stays open"
        since = len(self.srv.log_text())
        marker = token()
        qid = submit(self.srv, rcpt, marker)
        got = wait_delivery(self.srv, rcpt, status, since=since, timeout=20)
        assert got, "no %s delivery line for %s\n%s" % (status, qid,
                                                       self.srv.log_text()[since:][-3000:])
        return marker, got[0], self.srv.log_text()[since:]


@pytest.fixture
def world(make_server, make_dns, make_policy_server, sts_receiver, sts_ca):
    def factory(mode="enforce", mxs=(MXH,), cert="good", max_age=86400, body=None,
                sts_id="20261206a", timeout=3):
        rx = sts_receiver(cert)
        web = make_policy_server(D, body if body is not None else policy(mode, list(mxs),
                                                                        max_age))
        dns = make_dns(mx={D: [(10, MXH)]}, hosts={MXH: [rx.ip], "mta-sts." + D: [web.ip]},
                       txt={"_mta-sts." + D: ["v=STSv1; id=%s" % sts_id]})
        srv = outbound_server(make_server, dns, timeout=timeout,
                              extra=["outbound-cafile %s" % sts_ca.ca])
        return World(srv, dns, rx, web, sts_id)
    return factory


def attempts(log):
    return [ln for ln in log.splitlines() if "event=attempt" in ln]


def test_enforce_all_good_is_delivered_verified(world):
    w = world()
    marker, d, log = w.send("sent")
    assert w.rx.wait_messages(marker)
    assert d["tls"].startswith("TLSv1."), d["line"]
    assert "policy=mta-sts mode=enforce verified=yes" in d["line"], d["line"]
    assert w.web.requests == 1 and w.web.hosts == ["mta-sts." + D]
    assert "event=mta_sts_policy domain=%s id=20261206a mode=enforce" % D in log
    # Cached on disk under the spool, as served.
    with open(os.path.join(w.srv.spool, "mta-sts", D), newline="") as f:
        cached = f.read()
    assert cached.startswith("mailport-mta-sts 1\nid: 20261206a\nfetched: ")
    assert cached.endswith(policy("enforce", [MXH]))
    # The next message uses the cache: no second fetch.
    w.send("sent", fresh=True)
    assert w.web.requests == 1


@pytest.mark.parametrize("cert", ["self-signed", "other-name"])
def test_enforce_with_a_bad_certificate_is_deferred(world, cert):
    w = world(cert=cert)
    marker, d, log = w.send("deferred")
    assert "policy=mta-sts mode=enforce" in d["line"], d["line"]
    att = attempts(log)
    assert att and all("verified=no" in a or "verified=" not in a for a in att), att
    want = {"self-signed": "certificate-not-trusted", "other-name": "certificate-host-mismatch"}
    assert [a for a in att if "tls_result=" + want[cert] in a], att
    # Never in the clear, never to the impostor.
    assert w.rx.find(marker) == []
    assert not [m for m in w.rx.messages if marker.encode() in m.data]


def test_enforce_without_starttls_is_deferred_never_plaintext(world):
    w = world(cert=None)
    marker, d, log = w.send("deferred")
    assert "policy=mta-sts mode=enforce" in d["line"], d["line"]
    assert w.rx.find(marker) == [], "sent in the clear"
    assert [a for a in attempts(log) if "starttls-not-supported" in a], attempts(log)


def test_enforce_with_an_mx_not_in_the_policy_is_deferred(world):
    w = world(mxs=("other-mx.sts.test", "*.elsewhere.test"))
    marker, d, log = w.send("deferred")
    assert "policy=mta-sts mode=enforce" in d["line"], d["line"]
    assert "not named by the domain's MTA-STS policy (mode enforce)" in d["line"], d["line"]
    assert [a for a in attempts(log) if "mx: line of the policy" in a], log
    assert w.rx.connections == 0, "an MX the policy does not name is not even connected to"
    assert w.rx.find(marker) == []


def test_testing_mode_with_a_bad_certificate_is_delivered_and_reported(world):
    w = world(mode="testing", cert="self-signed")
    marker, d, log = w.send("sent")
    assert w.rx.wait_messages(marker)
    assert "policy=mta-sts mode=testing verified=no" in d["line"], d["line"]
    assert d["tls"].startswith("TLSv1."), d["line"]
    # The failure is reported in the log (and counted for TLS-RPT).
    assert re.search(r"event=mta_sts_testing_failure relay=%s\[%s\]:25 "
                     r"tls_result=certificate-not-trusted " % (MXH, w.rx.ip), log), log[-2000:]


def test_policy_cached_across_a_restart_without_the_https_host(world, sts_ca):
    w = world()
    w.send("sent")
    assert w.web.requests == 1
    w.web.stop()
    w.srv.restart()
    # Still enforced from the disk: a good MX is delivered as mta-sts ...
    marker, d, _ = w.send("sent")
    assert "policy=mta-sts mode=enforce verified=yes" in d["line"], d["line"]
    # ... and an impostor's certificate is refused.
    w.rx.stop()
    bad = Receiver(sts_ca.receiver_certs(sts_ca.self_signed([MXH])), ip=w.rx.ip, tls=True)
    bad.start()
    try:
        marker, d, _ = w.send("deferred")
        assert "policy=mta-sts mode=enforce" in d["line"], d["line"]
        assert bad.find(marker) == []
    finally:
        bad.stop()


def test_refetched_only_when_the_txt_id_changes(world):
    w = world(mode="testing", mxs=(MXH,))
    w.send("sent")
    assert w.web.requests == 1
    # The file changes (enforce, another MX) but the id does not: the cache holds.
    w.web.body = policy("enforce", ["other-mx.sts.test"])
    marker, d, _ = w.send("sent", fresh=True)
    assert "mode=testing" in d["line"] and w.web.requests == 1, d["line"]
    # A new id: fetched again, and the new policy applies at once.
    w.set_id("20261206b")
    marker, d, log = w.send("deferred", fresh=True)
    assert w.web.requests == 2
    assert "policy=mta-sts mode=enforce" in d["line"], d["line"]
    assert "event=mta_sts_policy domain=%s id=20261206b mode=enforce" % D in log
    with open(os.path.join(w.srv.spool, "mta-sts", D)) as f:
        assert "id: 20261206b\n" in f.read()


def test_a_failed_refresh_keeps_the_cached_policy(world):
    w = world()
    w.send("sent")
    # A new id, but the policy host now serves garbage: the old policy stays.
    w.web.status = 500
    w.set_id("20261206c")
    marker, d, log = w.send("sent", fresh=True)
    assert "policy=mta-sts mode=enforce verified=yes" in d["line"], d["line"]
    assert re.search(r"event=mta_sts_fetch_failed domain=%s id=20261206c "
                     r"reason=\"sts-policy-fetch-error: .*HTTP status 500.*cached=kept" % D,
                     log), log


def test_max_age_run_out_is_refetched(world):
    w = world(max_age=3600)
    w.send("sent")
    assert w.web.requests == 1
    # Age the cached copy past its max_age (as if an hour and a second went by).
    path = os.path.join(w.srv.spool, "mta-sts", D)
    with open(path, newline="") as f:
        text = f.read()
    fetched = int(re.search(r"^fetched: (\d+)$", text, re.M).group(1))
    with open(path, "w", newline="") as f:
        f.write(text.replace("fetched: %d" % fetched, "fetched: %d" % (fetched - 3601)))
    _, _, log = w.send("sent", fresh=True)
    assert w.web.requests == 2, log


@pytest.mark.parametrize("limit", ["size", "time"])
def test_fetch_limits(world, limit):
    body = (policy("enforce", [MXH]) + "x_pad: " + "y" * 70000 + "\r\n") if limit == "size" \
        else None
    w = world(body=body, cert="self-signed", timeout=3)
    if limit == "time":
        w.web.trickle = 0.5   # 70 bytes at 2 a second: far past outbound-timeout 3
    t0 = time.monotonic()
    marker, d, log = w.send("sent")
    took = time.monotonic() - t0
    # No policy could be had: delivered as without MTA-STS (opportunistic, unverified).
    assert "policy=mta-sts" not in d["line"], d["line"]
    words = "larger than 65536 bytes" if limit == "size" else "within 3000 ms"
    assert re.search(r"event=mta_sts_fetch_failed domain=%s .*%s.*cached=none" % (D, words),
                     log), log[-2000:]
    assert took < 15, took
