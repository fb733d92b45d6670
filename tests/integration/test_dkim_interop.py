"""DKIM against independent implementations, with keys from `mailport dkim
keygen` and their records served by dnsmasq on loopback.

mailport's signer and verifier run through tests/tools/dkim_tool (the very
modules the server links). The judges: dkimpy (Debian python3-dkim), which
verifies here through dnsmasq (dnsfunc=), and the mailauth npm package
(tests/js). Both ways: mail signed by mailport passes in both; mail signed
by both (RSA and Ed25519, relaxed and simple) passes in mailport; any change
to a signed field or the body fails everywhere.
"""

import base64
import json
import os
import re
import shutil
import subprocess

import pytest

dkim = pytest.importorskip("dkim")
nacl_signing = pytest.importorskip("nacl.signing")

from conftest import REPO, binary_path, new_dir  # noqa: E402
from dns import Dnsmasq, query  # noqa: E402

DOMAIN = "example.test"
TOOL = os.environ.get("DKIM_TOOL") or os.path.join(os.path.dirname(binary_path()), "dkim_tool")
NODE = shutil.which("node")
JS = os.path.join(REPO, "tests", "js")

MSG = (b"From: Joe SixPack <joe@example.test>\r\n"
       b"To: Suzie Q <suzie@shopping.example.net>\r\n"
       b"Subject: Is dinner ready?\r\n"
       b"Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
       b"Message-ID: <20030712040037.46341.5F8J@example.test>\r\n"
       b"MIME-Version: 1.0\r\n"
       b"Content-Type: text/plain; charset=utf-8\r\n"
       b"\r\n"
       b"Hi.\r\n"
       b"\r\n"
       b"We lost the game.  Are you hungry yet?\t \r\n"
       b"\r\n"
       b"Joe.\r\n"
       b"\r\n")

# (what, new) pairs: each changes a signed field or the body.
TAMPER = [
    (b"Subject: Is dinner ready?", b"Subject: Is lunch ready?"),
    (b"From: Joe SixPack", b"From: Joe Sixpack"),
    (b"hungry", b"thirsty"),
    (b"Joe.\r\n", b"Joe.\r\nP.S. one more line\r\n"),
]


def keygen(d, selector, kind):
    out = os.path.join(d, "%s.key" % selector)
    p = subprocess.run([binary_path(), "dkim", "keygen", "--domain", DOMAIN, "--selector",
                        selector, "--type", kind, "--out", out],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return out, p.stdout


def record_of(stdout):
    m = re.search(r"^   value: (v=DKIM1; .*)$", stdout, re.M)
    assert m, stdout
    return m.group(1)


@pytest.fixture(scope="module")
def setup(workroot):
    d = new_dir(workroot, "dkim-")
    keys, txt = {}, {}
    for sel, kind in (("rsa1", "rsa"), ("ed1", "ed25519")):
        path, stdout = keygen(d, sel, kind)
        keys[sel] = (path, stdout)
        txt["%s._domainkey.%s" % (sel, DOMAIN)] = [record_of(stdout)]
    # dkimpy's own Ed25519 key (it takes the raw seed) and the RSA key of
    # keygen for its RSA signatures.
    sk = nacl_signing.SigningKey.generate()
    ed_seed = base64.b64encode(bytes(sk))
    txt["pyed._domainkey." + DOMAIN] = [
        "v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(sk.verify_key)).decode()]
    txt["pyrsa._domainkey." + DOMAIN] = txt["rsa1._domainkey." + DOMAIN]
    txt["pyrsa-sha1._domainkey." + DOMAIN] = [
        txt["rsa1._domainkey." + DOMAIN][0].replace("k=rsa;", "k=rsa; h=sha1:sha256;")]
    dns = Dnsmasq(workroot, txt=txt).start()
    with open(keys["rsa1"][0], "rb") as f:
        rsa_pem = f.read()
    yield {"dir": d, "keys": keys, "dns": dns, "ed_seed": ed_seed, "rsa_pem": rsa_pem}
    dns.cleanup()


def dnsfunc_for(dns):
    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        rcode, answers = query(name, "TXT", port=dns.port)
        for kind, strings in answers:
            if kind == "TXT":
                return b"".join(strings)
        return None
    return dnsfunc


def mp_sign(setup, msg, selectors=("rsa1", "ed1")):
    args = [TOOL, "sign"]
    for sel in selectors:
        args += [DOMAIN, sel, setup["keys"][sel][0]]
    p = subprocess.run(args, input=msg, capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def mp_verify(setup, msg):
    p = subprocess.run([TOOL, "verify", "--resolver", "127.0.0.1:%d" % setup["dns"].port],
                       input=msg, capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.decode().splitlines()
    return [ln.split(" ", 4) for ln in lines]


def dkimpy_verify_all(setup, msg):
    """dkimpy's verdict on each signature of msg (True/False)."""
    d = dkim.DKIM(msg)
    n = len([h for h in d.headers if h[0].lower() == b"dkim-signature"])
    verdicts = []
    for i in range(n):
        try:
            verdicts.append(d.verify(idx=i, dnsfunc=dnsfunc_for(setup["dns"])))
        except dkim.DKIMException:  # dkimpy raises for a body hash mismatch
            verdicts.append(False)
    return verdicts


def mailauth_check(setup, msg):
    if NODE is None or not os.path.isdir(os.path.join(JS, "node_modules", "mailauth")):
        pytest.skip("the mailauth package is not installed: npm ci --prefix tests/js")
    path = os.path.join(setup["dir"], "msg.eml")
    with open(path, "wb") as f:
        f.write(msg)
    p = subprocess.run([NODE, os.path.join(JS, "mailauth_check.js"), "--ip", "127.0.0.1",
                        "--helo", "client.example.test", "--sender", "joe@example.test",
                        "--dns", "127.0.0.1:%d" % setup["dns"].port, path],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["dkim"]


def mailauth_sign(setup, msg, selector, algorithm, canon):
    if NODE is None or not os.path.isdir(os.path.join(JS, "node_modules", "mailauth")):
        pytest.skip("the mailauth package is not installed: npm ci --prefix tests/js")
    p = subprocess.run([NODE, os.path.join(JS, "mailauth_sign.js"), "--domain", DOMAIN,
                        "--selector", selector, "--key", setup["keys"][selector][0],
                        "--algorithm", algorithm, "--canon", canon, "-"],
                       input=msg, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_mailport_signed_passes_in_dkimpy_and_mailauth(setup):
    signed = mp_sign(setup, MSG)
    assert signed.count(b"DKIM-Signature:") == 2
    assert dkimpy_verify_all(setup, signed) == [True, True]
    results = mailauth_check(setup, signed)
    assert sorted((r["selector"], r["result"]) for r in results) == [
        ("ed1", "pass"), ("rsa1", "pass")], results
    ours = mp_verify(setup, signed)
    assert [r[0] for r in ours] == ["pass", "pass"], ours


@pytest.mark.parametrize("old,new", TAMPER)
def test_mailport_signed_then_changed_fails_everywhere(setup, old, new):
    signed = mp_sign(setup, MSG)
    changed = signed.replace(old, new, 1)
    assert changed != signed
    assert dkimpy_verify_all(setup, changed) == [False, False]
    assert [r[0] for r in mp_verify(setup, changed)] == ["fail", "fail"]
    # mailauth calls a body hash mismatch "neutral" ("body hash did not
    # verify"), a header change "fail": never "pass".
    results = mailauth_check(setup, changed)
    assert len(results) == 2 and all(r["result"] in ("fail", "neutral") for r in results), results


@pytest.mark.parametrize("alg,canon", [
    ("rsa-sha256", "relaxed/relaxed"), ("rsa-sha256", "relaxed/simple"),
    ("rsa-sha256", "simple/simple"), ("rsa-sha256", "simple/relaxed"),
    ("ed25519-sha256", "relaxed/relaxed"), ("ed25519-sha256", "simple/simple"),
])
def test_dkimpy_signed_passes_in_mailport(setup, alg, canon):
    h, b = canon.split("/")
    if alg == "ed25519-sha256":
        sel, key = b"pyed", setup["ed_seed"]
    else:
        sel, key = b"pyrsa", setup["rsa_pem"]
    sig = dkim.sign(MSG, sel, DOMAIN.encode(), key, canonicalize=(h.encode(), b.encode()),
                    signature_algorithm=alg.encode())
    signed = sig + MSG
    assert dkimpy_verify_all(setup, signed) == [True]  # the judge agrees with itself
    r = mp_verify(setup, signed)
    assert len(r) == 1 and r[0][0] == "pass" and r[0][3] == alg, r
    for old, new in TAMPER:
        r = mp_verify(setup, signed.replace(old, new, 1))
        assert r[0][0] == "fail", (old, r)


@pytest.mark.parametrize("sel,alg,canon", [
    ("rsa1", "rsa-sha256", "relaxed/relaxed"), ("rsa1", "rsa-sha256", "simple/simple"),
    ("ed1", "ed25519-sha256", "relaxed/relaxed"), ("ed1", "ed25519-sha256", "simple/simple"),
])
def test_mailauth_signed_passes_in_mailport(setup, sel, alg, canon):
    signed = mailauth_sign(setup, MSG, sel, alg, canon)
    r = mp_verify(setup, signed)
    assert len(r) == 1 and r[0][0] == "pass" and r[0][2] == sel, r
    r = mp_verify(setup, signed.replace(b"hungry", b"thirsty", 1))
    assert r[0][0] == "fail", r


def test_rsa_sha1_is_reported_as_policy(setup):
    sig = dkim.sign(MSG, b"pyrsa-sha1", DOMAIN.encode(), setup["rsa_pem"],
                    signature_algorithm=b"rsa-sha1")
    r = mp_verify(setup, sig + MSG)
    assert r[0][0] == "policy" and r[0][3] == "rsa-sha1", r
    assert "RFC 8301" in r[0][4] and "verifies" in r[0][4], r


def test_length_tag_covering_part_of_the_body(setup):
    sig = dkim.sign(MSG, b"pyrsa", DOMAIN.encode(), setup["rsa_pem"], length=True)
    assert b"l=" in sig
    r = mp_verify(setup, sig + MSG)
    assert r[0][0] == "pass", r
    # Text appended after the signed part: dkimpy passes it (l= as the RFC
    # allows); mailport says the rest is unsigned.
    appended = sig + MSG + b"Click here: http://phish.example/\r\n"
    assert dkimpy_verify_all(setup, appended) == [True]
    r = mp_verify(setup, appended)
    assert r[0][0] == "policy" and "l=" in r[0][4], r


def test_large_body_in_pieces(setup):
    body = b"".join(b"line %d with  some   spaces \t\r\n" % i for i in range(20000))
    msg = MSG.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" + body
    signed = mp_sign(setup, msg)
    assert dkimpy_verify_all(setup, signed) == [True, True]
    assert [r[0] for r in mp_verify(setup, signed)] == ["pass", "pass"]
