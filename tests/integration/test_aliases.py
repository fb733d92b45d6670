"""Aliases and forwarding with SRS (issue 16), with real clients and peers.

The smtp door takes mail for aliases as for accounts; the aliases file
(`aliases FILE`) is expanded when the message is queued: local targets go
to their Maildir, remote ones through the outbound queue, whose MAIL FROM
is rewritten with SRS (`srs-secret FILE`). Peers: smtplib and swaks as the
sending MTA; an aiosmtpd receiver (receivers.py) and a private Postfix
(peers.py) as the forward target, an aiosmtpd receiver as the original
sender's MX, found through dnsmasq (dns.py), which also
serves the SPF records that `mailport auth check` and the npm mailauth
package (tests/js) evaluate for the forwarded mail.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import smtplib
import subprocess
import time

import pytest

from conftest import HOST, message, poll, run, token, wait_for
from dns import make_dns  # noqa: F401
from receivers import make_receiver  # noqa: F401
from test_outbound import postfix_mx  # noqa: F401  (a private Postfix on 127.0.25.X:25)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "aliases-test-secret-0123456789"

ALIASES = """# the team
sales@example.test: alice, bob@example.test
@second.test: carol
"""


def write_aliases(srv, text):
    """Writes srv's aliases file; its mtime moves on, so the next look sees a change."""
    path = os.path.join(srv.dir, "aliases")
    before = os.stat(path).st_mtime if os.path.exists(path) else 0
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    st = os.stat(path)
    if st.st_mtime <= before:
        os.utime(path, (before + 1, before + 1))
    return path


def alias_server(make_server, text=ALIASES, extra=(), start=True):
    srv = make_server(start=False, extra=["aliases aliases", *extra])
    write_aliases(srv, text)
    with open(os.path.join(srv.dir, "srs.secret"), "w") as f:
        f.write(SECRET + "\n")
    os.chmod(os.path.join(srv.dir, "srs.secret"), 0o600)
    if start:
        srv.start()
    return srv


def send(srv, frm, rcpts, marker):
    """One message on the smtp door, as another MTA would send it (no AUTH)."""
    with smtplib.SMTP(HOST, srv.port("smtp"), timeout=15) as c:
        c.ehlo("mta.origin.test")
        refused = c.sendmail(frm, rcpts, message(marker, frm=frm, to=rcpts[0]).encode())
        assert not refused, refused


def rcpt_reply(srv, rcpt, frm="someone@origin.test"):
    with smtplib.SMTP(HOST, srv.port("smtp"), timeout=15) as c:
        c.ehlo("mta.origin.test")
        c.mail(frm)
        return c.rcpt(rcpt)


def config_check(srv):
    p = subprocess.run([srv.binary, "config", "check", "-c", srv.conf], capture_output=True,
                       text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


# ---------------------------------------------------------------- local aliases


def test_alias_list_catchall_and_roles_delivered(make_server):
    srv = alias_server(make_server)
    m1, m2, m3, m4 = token(), token(), token(), token()
    # A list alias: one copy to each member, none to a mailbox named "sales".
    send(srv, "someone@origin.test", ["sales@example.test"], m1)
    srv.wait_mail("alice@example.test", m1)
    srv.wait_mail("bob@example.test", m1)
    # Catch-all: an unknown name of second.test reaches carol; the account itself too.
    send(srv, "someone@origin.test", ["whoever+x@second.test"], m2)
    srv.wait_mail("carol@second.test", m2)
    # postmaster@ and abuse@ of every domain reach the first account of the users
    # file (alice) with no line of their own; swaks as a second, independent client.
    send(srv, "someone@origin.test", ["postmaster@second.test"], m3)
    srv.wait_mail("alice@example.test", m3)
    p = run(["swaks", "--server", HOST, "--port", str(srv.port("smtp")), "--helo",
             "mta.origin.test", "--from", "someone@origin.test", "--to", "abuse@example.test",
             "--header", "Subject: test " + m4, "--body", "abuse report " + m4], timeout=30)
    assert b"queued as" in p.stdout, p.stdout.decode()
    srv.wait_mail("alice@example.test", m4)
    srv.wait_settled()
    assert not srv.find_mail("carol@second.test", m1), "sales is not carol's"
    for name in ("sales", "whoever", "postmaster", "abuse"):
        assert not os.path.exists(os.path.join(srv.mail, "example.test", name)), name
        assert not os.path.exists(os.path.join(srv.mail, "second.test", name)), name
    assert len(srv.find_mail("alice@example.test", m1)) == 1
    # Unknown addresses of a domain with no catch-all are still refused.
    code, text = rcpt_reply(srv, "nobody@example.test")
    assert code == 550 and b"5.1.1" in text


def test_loop_refused_and_file_reloaded_on_change_and_sighup(make_server):
    srv = alias_server(make_server)
    code, _ = rcpt_reply(srv, "loop1@example.test")
    assert code == 550
    # A cycle written while the server runs: seen at the next look (no signal).
    since = srv.log_size()
    write_aliases(srv, ALIASES + "loop1@example.test: loop2\nloop2@example.test: loop1\n")
    code, text = poll(lambda: rcpt_reply(srv, "loop1@example.test"),
                      done=lambda r: b"5.4.6" in r[1])
    assert code == 550 and b"5.4.6" in text and b"Routing loop" in text, text
    assert srv.wait_log(r"event=aliases_reloaded", since=since)
    assert srv.wait_log(r"event=alias_loop to=<loop1@example.test>", since=since)
    # config check names the lines of the cycle.
    rc, out = config_check(srv)
    assert rc == 78 and re.search(r"aliases:4: \"loop1@example.test\" loops", out), out
    # A broken file keeps the table in force; fixed, SIGHUP applies it at once.
    since = srv.log_size()
    write_aliases(srv, "this line has no colon\n")
    srv.sighup()
    assert srv.wait_log(r"event=aliases_error error=\".*aliases:1: no ':'", since=since)
    assert b"5.4.6" in rcpt_reply(srv, "loop1@example.test")[1], "old table stays"
    write_aliases(srv, ALIASES + "loop1@example.test: bob\n")
    srv.sighup()
    assert srv.wait_log(r"event=aliases_reload file=\S+ aliases=3", since=since)
    m = token()
    send(srv, "someone@origin.test", ["loop1@example.test"], m)
    srv.wait_mail("bob@example.test", m)


def test_mail_loop_through_other_servers_refused_by_hop_count(make_server):
    """A forward that comes back (us -> them -> us ...) grows a Received: field
    each pass; past 50 the smtp door refuses it (554 5.4.6), so the sender's
    server returns it instead of the loop going on."""
    srv = alias_server(make_server)
    m = token()

    def send_with_hops(n):
        hops = "".join("Received: from hop%d.test by hop%d.test; Sun, 6 Dec 2026 "
                       "12:00:00 +0000\r\n" % (i, i + 1) for i in range(n))
        with smtplib.SMTP(HOST, srv.port("smtp"), timeout=15) as c:
            c.ehlo("mta.origin.test")
            c.mail("someone@origin.test")
            c.rcpt("sales@example.test")
            return c.data((hops + message(m + str(n), frm="someone@origin.test",
                                          to="sales@example.test")).encode())

    code, text = send_with_hops(51)
    assert code == 554 and b"5.4.6" in text and b"more than 50 Received" in text, text
    assert srv.wait_log(r"event=mail_loop received=51 limit=50")
    code, text = send_with_hops(50)
    assert code == 250, text
    srv.wait_mail("bob@example.test", m + "50")
    srv.wait_settled()
    assert not srv.find_mail("bob@example.test", m + "51")


def test_config_check_names_file_and_line(make_server):
    srv = alias_server(make_server, start=False, text=(
        "sales@example.test: alice\n"
        "broken line\n"
        "x@elsewhere.test: alice@example.test\n"
        "y@example.test: ghost\n"
        "z@example.test: <bad>\n"))
    rc, out = config_check(srv)
    path = os.path.join(srv.dir, "aliases")
    assert rc == 78, out
    # Parse errors come first, all of them, each with its fix.
    assert "%s:2: no ':' after the address; write it as" % path in out, out
    assert "%s:5: the target \"<bad>\"" % path in out, out
    write_aliases(srv, "sales@example.test: alice\nx@elsewhere.test: alice@example.test\n"
                       "y@example.test: ghost\n")
    rc, out = config_check(srv)
    assert rc == 78
    assert "%s:2: \"x@elsewhere.test\" is not of a domain of ours" % path in out, out
    assert "%s:3: the target ghost@example.test of \"y@example.test\" is neither" % path in out
    write_aliases(srv, "sales@example.test: alice, friend@far.test\n")
    rc, out = config_check(srv)
    assert rc == 0 and ": ok (" in out, out
    # A short SRS secret is refused with the command that makes a good one.
    with open(os.path.join(srv.dir, "short.secret"), "w") as f:
        f.write("short\n")
    srv.extra.append("srs-secret short.secret")
    srv.write_config()
    rc, out = config_check(srv)
    assert rc == 78 and "shorter than 16" in out and "head -c 24 /dev/urandom" in out, out


def test_bad_aliases_file_or_secret_stops_the_start(make_server):
    """At start a bad file is not half-used: serve stops with every bad line and the fix."""
    srv = alias_server(make_server, start=False, text="ok@example.test: alice\nno colon\n")
    srv.expect_exit = True
    srv.start(wait=False)
    srv.proc.wait(timeout=20)
    out = srv.log_text()
    assert srv.proc.returncode != 0, out
    assert "aliases:2: no ':'" in out and "fix: correct those lines" in out, out
    srv2 = alias_server(make_server, start=False, extra=["srs-secret short.secret"])
    with open(os.path.join(srv2.dir, "short.secret"), "w") as f:
        f.write("tooshort\n")
    srv2.expect_exit = True
    srv2.start(wait=False)
    srv2.proc.wait(timeout=20)
    out = srv2.log_text()
    assert srv2.proc.returncode != 0 and "shorter than 16 characters" in out, out


# ---------------------------------------------------------------- forwarding and SRS


def srs_hash(secret, *fields):
    """The SRS hash as the scheme defines it, computed here independently:
    HMAC-SHA1 over the lower-cased fields (each ended by a NUL), base32, 5 letters."""
    data = b"".join(f.lower().encode() + b"\0" for f in fields)
    digest = hmac.new(secret.encode(), data, hashlib.sha1).digest()
    return base64.b32encode(digest).decode()[:5]


def auth_check_spf(srv, dns, ip, sender):
    p = run([srv.binary, "auth", "check", "--json", "--resolver", "127.0.0.1:%d" % dns.port,
             "--ip", ip, "--helo", "mx.example.test", "--from", sender], timeout=30)
    return json.loads(p.stdout)["spf"]["result"]


def mailauth_spf(dns, ip, sender):
    """The npm mailauth package's SPF verdict (independent of mailport); None without it."""
    node = shutil.which("node")
    js = os.path.join(REPO, "tests", "js")
    if node is None or not os.path.isdir(os.path.join(js, "node_modules", "mailauth")):
        return None
    p = run([node, os.path.join(js, "mailauth_check.js"), "--dns", "127.0.0.1:%d" % dns.port,
             "--ip", ip, "--helo", "mx.example.test", "--sender", sender, "--mta", "rx.test",
             "--no-message", "-"], input=b"", timeout=30)
    return json.loads(p.stdout)["spf"]["result"]


def forward_setup(make_server, make_dns, make_receiver):
    if os.geteuid() != 0:
        pytest.skip("receivers listen on port 25 of 127.0.25.X: needs root")
    target = make_receiver()   # the forward target: friend@far.test
    origin = make_receiver()   # the original sender's MX: where bounces go back
    dns = make_dns(mx={"far.test": [(10, "mx.far.test")],
                       "origin.test": [(10, "mx.origin.test")],
                       "first.test": [(10, "mx.origin.test")]},
                   hosts={"mx.far.test": [target.ip], "mx.origin.test": [origin.ip]},
                   txt={"example.test": ["v=spf1 ip4:127.0.0.0/8 -all"],
                        "origin.test": ["v=spf1 ip4:192.0.2.0/24 -all"]})
    srv = alias_server(make_server, text=ALIASES + "fwd@example.test: friend@far.test, alice\n",
                       extra=[dns.resolver_line(), "srs-secret srs.secret",
                              "retry-interval 1s", "retry-max-interval 2s",
                              "outbound-timeout 3"])
    return srv, dns, target, origin


def test_forward_rewrites_sender_with_srs_spf_passes_and_bounce_returns(
        make_server, make_dns, make_receiver):
    srv, dns, target, origin = forward_setup(make_server, make_dns, make_receiver)
    m = token()
    send(srv, "Sender@origin.test", ["fwd@example.test"], m)
    got = target.wait_messages(m)
    assert len(got) == 1, srv.log_text()[-3000:]
    r = got[0]
    assert r.rcpt_tos == ["friend@far.test"]
    # SRS0=HHHHH=TT=origin.test=Sender@example.test, the hash checked here.
    mm = re.fullmatch(r"SRS0=([A-Z2-7]{5})=([A-Z2-7]{2})=origin\.test=Sender@example\.test",
                      r.mail_from)
    assert mm, r.mail_from
    day = int(time.time()) // 86400 % 1024
    b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    assert mm.group(2) in {b32[d >> 5] + b32[d & 31] for d in (day, (day - 1) % 1024)}
    assert mm.group(1) == srs_hash(SECRET, mm.group(2), "origin.test", "Sender"), r.mail_from
    # The local member keeps the original sender.
    local = srv.wait_mail("alice@example.test", m)[0]
    assert local.startswith(b"Return-Path: <Sender@origin.test>"), local[:200]
    # SPF as the target sees it: pass for the SRS sender, fail for the original.
    assert auth_check_spf(srv, dns, r.peer, r.mail_from) == "pass"
    assert auth_check_spf(srv, dns, r.peer, "Sender@origin.test") == "fail"
    theirs = mailauth_spf(dns, r.peer, r.mail_from)
    assert theirs in (None, "pass"), theirs
    # The target bounces it later: the bounce to the SRS address goes back to the
    # original sender, through our outbound queue, from <>.
    b = token()
    with smtplib.SMTP(HOST, srv.port("smtp"), timeout=15) as c:
        c.ehlo("mx.far.test")
        refused = c.sendmail("", [r.mail_from.lower()],  # a hop may fold the case
                             message(b, frm="mailer-daemon@far.test", to=r.mail_from).encode())
        assert not refused
    back = origin.wait_messages(b)
    assert len(back) == 1, srv.log_text()[-3000:]
    # The case the hop folded stays folded (the local part is all SRS carries).
    assert back[0].rcpt_tos == ["sender@origin.test"] and back[0].mail_from in ("", "<>")
    assert srv.wait_log(r"event=srs_return to=<%s> original=<sender@origin.test>"
                        % re.escape(r.mail_from.lower()))
    # A forged or altered SRS address is no recipient: we relay for no one.
    forged = r.mail_from.replace("=origin.test=", "=origin.test=x")
    code, text = rcpt_reply(srv, forged, frm="")
    assert code == 550 and b"5.1.1" in text
    assert srv.wait_log(r"event=srs_refused .*reason=\"its hash was not made with our secret\"")


def test_forwarding_a_forward_is_srs1_and_its_bounce_goes_to_the_first_forwarder(
        make_server, make_dns, make_receiver):
    srv, dns, target, origin = forward_setup(make_server, make_dns, make_receiver)
    m = token()
    first = "SRS0=AbCdE=XY=orig.test=user@first.test"  # what first.test made of it
    send(srv, first, ["fwd@example.test"], m)
    r = target.wait_messages(m)[0]
    mm = re.fullmatch(r"SRS1=([A-Z2-7]{5})=first\.test==AbCdE=XY=orig\.test=user@example\.test",
                      r.mail_from)
    assert mm, r.mail_from
    assert mm.group(1) == srs_hash(SECRET, "first.test", "AbCdE=XY=orig.test=user")
    # Its bounce goes to the first forwarder, which checks its own hash and age.
    b = token()
    with smtplib.SMTP(HOST, srv.port("smtp"), timeout=15) as c:
        c.ehlo("mx.far.test")
        assert not c.sendmail("", [r.mail_from], message(b, frm="mailer-daemon@far.test",
                                                         to=r.mail_from).encode())
    back = origin.wait_messages(b)
    assert len(back) == 1 and back[0].rcpt_tos == [first], back


def test_without_secret_forwarding_keeps_sender(make_server, make_dns, make_receiver):
    if os.geteuid() != 0:
        pytest.skip("receivers listen on port 25 of 127.0.25.X: needs root")
    target = make_receiver()
    dns = make_dns(mx={"far.test": [(10, "mx.far.test")]}, hosts={"mx.far.test": [target.ip]})
    srv = alias_server(make_server, text="fwd@example.test: friend@far.test\n",
                       extra=[dns.resolver_line(), "outbound-timeout 3"])
    m = token()
    send(srv, "sender@origin.test", ["fwd@example.test"], m)
    got = target.wait_messages(m)
    assert got and got[0].mail_from == "sender@origin.test", got
    # And an SRS-looking address is then just an unknown user.
    code, _ = rcpt_reply(srv, "SRS0=AAAAA=AA=origin.test=x@example.test", frm="")
    assert code == 550


def test_postfix_as_forward_target_sees_srs_sender(make_server, make_dns, postfix_mx):
    """A real Postfix as the forwarded mail's destination: the Return-Path its
    virtual(8) delivery writes is the SRS sender, with a hash of our secret."""
    peer = postfix_mx
    dns = make_dns(mx={"peer.test": [(10, "mx.peer.test")]},
                   hosts={"mx.peer.test": [peer.listen_ip]})
    srv = alias_server(make_server, text="pf@example.test: rcpt@peer.test\n",
                       extra=[dns.resolver_line(), "srs-secret srs.secret",
                              "outbound-timeout 5"])
    m = token()
    send(srv, "Writer@origin.test", ["pf@example.test"], m)
    got = peer.wait_mail("rcpt@peer.test", m, timeout=20)
    assert len(got) == 1, srv.log_text()[-3000:] + peer.log_text()[-2000:]
    rp = re.search(rb"^Return-Path: <(SRS0=([A-Z2-7]{5})=([A-Z2-7]{2})=origin\.test=Writer"
                   rb"@example\.test)>", got[0], re.M)
    assert rp, got[0][:800]
    assert rp.group(2).decode() == srs_hash(SECRET, rp.group(3).decode(), "origin.test",
                                            "Writer")
    assert peer.wait_log(r"from=<%s>" % re.escape(rp.group(1).decode()))
