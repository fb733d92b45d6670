"""CHUNKING's empty chunks (RFC 3030 2): "BDAT 0 LAST", "BDAT 0" after a chunk
and "BDAT 0 LAST" outside a transaction each get their reply at once. The
client sends exactly those bytes and then waits, as a real client does: a
server that waited for more input would leave it hanging until a timeout."""

from conftest import Conn, token

# Well under the server's command timeout, well over a loaded machine's latency.
PROMPT = 3.0


def test_bdat_zero_last_without_mail_503_at_once(server):
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        c.send(b"BDAT 0 LAST\r\n")
        r = c.reply(timeout=PROMPT)
        assert (r.code, r.enhanced) == (503, "5.5.1"), r
        assert c.cmd("NOOP", timeout=PROMPT).code == 250


def test_bdat_chunk_then_empty_chunks_delivered(server):
    m = token()
    msg = ("Subject: %s\r\n\r\nbody %s\r\n" % (m, m)).encode()
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd("RCPT TO:<alice@example.test>").code == 250
        c.send(b"BDAT %d\r\n" % len(msg) + msg)
        r = c.reply(timeout=PROMPT)
        assert r.code == 250 and r.lines == ["2.0.0 %d octets received" % len(msg)], r
        c.send(b"BDAT 0\r\n")
        r = c.reply(timeout=PROMPT)
        assert r.code == 250 and r.lines == ["2.0.0 %d octets received" % len(msg)], r
        c.send(b"BDAT 0 LAST\r\n")
        r = c.reply(timeout=PROMPT)
        assert r.code == 250 and "queued as" in r.text, r
    got = server.wait_mail("alice@example.test", m)
    assert len(got) == 1
    assert got[0].endswith(("\n\nbody %s\n" % m).encode()), got[0]


def test_bdat_zero_last_as_only_chunk(server):
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd("RCPT TO:<bob@example.test>").code == 250
        c.send(b"BDAT 0 LAST\r\n")
        r = c.reply(timeout=PROMPT)
        assert r.code == 250 and "queued as" in r.text, r
        # The session goes on: the next transaction is answered too.
        assert c.cmd("MAIL FROM:<a@remote.test>", timeout=PROMPT).code == 250
