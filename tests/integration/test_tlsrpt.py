"""SMTP TLS reporting (RFC 8460) end to end, with real parts.

dnsmasq serves two recipient domains and their `_smtp._tls` TXT records
(rua=mailto: at a third domain), aiosmtpd receivers take the mail: one
with STARTTLS (sessions succeed), one without it while mailport's
`tls-policy ... encrypt` demands it (sessions fail: starttls-not-supported),
and one that receives the reports. `mailport queue tls-report
--include-today` makes the running server send the day's reports now;
each arrives as a multipart/report whose application/tlsrpt+gzip part is
gunzipped and checked against RFC 8460's JSON schema (its required fields,
types, date-time form and result-type words) with Python's json, and its
counts against what the receivers and the log saw. The reports are
DKIM-signed (dkimpy verifies them). Under DANE (NSD + a validating Unbound,
dnssec.py) sessions are reported as policy type tlsa, under MTA-STS testing
mode (sts_https.py) as sts, each with its policy-string.
"""

import gzip
import json
import os
import re
import smtplib
import subprocess

import email
import email.policy

import pytest

from conftest import message, poll, run
from dns import make_dns  # noqa: F401
from dnssec import leaf_certs, make_dnssec, tlsa  # noqa: F401
from receivers import Receiver, require_root
from test_dkim_sign import dkimpy_results, make_keys
from test_mta_sts_outbound import sts_receiver, world  # noqa: F401
from sts_https import make_policy_server, sts_ca  # noqa: F401

ALICE = "alice@example.test"
QUICK = ["retry-interval 1s", "retry-max-interval 1s", "outbound-timeout 3"]

# RFC 8460 4.3 and Appendix B (the schema's enums and required members).
RESULT_TYPES = {"starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
                "certificate-not-trusted", "validation-failure", "tlsa-invalid",
                "dnssec-invalid", "dane-required", "sts-policy-fetch-error",
                "sts-policy-invalid", "sts-webpki-invalid"}
POLICY_TYPES = {"tlsa", "sts", "no-policy-found"}
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def check_schema(rep):
    """RFC 8460 Appendix B, member by member: raises on the first problem."""
    for k in ("organization-name", "date-range", "contact-info", "report-id", "policies"):
        assert k in rep, "missing %s" % k
    assert isinstance(rep["organization-name"], str) and rep["organization-name"]
    assert isinstance(rep["contact-info"], str) and rep["contact-info"]
    assert isinstance(rep["report-id"], str) and rep["report-id"]
    dr = rep["date-range"]
    assert set(dr) == {"start-datetime", "end-datetime"}, dr
    assert DATETIME.match(dr["start-datetime"]) and DATETIME.match(dr["end-datetime"]), dr
    assert dr["start-datetime"] <= dr["end-datetime"]
    assert isinstance(rep["policies"], list) and rep["policies"]
    for p in rep["policies"]:
        pol = p["policy"]
        assert pol["policy-type"] in POLICY_TYPES, pol
        assert isinstance(pol["policy-domain"], str) and pol["policy-domain"]
        if "policy-string" in pol:
            assert all(isinstance(s, str) for s in pol["policy-string"])
        if "mx-host" in pol:
            assert isinstance(pol["mx-host"], list)
            assert all(isinstance(s, str) for s in pol["mx-host"])
        summ = p["summary"]
        for k in ("total-successful-session-count", "total-failure-session-count"):
            assert isinstance(summ[k], int) and summ[k] >= 0, summ
        failed = 0
        for fd in p.get("failure-details", []):
            assert fd["result-type"] in RESULT_TYPES, fd
            assert isinstance(fd["failed-session-count"], int) and fd["failed-session-count"] > 0
            for k in ("sending-mta-ip", "receiving-ip", "receiving-mx-hostname",
                      "receiving-mx-helo", "additional-information", "failure-reason-code"):
                assert k not in fd or isinstance(fd[k], str), fd
            failed += fd["failed-session-count"]
        assert failed == summ["total-failure-session-count"], p


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


def submit(srv, to, marker):
    with smtplib.SMTP("127.0.0.1", srv.port("submission"), timeout=15) as s:
        s.starttls(context=srv.certs.client_context())
        s.login(ALICE, srv.users[ALICE])
        s.sendmail(ALICE, [to], message(marker, to=to))


def parse_report(data):
    """(the mail, the report's JSON) of one received report."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "tlsrpt"
    parts = [p for p in msg.iter_parts() if p.get_content_type() == "application/tlsrpt+gzip"]
    assert len(parts) == 1, [p.get_content_type() for p in msg.iter_parts()]
    name = parts[0].get_filename()
    raw = parts[0].get_payload(decode=True)
    assert raw[:2] == b"\x1f\x8b", "not gzip"
    return msg, name, json.loads(gzip.decompress(raw))


def attempts(srv, domain):
    """Log lines of attempts that reached a host of domain, by kind."""
    log = srv.log_text()
    sent = [ln for ln in log.splitlines()
            if "event=delivery" in ln and "@%s>" % domain in ln and "status=sent" in ln]
    failed = [ln for ln in log.splitlines()
              if "event=attempt" in ln and ("mx.%s[" % domain) in ln]
    return sent, failed


def test_reports_arrive_gzipped_with_matching_counts(make_dns, make_server, certs, receivers,
                                                     tmp_path):
    require_root()
    os.chmod(tmp_path, 0o755)
    rsa, ed, keys = make_keys(str(tmp_path))  # the reports are DKIM-signed (RFC 8460 3)
    ok_leaf = leaf_certs(certs, "mx.rpt-ok.test")
    rx_ok = receivers(ok_leaf, tls=True, hostname="mx.rpt-ok.test")
    rx_fail = receivers(certs, tls=False, hostname="mx.rpt-fail.test")  # no STARTTLS
    rx_rpt = receivers(certs, tls=True, hostname="mx.rpt-sink.test")
    rua = "v=TLSRPTv1; rua=mailto:tlsrpt@rpt-sink.test"
    dns = make_dns(mx={"rpt-ok.test": [(10, "mx.rpt-ok.test")],
                       "rpt-fail.test": [(10, "mx.rpt-fail.test")],
                       "rpt-sink.test": [(10, "mx.rpt-sink.test")]},
                   hosts={"mx.rpt-ok.test": [rx_ok.ip], "mx.rpt-fail.test": [rx_fail.ip],
                          "mx.rpt-sink.test": [rx_rpt.ip]},
                   txt={"_smtp._tls.rpt-ok.test": [rua], "_smtp._tls.rpt-fail.test": [rua],
                        **{name: [rec] for name, rec in keys.items()}})
    srv = make_server(extra=[dns.resolver_line(), *QUICK, "outbound-cafile " + certs.ca,
                             "dkim example.test rsa2026 " + rsa, "dkim example.test ed2026 " + ed,
                             "tls-policy rpt-fail.test encrypt",
                             "tls-report-from tls-reports@example.test"])
    submit(srv, "bob@rpt-ok.test", "rpt-one")
    submit(srv, "carol@rpt-ok.test", "rpt-two")
    submit(srv, "dave@rpt-fail.test", "rpt-three")
    rx_ok.wait_messages("rpt-one")
    rx_ok.wait_messages("rpt-two")
    # The failing domain: STARTTLS required and not offered, tried again and
    # again (retry-interval 1s); wait for two failed sessions at least.
    poll(lambda: attempts(srv, "rpt-fail.test")[1], 20, done=lambda f: len(f) >= 2)
    assert rx_fail.transactions == 0  # never in the clear
    p = run([srv.binary, "queue", "tls-report", "--include-today", "-c", srv.conf], check=True)
    assert b"asked the mailport server" in p.stdout
    got = rx_rpt.wait_messages("TLS-Report-Domain", count=2, timeout=20)
    assert len(got) == 2, got
    # Counts as seen when the reports were made: the failing domain keeps
    # failing after the cut, so read the log up to the cut line.
    cut = srv.log_text().rindex("event=tlsrpt_run queued=2 today=yes")
    log_then = srv.log_text()[:cut]
    by_domain = {}
    for m in got:
        assert m.mail_from == "tls-reports@example.test"
        assert m.rcpt_tos == ["tlsrpt@rpt-sink.test"]
        assert dkimpy_results(m.data, keys) == [True, True], m.data[:2000]
        msg, name, rep = parse_report(m.data)
        check_schema(rep)
        dom = msg["TLS-Report-Domain"]
        assert msg["TLS-Report-Submitter"] == "mx.example.test"
        assert re.fullmatch(r"Report Domain: %s Submitter: mx\.example\.test Report-ID: <%s>"
                            % (re.escape(dom), re.escape(rep["report-id"])), msg["Subject"])
        assert re.fullmatch(r"mx\.example\.test!%s!\d+!\d+!\w+\.json\.gz" % re.escape(dom),
                            name), name
        assert rep["organization-name"] == "mx.example.test"
        assert rep["contact-info"] == "tls-reports@example.test"
        by_domain[dom] = rep
    assert set(by_domain) == {"rpt-ok.test", "rpt-fail.test"}
    ok = by_domain["rpt-ok.test"]["policies"]
    assert len(ok) == 1 and ok[0]["policy"]["policy-domain"] == "rpt-ok.test"
    assert ok[0]["policy"]["mx-host"] == ["mx.rpt-ok.test"]
    # Each new connection to the receiver is one session (a kept connection
    # that carries the second message is not a new one).
    assert ok[0]["summary"] == {"total-successful-session-count": rx_ok.connections,
                                "total-failure-session-count": 0}, (ok, rx_ok.connections)
    fail = by_domain["rpt-fail.test"]["policies"]
    failed_then = [ln for ln in log_then.splitlines()
                   if "event=attempt" in ln and "mx.rpt-fail.test[" in ln]
    assert fail[0]["summary"]["total-successful-session-count"] == 0
    assert fail[0]["summary"]["total-failure-session-count"] == len(failed_then), (
        fail, len(failed_then))
    details = fail[0]["failure-details"]
    assert [d["result-type"] for d in details] == ["starttls-not-supported"], details
    assert details[0]["receiving-mx-hostname"] == "mx.rpt-fail.test"
    assert details[0]["receiving-ip"] == rx_fail.ip
    # RFC 8460 5.3: the reports' own deliveries are not counted (the sink's
    # domain shows up in no day's lines), while rpt-fail's retries are.
    srv.wait_log(r"event=delivery .*to=<tlsrpt@rpt-sink\.test>.*status=sent", timeout=20)
    poll(lambda: attempts(srv, "rpt-fail.test")[1], 20,
         done=lambda f: len(f) > len(failed_then))
    d = os.path.join(srv.spool, "tlsrpt")
    lines = "".join(open(os.path.join(d, n)).read() for n in os.listdir(d)
                    if n.startswith("day-") and not n.endswith(".sent"))
    assert "rpt-fail.test" in lines and "rpt-sink.test" not in lines, lines
    # Sent: the day's file is gone, nothing is sent twice.
    left = os.listdir(os.path.join(srv.spool, "tlsrpt"))
    assert not [n for n in left if n.startswith("day-") and "-" in n[4:]], left


def test_command_without_server_queues_them(make_dns, make_server, certs, receivers):
    """No server running: the command queues the reports itself, and the
    server delivers them when it starts."""
    require_root()
    rx_rpt = receivers(certs, tls=True, hostname="mx.rpt2-sink.test")
    dns = make_dns(mx={"rpt2-sink.test": [(10, "mx.rpt2-sink.test")]},
                   hosts={"mx.rpt2-sink.test": [rx_rpt.ip]},
                   txt={"_smtp._tls.rpt2.test": ["v=TLSRPTv1;rua=mailto:r@rpt2-sink.test"],
                        "_smtp._tls.rpt2-none.test": ["v=TLSRPTv1;rua=https://x.test/r"]})
    # Started once and stopped: the spool is made and owned by the server's account.
    srv = make_server(extra=[dns.resolver_line(), *QUICK])
    srv.stop()
    # A finished day's lines, as the store writes them (two domains: one
    # takes mail reports, one only https ones, which mailport does not send).
    d = os.path.join(srv.spool, "tlsrpt")
    day = os.path.join(d, "day-20261201")
    with open(day, "w") as f:
        f.write("no-policy-found rpt2.test mx.rpt2.test 127.0.25.9 ok\n" * 3)
        f.write("no-policy-found rpt2.test mx.rpt2.test 127.0.25.9 starttls-not-supported\n")
        f.write("sts rpt2-none.test mx.rpt2-none.test - ok\n")
        f.write("garbage line\n")
        f.write("tlsa rpt2.test mx.rpt2.test 127.0.25.9 ok")  # cut by a crash: not counted
    st = os.stat(d)
    os.chown(day, st.st_uid, st.st_gid)
    p = run([srv.binary, "queue", "tls-report", "-c", srv.conf], check=True)
    assert b"queued 1 TLS report" in p.stdout, p.stdout
    assert not os.path.exists(os.path.join(d, "day-20261201"))
    srv.start()
    got = rx_rpt.wait_messages("TLS-Report-Domain: rpt2.test", timeout=20)
    _, _, rep = parse_report(got[0].data)
    check_schema(rep)
    assert rep["date-range"] == {"start-datetime": "2026-12-01T00:00:00Z",
                                 "end-datetime": "2026-12-01T23:59:59Z"}
    assert [p["policy"]["policy-type"] for p in rep["policies"]] == ["no-policy-found"]
    assert rep["policies"][0]["summary"] == {"total-successful-session-count": 3,
                                             "total-failure-session-count": 1}
    assert "rpt2-none.test" not in srv.log_text() or "event=tlsrpt_skipped" in srv.log_text()


def test_dane_sessions_reported_as_tlsa(make_dnssec, make_server, certs, receivers):
    """Under DANE (NSD serving a signed zone, a validating Unbound as the
    resolver): a domain whose TLSA record matches its MX's key reports its
    session as a success of policy type tlsa; one whose record is for
    another key reports tlsa-invalid, with the counts the log shows."""
    require_root()
    good = leaf_certs(certs, "mx-good.rptdane.test")
    served = leaf_certs(certs, "mx-bad.rptdane.test")
    other = leaf_certs(certs, "other.rptdane.test")
    rx_good = receivers(good, tls=True, hostname="mx-good.rptdane.test")
    rx_bad = receivers(served, tls=True, hostname="mx-bad.rptdane.test")
    rx_rpt = receivers(certs, tls=True, hostname="mx.rptplain.test")
    rua = '"v=TLSRPTv1; rua=mailto:r@rptplain.test"'
    dns = make_dnssec(
        signed={"rptdane.test": [
            "good.rptdane.test. MX 10 mx-good.rptdane.test.",
            "mx-good.rptdane.test. A " + rx_good.ip,
            "_25._tcp.mx-good.rptdane.test. TLSA " + tlsa(good.leaf_a, 3, 1, 1),
            "_smtp._tls.good.rptdane.test. TXT " + rua,
            "bad.rptdane.test. MX 10 mx-bad.rptdane.test.",
            "mx-bad.rptdane.test. A " + rx_bad.ip,
            "_25._tcp.mx-bad.rptdane.test. TLSA " + tlsa(other.leaf_a, 3, 1, 1),
            "_smtp._tls.bad.rptdane.test. TXT " + rua]},
        unsigned={"rptplain.test": ["rptplain.test. MX 10 mx.rptplain.test.",
                                    "mx.rptplain.test. A " + rx_rpt.ip]})
    srv = make_server(extra=[dns.resolver_line(), *QUICK])
    submit(srv, "x@good.rptdane.test", "rptdane-good")
    submit(srv, "y@bad.rptdane.test", "rptdane-bad")
    rx_good.wait_messages("rptdane-good")
    srv.wait_log(r"event=attempt relay=mx-bad\.rptdane\.test\[.*tls_result=tlsa-invalid",
                 timeout=20)
    run([srv.binary, "queue", "tls-report", "--include-today", "-c", srv.conf], check=True)
    got = rx_rpt.wait_messages("TLS-Report-Domain", count=2, timeout=30)
    log_then = srv.log_text()[:srv.log_text().rindex("event=tlsrpt_run queued=2 today=yes")]
    reps = {}
    for m in got:
        msg, _, rep = parse_report(m.data)
        check_schema(rep)
        reps[msg["TLS-Report-Domain"]] = rep
    good_p = reps["good.rptdane.test"]["policies"]
    assert [p["policy"]["policy-type"] for p in good_p] == ["tlsa"], good_p
    # policy-string: the TLSA records that applied, as published.
    assert good_p[0]["policy"]["policy-string"] == [tlsa(good.leaf_a, 3, 1, 1).lower()], good_p
    assert good_p[0]["summary"] == {"total-successful-session-count": rx_good.connections,
                                    "total-failure-session-count": 0}, good_p
    bad_p = reps["bad.rptdane.test"]["policies"]
    assert [p["policy"]["policy-type"] for p in bad_p] == ["tlsa"], bad_p
    tries = [ln for ln in log_then.splitlines()
             if "event=attempt" in ln and "mx-bad.rptdane.test[" in ln]
    assert bad_p[0]["summary"] == {"total-successful-session-count": 0,
                                   "total-failure-session-count": len(tries)}, (bad_p, tries)
    assert [(d["result-type"], d["receiving-mx-hostname"]) for d in bad_p[0]["failure-details"]
            ] == [("tlsa-invalid", "mx-bad.rptdane.test")]
    assert bad_p[0]["policy"]["policy-string"] == [tlsa(other.leaf_a, 3, 1, 1).lower()], bad_p
    # Written once a day however many sessions used it.
    day = [n for n in os.listdir(os.path.join(srv.spool, "tlsrpt")) if n.startswith("day-")]
    text = "".join(open(os.path.join(srv.spool, "tlsrpt", n)).read() for n in day)
    assert text.count("policy tlsa bad.rptdane.test") <= 1, text


def test_mta_sts_testing_failures_reported_as_sts(world, receivers, certs):
    """MTA-STS in testing mode (policy over HTTPS from a test CA) and an MX
    with a self-signed certificate: delivered, and reported as sts failures
    (certificate-not-trusted) with the policy's lines as policy-string."""
    w = world(mode="testing", cert="self-signed")
    w.send("sent")
    w.send("sent", fresh=True)
    rx_rpt = receivers(certs, tls=True, hostname="mx.rptsts-sink.test")
    w.dns.restart(txt={**w.dns.txt,
                       "_smtp._tls.sts.test": ["v=TLSRPTv1; rua=mailto:r@rptsts-sink.test"]},
                  mx={**w.dns.mx, "rptsts-sink.test": [(10, "mx.rptsts-sink.test")]},
                  hosts={**w.dns.hosts, "mx.rptsts-sink.test": [rx_rpt.ip]})
    run([w.srv.binary, "queue", "tls-report", "--include-today", "-c", w.srv.conf], check=True)
    got = rx_rpt.wait_messages("TLS-Report-Domain: sts.test", timeout=30)
    _, _, rep = parse_report(got[0].data)
    check_schema(rep)
    pols = rep["policies"]
    assert [p["policy"]["policy-type"] for p in pols] == ["sts"], pols
    assert pols[0]["policy"]["policy-string"] == [
        "version: STSv1", "mode: testing", "mx: mx.sts.test", "max_age: 86400"], pols
    assert pols[0]["summary"] == {"total-successful-session-count": 0,
                                  "total-failure-session-count": w.rx.connections}, (
        pols, w.rx.connections)
    assert [d["result-type"] for d in pols[0]["failure-details"]] == ["certificate-not-trusted"]
