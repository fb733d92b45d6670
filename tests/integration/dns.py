"""A real DNS server for the tests: dnsmasq on 127.0.0.1, a free port.

`Dnsmasq` serves only what a test gives it, never forwards (--no-resolv), and
answers NXDOMAIN for every other name under the served zones (--local):

    dns = make_dns(mx={"a.test": [(10, "mx1.a.test"), (20, "mx2.a.test")]},
                   hosts={"mx1.a.test": ["127.0.25.1"], "mx2.a.test": ["127.0.25.2"]},
                   null_mx=["nullmx.test"])
    srv = make_server(extra=[dns.resolver_line(), ...])

`hosts` values are lists of IPv4/IPv6 addresses (A/AAAA records). A null MX
(RFC 7505, "MX 0 .") is dnsmasq's --mx-host=DOMAIN,.,0 (checked by
test_dnsmasq_null_mx_answer in test_outbound.py). A name with no MX but an A
record is an implicit MX (RFC 5321 5.1).

`txt` maps a name to its TXT records: each a str (split into strings of 255
octets, RFC 1035 3.3.14, as a zone file must) or a list of the record's
strings as they are. `ptr` maps an address (or a reverse name) to the name
its PTR record gives; the reverse zones then answer NXDOMAIN for the rest.
dnsmasq gives each `hosts` address a PTR record too (to the name, unless
`ptr` names another); `a_only` maps names to IPv4 addresses without one:

    dns = make_dns(txt={"a.test": ["v=spf1 ip4:127.0.25.1 -all"]},
                   ptr={"127.0.25.1": "mx1.a.test"})

`query(name, qtype)` is a minimal stdlib DNS client over UDP, used to check
that the server answers and what it answers. `parse_record(line)` reads a
zone-file line as `mailport probe --domain-check` and `dkim keygen` print
them, and `publish(dns, lines)` serves such lines from then on (dnsmasq
restarted on its port), as a person would publish a printed fix.
"""

import os
import random
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import free_port, read_text, stop_process

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


# ---------------------------------------------------------------- a tiny DNS client


def _name(data, off):
    """Reads a (possibly compressed) name at off; returns (name, offset after it)."""
    labels, end, jumps = [], None, 0
    while True:
        n = data[off]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | data[off + 1]
            jumps += 1
            if jumps > 20:
                raise ValueError("compression loop")
            continue
        off += 1
        if n == 0:
            return ".".join(labels) or ".", (end if end is not None else off)
        labels.append(data[off:off + n].decode("ascii", errors="replace"))
        off += n


def exchange(name, qtype, port, server="127.0.0.1", timeout=2.0, ad=False):
    """One UDP query of type qtype (a QTYPES name, or a number); returns
    (header flags, the answer packet, [(rtype, rdata offset, rdlength)] of
    the answer section). ad: set AD in the query (RFC 6840 5.7) with an EDNS0
    OPT record and no DO bit, to learn whether a validating resolver
    authenticated the answer."""
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0120 if ad else 0x0100, 1, 0, 0, 1 if ad else 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", QTYPES.get(qtype, qtype), 1)
    if ad:
        q += b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, (server, port))
        while True:
            data, _ = s.recvfrom(65535)
            if struct.unpack(">H", data[:2])[0] == qid:
                break
    _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", data[:12])
    off = 12
    for _ in range(qd):
        _, off = _name(data, off)
        off += 4
    records = []
    for _ in range(an):
        _, off = _name(data, off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", data[off:off + 10])
        off += 10
        records.append((rtype, off, rdlen))
        off += rdlen
    return flags, data, records


def query(name, qtype="A", port=53, server="127.0.0.1", timeout=2.0):
    """One UDP query; returns (rcode name, [(type name, value)]) for the answer
    section: A/AAAA -> address str, MX -> (preference, exchange), PTR -> name,
    TXT -> the record's strings as a list of bytes, else raw bytes."""
    flags, data, records = exchange(name, qtype, port, server, timeout)
    answers = []
    names = {v: k for k, v in QTYPES.items()}
    for rtype, off, rdlen in records:
        rdata = data[off:off + rdlen]
        if rtype == 1:
            value = socket.inet_ntop(socket.AF_INET, rdata)
        elif rtype == 28:
            value = socket.inet_ntop(socket.AF_INET6, rdata)
        elif rtype == 15:
            value = (struct.unpack(">H", rdata[:2])[0], _name(data, off + 2)[0])
        elif rtype == 12:
            value = _name(data, off)[0]
        elif rtype == 16:
            value, i = [], 0
            while i < len(rdata):
                value.append(rdata[i + 1:i + 1 + rdata[i]])
                i += 1 + rdata[i]
        else:
            value = rdata
        answers.append((names.get(rtype, str(rtype)), value))
    return RCODES.get(flags & 0xF, str(flags & 0xF)), answers


# ---------------------------------------------------------------- zone-file lines


ZONE_LINE = re.compile(r'^(\S+)\. IN (TXT|PTR|MX) (.*)$')


def parse_record(line):
    """A printed record line -> (name, type, value): TXT -> its strings (each
    at most 255 octets), PTR -> the target, MX -> (pref, host)."""
    m = ZONE_LINE.match(line)
    assert m, "not a zone-file record line: %r" % line
    name, rtype, rest = m.groups()
    if rtype == "TXT":
        assert rest.startswith("( ") and rest.endswith(" )"), line
        rest = rest[2:-2]
        strings = re.findall(r'"((?:[^"\\]|\\.)*)"', rest)
        assert strings and " ".join('"%s"' % s for s in strings) == rest, line
        strings = [re.sub(r'\\(.)', r'\1', s) for s in strings]
        assert all(len(s.encode()) <= 255 for s in strings), line
        return name, rtype, strings
    if rtype == "PTR":
        assert rest.endswith("."), line
        return name, rtype, rest[:-1]
    pref, host = rest.split()
    return name, rtype, (int(pref), host.rstrip("."))


def publish(dns, lines):
    """Publishes printed records as they are: a TXT record replaces those at its
    name of the same kind (the same v= tag; every record at a DKIM key's name),
    a PTR or MX record replaces the name's. Restarts dnsmasq."""
    txt = {k: list(v) for k, v in dns.txt.items()}
    ptr, mx = dict(dns.ptr), {k: list(v) for k, v in dns.mx.items()}
    for line in lines:
        name, rtype, value = parse_record(line)
        if rtype == "TXT":
            tag = "".join(value).split(";")[0].split(" ")[0].lower()
            keep = [r for r in txt.get(name, [])
                    if "._domainkey." not in name
                    and ("".join(r) if isinstance(r, list) else r).split(";")[0]
                    .split(" ")[0].lower() != tag]
            txt[name] = keep + [value]
        elif rtype == "PTR":
            ptr[name] = value
        else:
            mx[name] = [value]
    dns.restart(txt=txt, ptr=ptr, mx=mx)


# ---------------------------------------------------------------- dnsmasq


def _udp_free(port, host="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def reverse_name(addr):
    """The PTR name of an address: 1.25.0.127.in-addr.arpa, or ip6.arpa nibbles."""
    import ipaddress
    return ipaddress.ip_address(addr).reverse_pointer


def txt_strings(record):
    """A TXT record as its character-strings: a str is cut every 255 octets."""
    if isinstance(record, (list, tuple)):
        return [r if isinstance(r, bytes) else r.encode() for r in record]
    b = record.encode()
    return [b[i:i + 255] for i in range(0, len(b), 255)] or [b""]


def _txt_line(name, record):
    """txt-record=NAME,"s1","s2" for dnsmasq's config file (its command line
    keeps quotes and splits at commas): each string quoted, '"' and '\\'
    escaped."""
    parts = []
    for s in txt_strings(record):
        text = s.decode()
        parts.append('"%s"' % text.replace("\\", "\\\\").replace('"', '\\"'))
    return "txt-record=%s,%s\n" % (name, ",".join(parts))


class Dnsmasq:
    """One dnsmasq process. mx: {domain: [(pref, host), ...]}; hosts: {name:
    [ip, ...]}; null_mx: [domain, ...]; txt: {name: [record, ...]}; ptr:
    {address: name}; zones: suffixes answered locally (NXDOMAIN for unknown
    names; default: "test", and the reverse zones when ptr is given)."""

    def __init__(self, root, *, mx=None, hosts=None, null_mx=(), txt=None, ptr=None,
                 a_only=None, zones=None, log_queries=True):
        if not os.access(DNSMASQ, os.X_OK):
            pytest.skip("dnsmasq is not installed (scripts/deps.sh --test installs dnsmasq-base)")
        self.dir = tempfile.mkdtemp(prefix="dnsmasq-", dir=root)
        os.chmod(self.dir, 0o755)
        self.mx = {d: list(v) for d, v in (mx or {}).items()}
        self.hosts = {n: list(v) for n, v in (hosts or {}).items()}
        self.null_mx = list(null_mx)
        self.txt = {n: list(v) for n, v in (txt or {}).items()}
        self.ptr = dict(ptr or {})
        self.a_only = {n: list(v) for n, v in (a_only or {}).items()}
        self.log_queries = log_queries   # off for benchmarks: a log line per query costs
        self.zones = (list(zones) if zones is not None
                      else ["test"] + (["in-addr.arpa", "ip6.arpa"] if ptr or a_only else []))
        self.port = None
        self.proc = None
        self.log = os.path.join(self.dir, "dnsmasq.log")
        self.pid_file = os.path.join(self.dir, "dnsmasq.pid")

    def args(self):
        a = [DNSMASQ, "--keep-in-foreground", "--no-resolv", "--no-hosts",
             "--port=%d" % self.port, "--listen-address=127.0.0.1", "--bind-interfaces",
             "--conf-file=%s" % self._conf_file(), "--pid-file=%s" % self.pid_file,
             "--no-negcache", "--log-facility=-", "--user=root", "--group=root"]
        if self.log_queries:
            a.append("--log-queries")
        for z in self.zones:
            a.append("--local=/%s/" % z)
        for domain, mxs in self.mx.items():
            for pref, host in mxs:
                a.append("--mx-host=%s,%s,%d" % (domain, host, pref))
        for domain in self.null_mx:
            a.append("--mx-host=%s,.,0" % domain)
        for name, ips in self.hosts.items():
            # one --host-record per address, so any mix of A and AAAA works
            for ip in ips:
                a.append("--host-record=%s,%s" % (name, ip))
        for name, ips in self.a_only.items():
            # --address answers A for the name (and names under it), and makes no PTR
            for ip in ips:
                a.append("--address=/%s/%s" % (name, ip))
        for addr, target in self.ptr.items():
            rev = addr if addr.endswith(".arpa") else reverse_name(addr)
            a.append("--ptr-record=%s,%s" % (rev, target))
        return a

    def restart(self, **changes):
        """Stops, takes new records (mx=, hosts=, txt=, ptr=, null_mx=: each
        replaces that kind whole), starts again on the same port."""
        self.stop()
        for k, v in changes.items():
            if k not in ("mx", "hosts", "txt", "ptr", "null_mx", "a_only"):
                raise TypeError(k)
            setattr(self, k, dict(v) if isinstance(v, dict) else list(v))
        return self.start(port=self.port)

    def _conf_file(self):
        """The TXT records, in a config file (see _txt_line); empty without."""
        path = os.path.join(self.dir, "dnsmasq.conf")
        with open(path, "w") as f:
            for name, records in self.txt.items():
                for record in records:
                    f.write(_txt_line(name, record))
        return path

    def resolver_line(self):
        return "resolver 127.0.0.1:%d" % self.port

    def start(self, timeout=10.0, port=None):
        for _ in range(20 if port is None else 0):
            port = free_port()
            if _udp_free(port):
                break
        self.port = port
        with open(self.log, "ab") as lf:
            self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL,
                                         stdout=lf, stderr=lf, cwd=self.dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("dnsmasq exited with %s:\n%s"
                                     % (self.proc.returncode, self.log_text()[-3000:]))
            try:
                rcode, _ = query("ready-check.test", "A", port=self.port, timeout=0.3)
                if rcode in ("NXDOMAIN", "NOERROR"):
                    return self
            except (OSError, socket.timeout):
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError("dnsmasq not answering after %.0f s:\n%s"
                             % (timeout, self.log_text()[-3000:]))

    def query(self, name, qtype="A"):
        return query(name, qtype, port=self.port)

    def log_text(self):
        return read_text(self.log)

    def stop(self):
        stop_process(self.proc)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def make_dns(workroot):
    """Factory: make_dns(mx=..., hosts=..., null_mx=...) -> a started Dnsmasq,
    stopped after the test."""
    made = []

    def factory(**kw):
        d = Dnsmasq(workroot, **kw)
        made.append(d)
        return d.start()

    yield factory
    for d in made:
        d.cleanup()


class ServfailServer:
    """A UDP DNS server on 127.0.0.1 that answers SERVFAIL to every query (a
    broken resolver: outbound delivery must retry, not bounce)."""

    def __init__(self):
        import threading
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _conf_file(self):
        """The TXT records, in a config file (see _txt_line); empty without."""
        path = os.path.join(self.dir, "dnsmasq.conf")
        with open(path, "w") as f:
            for name, records in self.txt.items():
                for record in records:
                    f.write(_txt_line(name, record))
        return path

    def resolver_line(self):
        return "resolver 127.0.0.1:%d" % self.port

    def _run(self):
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) < 12:
                continue
            qid, flags, qd = struct.unpack(">HHH", data[:6])
            end = 12
            if qd:
                _, end = _name(data, 12)
                end += 4
            reply = struct.pack(">HHHHHH", qid, 0x8000 | (flags & 0x0100) | 0x0080 | 2,
                                1 if qd else 0, 0, 0, 0) + data[12:end]
            self.queries += 1
            try:
                self.sock.sendto(reply, peer)
            except OSError:
                pass

    def stop(self):
        self._stop = True
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def servfail_dns():
    s = ServfailServer()
    yield s
    s.stop()
