"""PROXY protocol (issue 16): `listen ... proxy` takes the client's address
from a v1 or v2 header; a listener without it never trusts one.

First with headers written by the test (byte for byte as HAProxy's
proxy-protocol.txt specifies), then with a real HAProxy in front of two
mailport nodes: connections spread over both, each node logs the true
client, and a node stopped mid-run loses no acknowledged mail while HAProxy
sends the new sessions to the other.
"""

import os
import re
import shutil
import smtplib
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import HOST, free_port, poll, read_text, stop_process

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
CLIENT = "127.0.0.77"  # the test's client address, distinct from HAProxy's


def v1(src, sport, dst="127.0.0.1", dport=25, proto="TCP4"):
    return ("PROXY %s %s %s %d %d\r\n" % (proto, src, dst, sport, dport)).encode()


def v2_tcp4(src, sport, dst="127.0.0.1", dport=25, local=False, tlv=b""):
    addrs = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(">HH", sport, dport)
    body = addrs + tlv
    return V2_SIG + bytes([0x20 if local else 0x21, 0x11]) + struct.pack(">H", len(body)) + body


def proxied_server(make_server, **kw):
    doors = {"smtp": "smtp proxy", "submissions": "submissions proxy", "plain": "smtp"}
    return make_server(doors=doors, **kw)


def read_reply(sock):
    data = b""
    while not re.search(rb"(^|\r\n)\d{3} [^\r\n]*\r\n$", data):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_v1_header_names_the_client(make_server):
    srv = proxied_server(make_server)
    s = socket.create_connection((HOST, srv.port("smtp")), timeout=10)
    s.sendall(v1("192.0.2.7", 56324))
    assert read_reply(s).startswith(b"220 ")
    s.sendall(b"EHLO client.example\r\n")
    assert b"250 " in read_reply(s)
    s.sendall(b"QUIT\r\n")
    read_reply(s)
    s.close()
    m = srv.wait_log(r"session=(\w+) event=connect client=192\.0\.2\.7:56324 door=\S+ "
                     r"service=smtp proxy=127\.0\.0\.1:\d+")
    assert m, srv.log_text()[-2000:]
    assert srv.wait_log(r"session=%s event=ehlo helo=client\.example tls=no "
                        r"client=192\.0\.2\.7" % m.group(1))


def test_v2_header_before_implicit_tls(make_server, certs):
    srv = proxied_server(make_server)
    raw = socket.create_connection((HOST, srv.port("submissions")), timeout=10)
    # A TLV after the addresses (PP2_TYPE_AUTHORITY) is skipped.
    raw.sendall(v2_tcp4("198.51.100.9", 40000, tlv=b"\x02\x00\x0bexample.net"))
    tls = certs.client_context().wrap_socket(raw, server_hostname="localhost")
    assert read_reply(tls).startswith(b"220 ")
    tls.sendall(b"QUIT\r\n")
    read_reply(tls)
    tls.close()
    assert srv.wait_log(r"event=connect client=198\.51\.100\.9:40000 door=\S+ "
                        r"service=submissions proxy=127\.0\.0\.1:")


def test_v2_local_keeps_the_connection_address(make_server):
    """A balancer's own health check (LOCAL): no client to take."""
    srv = proxied_server(make_server)
    s = socket.create_connection((HOST, srv.port("smtp")), timeout=10)
    s.sendall(v2_tcp4("0.0.0.0", 0, local=True))
    assert read_reply(s).startswith(b"220 ")
    s.close()
    assert srv.wait_log(r"event=connect client=127\.0\.0\.1:\d+ door=\S+ service=smtp "
                        r"proxy=127\.0\.0\.1:")


@pytest.mark.parametrize("first", [
    b"EHLO client.example\r\n",                             # a client straight to the node
    b"PROXY TCP4 192.0.2.7 127.0.0.1 1 25\n",               # LF only
    b"PROXY TCP4 2001:db8::1 127.0.0.1 1 25\r\n",           # the wrong family
    V2_SIG + b"\x11\x11\x00\x0c" + b"\x00" * 12,            # v2 signature, version 1
])
def test_no_valid_header_no_session(make_server, first):
    srv = proxied_server(make_server)
    s = socket.create_connection((HOST, srv.port("smtp")), timeout=10)
    s.sendall(first)
    s.settimeout(10)
    try:  # closed without a greeting (reset: the bytes were never read)
        assert s.recv(100) == b""
    except ConnectionResetError:
        pass
    s.close()
    line = srv.wait_log(r".*reason=proxy_header_invalid.*")
    assert line and "fix=" in line.group(0) and "send-proxy" in line.group(0)
    assert "event=connect" not in srv.log_text()


def test_header_cut_short_times_out(make_server):
    """A header trickled a byte at a time is bounded as a whole."""
    srv = proxied_server(make_server, limits={"command-timeout": 2})
    s = socket.create_connection((HOST, srv.port("smtp")), timeout=10)
    t0 = time.monotonic()
    closed = False
    for b in v1("192.0.2.7", 1)[:-2]:
        try:
            s.sendall(bytes([b]))
        except OSError:
            closed = True
            break
        time.sleep(0.2)
        if time.monotonic() - t0 > 8:
            break
    if not closed:
        s.settimeout(5)
        try:
            closed = s.recv(100) == b""
        except OSError:
            closed = True
    s.close()
    assert closed and time.monotonic() - t0 < 6
    assert srv.wait_log(r"reason=proxy_header_timeout")


def test_listener_without_proxy_never_trusts_a_header(make_server):
    srv = proxied_server(make_server)
    s = socket.create_connection((HOST, srv.port("plain")), timeout=10)
    assert read_reply(s).startswith(b"220 ")
    s.sendall(v1("192.0.2.7", 1))
    assert read_reply(s)[:1] == b"5"  # an unknown command
    s.close()
    assert srv.wait_log(r"event=connect client=127\.0\.0\.1:\d+ door=127\.0\.0\.1:%d "
                        r"service=smtp\n" % srv.port("plain"))
    assert "client=192.0.2.7" not in srv.log_text()


def test_client_cap_counts_the_real_client(make_server):
    srv = proxied_server(make_server, limits={"max-connections-per-ip": 1})
    a = socket.create_connection((HOST, srv.port("smtp")), timeout=10)
    a.sendall(v1("192.0.2.7", 1))
    assert read_reply(a).startswith(b"220 ")
    b = socket.create_connection((HOST, srv.port("smtp")), timeout=10)
    b.sendall(v1("192.0.2.7", 2))
    assert read_reply(b).startswith(b"421 ")  # the same client: over its cap
    c = socket.create_connection((HOST, srv.port("smtp")), timeout=10)
    c.sendall(v1("192.0.2.8", 3))
    assert read_reply(c).startswith(b"220 ")  # another client through the same balancer
    for x in (a, b, c):
        x.close()
    assert srv.wait_log(r"event=refused client=192\.0\.2\.7 .*cap=client max=1")


# ---------------------------------------------------------------- HAProxy


class HAProxy:
    def __init__(self, d, nodes):
        """nodes: [(name, port, "send-proxy"|"send-proxy-v2")]."""
        self.port = free_port()
        conf = os.path.join(d, "haproxy.cfg")
        servers = "".join(
            "    server %s %s:%d %s check check-send-proxy inter 200ms fall 1 rise 2\n"
            % (n, HOST, p, how) for n, p, how in nodes)
        with open(conf, "w") as f:
            f.write("defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n"
                    "    timeout server 30s\n    retries 3\n    option redispatch\n"
                    "frontend smtp\n    bind %s:%d\n    default_backend nodes\n"
                    "backend nodes\n    balance roundrobin\n%s" % (HOST, self.port, servers))
        self.err = os.path.join(d, "haproxy.err")
        p = subprocess.run(["haproxy", "-c", "-f", conf], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(self.err, "wb"))
        assert poll(lambda: self._up(), 10), read_text(self.err)

    def _up(self):
        try:
            socket.create_connection((HOST, self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        stop_process(self.proc, 10.0)


def send_through(port, marker):
    """One message from CLIENT through the balancer; True once it got its 250."""
    with smtplib.SMTP(HOST, port, timeout=10, source_address=(CLIENT, 0)) as s:
        s.sendmail("sender@outside.example.net", ["bob@example.test"],
                   "From: sender@outside.example.net\r\nSubject: %s\r\n\r\n%s\r\n"
                   % (marker, marker))
    return True


def test_haproxy_spreads_sessions_and_survives_a_node_stop(make_server, workroot):
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is missing (scripts/install-peers.sh installs it)")
    nodes = [make_server(doors={"smtp": "smtp proxy"}, name="node%d" % i) for i in (1, 2)]
    d = os.path.join(workroot, "haproxy-%d" % nodes[0].port("smtp"))
    os.makedirs(d)
    hap = HAProxy(d, [("n1", nodes[0].port("smtp"), "send-proxy"),
                      ("n2", nodes[1].port("smtp"), "send-proxy-v2")])
    acked, failed = [], []
    try:
        for i in range(8):
            assert send_through(hap.port, "spread-%d" % i)
        # Round robin: both nodes took mail, and each logged the true client.
        for n in nodes:
            assert re.search(r"event=connect client=127\.0\.0\.77:\d+ .*proxy=127\.0\.0\.1:",
                             n.log_text()), n.log_text()[-2000:]
            assert poll(lambda: any(n.find_mail("bob@example.test", "spread-%d" % i)
                                    for i in range(8)), 10)

        # A stream of messages; node 1 stops in the middle of it.
        stop_at = 5

        def stream():
            for i in range(20):
                marker = "stream-%d" % i
                try:
                    send_through(hap.port, marker)
                    acked.append(marker)
                except (smtplib.SMTPException, OSError) as e:
                    failed.append((marker, repr(e)))
                if i == stop_at:
                    stopped.set()
                time.sleep(0.05)

        stopped = threading.Event()
        t = threading.Thread(target=stream)
        t.start()
        assert stopped.wait(30)
        nodes[0].stop()
        t.join(60)
        assert not t.is_alive()
        # Sessions after the stop went to node 2: nearly all got their 250.
        assert len(acked) >= 17, (acked, failed)
        late = [m for m in acked if int(m.split("-")[1]) > stop_at + 3]
        assert late
        for m in late[-3:]:
            assert nodes[1].wait_mail("bob@example.test", m), m
        # No acknowledged message is lost: each is in node 2's mailbox or in node 1's
        # (node 1 delivers what it queued when it starts again).
        nodes[0].start()
        for m in acked:
            assert poll(lambda: nodes[0].find_mail("bob@example.test", m)
                        or nodes[1].find_mail("bob@example.test", m), 15), m
    finally:
        hap.stop()
