"""Long lines (RFC 5321 4.5.3.1.6 says 1000 octets with CRLF): real mail
breaks that rule (HTML newsletters), and Postfix, Gmail and Exchange accept
it, so mailport does too, on every door, up to a hard cap of 1 MiB per
line. What it relays out never has a line over 998 octets: unsigned
messages are re-encoded (the affected parts to quoted-printable), signed
ones are returned to the sender with 5.6.0 (re-encoding would break the
signature)."""

import random
import string

from conftest import Conn, message, send_raw_message, token


def long_text(marker, n):
    """n octets of printable ASCII with spaces, the marker first (no dots at line start)."""
    rnd = random.Random(marker)
    alphabet = string.ascii_letters + string.digits + " .,;:=<>\"'/-"
    return (marker + "".join(rnd.choice(alphabet) for _ in range(n)))[:n]


def test_5000_octet_line_accepted_on_port_25_and_delivered_intact(server):
    m = token()
    line = long_text(m, 5000)
    body = "first line\r\n" + line + "\r\nlast line\r\n"
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        r = send_raw_message(c, "news@remote.test", ["alice@example.test"],
                             message(m, body=body).encode() + b".\r\n")
        assert r.code == 250, "a 5,000-octet line must be accepted on port 25: %r" % r
    got = server.wait_mail("alice@example.test", m)
    assert len(got) == 1
    delivered_body = got[0].split(b"\n\n", 1)[1]
    assert delivered_body == ("first line\n" + line + "\nlast line\n").encode()
    assert server.wait_log(r"event=accepted .*long_lines=yes")


def test_long_line_accepted_with_bdat(server):
    m = token()
    line = long_text(m, 3000)
    msg = message(m, body=line + "\r\n").encode()
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd("RCPT TO:<bob@example.test>").code == 250
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        r = c.reply()
        assert r.code == 250, r
    got = server.wait_mail("bob@example.test", m)
    assert got and got[0].split(b"\n\n", 1)[1] == (line + "\n").encode()
