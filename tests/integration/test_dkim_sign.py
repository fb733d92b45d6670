"""DKIM signing of submitted mail (issue 14), judged by independent verifiers.

A message submitted on 587 (STARTTLS + AUTH, smtplib) with an RSA-2048 and an
Ed25519 key configured for its From: domain arrives in the Maildir with two
DKIM-Signature fields, and both verify as pass with dkimpy (its dnsfunc gets
the published records) and with the mailauth npm package (asking dnsmasq);
changing a signed header or the body makes every signature fail. Keys are
made with openssl, never by mailport, so a wrong key encoding cannot hide.
"""

import base64
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import REPO, run, smtp_client, token
from dns import make_dns  # noqa: F401  (the fixture)

dkim = pytest.importorskip("dkim")

DOMAIN = "example.test"
ALICE = "alice@example.test"
BOB = "bob@example.test"
JS = os.path.join(REPO, "tests", "js")


def make_keys(d):
    """RSA-2048 and Ed25519 private keys (0600) and their DKIM TXT records."""
    rsa = os.path.join(d, "rsa.key")
    ed = os.path.join(d, "ed.key")
    run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
         "-out", rsa])
    run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", ed])
    for k in (rsa, ed):
        os.chmod(k, 0o600)
    rsa_der = run(["openssl", "pkey", "-in", rsa, "-pubout", "-outform", "DER"]).stdout
    ed_der = run(["openssl", "pkey", "-in", ed, "-pubout", "-outform", "DER"]).stdout
    records = {
        "rsa2026._domainkey." + DOMAIN:
            "v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_der).decode(),
        # RFC 8463 3: the raw 32-octet key, the last bytes of its SPKI.
        "ed2026._domainkey." + DOMAIN:
            "v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_der[-32:]).decode(),
    }
    return rsa, ed, records


@pytest.fixture
def signing(make_server, make_dns, tmp_path):
    os.chmod(tmp_path, 0o755)
    rsa, ed, records = make_keys(str(tmp_path))
    dns = make_dns(txt={name: [rec] for name, rec in records.items()})
    srv = make_server(extra=["dkim %s rsa2026 %s" % (DOMAIN, rsa),
                             "dkim %s ed2026 %s" % (DOMAIN, ed),
                             dns.resolver_line()])
    return srv, dns, records


def submit(srv, marker, body=None):
    msg = ("From: Alice <%s>\r\nTo: <%s>\r\nSubject: signed %s\r\n"
           "Date: Sun, 06 Dec 2026 18:00:00 +0000\r\nMessage-ID: <%s@client.example.test>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           "%s" % (ALICE, BOB, marker, marker, body or "hello %s\r\nsecond line\r\n" % marker))
    s = smtp_client(srv, "submission", login=ALICE)
    try:
        s.sendmail(ALICE, [BOB], msg.encode())
    finally:
        s.quit()


def delivered(srv, marker):
    found = srv.wait_mail(BOB, marker)
    assert found, "not delivered:\n%s" % srv.log_text()[-3000:]
    # The Maildir holds LF line ends: back to the CRLF the signer saw.
    return found[0].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def signatures(msg):
    head = msg.split(b"\r\n\r\n", 1)[0]
    return re.findall(rb"(?im)^DKIM-Signature:.*(?:\r\n[ \t].*)*", head)


def dkimpy_results(msg, records):
    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        return records.get(name.rstrip("."), "").encode()
    out = []
    for i in range(len(signatures(msg))):
        try:
            out.append(dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc))
        except dkim.DKIMException:  # a body hash mismatch is raised, not returned
            out.append(False)
    return out


def mailauth_results(msg, dns, tmp_path):
    if shutil.which("node") is None:
        pytest.skip("node is not installed (scripts/deps.sh --test)")
    if not os.path.isdir(os.path.join(JS, "node_modules", "mailauth")):
        r = subprocess.run(["npm", "ci", "--prefix", JS, "--no-audit", "--no-fund"],
                           capture_output=True, timeout=300)
        if r.returncode != 0:
            pytest.skip("npm ci in tests/js failed: %s" % r.stderr.decode()[-500:])
    path = os.path.join(str(tmp_path), "msg-%s.eml" % token())
    with open(path, "wb") as f:
        f.write(msg)
    r = run(["node", os.path.join(JS, "mailauth_check.js"), "--ip", "127.0.0.1",
             "--helo", "client.example.test", "--sender", ALICE,
             "--dns", "127.0.0.1:%d" % dns.port, path], timeout=60)
    return {(d["selector"], d["result"], d["comment"]) for d in json.loads(r.stdout)["dkim"]}


def test_submitted_mail_carries_two_signatures_that_verify(signing, tmp_path):
    srv, dns, records = signing
    m = token()
    submit(srv, m)
    msg = delivered(srv, m)
    sigs = signatures(msg)
    assert len(sigs) == 2, msg.decode(errors="replace")[:3000]
    text = b" ".join(sigs)
    assert b"a=rsa-sha256" in text and b"a=ed25519-sha256" in text, text
    assert all(b"d=example.test" in s for s in sigs), sigs
    # The signatures open the message, above our Received: header.
    head = msg.split(b"\r\n\r\n", 1)[0]
    assert head.find(b"DKIM-Signature:") < head.find(b"Received:"), head
    assert dkimpy_results(msg, records) == [True, True]
    assert {r[:2] for r in mailauth_results(msg, dns, tmp_path)} == {("rsa2026", "pass"),
                                                                   ("ed2026", "pass")}
    log = srv.log_text()
    assert re.search(r"event=dkim_signed domain=example.test selector=rsa2026", log), log
    assert re.search(r"event=dkim_signed domain=example.test selector=ed2026", log), log

    # A signed header changed: every signature fails, with both judges.
    forged = msg.replace(b"Subject: signed " + m.encode(), b"Subject: forged " + m.encode())
    assert forged != msg
    assert dkimpy_results(forged, records) == [False, False]
    assert {r[:2] for r in mailauth_results(forged, dns, tmp_path)} == {("rsa2026", "fail"),
                                                                      ("ed2026", "fail")}
    # The body changed.
    altered = msg.replace(b"second line", b"second LINE")
    assert altered != msg
    assert dkimpy_results(altered, records) == [False, False]
    # mailauth words a body hash mismatch "neutral" (RFC 6376 6.1.3 lets a
    # verifier treat it as a failed signature of its own kind), not "pass".
    got = mailauth_results(altered, dns, tmp_path)
    assert {(sel, res) for sel, res, _ in got} == {("rsa2026", "neutral"), ("ed2026", "neutral")}
    assert all("body hash" in comment for _, _, comment in got), got


def test_a_big_message_is_signed_whole(signing):
    """Over the spool's 64 KiB buffer: the signatures go in front of a file
    already partly on disk, and the body hash covers every streamed byte."""
    srv, _, records = signing
    m = token()
    body = "".join("line %06d of a long message %s\r\n" % (i, m) for i in range(6000))
    submit(srv, m, body=body)
    msg = delivered(srv, m)
    assert len(msg) > 200 * 1024
    assert dkimpy_results(msg, records) == [True, True]


def test_mail_from_another_domain_goes_unsigned(signing):
    """No key for the From: domain: delivered as it came, and the log says so."""
    srv, _, _ = signing
    m = token()
    msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: other %s\r\n\r\nhi\r\n"
           % ("carol@second.test", BOB, m))
    s = smtp_client(srv, "submission", login="carol@second.test")
    try:
        s.sendmail("carol@second.test", [BOB], msg.encode())
    finally:
        s.quit()
    got = delivered(srv, m)
    assert signatures(got) == []
    assert "event=dkim_unsigned" in srv.log_text()


def test_a_key_others_can_read_stops_the_start(make_server, tmp_path):
    """A key problem is a start-up error with the fix, exit 78 (config)."""
    os.chmod(tmp_path, 0o755)
    rsa, _, _ = make_keys(str(tmp_path))
    os.chmod(rsa, 0o644)
    srv = make_server(start=False, extra=["dkim %s rsa2026 %s" % (DOMAIN, rsa)])
    srv.expect_exit = True
    srv.start(wait=False)
    srv.proc.wait(timeout=20)
    out = srv.log_text()
    assert srv.proc.returncode == 78, out
    assert rsa in out and "fix" in out.lower(), out


def test_reload_keeps_the_keys_read_at_start(signing):
    """SIGHUP cannot read a root-only key again (privileges are dropped):
    the keys read at start stay in force, and a changed dkim line is
    logged as needing a restart."""
    srv, _, records = signing
    srv.extra = [x for x in srv.extra if "ed2026" not in x]
    srv.write_config()
    since = srv.log_size()
    srv.sighup()
    assert srv.wait_log(r"event=reload_dkim_kept .*restart", since=since), srv.log_text()[since:]
    assert srv.wait_log(r"event=reload ", since=since)
    m = token()
    submit(srv, m)
    msg = delivered(srv, m)
    assert dkimpy_results(msg, records) == [True, True]
