"""`mailport auth check` against an independent implementation.

One dnsmasq on loopback serves the SPF, DKIM key and _dmarc records of a
handful of .test domains; the names under broken.test are forwarded to a
server that answers SERVFAIL (a zone whose DNS is down). Each case runs
`mailport auth check --json` and the npm package mailauth (tests/js, the
same records through the same dnsmasq) and holds both to the RFC's answer:
SPF and DMARC verdicts for pass, fail, softfail, neutral, none, temperror,
permerror, relaxed and strict alignment, subdomain policy (sp=); DKIM
signatures made by dkimpy (python3-dkim) and by mailauth, RSA and Ed25519,
relaxed and simple, verify as pass, and a changed header or body fails.
"""

import base64
import json
import os
import shutil
import subprocess

import pytest

from conftest import new_dir, run
from dns import Dnsmasq, ServfailServer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JS = os.path.join(REPO, "tests", "js")
IP = "127.0.0.1"

# SPF, DMARC and DKIM key records, by name.
RECORDS = {
    "pass.test": ["v=spf1 ip4:127.0.0.0/8 -all"],
    "_dmarc.pass.test": ["v=DMARC1; p=reject; rua=mailto:dmarc@pass.test"],
    "fail.test": ["v=spf1 ip4:192.0.2.0/24 -all"],
    "_dmarc.fail.test": ["v=DMARC1; p=reject"],
    "soft.test": ["v=spf1 ip4:192.0.2.0/24 ~all"],
    "_dmarc.soft.test": ["v=DMARC1; p=quarantine"],
    "neutral.test": ["v=spf1 ?all"],
    # two SPF records: permerror (RFC 7208 4.5)
    "perm.test": ["v=spf1 ip4:127.0.0.1 -all", "v=spf1 -all"],
    "_dmarc.perm.test": ["v=DMARC1; p=none"],
    # relaxed and strict alignment: mail.X.test passes SPF, From: is X.test
    "mail.relaxed.test": ["v=spf1 ip4:127.0.0.0/8 -all"],
    "_dmarc.relaxed.test": ["v=DMARC1; p=reject"],
    "mail.strict.test": ["v=spf1 ip4:127.0.0.0/8 -all"],
    "_dmarc.strict.test": ["v=DMARC1; p=reject; aspf=s; adkim=s"],
    # subdomain policy: no record at sub.org.test, the org's sp= applies
    "_dmarc.org.test": ["v=DMARC1; p=none; sp=reject"],
    "other.test": ["v=spf1 ip4:127.0.0.0/8 -all"],
    # several DMARC records: none (RFC 7489 6.6.3 step 5)
    "two.test": ["v=spf1 -all"],
    "_dmarc.two.test": ["v=DMARC1; p=reject", "v=DMARC1; p=none"],
    # a record without a usable p=: unusable, or p=none when rua= is valid (6.6.3 step 6)
    "badrec.test": ["v=spf1 -all"],
    "_dmarc.badrec.test": ["v=DMARC1; p=maybe"],
    "ruaonly.test": ["v=spf1 -all"],
    "_dmarc.ruaonly.test": ["v=DMARC1; p=maybe; rua=mailto:r@ruaonly.test"],
    # pct=0: a p=reject fail is sampled out to quarantine (6.6.4)
    "sampled.test": ["v=spf1 -all"],
    "_dmarc.sampled.test": ["v=DMARC1; p=reject; pct=0"],
    # DKIM-signed mail: no SPF, DMARC by DKIM alone
    "_dmarc.dk.test": ["v=DMARC1; p=reject"],
}


class AuthDns(Dnsmasq):
    """dnsmasq with broken.test forwarded to a SERVFAIL server."""

    def __init__(self, root, servfail_port, **kw):
        super().__init__(root, **kw)
        self.servfail_port = servfail_port

    def args(self):
        return super().args() + ["--server=/broken.test/127.0.0.1#%d" % self.servfail_port]


def keypair(d, kind):
    """(private PEM path, DKIM p= value, dkimpy private key bytes)."""
    key = os.path.join(d, "%s.pem" % kind)
    if kind == "rsa":
        run(["openssl", "genrsa", "-traditional", "-out", key, "2048"])
    else:
        run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key])
    pub = run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"]).stdout
    if kind == "rsa":
        with open(key, "rb") as f:
            priv = f.read()
        return key, base64.b64encode(pub).decode(), priv
    # RFC 8463: the raw 32-byte public key; dkimpy takes the raw seed, base64
    der = run(["openssl", "pkey", "-in", key, "-outform", "DER"]).stdout
    return key, base64.b64encode(pub[-32:]).decode(), base64.b64encode(der[-32:])


@pytest.fixture(scope="module")
def env(workroot):
    if not os.path.isdir(os.path.join(JS, "node_modules", "mailauth")):
        pytest.fail("the mailauth npm package is missing: run scripts/install-peers.sh "
                    "(it runs npm ci --prefix tests/js)")
    d = new_dir(workroot, "authcheck-")
    keys = {k: keypair(d, k) for k in ("rsa", "ed25519")}
    txt = {n: list(v) for n, v in RECORDS.items()}
    txt["rsa._domainkey.dk.test"] = ["v=DKIM1; k=rsa; p=" + keys["rsa"][1]]
    txt["ed._domainkey.dk.test"] = ["v=DKIM1; k=ed25519; p=" + keys["ed25519"][1]]
    sf = ServfailServer()
    dns = AuthDns(workroot, sf.port, txt=txt).start()
    yield {"dir": d, "dns": dns, "keys": keys}
    dns.cleanup()
    sf.stop()


def message(frm, subject="hello", body="Hello there.\r\nSecond line.\r\n"):
    return ("From: Someone <%s>\r\nTo: you@example.test\r\nSubject: %s\r\n"
            "Date: Sun, 06 Dec 2026 12:00:00 +0000\r\nMessage-ID: <m1@%s>\r\n"
            "\r\n%s" % (frm, subject, frm.split("@")[-1], body)).encode()


def ours(mailport_bin, env, sender, msg, ip=IP, helo="client.test"):
    cmd = [mailport_bin, "auth", "check", "--json", "--resolver",
           "127.0.0.1:%d" % env["dns"].port, "--ip", ip, "--helo", helo, "--from", sender]
    if msg is not None:
        cmd.append("-")
    p = run(cmd, input=msg, timeout=30)
    return json.loads(p.stdout)


def theirs(env, sender, msg, ip=IP, helo="client.test"):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: scripts/deps.sh --test installs nodejs")
    cmd = [node, os.path.join(JS, "mailauth_check.js"), "--dns", "127.0.0.1:%d" % env["dns"].port,
           "--ip", ip, "--helo", helo, "--sender", sender, "--mta", "mx.test"]
    if msg is None:
        cmd.append("--no-message")
    cmd.append("-")
    p = run(cmd, input=msg or b"", timeout=30)
    return json.loads(p.stdout)


# (case, MAIL FROM, From: address, SPF, DMARC, DMARC policy, our action)
CASES = [
    ("pass", "user@pass.test", "user@pass.test", "pass", "pass", "reject", "accept"),
    ("fail", "user@fail.test", "user@fail.test", "fail", "fail", "reject", "reject"),
    ("softfail", "user@soft.test", "user@soft.test", "softfail", "fail", "quarantine",
     "quarantine"),
    ("neutral", "user@neutral.test", "user@neutral.test", "neutral", "none", None, "accept"),
    ("none", "user@nothing.test", "user@nothing.test", "none", "none", None, "accept"),
    ("permerror", "user@perm.test", "user@perm.test", "permerror", "fail", "none", "accept"),
    ("temperror", "user@mx.broken.test", "user@mx.broken.test", "temperror", "temperror", None,
     "tempfail"),
    ("relaxed", "bounce@mail.relaxed.test", "user@relaxed.test", "pass", "pass", "reject",
     "accept"),
    ("subdomain-sp", "user@other.test", "user@sub.org.test", "pass", "fail", "reject",
     "reject"),
    ("org-p-none", "user@other.test", "user@org.test", "pass", "fail", "none", "accept"),
    ("spoofed-from", "user@other.test", "ceo@pass.test", "pass", "fail", "reject", "reject"),
    ("several-records", "user@two.test", "user@two.test", "fail", "none", None, "accept"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_spf_dmarc_agree_with_mailauth(mailport_bin, env, case):
    name, sender, frm, spf, dmarc, policy, action = case
    msg = message(frm)
    a = ours(mailport_bin, env, sender, msg)
    b = theirs(env, sender, msg)
    assert a["spf"]["result"] == spf, a
    assert b["spf"]["result"] == spf, b
    assert a["dmarc"]["result"] == dmarc, a
    assert b["dmarc"]["result"] == dmarc, b
    assert a["dmarc"]["policy"] == policy, a
    if policy is not None:
        assert b["dmarc"]["policy"] == policy, b
    assert a["dmarc"]["from_domain"] == frm.split("@")[1]
    assert a["action"] == action, a
    # the header says the same
    assert "spf=%s" % spf in a["header"] and "dmarc=%s" % dmarc in a["header"]
    if action == "reject":
        assert "DMARC" in a["detail"] and frm.split("@")[1] in a["detail"]


def test_strict_alignment(mailport_bin, env):
    """aspf=s: an SPF pass for mail.strict.test does not align with strict.test
    (RFC 7489 3.1.2). mailauth 4.13.3 applies relaxed alignment whatever
    aspf/adkim say (its getAlignment is given an object as the strict flag,
    then always falls back to organizational domains), so it is no judge
    here: the RFC's answer is asserted, and mailauth's known divergence
    recorded so that a fixed mailauth shows up."""
    msg = message("user@strict.test")
    a = ours(mailport_bin, env, "bounce@mail.strict.test", msg)
    assert a["spf"]["result"] == "pass"
    assert a["dmarc"]["result"] == "fail" and a["dmarc"]["aspf"] == "s", a
    assert a["action"] == "reject"
    b = theirs(env, "bounce@mail.strict.test", msg)
    assert b["spf"]["result"] == "pass"
    assert b["dmarc"]["result"] == "pass", "mailauth now enforces strict alignment: " \
        "make this case a plain agreement check"
    # the exact domain passes strict alignment in both
    msg = message("user@mail.strict.test")
    a = ours(mailport_bin, env, "bounce@mail.strict.test", msg)
    b = theirs(env, "bounce@mail.strict.test", msg)
    assert a["dmarc"]["result"] == b["dmarc"]["result"] == "pass"


def test_null_sender_uses_helo(mailport_bin, env):
    """MAIL FROM <> (--from ""): SPF checks the HELO identity (RFC 7208 2.4)."""
    a = ours(mailport_bin, env, "", None, helo="pass.test")
    b = theirs(env, "", None, helo="pass.test")
    assert a["spf"]["result"] == b["spf"]["result"] == "pass"
    assert a["spf"]["identity"] == "helo" and a["spf"]["domain"] == "pass.test"
    assert "smtp.helo=pass.test" in a["header"]
    a = ours(mailport_bin, env, "", None, helo="fail.test")
    assert a["spf"]["result"] == "fail"
    assert a["dkim"] == [] and a["dmarc"]["result"] == "none"


def sign_dkimpy(env, msg, kind, canon):
    import dkim
    priv = env["keys"][kind][2]
    sig = dkim.sign(msg, b"rsa" if kind == "rsa" else b"ed", b"dk.test", priv,
                    canonicalize=(canon.encode(), canon.encode()),
                    signature_algorithm=b"rsa-sha256" if kind == "rsa" else b"ed25519-sha256",
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return sig + msg


def sign_mailauth(env, msg, kind, canon):
    cmd = ["node", os.path.join(JS, "mailauth_sign.js"), "--domain", "dk.test",
           "--selector", "rsa" if kind == "rsa" else "ed", "--key", env["keys"][kind][0],
           "--algorithm", "rsa-sha256" if kind == "rsa" else "ed25519-sha256",
           "--canon", "%s/%s" % (canon, canon), "-"]
    return run(cmd, input=msg).stdout


SIGNERS = [(s, k, c) for s in ("dkimpy", "mailauth") for k in ("rsa", "ed25519")
           for c in ("relaxed", "simple")]


@pytest.mark.parametrize("signer,kind,canon", SIGNERS,
                         ids=["%s-%s-%s" % s for s in SIGNERS])
def test_dkim_signed_elsewhere_passes(mailport_bin, env, signer, kind, canon):
    msg = message("user@dk.test", body="A body\r\n  with  spaces \r\n\r\n\r\n")
    signed = (sign_dkimpy if signer == "dkimpy" else sign_mailauth)(env, msg, kind, canon)
    # SPF says nothing for dk.test: DMARC passes by the DKIM signature alone
    a = ours(mailport_bin, env, "user@other.test", signed)
    b = theirs(env, "user@other.test", signed)
    assert [s["result"] for s in a["dkim"]] == ["pass"], a
    assert [s["result"] for s in b["dkim"]] == ["pass"], b
    s = a["dkim"][0]
    assert s["domain"] == "dk.test" and s["selector"] == ("rsa" if kind == "rsa" else "ed")
    assert s["algorithm"] == ("rsa-sha256" if kind == "rsa" else "ed25519-sha256")
    assert a["dmarc"]["result"] == b["dmarc"]["result"] == "pass"
    assert a["dmarc"]["dkim_aligned"] and not a["dmarc"]["spf_aligned"]
    assert "dkim=pass" in a["header"] and "header.d=dk.test" in a["header"]

    # a changed signed header, or a changed body: fail. mailauth says
    # "neutral (body hash did not verify)" for the body; RFC 6376 6.1.3 and
    # RFC 8601 2.7.1 make that a fail (the signature was processed and did
    # not verify), which is what we say.
    for changed, theirs_says in ((signed.replace(b"Subject: hello", b"Subject: hellO"), "fail"),
                                 (signed.replace(b"A body", b"A bodY"), "neutral")):
        a = ours(mailport_bin, env, "user@other.test", changed)
        b = theirs(env, "user@other.test", changed)
        assert [s["result"] for s in a["dkim"]] == ["fail"], a
        assert [s["result"] for s in b["dkim"]] == [theirs_says], b
        assert a["dmarc"]["result"] == b["dmarc"]["result"] == "fail"
        assert a["action"] == "reject"


def test_lf_input_is_read_as_crlf(mailport_bin, env):
    """A message file with LF line ends (as saved by most tools) verifies like
    the CRLF original: the command converts, as the SMTP wire would have it."""
    msg = sign_dkimpy(env, message("user@dk.test"), "rsa", "simple")
    a = ours(mailport_bin, env, "user@other.test", msg.replace(b"\r\n", b"\n"))
    assert [s["result"] for s in a["dkim"]] == ["pass"], a


def test_several_from_fields_reject(mailport_bin, env):
    """Two From: fields: no single author domain; permerror and, enforced, a
    reject (RFC 7489 6.6.1, RFC 5322 3.6)."""
    msg = b"From: a@pass.test\r\nFrom: b@evil.test\r\nSubject: x\r\n\r\nbody\r\n"
    a = ours(mailport_bin, env, "user@pass.test", msg)
    assert a["dmarc"]["result"] == "permerror"
    assert "2 From: fields" in a["dmarc"]["reason"]
    assert a["action"] == "reject"


def test_text_output_and_usage(mailport_bin, env):
    p = run([mailport_bin, "auth", "check", "--resolver", "127.0.0.1:%d" % env["dns"].port,
             "--ip", IP, "--helo", "client.test", "--from", "user@fail.test", "-"],
            input=message("user@fail.test"))
    out = p.stdout.decode()
    assert out.startswith("Authentication-Results: ")
    assert "spf=fail" in out and "dmarc=fail" in out
    assert "action reject: DMARC policy of fail.test says reject" in out
    # usage errors: 64 with the fix
    p = run([mailport_bin, "auth", "check", "--ip", "not-an-ip", "--helo", "h", "--from", ""],
            check=False)
    assert p.returncode == 64 and b"not an IPv4 or IPv6 address" in p.stderr
    p = run([mailport_bin, "auth", "check", "--ip", IP], check=False)
    assert p.returncode == 64 and b"--from" in p.stderr
    p = run([mailport_bin, "auth", "check", "--ip", IP, "--helo", "h", "--from", "",
             "--resolver", "127.0.0.1:%d" % env["dns"].port, "/nonexistent/msg"], check=False)
    assert p.returncode == 66 and b"cannot open /nonexistent/msg" in p.stderr
    p = run([mailport_bin, "auth"], check=False)
    assert p.returncode == 64 and b"check" in p.stderr


def test_records_mailauth_reads_loosely(mailport_bin, env):
    """Records where RFC 7489 and mailauth 4.13.3 part ways; the RFC's answer
    is asserted, mailauth's recorded. mailauth has no DMARC permerror and
    takes any p= value, and does not sample pct= (it reports it)."""
    # p=maybe and no rua=: no usable policy, permerror (RFC 7489 11.2), delivered
    a = ours(mailport_bin, env, "user@badrec.test", message("user@badrec.test"))
    assert a["dmarc"]["result"] == "permerror" and a["action"] == "accept", a
    assert 'p="maybe" is not none, quarantine or reject' in a["dmarc"]["reason"], a
    b = theirs(env, "user@badrec.test", message("user@badrec.test"))
    assert b["dmarc"]["result"] == "fail" and b["dmarc"]["policy"] == "maybe"
    # the same with a valid rua=: read as p=none (6.6.3 step 6)
    a = ours(mailport_bin, env, "user@ruaonly.test", message("user@ruaonly.test"))
    assert a["dmarc"]["result"] == "fail" and a["dmarc"]["policy"] == "none", a
    assert a["action"] == "accept"
    # pct=0: reject sampled out to quarantine; mailauth reports pct and the policy
    a = ours(mailport_bin, env, "user@sampled.test", message("user@sampled.test"))
    assert a["dmarc"]["result"] == "fail" and a["dmarc"]["policy"] == "reject", a
    assert a["dmarc"]["disposition"] == "quarantine" and a["action"] == "quarantine"
    assert "dis=QUARANTINE" in a["header"]
    b = theirs(env, "user@sampled.test", message("user@sampled.test"))
    assert b["dmarc"]["result"] == "fail" and b["dmarc"]["pct"] == 0
