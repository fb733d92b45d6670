"""A DNS server on loopback that serves a zone given as Python data.

For test suites that describe their DNS as data (the openspf RFC 7208 suite's
`zonedata`): answers A, AAAA, MX, TXT, PTR, SPF and CNAME over UDP and TCP
(c-ares asks again over TCP when a UDP answer is truncated), NXDOMAIN for
names it does not know, NODATA for known names without the type, and
SERVFAIL where the data says the lookup times out (a temporary error, the
same to the checks as a real timeout, without the wait).

    zone = {"example.com": [("TXT", ["v=spf1 ", "-all"]), ("A", "192.0.2.1")],
            "slow.example.com": ["TIMEOUT"]}
    with ZoneServer(zone) as dns:
        resolver = dns.address        # "127.0.0.1:PORT"
"""

import socket
import socketserver
import struct
import threading

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SPF": 99}


def _encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if not label:
            continue
        raw = label.encode("utf-8", "surrogateescape")[:63]
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def _decode_question(data):
    labels, off = [], 12
    while off < len(data):
        n = data[off]
        off += 1
        if n == 0:
            break
        labels.append(data[off:off + n].decode("utf-8", "surrogateescape"))
        off += n
    qtype, _qclass = struct.unpack("!HH", data[off:off + 4])
    return ".".join(labels), qtype, data[12:off + 4]


def _rdata(rtype, value):
    if rtype == "A":
        return socket.inet_pton(socket.AF_INET, value)
    if rtype == "AAAA":
        return socket.inet_pton(socket.AF_INET6, value)
    if rtype in ("CNAME", "PTR", "NS"):
        return _encode_name(value)
    if rtype == "MX":
        pref, host = value
        return struct.pack("!H", int(pref)) + _encode_name(host)
    if rtype in ("TXT", "SPF"):
        strings = [value] if isinstance(value, str) else list(value)
        out = b""
        for s in strings:
            raw = s.encode("utf-8")
            while True:  # a string over 255 octets goes as several
                out += bytes([min(len(raw), 255)]) + raw[:255]
                raw = raw[255:]
                if not raw:
                    break
        return out
    raise ValueError("type %s" % rtype)


class Zone:
    """Names (any case) -> list of (TYPE, value) or "TIMEOUT"."""

    def __init__(self, data):
        self.data = {k.lower().rstrip("."): v for k, v in data.items()}

    def answer(self, query):
        try:
            name, qtype, question = _decode_question(query)
        except (struct.error, IndexError):
            return None
        head = bytearray(query[:12])
        head[2] = 0x84 | (query[2] & 0x01)  # QR, AA, RD as asked
        rcode, records = self._lookup(name, qtype, 0)
        head[3] = rcode
        body = b""
        for rname, rtype, value in records:
            rd = _rdata(rtype, value)
            body += _encode_name(rname) + struct.pack("!HHIH", TYPES[rtype], 1, 60, len(rd)) + rd
        return bytes(head[:4]) + struct.pack("!HHHH", 1, len(records), 0, 0) + question + body

    def _lookup(self, name, qtype, depth):
        entries = self.data.get(name.lower().rstrip("."))
        if entries is None:
            return 3, []  # NXDOMAIN
        found, timeout = [], False
        for e in entries:
            if e == "TIMEOUT":
                timeout = timeout or not found
                continue
            rtype, value = e
            if TYPES.get(rtype) == qtype or (rtype == "CNAME" and qtype != 5):
                found.append((name, rtype, value))
        if not found and timeout:
            return 2, []  # SERVFAIL
        if found and found[0][1] == "CNAME" and depth < 8:
            rcode, more = self._lookup(found[0][2], qtype, depth + 1)
            return rcode, found[:1] + more
        return 0, found


class _UDP(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        reply = self.server.zone.answer(data)
        if reply is None:
            return
        if len(reply) > 512:  # truncated: the client asks again over TCP
            reply = bytearray(data[:12]) + data[12:]
            reply[2] |= 0x82
            reply = bytes(reply)
        sock.sendto(reply, self.client_address)


class _TCP(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(5)
        try:
            while True:
                head = self.request.recv(2)
                if len(head) < 2:
                    return
                (n,) = struct.unpack("!H", head)
                data = b""
                while len(data) < n:
                    chunk = self.request.recv(n - len(data))
                    if not chunk:
                        return
                    data += chunk
                reply = self.server.zone.answer(data)
                if reply is None:
                    return
                self.request.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return


class ZoneServer:
    def __init__(self, data):
        zone = Zone(data)
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        for attempt in range(20):  # the UDP port's TCP twin may be taken
            self.udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), _UDP)
            port = self.udp.server_address[1]
            try:
                self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", port), _TCP)
                break
            except OSError:
                self.udp.server_close()
                if attempt == 19:
                    raise
        for s in (self.udp, self.tcp):
            s.zone = zone
            s.daemon_threads = True
        self.address = "127.0.0.1:%d" % port
        self.threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1},
                                         daemon=True) for s in (self.udp, self.tcp)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        for s in (self.udp, self.tcp):
            s.shutdown()
            s.server_close()
