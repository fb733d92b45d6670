"""Outbound delivery (issue 5): MX and relay host, retries, bounces.

Everything on loopback: dnsmasq (dns.py) serves MX and A records that point
at receivers listening on port 25 of 127.0.25.X (receivers.py: a scripted
aiosmtpd receiver and Postfix's smtp-sink), a private Postfix (peers.py), and
other mailport instances as relay hosts on fixed ports of 127.0.26.X.

mailport is configured with:
    resolver 127.0.0.1:PORT          (the dnsmasq of the test)
    retry-interval 1s, retry-max-interval 2s, outbound-timeout 3
and reports each attempt and recipient in one log line:
    id=QID event=delivery to=<rcpt> relay=host[ip]:port tls=TLSv1.3|none
    delay=S dsn=x.y.z status=sent|deferred|bounced reply="..."
"""

import email
import email.policy
import os
import pwd
import re
import shutil
import smtplib
import socketserver
import subprocess
import threading
import time
import warnings

import pytest

from conftest import USERS, can_connect, login_conn, message, poll, send_raw_message, token
from dns import make_dns, query, servfail_dns  # noqa: F401
from peers import PEER_USERS, PostfixPeer, make_postfix, postfix_submission  # noqa: F401
from receivers import make_receiver, make_sink, next_ip  # noqa: F401

ALICE = "alice@example.test"
BOB = "bob@example.test"
QUICK = ["retry-interval 1s", "retry-max-interval 2s"]


def need_root():
    if os.geteuid() != 0:
        pytest.skip("receivers listen on port 25 (and relays on 465/587) of 127.0.X.Y: "
                    "needs root")


# ---------------------------------------------------------------- helpers


def outbound_server(make_server, dns, extra=(), start=True, timeout=3, **kw):
    """A mailport whose outbound delivery resolves through the test's dnsmasq."""
    need_root()
    return make_server(start=start, extra=[dns.resolver_line(), *QUICK,
                                           "outbound-timeout %d" % timeout, *extra], **kw)


def submit(srv, rcpts, marker, frm=ALICE, door="submission", user=ALICE, body=None):
    """Submits one message (authenticated as user); returns its queue ID."""
    if isinstance(rcpts, str):
        rcpts = [rcpts]
    data = message(marker, frm=frm or "mailer-daemon@example.test", to=rcpts[0],
                   body=body).encode() + b".\r\n"
    with login_conn(srv, door, user) as c:
        r = send_raw_message(c, frm, rcpts, data)
        assert r.code == 250, r
        c.cmd("QUIT")
    m = re.search(r"queued as (\S+)", r.text)
    return m.group(1) if m else None


_KV = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def deliveries(srv, rcpt=None, since=0):
    """The event=delivery log lines as dicts (to without <>, reply unquoted)."""
    out = []
    for ln in srv.log_text()[since:].splitlines():
        if "event=delivery" not in ln:
            continue
        d = {k: v for k, v in _KV.findall(ln)}
        if d.get("reply", "").startswith('"'):
            d["reply"] = d["reply"][1:-1]
        d["to"] = d.get("to", "").strip("<>")
        d["line"] = ln
        if rcpt is None or d["to"].lower() == rcpt.lower():
            out.append(d)
    return out


def wait_delivery(srv, rcpt, status, count=1, timeout=20.0, since=0):
    """Polls until `count` delivery lines for rcpt have this status; returns them."""
    return poll(lambda: [d for d in deliveries(srv, rcpt, since) if d.get("status") == status],
                timeout, done=lambda got: len(got) >= count, interval=0.1)


def log_time(line):
    """Seconds (epoch) of a log line's ISO timestamp."""
    import datetime
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z", line)
    assert m, line
    return datetime.datetime.fromisoformat(m.group(1)).timestamp()


def log_tail(srv, n=3000):
    return srv.log_text()[-n:]


def parse_dsn(data):
    """A DSN file -> (message, [per-recipient field dicts], returned part type)."""
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status", msg.get("Content-Type")
    parts = msg.get_payload()
    types = [p.get_content_type() for p in parts]
    assert types[0] == "text/plain", types
    assert "message/delivery-status" in types, types
    ds = parts[types.index("message/delivery-status")]
    blocks = ds.get_payload()
    assert isinstance(blocks, list) and len(blocks) >= 2, blocks
    per_rcpt = [dict((k.lower(), v) for k, v in b.items()) for b in blocks[1:]]
    returned = types[2] if len(types) > 2 else None
    return msg, per_rcpt, returned


def wait_dsn(srv, marker, timeout=20.0, sender=ALICE):
    got = srv.wait_mail(sender, marker, timeout=timeout)
    assert got, ("no DSN in %s's Maildir\n%s" % (sender, log_tail(srv)))
    assert len(got) == 1, "%d DSNs for one failure" % len(got)
    return got[0]


def dsn_checks(data, rcpt, status, marker):
    assert data.startswith(b"Return-Path: <>"), data[:200]
    msg, per_rcpt, returned = parse_dsn(data)
    finals = [b.get("final-recipient", "") for b in per_rcpt]
    mine = [b for b in per_rcpt if rcpt.lower() in b.get("final-recipient", "").lower()]
    assert mine, finals
    b = mine[0]
    assert b.get("final-recipient", "").lower().replace(" ", "") == ("rfc822;" + rcpt).lower()
    assert b.get("action", "").lower() == "failed", b
    assert b.get("status", "").strip() == status, b
    assert returned in ("message/rfc822", "text/rfc822-headers"), returned
    assert marker.encode() in data  # the original headers are returned
    return msg, b


# ---------------------------------------------------------------- the DNS server itself


def test_dnsmasq_answers(make_dns):
    dns = make_dns(mx={"a.test": [(10, "mx1.a.test"), (20, "mx2.a.test")]},
                   hosts={"mx1.a.test": ["127.0.25.1"], "mx2.a.test": ["127.0.25.2", "::1"],
                          "implicit.test": ["127.0.25.3"]},
                   null_mx=["nullmx.test"])
    rc, ans = dns.query("a.test", "MX")
    assert rc == "NOERROR" and sorted(v for t, v in ans if t == "MX") == [
        (10, "mx1.a.test"), (20, "mx2.a.test")], ans
    assert dns.query("mx1.a.test", "A") == ("NOERROR", [("A", "127.0.25.1")])
    assert dns.query("mx2.a.test", "AAAA") == ("NOERROR", [("AAAA", "::1")])
    # implicit MX: no MX record, an A record
    assert dns.query("implicit.test", "MX") == ("NOERROR", [])
    assert dns.query("implicit.test", "A") == ("NOERROR", [("A", "127.0.25.3")])
    # null MX (RFC 7505): exactly "MX 0 ."
    assert dns.query("nullmx.test", "MX") == ("NOERROR", [("MX", (0, "."))])
    # unknown names: NXDOMAIN, not SERVFAIL/REFUSED
    assert dns.query("nowhere.test", "MX")[0] == "NXDOMAIN"
    assert dns.query("nowhere.test", "A")[0] == "NXDOMAIN"


# ---------------------------------------------------------------- MX delivery


def test_mx_delivery_to_smtp_sink(make_server, make_dns, make_sink):
    sink = make_sink()
    dns = make_dns(mx={"sink.test": [(10, "mx.sink.test")]},
                   hosts={"mx.sink.test": [sink.ip]})
    srv = outbound_server(make_server, dns)
    m = token()
    qid = submit(srv, "someone@sink.test", m)
    got = sink.wait_messages(m)
    assert len(got) == 1, "smtp-sink got nothing\n" + log_tail(srv)
    assert b"X-Mail-Args: <alice@example.test>" in got[0], got[0][:600]
    assert b"X-Rcpt-Args: <someone@sink.test>" in got[0], got[0][:600]
    assert b"hello " + m.encode() in got[0]
    sent = wait_delivery(srv, "someone@sink.test", "sent")
    assert sent, log_tail(srv)
    d = sent[0]
    if qid:
        assert d.get("id") == qid, d["line"]
    assert d.get("relay") == "mx.sink.test[%s]:25" % sink.ip, d["line"]
    assert d.get("tls") == "none", d["line"]  # smtp-sink offers no STARTTLS
    assert d.get("dsn", "").startswith("2."), d["line"]
    assert re.match(r"^\d+(\.\d+)?$", d.get("delay", "")), d["line"]


def test_mx_delivery_to_aiosmtpd(make_server, make_dns, make_receiver):
    rx = make_receiver()
    dns = make_dns(mx={"recv.test": [(10, "mx.recv.test")]}, hosts={"mx.recv.test": [rx.ip]})
    srv = outbound_server(make_server, dns)
    m = token()
    submit(srv, ["one@recv.test", "two@recv.test"], m)
    got = rx.wait_messages(m)
    assert len(got) == 1, "receiver got nothing\n" + log_tail(srv)
    r = got[0]
    assert r.mail_from == ALICE
    assert sorted(r.rcpt_tos) == ["one@recv.test", "two@recv.test"], \
        "two recipients of one domain: one transaction"
    assert r.helo == "mx.example.test", r.helo
    assert b"Subject: test " + m.encode() in r.data
    for rc in ("one@recv.test", "two@recv.test"):
        sent = wait_delivery(srv, rc, "sent")
        assert sent and sent[0]["relay"] == "mx.recv.test[%s]:25" % rx.ip, log_tail(srv)
    assert len(rx.wait_messages(m, timeout=1)) == 1, "delivered twice"


def test_second_mx_when_first_refuses(make_server, make_dns, make_receiver):
    dead = next_ip()  # nothing listens there: connection refused
    rx = make_receiver()
    dns = make_dns(mx={"two.test": [(10, "mx1.two.test"), (20, "mx2.two.test")]},
                   hosts={"mx1.two.test": [dead], "mx2.two.test": [rx.ip]})
    srv = outbound_server(make_server, dns)
    m = token()
    t0 = time.monotonic()
    submit(srv, "x@two.test", m)
    got = rx.wait_messages(m)
    assert len(got) == 1, log_tail(srv)
    assert time.monotonic() - t0 < 10, "the second MX is tried in the same attempt"
    sent = wait_delivery(srv, "x@two.test", "sent")
    assert sent and sent[0]["relay"] == "mx2.two.test[%s]:25" % rx.ip, log_tail(srv)


def test_second_mx_when_first_answers_mail_with_4xx(make_server, make_dns, make_receiver):
    """A 451 to MAIL decides nothing: the next MX takes the message in the
    same attempt (RFC 5321 5.1), and the first host's refusal is logged."""
    busy = make_receiver(temp_fail_mail=100)
    rx = make_receiver()
    dns = make_dns(mx={"busy.test": [(10, "mx1.busy.test"), (20, "mx2.busy.test")]},
                   hosts={"mx1.busy.test": [busy.ip], "mx2.busy.test": [rx.ip]})
    srv = outbound_server(make_server, dns)
    m = token()
    submit(srv, "x@busy.test", m)
    assert len(rx.wait_messages(m)) == 1, log_tail(srv)
    lines = deliveries(srv, "x@busy.test")
    assert [d["status"] for d in lines] == ["sent"], [d["line"] for d in lines]
    assert lines[0]["relay"] == "mx2.busy.test[%s]:25" % rx.ip, lines[0]["line"]
    attempts = [ln for ln in srv.log_text().splitlines()
                if "event=attempt" in ln and busy.ip in ln]
    assert attempts and "451" in attempts[0], log_tail(srv)
    assert re.search(r'fix="[^"]{10,}"', attempts[0]), attempts[0]
    assert busy.transactions >= 1 and not busy.messages


def test_implicit_mx(make_server, make_dns, make_receiver):
    rx = make_receiver()
    dns = make_dns(hosts={"implicit.test": [rx.ip]})
    srv = outbound_server(make_server, dns)
    m = token()
    submit(srv, "x@implicit.test", m)
    assert len(rx.wait_messages(m)) == 1, log_tail(srv)
    sent = wait_delivery(srv, "x@implicit.test", "sent")
    assert sent and sent[0]["relay"] == "implicit.test[%s]:25" % rx.ip, log_tail(srv)


def test_null_mx_bounced_at_once(make_server, make_dns):
    dns = make_dns(null_mx=["nullmx.test"], hosts={"nullmx.test": [next_ip()]})
    srv = outbound_server(make_server, dns)
    m = token()
    t0 = time.monotonic()
    submit(srv, "x@nullmx.test", m)
    data = wait_dsn(srv, m, timeout=10)
    assert time.monotonic() - t0 < 8, "a null MX bounces at once, without retries"
    dsn_checks(data, "x@nullmx.test", "5.1.10", m)
    lines = deliveries(srv, "x@nullmx.test")
    assert [d["status"] for d in lines] == ["bounced"], [d["line"] for d in lines]
    assert lines[0].get("dsn") == "5.1.10", lines[0]["line"]


def test_nxdomain_bounced(make_server, make_dns):
    dns = make_dns()
    srv = outbound_server(make_server, dns)
    m = token()
    submit(srv, "x@nowhere.test", m)
    data = wait_dsn(srv, m, timeout=15)
    status = [b.get("status", "").strip() for b in parse_dsn(data)[1]]
    assert status and status[0].startswith("5."), status
    dsn_checks(data, "x@nowhere.test", status[0], m)
    bounced = wait_delivery(srv, "x@nowhere.test", "bounced")
    assert bounced, log_tail(srv)
    assert not [d for d in deliveries(srv, "x@nowhere.test") if d["status"] == "sent"]


# ---------------------------------------------------------------- retries and bounces


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_451_twice_then_delivered(make_server, make_dns, make_receiver, stage):
    rx = make_receiver(**{"temp_fail_" + stage: 2})
    dns = make_dns(mx={"slow.test": [(10, "mx.slow.test")]}, hosts={"mx.slow.test": [rx.ip]})
    srv = outbound_server(make_server, dns)
    m = token()
    submit(srv, "x@slow.test", m)
    got = rx.wait_messages(m, timeout=30)
    assert len(got) == 1, log_tail(srv)
    sent = wait_delivery(srv, "x@slow.test", "sent", timeout=5)
    assert sent, log_tail(srv)
    deferred = [d for d in deliveries(srv, "x@slow.test") if d["status"] == "deferred"]
    assert len(deferred) == 2, [d["line"] for d in deferred]
    for d in deferred:
        assert "451" in d.get("reply", ""), d["line"]
        assert d.get("dsn", "").startswith("4."), d["line"]
    assert not srv.find_mail(ALICE, m), "a DSN for a delivered message"
    # retry-interval 1s, doubling up to retry-max-interval 2s
    t = [log_time(d["line"]) for d in deferred + sent[:1]]
    gaps = [b - a for a, b in zip(t, t[1:])]
    assert 0.8 <= gaps[0] <= 4 and 1.7 <= gaps[1] <= 5, gaps


def test_550_dsn_read_by_python_email(make_server, make_dns, make_receiver):
    rx = make_receiver(reject={"nobody@hard.test": "550 5.1.1 <nobody@hard.test>: "
                               "Recipient address rejected: User unknown"})
    dns = make_dns(mx={"hard.test": [(10, "mx.hard.test")]}, hosts={"mx.hard.test": [rx.ip]})
    srv = outbound_server(make_server, dns)
    m = token()
    submit(srv, "nobody@hard.test", m)
    data = wait_dsn(srv, m)
    msg, b = dsn_checks(data, "nobody@hard.test", "5.1.1", m)
    assert "550" in b.get("diagnostic-code", ""), b
    assert "User unknown" in re.sub(r"\s+", " ", b.get("diagnostic-code", "")), b
    assert "mx.hard.test" in b.get("remote-mta", "") or rx.ip in b.get("remote-mta", ""), b
    assert msg.get("To", "").strip("<> ").lower() == ALICE, msg.get("To")
    assert "multipart/report" in msg.get("Content-Type")
    bounced = deliveries(srv, "nobody@hard.test")
    assert [d["status"] for d in bounced] == ["bounced"], [d["line"] for d in bounced]
    assert bounced[0]["dsn"] == "5.1.1" and "550" in bounced[0]["reply"], bounced[0]["line"]
    assert rx.messages == [], "nothing accepted, so nothing recorded"


def test_null_sender_failure_is_not_bounced(make_server, make_dns, make_receiver):
    rx = make_receiver(reject={"gone@hard.test": "550 5.1.1 no such user"})
    dns = make_dns(mx={"hard.test": [(10, "mx.hard.test")]}, hosts={"mx.hard.test": [rx.ip]})
    srv = outbound_server(make_server, dns)
    m = token()
    qid = submit(srv, "gone@hard.test", m, frm="")
    assert wait_delivery(srv, "gone@hard.test", "bounced"), log_tail(srv)
    srv.wait_log(r"id=%s event=removed" % qid)  # its bounce, if any, queued by then
    srv.wait_settled()
    assert not srv.find_mail(ALICE, m)
    assert not srv.find_mail("postmaster@example.test", m)
    assert not [k for k, v in srv.queue_files().items() if m.encode() in v], \
        "the failed message (or a bounce of it) is still queued"
    after = [d for d in deliveries(srv) if d["to"] in ("", "<>")]
    assert not after, [d["line"] for d in after]
    assert len(rx.rcpt_log) == 1, rx.rcpt_log  # no second attempt, no DSN sent anywhere


def test_local_and_remote_recipients(make_server, make_dns, make_receiver):
    rx = make_receiver()
    dns = make_dns(mx={"mixed.test": [(10, "mx.mixed.test")]}, hosts={"mx.mixed.test": [rx.ip]})
    srv = outbound_server(make_server, dns)
    m = token()
    submit(srv, [BOB, "carl@mixed.test"], m)
    assert len(srv.wait_mail(BOB, m)) == 1, log_tail(srv)
    got = rx.wait_messages(m)
    assert len(got) == 1, log_tail(srv)
    assert got[0].rcpt_tos == ["carl@mixed.test"], got[0].rcpt_tos
    assert wait_delivery(srv, "carl@mixed.test", "sent"), log_tail(srv)
    assert not [d for d in deliveries(srv, BOB) if d.get("relay", "").endswith(":25")
                and "127.0.25." in d.get("relay", "")]


def test_queue_lifetime_expiry_bounces(make_server, make_dns, make_receiver):
    rx = make_receiver(temp_fail_rcpt=10 ** 6)
    dns = make_dns(mx={"never.test": [(10, "mx.never.test")]}, hosts={"mx.never.test": [rx.ip]})
    srv = outbound_server(make_server, dns, extra=["queue-lifetime 4s"])
    m = token()
    t0 = time.monotonic()
    qid = submit(srv, "x@never.test", m)
    data = wait_dsn(srv, m, timeout=25)
    assert time.monotonic() - t0 >= 3.5, "bounced before queue-lifetime"
    msg, per_rcpt, _ = parse_dsn(data)
    b = [x for x in per_rcpt if "x@never.test" in x.get("final-recipient", "")][0]
    assert b.get("action", "").lower() == "failed", b
    assert re.match(r"^[45]\.\d+\.\d+$", b.get("status", "").strip()), b
    assert "451" in b.get("diagnostic-code", ""), b  # the last remote reply
    lines = deliveries(srv, "x@never.test")
    assert [d["status"] for d in lines].count("deferred") >= 2, [d["line"] for d in lines]
    assert lines[-1]["status"] == "bounced", [d["line"] for d in lines]
    srv.wait_log(r"id=%s event=removed" % qid)
    n = len(rx.rcpt_log)
    time.sleep(2.5)  # kept: no retry in longer than the retry interval is the subject
    assert len(rx.rcpt_log) == n, "still retrying after the bounce"


def test_dns_servfail_is_retried_not_bounced(make_server, servfail_dns):
    rc, _ = query("x.test", "MX", port=servfail_dns.port)
    assert rc == "SERVFAIL"
    srv = outbound_server(make_server, servfail_dns)
    m = token()
    submit(srv, "x@broken-dns.test", m)
    deferred = wait_delivery(srv, "x@broken-dns.test", "deferred", count=2, timeout=25)
    assert len(deferred) >= 2, log_tail(srv)
    assert all(d.get("dsn", "").startswith("4.") for d in deferred), deferred[0]["line"]
    assert not srv.find_mail(ALICE, m), "bounced on a temporary DNS failure"
    assert not [d for d in deliveries(srv, "x@broken-dns.test") if d["status"] == "bounced"]


# ---------------------------------------------------------------- TLS


def test_starttls_used_when_offered(make_server, make_dns, make_receiver):
    rx = make_receiver(tls=True)
    dns = make_dns(mx={"tls.test": [(10, "mx.tls.test")]}, hosts={"mx.tls.test": [rx.ip]})
    srv = outbound_server(make_server, dns)
    m = token()
    submit(srv, "x@tls.test", m)
    got = rx.wait_messages(m)
    assert len(got) == 1, log_tail(srv)
    # The receiver's certificate (localhost, test CA) does not match mx.tls.test:
    # opportunistic TLS on MX delivery goes ahead anyway.
    assert got[0].tls, "the message came in the clear although STARTTLS was offered"
    assert got[0].tls_version in ("TLSv1.2", "TLSv1.3"), got[0].tls_version
    sent = wait_delivery(srv, "x@tls.test", "sent")
    assert sent and sent[0]["tls"] == got[0].tls_version, log_tail(srv)


def test_tls_policy_require_refuses_receiver_without_starttls(make_server, make_dns,
                                                              make_receiver):
    plain = make_receiver(tls=False)
    withtls = make_receiver(tls=True)
    dns = make_dns(mx={"plain.test": [(10, "mx.plain.test")],
                       "secure.test": [(10, "mx.secure.test")]},
                   hosts={"mx.plain.test": [plain.ip], "mx.secure.test": [withtls.ip]})
    srv = outbound_server(make_server, dns, extra=["tls-policy plain.test require",
                                                   "tls-policy secure.test require"])
    m = token()
    submit(srv, "x@plain.test", m)
    deferred = wait_delivery(srv, "x@plain.test", "deferred")
    assert deferred, log_tail(srv)
    d = deferred[0]
    assert "tls" in (d.get("reply", "") + d["line"]).lower().replace("tls=none", ""), d["line"]
    assert d.get("tls") == "none", d["line"]
    if d.get("relay") != "mx.plain.test[%s]:25" % plain.ip:
        warnings.warn("tls-policy refusal logged with relay=%s, not the host contacted "
                      "(mx.plain.test[%s]:25)" % (d.get("relay"), plain.ip))
    assert plain.messages == [] and plain.rcpt_log == [], \
        "the envelope went out in the clear despite tls-policy require"
    # the same policy with a receiver that offers STARTTLS: delivered over TLS
    m2 = token()
    submit(srv, "y@secure.test", m2)
    got = withtls.wait_messages(m2)
    assert len(got) == 1 and got[0].tls, log_tail(srv)
    assert not srv.find_mail(ALICE, m), "bounced instead of deferred"


# ---------------------------------------------------------------- relay host


@pytest.fixture(scope="module")
def relay_certs(certs):
    """A leaf for 127.0.26.1-254 and relay.test, signed by the test intermediate CA."""
    d = certs.dir
    ext = os.path.join(d, "relay.ext")
    if not os.path.exists(os.path.join(d, "chain-relay.pem")):
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"
                    "subjectAltName=DNS:relay.test,"
                    + ",".join("IP:127.0.26.%d" % i for i in range(1, 255)) + "\n")
        for args in (["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key-relay.pem",
                      "-out", "relay.csr", "-subj", "/CN=relay.test"],
                     ["x509", "-req", "-in", "relay.csr", "-CA", "int.pem", "-CAkey",
                      "int.key", "-CAcreateserial", "-out", "leaf-relay.pem", "-days", "30",
                      "-extfile", ext]):
            subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True,
                           timeout=60)
        with open(os.path.join(d, "chain-relay.pem"), "w") as f:
            f.write(open(os.path.join(d, "leaf-relay.pem")).read())
            f.write(open(os.path.join(d, "int.pem")).read())
        for n in ("chain-relay.pem", "key-relay.pem"):
            os.chmod(os.path.join(d, n), 0o644)
    return os.path.join(d, "chain-relay.pem"), os.path.join(d, "key-relay.pem")


DAVE = "dave@relay.test"
RELAY_USERS = dict(USERS, **{DAVE: "dave-pw-4"})


def relay_mailport(make_server, ip, doors, relay_certs):
    """Another mailport on fixed ports of ip ({port: (name, service)}), local
    for relay.test (dave) besides the usual domains."""
    need_root()
    srv = make_server(start=False, doors={n: svc for n, svc in doors.values()},
                      users=RELAY_USERS, extra=["domain relay.test"], name="relay")
    for port, (n, _) in doors.items():
        srv.ports[n] = port
        srv.hosts[n] = ip
    shutil.copy(relay_certs[0], srv.cert)
    shutil.copy(relay_certs[1], srv.key)
    srv.write_config()
    srv.start()
    return srv


def server_with_relayhost(make_server, make_dns, certs, relayhost, user, password,
                          secret_owner="nobody"):
    """A mailport relaying everything non-local through relayhost. The secret
    file is mode 0600, owned by secret_owner (by default the account the
    server runs as after dropping root, so the relay logic is tested apart
    from when the file is read; see test_relayhost_secret_file_root_0600)."""
    dns = make_dns()
    srv = outbound_server(make_server, dns, start=False)
    secret = os.path.join(srv.dir, "relay-secret")
    with open(secret, "w") as f:
        f.write(password + "\n")
    os.chmod(secret, 0o600)
    pw = pwd.getpwnam(secret_owner)
    os.chown(secret, pw.pw_uid, pw.pw_gid)
    srv.extra += ["relayhost %s %s %s" % (relayhost, user, secret),
                  "relay-cafile %s" % certs.ca]
    srv.write_config()
    srv.start()
    return srv


def test_relayhost_postfix_submission_auth_starttls(make_server, make_dns, certs,
                                                   postfix_submission):
    peer = postfix_submission
    user = "alice@peer.test"
    srv = server_with_relayhost(make_server, make_dns, certs,
                                "127.0.0.1:%d" % peer.ports["submission"], user,
                                PEER_USERS[user])
    m = token()
    submit(srv, "rcpt@peer.test", m)
    got = peer.wait_mail("rcpt@peer.test", m, timeout=20)
    assert len(got) == 1, "not relayed\n%s\n%s" % (log_tail(srv), peer.log_text()[-2000:])
    assert b"with ESMTPSA" in got[0], got[0][:1500]
    assert peer.wait_log(r"sasl_username=alice@peer\.test"), peer.log_text()[-2000:]
    sent = wait_delivery(srv, "rcpt@peer.test", "sent")
    assert sent, log_tail(srv)
    assert sent[0]["relay"].endswith("[127.0.0.1]:%d" % peer.ports["submission"]), sent[0]["line"]
    assert sent[0]["tls"] in ("TLSv1.2", "TLSv1.3"), sent[0]["line"]


def test_relayhost_mailport_587(make_server, make_dns, certs, relay_certs):
    ip = next_ip("127.0.26", ports=(587, 465, 2525))
    relay = relay_mailport(make_server, ip, {587: ("r587", "submission")}, relay_certs)
    srv = server_with_relayhost(make_server, make_dns, certs, ip, ALICE, USERS[ALICE])
    m = token()
    submit(srv, DAVE, m)
    got = relay.wait_mail(DAVE, m, timeout=20)
    assert len(got) == 1, "not relayed\n%s\n%s" % (log_tail(srv), log_tail(relay))
    assert b"ESMTPSA" in got[0], got[0][:1500]
    sent = wait_delivery(srv, DAVE, "sent")
    assert sent and sent[0]["relay"].endswith("[%s]:587" % ip), log_tail(srv)
    assert sent[0]["tls"] in ("TLSv1.2", "TLSv1.3"), sent[0]["line"]
    assert re.search(r"event=auth user=alice@example\.test", relay.log_text()), log_tail(relay)


def test_relayhost_falls_back_to_465_when_587_refused(make_server, make_dns, certs,
                                                     relay_certs):
    ip = next_ip("127.0.26", ports=(587, 465, 2525))
    relay = relay_mailport(make_server, ip, {465: ("r465", "submissions")}, relay_certs)
    assert not can_connect(587, ip)
    srv = server_with_relayhost(make_server, make_dns, certs, ip, ALICE, USERS[ALICE])
    m = token()
    submit(srv, DAVE, m)
    got = relay.wait_mail(DAVE, m, timeout=20)
    assert len(got) == 1, "not relayed\n%s\n%s" % (log_tail(srv), log_tail(relay))
    sent = wait_delivery(srv, DAVE, "sent")
    assert sent and sent[0]["relay"].endswith("[%s]:465" % ip), log_tail(srv)
    assert sent[0]["tls"] in ("TLSv1.2", "TLSv1.3"), sent[0]["line"]
    if not re.search(r"%s\]?:587" % re.escape(ip), srv.log_text()):
        warnings.warn("relayhost fallback: the refused attempt on %s:587 is not logged" % ip)


def test_relayhost_secret_file_root_0600(make_server, make_dns, certs, relay_certs):
    """The secret file as `mailport config check` asks for it: mode 0600, owned
    by root. The server starts as root and drops to nobody; it must still be
    able to log in to the relay host (read the secret before dropping root)."""
    ip = next_ip("127.0.26", ports=(587, 465, 2525))
    relay = relay_mailport(make_server, ip, {587: ("r587", "submission")}, relay_certs)
    srv = server_with_relayhost(make_server, make_dns, certs, ip, ALICE, USERS[ALICE],
                                secret_owner="root")
    m = token()
    submit(srv, DAVE, m)
    got = relay.wait_mail(DAVE, m, timeout=15)
    assert len(got) == 1, "not relayed with a root-owned 0600 secret file\n%s" % log_tail(srv)


def test_relayhost_without_tls_never_sends_password(make_server, make_dns, certs,
                                                    make_receiver):
    """A relay host that offers no STARTTLS (and listens on 587): no AUTH in
    the clear; the message stays queued (deferred)."""
    ip = next_ip("127.0.26", ports=(587,))
    rx = make_receiver(ip=ip, port=587)
    srv = server_with_relayhost(make_server, make_dns, certs, "%s:587" % ip, ALICE,
                                USERS[ALICE])
    m = token()
    submit(srv, DAVE, m)
    deferred = wait_delivery(srv, DAVE, "deferred")
    assert deferred, log_tail(srv)
    assert rx.messages == [] and rx.rcpt_log == [], "mail went out in the clear"
    assert USERS[ALICE] not in srv.log_text()


# ---------------------------------------------------------------- a real MTA


class PostfixOnIP(PostfixPeer):
    """A PostfixPeer whose smtp service listens on ip:25 (an MX host)."""

    def __init__(self, root, certs, ip, **kw):
        self.listen_ip = ip
        super().__init__(root, certs, submission=False, **kw)
        self.ports = {}  # base wait_ready checks 127.0.0.1 ports; we check ip:25

    def master_cf(self):
        from peers import MASTER_CF_BASE
        return MASTER_CF_BASE + ("%s:25 inet n - n - - smtpd\n"
                                 "  -o syslog_name=postfix/smtp-in\n" % self.listen_ip)

    def start(self, timeout=20.0):
        super().start(timeout)
        deadline = time.monotonic() + timeout
        while not can_connect(25, self.listen_ip):
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("postfix not listening on %s:25\n%s"
                                     % (self.listen_ip, self.log_text()[-2000:]))
            time.sleep(0.05)
        return self


@pytest.fixture
def postfix_mx(workroot, certs):
    need_root()
    from peers import require_postfix
    require_postfix()
    peer = PostfixOnIP(workroot, certs, next_ip(), name="postfix-mx")
    try:
        peer.start()
    except BaseException:
        peer.cleanup()
        raise
    yield peer
    peer.cleanup()


def test_postfix_receives_over_mx(make_server, make_dns, postfix_mx):
    peer = postfix_mx
    dns = make_dns(mx={"peer.test": [(10, "mx.peer.test")]},
                   hosts={"mx.peer.test": [peer.listen_ip]})
    srv = outbound_server(make_server, dns)
    m = token()
    submit(srv, "rcpt@peer.test", m)
    got = peer.wait_mail("rcpt@peer.test", m, timeout=20)
    assert len(got) == 1, "%s\n%s" % (log_tail(srv), peer.log_text()[-2000:])
    assert b"from mx.example.test" in got[0], got[0][:1500]
    assert b"with ESMTPS" in got[0], "STARTTLS offered by Postfix but not used"
    sent = wait_delivery(srv, "rcpt@peer.test", "sent")
    assert sent and sent[0]["relay"] == "mx.peer.test[%s]:25" % peer.listen_ip, log_tail(srv)
    assert "250" in sent[0]["reply"], sent[0]["line"]


def test_postfix_relays_into_mailport(make_server, make_postfix):
    srv = make_server()
    peer = make_postfix(relayhost="[127.0.0.1]:%d" % srv.port("smtp"), open_relay=True,
                        submission=False, name="postfix-relay")
    m = token()
    with smtplib.SMTP("127.0.0.1", peer.ports["smtp"], timeout=15) as s:
        s.ehlo("client.example.test")
        s.sendmail("someone@peer.test", [BOB],
                   message(m, frm="someone@peer.test", to=BOB).encode())
    got = srv.wait_mail(BOB, m, timeout=20)
    assert len(got) == 1, "%s\n%s" % (peer.log_text()[-2000:], log_tail(srv))
    assert b"mx.peer.test" in got[0], got[0][:1500]
    assert peer.wait_log(r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d.*status=sent"
                         % srv.port("smtp")), peer.log_text()[-2000:]


# ---------------------------------------------------------------- crash safety


def test_kill9_during_delivery_nothing_lost(make_server, make_dns, make_receiver):
    rx = make_receiver(data_delay=3)
    dns = make_dns(mx={"crash.test": [(10, "mx.crash.test")]}, hosts={"mx.crash.test": [rx.ip]})
    srv = outbound_server(make_server, dns, timeout=10)
    marks = [token() for _ in range(4)]
    for i, m in enumerate(marks):
        submit(srv, "r%d@crash.test" % i, m)
    # wait until a delivery sits in the receiver's slow DATA
    deadline = time.monotonic() + 15
    while rx.data_started == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rx.data_started, "no delivery reached DATA\n" + log_tail(srv)
    # Kept: the kill lands inside the receiver's 3 s pause, with the other
    # deliveries under way too; that moment is the subject, not a condition.
    time.sleep(0.5)
    srv.kill9()
    rx.data_delay = 0
    srv.start()
    missing, dups = [], {}
    for m in marks:
        got = rx.wait_messages(m, timeout=40)
        if not got:
            missing.append(m)
        elif len(got) > 1:
            dups[m] = len(got)
    assert not missing, "lost after kill -9: %s\n%s" % (missing, log_tail(srv))
    poll(lambda: not srv.queue_files())  # every copy sent and removed: none can follow
    for m in marks:
        n = len(rx.find(m))
        if n > 1:
            dups[m] = n
    if dups:
        warnings.warn("kill -9 during delivery: %d message(s) delivered more than once: %s"
                      % (len(dups), dups))


class No8bitHandler(socketserver.StreamRequestHandler):
    """An old receiver: ESMTP without 8BITMIME; records what it was sent."""

    def handle(self):
        self.wfile.write(b"220 old.example ESMTP\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            self.server.seen.append(line.decode(errors="replace").strip())
            if line[:4].upper() == b"EHLO":
                self.wfile.write(b"250-old.example\r\n250 PIPELINING\r\n")
            elif line[:4].upper() == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def test_8bit_to_server_without_8bitmime_bounces(make_server, make_dns):
    ip = next_ip()
    rx = socketserver.ThreadingTCPServer((ip, 25), No8bitHandler)
    rx.daemon_threads, rx.seen = True, []
    threading.Thread(target=rx.serve_forever, daemon=True).start()
    try:
        dns = make_dns(mx={"old.test": [(10, "mx.old.test")]}, hosts={"mx.old.test": [ip]})
        srv = outbound_server(make_server, dns)
        m = token()
        submit(srv, "x@old.test", m, body="caf\u00e9 au lait, 8-bit and unencoded\r\n")
        data = wait_dsn(srv, m, timeout=15)
        dsn_checks(data, "x@old.test", "5.6.3", m)
        assert not any(s.upper().startswith(("MAIL", "DATA")) for s in rx.seen), rx.seen
    finally:
        rx.shutdown()
        rx.server_close()
