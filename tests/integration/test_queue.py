"""`mailport queue list|show|flush|delete` against a running server's spool.

Mail for a remote domain stays queued (outbound delivery is not built yet),
which gives the queue something to show. Every command runs while the server
runs; the server must stay alive with a clean log.
"""

import json
import os
import re
import time

import pytest

from conftest import login_conn, message, run, send_raw_message, token

QID = re.compile(r"^[0-9A-F]{16}$")
REMOTE = ["friend@remote.test", '"john doe"@remote.test']
LOCAL = "bob@example.test"


def queue(srv, *args, check=False):
    return run([srv.binary, "queue", *args, "-c", srv.conf], check=check)


def out(p):
    return p.stdout.decode(errors="replace")


def err(p):
    return p.stderr.decode(errors="replace")


def queue_remote(srv, marker, rcpts=None, local=True):
    """Submit one message for REMOTE (and bob, local) with DSN parameters;
    wait until it sits in queue/ with bob's delivery recorded. Returns
    (qid, file bytes)."""
    rcpts = list(REMOTE if rcpts is None else rcpts) + ([LOCAL] if local else [])
    body = message(marker, to=REMOTE[0], body="BODY-%s must not be shown\r\n" % marker)
    with login_conn(srv, "submission", "alice@example.test") as c:
        assert c.cmd("MAIL FROM:<alice@example.test> RET=HDRS ENVID=env+2B%s" % marker).code == 250
        for i, r in enumerate(rcpts):
            opt = " NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;friend@remote.test" if i == 0 else ""
            rep = c.cmd("RCPT TO:<%s>%s" % (r, opt))
            assert rep.code == 250, rep
        assert c.cmd("DATA").code == 354
        c.send(body.encode() + b".\r\n")
        rep = c.reply()
        assert rep.code == 250, rep
    if local:
        assert srv.wait_mail(LOCAL, marker), "the local copy was not delivered"
    hits = {k: v for k, v in srv.wait_queue(marker).items() if QID.match(k)}
    assert len(hits) == 1, hits
    qid, data = next(iter(hits.items()))
    if local:
        state = os.path.join(srv.spool, "queue", qid + ".state")
        deadline = time.monotonic() + 10
        while not os.path.exists(state) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.path.exists(state), "bob's delivery never recorded"
    return qid, data


def log_problems(srv, since):
    """Warnings and errors the server logged after offset since."""
    return [ln for ln in srv.log_text()[since:].splitlines()
            if re.search(r"\]: (warning|error|err|crit)", ln)]


# ---------------------------------------------------------------- list


def test_list_empty_spool_says_so(make_server):
    srv = make_server()
    p = queue(srv, "list")
    assert p.returncode == 0, err(p)
    assert "queue is empty" in out(p)
    p = queue(srv, "list", "--json")
    assert p.returncode == 0, err(p)
    assert json.loads(out(p)) == {"messages": []}


def test_list_before_the_server_ever_ran_is_empty(make_server):
    srv = make_server(start=False)
    assert not os.path.exists(srv.spool)
    p = queue(srv, "list")
    assert p.returncode == 0, err(p)
    assert "queue is empty" in out(p)


def test_list_shows_queued_remote_mail(server):
    m = token()
    qid, data = queue_remote(server, m)
    size = len(data.split(b"\n\n", 1)[1])  # the message, envelope excluded
    p = queue(server, "list")
    assert p.returncode == 0, err(p)
    lines = [ln for ln in out(p).splitlines() if ln.startswith(qid)]
    assert len(lines) == 1, out(p)
    ln = lines[0]
    assert re.search(r"\b%d\b" % size, ln), (size, ln)
    assert re.search(r"\s\d+[smhd]\s", ln), ln  # the age
    assert "<alice@example.test>" in ln
    assert "<friend@remote.test>" in ln and '<"john doe"@remote.test>' in ln
    assert LOCAL not in ln, "a delivered recipient is listed as pending"
    assert re.search(r"^-- \d+ messages?, \d+ bytes, \d+ recipients? pending$", out(p), re.M)


def test_list_json(server):
    m = token()
    qid, data = queue_remote(server, m)
    p = queue(server, "list", "--json")
    assert p.returncode == 0, err(p)
    doc = json.loads(out(p))  # must parse: the quoted local part has '"' and a space
    mine = [x for x in doc["messages"] if x["id"] == qid]
    assert len(mine) == 1, doc
    x = mine[0]
    assert x["from"] == "alice@example.test"
    assert x["recipients"] == REMOTE
    assert x["size"] == len(data.split(b"\n\n", 1)[1])
    assert abs(x["arrival"] - time.time()) < 120
    assert 0 <= x["age_seconds"] < 120
    # Outbound delivery may already have tried: the test servers' resolver is a
    # dead loopback port, so the lookup fails and the message is deferred.
    if x["next_attempt"] is None:
        assert x["last_error"] is None and x["attempts"] == 0
    else:
        assert x["attempts"] >= 1 and x["next_attempt"] > time.time() - 5
        assert "DNS" in x["last_error"], x["last_error"]


def test_deferred_message_shows_next_attempt_and_error(server):
    m = token()
    qid, _ = queue_remote(server, m)
    deadline = time.monotonic() + 15
    x = None
    while time.monotonic() < deadline:
        doc = json.loads(out(queue(server, "list", "--json")))
        x = [y for y in doc["messages"] if y["id"] == qid][0]
        if x["last_error"]:
            break
        time.sleep(0.2)
    assert x["attempts"] >= 1 and "DNS" in x["last_error"], x
    assert x["next_attempt"] > time.time(), "deferred: the next attempt is in the future"
    shown = out(queue(server, "show", qid))
    assert "attempts:" in shown and "DNS lookup" in shown
    listed = out(queue(server, "list"))
    assert "last error: DNS lookup" in listed


# ---------------------------------------------------------------- show


def test_show_envelope_and_headers_not_body(server):
    m = token()
    qid, _ = queue_remote(server, m)
    p = queue(server, "show", qid)
    assert p.returncode == 0, err(p)
    text = out(p)
    assert "BODY-" + m not in text, "show printed the body"
    for want in ("alice@example.test", "<friend@remote.test>", '<"john doe"@remote.test>',
                 "127.0.0.1", "HDRS", "notify=SUCCESS,FAILURE", "Subject: test " + m,
                 "Message-ID: <%s@client.example.test>" % m):
        assert want in text, (want, text)
    assert re.search(r"^delivered:\s+<bob@example\.test>", text, re.M), text
    assert re.search(r"^auth user:\s+alice@example\.test", text, re.M), text
    assert re.search(r"^helo:\s+client\.example\.test$", text, re.M), text
    assert re.search(r"^Received: ", text, re.M), text
    assert re.search(r"^dsn ret:\s+HDRS$", text, re.M), text


def test_show_json(server):
    m = token()
    qid, _ = queue_remote(server, m)
    # IDs are accepted in lower case too.
    p = queue(server, "show", qid.lower(), "--json")
    assert p.returncode == 0, err(p)
    assert "BODY-" + m not in out(p)
    d = json.loads(out(p))
    assert d["id"] == qid
    assert d["from"] == "alice@example.test"
    assert d["recipients"] == REMOTE
    assert d["delivered"] == [LOCAL]
    assert d["client"] == "127.0.0.1" and d["auth"] == "alice@example.test"
    assert d["ret"] == "HDRS" and d["envid"] == "env+2B" + m
    rc = {r["address"]: r for r in d["envelope_recipients"]}
    assert rc["friend@remote.test"]["notify"] == "SUCCESS,FAILURE"
    assert rc["friend@remote.test"]["orcpt"] == "rfc822;friend@remote.test"
    assert rc[LOCAL]["status"] == "delivered"
    assert rc['"john doe"@remote.test']["status"] == "pending"
    hdr = {h["name"].lower(): h["value"] for h in d["headers"]}
    assert hdr["subject"] == "test " + m
    assert "received" in hdr


@pytest.mark.parametrize("verb", ["show", "delete", "flush"])
@pytest.mark.parametrize("bad", ["../../etc/passwd", "/etc/passwd", "..", "", "zz",
                                 "0123456789ABCDEF0", "0123456789ABCDEG",
                                 "0123456789ABCDE/", "0123456789ABCDEF"])
def test_unknown_or_malformed_id_is_66(server, verb, bad):
    before = os.stat("/etc/passwd")
    p = queue(server, verb, bad)
    assert p.returncode == 66, (p.returncode, out(p), err(p))
    e = err(p)
    assert "not a queue ID" in e or "no message in the queue" in e, e
    assert "mailport queue list" in e  # the way to find a right one
    assert "root:" not in out(p) + e
    after = os.stat("/etc/passwd")
    assert (before.st_ino, before.st_size) == (after.st_ino, after.st_size)


# ---------------------------------------------------------------- delete


def test_delete_while_the_server_runs(server):
    m = token()
    qid, _ = queue_remote(server, m)
    mark = server.log_size()
    p = queue(server, "delete", qid)
    assert p.returncode == 0, err(p)
    assert "removed " + qid in out(p) and "2 recipients not delivered" in out(p), out(p)
    qdir = os.path.join(server.spool, "queue")
    assert not os.path.exists(os.path.join(qdir, qid))
    assert not os.path.exists(os.path.join(qdir, qid + ".state"))
    assert qid not in out(queue(server, "list"))
    p = queue(server, "delete", qid)
    assert p.returncode == 66 and "no message in the queue" in err(p), err(p)
    p = queue(server, "show", qid)
    assert p.returncode == 66
    # The server keeps working: a flush rescans without tripping on the gap,
    # and new mail is delivered.
    assert queue(server, "flush").returncode == 0
    assert server.wait_log(r"event=flush", since=mark)
    m2 = token()
    with login_conn(server, "submission", "alice@example.test") as c:
        r = send_raw_message(c, "alice@example.test", [LOCAL], message(m2).encode() + b".\r\n")
        assert r.code == 250, r
    assert server.wait_mail(LOCAL, m2)
    assert server.alive()
    assert log_problems(server, mark) == []


# ---------------------------------------------------------------- flush


def test_flush_signals_the_server(server):
    m = token()
    qid, _ = queue_remote(server, m)
    mark = server.log_size()
    p = queue(server, "flush")
    assert p.returncode == 0, err(p)
    assert "pid %d" % server.pid in out(p), out(p)
    assert server.wait_log(r"event=flush", since=mark), server.log_text()[mark:]
    p = queue(server, "flush", qid)
    assert p.returncode == 0, err(p)
    assert qid in out(p)
    assert server.alive()
    assert log_problems(server, mark) == []
    # Remote mail stays queued (no outbound delivery yet).
    assert qid in out(queue(server, "list"))


def test_flush_retries_a_deferred_local_delivery_now(make_server):
    """A mailbox that cannot be written defers; once fixed, flush delivers at
    once instead of at the next periodic rescan (a minute)."""
    srv = make_server()
    domain_dir = os.path.join(srv.mail, "example.test")
    os.makedirs(domain_dir, exist_ok=True)
    os.chmod(domain_dir, 0o555)  # the server (its run user) cannot make bob/ here
    m = token()
    with login_conn(srv, "submission", "alice@example.test") as c:
        r = send_raw_message(c, "alice@example.test", [LOCAL], message(m).encode() + b".\r\n")
        assert r.code == 250, r
    assert srv.wait_log(r"status=deferred"), srv.log_text()
    assert not srv.find_mail(LOCAL, m)
    os.chmod(domain_dir, 0o777)
    mark = srv.log_size()
    p = queue(srv, "flush")
    assert p.returncode == 0, err(p)
    assert srv.wait_log(r"event=flush", since=mark)
    assert srv.wait_mail(LOCAL, m, timeout=10), "flush did not retry the delivery"
    assert "queue is empty" in out(queue(srv, "list"))


def test_flush_without_a_server_is_69(make_server):
    srv = make_server(start=False)
    p = queue(srv, "flush")
    assert p.returncode == 69, (p.returncode, err(p))
    assert "no mailport server is running" in err(p)
    assert "start mailport serve" in err(p)
    # A stopped server leaves its lock file; a killed one, its pid too: the
    # free lock, not the file, says no server runs, and nothing is signalled.
    srv.start()
    queue_remote(srv, token(), local=False)
    srv.kill9()
    lock = os.path.join(srv.spool, "lock")
    assert os.path.exists(lock)
    with open(lock, "w") as f:
        f.write("%d\n" % os.getpid())  # a live pid: signalling it would kill pytest
    p = queue(srv, "flush")
    assert p.returncode == 69, (p.returncode, err(p))
    assert "start mailport serve" in err(p)
    srv.expect_exit = True


# ---------------------------------------------------------------- usage


def test_usage_and_config_errors(make_server):
    srv = make_server(start=False)
    p = run([srv.binary, "queue", "--help"], check=False)
    assert p.returncode == 0 and "list|show ID|flush [ID]|delete ID" in out(p)
    for args in (["show"], ["list", "x"], ["delete"], ["flush", "a", "b"], ["frob"], []):
        p = run([srv.binary, "queue", *args, "-c", srv.conf], check=False)
        assert p.returncode == 64, (args, p.returncode)
    p = run([srv.binary, "queue", "list", "-c", srv.conf + ".missing"], check=False)
    assert p.returncode == 78, err(p)


def test_retry_schedule_survives_restart(make_server):
    srv = make_server()
    m = token()
    qid, _ = queue_remote(srv, m)
    assert srv.wait_log(r"id=%s event=delivery .*status=deferred" % qid, timeout=15)
    mark = srv.log_size()
    srv.restart()
    time.sleep(2)  # kept: that nothing happens in the seconds after a restart is the subject
    # The first retry is 5 minutes away (retry-interval's default): a restart
    # must not bring it forward.
    assert ("id=%s event=delivery" % qid) not in srv.log_text()[mark:]
    doc = json.loads(out(queue(srv, "list", "--json")))
    x = [y for y in doc["messages"] if y["id"] == qid][0]
    assert x["attempts"] == 1 and x["next_attempt"] > time.time() + 200
