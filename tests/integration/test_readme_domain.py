"""The README's "Authenticating your domain", as written.

The section's shell blocks are read from README.md and run as they are, in a
folder laid out like a checkout (etc/mailport.conf, build/mailport); dnsmasq
stands in for the public DNS (one `resolver` line added to the config, the
only change): example.com's MX record names mx.example.com, whose address
127.0.25.1 has a PTR record back, and nothing else is published. The first
check must find SPF, DKIM and DMARC missing, with the statuses the README's
sample shows; the records it prints are then published as printed and the
same command must end with the README's "All is well" line.
"""
import os
import re
import shutil
import subprocess
import textwrap

from conftest import REPO, new_dir
from dns import make_dns, parse_record, publish  # noqa: F401

ADDR = "127.0.25.1"
STATUS_LINE = re.compile(r"^(mx|spf|dkim|dmarc|mta_sts|tls_rpt|ptr) +(\w+) ", re.M)


def section():
    text = open(os.path.join(REPO, "README.md")).read()
    return text.split("## Authenticating your domain", 1)[1].split("\n## ", 1)[0]


def blocks(kind):
    """The section's ```sh blocks (kind "sh") or its plain ``` blocks (kind "")."""
    found, current, info = [], None, None
    for line in section().splitlines():
        fence = re.match(r"^ *```(\w*)$", line)
        if fence and current is None:
            current, info = [], fence.group(1)
        elif fence:
            if info == kind:
                found.append(textwrap.dedent("\n".join(current)))
            current = None
        elif current is not None:
            current.append(line)
    return found


def run(top, script):
    r = subprocess.run(["bash", "-e", "-c", script], cwd=top, capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, HOME="/nonexistent"))
    return r.returncode, r.stdout + r.stderr


def test_readme_domain_walkthrough(mailport_bin, make_dns, workroot):
    sh = blocks("sh")
    sample, all_well = blocks("")
    assert len(sh) == 3, sh
    assert "dkim keygen" in sh[1] and "--domain-check" in sh[2], sh

    top = new_dir(workroot, "readme-domain-")
    for sub in ("etc", "build"):
        os.makedirs(os.path.join(top, sub))
    shutil.copy(os.path.join(REPO, "etc", "mailport.conf"), os.path.join(top, "etc"))
    os.symlink(mailport_bin, os.path.join(top, "build", "mailport"))
    dns = make_dns(mx={"example.com": [(10, "mx.example.com")]},
                   hosts={"mx.example.com": [ADDR]},
                   zones=["test", "example.com", "in-addr.arpa", "ip6.arpa"])
    with open(os.path.join(top, "etc", "mailport.conf"), "a") as f:
        f.write("\n# the test's stand-in for the public DNS\n%s\n" % dns.resolver_line())

    # Steps 1 and 2: the config lines and the keys.
    for step in sh[:2]:
        rc, out = run(top, step)
        assert rc == 0, (step, out)
    for key in ("example.com.rsa1.key", "example.com.ed1.key"):
        assert os.stat(os.path.join(top, "etc", key)).st_mode & 0o077 == 0

    # Step 3 on a new domain: what the README shows.
    rc, out = run(top, sh[2])
    assert rc == 65, out
    assert STATUS_LINE.findall(out) == STATUS_LINE.findall(sample), (out, sample)
    assert "DNS: 127.0.0.1:%d" % dns.port in out
    records = [ln.strip() for ln in out.splitlines()
               if re.match(r"^ +\S+\. IN (TXT|PTR|MX) ", ln)]
    # The sample's record lines are the real ones, keys and address aside.
    sample_records = [ln.strip() for ln in sample.splitlines()
                      if re.match(r"^ +\S+\. IN (TXT|PTR|MX) ", ln)]
    def shape(r):   # a DKIM key's p= (one string or several) and the address aside
        r = re.sub(r'(_domainkey\..*; p=)[^)]*\)', r'\1KEY )', r)
        return re.sub(r'203\.0\.113\.25|127\.0\.25\.1', "ADDR", r)
    real = [r for r in records if not r.startswith(("_mta-sts.", "_smtp._tls."))]
    assert [shape(r) for r in sample_records] == [shape(r) for r in real], (sample_records, real)

    # Step 4: publish the records of the checks that need work (SPF, DKIM,
    # DMARC) as printed, and step 3 again says all is well.
    needed = [r for r in records if not r.startswith(("_mta-sts.", "_smtp._tls."))]
    assert {parse_record(r)[0] for r in needed} == {
        "example.com", "rsa1._domainkey.example.com", "ed1._domainkey.example.com",
        "_dmarc.example.com"}
    publish(dns, needed)
    rc, out = run(top, sh[2])
    assert rc == 0, out
    assert out.rstrip().endswith(all_well.strip()), out
    assert re.search(r"^dmarc +ok .*p=none", out, re.M), out
