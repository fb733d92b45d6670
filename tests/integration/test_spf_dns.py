"""SPF (RFC 7208) over a real DNS server: the records below are served by
dnsmasq on loopback, and `mailport auth check --json` (no message: SPF
alone) evaluates them through the same c-ares path the server uses
(auth_dns).

Every verdict of the comparison set is also asked of the mailauth npm
package (tests/js), an independent implementation, pointed at the same
dnsmasq: the two must agree.
"""

import json
import os
import shutil
import subprocess

import pytest

from conftest import REPO

ZONE = "spf.test"

# name -> TXT records. The test client addresses are 127.0.5.0/24 (allowed)
# and 127.0.6.0/24 (not).
TXT = {
    "pass.spf.test": ["v=spf1 ip4:127.0.5.0/24 -all exp=why.spf.test"],
    "why.spf.test": ["%{i} may not send for %{d} (sender %{s}, helo %{h})"],
    "soft.spf.test": ["v=spf1 ip4:127.0.5.0/24 ~all"],
    "neutral.spf.test": ["v=spf1 ip4:127.0.5.0/24 ?all"],
    "amx.spf.test": ["v=spf1 a mx/30 -all"],
    "ptr.spf.test": ["v=spf1 ptr -all"],
    "inc.spf.test": ["v=spf1 include:pass.spf.test -all"],
    "redir.spf.test": ["v=spf1 redirect=soft.spf.test"],
    "macro.spf.test": ["v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all"],
    "v6.spf.test": ["v=spf1 ip6:::1 a:six.spf.test -all"],
    "helo.spf.test": ["v=spf1 ip4:127.0.5.7 -all"],
    "many.spf.test": ["v=spf1 " + " ".join("a:h%d.spf.test" % i for i in range(11))
                      + " ip4:127.0.5.0/24 -all"],
    "void.spf.test": ["v=spf1 a:nx1.spf.test a:nx2.spf.test a:nx3.spf.test "
                      "ip4:127.0.5.0/24 -all"],
    "syntax.spf.test": ["v=spf1 ip4:127.0.0.300 ip4:127.0.5.0/24 -all"],
    "syntaxlate.spf.test": ["v=spf1 ip4:127.0.5.0/24 ip4:127.0.0.300 -all"],
    "incnone.spf.test": ["v=spf1 include:nospf.spf.test ip4:127.0.5.0/24 -all"],
    "redirnone.spf.test": ["v=spf1 redirect=nospf.spf.test"],
    "two.spf.test": ["v=spf1 -all", "v=spf1 +all"],
    # the include's target is outside the zones dnsmasq answers: it refuses
    "temp.spf.test": ["v=spf1 include:spf.unreachable.example ip4:127.0.5.0/24 -all"],
    # longer than 255 octets: served as several strings, joined by the reader
    "long.spf.test": ["v=spf1 " + " ".join("ip4:10.0.%d.0/24" % i for i in range(30))
                      + " ip4:127.0.5.0/24 -all"],
    "nospf.spf.test": ["google-site-verification=abc123"],
}
HOSTS = {
    "amx.spf.test": ["127.0.5.10"],
    "mx1.amx.spf.test": ["127.0.5.21"],
    "host.ptr.spf.test": ["127.0.5.30"],
    "six.spf.test": ["::2"],
    "1.5.0.127.joe._spf.macro.spf.test": ["127.0.0.2"],
    **{"h%d.spf.test" % i: ["127.0.9.%d" % i] for i in range(11)},
}
MX = {"amx.spf.test": [(10, "mx1.amx.spf.test")]}

# (from, ip, helo) -> the result; the part of the set mailauth judges too.
COMPARED = [
    ("joe@pass.spf.test", "127.0.5.1", "client.test", "pass"),
    ("joe@pass.spf.test", "127.0.6.1", "client.test", "fail"),
    ("joe@soft.spf.test", "127.0.6.1", "client.test", "softfail"),
    ("joe@neutral.spf.test", "127.0.6.1", "client.test", "neutral"),
    ("joe@nospf.spf.test", "127.0.5.1", "client.test", "none"),
    ("joe@nxdomain.spf.test", "127.0.5.1", "client.test", "none"),
    ("joe@amx.spf.test", "127.0.5.10", "client.test", "pass"),
    ("joe@amx.spf.test", "127.0.5.22", "client.test", "pass"),
    ("joe@amx.spf.test", "127.0.5.30", "client.test", "fail"),
    ("joe@inc.spf.test", "127.0.5.1", "client.test", "pass"),
    ("joe@inc.spf.test", "127.0.6.1", "client.test", "fail"),
    ("joe@redir.spf.test", "127.0.6.1", "client.test", "softfail"),
    ("joe@redir.spf.test", "127.0.5.1", "client.test", "pass"),
    ("joe-ext@macro.spf.test", "127.0.5.1", "client.test", "pass"),
    ("joe@macro.spf.test", "127.0.5.2", "client.test", "fail"),
    ("joe@long.spf.test", "127.0.5.1", "client.test", "pass"),
    ("joe@many.spf.test", "127.0.5.1", "client.test", "permerror"),
    ("joe@void.spf.test", "127.0.5.1", "client.test", "permerror"),
    ("joe@syntax.spf.test", "127.0.5.1", "client.test", "permerror"),
    ("joe@incnone.spf.test", "127.0.5.1", "client.test", "permerror"),
    ("joe@redirnone.spf.test", "127.0.5.1", "client.test", "permerror"),
    ("joe@two.spf.test", "127.0.5.1", "client.test", "permerror"),
    ("joe@temp.spf.test", "127.0.5.1", "client.test", "temperror"),
]


@pytest.fixture(scope="module")
def spf_dns(workroot, mailport_bin):
    from dns import Dnsmasq
    d = Dnsmasq(workroot, txt=TXT, hosts=HOSTS, mx=MX,
                ptr={"127.0.5.30": "host.ptr.spf.test", "127.0.5.31": "host.ptr.spf.test"},
                zones=["test", "in-addr.arpa", "ip6.arpa"])
    d.start()
    d.mailport = mailport_bin  # the fixture fails clearly when it is not built
    yield d
    d.cleanup()


def check(dns, frm, ip, helo):
    out = subprocess.run([dns.mailport, "auth", "check", "--json", "--ip", ip,
                          "--helo", helo, "--from", frm,
                          "--resolver", "127.0.0.1:%d" % dns.port, "--timeout", "10"],
                         capture_output=True, timeout=30, check=True)
    return json.loads(out.stdout)["spf"]


def mailauth_spf(dns, frm, ip, helo):
    node = shutil.which("node")
    script = os.path.join(REPO, "tests", "js", "mailauth_check.js")
    if node is None or not os.path.isdir(os.path.join(REPO, "tests", "js", "node_modules")):
        pytest.skip("the mailauth npm package is not installed "
                    "(scripts/install-peers.sh runs npm ci --prefix tests/js)")
    out = subprocess.run([node, script, "--no-message", "--ip", ip, "--helo", helo,
                          "--sender", frm, "--dns", "127.0.0.1:%d" % dns.port],
                         capture_output=True, timeout=60, check=True)
    return json.loads(out.stdout)["spf"]


@pytest.mark.parametrize("frm,ip,helo,want", COMPARED,
                         ids=["%s-%s" % (c[0].split("@")[1].split(".")[0], c[3]) for c in COMPARED])
def test_verdict_and_mailauth_agree(spf_dns, frm, ip, helo, want):
    got = check(spf_dns, frm, ip, helo)
    assert got["result"] == want, got
    assert got["identity"] == "mailfrom"
    theirs = mailauth_spf(spf_dns, frm, ip, helo)
    assert theirs["result"] == got["result"], (got, theirs)


def test_syntax_error_after_a_match(spf_dns):
    # RFC 7208 4.6: a record with a syntax error anywhere is a permerror, before
    # any term is evaluated. (mailauth 4.13.3 evaluates up to the error and
    # answers pass here, so it is not asked.)
    got = check(spf_dns, "joe@syntaxlate.spf.test", "127.0.5.1", "client.test")
    assert got["result"] == "permerror" and "127.0.0.300" in got["reason"], got


def test_explanation_expands_macros(spf_dns):
    got = check(spf_dns, "joe@pass.spf.test", "127.0.6.9", "client.test")
    assert got["result"] == "fail"
    assert got["explanation"] == ("127.0.6.9 may not send for pass.spf.test "
                                  "(sender joe@pass.spf.test, helo client.test)")


def test_limits_are_counted_over_real_dns(spf_dns):
    many = check(spf_dns, "joe@many.spf.test", "127.0.5.1", "client.test")
    assert many["lookups"] == 11 and "more than 10" in many["reason"], many
    void = check(spf_dns, "joe@void.spf.test", "127.0.5.1", "client.test")
    assert void["void_lookups"] == 3 and "void" in void["reason"], void
    ok = check(spf_dns, "joe@inc.spf.test", "127.0.5.1", "client.test")
    assert ok["lookups"] == 1 and ok["void_lookups"] == 0, ok


def test_ptr_is_validated(spf_dns):
    # 127.0.5.30's PTR name resolves back to it; 127.0.5.31's does not.
    assert check(spf_dns, "joe@ptr.spf.test", "127.0.5.30", "c.test")["result"] == "pass"
    assert check(spf_dns, "joe@ptr.spf.test", "127.0.5.31", "c.test")["result"] == "fail"


def test_helo_identity_for_null_sender(spf_dns):
    for null in ("", "<>"):
        got = check(spf_dns, null, "127.0.5.7", "helo.spf.test")
        assert (got["result"], got["identity"]) == ("pass", "helo"), got
        assert got["sender"] == "postmaster@helo.spf.test"
    assert check(spf_dns, "", "127.0.5.8", "helo.spf.test")["result"] == "fail"
    # An address literal is no domain: none (RFC 7208 4.3), without a query.
    assert check(spf_dns, "", "127.0.5.7", "[127.0.5.7]")["result"] == "none"


def test_ipv6_and_mapped_clients(spf_dns):
    assert check(spf_dns, "joe@v6.spf.test", "::1", "c.test")["result"] == "pass"
    assert check(spf_dns, "joe@v6.spf.test", "::2", "c.test")["result"] == "pass"  # AAAA
    assert check(spf_dns, "joe@v6.spf.test", "::3", "c.test")["result"] == "fail"
    # An IPv4-mapped client is the IPv4 client.
    assert check(spf_dns, "joe@pass.spf.test", "::ffff:127.0.5.1", "c.test")["result"] == "pass"


def test_domain_forms(spf_dns):
    assert check(spf_dns, "@pass.spf.test", "127.0.6.1", "c.test")["sender"] == \
        "postmaster@pass.spf.test"
    assert check(spf_dns, "joe@[127.0.5.1]", "127.0.5.1", "c.test")["result"] == "none"
    assert check(spf_dns, "joe@pass.spf.test.", "127.0.5.1", "c.test")["result"] == "pass"
