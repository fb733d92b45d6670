"""Outbound connections (issue 5): reused per destination, capped per
destination and overall, delivered in parallel.

Receivers (receivers.py) number the connections that carry mail and record
the most DATA transactions open at once; dnsmasq (dns.py) points each test
domain at its own receiver on 127.0.25.X:25.
"""

import time

from conftest import login_conn, message, send_raw_message, token, wait_for
from dns import make_dns  # noqa: F401
from receivers import make_receiver  # noqa: F401
from test_outbound import ALICE, deliveries, log_tail, outbound_server, wait_delivery


def submit_many(srv, rcpts_each, marker):
    """One authenticated session, one message per entry of rcpts_each."""
    with login_conn(srv, "submission", ALICE) as c:
        for i, rcpts in enumerate(rcpts_each):
            data = message("%s-%d" % (marker, i), to=rcpts[0]).encode() + b".\r\n"
            r = send_raw_message(c, ALICE, rcpts, data)
            assert r.code == 250, r
        c.cmd("QUIT")


def wait_sent(srv, rcpts, timeout=30.0):
    for rc in rcpts:
        assert wait_delivery(srv, rc, "sent", timeout=timeout), rc + "\n" + log_tail(srv)


def burst_on_one_slot(make_server, make_dns, rx, domain, n):
    """n messages to domain (MX: rx) with one connection allowed to it; all
    delivered, over exactly one connection. Returns (server, received)."""
    dns = make_dns(mx={domain: [(10, "mx." + domain)]}, hosts={"mx." + domain: [rx.ip]})
    srv = outbound_server(make_server, dns, extra=["outbound-connections-per-destination 1"])
    m = token()
    rcpts = ["u%d@%s" % (i, domain) for i in range(n)]
    submit_many(srv, [[r] for r in rcpts], m)
    got = rx.wait_messages(m, count=n, timeout=30)
    assert len(got) == n, log_tail(srv)
    wait_sent(srv, rcpts)
    assert rx.connections == 1, "%d connections for %d messages\n%s" % (
        rx.connections, n, log_tail(srv))
    assert {g.conn for g in got} == {1}
    return srv, got


def test_messages_to_one_destination_share_a_connection(make_server, make_dns, make_receiver):
    """Twelve messages to one domain, one slot: all on one connection."""
    rx = make_receiver()
    srv, _ = burst_on_one_slot(make_server, make_dns, rx, "reuse.test", 12)
    relays = {d["relay"] for d in deliveries(srv) if d["to"].endswith("@reuse.test")}
    assert relays == {"mx.reuse.test[%s]:25" % rx.ip}, relays


def test_kept_connection_reused_over_starttls(make_server, make_dns, make_receiver):
    """A kept connection keeps its TLS: every message says it came over TLS."""
    rx = make_receiver(tls=True)
    srv, got = burst_on_one_slot(make_server, make_dns, rx, "tlsreuse.test", 5)
    assert all(g.tls_version for g in got), got
    tls = {d["tls"] for d in deliveries(srv) if d["to"].endswith("@tlsreuse.test")}
    assert tls and "none" not in tls, tls


def test_connection_closed_by_receiver_is_replaced(make_server, make_dns, make_receiver):
    """The receiver drops idle connections after 0.3 s; messages 1 s apart
    each find the kept one gone, connect again, and are delivered once."""
    rx = make_receiver(idle_timeout=0.3)
    dns = make_dns(mx={"drop.test": [(10, "mx.drop.test")]}, hosts={"mx.drop.test": [rx.ip]})
    srv = outbound_server(make_server, dns)
    m = token()
    rcpts = ["d%d@drop.test" % i for i in range(3)]
    for i, rc in enumerate(rcpts):
        submit_many(srv, [[rc]], "%s-%d" % (m, i))
        assert wait_delivery(srv, rc, "sent", timeout=20), log_tail(srv)
        wait_for(lambda: rx.open_now == 0, 5, "the receiver to drop the idle connection")
    assert rx.connections == 3, log_tail(srv)
    assert srv.log_text().count("event=reuse_failed") == 2, log_tail(srv)
    for i in range(3):
        assert len(rx.find("%s-%d" % (m, i))) == 1, "delivered once"
    for rc in rcpts:
        states = [d["status"] for d in deliveries(srv, rc)]
        assert states == ["sent"], (rc, states, log_tail(srv))


def test_per_destination_cap_and_parallel_destinations(make_server, make_dns, make_receiver):
    """Two slots per destination, slow receivers: a.test gets exactly two
    deliveries at once, and b.test is served while a.test is still busy."""
    slow_a = make_receiver(data_delay=1.0)
    slow_b = make_receiver(data_delay=1.0)
    dns = make_dns(mx={"a.test": [(10, "mx.a.test")], "b.test": [(10, "mx.b.test")]},
                   hosts={"mx.a.test": [slow_a.ip], "mx.b.test": [slow_b.ip]})
    srv = outbound_server(make_server, dns, extra=[
        "outbound-connections 4", "outbound-connections-per-destination 2"])
    m = token()
    a_rcpts = ["a%d@a.test" % i for i in range(6)]
    b_rcpts = ["b%d@b.test" % i for i in range(2)]
    submit_many(srv, [[r] for r in a_rcpts + b_rcpts], m)
    got_a = slow_a.wait_messages(m, count=6, timeout=40)
    got_b = slow_b.wait_messages(m, count=2, timeout=40)
    assert len(got_a) == 6 and len(got_b) == 2, log_tail(srv)
    wait_sent(srv, a_rcpts + b_rcpts)
    assert slow_a.max_in_data == 2, "at most and at least two at once to a.test: %d" % (
        slow_a.max_in_data)
    assert slow_b.max_in_data == 2, slow_b.max_in_data
    assert slow_a.connections <= 2, slow_a.connections
    # b.test did not wait for a.test's six messages (about 3 s at two at a time).
    last_a = max(g.time for g in got_a)
    assert max(g.time for g in got_b) < last_a - 0.5, \
        "b.test waited behind a.test\n" + log_tail(srv)


def test_overall_cap(make_server, make_dns, make_receiver):
    """One connection overall: three destinations are served one at a time."""
    rxs = [make_receiver(data_delay=0.5) for _ in range(3)]
    doms = ["c%d.test" % i for i in range(3)]
    dns = make_dns(mx={d: [(10, "mx." + d)] for d in doms},
                   hosts={"mx." + d: [rx.ip] for d, rx in zip(doms, rxs)})
    srv = outbound_server(make_server, dns, extra=["outbound-connections 1"])
    m = token()
    rcpts = [["x%d@%s" % (i, d)] for d in doms for i in range(2)]
    submit_many(srv, rcpts, m)
    for rx in rxs:
        assert len(rx.wait_messages(m, count=2, timeout=40)) == 2, log_tail(srv)
    wait_sent(srv, [r[0] for r in rcpts])
    spans = sorted((min(g.time for g in rx.find(m)) - 0.5, max(g.time for g in rx.find(m)))
                   for rx in rxs)
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert s2 >= e1 - 0.05, "two destinations at once with outbound-connections 1: %r" % (
            spans,)
