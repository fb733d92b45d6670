"""`mailport dkim keygen` and the DKIM side of `mailport config check`.

keygen: the key file is 0600 and never overwritten, the record it prints is
a valid key record (dkimpy verifies mail signed with the key when dnsmasq
serves the record exactly as printed, zone-file strings included), the
config line works as printed. config check: a key open to others, a key
that is not one, and a key whose published record is another key's are
errors with the fix; a record not yet published is a note.
"""

import base64
import os
import re
import stat
import subprocess
import time

import pytest

dkim = pytest.importorskip("dkim")

from conftest import binary_path, new_dir  # noqa: E402
from dns import Dnsmasq, query  # noqa: E402

GOOD = ("domain example.test\nspool spool\nmailboxes mail\n"
        "listen 127.0.0.1:2525 submission\n")
MSG = (b"From: joe@example.test\r\nTo: sue@example.net\r\nSubject: hello\r\n"
       b"Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n\r\nHi there.\r\n")


def keygen(*args):
    return subprocess.run([binary_path(), "dkim", "keygen", *args], capture_output=True,
                          text=True, timeout=60)


def zone_strings(stdout):
    """The strings of the zone-file line keygen prints, unquoted."""
    m = re.search(r"IN TXT \( (.*) \)$", stdout, re.M)
    assert m, stdout
    strings = re.findall(r'"([^"]*)"', m.group(1))
    assert all(len(s) <= 255 for s in strings), strings
    return strings


def config_check(d, text):
    conf = os.path.join(d, "mailport.conf")
    with open(conf, "w") as f:
        f.write(text)
    return subprocess.run([binary_path(), "config", "check", "-c", conf], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_keygen_record_verifies_in_dkimpy(workroot, kind):
    d = new_dir(workroot, "keygen-")
    out = os.path.join(d, "k.pem")
    p = keygen("--domain", "example.test", "--selector", "sel", "--type", kind, "--out", out)
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert "name:  sel._domainkey.example.test" in p.stdout
    assert "dkim example.test sel %s" % os.path.realpath(out) in p.stdout
    strings = zone_strings(p.stdout)
    if kind == "rsa":
        assert len(strings) == 2  # an RSA-2048 record is longer than 255 octets
    # Served exactly as printed (the strings as given), it verifies mail
    # signed with the key, in dkimpy.
    dns = Dnsmasq(workroot, txt={"sel._domainkey.example.test": [strings]}).start()
    try:
        signed = subprocess.run([os.path.join(os.path.dirname(binary_path()), "dkim_tool"),
                                 "sign", "example.test", "sel", out], input=MSG,
                                capture_output=True, timeout=30)
        assert signed.returncode == 0, signed.stderr

        def dnsfunc(name, timeout=5):
            _, answers = query(name.decode(), "TXT", port=dns.port)
            return b"".join(answers[0][1]) if answers else None
        assert dkim.verify(signed.stdout, dnsfunc=dnsfunc)
        assert not dkim.verify(signed.stdout.replace(b"hello", b"hullo"), dnsfunc=dnsfunc)
        # and config check with the printed line finds the key and its record
        line = re.search(r"^   (dkim .*)$", p.stdout, re.M).group(1)
        c = config_check(d, GOOD + line + "\n" + dns.resolver_line() + "\n")
        assert c.returncode == 0, c.stderr
    finally:
        dns.cleanup()


def test_keygen_refuses_to_overwrite_and_bad_options(workroot):
    d = new_dir(workroot, "keygen-")
    out = os.path.join(d, "k.pem")
    assert keygen("--domain", "example.test", "--selector", "a", "--out", out).returncode == 0
    before = open(out).read()
    p = keygen("--domain", "example.test", "--selector", "a", "--out", out)
    assert p.returncode == 73 and "never overwrites" in p.stderr, p.stderr
    assert open(out).read() == before
    p = keygen("--domain", "example.test", "--selector", "a", "--bits", "512", "--out", out + "2")
    assert p.returncode == 64 and "RFC 8301" in p.stderr
    p = keygen("--domain", "exa mple", "--selector", "a")
    assert p.returncode == 64 and "not a domain" in p.stderr
    p = keygen("--selector", "a")
    assert p.returncode == 64 and "--domain" in p.stderr
    assert not os.path.exists(out + "2")


def test_config_check_key_open_to_others(workroot):
    d = new_dir(workroot, "dkimcheck-")
    out = os.path.join(d, "k.pem")
    assert keygen("--domain", "example.test", "--selector", "s", "--out", out).returncode == 0
    os.chmod(out, 0o644)
    c = config_check(d, GOOD + "dkim example.test s %s\n" % out)
    assert c.returncode == 78
    assert "mode 0644" in c.stderr and "chmod 600 %s" % out in c.stderr, c.stderr


def test_config_check_missing_and_not_a_key(workroot):
    d = new_dir(workroot, "dkimcheck-")
    bad = os.path.join(d, "notakey.pem")
    with open(bad, "w") as f:
        f.write("hello\n")
    os.chmod(bad, 0o600)
    c = config_check(d, GOOD + "dkim example.test s %s\ndkim example.test t %s\n"
                     % (bad, os.path.join(d, "nope.pem")))
    assert c.returncode == 78
    assert "not a PEM private key" in c.stderr and "does not exist" in c.stderr, c.stderr
    assert "dkim keygen" in c.stderr


def test_config_check_record_mismatch_and_missing(workroot):
    d = new_dir(workroot, "dkimcheck-")
    mine, other = os.path.join(d, "mine.pem"), os.path.join(d, "other.pem")
    assert keygen("--domain", "example.test", "--selector", "s", "--out", mine).returncode == 0
    p = keygen("--domain", "example.test", "--selector", "s", "--out", other)
    other_record = re.search(r"^   value: (.*)$", p.stdout, re.M).group(1)
    dns = Dnsmasq(workroot, txt={"s._domainkey.example.test": [other_record]}).start()
    try:
        c = config_check(d, GOOD + "dkim example.test s %s\n%s\n" % (mine, dns.resolver_line()))
        assert c.returncode == 78, c.stderr
        assert "does not match" in c.stderr and "s._domainkey.example.test" in c.stderr
        # the fix is the record of the configured key
        p_mine = subprocess.run(["openssl", "pkey", "-in", mine, "-pubout", "-outform", "DER"],
                                capture_output=True, timeout=30).stdout
        assert base64.b64encode(p_mine).decode()[:200] in c.stderr.replace('" "', "")
        # another selector, not published yet: a note, not an error
        c = config_check(d, GOOD + "dkim example.test new %s\n%s\n" % (mine, dns.resolver_line()))
        assert c.returncode == 0, c.stderr
        assert "note" in c.stderr and "new._domainkey.example.test" in c.stderr
    finally:
        dns.cleanup()


def test_config_check_dns_down_is_a_note(workroot):
    """No answer from DNS (a closed port): the record is not checked, the
    check says so, and the config is not failed for it."""
    d = new_dir(workroot, "dkimcheck-")
    key = os.path.join(d, "k.pem")
    assert keygen("--domain", "example.test", "--selector", "s", "--out", key).returncode == 0
    t0 = time.monotonic()
    c = config_check(d, GOOD + "dkim example.test s %s\nresolver 127.0.0.1:9\n" % key)
    assert c.returncode == 0, c.stderr
    assert "could not check the DNS record" in c.stderr, c.stderr
    assert time.monotonic() - t0 < 15
