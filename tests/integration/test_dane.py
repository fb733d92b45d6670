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
