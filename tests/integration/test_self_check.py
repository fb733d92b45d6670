"""`mailport serve --check` (issue 17): the start-up self-check.

A blocked port 25 is stood in for by a listener that never accepts (its
backlog is full, so the kernel drops further SYNs and a connect times out),
the MX of the probe domain served by dnsmasq on loopback.
"""

import os
import re
import socket
import subprocess

import pytest

from conftest import HOST, free_port
from dns import make_dns  # noqa: F401
from receivers import next_ip


def need_root():
    if os.geteuid() != 0:
        pytest.skip("listens on port 25 of 127.0.25.X: needs root")


def openssl(d, *args):
    p = subprocess.run(["openssl", *args], cwd=d, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()


def own_cert(srv, cn, days, ca=None):
    """A certificate for cn valid for days, in place of the test one: self-signed,
    or signed by the test suite's intermediate CA (ca: the Certs)."""
    if ca is None:
        openssl(srv.dir, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
                "-days", str(days), "-subj", "/CN=%s" % cn, "-addext",
                "subjectAltName=DNS:%s" % cn)
    else:
        with open(os.path.join(srv.dir, "san.ext"), "w") as f:
            f.write("subjectAltName=DNS:%s\n" % cn)
        openssl(srv.dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=%s" % cn)
        openssl(srv.dir, "x509", "-req", "-in", "leaf.csr", "-CA", os.path.join(ca.dir, "int.pem"),
                "-CAkey", os.path.join(ca.dir, "int.key"), "-CAcreateserial", "-out", "cert.pem",
                "-days", str(days), "-extfile", "san.ext")
    os.chmod(os.path.join(srv.dir, "key.pem"), 0o600)


def check(srv, *args, timeout=2):
    p = subprocess.run([srv.binary, "serve", "--check", "-c", srv.conf, "--timeout",
                        str(timeout), *args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


class Port25:
    """A listener on port 25 of a fresh 127.0.25.X: accepting, or never
    accepting (a full backlog: the stand-in for a provider's block)."""

    def __init__(self, blocked):
        self.ip = next_ip()
        self.sock = socket.socket()
        self.sock.bind((self.ip, 25))
        self.fillers = []
        if blocked:
            self.sock.listen(0)
            for _ in range(3):  # fill the accept queue; never accept
                f = socket.socket()
                f.setblocking(False)
                f.connect_ex((self.ip, 25))
                self.fillers.append(f)
        else:
            self.sock.listen(16)

    def close(self):
        for f in self.fillers:
            f.close()
        self.sock.close()


@pytest.fixture
def probe_dns(make_dns):  # noqa: F811
    """dnsmasq with two probe domains: ok.test's MX accepts on 25, blocked.test's never."""
    need_root()
    good, bad = Port25(False), Port25(True)
    dns = make_dns(mx={"ok.test": [(10, "mx.ok.test")], "blocked.test": [(10, "mx.blocked.test")]},
                   hosts={"mx.ok.test": [good.ip], "mx.blocked.test": [bad.ip]})
    yield dns
    good.close()
    bad.close()


def checked_server(make_server, dns, extra=()):
    srv = make_server(start=False, extra=[dns.resolver_line(), *extra])
    own_cert(srv, "mx.example.test", 90)
    os.chmod(os.path.join(srv.dir, "users"), 0o640)
    return srv


def test_all_well(make_server, probe_dns, certs):
    srv = checked_server(make_server, probe_dns)
    own_cert(srv, "mx.example.test", 90, ca=certs)
    rc, out = check(srv, "--probe-domain", "ok.test")
    assert rc == 0, out
    assert re.search(r"ok    certificate: \S+/cert.pem covers mx.example.test and is valid for "
                     r"(89|90) more days", out), out
    assert "ok    outbound port 25: mx.ok.test[" in out
    assert "ok    door 127.0.0.1:%d smtp: free" % srv.ports["smtp"] in out
    assert "FAIL" not in out and "warn" not in out and out.rstrip().endswith("all is well")
    # A self-signed certificate is a warning, not a failure.
    own_cert(srv, "mx.example.test", 90)
    rc, out = check(srv, "--probe-domain", "ok.test")
    assert rc == 0 and "warn  certificate: the TLS certificate is self-signed" in out, out
    assert out.rstrip().endswith("all is well (see the warnings above)")


def test_port25_blocked(make_server, probe_dns):
    srv = checked_server(make_server, probe_dns)
    rc, out = check(srv, "--probe-domain", "blocked.test", timeout=2)
    assert rc == 69, out
    assert "FAIL  outbound port 25: connections from this host to port 25" in out
    assert "no answer within the time" in out
    assert "relayhost smtp.your-provider.example:587" in out and "AWS" in out


def test_relay_host_checked_instead_of_port25(make_server, probe_dns):
    srv = checked_server(make_server, probe_dns,
                         extra=["relayhost 127.0.0.1:%d" % free_port()])
    rc, out = check(srv, "--probe-domain", "blocked.test")
    assert rc == 69, out
    assert "FAIL  relay host: the relay host does not answer" in out
    assert "outbound port 25" not in out  # a relay host makes port 25 moot
    live = socket.socket()
    live.bind((HOST, 0))
    live.listen(4)
    try:
        srv.extra[-1] = "relayhost 127.0.0.1:%d" % live.getsockname()[1]
        srv.write_config()
        rc, out = check(srv)
        assert rc == 0 and "ok    relay host: 127.0.0.1[127.0.0.1]:%d answers" % \
            live.getsockname()[1] in out, out
    finally:
        live.close()


def test_certificate_problems(make_server, probe_dns):
    srv = checked_server(make_server, probe_dns)
    own_cert(srv, "other.example.net", 5)
    rc, out = check(srv, "--probe-domain", "ok.test")
    assert rc == 78, out
    assert "FAIL  certificate: the TLS certificate does not cover this server's name " \
        "mx.example.test" in out
    assert re.search(r"FAIL  certificate: the TLS certificate expires in [45] days", out), out
    assert "certbot renew" in out
    # serve logs the same at start.
    srv.start()
    assert srv.wait_log(r"event=self_check check=\"certificate\" status=fail "
                        r"what=\"the TLS certificate expires in [45] days\"")


def test_secrets_doors_and_folders(make_server, probe_dns):
    srv = checked_server(make_server, probe_dns)
    os.chmod(os.path.join(srv.dir, "users"), 0o644)
    os.chmod(os.path.join(srv.dir, "key.pem"), 0o644)
    srv.start()  # its doors are now taken
    rc, out = check(srv, "--probe-domain", "ok.test")
    assert rc == 78, out
    assert "FAIL  users file is private: %s/users can be read by every account" % srv.dir in out
    assert "chmod o-r %s/users" % srv.dir in out
    assert "FAIL  TLS key is private: %s/key.pem can be read" % srv.dir in out
    assert "FAIL  door 127.0.0.1:%d submission: cannot listen on port %d: address already in " \
        "use (Address already in use; is this server already running?)" % (
            srv.ports["submission"], srv.ports["submission"]) in out
    assert "ss -ltnp 'sport = :%d'" % srv.ports["submission"] in out


def test_folder_the_run_user_cannot_reach(make_server, probe_dns, workroot):
    closed = os.path.join(workroot, "closed-%d" % os.getpid())
    os.makedirs(closed, mode=0o700, exist_ok=True)
    srv = checked_server(make_server, probe_dns)
    with open(srv.conf) as f:
        text = f.read().replace("\nspool spool\n", "\nspool %s/spool\n" % closed)
    with open(srv.conf, "w") as f:
        f.write(text)
    rc, out = check(srv, "--probe-domain", "ok.test")
    assert rc == 78, out
    assert "FAIL  folders: the account mailport cannot use them" in out
    assert closed in out


def test_check_options_need_check(make_server):
    srv = make_server(start=False)
    p = subprocess.run([srv.binary, "serve", "-c", srv.conf, "--timeout", "3"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 64 and "go with --check" in p.stderr


def test_aliases_and_srs_secret(make_server, probe_dns):
    """The aliases file must parse (each bad line named) and should be private;
    the SRS secret must be."""
    srv = checked_server(make_server, probe_dns, extra=["aliases aliases", "srs-secret srs.secret"])
    aliases = os.path.join(srv.dir, "aliases")
    with open(aliases, "w") as f:
        f.write("info@example.test: alice@example.test\nbroken line without a colon\n")
    os.chmod(aliases, 0o640)
    secret = os.path.join(srv.dir, "srs.secret")
    with open(secret, "w") as f:
        f.write("a-secret-of-more-than-sixteen-characters\n")
    os.chmod(secret, 0o644)
    rc, out = check(srv, "--probe-domain", "ok.test")
    assert rc == 78, out
    assert re.search(r"FAIL  aliases file: the aliases file has lines mailport cannot use \(.*"
                     r"aliases:2: ", out), out
    assert "FAIL  SRS secret is private: %s can be read by every account" % secret in out
    with open(aliases, "w") as f:
        f.write("info@example.test: alice@example.test\n")
    os.chmod(aliases, 0o644)
    os.chmod(secret, 0o600)
    rc, out = check(srv, "--probe-domain", "ok.test")
    assert rc == 0, out
    assert "ok    aliases file: %s: 1 aliases" % aliases in out
    assert "warn  aliases file is private: %s can be read by every account" % aliases in out
    assert "ok    SRS secret is private: %s" % secret in out
