"""Slow and stuck clients: deadlines that a trickle of bytes does not restart,
STARTTLS that never waits on the event loop, and one log line per session end.

The limits are configured small (seconds) so each test takes a few seconds.
"""

import re
import select
import socket
import threading
import time

import pytest

from conftest import HOST, Closed, Conn, message, poll, token


def trickle_until_reply(c, data, gap, limit):
    """Send data one byte every `gap` seconds until a reply comes (returned
    with the seconds it took) or `limit` seconds pass (None)."""
    t0 = time.monotonic()
    for b in data:
        if time.monotonic() - t0 > limit:
            break
        try:
            c.send(bytes([b]))
        except OSError:
            break
        try:
            return c.reply(timeout=gap), time.monotonic() - t0
        except socket.timeout:
            continue
        except Closed:
            break
    return None, time.monotonic() - t0


# ---------------------------------------------------------------- deadlines


def test_trickled_command_line_is_cut(make_server):
    # One byte every 0.4 s: an idle timer that every byte restarts never
    # fires; a deadline of 2 s for the whole line does.
    srv = make_server(limits={"command-timeout": 2})
    with Conn(srv.port("smtp")) as c:
        c.ehlo()
        r, took = trickle_until_reply(c, b"NOOP " * 20, gap=0.4, limit=10)
        assert r is not None, "a command line trickled for %.0f s was never cut" % took
        assert (r.code, r.enhanced) == (421, "4.4.2"), r
        assert took < 4, "cut after %.1f s; command-timeout is 2 s" % took
        assert c.closed(5)
    assert srv.wait_log(r"event=too_slow client=127\.0\.0\.1 phase=command seconds=2 "
                        r"limit=\"command-timeout 2")


def test_trickled_data_is_cut(make_server):
    # data-timeout 2 plus 1 s per 10 bytes: at about 3 bytes a second the
    # deadline is reached after about 10 bytes (3 s).
    srv = make_server(limits={"data-timeout": 2, "min-data-rate": 10, "command-timeout": 30})
    m = token()
    with Conn(srv.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd("RCPT TO:<alice@example.test>").code == 250
        assert c.cmd("DATA").code == 354
        r, took = trickle_until_reply(c, ("Subject: %s\r\n\r\n" % m).encode() + b"x" * 60,
                                      gap=0.3, limit=15)
        assert r is not None, "message data trickled for %.0f s was never cut" % took
        assert (r.code, r.enhanced) == (421, "4.4.2"), r
        assert took < 7, "cut after %.1f s; the deadline is about 3 s" % took
        assert c.closed(5)
    assert srv.wait_log(r"event=too_slow client=127\.0\.0\.1 phase=data seconds=\d+ bytes=\d+ "
                        r"limit=\"data-timeout 2 plus 1 s per min-data-rate 10 bytes\"")
    srv.wait_settled()
    assert not srv.queue_files() and not srv.delivered("alice@example.test")


def test_data_faster_than_the_minimum_rate_is_not_cut(make_server):
    # 200 bytes a second for 3 s, with data-timeout 1 and min-data-rate 100:
    # longer than data-timeout in all, but each second earns two.
    srv = make_server(limits={"data-timeout": 1, "min-data-rate": 100})
    m = token()
    with Conn(srv.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd("RCPT TO:<alice@example.test>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(message(m))
        for _ in range(6):
            time.sleep(0.5)  # the client's pace is the subject: 200 bytes a second
            c.send("y" * 98 + "\r\n")
        c.send(".\r\n")
        assert c.reply(timeout=10).code == 250
    assert srv.wait_mail("alice@example.test", m)


# ---------------------------------------------------------------- STARTTLS


def stuck_starttls_client(port, pipelined):
    """A client with a tiny receive window that pipelines commands, STARTTLS
    and a NOOP (to be discarded), and does not read: the server cannot
    write the 220."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect((HOST, port))
    s.setblocking(False)
    data = (b"EHLO stuck.example.test\r\n" + b"HELP\r\n" * pipelined + b"STARTTLS\r\n"
            + b"NOOP\r\n")
    deadline = time.monotonic() + 10
    while data and time.monotonic() < deadline:
        try:
            data = data[s.send(data):]
        except BlockingIOError:
            select.select([], [s], [], max(0.0, deadline - time.monotonic()))
    return s


def test_starttls_to_a_client_that_does_not_read_stalls_no_one(make_server):
    srv = make_server(limits={"tls-handshake-timeout": 3, "max-connections-per-ip": 100})
    probe = Conn(srv.port("smtp"))
    probe.ehlo()
    stuck = []
    rtts = []
    try:
        # Each client's HELP replies (5 MB) fill its window and the server's
        # socket buffer (4 MB at most), so its 220 to STARTTLS waits behind them.
        for _ in range(6):
            stuck.append(stuck_starttls_client(srv.port("submission"), 60000))
        t_end = time.monotonic() + 3
        while time.monotonic() < t_end:
            t0 = time.monotonic()
            assert probe.cmd("NOOP", timeout=10).code == 250
            rtts.append(time.monotonic() - t0)
            time.sleep(0.05)  # NOOPs spread over the 3 s measured, not a wait
        # Unread, they end at the handshake deadline, each with a log line.
        assert srv.wait_log(r"(?s)(reason=starttls_reply_not_read.*){6}", timeout=10), \
            srv.log_text()[-3000:]
    finally:
        for s in stuck:
            s.close()
        probe.close()
    print("max NOOP round trip %.3f s over %d" % (max(rtts), len(rtts)))
    assert max(rtts) < 0.5, "a NOOP took %.2f s while clients did not read their 220" % max(rtts)


def test_starttls_reply_that_waited_still_leads_to_tls(make_server):
    # The 220 waits behind 5 MB of replies the client does not read at first
    # (the server goes on through the event loop); once the client reads,
    # it gets them, the 220, then TLS. The NOOP pipelined behind STARTTLS is
    # never answered.
    srv = make_server()
    s = stuck_starttls_client(srv.port("submission"), 60000)
    time.sleep(1.0)  # the subject: a client that does not read at first
    s.setblocking(True)
    s.settimeout(20)
    buf = b""
    helps = greetings = 0
    while greetings < 2:  # the greeting, then the 220 to STARTTLS
        chunk = s.recv(1 << 20)
        assert chunk, "closed before the 220 to STARTTLS"
        buf += chunk
        lines = buf.split(b"\r\n")
        buf = lines.pop()
        helps += sum(1 for ln in lines if ln.startswith(b"214 "))
        greetings += sum(1 for ln in lines if ln.startswith(b"220 "))
        if greetings == 2:
            assert lines[-1].startswith(b"220 "), lines[-3:]
    assert helps == 60000 and buf == b"", (helps, buf[:100])
    tls = srv.certs.client_context().wrap_socket(s, server_hostname="localhost")
    c = Conn.__new__(Conn)
    c.sock, c.timeout, c.buf, c.tls, c.greeting = tls, 10.0, b"", True, None
    c.ehlo()
    assert c.cmd("NOOP").code == 250
    c.close()


# ---------------------------------------------------------------- every end is logged


def test_half_finished_handshake_on_465_is_logged(make_server):
    srv = make_server(limits={"tls-handshake-timeout": 2})
    s = socket.create_connection((HOST, srv.port("submissions")), timeout=10)
    try:
        # The start of a ClientHello record, then nothing.
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        port = s.getsockname()[1]
        t0 = time.monotonic()
        s.settimeout(10)
        try:
            rest = s.recv(100)
        except ConnectionResetError:
            rest = b""
        took = time.monotonic() - t0
        assert rest == b"", rest
        assert 1.5 < took < 6, "closed after %.1f s; tls-handshake-timeout is 2 s" % took
    finally:
        s.close()
    m = srv.wait_log(r"session=(\w+) event=connect client=127\.0\.0\.1:%d " % port)
    assert m
    assert srv.wait_log(r"session=%s event=disconnect client=127\.0\.0\.1 "
                        r"reason=tls_handshake_timeout seconds=2 "
                        r"limit=\"tls-handshake-timeout 2\"" % m.group(1)), \
        srv.log_text()[-2000:]


def test_every_session_end_leaves_one_line(make_server):
    srv = make_server()
    with Conn(srv.port("smtp")) as c:
        c.cmd("QUIT")
        assert c.closed(5)
    with Conn(srv.port("smtp")) as c:
        c.ehlo()
    c = Conn(srv.port("submissions"), tls_ctx=srv.certs.client_context())
    c.cmd("QUIT")
    c.close()
    poll(lambda: srv.sessions_open() == 0)  # the assertions below say what is missing
    srv.stop()
    log = srv.log_text()
    sessions = set(re.findall(r"session=(\w+) event=connect", log))
    assert len(sessions) == 3
    for sid in sessions:
        ends = re.findall(r"session=%s event=disconnect [^\n]*reason=(\w+)" % sid, log)
        assert len(ends) == 1, (sid, ends, log[-3000:])
    reasons = sorted(re.findall(r"event=disconnect [^\n]*reason=(\w+)", log))
    assert reasons == ["client_closed", "quit", "quit"], reasons
