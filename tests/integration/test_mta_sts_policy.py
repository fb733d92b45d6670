"""MTA-STS for the domain's owner (RFC 8461): `mailport mta-sts policy` and the
"mta_sts" part of `mailport probe DOMAIN --domain-check`.

The policy host is real: Python's http.server behind ssl on port 443 of a
127.0.43.X address (sts_https.py), its certificate from a test CA the probe
trusts through the config's `outbound-cafile`, its name resolved by the
test's dnsmasq. `mta-sts policy`'s output is read by mailport's own parser
(served and fetched by the probe) and by an independent one (the mailauth npm
package's parsePolicy, tests/js/mta_sts_policy.js). The domain check's cases:
a good policy, an MX the policy does not cover (and the command's output as
the fix), a certificate from no trusted CA, for another name, expired, a
policy that does not parse, HTTP failures (404, a redirect, the wrong type,
nothing listening), a policy over 64 KiB, a server too slow for the
probe's --timeout, and mta-sts.DOMAIN without an address.
"""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import new_dir
from dns import make_dns  # noqa: F401
from sts_https import make_policy_server, policy, sts_ca  # noqa: F401

D = "owner.test"
MX = "mx.owner.test"
MX_ADDR = "127.0.25.1"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
JS_POLICY = os.path.join(REPO, "tests", "js", "mta_sts_policy.js")


def conf(workroot, ca=None, hostname=MX, domains=(D,)):
    d = new_dir(workroot, "sts-conf-")
    path = os.path.join(d, "mailport.conf")
    with open(path, "w") as f:
        f.write("hostname %s\n" % hostname)
        for dom in domains:
            f.write("domain %s\n" % dom)
        f.write("listen 127.0.0.1:2525 smtp\nspool spool\nmailboxes mail\n")
        if ca:
            f.write("outbound-cafile %s\n" % ca)
    return path


def records(policy_ip, mx=MX, sts_id="20261206a"):
    """dnsmasq records of a domain with an MTA-STS policy host at policy_ip."""
    hosts = {mx: [MX_ADDR]}
    if policy_ip:
        hosts["mta-sts." + D] = [policy_ip]
    return dict(mx={D: [(10, mx)]}, hosts=hosts,
                txt={"_mta-sts." + D: ["v=STSv1; id=%s" % sts_id],
                     "_smtp._tls." + D: ["v=TLSRPTv1; rua=mailto:tls@" + D]})


def sts_check(binary, dns, path, *args, timeout=2):
    """probe --domain-check --json; returns (exit code, the mta_sts item, seconds taken)."""
    t0 = time.monotonic()
    p = subprocess.run([binary, "probe", D, "--domain-check", "--json", "-c", path,
                        "--resolver", "127.0.0.1:%d" % dns.port, "--ip", MX_ADDR,
                        "--timeout", str(timeout), *args], capture_output=True, timeout=60)
    took = time.monotonic() - t0
    obj = json.loads(p.stdout)
    item = obj["domain_check"]["mta_sts"]
    assert item["required"] is False
    assert (item["status"] == "ok") == (item["fix"] == ""), item
    return p.returncode, item, took


def run_policy_cmd(binary, *args):
    p = subprocess.run([binary, "mta-sts", "policy", *args], capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def js_parse(text, *mx):
    if not os.path.exists(os.path.join(REPO, "tests", "js", "node_modules", "mailauth")):
        pytest.skip("tests/js has no node_modules (scripts/install-peers.sh installs them)")
    p = subprocess.run(["node", JS_POLICY, *mx], input=text.encode(), capture_output=True,
                       timeout=30)
    return p.returncode, json.loads(p.stdout)


# ---------------------------------------------------------------- mailport mta-sts policy


def test_policy_command_output(mailport_bin, workroot):
    path = conf(workroot, domains=(D, "other.test"))
    rc, out, err = run_policy_cmd(mailport_bin, "-c", path, "--mode", "enforce",
                                  "--rua", "mailto:tlsrpt@" + D)
    assert rc == 0, err
    m = re.search(r"-----BEGIN POLICY-----\n(.*)-----END POLICY-----\n", out, re.S)
    assert m, out
    # The config's hostname is the MX; CRLF lines (RFC 8461 3.2), version first.
    assert m.group(1) == ("version: STSv1\r\nmode: enforce\r\nmx: %s\r\nmax_age: 604800\r\n"
                          % MX), repr(m.group(1))
    # Both records for each domain, with a fresh id (the UTC time) and the rua given.
    ids = re.findall(r'^_mta-sts\.(\S+)\. TXT "v=STSv1; id=(\d{14})"$', out, re.M)
    assert [d for d, _ in ids] == [D, "other.test"], out
    assert abs(time.mktime(time.strptime(ids[0][1], "%Y%m%d%H%M%S")) - time.mktime(
        time.gmtime())) < 120
    assert '_smtp._tls.%s. TXT "v=TLSRPTv1; rua=mailto:tlsrpt@%s"' % (D, D) in out
    assert "https://mta-sts.%s/.well-known/mta-sts.txt" % D in out
    # --policy-only: the file alone, as served.
    rc, only, _ = run_policy_cmd(mailport_bin, "-c", path, "--mode", "enforce", "--policy-only")
    assert rc == 0 and only == m.group(1)


def test_policy_command_defaults_and_options(mailport_bin, workroot):
    path = conf(workroot)
    rc, out, _ = run_policy_cmd(mailport_bin, "-c", path)
    assert rc == 0
    assert "mode: testing\r\n" in out and "max_age: 604800\r\n" in out
    assert '_smtp._tls.%s. TXT "v=TLSRPTv1; rua=mailto:postmaster@%s"' % (D, D) in out
    rc, only, _ = run_policy_cmd(mailport_bin, "--mx", "MX1.Owner.Test", "--mx", "*.mx.owner.test",
                                 "--max-age", "86400", "--policy-only")
    assert rc == 0
    assert only == ("version: STSv1\r\nmode: testing\r\nmx: mx1.owner.test\r\n"
                    "mx: *.mx.owner.test\r\nmax_age: 86400\r\n")


@pytest.mark.parametrize("args, words", [
    (["--mx", "bad_name.test"], "--mx is not a host name"),
    (["--mx", "a.test", "--mode", "Enforce"], "--mode is enforce or testing"),
    (["--mx", "a.test", "--max-age", "31557601"], "--max-age is 0 to 31557600"),
    (["--mx", "a.test", "--domain", "x.test", "--rua", "ftp://x.test"], "--rua is not"),
    (["--mx", "a.test", "--bogus", "1"], "unknown option"),
    (["--mx"], "missing value after --mx"),
])
def test_policy_command_refuses_bad_options(mailport_bin, args, words):
    rc, out, err = run_policy_cmd(mailport_bin, *args)
    assert rc == 64 and words in err, err
    assert out == ""


def test_policy_command_needs_a_real_hostname(mailport_bin, workroot):
    rc, _, err = run_policy_cmd(mailport_bin, "-c", conf(workroot, hostname="localhost"))
    assert rc == 78 and "not the full name of an MX host" in err and "--mx" in err, err
    rc, _, err = run_policy_cmd(mailport_bin, "-c", os.path.join(workroot, "none.conf"))
    assert rc == 78, err


def test_policy_output_read_by_mailauth(mailport_bin):
    for mode in ("enforce", "testing"):
        rc, only, _ = run_policy_cmd(mailport_bin, "--mode", mode, "--mx", MX, "--mx",
                                     "*.backup.owner.test", "--max-age", "1209600",
                                     "--policy-only")
        assert rc == 0
        rc, got = js_parse(only, MX, "b1.backup.owner.test", "other.test")
        assert rc == 0, got
        assert got["policy"] == {"version": "STSv1", "mode": mode, "maxAge": 1209600,
                                 "mx": [MX, "*.backup.owner.test"]}
        assert got["mx_valid"] == {MX: True, "b1.backup.owner.test": True, "other.test": False}
    # The judge can refuse: a file it must not accept is refused.
    rc, got = js_parse("version: STSv1\r\nmode: enforce\r\nmax_age: 60\r\n")
    assert rc == 1 and got["code"] == "invalid_sts_mx", got


# ---------------------------------------------------------------- probe --domain-check


def test_domain_check_good_policy_served_from_the_commands_output(mailport_bin, make_dns,
                                                                  make_policy_server, sts_ca,
                                                                  workroot):
    path = conf(workroot, ca=sts_ca.ca)
    _, only, _ = run_policy_cmd(mailport_bin, "-c", path, "--mode", "enforce", "--policy-only")
    srv = make_policy_server(D, only)
    dns = make_dns(**records(srv.ip))
    rc, item, _ = sts_check(mailport_bin, dns, path)
    assert item["status"] == "ok", item
    assert "id=20261206a" in item["detail"] and "mode enforce" in item["detail"], item
    assert "every MX host matches" in item["detail"]
    assert item["mx_hosts"] == [{"name": MX, "status": "ok", "detail": "matches the policy"}]
    assert srv.requests == 1 and srv.hosts == ["mta-sts." + D]


def test_domain_check_mx_not_covered_then_fixed(mailport_bin, make_dns, make_policy_server,
                                                sts_ca, workroot):
    path = conf(workroot, ca=sts_ca.ca)
    srv = make_policy_server(D, policy("enforce", ["old-mx.owner.test", "*.owner.example"]))
    dns = make_dns(**records(srv.ip))
    rc, item, _ = sts_check(mailport_bin, dns, path)
    assert rc == 65 and item["status"] == "mismatch", item
    assert MX in item["detail"] and "do not deliver" in item["detail"], item
    assert "mx:" in item["fix"] and "mailport mta-sts policy" in item["fix"]
    assert item["mx_hosts"][0]["status"] == "mismatch"
    # The fix: serve what the command prints for this host.
    _, only, _ = run_policy_cmd(mailport_bin, "-c", path, "--mode", "enforce", "--policy-only")
    srv.body = only
    rc, item, _ = sts_check(mailport_bin, dns, path)
    assert item["status"] == "ok", item
    # Testing mode: the same gap is reported, in words of reports.
    srv.body = policy("testing", ["old-mx.owner.test"])
    rc, item, _ = sts_check(mailport_bin, dns, path)
    assert item["status"] == "mismatch" and "report" in item["detail"], item


@pytest.mark.parametrize("kind", ["self-signed", "other-name", "expired"])
def test_domain_check_bad_certificate(mailport_bin, make_dns, make_policy_server, sts_ca,
                                      workroot, kind):
    path = conf(workroot, ca=sts_ca.ca)
    cert = {"self-signed": lambda: sts_ca.self_signed(["mta-sts." + D]),
            "other-name": lambda: sts_ca.issue(["www." + D]),
            "expired": lambda: sts_ca.issue(["mta-sts." + D], expired=True)}[kind]()
    srv = make_policy_server(D, policy("enforce", [MX]), cert=cert)
    dns = make_dns(**records(srv.ip))
    rc, item, _ = sts_check(mailport_bin, dns, path)
    assert rc == 65 and item["status"] == "invalid", item
    assert "certificate does not verify" in item["detail"], item
    assert "certificate for mta-sts.%s" % D in item["fix"], item
    # Without outbound-cafile the test CA is not trusted: the good certificate fails too.
    srv.use_cert(*sts_ca.issue(["mta-sts." + D]))
    rc, item, _ = sts_check(mailport_bin, dns, conf(workroot))
    assert item["status"] == "invalid", item
    rc, item, _ = sts_check(mailport_bin, dns, path)
    assert item["status"] == "ok", item


@pytest.mark.parametrize("body, words", [
    (policy("Enforce", [MX]), "line 2: mode is \"Enforce\""),
    ("version: STSv1\nmode: enforce\nmax_age: 86400\n", "no \"mx:\" line"),
    ("<html><body>Welcome to nginx!</body></html>\n", "line 1 has no ':'"),
    ("<p>Note: moved</p>\n", "\"<p>Note\" is not a field name"),
    (policy("enforce", [MX]).replace("max_age: 86400", "max_age: 1w"), "max_age"),
])
def test_domain_check_bad_policy(mailport_bin, make_dns, make_policy_server, sts_ca, workroot,
                                 body, words):
    path = conf(workroot, ca=sts_ca.ca)
    srv = make_policy_server(D, body)
    dns = make_dns(**records(srv.ip))
    rc, item, _ = sts_check(mailport_bin, dns, path)
    assert rc == 65 and item["status"] == "invalid", item
    assert "the policy is not valid" in item["detail"] and words in item["detail"], item
    assert "mailport mta-sts policy" in item["fix"]


@pytest.mark.parametrize("change, words", [
    (dict(status=404), "HTTP status 404"),
    (dict(status=301, location="https://www.owner.test/mta-sts.txt"),
     "which is not followed"),
    (dict(content_type="text/html"), "Content-Type is text/html"),
    (dict(body="x" * 70000), "larger than 65536 bytes"),
])
def test_domain_check_https_failures(mailport_bin, make_dns, make_policy_server, sts_ca,
                                     workroot, change, words):
    path = conf(workroot, ca=sts_ca.ca)
    srv = make_policy_server(D, policy("enforce", [MX]))
    for k, v in change.items():
        setattr(srv, k, v)
    dns = make_dns(**records(srv.ip))
    rc, item, _ = sts_check(mailport_bin, dns, path)
    assert item["status"] == "error", item
    assert "could not be fetched" in item["detail"] and words in item["detail"], item
    assert "status 200, Content-Type text/plain, no redirect" in item["fix"], item


def test_domain_check_policy_host_down_or_slow(mailport_bin, make_dns, make_policy_server,
                                               sts_ca, workroot):
    path = conf(workroot, ca=sts_ca.ca)
    srv = make_policy_server(D, policy("enforce", [MX]))
    dns = make_dns(**records(srv.ip))
    # Slow: a byte every half second; the probe's --timeout bounds the fetch.
    srv.trickle = 0.5
    rc, item, took = sts_check(mailport_bin, dns, path, timeout=2)
    assert item["status"] == "error" and "within 2000 ms" in item["detail"], item
    assert took < 8, took
    # Down: nothing listens on port 443 any more.
    srv.stop()
    rc, item, took = sts_check(mailport_bin, dns, path)
    assert item["status"] == "error" and "could not be fetched" in item["detail"], item
    assert took < 8, took


def test_domain_check_policy_host_without_address(mailport_bin, make_dns, sts_ca, workroot):
    path = conf(workroot, ca=sts_ca.ca)
    dns = make_dns(**records(None))
    rc, item, _ = sts_check(mailport_bin, dns, path)
    assert item["status"] == "error", item
    assert "mta-sts.%s has no address" % D in item["detail"], item
    assert "publish an A" in item["fix"]
