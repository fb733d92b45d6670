"""REQUIRETLS (RFC 8689) and TLS-Required: No on outbound delivery.

Real parts: dnsmasq serves the MX and A records (dns.py), aiosmtpd
receivers on port 25 of 127.0.25.X present certificates issued for the MX
name by the test CA (dnssec.leaf_certs) and, when asked, offer REQUIRETLS
after STARTTLS (receivers.py); mail is submitted with smtplib over
STARTTLS and AUTH, with MAIL FROM ... REQUIRETLS.

A REQUIRETLS message goes only to a next hop whose certificate was
verified (here: `tls-policy DOMAIN verify` with the test CA as
outbound-cafile) and which offers REQUIRETLS; it gets the parameter passed
on. Else it bounces: 5.7.10 when the hop cannot be verified (no
connection is made), 5.7.30 "REQUIRETLS support required" when the
verified hop does not offer it; the bounce holds the headers only
(RFC 8689 5). `TLS-Required: No` lets a message go where the domain's
policy (dane-only without TLSA) would have deferred it.
"""

import re
import smtplib

import pytest

from conftest import message, poll
from dns import make_dns  # noqa: F401
from dnssec import leaf_certs
from receivers import Receiver, require_root

ALICE = "alice@example.test"
QUICK = ["retry-interval 1s", "retry-max-interval 2s", "outbound-timeout 3"]


@pytest.fixture
def receivers():
    made = []

    def factory(certs, **kw):
        rx = Receiver(certs, **kw).start()
        made.append(rx)
        return rx

    yield factory
    for rx in made:
        rx.stop()


def arrange(make_dns, make_server, certs, receivers, domain, *, requiretls=True, policy="verify",
          tls=True):
    """A receiver for DOMAIN (MX mx.DOMAIN, its own leaf) and a mailport
    that delivers there under `tls-policy DOMAIN policy`."""
    require_root()
    mx = "mx." + domain
    leaf = leaf_certs(certs, mx)
    rx = receivers(leaf, tls=tls, requiretls=requiretls, hostname=mx)
    dns = make_dns(mx={domain: [(10, mx)]}, hosts={mx: [rx.ip]})
    extra = [dns.resolver_line(), *QUICK, "outbound-cafile " + certs.ca]
    if policy:
        extra.append("tls-policy %s %s" % (domain, policy))
    srv = make_server(extra=extra)
    return rx, srv


def submit(srv, to, marker, *, requiretls=True, headers=""):
    body = message(marker, to=to)
    if headers:
        body = headers + body
    with smtplib.SMTP("127.0.0.1", srv.port("submission"), timeout=15) as s:
        s.starttls(context=srv.certs.client_context())
        s.login(ALICE, srv.users[ALICE])
        s.sendmail(ALICE, [to], body, mail_options=["REQUIRETLS"] if requiretls else [])


def delivery_line(srv, rcpt):
    def find():
        for ln in srv.log_text().splitlines():
            if "event=delivery" in ln and "to=<%s>" % rcpt in ln and "status=deferred" not in ln:
                return ln
        return None
    return poll(find, 20)


def bounce_for(srv, marker):
    """The bounce to alice about marker (raw bytes)."""
    found = srv.wait_mail(ALICE, marker, timeout=20)
    bounces = [m for m in found if b"Undelivered Mail" in m]
    assert bounces, "no bounce for %s" % marker
    return bounces[0]


def test_delivered_verified_and_passed_on(make_dns, make_server, certs, receivers):
    rx, srv = arrange(make_dns, make_server, certs, receivers, "rtls-ok.test")
    submit(srv, "bob@rtls-ok.test", "rtls-delivered")
    got = rx.wait_messages("rtls-delivered")[0]
    assert got.tls and "REQUIRETLS" in got.mail_options, got.mail_options
    ln = delivery_line(srv, "bob@rtls-ok.test")
    assert "status=sent" in ln and "verified=yes" in ln, ln


def test_bounced_when_next_hop_does_not_offer_it(make_dns, make_server, certs, receivers):
    rx, srv = arrange(make_dns, make_server, certs, receivers, "rtls-no.test", requiretls=False)
    submit(srv, "bob@rtls-no.test", "rtls-unoffered")
    ln = delivery_line(srv, "bob@rtls-no.test")
    assert "status=bounced" in ln and "dsn=5.7.30" in ln, ln
    assert "REQUIRETLS support required" in ln, ln
    assert rx.find("rtls-unoffered") == [] and rx.transactions == 0
    raw = bounce_for(srv, "rtls-unoffered")
    assert b"Status: 5.7.30" in raw
    # RFC 8689 5: the headers of the original, not its body.
    assert b"Subject: test rtls-unoffered" in raw
    assert b"hello rtls-unoffered" not in raw


def test_bounced_when_next_hop_is_not_verified(make_dns, make_server, certs, receivers):
    # No tls-policy line: the default level (may) verifies nothing.
    rx, srv = arrange(make_dns, make_server, certs, receivers, "rtls-unv.test", policy=None)
    submit(srv, "bob@rtls-unv.test", "rtls-unverified")
    ln = delivery_line(srv, "bob@rtls-unv.test")
    assert "status=bounced" in ln and "dsn=5.7.10" in ln, ln
    assert rx.connections == 0  # decided before connecting
    raw = bounce_for(srv, "rtls-unverified")
    assert b"Status: 5.7.10" in raw and b"hello rtls-unverified" not in raw


def test_bounced_when_certificate_does_not_verify(make_dns, make_server, certs, receivers):
    """verify level, but the receiver's certificate names another host."""
    require_root()
    leaf = leaf_certs(certs, "someone-else.test")
    rx = receivers(leaf, tls=True, requiretls=True, hostname="mx.rtls-bad.test")
    dns = make_dns(mx={"rtls-bad.test": [(10, "mx.rtls-bad.test")]},
                   hosts={"mx.rtls-bad.test": [rx.ip]})
    srv = make_server(extra=[dns.resolver_line(), *QUICK, "outbound-cafile " + certs.ca,
                             "tls-policy rtls-bad.test verify"])
    submit(srv, "bob@rtls-bad.test", "rtls-badcert")
    # A certificate that does not verify defers (another try may meet the
    # right host); the message is never sent unverified.
    srv.wait_log(r"event=attempt .*rtls-bad\.test", timeout=20)
    assert rx.find("rtls-badcert") == []
    assert rx.transactions == 0


def test_tls_required_no_goes_despite_a_failed_policy(make_dns, make_server, certs, receivers):
    """dane-only without TLSA records defers; with TLS-Required: No (and no
    REQUIRETLS) the message goes as `may`, over TLS since it is offered."""
    rx, srv = arrange(make_dns, make_server, certs, receivers, "rtls-tlsno.test",
                    requiretls=False, policy="dane-only")
    submit(srv, "bob@rtls-tlsno.test", "rtls-deferred", requiretls=False)
    srv.wait_log(r"event=delivery .*to=<bob@rtls-tlsno\.test>.*status=deferred", timeout=20)
    assert rx.find("rtls-deferred") == []
    submit(srv, "carol@rtls-tlsno.test", "rtls-tlsno", requiretls=False,
           headers="TLS-Required: No\r\n")
    got = rx.wait_messages("rtls-tlsno")[0]
    assert got.tls
    ln = delivery_line(srv, "carol@rtls-tlsno.test")
    assert "status=sent" in ln and "policy=may" in ln, ln
    # The connection that message relaxed must not carry the next one, which
    # the domain's policy still defers (the kept connection would be there).
    submit(srv, "dave@rtls-tlsno.test", "rtls-after", requiretls=False)
    srv.wait_log(r"event=delivery .*to=<dave@rtls-tlsno\.test>.*status=deferred", timeout=20)
    assert rx.find("rtls-after") == []


def test_flag_survives_a_restart_and_is_passed_on(make_dns, make_server, certs, receivers):
    """Deferred once (451 to MAIL), the server restarted: the retry still
    carries REQUIRETLS, read back from the queue file."""
    require_root()
    mx = "mx.rtls-restart.test"
    leaf = leaf_certs(certs, mx)
    rx = receivers(leaf, tls=True, requiretls=True, hostname=mx, temp_fail_mail=1)
    dns = make_dns(mx={"rtls-restart.test": [(10, mx)]}, hosts={mx: [rx.ip]})
    srv = make_server(extra=[dns.resolver_line(), "retry-interval 2s", "retry-max-interval 2s",
                             "outbound-timeout 3", "outbound-cafile " + certs.ca,
                             "tls-policy rtls-restart.test verify"])
    submit(srv, "bob@rtls-restart.test", "rtls-restart")
    srv.wait_log(r"event=delivery .*to=<bob@rtls-restart\.test>.*status=deferred", timeout=20)
    srv.restart()
    got = rx.wait_messages("rtls-restart", timeout=20)[0]
    assert "REQUIRETLS" in got.mail_options and got.tls
    assert rx.transactions == 2


def test_an_mx_without_it_is_passed_over(make_dns, make_server, certs, receivers):
    """RFC 8689 4.2.1: the first MX host (verified, no REQUIRETLS) is passed
    over, the second (verified, offers it) takes the message."""
    require_root()
    rx1 = receivers(leaf_certs(certs, "mx1.rtls-two.test"), tls=True, requiretls=False,
                    hostname="mx1.rtls-two.test")
    rx2 = receivers(leaf_certs(certs, "mx2.rtls-two.test"), tls=True, requiretls=True,
                    hostname="mx2.rtls-two.test")
    dns = make_dns(mx={"rtls-two.test": [(10, "mx1.rtls-two.test"), (20, "mx2.rtls-two.test")]},
                   hosts={"mx1.rtls-two.test": [rx1.ip], "mx2.rtls-two.test": [rx2.ip]})
    srv = make_server(extra=[dns.resolver_line(), *QUICK, "outbound-cafile " + certs.ca,
                             "tls-policy rtls-two.test verify"])
    submit(srv, "bob@rtls-two.test", "rtls-two")
    got = rx2.wait_messages("rtls-two")[0]
    assert "REQUIRETLS" in got.mail_options
    assert rx1.transactions == 0 and rx1.connections >= 1
    assert re.search(r"event=attempt relay=mx1\.rtls-two\.test\[.*REQUIRETLS support required",
                     srv.log_text())
