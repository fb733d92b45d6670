"""Inbound mail authentication on the smtp door (issue 14), with dnsmasq
serving the SPF and DMARC records and smtplib as the sending server.

What reaches the Maildir (or is refused) for: a forged Authentication-Results
claiming our authserv-id (never delivered; ours is there), a spoofed From: of
a p=reject domain (550 5.7.1 naming DMARC and the domain), p=quarantine
(delivered with the mark), dmarc-policy report-only (delivered), SPF fail
without a DMARC record (delivered), and DNS that fails (SERVFAIL: 451, the
message not kept). Submission is untouched by the checks.
"""

import re
import smtplib

import pytest

from conftest import HOST, Conn, smtp_client, token
from dns import make_dns, servfail_dns  # noqa: F401  (fixtures)

ALICE = "alice@example.test"
OURS = "mx.example.test"  # the test server's hostname: our authserv-id

RECORDS = {
    # SPF passes for the test client (127.0.0.1); DMARC says reject.
    "good.test": ["v=spf1 ip4:127.0.0.1 -all"],
    "_dmarc.good.test": ["v=DMARC1; p=reject"],
    # Only 192.0.2.1 may send for these: mail from 127.0.0.1 fails SPF.
    "reject.test": ["v=spf1 ip4:192.0.2.1 -all"],
    "_dmarc.reject.test": ["v=DMARC1; p=reject"],
    "quarantine.test": ["v=spf1 ip4:192.0.2.1 -all"],
    "_dmarc.quarantine.test": ["v=DMARC1; p=quarantine"],
    "nodmarc.test": ["v=spf1 -all"],
}


@pytest.fixture
def dns(make_dns):
    return make_dns(txt=RECORDS)


@pytest.fixture
def mx(make_server, dns):
    return make_server(extra=[dns.resolver_line(), "dmarc-policy enforce"])


def send(srv, sender, marker, *, extra_headers="", frm=None):
    """Sends as another server would (no TLS, no AUTH) on the smtp door."""
    frm = frm or sender
    msg = ("%sFrom: <%s>\r\nTo: <%s>\r\nSubject: inbound %s\r\n"
           "Message-ID: <%s@sender.test>\r\n\r\nhello %s\r\n"
           % (extra_headers, frm, ALICE, marker, marker, marker))
    s = smtplib.SMTP(HOST, srv.port("smtp"), timeout=30)
    try:
        s.ehlo("sender.test")
        s.sendmail(sender, [ALICE], msg.encode())
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


def delivered(srv, marker):
    found = srv.wait_mail(ALICE, marker)
    assert found, "not delivered:\n%s" % srv.log_text()[-3000:]
    return found[0].decode(errors="replace")


def head_fields(text, name):
    """The fields called name in the header section, unfolded."""
    head = text.split("\n\n", 1)[0]
    fields, cur = [], None
    for ln in head.split("\n"):
        if ln[:1] in (" ", "\t") and cur is not None:
            cur += " " + ln.strip()
            fields[-1] = cur
        else:
            cur = ln
            fields.append(cur)
    return [f for f in fields if f.lower().startswith(name.lower() + ":")]


def our_results(text):
    got = head_fields(text, "Authentication-Results")
    return [f for f in got if re.match(r"(?i)Authentication-Results:\s*%s\s*;" % OURS, f)]


def test_forged_results_never_reach_the_maildir(mx):
    m = token()
    forged = ("Authentication-Results: %s; dkim=pass header.d=good.test forged=%s\r\n"
              "Authentication-Results: other.example; spf=pass smtp.mailfrom=good.test\r\n"
              % (OURS, m))
    send(mx, "ceo@good.test", m, extra_headers=forged)
    text = delivered(mx, m)
    ours = our_results(text)
    assert len(ours) == 1, text[:3000]
    assert "forged=" not in text, text[:3000]
    assert "spf=pass" in ours[0] and "dmarc=pass" in ours[0], ours
    # Another server's results are not ours to remove.
    assert any("other.example" in f for f in head_fields(text, "Authentication-Results"))
    # Ours opens the message, above our Received:.
    assert text.find("Authentication-Results: " + OURS) < text.find("Received:"), text[:2000]
    assert "event=auth_results_removed count=1" in mx.log_text()
    assert re.search(r"event=auth spf=pass dkim=none dmarc=pass action=accept", mx.log_text())


def test_spoofed_p_reject_domain_is_refused(mx):
    m = token()
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(mx, "ceo@reject.test", m)
    code, text = e.value.smtp_code, e.value.smtp_error.decode()
    assert code == 550 and text.startswith("5.7.1"), (code, text)
    assert "DMARC" in text and "reject.test" in text, text
    assert not mx.find_mail(ALICE, m)
    assert re.search(r"event=auth spf=fail dkim=none dmarc=fail action=reject", mx.log_text())
    assert "event=refused reason=dmarc_reject" in mx.log_text()


def test_p_quarantine_is_delivered_marked(mx):
    m = token()
    send(mx, "ceo@quarantine.test", m)
    text = delivered(mx, m)
    assert head_fields(text, "X-Spam-Flag") == ["X-Spam-Flag: YES"], text[:2000]
    ours = our_results(text)
    assert len(ours) == 1 and "dmarc=fail" in ours[0], ours


def test_report_only_delivers_what_enforce_refuses(make_server, dns):
    srv = make_server(extra=[dns.resolver_line(), "dmarc-policy report-only"])
    m = token()
    send(srv, "ceo@reject.test", m)
    text = delivered(srv, m)
    ours = our_results(text)
    assert len(ours) == 1 and "dmarc=fail" in ours[0] and "spf=fail" in ours[0], ours
    assert not head_fields(text, "X-Spam-Flag")


def test_spf_fail_alone_is_delivered(mx):
    """Forwarding breaks SPF: without DMARC an SPF fail never refuses."""
    m = token()
    send(mx, "someone@nodmarc.test", m)
    text = delivered(mx, m)
    ours = our_results(text)
    assert len(ours) == 1 and "spf=fail" in ours[0], ours
    assert not head_fields(text, "X-Spam-Flag")


def test_dns_failure_is_a_temporary_refusal(make_server, servfail_dns):
    """Every answer SERVFAIL: the DMARC record cannot be had, so the verdict
    could change on a retry: 451 4.7.1, nothing kept (RFC 7489 6.6.3 lets
    the receiver defer; the sending server retries)."""
    srv = make_server(extra=[servfail_dns.resolver_line(), "auth-timeout 5",
                             "dmarc-policy enforce"])
    m = token()
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(srv, "ceo@reject.test", m)
    assert e.value.smtp_code == 451, e.value
    assert e.value.smtp_error.decode().startswith("4.7.1"), e.value
    assert not srv.find_mail(ALICE, m)
    assert "action=tempfail" in srv.log_text()


def test_submission_is_not_checked_but_still_cleaned(mx):
    """An authenticated user's mail gets no inbound verdict; a forged
    Authentication-Results in our name is removed on this door too."""
    m = token()
    msg = ("Authentication-Results: %s; dmarc=pass forged=%s\r\nFrom: <%s>\r\nTo: <%s>\r\n"
           "Subject: sub %s\r\n\r\nhi %s\r\n" % (OURS, m, ALICE, ALICE, m, m))
    s = smtp_client(mx, "submission", login=ALICE)
    try:
        s.sendmail(ALICE, [ALICE], msg.encode())
    finally:
        s.quit()
    text = delivered(mx, m)
    assert "forged=" not in text and our_results(text) == [], text[:2000]


def test_bdat_chunks_split_inside_the_forged_field(mx):
    """CHUNKING: the header block held across chunks, the forged field cut in
    two by the chunk boundary, the last chunk ending the data (and the checks)."""
    m = token()
    msg = ("Authentication-Results: %s; dkim=pass forged=%s\r\nFrom: <ceo@good.test>\r\n"
           "To: <%s>\r\nSubject: bdat %s\r\n\r\nhello %s\r\n" % (OURS, m, ALICE, m, m)).encode()
    cut = msg.index(b"dkim=pass")
    with Conn(mx.port("smtp")) as c:
        assert c.ehlo("sender.test").code == 250
        assert c.cmd("MAIL FROM:<ceo@good.test>").code == 250
        assert c.cmd("RCPT TO:<%s>" % ALICE).code == 250
        c.send(b"BDAT %d\r\n" % cut + msg[:cut])
        assert c.reply().code == 250
        c.send(b"BDAT %d LAST\r\n" % (len(msg) - cut) + msg[cut:])
        r = c.reply()
        assert r.code == 250, r
    text = delivered(mx, m)
    assert "forged=" not in text and len(our_results(text)) == 1, text[:2000]
    assert "dmarc=pass" in our_results(text)[0]


def test_a_header_section_over_the_bound_is_refused(make_server):
    """The header block is held (to clean and check it) up to 256 KiB; a
    longer one is refused at the end with 552 5.3.4, never stored half
    cleaned. Under the bound, a long header block is delivered whole."""
    srv = make_server()
    for n, expect in ((2000, 250), (3000, 552)):  # ~200 KiB, ~300 KiB of fields
        m = token()
        fields = "".join("X-Filler-%05d: %s\r\n" % (i, "f" * 80) for i in range(n))
        msg = "%sFrom: <%s>\r\nSubject: big %s\r\n\r\nhi %s\r\n" % (fields, ALICE, m, m)
        s = smtp_client(srv, "submission", login=ALICE)
        try:
            if expect == 250:
                s.sendmail(ALICE, [ALICE], msg.encode())
            else:
                with pytest.raises(smtplib.SMTPDataError) as e:
                    s.sendmail(ALICE, [ALICE], msg.encode())
                assert e.value.smtp_code == 552, e.value
                assert e.value.smtp_error.decode().startswith("5.3.4"), e.value
                assert b"262144 bytes" in e.value.smtp_error, e.value
        finally:
            s.quit()
        if expect == 250:
            text = delivered(srv, m)
            assert "X-Filler-01999" in text
        else:
            assert "event=header_too_big" in srv.log_text()
            assert not srv.find_mail(ALICE, m)
