"""DANE for outbound delivery (issue 15; RFC 7672) with real parts: NSD serves
a zone signed with ldns-signzone and an unsigned one, a validating Unbound
resolves through them with the signed zone's KSK as its trust anchor
(dnssec.py), and receivers on port 25 of 127.0.25.X present certificates
issued for the case (dnssec.leaf_certs). mailport's `resolver` is the Unbound.

Each delivery line says which policy applied and whether the peer was
verified: `tls=TLSv1.3 policy=dane verified=yes`.
"""

import os

import pytest

from dnssec import make_dnssec, tlsa, leaf_certs  # noqa: F401


def test_fixture_validates(make_dnssec, certs):
    """The fixture itself: AD on the signed zone, none on the unsigned one,
    SERVFAIL for a TLSA RRset whose data no longer matches its signature."""
    leaf = leaf_certs(certs, "mx-ee.dane.test")
    rec = tlsa(leaf.leaf_a)
    dns = make_dnssec(
        signed={"dane.test": ["ee.dane.test. MX 10 mx-ee.dane.test.",
                              "mx-ee.dane.test. A 127.0.25.250",
                              "_25._tcp.mx-ee.dane.test. TLSA " + rec,
                              "_25._tcp.mx-bogus.dane.test. TLSA " + rec]},
        unsigned={"plain.test": ["plain.test. MX 10 mx.plain.test.",
                                 "mx.plain.test. A 127.0.25.251"]},
        bogus=["_25._tcp.mx-bogus.dane.test. TLSA"])
    rcode, ad, ans = dns.query("ee.dane.test", "MX")
    assert rcode == "NOERROR" and ad and ans and ans[0][0] == "MX", (rcode, ad, ans, dns.logs())
    rcode, ad, ans = dns.query("_25._tcp.mx-ee.dane.test", "TLSA")
    assert rcode == "NOERROR" and ad and ans[0][1][3:].hex() == rec.split()[3], (rcode, ad, ans)
    rcode, ad, ans = dns.query("_25._tcp.nothing.dane.test", "TLSA")
    assert rcode == "NXDOMAIN" and ad, (rcode, ad)
    rcode, ad, ans = dns.query("plain.test", "MX")
    assert rcode == "NOERROR" and not ad and ans, (rcode, ad, ans)
    rcode, ad, ans = dns.query("_25._tcp.mx-bogus.dane.test", "TLSA")
    assert rcode == "SERVFAIL" and not ans, (rcode, ad, ans)


# ---------------------------------------------------------------- delivery under DANE

from receivers import Receiver, require_root  # noqa: E402
from test_outbound import ALICE, deliveries, log_tail, outbound_server, submit, \
    wait_delivery  # noqa: E402
from conftest import token  # noqa: E402


@pytest.fixture
def make_rx():
    """Receivers on 127.0.25.X:25 presenting the certificate given (a dnssec.Leaf)."""
    require_root()
    pytest.importorskip("aiosmtpd")
    made = []

    def factory(leaf=None, tls=True, **kw):
        rx = Receiver(leaf, tls=tls, **kw)
        made.append(rx)
        return rx.start()

    yield factory
    for rx in made:
        rx.stop()


def mx_records(domain, mx_host, ip, tlsa_rdata=()):
    recs = ["%s. MX 10 %s." % (domain, mx_host), "%s. A %s" % (mx_host, ip)]
    recs += ["_25._tcp.%s. TLSA %s" % (mx_host, r) for r in tlsa_rdata]
    return recs


def attempts(srv, relay_prefix):
    return [ln for ln in srv.log_text().splitlines()
            if "event=attempt" in ln and ("relay=" + relay_prefix) in ln]


def kv(line, key):
    import re
    m = re.search(r"\b%s=(\S+)" % key, line)
    return m.group(1) if m else None


def test_dane_ee_match_delivers_verified(make_dnssec, make_server, make_rx, certs):
    """DANE-EE 3 1 1: the certificate names another host and no CA we trust
    issued it for this one; its key matches the TLSA record, and that is
    what authenticates it (RFC 7672 3.1.1). Delivered over TLS, verified."""
    leaf = leaf_certs(certs, "unrelated-name.example")
    rx = make_rx(leaf)
    dns = make_dnssec(signed={"dane.test": mx_records("ee.dane.test", "mx-ee.dane.test", rx.ip,
                                                      [tlsa(leaf.leaf_a, 3, 1, 1)])})
    srv = outbound_server(make_server, dns)
    m = token()
    submit(srv, "x@ee.dane.test", m)
    got = rx.wait_messages(m)
    assert len(got) == 1 and got[0].tls, log_tail(srv)
    sent = wait_delivery(srv, "x@ee.dane.test", "sent")
    assert sent, log_tail(srv)
    line = sent[0]["line"]
    assert kv(line, "policy") == "dane" and kv(line, "verified") == "yes", line
    assert kv(line, "tls").startswith("TLSv1."), line


def test_dane_ta_match_and_name(make_dnssec, make_server, make_rx, certs):
    """DANE-TA 2 0 1 (the issuing CA's certificate): a leaf for the MX host
    that chains to it is verified; one for another name is not — DANE-TA
    checks the name (RFC 7672 3.2.2) — and is deferred, never sent."""
    good = leaf_certs(certs, "mx-ta.dane.test")
    wrong = leaf_certs(certs, "someone-else.dane.test")
    rx_good, rx_wrong = make_rx(good), make_rx(wrong)
    ta = tlsa(os.path.join(certs.dir, "int.pem"), 2, 0, 1)
    dns = make_dnssec(signed={"dane.test":
                              mx_records("ta.dane.test", "mx-ta.dane.test", rx_good.ip, [ta])
                              + mx_records("ta2.dane.test", "mx-ta2.dane.test", rx_wrong.ip,
                                           [ta])})
    srv = outbound_server(make_server, dns)
    m1, m2 = token(), token()
    submit(srv, "x@ta.dane.test", m1)
    submit(srv, "y@ta2.dane.test", m2)
    assert rx_good.wait_messages(m1), log_tail(srv)
    sent = wait_delivery(srv, "x@ta.dane.test", "sent")
    assert sent and kv(sent[0]["line"], "verified") == "yes", log_tail(srv)
    assert kv(sent[0]["line"], "policy") == "dane", sent[0]["line"]
    deferred = wait_delivery(srv, "y@ta2.dane.test", "deferred")
    assert deferred, log_tail(srv)
    tries = attempts(srv, "mx-ta2.dane.test")
    assert tries and kv(tries[0], "tls_result") == "certificate-host-mismatch", tries
    assert rx_wrong.messages == [] and rx_wrong.rcpt_log == [], "sent to the wrong host"


def test_dane_mismatch_defers_never_plaintext(make_dnssec, make_server, make_rx, certs):
    """The TLSA record is for another key: deferred, the attempt logged with
    the RFC 8460 result, and not one envelope command sent, in TLS or not."""
    served = leaf_certs(certs, "mx-bad.dane.test")
    other = leaf_certs(certs, "other-key.dane.test")
    rx = make_rx(served)
    dns = make_dnssec(signed={"dane.test": mx_records("bad.dane.test", "mx-bad.dane.test",
                                                      rx.ip, [tlsa(other.leaf_a, 3, 1, 1)])})
    srv = outbound_server(make_server, dns)
    m = token()
    submit(srv, "x@bad.dane.test", m)
    deferred = wait_delivery(srv, "x@bad.dane.test", "deferred")
    assert deferred, log_tail(srv)
    line = deferred[0]["line"]
    assert kv(line, "policy") == "dane" and kv(line, "verified") == "no", line
    assert "TLSA" in deferred[0]["reply"], deferred[0]
    tries = attempts(srv, "mx-bad.dane.test")
    assert tries and kv(tries[0], "tls_result") == "tlsa-invalid", tries
    assert rx.connections >= 1, "never connected: the test proves nothing"
    assert rx.messages == [] and rx.rcpt_log == [] and rx.transactions == 0


def test_dane_receiver_without_starttls_defers(make_dnssec, make_server, make_rx, certs):
    """TLSA published, STARTTLS not offered (stripped): deferred, nothing
    said in the clear beyond EHLO."""
    leaf = leaf_certs(certs, "mx-plain.dane.test")
    rx = make_rx(None, tls=False)
    dns = make_dnssec(signed={"dane.test": mx_records("strip.dane.test", "mx-plain.dane.test",
                                                      rx.ip, [tlsa(leaf.leaf_a)])})
    srv = outbound_server(make_server, dns)
    submit(srv, "x@strip.dane.test", token())
    deferred = wait_delivery(srv, "x@strip.dane.test", "deferred")
    assert deferred, log_tail(srv)
    tries = attempts(srv, "mx-plain.dane.test")
    assert tries and kv(tries[0], "tls_result") == "starttls-not-supported", tries
    assert rx.connections >= 1 and rx.transactions == 0 and rx.rcpt_log == []


def test_dane_bogus_tlsa_defers(make_dnssec, make_server, make_rx, certs):
    """The TLSA RRset's signature does not verify (bogus): the validating
    resolver answers SERVFAIL, delivery defers without connecting."""
    leaf = leaf_certs(certs, "mx-bogus.dane.test")
    rx = make_rx(leaf)
    dns = make_dnssec(signed={"dane.test": mx_records("bogus.dane.test", "mx-bogus.dane.test",
                                                      rx.ip, [tlsa(leaf.leaf_a)])},
                      bogus=["_25._tcp.mx-bogus.dane.test. TLSA"])
    assert dns.query("_25._tcp.mx-bogus.dane.test", "TLSA")[0] == "SERVFAIL"
    srv = outbound_server(make_server, dns)
    submit(srv, "x@bogus.dane.test", token())
    deferred = wait_delivery(srv, "x@bogus.dane.test", "deferred")
    assert deferred, log_tail(srv)
    assert "DNSSEC" in deferred[0]["reply"], deferred[0]
    tries = attempts(srv, "mx-bogus.dane.test")
    assert tries and kv(tries[0], "tls_result") == "dnssec-invalid", tries
    assert rx.connections == 0, "connected despite a bogus TLSA answer"


def test_unsigned_zone_stays_opportunistic(make_dnssec, make_server, make_rx, certs):
    """No DNSSEC (no trust anchor covers the zone): the TLSA record there is
    not believed; STARTTLS as before, unverified, delivered."""
    leaf = leaf_certs(certs, "mx.plain.test")
    other = leaf_certs(certs, "other.plain.test")
    rx = make_rx(leaf)
    dns = make_dnssec(unsigned={"plain.test": mx_records("plain.test", "mx.plain.test", rx.ip,
                                                         [tlsa(other.leaf_a)])})
    assert dns.query("plain.test", "MX")[1] is False  # no AD
    srv = outbound_server(make_server, dns)
    m = token()
    submit(srv, "x@plain.test", m)
    got = rx.wait_messages(m)
    assert got and got[0].tls, log_tail(srv)
    sent = wait_delivery(srv, "x@plain.test", "sent")
    assert sent, log_tail(srv)
    assert kv(sent[0]["line"], "policy") == "may", sent[0]["line"]
    assert kv(sent[0]["line"], "verified") == "no", sent[0]["line"]


def test_tls_policy_verify_good_and_bad_certificate(make_dnssec, make_server, make_rx, certs):
    """tls-policy verify: a certificate from outbound-cafile's CA for the MX
    name is delivered to (verified=yes); one for another name is deferred
    and nothing is sent to it."""
    good = leaf_certs(certs, "mx-good.plain.test")
    bad = leaf_certs(certs, "not-mx-bad.plain.test")
    rx_good, rx_bad = make_rx(good), make_rx(bad)
    dns = make_dnssec(unsigned={"plain.test":
                                mx_records("good.plain.test", "mx-good.plain.test", rx_good.ip)
                                + mx_records("bad.plain.test", "mx-bad.plain.test", rx_bad.ip)})
    srv = outbound_server(make_server, dns, extra=["outbound-cafile %s" % certs.ca,
                                                   "tls-policy good.plain.test verify",
                                                   "tls-policy bad.plain.test verify"])
    m1, m2 = token(), token()
    submit(srv, "x@good.plain.test", m1)
    submit(srv, "y@bad.plain.test", m2)
    assert rx_good.wait_messages(m1), log_tail(srv)
    sent = wait_delivery(srv, "x@good.plain.test", "sent")
    assert sent and kv(sent[0]["line"], "policy") == "verify", log_tail(srv)
    assert kv(sent[0]["line"], "verified") == "yes", sent[0]["line"]
    deferred = wait_delivery(srv, "y@bad.plain.test", "deferred")
    assert deferred, log_tail(srv)
    tries = attempts(srv, "mx-bad.plain.test")
    assert tries and kv(tries[0], "tls_result") == "certificate-host-mismatch", tries
    assert rx_bad.rcpt_log == [] and rx_bad.transactions == 0


def test_dane_only_without_tlsa_defers(make_dnssec, make_server, make_rx, certs):
    """tls-policy dane-only: a signed zone without TLSA for the MX host, and
    an unsigned zone, both defer without connecting; `dane` (not -only) on
    the same signed domain delivers as may."""
    leaf = leaf_certs(certs, "mx-notlsa.dane.test")
    rx = make_rx(leaf)
    rx2 = make_rx(leaf)
    dns = make_dnssec(
        signed={"dane.test": mx_records("notlsa.dane.test", "mx-notlsa.dane.test", rx.ip)
                + mx_records("soft.dane.test", "mx-soft.dane.test", rx2.ip)},
        unsigned={"plain.test": mx_records("plain.test", "mx.plain.test", rx.ip)})
    srv = outbound_server(make_server, dns, extra=["tls-policy notlsa.dane.test dane-only",
                                                   "tls-policy plain.test dane-only",
                                                   "tls-policy soft.dane.test dane"])
    m = token()
    submit(srv, "x@notlsa.dane.test", token())
    submit(srv, "y@plain.test", token())
    submit(srv, "z@soft.dane.test", m)
    for rcpt in ("x@notlsa.dane.test", "y@plain.test"):
        deferred = wait_delivery(srv, rcpt, "deferred")
        assert deferred, log_tail(srv)
        assert kv(deferred[0]["line"], "policy") == "dane-only", deferred[0]["line"]
        assert "TLSA" in deferred[0]["reply"], deferred[0]
    tries = attempts(srv, "mx-notlsa.dane.test")
    assert tries and kv(tries[0], "tls_result") == "dane-required", tries
    assert rx.connections == 0
    assert rx2.wait_messages(m), log_tail(srv)
    sent = wait_delivery(srv, "z@soft.dane.test", "sent")
    assert sent and kv(sent[0]["line"], "policy") == "may", log_tail(srv)


# ---------------------------------------------------------------- probe --domain-check


def domain_check(binary, dns, domain):
    import json
    import subprocess
    p = subprocess.run([binary, "probe", domain, "--domain-check", "--json", "--resolver",
                        "127.0.0.1:%d" % dns.port, "--timeout", "3"],
                       capture_output=True, timeout=120)
    obj = json.loads(p.stdout.decode())
    return p.returncode, obj["domain_check"]["dane"]


def test_domain_check_dane(mailport_bin, make_dnssec, make_rx, certs):
    """The dane section, one MX host per case: a matching TLSA record (ok),
    one for another key (mismatch, with the record for the key served), none
    (missing, with the record), a bogus TLSA answer (invalid) and a host
    without STARTTLS (mismatch); an unsigned zone: DANE cannot apply."""
    leaves = {h: leaf_certs(certs, "mx-%s.check.dane.test" % h)
              for h in ("ok", "bad", "none", "bogus")}
    other = leaf_certs(certs, "another-key.dane.test")
    rx = {h: make_rx(leaves[h]) for h in leaves}
    rx["plain"] = make_rx(None, tls=False)
    recs = ["check.dane.test. MX %d mx-%s.check.dane.test." % (10 + i, h)
            for i, h in enumerate(("ok", "bad", "none", "bogus", "plain"))]
    recs += ["mx-%s.check.dane.test. A %s" % (h, r.ip) for h, r in rx.items()]
    recs += ["_25._tcp.mx-ok.check.dane.test. TLSA " + tlsa(leaves["ok"].leaf_a),
             "_25._tcp.mx-bad.check.dane.test. TLSA " + tlsa(other.leaf_a),
             "_25._tcp.mx-bogus.check.dane.test. TLSA " + tlsa(leaves["bogus"].leaf_a),
             "_25._tcp.mx-plain.check.dane.test. TLSA " + tlsa(other.leaf_a)]
    dns = make_dnssec(signed={"dane.test": recs},
                      unsigned={"plain.test": mx_records("plain.test", "mx.plain.test",
                                                         rx["ok"].ip)},
                      bogus=["_25._tcp.mx-bogus.check.dane.test. TLSA"])
    rc, dane = domain_check(mailport_bin, dns, "check.dane.test")
    parts = {p["name"]: p for p in dane["mx_hosts"]}
    assert set(parts) == {"mx-%s.check.dane.test" % h
                          for h in ("ok", "bad", "none", "bogus", "plain")}, dane
    st = {n.split(".")[0][3:]: p["status"] for n, p in parts.items()}
    assert st == {"ok": "ok", "bad": "mismatch", "none": "missing", "bogus": "invalid",
                  "plain": "mismatch"}, dane
    assert dane["status"] == "invalid" and dane["fix"], dane
    assert "STARTTLS" in parts["mx-plain.check.dane.test"]["detail"]
    assert "bogus" in parts["mx-bogus.check.dane.test"]["detail"]
    assert "DNSSEC" in dane["detail"], dane
    ok_detail = parts["mx-ok.check.dane.test"]["detail"]
    assert ("TLSA " + tlsa(leaves["ok"].leaf_a)[:30]) in ok_detail, ok_detail
    # The records to publish are those of the keys the hosts serve.
    want = {"_25._tcp.mx-%s.check.dane.test. IN TLSA %s" % (h, tlsa(leaves[h].leaf_a))
            for h in ("bad", "none")}
    assert set(dane["records"]) == want, dane["records"]
    assert rc == 65  # an optional check that is broken fails the run
    # No DNSSEC: advice, not a failure.
    rc, dane = domain_check(mailport_bin, dns, "plain.test")
    assert dane["status"] == "missing" and "not DNSSEC" in dane["detail"], dane


def test_tls_required_no_overrides_dane_failure(make_dnssec, make_server, make_rx, certs):
    """RFC 8689 5: a message with "TLS-Required: No" goes despite a DANE
    mismatch (as may, still over TLS, logged so); the same message without
    the header is deferred."""
    import re
    from conftest import login_conn, message, send_raw_message
    served = leaf_certs(certs, "mx-nr.dane.test")
    other = leaf_certs(certs, "other-nr.dane.test")
    rx = make_rx(served)
    dns = make_dnssec(signed={"dane.test": mx_records("nr.dane.test", "mx-nr.dane.test", rx.ip,
                                                      [tlsa(other.leaf_a)])})
    srv = outbound_server(make_server, dns)
    relaxed, strict = token(), token()
    for marker, rcpt, extra in ((relaxed, "x@nr.dane.test", "TLS-Required: No\r\n"),
                                (strict, "y@nr.dane.test", "")):
        data = (extra + message(marker, frm=ALICE, to=rcpt)).encode() + b".\r\n"
        with login_conn(srv) as c:
            r = send_raw_message(c, ALICE, [rcpt], data)
            assert r.code == 250, r
            c.cmd("QUIT")
    got = rx.wait_messages(relaxed)
    assert got and got[0].tls, log_tail(srv)
    sent = wait_delivery(srv, "x@nr.dane.test", "sent")
    assert sent and "policy=may tls-required=no verified=no" in sent[0]["line"], log_tail(srv)
    deferred = wait_delivery(srv, "y@nr.dane.test", "deferred")
    assert deferred and kv(deferred[0]["line"], "policy") == "dane", log_tail(srv)
    assert not rx.find(strict)
    assert re.search(r"tls_result=tlsa-invalid", srv.log_text())


def test_bogus_address_answer_does_not_turn_dane_off(make_dnssec, make_server, make_rx,
                                                     certs):
    """The MX host's A answer is fine but its AAAA answer is bogus: not
    taken for an unsigned host (which would skip DANE): deferred."""
    leaf = leaf_certs(certs, "mx-v6.dane.test")
    rx = make_rx(leaf)
    dns = make_dnssec(signed={"dane.test": mx_records("v6.dane.test", "mx-v6.dane.test", rx.ip,
                                                      [tlsa(leaf.leaf_a)])
                              + ["mx-v6.dane.test. AAAA ::1"]},
                      bogus=["mx-v6.dane.test. AAAA"])
    assert dns.query("mx-v6.dane.test", "AAAA")[0] == "SERVFAIL"
    srv = outbound_server(make_server, dns)
    submit(srv, "x@v6.dane.test", token())
    deferred = wait_delivery(srv, "x@v6.dane.test", "deferred")
    assert deferred, log_tail(srv)
    tries = attempts(srv, "mx-v6.dane.test")
    assert tries and kv(tries[0], "tls_result") == "dnssec-invalid", tries
    assert rx.connections == 0


def test_requiretls_goes_to_the_mx_host_dane_authenticates(make_dnssec, make_server, make_rx,
                                                           certs):
    """REQUIRETLS (RFC 8689 4.2.1): the first MX host has no TLSA record, so
    it cannot be authenticated and is skipped (not connected to, the message
    not bounced for it); the second has one: delivered there, verified by
    DANE, with REQUIRETLS passed on. With no TLSA anywhere: bounced 5.7.10."""
    import smtplib
    from conftest import message
    first = make_rx(leaf_certs(certs, "mx-a.rq.dane.test"), requiretls=True)
    leaf_b = leaf_certs(certs, "mx-b.rq.dane.test")
    second = make_rx(leaf_b, requiretls=True)
    recs = ["rq.dane.test. MX 10 mx-a.rq.dane.test.", "rq.dane.test. MX 20 mx-b.rq.dane.test.",
            "mx-a.rq.dane.test. A " + first.ip, "mx-b.rq.dane.test. A " + second.ip,
            "_25._tcp.mx-b.rq.dane.test. TLSA " + tlsa(leaf_b.leaf_a)]
    recs += mx_records("none.dane.test", "mx-a.none.dane.test", first.ip)
    dns = make_dnssec(signed={"dane.test": recs})
    srv = outbound_server(make_server, dns)
    m1, m2 = token(), token()
    for marker, rcpt in ((m1, "x@rq.dane.test"), (m2, "y@none.dane.test")):
        with smtplib.SMTP("127.0.0.1", srv.port("submission"), timeout=15) as s:
            s.starttls(context=srv.certs.client_context())
            s.login(ALICE, srv.users[ALICE])
            s.sendmail(ALICE, [rcpt], message(marker, to=rcpt), mail_options=["REQUIRETLS"])
    got = second.wait_messages(m1)
    assert got and got[0].tls and "REQUIRETLS" in got[0].mail_options, log_tail(srv)
    sent = wait_delivery(srv, "x@rq.dane.test", "sent")
    assert sent and "policy=dane verified=yes" in sent[0]["line"], log_tail(srv)
    bounced = wait_delivery(srv, "y@none.dane.test", "bounced")
    assert bounced and bounced[0]["dsn"] == "5.7.10", log_tail(srv)
    assert first.connections == 0, "connected to a host that cannot be authenticated"


def test_missing_outbound_cafile_stops_the_start(make_server, workroot):
    """A typo in outbound-cafile would defer every verified delivery: the
    start stops instead, naming the file and the fix."""
    missing = os.path.join(workroot, "no-such-ca.pem")
    srv = make_server(start=False, extra=["outbound-cafile " + missing])
    srv.expect_exit = True
    srv.start(wait=False)
    srv.proc.wait(timeout=20)
    out = srv.log_text()
    assert srv.proc.returncode != 0, out
    assert "outbound-cafile %s" % missing in out and "fix:" in out, out
