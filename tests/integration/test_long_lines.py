"""Long lines (RFC 5321 4.5.3.1.6 says 1000 octets with CRLF): real mail
breaks that rule (HTML newsletters), and Postfix, Gmail and Exchange accept
it, so mailport does too, on every door, up to a hard cap of 1 MiB per
line. What it relays out never has a line over 998 octets: unsigned
messages are re-encoded (the affected parts to quoted-printable), signed
ones are returned to the sender with 5.6.0 (re-encoding would break the
signature)."""

import email
import email.policy
import random
import string

from conftest import Conn, login_conn, message, send_raw_message, token
from dns import make_dns  # noqa: F401
from receivers import make_receiver  # noqa: F401
from test_outbound import log_tail, need_root, outbound_server, wait_delivery, wait_dsn


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


# ---------------------------------------------------------------- relaying out

def _submit_raw(srv, rcpt, data):
    with login_conn(srv, "submission", "alice@example.test") as c:
        r = send_raw_message(c, "alice@example.test", [rcpt], data)
        assert r.code == 250, "a long line must be accepted on submission too: %r" % r
        c.cmd("QUIT")


def _wire_lines(data):
    return data.replace(b"\r\n", b"\n").split(b"\n")


def test_long_lines_relayed_out_reencoded(make_server, make_dns, make_receiver):
    need_root()
    rx = make_receiver()
    dns = make_dns(mx={"recv.test": [(10, "mx.recv.test")]}, hosts={"mx.recv.test": [rx.ip]})
    srv = outbound_server(make_server, dns)
    m = token()
    text = "caf\u00e9 = tr\u00e8s " + long_text(m, 5000) + " \r\nsecond line\r\n"
    html = "<html><body>" + long_text(m + "h", 3000) + "</body></html>\r\n"
    raw = ("From: <alice@example.test>\r\nTo: <x@recv.test>\r\nSubject: long %s\r\n"
           "Message-ID: <%s@client.example.test>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/alternative; boundary=\"=-b-%s\"\r\n\r\n"
           "--=-b-%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n"
           "--=-b-%s\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n%s\r\n"
           "--=-b-%s--\r\n" % (m, m, m, m, text, m, html, m)).encode()
    stuffed = b"\r\n".join(b"." + ln if ln.startswith(b".") else ln
                           for ln in raw.split(b"\r\n"))
    _submit_raw(srv, "x@recv.test", stuffed + b".\r\n")
    got = rx.wait_messages(m)
    assert len(got) == 1, "receiver got nothing\n" + log_tail(srv)
    data = got[0].data
    longest = max(len(ln) for ln in _wire_lines(data))
    assert longest <= 998, "a %d-octet line went out" % longest
    msg = email.message_from_bytes(data, policy=email.policy.default)
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0].get_payload(decode=True).replace(b"\r\n", b"\n") == \
        text.encode("utf-8").replace(b"\r\n", b"\n")
    assert parts[1].get_payload(decode=True).replace(b"\r\n", b"\n") == \
        html.encode().replace(b"\r\n", b"\n")
    assert parts[0]["Content-Transfer-Encoding"] == "quoted-printable"
    assert msg["Subject"] == "long " + m
    assert srv.wait_log(r"event=reencoded reason=long_lines")
    assert wait_delivery(srv, "x@recv.test", "sent"), log_tail(srv)


def test_signed_message_with_long_line_returned_not_broken(make_server, make_dns,
                                                           make_receiver):
    need_root()
    rx = make_receiver()
    dns = make_dns(mx={"recv.test": [(10, "mx.recv.test")]}, hosts={"mx.recv.test": [rx.ip]})
    srv = outbound_server(make_server, dns)
    m = token()
    raw = ("DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=s; bh=x; b=y\r\n"
           "From: <alice@example.test>\r\nTo: <y@recv.test>\r\nSubject: signed %s\r\n\r\n"
           "%s\r\n" % (m, long_text(m, 2000))).encode()
    _submit_raw(srv, "y@recv.test", raw + b".\r\n")
    bounced = wait_delivery(srv, "y@recv.test", "bounced")
    assert bounced and bounced[0]["dsn"] == "5.6.3", log_tail(srv)
    assert "signed" in bounced[0]["reply"], bounced[0]["line"]
    dsn = wait_dsn(srv, m)
    assert b"5.6.3" in dsn
    assert not rx.wait_messages(m, timeout=0.5), "a signed message was sent altered"
