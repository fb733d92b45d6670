#!/usr/bin/python3
"""Mail authentication's cost (issue 14), on loopback, as root (Postfix needs it).

Three comparisons, each at concurrency 50, runs alternating between the
servers compared, each figure the median of BENCH_RUNS runs:

  (a) signing: mailport's submission door (STARTTLS + AUTH, bench/loadgen
      with TLS session resumption, 4 KiB messages from user@bench.test)
      with two DKIM keys for bench.test (RSA-2048 and Ed25519: every
      message gets both signatures) against the same without keys.
      Target: signed within 20 % of unsigned.
  (b) the same signed mailport against Postfix signing through the
      OpenDKIM milter (Debian's opendkim, the same two keys, relaxed/
      relaxed, From oversigned; two instances, one per algorithm, as
      OpenDKIM 2.11 takes one algorithm each), both delivering to a Maildir.
      Target: mailport >= 5x.
  (c) verification: mailport's smtp door taking a message signed with
      RSA-2048 and Ed25519 (by dkimpy) from a domain whose SPF, DKIM keys
      and DMARC (p=reject) dnsmasq serves on loopback, so every message
      gets SPF + two DKIM verifications + DMARC (bench/loadgen --plain),
      against plain accept: a mailport without inbound authentication
      (BENCH_BASELINE=PATH, a binary built from before issue 14; by
      default the bench builds one from BASELINE_COMMIT into
      build/bench-baseline). Target: verification costs under 20 %.

Every server's first delivered message is read back: the signed servers'
must carry an rsa-sha256 and an ed25519-sha256 DKIM-Signature, the unsigned
one none, and the verifying one an Authentication-Results with spf=pass,
dkim=pass (twice) and dmarc=pass; a row whose check fails says so and its
target is not met.

Options (environment): BENCH_QUICK=1 for a smoke run of a few seconds
(one short run per figure; without BENCH_BASELINE, (c) compares the
binary with itself: a check of the harness, not a figure);
BENCH_RUNS (default 3); BENCH_SECONDS (target seconds per run, default 3);
BENCH_BASELINE (see (c)); BENCH_ONLY=c for (c) alone. Writes
bench/last-auth-run.md.
"""

import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench  # noqa: E402
from bench import (AUTH_PW, AUTH_USER, DOMAIN, HOST, REPO, TO, can_connect,  # noqa: E402
                   free_port, log, make_certs, max_connections, med, read_text,
                   settle_postfix)
from dns import Dnsmasq  # noqa: E402  (tests/integration, on bench's path)
from peers import PostfixPeer, ensure_postfix  # noqa: E402

MAILPORT = bench.MAILPORT
QUICK = os.environ.get("BENCH_QUICK") == "1"
ONLY = os.environ.get("BENCH_ONLY", "")
RUNS = int(os.environ.get("BENCH_RUNS", "1" if QUICK else "3"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "0.5" if QUICK else "3"))
CONC = 50
SIZE = 4096
SENDER_DOMAIN = "sender.test"
SENDER = "news@" + SENDER_DOMAIN
# main when issue 14 began: the same config language (dkim lines parsed, unused),
# no signing, no inbound authentication.
BASELINE_COMMIT = "8357155"
OPENDKIM = shutil.which("opendkim") or "/usr/sbin/opendkim"


# ---------------------------------------------------------------- keys and messages


def keygen(workdir, domain, selector, ktype):
    """mailport dkim keygen: (key file, the record it prints)."""
    out = os.path.join(workdir, "%s.%s.key" % (domain, selector))
    p = subprocess.run([MAILPORT, "dkim", "keygen", "--domain", domain, "--selector", selector,
                        "--type", ktype, "--out", out], capture_output=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("dkim keygen failed: %s" % p.stderr.decode(errors="replace"))
    for line in p.stdout.decode().splitlines():
        if line.strip().startswith("value: "):
            return out, line.split("value: ", 1)[1].strip()
    raise RuntimeError("dkim keygen printed no record:\n" + p.stdout.decode())


def signed_message(workdir):
    """A 4 KiB message from SENDER to TO, signed by dkimpy with an RSA-2048
    and an Ed25519 key (RFC 8463), and the sender domain's DNS records."""
    import dkim
    import nacl.signing
    rsa_key = os.path.join(workdir, "sender-rsa.pem")
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", rsa_key, "2048"],
                   capture_output=True, timeout=60, check=True)
    der = subprocess.run(["openssl", "rsa", "-in", rsa_key, "-pubout", "-outform", "DER"],
                         capture_output=True, timeout=60, check=True).stdout
    seed = os.urandom(32)
    ed_pub = bytes(nacl.signing.SigningKey(seed).verify_key)
    body = b"".join(b"%s\r\n" % (b"x" * 78) for _ in range(SIZE // 80))
    msg = (b"From: <%s>\r\nTo: <%s>\r\nSubject: auth bench\r\n"
           b"Date: Sun, 06 Dec 2026 12:00:00 +0000\r\nMessage-ID: <bench@%s>\r\n\r\n"
           % (SENDER.encode(), TO.encode(), SENDER_DOMAIN.encode())) + body
    headers = [b"From", b"To", b"Subject", b"Date", b"Message-ID"]
    with open(rsa_key, "rb") as f:
        sig_rsa = dkim.sign(msg, b"rsa1", SENDER_DOMAIN.encode(), f.read(),
                            canonicalize=(b"relaxed", b"relaxed"), include_headers=headers)
    sig_ed = dkim.sign(msg, b"ed1", SENDER_DOMAIN.encode(), base64.b64encode(seed),
                       signature_algorithm=b"ed25519-sha256",
                       canonicalize=(b"relaxed", b"relaxed"), include_headers=headers)
    path = os.path.join(workdir, "signed.eml")
    with open(path, "wb") as f:
        f.write(sig_rsa + sig_ed + msg)
    txt = {SENDER_DOMAIN: ["v=spf1 ip4:127.0.0.0/8 -all"],
           "rsa1._domainkey." + SENDER_DOMAIN:
               ["v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()],
           "ed1._domainkey." + SENDER_DOMAIN:
               ["v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_pub).decode()],
           "_dmarc." + SENDER_DOMAIN: ["v=DMARC1; p=reject"]}
    return path, txt


# ---------------------------------------------------------------- servers


class Server:
    """One mailport serve: smtp and submission doors, Maildir delivery for
    bench.test; extra config lines (dkim, resolver); binary (the baseline's)."""

    def __init__(self, root, certs, name, binary=MAILPORT, extra=""):
        self.name = name
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=root)
        os.chmod(self.dir, 0o755)
        self.port, self.sub_port = free_port(), free_port()
        self.maildir_new = os.path.join(self.dir, "mail", DOMAIN, "to", "new")
        self.log_file = os.path.join(self.dir, "log.txt")
        self.proc = None
        with open(os.path.join(self.dir, "users"), "wb") as f:
            for addr, pw in ((TO, "bench-pw-1"), (AUTH_USER, AUTH_PW)):
                p = subprocess.run([binary, "passwd", "--user", addr],
                                   input=(pw + "\n").encode(), capture_output=True,
                                   timeout=30, check=True)
                f.write(p.stdout.strip().splitlines()[-1] + b"\n")
        for src, dst in ((certs.chain_a, "cert.pem"), (certs.key_a, "key.pem")):
            shutil.copy(src, os.path.join(self.dir, dst))
        with open(os.path.join(self.dir, "mailport.conf"), "w") as f:
            f.write("hostname mx.%s\ndomain %s\nusers users\nspool spool\nmailboxes mail\n"
                    "tls cert.pem key.pem\nlisten %s:%d smtp\nlisten %s:%d submission\n"
                    "max-connections %d\nmax-connections-per-ip 20000\n%s"
                    % (DOMAIN, DOMAIN, HOST, self.port, HOST, self.sub_port,
                       max_connections(), extra))

    def start(self, timeout=15.0):
        with open(self.log_file, "wb") as lf:
            self.proc = subprocess.Popen([self.binary, "serve", "-c", "mailport.conf"],
                                         cwd=self.dir, stdin=subprocess.DEVNULL, stdout=lf,
                                         stderr=lf)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited (%s):\n%s" % (self.name, self.proc.returncode,
                                                            read_text(self.log_file)[-3000:]))
            if can_connect(self.port) and can_connect(self.sub_port):
                return self
            time.sleep(0.05)
        raise RuntimeError("%s not ready:\n%s" % (self.name, read_text(self.log_file)[-3000:]))

    def queued(self):
        try:
            return len(os.listdir(os.path.join(self.dir, "spool", "queue")))
        except FileNotFoundError:
            return 0

    def settle(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while self.queued() and time.monotonic() < deadline:
            time.sleep(0.05)

    def first_message(self):
        return first_in(self.maildir_new)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def first_in(folder):
    """The header block of the oldest file in a Maildir new/ folder, or None."""
    try:
        names = sorted(os.listdir(folder), key=lambda n: os.stat(os.path.join(folder, n)).st_mtime)
    except FileNotFoundError:
        return None
    if not names:
        return None
    with open(os.path.join(folder, names[0]), "rb") as f:
        return f.read().replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode(errors="replace")


class OpenDKIM:
    """opendkim -f on a loopback port, signing mail from bench.test with one key.
    OpenDKIM 2.11 takes one signing algorithm per instance (SignatureAlgorithm
    is global), so RSA and Ed25519 at once are two instances, two milters."""

    def __init__(self, root, selector, keyfile, algorithm):
        self.dir = tempfile.mkdtemp(prefix="opendkim-%s-" % selector, dir=root)
        self.port = free_port()
        self.proc = None
        with open(os.path.join(self.dir, "keytable"), "w") as f:
            f.write("%s._domainkey.%s %s:%s:%s\n" % (selector, DOMAIN, DOMAIN, selector, keyfile))
        with open(os.path.join(self.dir, "signingtable"), "w") as f:
            f.write("*@%s %s._domainkey.%s\n" % (DOMAIN, selector, DOMAIN))
        self.conf = os.path.join(self.dir, "opendkim.conf")
        with open(self.conf, "w") as f:
            f.write("Syslog no\nMode s\nCanonicalization relaxed/relaxed\n"
                    "SignatureAlgorithm {a}\n"
                    "KeyTable file:{d}/keytable\nSigningTable refile:{d}/signingtable\n"
                    "OversignHeaders From\n"
                    "Socket inet:{p}@127.0.0.1\nPidFile {d}/opendkim.pid\n"
                    "RequireSafeKeys no\nInternalHosts 127.0.0.1\n"
                    .format(d=self.dir, p=self.port, a=algorithm))

    def start(self, timeout=10.0):
        self.log = os.path.join(self.dir, "opendkim.log")
        with open(self.log, "wb") as lf:
            self.proc = subprocess.Popen([OPENDKIM, "-f", "-x", self.conf], stdout=lf, stderr=lf,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("opendkim exited:\n" + read_text(self.log))
            if can_connect(self.port):
                return self
            time.sleep(0.05)
        raise RuntimeError("opendkim not listening:\n" + read_text(self.log))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def postfix_with_opendkim(root, certs, milter_ports):
    """A private Postfix: submission (STARTTLS + SASL), every message through
    the OpenDKIM milters, then to a Maildir with virtual(8), as mailport does."""
    return PostfixPeer(
        root, certs, name="postfix-dkim", hostname="mx." + DOMAIN, domains=(DOMAIN,),
        users={AUTH_USER: AUTH_PW}, mailboxes=(TO,), submission=True, smtp=False,
        main_extra={"smtpd_milters": ", ".join("inet:127.0.0.1:%d" % p for p in milter_ports),
                    "non_smtpd_milters": "",
                    "milter_default_action": "tempfail",
                    "milter_protocol": "6",
                    "default_process_limit": "1200",
                    "smtpd_tls_session_cache_database":
                        "btree:${data_directory}/smtpd_scache"})


def baseline_binary(root):
    """mailport from before issue 14: BENCH_BASELINE, or built once from
    BASELINE_COMMIT into build/bench-baseline; None in quick mode without one."""
    given = os.environ.get("BENCH_BASELINE")
    if given:
        return given
    out = os.path.join(REPO, "build", "bench-baseline", BASELINE_COMMIT, "mailport")
    if os.access(out, os.X_OK):
        return out
    if QUICK:
        return None
    src = tempfile.mkdtemp(prefix="baseline-src-", dir=root)
    log("  building the baseline (%s) for (c), once: build/bench-baseline" % BASELINE_COMMIT)
    arch = subprocess.run(["git", "-C", REPO, "archive", BASELINE_COMMIT], capture_output=True,
                          timeout=120, check=True).stdout
    subprocess.run(["tar", "-x", "-C", src], input=arch, check=True, timeout=120)
    b = os.path.join(src, "build")
    for cmd in (["cmake", "-S", src, "-B", b, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
                ["cmake", "--build", b, "--target", "mailport"]):
        p = subprocess.run(cmd, capture_output=True, timeout=1800)
        if p.returncode != 0:
            raise RuntimeError("baseline build failed: %s\n%s" % (" ".join(cmd),
                               (p.stdout + p.stderr).decode(errors="replace")[-3000:]))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    shutil.copy(os.path.join(b, "mailport"), out)
    return out


# ---------------------------------------------------------------- load


def run_loadgen(lg, port, count, cafile, plain=False, message=None, sender=AUTH_USER):
    cmd = [lg] + (["--plain"] if plain else ["--resume"])
    if message:
        cmd += ["--message", message]
    cmd += [HOST, str(port), AUTH_USER, sender, TO, str(SIZE), str(CONC), str(count),
            cafile if not plain else "-"]
    env = dict(os.environ, LOADGEN_PASSWORD=AUTH_PW)
    p = subprocess.run(cmd, capture_output=True, timeout=SECONDS * 30 + 120, env=env,
                       stdin=subprocess.DEVNULL)
    kv = dict(x.split("=", 1) for x in p.stdout.decode().split() if "=" in x)
    if "rate" not in kv:
        raise RuntimeError("loadgen failed (%d): %s\n%s" % (p.returncode, " ".join(cmd),
                                                            p.stderr.decode(errors="replace")))
    r = {k: float(v) for k, v in kv.items()}
    r["error"] = p.stderr.decode(errors="replace").strip()
    if r["ok"] == 0:
        raise RuntimeError("no message accepted: %s\n%s" % (" ".join(cmd), r["error"]))
    return r


def compare(lg, servers, cafile):
    """{name: [result per run]} for servers [(name, port, settle, kwargs)]:
    a calibration run each (not counted), then RUNS rounds in turn."""
    counts, res = {}, {}
    for name, port, settle, kw in servers:
        # As bench.py calibrates: until a run lasts a third of SECONDS (a short
        # run is mostly its sessions starting and ending).
        n = max(2 * CONC, 100)
        for _ in range(3):
            r = run_loadgen(lg, port, n, cafile, **kw)
            settle()
            if r["seconds"] >= SECONDS / 3:
                break
            n = int(min(30000, r["rate"] * SECONDS / 2))
        # At least 10 messages a session: with --resume each session's first
        # connection is a full handshake, which a shorter run over-weights.
        counts[name] = int(min(30000, max(10 * CONC, r["rate"] * SECONDS)))
    for i in range(RUNS):
        for name, port, settle, kw in servers:
            r = run_loadgen(lg, port, counts[name], cafile, **kw)
            settle()
            res.setdefault(name, []).append(r)
            log("  %-22s run %d: %5d ok, %d failed in %5.2f s = %7.1f msgs/s (p50 %.1f ms)%s"
                % (name, i + 1, r["ok"], r["failed"], r["seconds"], r["rate"], r["p50_ms"],
                   "  first failure: " + r["error"] if r["failed"] else ""))
    return res


# ---------------------------------------------------------------- checks of the mail


def signatures(header_block):
    """The a= of each DKIM-Signature field in a header block."""
    if header_block is None:
        return None
    algs, cur = [], None
    for line in header_block.split("\n") + [""]:
        if line[:1] in (" ", "\t") and cur is not None:
            cur += line
            continue
        if cur is not None:
            for tag in cur.split(";"):
                k, _, v = tag.strip().partition("=")
                if k == "a":
                    algs.append(v.strip())
        cur = line if line.lower().startswith("dkim-signature:") else None
    return sorted(algs)


def verified(header_block):
    """Whether an Authentication-Results field says spf, dkim (twice) and dmarc passed."""
    if header_block is None:
        return False
    ar = " ".join(ln.strip() for ln in header_block.split("\n")
                  if ln.lower().startswith("authentication-results:") or ln[:1] in " \t")
    return ("spf=pass" in ar and ar.count("dkim=pass") >= 2 and "dmarc=pass" in ar)


# ---------------------------------------------------------------- report


def rate(res, name):
    return med([r["rate"] for r in res.get(name, [])])


def report(ab, c_res, checks, c_note):
    both = ("rsa-sha256", "ed25519-sha256")
    lines = ["", "## Mail authentication (issue 14): msgs/s at concurrency %d, 4 KiB, "
             "median of %d runs" % (CONC, RUNS), ""]
    lines += ["| comparison | mailport | other | ratio | target | met |", "|---|---|---|---|---|---|"]
    if ab:
        u, s, p = (rate(ab, "mailport unsigned"), rate(ab, "mailport signed"),
                   rate(ab, "postfix+opendkim"))
        ok_a = checks["mailport signed"] == sorted(both) and checks["mailport unsigned"] == []
        ok_b = checks["postfix+opendkim"] == sorted(both)
        lines += [
                  "| (a) submission, DKIM RSA-2048 + Ed25519 vs unsigned | %.0f | %.0f | %.2f | >= 0.80 | %s |"
                  % (s, u, s / u, "yes" if ok_a and s / u >= 0.8 else "NO"),
                  "| (b) mailport signing vs Postfix + OpenDKIM milter | %.0f | %.0f | %.2f× | >= 5× | %s |"
                  % (s, p, s / p, "yes" if ok_a and ok_b and s / p >= 5 else "NO")]
    if c_res is not None:
        v, b = rate(c_res, "mailport verifying"), rate(c_res, "plain accept")
        ok_c = checks["mailport verifying"]
        met = ("n/a" if c_note else "yes" if ok_c and v / b >= 0.8 else "NO")
        lines.append("| (c) smtp door, SPF + 2 DKIM + DMARC vs plain accept%s | %.0f | %.0f | "
                     "%.2f | >= 0.80 | %s |" % (c_note, v, b, v / b, met))
    lines += ["", "Checks of the delivered mail (DKIM-Signature a= values; "
              "Authentication-Results of the verifying server):", ""]
    for name, got in checks.items():
        lines.append("- %s: %s" % (name, got))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


def main():
    if os.geteuid() != 0:
        sys.exit("auth_bench: run as root (the private Postfix instance needs it)")
    reason = ensure_postfix()
    if reason:
        sys.exit("auth_bench: " + reason)
    if not os.access(OPENDKIM, os.X_OK):   # a peer, as Postfix is
        subprocess.run(["bash", os.path.join(REPO, "scripts", "install-peers.sh")],
                       stdin=subprocess.DEVNULL, timeout=900)
    for tool in (MAILPORT, OPENDKIM):
        if not os.access(tool, os.X_OK):
            sys.exit("auth_bench: %s missing (make; scripts/install-peers.sh installs opendkim)"
                     % tool)
    root = tempfile.mkdtemp(prefix="mailport-auth-bench-", dir="/var/tmp")
    os.chmod(root, 0o755)
    started = []
    t0 = time.monotonic()
    try:
        os.makedirs(os.path.join(root, "certs"))
        os.chmod(os.path.join(root, "certs"), 0o755)
        certs = make_certs(os.path.join(root, "certs"))
        if bench.CERT == "ecdsa":
            bench.use_ecdsa_leaf(certs)
        keydir = tempfile.mkdtemp(prefix="keys-", dir=root)
        rsa_key, _ = keygen(keydir, DOMAIN, "rsa1", "rsa")
        ed_key, _ = keygen(keydir, DOMAIN, "ed1", "ed25519")
        dkim_lines = "dkim %s rsa1 %s\ndkim %s ed1 %s\n" % (DOMAIN, rsa_key, DOMAIN, ed_key)
        message, sender_txt = signed_message(keydir)
        dns = Dnsmasq(root, txt=sender_txt, zones=["test"], log_queries=False).start()
        started.append(dns)
        resolver = "resolver 127.0.0.1:%d\n" % dns.port

        unsigned = Server(root, certs, "mp-unsigned", extra=resolver).start()
        signed = Server(root, certs, "mp-signed", extra=resolver + dkim_lines).start()
        started += [unsigned, signed]
        odks = [OpenDKIM(root, "rsa1", rsa_key, "rsa-sha256").start(),
                OpenDKIM(root, "ed1", ed_key, "ed25519-sha256").start()]
        started += odks
        pf = postfix_with_opendkim(root, certs, [o.port for o in odks])
        pf.start()
        started.append(pf)
        lg = bench.build_loadgen(root)
        log("auth bench: %s, quick=%s, runs=%d, %.1f s each; folder %s"
            % (MAILPORT, QUICK, RUNS, SECONDS, root))

        ab, checks = {}, {}
        if ONLY != "c":  # BENCH_ONLY=c: the inbound checks alone
            log("== (a) and (b): submission with and without DKIM, and Postfix + OpenDKIM")
            ab = compare(lg, [
                ("mailport unsigned", unsigned.sub_port, unsigned.settle, {}),
                ("mailport signed", signed.sub_port, signed.settle, {}),
                ("postfix+opendkim", pf.ports["submission"], lambda: settle_postfix(pf), {}),
            ], certs.ca)
            checks = {"mailport unsigned": signatures(unsigned.first_message()),
                      "mailport signed": signatures(signed.first_message()),
                      "postfix+opendkim": signatures(first_in(
                          os.path.join(pf.mail_base, DOMAIN, "to", "new")))}
            pf.stop()
            for o in odks:
                o.stop()

        log("== (c): the smtp door, verifying vs plain accept")
        base = baseline_binary(root)
        c_note = ""
        if base is None:
            base, c_note = MAILPORT, " (quick: baseline = this binary, harness check only)"
            log("  no BENCH_BASELINE: comparing the binary with itself")
        # Two fresh servers, in folders made now: one that took (a)'s mail would
        # create its files among thousands just deleted, which ext4 makes slow
        # (bench.py, KEEP_MAIL), and the comparison would measure that.
        for srv in (unsigned, signed):
            srv.stop()
        verifier = Server(root, certs, "mp-verifying", extra=resolver).start()
        plain = Server(root, certs, "mp-plain-accept", binary=base, extra=resolver).start()
        started += [verifier, plain]
        kw = {"plain": True, "message": message, "sender": SENDER}
        c_res = compare(lg, [("mailport verifying", verifier.port, verifier.settle, kw),
                             ("plain accept", plain.port, plain.settle, kw)], certs.ca)
        checks["mailport verifying"] = any_verified(verifier.maildir_new)
        text = report(ab, c_res, checks, c_note)
        text += "\n(total %.0f s)\n" % (time.monotonic() - t0)
        log(text)
        with open(os.path.join(HERE, "last-auth-run.md"), "w") as f:
            f.write(text)
    except RuntimeError as e:
        log("auth bench failed: %s" % e)
        for s in started:
            if isinstance(s, (Server, OpenDKIM)):
                log("--- %s log:\n%s" % (getattr(s, "name", "opendkim"),
                                         read_text(getattr(s, "log_file", None)
                                                   or getattr(s, "log"))[-1500:]))
            elif isinstance(s, PostfixPeer):
                log("--- postfix log:\n%s" % read_text(s.log_file)[-2500:])
        sys.exit(1)
    finally:
        for s in reversed(started):
            try:
                s.stop()
            except Exception as e:  # noqa: BLE001
                log("cleanup: %r" % e)
        shutil.rmtree(root, ignore_errors=True)


def any_verified(folder, limit=50):
    """Whether some message from SENDER in the folder (the first limit) was verified."""
    try:
        names = sorted(os.listdir(folder))[:2000]
    except FileNotFoundError:
        return False
    seen = 0
    for n in names:
        with open(os.path.join(folder, n), "rb") as f:
            head = f.read(16384).replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode(
                errors="replace")
        if SENDER in head:
            seen += 1
            if verified(head):
                return True
            if seen >= limit:
                break
    return False


if __name__ == "__main__":
    main()
