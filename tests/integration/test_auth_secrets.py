"""Credentials a client pipelines behind a refused AUTH never reach the
replies or the log. On port 25 (no AUTH) and on 587 before STARTTLS (AUTH
only over TLS), a client that sends AUTH LOGIN, its base64 user name and its
base64 password in one go has its two credential lines read as commands:
they are refused without being repeated or logged."""

import base64

import pytest

from conftest import Conn, token

HIDDEN = "Command not recognized (not repeated"


def b64(text):
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("door,refusal", [("smtp", 503), ("submission", 530)])
@pytest.mark.parametrize("encode", [b64, lambda t: b64(t).rstrip("="), lambda t: t],
                         ids=["base64", "unpadded", "raw"])
def test_pipelined_auth_login_blobs_not_echoed_or_logged(server, door, refusal, encode):
    mark = server.log_size()
    user = "user-%s@example.test" % token()
    password = "pw-%s" % token()
    secrets = [user, password, b64(user), b64(password), b64(user).rstrip("="),
               b64(password).rstrip("=")]
    with Conn(server.port(door)) as c:
        c.ehlo()
        c.send("AUTH LOGIN\r\n%s\r\n%s\r\n" % (encode(user), encode(password)))
        replies = [c.reply(timeout=5) for _ in range(3)]
        assert replies[0].code == refusal, replies
        for r in replies[1:]:
            assert r.code == 500 and r.text.startswith("5.5.1 " + HIDDEN), replies
        assert c.cmd("QUIT").code == 221
        seen = "\n".join(r.text for r in replies) + c.buf.decode(errors="replace")
    # Both refusals are logged (without the line); wait for them, then look.
    assert server.wait_log(r"(?s)not repeated.*not repeated", since=mark), \
        server.log_text()[mark:]
    log = server.log_text()[mark:]
    for s in secrets:
        assert s not in seen, "secret %r in the replies" % s
        assert s not in log, "secret %r in the server log:\n%s" % (s, log)


def test_plaintext_auth_on_465_not_logged(server):
    """A plaintext client on the implicit-TLS door that sends AUTH PLAIN with
    its credentials before any greeting: the log names the mix-up and the
    verb, never the credentials it peeked at."""
    import socket
    mark = server.log_size()
    secret = b64("\0alice@example.test\0pw-%s" % token())
    with socket.create_connection(("127.0.0.1", server.port("submissions")), timeout=5) as s:
        s.sendall(("AUTH PLAIN %s\r\n" % secret).encode())
        s.settimeout(10)
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
    m = server.wait_log(r"reason=plaintext_on_tls_port sent=\"(\w*)\" bytes=(\d+)", since=mark)
    assert m, server.log_text()[mark:]
    assert m.group(1) == "AUTH" and int(m.group(2)) > 12, m.group(0)
    log = server.log_text()[mark:]
    assert secret not in log and secret[:16] not in log, log
