"""DATA and BDAT: end of data, smuggling, dot-unstuffing, line and size limits,
command-line strictness, pipelining, DSN parameters, queue ids in the log."""

import re

import pytest

from conftest import Conn, caps, login_conn, message, send_raw_message, token


def open_txn(srv, rcpts=("alice@example.test",), frm="sender@remote.test", params=""):
    c = Conn(srv.port("smtp"))
    c.ehlo()
    r = c.cmd("MAIL FROM:<%s>%s" % (frm, params))
    assert r.code == 250, r
    for rc in rcpts:
        r = c.cmd("RCPT TO:<%s>" % rc)
        assert r.code == 250, r
    return c


def assert_not_delivered(srv, marker, addrs=("alice@example.test", "bob@example.test")):
    """Send a sentinel to each mailbox and wait for it; then the marker must be
    in no mailbox and in no queue file."""
    s = token()
    with Conn(srv.port("smtp")) as c:
        c.ehlo()
        r = send_raw_message(c, "sentinel@remote.test", list(addrs),
                             message(s).encode() + b".\r\n")
        assert r.code == 250, r
    for a in addrs:
        assert srv.wait_mail(a, s), "sentinel not delivered to %s" % a
    srv.wait_settled()
    for a in addrs:
        assert not srv.find_mail(a, marker), "refused message was delivered to %s" % a
    assert not [k for k, v in srv.queue_files().items() if marker.encode() in v], \
        "refused message is in the queue"


def one_reply(c, quiet=1.5):
    rs = c.replies_until_quiet(quiet)
    assert len(rs) == 1, "expected exactly one reply, got %r" % rs
    return rs[0]


# ---------------------------------------------------------------- simple commands


def test_rset_noop_help_vrfy_quit(server):
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("NOOP").code == 250
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd("RSET").code == 250
        # RSET ended the transaction: MAIL is allowed again, RCPT first is not.
        assert c.cmd("RCPT TO:<alice@example.test>").code == 503
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd("HELP").code == 214
        assert c.cmd("VRFY alice@example.test").code == 252
        assert c.cmd("VRFY nobody").code == 252
        r = c.cmd("QUIT")
        assert r.code == 221, r
        assert c.closed(5)


def test_unknown_command_500(server):
    with Conn(server.port("smtp")) as c:
        r = c.cmd("FROBNICATE now")
        assert r.code == 500, r
        assert c.cmd("NOOP").code == 250


def test_sequence_errors_503(server):
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        r = c.cmd("DATA")
        assert r.code in (503, 554), "DATA without MAIL: %r" % r
        r = c.cmd("RCPT TO:<alice@example.test>")
        assert r.code == 503, "RCPT without MAIL: %r" % r
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        r = c.cmd("MAIL FROM:<a@remote.test>")
        assert r.code == 503, "MAIL twice: %r" % r
        r = c.cmd("DATA")
        assert r.code in (503, 554), "DATA without RCPT: %r" % r
        assert c.cmd("NOOP").code == 250


def test_mail_before_helo_refused(server):
    with Conn(server.port("smtp")) as c:
        r = c.cmd("MAIL FROM:<a@remote.test>")
        assert r.code == 503, r


def test_unknown_mail_parameter_refused(server):
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<a@remote.test> FROB=1")
        assert r.code in (501, 555), r


# ---------------------------------------------------------------- command lines


def test_command_line_512_octets_ok(server):
    with Conn(server.port("smtp")) as c:
        line = "NOOP " + "x" * 505  # 510 + CRLF = 512 octets
        assert len(line) + 2 == 512
        assert c.cmd(line).code == 250


def test_command_line_over_512_octets_500(server):
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        c.send("NOOP " + "x" * 600 + "\r\n")
        r = one_reply(c)
        assert r.code == 500 and (r.enhanced or "").startswith("5.5."), r


@pytest.mark.parametrize("raw", [
    b"NOOP\nNOOP\r\n",
    b"NOOP\rNOOP\r\n",
    b"MAIL FROM:<a@remote.test>\nRCPT TO:<alice@example.test>\r\n",
    b"NOOP\n",
])
def test_bare_cr_lf_in_command_5xx_and_close(server, raw):
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        c.send(raw)
        rs = c.replies_until_quiet(2.0)
        assert len(rs) == 1, "one line must give exactly one reply, got %r" % rs
        assert 500 <= rs[0].code < 600, rs
        assert c.closed(5), "connection left open after a bare CR/LF in a command"


# ---------------------------------------------------------------- pipelining


def test_pipelining_batch(server):
    m = token()
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        c.send("RSET\r\nMAIL FROM:<p@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
               "RCPT TO:<nobody-at-all@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        codes = [c.reply().code for _ in range(6)]
        assert codes == [250, 250, 250, 550, 250, 354], codes
        c.send(message(m).encode() + b".\r\nNOOP\r\n")
        assert c.reply().code == 250
        assert c.reply().code == 250
    assert server.wait_mail("alice@example.test", m)
    assert server.wait_mail("bob@example.test", m)


def test_bytes_after_data_before_354_is_554(server):
    m = token()
    c = open_txn(server)
    try:
        c.send("DATA\r\n" + message(m) + ".\r\n")
        r = c.reply()
        assert r.code == 554, "pipelined message text after DATA must be refused: %r" % r
        assert c.closed(5), "connection open after the 554"
    finally:
        c.close()
    assert_not_delivered(server, m)


# ---------------------------------------------------------------- end of data, smuggling


def test_dot_unstuffing(server):
    m = token()
    body = "..x\r\n...\r\n..\r\n. .\r\nend\r\n"
    c = open_txn(server)
    try:
        assert c.cmd("DATA").code == 354
        c.send(message(m, body=body).encode() + b".\r\n")
        assert c.reply().code == 250
    finally:
        c.close()
    got = server.wait_mail("alice@example.test", m)
    assert got
    b = got[0].split(b"\n\n", 1)[1]
    assert b == b".x\n..\n.\n .\nend\n", b


@pytest.mark.parametrize("sep", [
    b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r", b"\r.\r", b"\n.\r",
], ids=lambda s: s.decode().replace("\r", "CR").replace("\n", "LF"))
def test_smuggling_family(server, sep):
    m = token()
    evil = token()
    c = open_txn(server)
    try:
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: x " + m.encode() + b"\r\n\r\nhello" + sep
               + b"MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
               + b"Subject: smuggled " + evil.encode() + b"\r\n\r\nevil\r\n.\r\n")
        rs = c.replies_until_quiet(2.0)
        assert len(rs) == 1, "exactly one reply to the real end of data, got %r" % rs
        assert 500 <= rs[0].code < 600, "bare CR/LF in data must be refused: %r" % rs
    finally:
        c.close()
    assert_not_delivered(server, evil)
    assert not server.find_mail("alice@example.test", m)


@pytest.mark.parametrize("body", [b"one\ntwo\r\n", b"one\rtwo\r\n", b"a\r\r\n"],
                         ids=["bareLF", "bareCR", "CRCRLF"])
def test_bare_cr_lf_in_data_refused(server, body):
    m = token()
    c = open_txn(server)
    try:
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: " + m.encode() + b"\r\n\r\n" + body + b".\r\n")
        r = one_reply(c)
        assert 500 <= r.code < 600, r
    finally:
        c.close()
    assert_not_delivered(server, m)


def test_text_line_1000_octets_ok_over_hard_cap_refused(server):
    """Lines over 1000 octets are accepted (test_long_lines.py); a line over
    the hard cap of 1 MiB is refused."""
    ok, bad = token(), token()
    c = open_txn(server)
    try:
        assert c.cmd("DATA").code == 354
        c.send(message(ok, body="y" * 998 + "\r\n").encode() + b".\r\n")  # 1000 with CRLF
        assert c.reply().code == 250
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd("RCPT TO:<alice@example.test>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(message(bad, body="z" * (1024 * 1024 + 1) + "\r\n").encode() + b".\r\n")
        r = one_reply(c)
        assert (r.code, r.enhanced) == (550, "5.6.0"), "a 1 MiB + 1 line must be refused: %r" % r
    finally:
        c.close()
    assert server.wait_mail("alice@example.test", ok)
    assert_not_delivered(server, bad)


# ---------------------------------------------------------------- size


def test_size_param_default_limit(server):
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<a@remote.test> SIZE=36700161")
        assert (r.code, r.enhanced) == (552, "5.3.4"), r
        r = c.cmd("MAIL FROM:<a@remote.test> SIZE=36700160")
        assert r.code == 250, r


def test_size_limit_configured_and_enforced_while_streaming(make_server):
    srv = make_server(limits={"message-size-limit": 10000})
    big, small, bdat = token(), token(), token()
    with Conn(srv.port("smtp")) as c:
        r = c.ehlo()
        assert caps(r)["SIZE"].split()[1:] == ["10000"], r
        r = c.cmd("MAIL FROM:<a@remote.test> SIZE=10001")
        assert (r.code, r.enhanced) == (552, "5.3.4"), r
        # Streaming: no SIZE given, the text grows past the limit.
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd("RCPT TO:<alice@example.test>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(message(big, body=("b" * 70 + "\r\n") * 300).encode() + b".\r\n")
        r = one_reply(c, quiet=2.0)
        assert (r.code, r.enhanced) == (552, "5.3.4"), r
        # The session stays usable, and a message under the limit passes.
        r = send_raw_message(c, "a@remote.test", ["alice@example.test"],
                             message(small, body=("s" * 70 + "\r\n") * 100).encode() + b".\r\n")
        assert r.code == 250, r
        # BDAT over the limit.
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd("RCPT TO:<alice@example.test>").code == 250
        chunk = message(bdat, body=("c" * 70 + "\r\n") * 300).encode()
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        r = one_reply(c, quiet=2.0)
        assert (r.code, r.enhanced) == (552, "5.3.4"), r
    assert srv.wait_mail("alice@example.test", small)
    srv.wait_settled()
    assert not srv.find_mail("alice@example.test", big)
    assert not srv.find_mail("alice@example.test", bdat)
    assert not [v for v in srv.queue_files().values() if big.encode() in v]


# ---------------------------------------------------------------- BDAT


def test_bdat_chunks_delivered_verbatim(server):
    m = token()
    msg = message(m, body="..x\r\n.\r\nend\r\n").encode()
    c1, c2 = msg[:25], msg[25:]
    c = open_txn(server)
    try:
        c.send(b"BDAT %d\r\n" % len(c1) + c1)
        assert c.reply().code == 250
        c.send(b"BDAT %d LAST\r\n" % len(c2) + c2)
        r = c.reply()
        assert r.code == 250, r
    finally:
        c.close()
    got = server.wait_mail("alice@example.test", m)
    assert got
    assert got[0].split(b"\n\n", 1)[1] == b"..x\n.\nend\n"


def test_bdat_pipelined_with_envelope(server):
    m = token()
    msg = message(m).encode()
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        c.send(b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\n"
               b"BDAT %d LAST\r\n" % len(msg) + msg)
        assert [c.reply().code for _ in range(3)] == [250, 250, 250]
    assert server.wait_mail("bob@example.test", m)


def test_bdat_bare_lf_refused(server):
    m = token()
    msg = b"Subject: " + m.encode() + b"\r\n\r\none\ntwo\r\n"
    c = open_txn(server)
    try:
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        r = one_reply(c)
        assert 500 <= r.code < 600, r
    finally:
        c.close()
    assert_not_delivered(server, m)


# ---------------------------------------------------------------- ESMTP parameters


def test_8bitmime_body_delivered_exactly(server):
    m = token()
    body = "h\u00e9llo \u2713 \u00fc\r\n"
    c = open_txn(server, params=" BODY=8BITMIME")
    try:
        assert c.cmd("DATA").code == 354
        c.send(message(m, body=body).encode("utf-8") + b".\r\n")
        assert c.reply().code == 250
    finally:
        c.close()
    got = server.wait_mail("alice@example.test", m)
    assert got and got[0].endswith(body.replace("\r\n", "\n").encode("utf-8"))


def test_smtputf8_accepted(server):
    m = token()
    c = open_txn(server, frm="j\u00f6rg@remote.test", params=" SMTPUTF8 BODY=8BITMIME")
    try:
        assert c.cmd("DATA").code == 354
        c.send(message(m, subject="gr\u00fc\u00dfe " + m).encode("utf-8") + b".\r\n")
        assert c.reply().code == 250
    finally:
        c.close()
    got = server.wait_mail("alice@example.test", m)
    assert got
    assert got[0].startswith("Return-Path: <j\u00f6rg@remote.test>\n".encode("utf-8"))


def test_dsn_params_kept_in_spool(server):
    m = token()
    with login_conn(server, "submission", "alice@example.test") as c:
        r = c.cmd("MAIL FROM:<alice@example.test> RET=HDRS ENVID=QQ%s" % m)
        assert r.code == 250, r
        r = c.cmd("RCPT TO:<friend@remote.test> NOTIFY=SUCCESS,FAILURE "
                  "ORCPT=rfc822;friend@remote.test")
        assert r.code == 250, r
        r = c.cmd("RCPT TO:<bob@example.test> NOTIFY=NEVER")
        assert r.code == 250, r
        assert c.cmd("DATA").code == 354
        c.send(message(m).encode() + b".\r\n")
        assert c.reply().code == 250
    q = server.wait_queue(m)
    assert q, "remote recipient's message not in spool/queue"
    raw = list(q.values())[0].decode(errors="replace").replace("\r\n", "\n")
    env = raw.split("\n\n", 1)[0]
    assert re.search(r"^envid\s+QQ%s\s*$" % m, env, re.M), env
    assert re.search(r"^ret\s+HDRS\s*$", env, re.M | re.I), env
    rcpt = [ln for ln in env.splitlines() if ln.startswith("rcpt") and "friend@remote.test" in ln]
    assert rcpt, env
    assert re.search(r"notify=\S", rcpt[0], re.I), rcpt[0]
    assert re.search(r"orcpt=\S*friend@remote\.test", rcpt[0], re.I), rcpt[0]


def test_dsn_param_syntax_errors_refused(server):
    with Conn(server.port("smtp")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test> RET=SOMETIMES").code in (501, 555)
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        r = c.cmd("RCPT TO:<alice@example.test> NOTIFY=NEVER,SUCCESS")
        assert r.code in (501, 555), r


# ---------------------------------------------------------------- queue id in the log


def test_queue_id_on_every_event(make_server):
    srv = make_server()
    m = token()
    with Conn(srv.port("smtp")) as c:
        c.ehlo()
        r = send_raw_message(c, "a@remote.test", ["bob@example.test"], message(m).encode()
                             + b".\r\n")
        assert r.code == 250
    assert srv.wait_mail("bob@example.test", m)
    assert srv.wait_log(r"status=sent", timeout=5), srv.log_text()
    log = srv.log_text()
    sent = [ln for ln in log.splitlines() if "status=sent" in ln]
    assert len(sent) == 1, sent
    qid = re.search(r"\bid=([A-Za-z0-9]+)", sent[0])
    assert qid, sent[0]
    events = [ln for ln in log.splitlines() if re.search(r"\bid=%s\b" % qid.group(1), ln)]
    assert len(events) >= 2, "the accept event should carry id=%s too:\n%s" % (qid.group(1), log)
    assert any("status=sent" not in ln for ln in events)
