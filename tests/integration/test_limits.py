"""Limits: recipients, timeouts, connection caps (overall and per client IP)."""

import socket
import time

import pytest

from conftest import HOST, Closed, Conn, ipv6_loopback_ok, message, token


# ---------------------------------------------------------------- recipients


def test_101st_recipient_452(server):
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        c.send("".join("RCPT TO:<alice+%d@example.test>\r\n" % i for i in range(101)))
        rs = [c.reply() for _ in range(101)]
        assert [r.code for r in rs[:100]] == [250] * 100, [r for r in rs[:100] if r.code != 250]
        assert (rs[100].code, rs[100].enhanced) == (452, "4.5.3"), rs[100]
        assert c.cmd("RSET").code == 250


def test_recipient_limit_configured(make_server):
    srv = make_server(limits={"recipient-limit": 3})
    m = token()
    with Conn(srv.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        for rc in ("alice@example.test", "bob@example.test", "carol@second.test"):
            assert c.cmd("RCPT TO:<%s>" % rc).code == 250
        r = c.cmd("RCPT TO:<alice+more@example.test>")
        assert (r.code, r.enhanced) == (452, "4.5.3"), r
        assert c.cmd("DATA").code == 354
        c.send(message(m).encode() + b".\r\n")
        assert c.reply().code == 250
    for rc in ("alice@example.test", "bob@example.test", "carol@second.test"):
        assert len(srv.wait_mail(rc, m)) == 1, rc
    srv.wait_settled()
    assert len(srv.find_mail("alice@example.test", m)) == 1, "the 452 recipient got a copy"


# ---------------------------------------------------------------- timeouts


def wait_421_and_close(c, within):
    t0 = time.monotonic()
    try:
        r = c.reply(timeout=within)
    except socket.timeout:
        pytest.fail("no reply within %.0f s of idling" % within)
    except Closed:
        pytest.fail("closed without a 421")
    assert r.code == 421, r
    assert c.closed(5), "not disconnected after the 421"
    return time.monotonic() - t0


def test_command_timeout_idle_client(make_server):
    srv = make_server(limits={"command-timeout": 2})
    with Conn(srv.port("smtp")) as c:
        el = wait_421_and_close(c, within=8)
        assert el >= 1.5, "421 after %.1f s; the timeout is 2 s" % el
    # Also in the middle of a session, and on the TLS door.
    with Conn(srv.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        wait_421_and_close(c, within=8)
    with Conn(srv.port("submissions"), tls_ctx=srv.certs.client_context()) as c:
        wait_421_and_close(c, within=8)


def test_command_timeout_resets_on_activity(make_server):
    srv = make_server(limits={"command-timeout": 2})
    with Conn(srv.port("smtp")) as c:
        for _ in range(4):          # 4 x 1 s > the 2 s timeout in total
            time.sleep(1.0)  # the idle gap under test, not a wait
            assert c.cmd("NOOP").code == 250


def test_data_timeout(make_server):
    srv = make_server(limits={"data-timeout": 2, "command-timeout": 30})
    m = token()
    c = Conn(srv.port("smtp"))
    try:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd("RCPT TO:<alice@example.test>").code == 250
        assert c.cmd("DATA").code == 354
        c.send("Subject: %s\r\n\r\nhalf a message" % m)
        t0 = time.monotonic()
        try:
            r = c.reply(timeout=10)
            assert r.code == 421, r
        except Closed:
            pass
        except socket.timeout:
            pytest.fail("session still waiting 10 s into a 2 s data-timeout")
        assert time.monotonic() - t0 < 10
        assert c.closed(5)
    finally:
        c.close()
    srv.wait_sessions_closed()
    srv.wait_settled()
    assert not srv.find_mail("alice@example.test", m)
    assert not [v for v in srv.queue_files().values() if m.encode() in v]


# ---------------------------------------------------------------- connection caps


def assert_refused_421(port, host=HOST):
    c = Conn(port, host=host, greet=False)
    try:
        try:
            r = c.reply(timeout=5)
        except Closed:
            pytest.fail("connection over the cap closed without a 421")
        assert r.code == 421, "connection over the cap: %r" % r
        assert c.closed(5)
    finally:
        c.close()


def eventually_220(port, host=HOST, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        c = Conn(port, host=host, greet=False)
        try:
            r = c.reply(timeout=5)
            if r.code == 220:
                return c
        except Closed:
            pass
        c.close()
        if time.monotonic() > deadline:
            pytest.fail("no 220 after a slot was freed")
        time.sleep(0.2)


def test_max_connections_per_ip(make_server):
    srv = make_server(limits={"max-connections-per-ip": 2})
    srv.wait_sessions_closed()  # readiness probes, if any, no longer count
    a = Conn(srv.port("smtp"))
    b = Conn(srv.port("submission"))
    try:
        assert a.greeting.code == 220 and b.greeting.code == 220
        assert_refused_421(srv.port("smtp"))
        a.cmd("QUIT")
        a.close()
        eventually_220(srv.port("smtp")).close()
    finally:
        a.close()
        b.close()


def test_max_connections_overall(make_server):
    srv = make_server(limits={"max-connections": 2})
    srv.wait_sessions_closed()
    a = Conn(srv.port("smtp"))
    b = Conn(srv.port("fallback"))
    try:
        assert_refused_421(srv.port("submission"))
        b.close()
        eventually_220(srv.port("submission")).close()
    finally:
        a.close()
        b.close()


@pytest.mark.skipif(not ipv6_loopback_ok(), reason="no IPv6 loopback (::1) on this machine, "
                    "and a second client address is needed to tell per-IP from overall")
def test_per_ip_cap_counts_each_address(make_server):
    # 127.0.0.1 and ::1 are two client addresses: the per-IP cap of 1 lets one
    # connection from each, the overall cap of 2 refuses the third.
    srv = make_server(start=False, limits={"max-connections-per-ip": 1, "max-connections": 2})
    p6 = srv.add_door("v6", "smtp", "::1")
    srv.start()
    srv.wait_sessions_closed()
    a = Conn(srv.port("smtp"))
    try:
        b = Conn(p6, host="::1")
        try:
            assert b.greeting.code == 220, "::1 is another client; per-IP cap is 1"
            assert_refused_421(srv.port("submission"))   # 127.0.0.1 again: per-IP cap
        finally:
            b.close()
    finally:
        a.close()
