"""`mailport probe DOMAIN --domain-check` against domains served by dnsmasq.

A well-configured domain (every check ok, exit 0) and broken ones: no SPF,
two SPF records, an SPF record over the 10-lookup limit, an SPF record that
does not cover this host, DKIM keys missing, revoked, malformed and not
matching the local key, no DMARC, a bad DMARC record, two DMARC records, no
MX, a null MX, an MX host without an address, an MX address without a PTR
and with a PTR that does not resolve back, bad MTA-STS and TLS-RPT records,
and a DNS server that fails (the MTA-STS policy itself: test_mta_sts_policy.py;
the good domain serves one on a real HTTPS host). Each problem's fix is checked the way a person
would use it: the printed record is published in dnsmasq as it is, the
check runs again and says ok. An independent SPF implementation (the
mailauth npm package) judges the flattened SPF record.
"""
import base64
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import free_port, new_dir
from dns import make_dns, parse_record, publish, reverse_name, servfail_dns  # noqa: F401
from sts_https import make_policy_server, policy, sts_ca  # noqa: F401

D = "good.test"
MX = "mx.good.test"
ADDR = "127.0.25.1"
SEL = "mail"
STATUSES = {"ok", "missing", "invalid", "mismatch", "error"}
CHECKS = ("mx", "spf", "dkim", "dmarc", "mta_sts", "tls_rpt", "ptr")
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAILAUTH_CHECK = os.path.join(REPO, "tests", "js", "mailauth_check.js")


def ed25519_record(seed=b"\x01" * 32):
    """A DKIM key record for an Ed25519 key (RFC 8463: p= is the raw 32 bytes)."""
    nacl = pytest.importorskip("nacl.signing")
    pub = bytes(nacl.SigningKey(seed).verify_key)
    return "v=DKIM1; k=ed25519; p=" + base64.b64encode(pub).decode()


def rsa_record(workdir, name="rsa"):
    """A DKIM key record for a new RSA-2048 key (p= is its SubjectPublicKeyInfo),
    longer than 255 octets: published as several strings."""
    key = os.path.join(workdir, name + ".pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", key], check=True, capture_output=True,
                   timeout=60)
    der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True, timeout=60).stdout
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def good(domain=D, mx=MX, addr=ADDR, dkim=None):
    """The records of a domain that passes every check."""
    return dict(
        mx={domain: [(10, mx)]},
        hosts={mx: [addr]},
        ptr={addr: mx},
        txt={domain: ["v=spf1 ip4:%s -all" % addr],
             "%s._domainkey.%s" % (SEL, domain): [dkim or ed25519_record()],
             "_dmarc." + domain: ["v=DMARC1; p=reject; rua=mailto:dmarc@" + domain],
             "_mta-sts." + domain: ["v=STSv1; id=20261206T1"],
             "_smtp._tls." + domain: ["v=TLSRPTv1; rua=mailto:tls@" + domain]})


def config(workdir, hostname=MX, extra=""):
    """A config for the check: hostname (whose addresses SPF must cover) and
    whatever extra lines (dkim); the rest only makes it a valid config."""
    d = new_dir(workdir, "conf-")
    path = os.path.join(d, "mailport.conf")
    with open(path, "w") as f:
        f.write("hostname %s\ndomain %s\nlisten 127.0.0.1:2525 smtp\nspool spool\n"
                "mailboxes mail\n%s" % (hostname, D, extra))
    return path


def serve_sts(request, rec, workroot):
    """Serves good.test's MTA-STS policy (covering MX) on a real HTTPS host
    (sts_https.py) named in rec; returns a config that trusts its CA."""
    ca = request.getfixturevalue("sts_ca")
    srv = request.getfixturevalue("make_policy_server")(D, policy("enforce", [MX]))
    rec["hosts"]["mta-sts." + D] = [srv.ip]
    return config(workroot, extra="outbound-cafile %s\n" % ca.ca)


def check(binary, dns, domain=D, *args, conf=None, json_out=True):
    """Runs the check; returns (exit code, the domain_check object, output)."""
    cmd = [binary, "probe", domain, "--domain-check", "--resolver", "127.0.0.1:%d" % dns.port,
           "--timeout", "2", *args]
    if conf:
        cmd += ["-c", conf]
    if json_out:
        cmd.append("--json")
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    out = p.stdout.decode()
    if not json_out:
        return p.returncode, None, out + p.stderr.decode()
    obj = json.loads(out)
    assert out.count("\n") == 1, "one JSON object, one line"
    assert obj["exit_code"] == p.returncode
    assert obj["doors"] == [] or "--port" in args, "no door probed without --port"
    dc = obj["domain_check"]
    assert dc["domain"] == domain
    for name in CHECKS:
        item = dc[name]
        assert item["status"] in STATUSES, (name, item)
        assert isinstance(item["detail"], str) and item["detail"], (name, item)
        assert isinstance(item["fix"], str), (name, item)
        assert (item["status"] == "ok") == (item["fix"] == ""), (name, item)
        for line in item["records"]:
            parse_record(line)
    # DANE (issue 15) is optional; its cases are in test_dane.py
    assert dc["dane"]["status"] in STATUSES and dc["dane"]["detail"], dc["dane"]
    return p.returncode, dc, out


# ---------------------------------------------------------------- publishing a fix


def fix_and_recheck(binary, dns, name, *args, conf=None, domain=D):
    """The check named is not ok; publish its records, run again: ok."""
    rc, dc, _ = check(binary, dns, domain, *args, conf=conf)
    item = dc[name]
    assert item["status"] != "ok" and item["records"], item
    publish(dns, item["records"])
    rc2, dc2, _ = check(binary, dns, domain, *args, conf=conf)
    assert dc2[name]["status"] == "ok", (item, dc2[name])
    return item, dc2


# ---------------------------------------------------------------- the good domain


def test_well_configured_domain_is_all_ok(mailport_bin, make_dns, workroot, request):
    rec = good(dkim=rsa_record(new_dir(workroot, "k-")))
    conf = serve_sts(request, rec, workroot)
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR, conf=conf)
    assert rc == 0, json.dumps(dc, indent=1)
    for name in CHECKS:
        assert dc[name]["status"] == "ok", (name, dc[name])
        assert dc[name]["records"] == []
    assert dc["all_ok"] is True
    assert dc["mx"]["hosts"][0]["name"].startswith(MX)
    assert dc["ptr"]["addresses"] == [{"name": ADDR, "status": "ok",
                                       "detail": "PTR %s, which resolves back to %s"
                                       % (MX, ADDR)}]
    assert dc["dkim"]["selectors"][0]["name"] == SEL
    assert "p=reject" in dc["dmarc"]["detail"]
    assert "policy mode enforce" in dc["mta_sts"]["detail"]
    # The text says so, and names each check.
    rc, _, text = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR, conf=conf,
                        json_out=False)
    assert rc == 0 and "All is well" in text, text
    for name in CHECKS:
        assert re.search(r"^%s +ok " % name, text, re.M), (name, text)


def test_this_hosts_addresses_come_from_the_config_hostname(mailport_bin, make_dns,
                                                           workroot):
    dns = make_dns(**good())
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, conf=config(workroot))
    assert rc == 0, dc
    assert "passes for this host's addresses" in dc["spf"]["detail"]
    # A hostname whose address the record does not cover: mismatch.
    rec = good()
    rec["hosts"]["out.good.test"] = ["127.0.25.9"]
    dns2 = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns2, D, "--selector", SEL,
                      conf=config(workroot, hostname="out.good.test"))
    assert rc == 65 and dc["spf"]["status"] == "mismatch", dc["spf"]
    assert "127.0.25.9" in dc["spf"]["detail"]
    # This host's address has its reverse DNS checked too (dnsmasq gives it a PTR).
    assert [a["name"] for a in dc["ptr"]["addresses"]] == [ADDR, "127.0.25.9"], dc["ptr"]


def test_this_hosts_address_without_ptr(mailport_bin, make_dns, workroot):
    rec = good()
    rec["a_only"] = {"out.good.test": ["127.0.25.9"]}
    rec["txt"][D] = ["v=spf1 ip4:%s ip4:127.0.25.9 -all" % ADDR]
    dns = make_dns(**rec)
    conf = config(workroot, hostname="out.good.test")
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, conf=conf)
    assert rc == 65 and dc["ptr"]["status"] == "missing", dc["ptr"]
    assert dc["ptr"]["records"] == ["%s. IN PTR out.good.test." % reverse_name("127.0.25.9")]
    fix_and_recheck(mailport_bin, dns, "ptr", "--selector", SEL, conf=conf)


def test_optional_records_missing_is_still_all_well(mailport_bin, make_dns, workroot, request):
    rec = good()
    del rec["txt"]["_mta-sts." + D], rec["txt"]["_smtp._tls." + D]
    conf = serve_sts(request, rec, workroot)  # the policy is served; only the record is missing
    dns = make_dns(**rec)
    rc, dc, out = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR, conf=conf)
    assert rc == 0
    assert dc["mta_sts"]["status"] == "missing" and dc["mta_sts"]["required"] is False
    assert dc["tls_rpt"]["status"] == "missing"
    assert dc["mta_sts"]["records"][0].startswith('_mta-sts.%s. IN TXT ( "v=STSv1; id=' % D)
    assert dc["tls_rpt"]["records"] == [
        '_smtp._tls.%s. IN TXT ( "v=TLSRPTv1; rua=mailto:postmaster@%s" )' % (D, D)]
    for name in ("mta_sts", "tls_rpt"):
        fix_and_recheck(mailport_bin, dns, name, "--selector", SEL, "--ip", ADDR, conf=conf)


# ---------------------------------------------------------------- SPF


def test_no_spf(mailport_bin, make_dns):
    rec = good()
    del rec["txt"][D]
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR)
    assert rc == 65 and dc["spf"]["status"] == "missing"
    assert dc["spf"]["records"] == ['%s. IN TXT ( "v=spf1 ip4:%s ~all" )' % (D, ADDR)]
    _, dc2 = fix_and_recheck(mailport_bin, dns, "spf", "--selector", SEL, "--ip", ADDR)
    assert dc2["all_ok"] is True


def test_two_spf_records(mailport_bin, make_dns):
    rec = good()
    rec["txt"][D] = ["v=spf1 ip4:%s -all" % ADDR, "v=spf1 include:_spf.prov.test ~all"]
    rec["txt"]["_spf.prov.test"] = ["v=spf1 ip4:10.1.0.0/16 -all"]
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR)
    assert rc == 65 and dc["spf"]["status"] == "invalid", dc["spf"]
    (_, _, strings), = [parse_record(r) for r in dc["spf"]["records"]]
    merged = "".join(strings)
    assert "include:_spf.prov.test" in merged and "ip4:%s" % ADDR in merged, merged
    fix_and_recheck(mailport_bin, dns, "spf", "--selector", SEL, "--ip", ADDR)


def many_includes(rec, n=12):
    """An SPF record with n includes, each with an a: term: 2n lookups."""
    rec["txt"][D] = ["v=spf1 ip4:%s %s -all"
                     % (ADDR, " ".join("include:i%d.prov.test" % i for i in range(n)))]
    for i in range(n):
        rec["txt"]["i%d.prov.test" % i] = ["v=spf1 a:h%d.prov.test ~all" % i]
        rec["hosts"]["h%d.prov.test" % i] = ["10.0.%d.1" % i]


def mailauth_spf(dns, ip, domain=D):
    if not os.path.isdir(os.path.join(REPO, "tests", "js", "node_modules", "mailauth")):
        pytest.skip("the mailauth npm package is missing (npm ci --prefix tests/js)")
    node = shutil.which("node") or pytest.skip("node is not installed")
    p = subprocess.run([node, MAILAUTH_CHECK, "--ip", ip, "--sender", "postmaster@" + domain,
                        "--helo", MX, "--dns", "127.0.0.1:%d" % dns.port, "--no-message"],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["spf"]


def test_spf_over_ten_lookups_is_flattened(mailport_bin, make_dns):
    rec = good()
    many_includes(rec)
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR)
    assert rc == 65 and dc["spf"]["status"] == "invalid", dc["spf"]
    assert "24" in dc["spf"]["detail"] and "10" in dc["spf"]["detail"], dc["spf"]
    # The independent judge agrees the record is broken (permerror) ...
    assert mailauth_spf(dns, "10.9.9.9")["result"] == "permerror"
    item, dc2 = fix_and_recheck(mailport_bin, dns, "spf", "--selector", SEL, "--ip", ADDR)
    flat = "".join(parse_record(item["records"][0])[2])
    assert "include:" not in flat and "ip4:10.0.11.1" in flat, flat
    assert "0 of 10" in dc2["spf"]["detail"], dc2["spf"]
    # ... and that the flattened one passes for every included host, fails others.
    for i in (0, 5, 11):
        assert mailauth_spf(dns, "10.0.%d.1" % i)["result"] == "pass"
    assert mailauth_spf(dns, ADDR)["result"] == "pass"
    assert mailauth_spf(dns, "10.9.9.9")["result"] == "fail"


def test_spf_not_covering_this_host(mailport_bin, make_dns):
    rec = good()
    rec["txt"][D] = ["v=spf1 a:other.prov.test -all"]
    rec["hosts"]["other.prov.test"] = ["10.9.9.9"]
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR)
    assert rc == 65 and dc["spf"]["status"] == "mismatch", dc["spf"]
    assert dc["spf"]["records"] == ['%s. IN TXT ( "v=spf1 a:other.prov.test ip4:%s -all" )'
                                    % (D, ADDR)]
    fix_and_recheck(mailport_bin, dns, "spf", "--selector", SEL, "--ip", ADDR)


def test_spf_syntax_error(mailport_bin, make_dns):
    rec = good()
    rec["txt"][D] = ["v=spf1 ip4:300.1.1.1 -all"]
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR)
    assert rc == 65 and dc["spf"]["status"] == "invalid"
    assert "300.1.1.1" in dc["spf"]["detail"]
    fix_and_recheck(mailport_bin, dns, "spf", "--selector", SEL, "--ip", ADDR)


# ---------------------------------------------------------------- DMARC


@pytest.mark.parametrize("records, status", [
    ([], "missing"),
    (["v=DMARC1; p=bogus"], "invalid"),
    (["v=DMARC1; p=reject; pct=abc"], "invalid"),
    (["v=DMARC1; p=none", "v=DMARC1; p=reject"], "invalid"),
])
def test_dmarc_problems(mailport_bin, make_dns, records, status):
    rec = good()
    rec["txt"]["_dmarc." + D] = records
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR)
    assert rc == 65 and dc["dmarc"]["status"] == status, dc["dmarc"]
    # SPF and DKIM pass: the record proposed asks for a policy.
    assert dc["dmarc"]["records"] == [
        '_dmarc.%s. IN TXT ( "v=DMARC1; p=quarantine; rua=mailto:postmaster@%s" )' % (D, D)]
    fix_and_recheck(mailport_bin, dns, "dmarc", "--selector", SEL, "--ip", ADDR)


def test_dmarc_proposes_none_until_spf_and_dkim_pass(mailport_bin, make_dns):
    rec = good()
    rec["txt"]["_dmarc." + D] = []
    del rec["txt"][D]
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR)
    assert "p=none" in dc["dmarc"]["records"][0]


def test_dmarc_of_the_organizational_domain_covers_a_subdomain(mailport_bin, make_dns):
    rec = good(domain="news.good.test")
    del rec["txt"]["_dmarc.news.good.test"]
    rec["txt"]["_dmarc." + D] = ["v=DMARC1; p=reject; sp=quarantine"]
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, "news.good.test", "--selector", SEL, "--ip", ADDR)
    assert dc["dmarc"]["status"] == "ok", dc["dmarc"]
    assert "_dmarc.good.test" in dc["dmarc"]["detail"] and "sp=quarantine" in dc["dmarc"]["detail"]


# ---------------------------------------------------------------- DKIM


def test_dkim_missing_and_revoked_and_malformed(mailport_bin, make_dns):
    rec = good()
    rec["txt"]["s2._domainkey." + D] = ["v=DKIM1; k=rsa; p="]
    rec["txt"]["s3._domainkey." + D] = ["v=DKIM1; k=ed25519; p=!!notbase64"]
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, D, "--ip", ADDR, *sum(
        (["--selector", s] for s in (SEL, "s2", "s3", "absent")), []))
    assert rc == 65
    got = {p["name"]: p["status"] for p in dc["dkim"]["selectors"]}
    assert got == {SEL: "ok", "s2": "invalid", "s3": "invalid", "absent": "missing"}, dc["dkim"]
    assert dc["dkim"]["status"] == "invalid"
    assert "revoked" in dc["dkim"]["selectors"][1]["detail"]
    # Without a local key there is no record to propose, only what to do.
    assert dc["dkim"]["records"] == [] and "keygen" in dc["dkim"]["fix"]


def keygen(binary, workdir, selector, ktype):
    """mailport dkim keygen: (the dkim config line, the record it prints)."""
    out = os.path.join(workdir, "%s.%s.key" % (D, selector))
    p = subprocess.run([binary, "dkim", "keygen", "--domain", D, "--selector", selector,
                        "--type", ktype, "--out", out], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    text = p.stdout.decode()
    record = re.search(r"^ *value: (v=DKIM1;.*)$", text, re.M).group(1)
    line = re.search(r"^ *(dkim %s %s .*)$" % (re.escape(D), selector), text, re.M).group(1)
    return line, record


def test_dkim_local_keys_mismatch_and_missing(mailport_bin, make_dns, workroot):
    kd = new_dir(workroot, "keys-")
    rsa_line, rsa_rec = keygen(mailport_bin, kd, "rsa2026", "rsa")
    ed_line, ed_rec = keygen(mailport_bin, kd, "ed2026", "ed25519")
    conf = config(workroot, extra="%s\n%s\n" % (rsa_line, ed_line))
    rec = good()
    # The RSA selector publishes another key; the Ed25519 one nothing.
    rec["txt"]["rsa2026._domainkey." + D] = [rsa_record(kd, "other")]
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, D, conf=conf)
    assert rc == 65
    got = {p["name"]: p["status"] for p in dc["dkim"]["selectors"]}
    assert got == {"rsa2026": "mismatch", "ed2026": "missing"}, dc["dkim"]
    assert dc["dkim"]["status"] == "mismatch"
    published = {parse_record(r)[0]: "".join(parse_record(r)[2]) for r in dc["dkim"]["records"]}
    # The fix is the record keygen printed for each key, as it printed it.
    assert published == {"rsa2026._domainkey." + D: rsa_rec, "ed2026._domainkey." + D: ed_rec}
    publish(dns, dc["dkim"]["records"])
    rc, dc, _ = check(mailport_bin, dns, D, conf=conf)
    assert dc["dkim"]["status"] == "ok", dc["dkim"]
    assert rc == 0, json.dumps(dc, indent=1)


def test_no_selector_known(mailport_bin, make_dns):
    dns = make_dns(**good())
    rc, dc, _ = check(mailport_bin, dns, D, "--ip", ADDR)
    assert rc == 65 and dc["dkim"]["status"] == "missing"
    assert "--selector" in dc["dkim"]["detail"] or "--selector" in dc["dkim"]["fix"]


# ---------------------------------------------------------------- MX and PTR


def no_ptr(rec):
    """The MX host's address without a PTR record."""
    rec["ptr"] = {}
    rec["a_only"] = {MX: rec["hosts"].pop(MX)}


def test_mx_address_without_ptr(mailport_bin, make_dns):
    rec = good()
    no_ptr(rec)
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR)
    assert rc == 65 and dc["ptr"]["status"] == "missing", dc["ptr"]
    assert dc["ptr"]["records"] == ["%s. IN PTR %s." % (reverse_name(ADDR), MX)]
    fix_and_recheck(mailport_bin, dns, "ptr", "--selector", SEL, "--ip", ADDR)


def test_ptr_that_does_not_resolve_back(mailport_bin, make_dns):
    rec = good()
    rec["ptr"] = {ADDR: "elsewhere.good.test"}
    rec["hosts"]["elsewhere.good.test"] = ["127.0.25.77"]
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR)
    assert rc == 65 and dc["ptr"]["status"] == "mismatch", dc["ptr"]
    assert "elsewhere.good.test" in dc["ptr"]["addresses"][0]["detail"]
    fix_and_recheck(mailport_bin, dns, "ptr", "--selector", SEL, "--ip", ADDR)


def test_no_mx_and_null_mx(mailport_bin, make_dns, workroot):
    rec = good()
    del rec["mx"][D]
    dns = make_dns(**rec)
    conf = config(workroot)
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, conf=conf)
    assert rc == 65 and dc["mx"]["status"] == "missing"
    assert dc["mx"]["records"] == ["%s. IN MX 10 %s." % (D, MX)]
    fix_and_recheck(mailport_bin, dns, "mx", "--selector", SEL, conf=conf)

    rec = good()
    del rec["mx"][D]
    rec["null_mx"] = [D]
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, conf=conf)
    assert rc == 65 and dc["mx"]["status"] == "invalid" and "null MX" in dc["mx"]["detail"]


def test_mx_host_without_address(mailport_bin, make_dns):
    rec = good()
    rec["mx"][D].append((20, "gone.good.test"))
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR)
    assert rc == 65 and dc["mx"]["status"] == "missing", dc["mx"]
    assert [h["status"] for h in dc["mx"]["hosts"]] == ["ok", "missing"]


# ---------------------------------------------------------------- MTA-STS and TLS-RPT


@pytest.mark.parametrize("name, txt_name, records", [
    ("mta_sts", "_mta-sts." + D, ["v=STSv1; id=not-alnum!"]),
    ("mta_sts", "_mta-sts." + D, ["v=STSv1; id=1", "v=STSv1; id=2"]),
    ("tls_rpt", "_smtp._tls." + D, ["v=TLSRPTv1; rua=ftp://x.test"]),
    ("tls_rpt", "_smtp._tls." + D, ["v=TLSRPTv1"]),
])
def test_bad_optional_records_fail(mailport_bin, make_dns, name, txt_name, records, workroot,
                                   request):
    rec = good()
    rec["txt"][txt_name] = records
    conf = serve_sts(request, rec, workroot) if name == "mta_sts" else None
    dns = make_dns(**rec)
    rc, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR, conf=conf)
    assert rc == 65 and dc[name]["status"] == "invalid", dc[name]
    # Two records of the kind: the fix replaces both (publish() drops the tag's records).
    fix_and_recheck(mailport_bin, dns, name, "--selector", SEL, "--ip", ADDR, conf=conf)


# ---------------------------------------------------------------- the rest


def test_dns_failure_is_error_and_exit_75(mailport_bin, servfail_dns):
    rc, dc, _ = check(mailport_bin, servfail_dns, D, "--selector", SEL, "--ip", ADDR)
    assert rc == 75
    for name in CHECKS:
        assert dc[name]["status"] == "error", (name, dc[name])
        assert "--resolver" in dc[name]["fix"], (name, dc[name])


def test_text_prints_each_fix_record(mailport_bin, make_dns):
    rec = good()
    del rec["txt"][D]
    no_ptr(rec)
    dns = make_dns(**rec)
    _, dc, _ = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR)
    rc, _, text = check(mailport_bin, dns, D, "--selector", SEL, "--ip", ADDR, json_out=False)
    assert rc == 65
    for name in ("spf", "ptr"):
        for line in dc[name]["records"]:
            assert "           %s\n" % line in text, (line, text)
    assert "2 checks need work" in text


def test_with_port_the_doors_are_probed_too(mailport_bin, make_dns):
    dns = make_dns(**good())
    port = free_port()   # nothing listens: refused
    p = subprocess.run([mailport_bin, "probe", D, "--domain-check", "--json", "--selector", SEL,
                        "--ip", ADDR, "--resolver", "127.0.0.1:%d" % dns.port, "--timeout", "2",
                        "--port", "%d:relay" % port], capture_output=True, timeout=60)
    obj = json.loads(p.stdout)
    assert [d["port"] for d in obj["doors"]] == [port]
    assert obj["doors"][0]["status"] == "refused"
    assert obj["domain_check"]["all_ok"] is True
    # The doors' failure decides the exit code; the domain check's is its own member.
    assert p.returncode == obj["exit_code"] != 0
    assert obj["domain_check"]["exit_code"] == 0


def test_usage(mailport_bin):
    p = subprocess.run([mailport_bin, "probe", D, "--selector", SEL], capture_output=True,
                       timeout=30)
    assert p.returncode == 64 and b"--domain-check" in p.stderr
    p = subprocess.run([mailport_bin, "probe", D, "--domain-check", "--ip", "not-an-ip"],
                       capture_output=True, timeout=30)
    assert p.returncode == 64 and b"--ip" in p.stderr
    # Door options without a door to probe are refused, not dropped.
    p = subprocess.run([mailport_bin, "probe", D, "--domain-check", "--security"],
                       capture_output=True, timeout=30)
    assert p.returncode == 64 and b"add --port" in p.stderr
    p = subprocess.run([mailport_bin, "probe", "not a domain", "--domain-check"],
                       capture_output=True, timeout=30)
    assert p.returncode == 64 and b"is not a domain name" in p.stderr
    p = subprocess.run([mailport_bin, "probe", D, "--domain-check", "-c", "/nonexistent.conf"],
                       capture_output=True, timeout=30)
    assert p.returncode == 78 and b"/nonexistent.conf" in p.stderr
