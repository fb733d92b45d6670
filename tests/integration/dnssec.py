"""DNSSEC for the tests, with real parts: NSD serves zones on a loopback
port, some signed with ldns-signzone (ECDSA P-256 keys from ldns-keygen),
and a validating Unbound on another port resolves through them with the
signed zones' KSKs as trust anchors, so its AD bit and its SERVFAIL for
bogus data are the real thing:

    dns = make_dnssec(signed={"dane.test": ["ee.dane.test. MX 10 mx-ee.dane.test.",
                                            "mx-ee.dane.test. A 127.0.25.7",
                                            "_25._tcp.mx-ee.dane.test. TLSA 3 1 1 ab12..."]},
                      unsigned={"plain.test": ["plain.test. MX 10 mx.plain.test.", ...]},
                      bogus=["_25._tcp.mx-bogus.dane.test. TLSA"])
    srv = make_server(extra=[dns.resolver_line(), ...])
    rcode, ad, answers = dns.query("ee.dane.test", "MX")

Records are zone-file lines with absolute names (class IN implied, TTL 5).
Each zone gets its SOA, NS and the name server's A record. `bogus` names
"OWNER TYPE" RRsets whose data is changed after signing: their signatures
no longer verify, and Unbound answers SERVFAIL for exactly those (the rest
of the zone stays secure). An unsigned zone has no trust anchor: Unbound
answers it without AD (DNSSEC "insecure").

`tlsa(cert_pem, usage, selector, mtype)` makes a TLSA record's data for a
certificate; `leaf_certs(certs, name)` issues a leaf for a host name from
the session's test intermediate CA, in the shape Receiver takes.
"""

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import free_port, read_text, stop_process
from dns import exchange

NSD = shutil.which("nsd") or "/usr/sbin/nsd"
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
KEYGEN = shutil.which("ldns-keygen") or "/usr/bin/ldns-keygen"
SIGNZONE = shutil.which("ldns-signzone") or "/usr/bin/ldns-signzone"
QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "TLSA": 52}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def have_tools():
    return all(os.access(p, os.X_OK) for p in (NSD, UNBOUND, KEYGEN, SIGNZONE))


def _run(args, cwd):
    p = subprocess.run(args, cwd=cwd, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("%s: %s" % (" ".join(args), (p.stderr or p.stdout).decode()))
    return p.stdout.decode()


# ---------------------------------------------------------------- TLSA data and leaves


def _der(cert_pem, selector):
    """Selector 0: the certificate's DER; 1: its SubjectPublicKeyInfo's DER."""
    if selector == 0:
        return subprocess.run(["openssl", "x509", "-in", cert_pem, "-outform", "DER"],
                              capture_output=True, check=True, timeout=30).stdout
    pub = subprocess.run(["openssl", "x509", "-in", cert_pem, "-pubkey", "-noout"],
                         capture_output=True, check=True, timeout=30).stdout
    return subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                          capture_output=True, check=True, timeout=30).stdout


def tlsa(cert_pem, usage=3, selector=1, mtype=1):
    """The TLSA RDATA text "U S M HEX" for a certificate (RFC 6698 2.1)."""
    data = _der(cert_pem, selector)
    if mtype == 1:
        data = hashlib.sha256(data).digest()
    elif mtype == 2:
        data = hashlib.sha512(data).digest()
    return "%d %d %d %s" % (usage, selector, mtype, data.hex())


class Leaf:
    """A leaf certificate for one host name, in the attributes Receiver reads."""

    def __init__(self, d, name):
        self.name = name
        self.key_a = os.path.join(d, "%s.key" % name)
        self.leaf_a = os.path.join(d, "%s.pem" % name)
        self.chain_a = os.path.join(d, "%s.chain.pem" % name)


def leaf_certs(certs, name, days=30, dns_names=None):
    """A leaf for name (subjectAltName DNS:name, or dns_names) issued by the
    session's intermediate CA; chain_a holds leaf + intermediate. days < 0
    makes one that expired."""
    d = certs.dir
    leaf = Leaf(d, name)
    ext = os.path.join(d, "%s.ext" % name)
    sans = ",".join("DNS:%s" % n for n in (dns_names or [name]))
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=%s\n" % sans)
    _run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
          "-keyout", leaf.key_a, "-out", leaf.leaf_a + ".csr", "-subj", "/CN=%s" % name], d)
    args = ["openssl", "x509", "-req", "-in", leaf.leaf_a + ".csr", "-CA", "int.pem",
            "-CAkey", "int.key", "-CAcreateserial", "-out", leaf.leaf_a, "-extfile", ext]
    if days >= 0:
        args += ["-days", str(days)]
    else:
        # An expired certificate: valid from 40 days ago for (40 + days) days.
        args += ["-not_before", time.strftime("%Y%m%d%H%M%SZ",
                                              time.gmtime(time.time() - 40 * 86400)),
                 "-not_after", time.strftime("%Y%m%d%H%M%SZ",
                                             time.gmtime(time.time() + days * 86400))]
    _run(args, d)
    with open(leaf.chain_a, "w") as f:
        f.write(open(leaf.leaf_a).read())
        f.write(open(os.path.join(d, "int.pem")).read())
    for p in (leaf.key_a, leaf.leaf_a, leaf.chain_a):
        os.chmod(p, 0o644)
    return leaf


# ---------------------------------------------------------------- a DNS client with AD


def query(name, qtype, port, server="127.0.0.1", timeout=3.0):
    """One UDP query with AD set (RFC 6840 5.7) and EDNS0; returns (rcode
    name, AD bit, [(type name, rdata bytes)]) for the answer section."""
    flags, data, records = exchange(name, QTYPES[qtype], port, server, timeout, ad=True)
    names = {v: k for k, v in QTYPES.items()}
    answers = [(names.get(t, str(t)), data[off:off + n]) for t, off, n in records]
    return RCODES.get(flags & 0xF, str(flags & 0xF)), bool(flags & 0x20), answers


# ---------------------------------------------------------------- NSD + Unbound


def _free_udp_tcp_port():
    """A port free on 127.0.0.1 for TCP (free_port) and for UDP: DNS needs both."""
    for _ in range(20):
        port = free_port()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
    raise RuntimeError("no port free for both TCP and UDP")


class DnssecDns:
    def __init__(self, root, signed=None, unsigned=None, bogus=()):
        if not have_tools():
            pytest.skip("nsd, unbound and ldnsutils are needed (scripts/deps.sh --test)")
        self.dir = tempfile.mkdtemp(prefix="dnssec-", dir=root)
        os.chmod(self.dir, 0o755)
        self.signed = {z: list(r) for z, r in (signed or {}).items()}
        self.unsigned = {z: list(r) for z, r in (unsigned or {}).items()}
        self.bogus = list(bogus)
        self.nsd = self.unbound = None
        self.nsd_port = self.port = None
        self.anchors = []

    # -- zones

    def _zone_text(self, zone, records):
        lines = ["$TTL 5",
                 "%s. IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 5" % (zone, zone, zone),
                 "%s. IN NS ns.%s." % (zone, zone),
                 "ns.%s. IN A 127.0.0.1" % zone]
        for r in records:
            owner, rest = r.split(None, 1)
            lines.append("%s IN %s" % (owner, rest))
        return "\n".join(lines) + "\n"

    def _sign(self, zone, path):
        d = self.dir
        zsk = _run([KEYGEN, "-a", "ECDSAP256SHA256", zone], d).strip()
        ksk = _run([KEYGEN, "-a", "ECDSAP256SHA256", "-k", zone], d).strip()
        _run([SIGNZONE, "-o", zone, path, zsk, ksk], d)
        self.anchors.append(os.path.join(d, ksk + ".key"))
        signed = path + ".signed"
        if self.bogus:
            self._break(zone, signed)
        return signed

    def _break(self, zone, signed):
        """Change the data of the bogus RRsets after signing: the RRSIGs stay."""
        out = []
        for line in open(signed).read().splitlines():
            f = line.split()
            for spec in self.bogus:
                owner, rtype = spec.split()
                if (len(f) > 4 and f[0] == owner and f[3] == rtype and rtype != "RRSIG"
                        and owner.endswith(zone + ".")):
                    last = f[-1]
                    flip = "0" if last[-1] != "0" else "1"
                    line = line[:len(line) - 1] + flip
            out.append(line)
        with open(signed, "w") as fh:
            fh.write("\n".join(out) + "\n")

    def _write_nsd(self):
        d = self.dir
        conf = ["server:", "  ip-address: 127.0.0.1@%d" % self.nsd_port, "  do-ip6: no",
                '  username: ""', '  chroot: ""', "  zonesdir: %s" % d, '  database: ""',
                "  zonelistfile: %s/zone.list" % d, "  xfrdfile: %s/xfrd.state" % d,
                "  pidfile: %s/nsd.pid" % d, "  logfile: %s/nsd.log" % d,
                "  server-count: 1", "  verbosity: 1",
                "remote-control:", "  control-enable: no"]
        for zone, records in list(self.signed.items()) + list(self.unsigned.items()):
            path = os.path.join(d, zone + ".zone")
            with open(path, "w") as f:
                f.write(self._zone_text(zone, records))
            zonefile = self._sign(zone, path) if zone in self.signed else path
            conf += ["zone:", "  name: %s" % zone, "  zonefile: %s" % zonefile]
        path = os.path.join(d, "nsd.conf")
        with open(path, "w") as f:
            f.write("\n".join(conf) + "\n")
        return path

    def _write_unbound(self):
        d = self.dir
        conf = ["server:", "  interface: 127.0.0.1@%d" % self.port, "  port: %d" % self.port,
                "  do-ip6: no", "  do-daemonize: no", '  username: ""', '  chroot: ""',
                "  directory: %s" % d, "  pidfile: %s/unbound.pid" % d,
                "  logfile: %s/unbound.log" % d, "  use-syslog: no", "  verbosity: 1",
                "  val-log-level: 2", "  num-threads: 1", "  so-reuseport: no",
                "  access-control: 127.0.0.0/8 allow", "  do-not-query-localhost: no",
                '  module-config: "validator iterator"', "  qname-minimisation: no",
                # test. is one of Unbound's built-in local zones (RFC 6761)
                '  local-zone: "test." nodefault',
                # no cache beyond the zones' own 5 s, so a test sees its own data
                "  cache-max-ttl: 5", "  cache-max-negative-ttl: 1",
                "  val-bogus-ttl: 1"]
        for a in self.anchors:
            conf.append("  trust-anchor-file: %s" % a)
        conf += ["remote-control:", "  control-enable: no"]
        for zone in list(self.signed) + list(self.unsigned):
            conf += ["stub-zone:", '  name: "%s"' % zone,
                     "  stub-addr: 127.0.0.1@%d" % self.nsd_port]
        path = os.path.join(d, "unbound.conf")
        with open(path, "w") as f:
            f.write("\n".join(conf) + "\n")
        return path

    # -- processes

    def start(self, timeout=15.0):
        self.nsd_port, self.port = _free_udp_tcp_port(), _free_udp_tcp_port()
        nsd_conf = self._write_nsd()
        ub_conf = self._write_unbound()
        self.nsd = subprocess.Popen([NSD, "-d", "-c", nsd_conf], cwd=self.dir,
                                    stdin=subprocess.DEVNULL,
                                    stdout=open(os.path.join(self.dir, "nsd.out"), "ab"),
                                    stderr=subprocess.STDOUT)
        self.unbound = subprocess.Popen([UNBOUND, "-d", "-c", ub_conf], cwd=self.dir,
                                        stdin=subprocess.DEVNULL,
                                        stdout=open(os.path.join(self.dir, "unbound.out"), "ab"),
                                        stderr=subprocess.STDOUT)
        zone = next(iter(list(self.signed) + list(self.unsigned)))
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for p, what in ((self.nsd, "nsd"), (self.unbound, "unbound")):
                if p.poll() is not None:
                    raise AssertionError("%s exited with %s:\n%s" % (what, p.returncode,
                                                                     self.logs()))
            try:
                last = query(zone, "SOA", self.port, timeout=0.5)
                if last[0] == "NOERROR":
                    return self
            except (OSError, socket.timeout) as e:
                last = e
            time.sleep(0.05)
        self.stop()
        raise AssertionError("the DNSSEC resolver is not answering (%r):\n%s"
                             % (last, self.logs()))

    def resolver_line(self):
        return "resolver 127.0.0.1:%d" % self.port

    def query(self, name, qtype="A"):
        return query(name, qtype, self.port)

    def logs(self):
        return "".join("--- %s\n%s" % (n, read_text(os.path.join(self.dir, n))[-3000:])
                       for n in ("nsd.out", "nsd.log", "unbound.out", "unbound.log"))

    def stop(self):
        stop_process(self.unbound)
        stop_process(self.nsd)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def make_dnssec(workroot):
    """Factory: make_dnssec(signed=..., unsigned=..., bogus=...) -> a started
    DnssecDns (NSD + validating Unbound), stopped after the test."""
    made = []

    def factory(**kw):
        d = DnssecDns(workroot, **kw)
        made.append(d)
        return d.start()

    yield factory
    for d in made:
        d.cleanup()
