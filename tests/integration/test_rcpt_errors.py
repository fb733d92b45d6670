"""Refused recipients are not protocol errors (RFC 5321 4.5.3.1.10): a
transaction over the recipient limit delivers to the recipients accepted
(the client retries the rest after 452 4.5.3), and unknown recipients do not
end the session with 421 "Too many errors" at the valid recipients' cost."""

import time

from conftest import Conn, message, token

LIMIT = 100  # the default recipient-limit


def test_120_recipients_first_100_delivered_rest_452(make_server):
    users = {"u%03d@example.test" % i: "same-pw" for i in range(120)}
    srv = make_server(users=users)
    m = token()
    rcpts = sorted(users)
    with Conn(srv.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<list@remote.test>").code == 250
        codes = []
        for r in rcpts:
            rep = c.cmd("RCPT TO:<%s>" % r)
            codes.append((rep.code, rep.enhanced))
        assert codes[:LIMIT] == [(250, "2.1.5")] * LIMIT, codes[:LIMIT]
        assert codes[LIMIT:] == [(452, "4.5.3")] * (120 - LIMIT), codes[LIMIT:]
        r = c.cmd("DATA")
        assert r.code == 354, r
        c.send(message(m, to="u000@example.test").encode() + b".\r\n")
        r = c.reply()
        assert r.code == 250, "the 100 accepted recipients lost their message: %r" % r
        assert c.cmd("QUIT").code == 221
    for r in rcpts[:LIMIT]:
        assert srv.wait_mail(r, m), "%s did not get the message" % r
    srv.wait_settled()
    for r in rcpts[LIMIT:]:
        assert not srv.find_mail(r, m), "%s was refused yet got the message" % r
    assert "too_many_errors" not in srv.log_text()


def test_unknown_recipients_do_not_cost_the_valid_one(server):
    m = token()
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        for i in range(25):
            r = c.cmd("RCPT TO:<nobody-%d-%s@example.test>" % (i, m))
            assert (r.code, r.enhanced) == (550, "5.1.1"), r
        assert c.cmd("RCPT TO:<alice@example.test>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(message(m).encode() + b".\r\n")
        r = c.reply()
        assert r.code == 250, r
    assert server.wait_mail("alice@example.test", m)


def test_protocol_errors_still_end_the_session(server):
    """The limit itself stays: 20 unknown commands end the session with 421."""
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        codes = [c.cmd("FROBNICATE %d" % i).code for i in range(19)]
        assert codes == [500] * 19
        c.send(b"FROBNICATE last\r\n")
        assert c.reply().code == 500
        r = c.reply()
        assert (r.code, r.enhanced) == (421, "4.7.0"), r
        assert c.closed(5)


def test_dictionary_attack_still_bounded(server):
    """Refused recipients beyond the allowance (the recipient limit) count
    again, so a session cannot guess addresses forever."""
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        c.send("".join("RCPT TO:<guess%d@example.test>\r\n" % i for i in range(LIMIT + 20)))
        codes = [c.reply().code for _ in range(LIMIT + 20)]
        assert codes == [550] * (LIMIT + 20)
        r = c.reply()
        assert (r.code, r.enhanced) == (421, "4.7.0"), r
        assert c.closed(5)


def test_error_limit_configurable(make_server):
    """error-limit N: the Nth protocol error ends the session with 421."""
    srv = make_server(limits={"error-limit": 3})
    with Conn(srv.port("smtp")) as c:
        c.ehlo()
        assert [c.cmd("FROBNICATE %d" % i).code for i in range(2)] == [500, 500]
        c.send(b"FROBNICATE last\r\n")
        assert c.reply().code == 500
        r = c.reply()
        assert (r.code, r.enhanced) == (421, "4.7.0"), r
        assert c.closed(5)
