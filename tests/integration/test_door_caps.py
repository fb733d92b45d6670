"""Connection caps per door: a flood on port 25 leaves the submission doors
reachable, and the log says which cap refused. Per-client limits key IPv6
clients by network (the /64 logic itself is unit-tested in test_client_key:
loopback has one IPv6 address, so rotating through a /64 cannot be shown here).
"""

import pytest

from conftest import HOST, Closed, Conn, ipv6_loopback_ok, login_conn


def fill_until_refused(port, limit, host=HOST):
    """Open idle connections until one is refused; returns (open ones, the 421)."""
    held = []
    for _ in range(limit):
        c = Conn(port, host=host, greet=False)
        try:
            r = c.reply(timeout=5)
        except Closed:
            c.close()
            pytest.fail("a connection was closed without a reply")
        if r.code != 220:
            c.close()
            return held, r
        held.append(c)
    return held, None


def assert_logins_work(srv):
    for door in ("submission", "submissions"):
        c = login_conn(srv, door)
        assert c.cmd("MAIL FROM:<alice@example.test>").code == 250
        assert c.cmd("QUIT").code == 221
        c.close()


def test_flood_on_25_leaves_submission_open_by_default(make_server):
    # No per-door cap given: the smtp doors share four fifths of
    # max-connections (8 of 10), the rest stays for the submission doors.
    srv = make_server(limits={"max-connections": 10, "max-connections-per-ip": 100})
    held, refused = fill_until_refused(srv.port("smtp"), 11)
    try:
        assert refused is not None and len(held) == 8, \
            "port 25 took %d connections of max-connections 10" % len(held)
        assert (refused.code, refused.enhanced) == (421, "4.7.0"), refused
        assert_logins_work(srv)
        # Still flooded: port 25 keeps refusing.
        more, again = fill_until_refused(srv.port("smtp"), 1)
        assert not more and again.code == 421
    finally:
        for c in held:
            c.close()
    assert srv.wait_log(r"event=refused client=127\.0\.0\.1 key=127\.0\.0\.1 "
                        r"door=127\.0\.0\.1:%d service=smtp cap=smtp_doors max=8"
                        % srv.port("smtp"))


def test_door_cap_from_the_listen_line(make_server):
    doors = {"smtp": "smtp max-connections 3", "submission": "submission",
             "submissions": "submissions"}
    srv = make_server(doors=doors, limits={"max-connections-per-ip": 100})
    held, refused = fill_until_refused(srv.port("smtp"), 10)
    try:
        assert refused is not None and len(held) == 3, len(held)
        assert refused.code == 421
        assert_logins_work(srv)
        # A slot freed on the door is taken again.
        held.pop().close()
        for _ in range(50):
            more, again = fill_until_refused(srv.port("smtp"), 1)
            if more:
                held += more
                break
        assert more, "the freed slot never came back"
    finally:
        for c in held:
            c.close()
    assert srv.wait_log(r"event=refused client=127\.0\.0\.1 key=127\.0\.0\.1 "
                        r"door=127\.0\.0\.1:%d service=smtp cap=door max=3"
                        % srv.port("smtp"))


def test_server_and_client_caps_are_named(make_server):
    srv = make_server(limits={"max-connections": 2, "max-connections-per-ip": 100})
    a = Conn(srv.port("submission"))
    b = Conn(srv.port("submissions"), tls_ctx=srv.certs.client_context())
    try:
        _, r = fill_until_refused(srv.port("fallback"), 1)
        assert r is not None and r.code == 421
    finally:
        a.close()
        b.close()
    assert srv.wait_log(r"event=refused client=127\.0\.0\.1 key=127\.0\.0\.1 "
                        r"door=127\.0\.0\.1:%d service=submission cap=server max=2"
                        % srv.port("fallback"))



@pytest.mark.skipif(not ipv6_loopback_ok(), reason="no IPv6 loopback (::1) on this machine")
def test_per_client_cap_on_ipv6_counts_the_network(make_server):
    # ::1 is the one IPv6 address loopback has; its key is its /64, ::/64.
    srv = make_server(start=False, limits={"max-connections-per-ip": 2})
    p6 = srv.add_door("v6", "smtp", "::1")
    srv.start()
    a = Conn(p6, host="::1")
    b = Conn(p6, host="::1")
    try:
        _, r = fill_until_refused(p6, 1, host="::1")
        assert r is not None and (r.code, r.enhanced) == (421, "4.7.0"), r
        # 127.0.0.1 is another client.
        c = Conn(srv.port("smtp"))
        assert c.greeting.code == 220
        c.close()
    finally:
        a.close()
        b.close()
    assert srv.wait_log(r"event=refused client=::1 key=::/64 door=\[::1\]:%d service=smtp "
                        r"cap=client max=2" % p6)
