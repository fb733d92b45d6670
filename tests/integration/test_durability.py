"""Durability: a 250 means the message survives kill -9."""

import collections
import os
import re
import shutil
import signal
import smtplib
import subprocess
import threading
import time
import warnings

import pytest

from conftest import Conn, message, poll, send_raw_message, smtp_client, token

RCPTS = ("alice@example.test", "bob@example.test", "carol@second.test")
MID = re.compile(rb"Message-ID: <(t[0-9a-f]{16})@client\.example\.test>")


def all_delivered(srv):
    """token -> list of the mailboxes (one entry per Maildir file) holding it."""
    seen = collections.defaultdict(list)
    for rc in RCPTS:
        for data in srv.delivered(rc).values():
            m = MID.search(data)
            if m:
                seen[m.group(1).decode()].append(rc)
    return seen


def test_kill9_mid_load_loses_no_acknowledged_message(make_server):
    srv = make_server()
    acked = []            # (token, rcpt) for every message the server answered 250
    lock = threading.Lock()
    stop = threading.Event()
    failures = []
    # 8 senders over all four doors: plain on 25, STARTTLS+AUTH on 587/2525, TLS on 465.
    plan = [("smtp", None), ("smtp", None), ("smtp", None), ("smtp", None),
            ("submission", "alice@example.test"), ("fallback", "bob@example.test"),
            ("submissions", "alice@example.test"), ("submissions", "bob@example.test")]

    def sender(i):
        door, user = plan[i]
        deadline = time.monotonic() + 20
        try:
            s = smtp_client(srv, door, starttls=(door != "smtp"), login=user, timeout=10)
        except Exception as e:  # noqa: BLE001 - the server may already be gone
            failures.append((i, "connect", repr(e)))
            return
        n = 0
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                t = token()
                rc = RCPTS[(i + n) % len(RCPTS)]
                frm = user or "load%d@remote.test" % i
                s.sendmail(frm, [rc], message(t, frm=frm, to=rc,
                                              body=("load %d %d\r\n" % (i, n)) * 20))
                with lock:
                    acked.append((t, rc))
                n += 1
        except (smtplib.SMTPException, OSError):
            pass  # the kill: anything not answered 250 may or may not arrive
        finally:
            try:
                s.close()
            except Exception:  # noqa: BLE001
                pass

    threads = [threading.Thread(target=sender, args=(i,), daemon=True) for i in range(8)]
    for th in threads:
        th.start()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 8:
        with lock:
            n = len(acked)
        if n >= 40 and time.monotonic() - t0 >= 2.0:
            break
        time.sleep(0.05)
    print("kill after %.1f s with %d acked" % (time.monotonic() - t0, len(acked)))
    running = sum(th.is_alive() for th in threads)
    srv.kill9()
    stop.set()
    for th in threads:
        th.join(30)
    assert not any(th.is_alive() for th in threads), "sender threads hung after the kill"
    assert not failures, failures
    assert running >= 4, "the load had stopped before the kill (%d senders left)" % running
    with lock:
        acked_now = list(acked)
    assert len(acked_now) >= 8, "too few messages acknowledged before the kill: %d" % len(acked_now)

    queued_at_restart = srv.queue_files()
    srv.start()  # same config, same spool
    want = {t for t, _ in acked_now}
    deadline = time.monotonic() + 30
    while True:
        seen = all_delivered(srv)
        missing = want - set(seen)
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    print("%d acknowledged, %d still in the queue at restart, all found %.1f s after restart"
          % (len(want), len([n for n in queued_at_restart if "." not in n]),
             time.monotonic() - deadline + 30))
    assert not missing, "%d of %d acknowledged messages lost after kill -9: %s" % (
        len(missing), len(want), sorted(missing)[:10])
    # Each went to the mailbox it was addressed to.
    wrong = [(t, rc, seen[t]) for t, rc in acked_now if rc not in seen[t]]
    assert not wrong, "delivered to the wrong mailbox: %r" % wrong[:5]
    dups = {t: len(c) for t, c in seen.items() if len(c) > 1}
    if dups:
        warnings.warn("at-least-once: %d messages delivered more than once after kill -9: %s"
                      % (len(dups), sorted(dups.items())[:10]))


def test_queued_remote_mail_survives_kill9(make_server):
    srv = make_server()
    m = token()
    s = smtp_client(srv, "submission", login="alice@example.test")
    try:
        s.sendmail("alice@example.test", ["far@remote.test"], message(m, to="far@remote.test"))
    finally:
        s.quit()
    before = srv.wait_queue(m)
    assert before, "message for a remote domain not in spool/queue"
    srv.kill9()
    srv.start()
    # Whatever the server does with it now is done once it has been tried
    # (before the kill, or now; the retry after that is minutes away).
    srv.wait_log(r"id=%s event=delivery " % next(iter(before)))
    after = srv.wait_queue(m)
    assert after, "queued message gone after kill -9 and restart"
    # The message itself is unchanged.
    assert list(after.values())[0] == list(before.values())[0]


def test_spool_tmp_leftovers_never_delivered(make_server):
    # A message cut off mid-DATA by kill -9 got no 250: it must not show up
    # after restart (the partial file is not a message).
    srv = make_server()
    m = token()
    c = Conn(srv.port("smtp"))
    c.ehlo()
    assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
    assert c.cmd("RCPT TO:<alice@example.test>").code == 250
    assert c.cmd("DATA").code == 354
    c.send(message(m, body="partial\r\n" * 100))
    # Kept: nothing outside shows that the server has read these bytes (a
    # small message stays in memory until its commit); the pause lets them in.
    time.sleep(0.5)
    srv.kill9()
    c.close()
    srv.start()
    s = token()
    c = Conn(srv.port("smtp"))
    c.ehlo()
    assert send_raw_message(c, "a@remote.test", ["alice@example.test"],
                            message(s).encode() + b".\r\n").code == 250
    c.close()
    assert srv.wait_mail("alice@example.test", s)
    srv.wait_settled()
    assert not srv.find_mail("alice@example.test", m)
    assert not [v for v in srv.queue_files().values() if m.encode() in v]


# ---------------------------------------------------------------- fsync ordering (strace)

STRACE_CALLS = ("fsync,fdatasync,syncfs,sync_file_range,rename,renameat,renameat2,link,"
                "linkat,unlink,unlinkat,write,writev,pwrite64,sendto,sendmsg")
RENAMES = ("rename", "renameat", "renameat2", "link", "linkat")
SYNCS = ("fsync", "fdatasync")
WRITES = ("write", "writev", "pwrite64", "sendto", "sendmsg")


def strace_usable():
    if shutil.which("strace") is None:
        return False
    p = subprocess.run(["strace", "-f", "-o", "/dev/null", "true"], capture_output=True,
                       timeout=30)
    return p.returncode == 0


def parse_strace(text):
    """Calls in order: dicts with pid, name, args (incl. result), start and end
    line numbers (end: when it returned, for calls strace split in two)."""
    calls, pending = [], {}
    for i, raw in enumerate(text.splitlines()):
        m = re.match(r"^(\d+)\s+(.*)$", raw)
        if not m:
            continue
        pid, rest = m.groups()
        r = re.match(r"^<\.\.\. (\w+) resumed>(.*)$", rest)
        if r:
            c = pending.pop(pid, None)
            if c is not None:
                c["end"] = i
                c["args"] += r.group(2)
            continue
        r = re.match(r"^(\w+)\((.*)$", rest)
        if not r:
            continue
        c = {"pid": pid, "name": r.group(1), "args": r.group(2), "start": i, "end": i}
        if rest.endswith("<unfinished ...>"):
            c["end"] = None
            pending[pid] = c
        calls.append(c)
    return [c for c in calls if c["end"] is not None]


def ok(c):
    return re.search(r"\)\s+=\s+0\s*$", c["args"]) is not None


def fd_path(c):
    m = re.match(r"^\d+<([^>]*)>", c["args"])
    return m.group(1) if m else ""


def check_commit(calls, w250):
    """The message acknowledged by w250: its file made durable (its own
    fdatasync, or a syncfs of the spool's filesystem after its last write),
    renamed into queue/, and queue/ fsynced, in that order, before the 250.
    Returns its qid, the name its file had in tmp/ and the sync call."""
    ren = [c for c in calls if c["name"] in RENAMES and ok(c) and "queue" in c["args"]
           and c["end"] < w250["start"] and "/mail/" not in c["args"]
           and "/spool/queue>" in c["args"].split(",")[2]]
    assert ren, "no rename into queue/ before the 250"
    ren = ren[-1]
    names = re.findall(r'"([^"]*)"', ren["args"])
    assert len(names) >= 2, ren
    src, qid = names[0], names[1]
    writes = [c for c in calls if c["name"] in WRITES and fd_path(c).endswith("/tmp/" + src)
              and c["end"] < ren["start"]]
    assert writes, "no write to %s before its rename into queue/" % src
    fsync_file = [c for c in calls if ok(c) and c["end"] < ren["start"]
                  and ((c["name"] in SYNCS and fd_path(c).endswith("/tmp/" + src))
                       or (c["name"] == "syncfs" and "/spool" in fd_path(c)
                           and c["start"] > writes[-1]["end"]))]
    assert fsync_file, "message file %s not fsynced before its rename into queue/" % qid
    fsync_dir = [c for c in calls if c["name"] in SYNCS and ok(c)
                 and fd_path(c).rstrip("/").endswith("/spool/queue")
                 and c["start"] > ren["end"] and c["end"] < w250["start"]]
    assert fsync_dir, "queue/ not fsynced between the rename of %s and the 250" % qid
    return qid, src, fsync_file[-1]["name"]


def test_250_only_after_fsync_of_file_and_directory(make_server):
    if not strace_usable():
        pytest.skip("strace is missing or cannot trace here (ptrace not permitted), so the "
                    "order of fsync and the 250 cannot be observed")
    srv = make_server(start=False)
    trace = os.path.join(srv.dir, "strace.txt")
    real = srv.binary
    wrapper = os.path.join(srv.dir, "mailport-strace")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec strace -f -y -s 256 -e trace=%s -o %s %s \"$@\"\n"
                % (STRACE_CALLS, trace, real))
    os.chmod(wrapper, 0o755)
    srv.binary = wrapper
    srv.start()
    # Two messages, the second once the first is delivered and removed: the
    # first gets a new spool file, the second reuses the first one's.
    marks = []
    for _ in range(2):
        m = token()
        marks.append(m)
        with Conn(srv.port("smtp")) as c:
            c.ehlo()
            r = send_raw_message(c, "a@remote.test", ["alice@example.test"],
                                 message(m).encode() + b".\r\n")
            assert r.code == 250, r
            assert c.cmd("QUIT").code == 221
        assert srv.wait_mail("alice@example.test", m)
        deadline = time.monotonic() + 10
        while srv.wait_queue(m, timeout=0) and time.monotonic() < deadline:
            time.sleep(0.1)  # delivered: the queue file goes away
    # Both removals done (logged after their syscalls, so strace has them).
    poll(lambda: srv.log_text().count(" event=removed") >= 2)
    # The process started is strace; killing it would leave mailport running
    # untraced, so the server (strace's child) goes first.
    with open("/proc/%d/task/%d/children" % (srv.pid, srv.pid)) as f:
        children = [int(p) for p in f.read().split()]
    for child in children:
        os.kill(child, signal.SIGKILL)
    srv.kill9()  # no LeakSanitizer run under ptrace
    srv.binary = real
    calls = parse_strace(open(trace, errors="replace").read())

    w250s = []
    for w354 in [c for c in calls if c["name"] in WRITES and '"354 ' in c["args"]]:
        w250s.append(next(c for c in calls if c["name"] in WRITES
                          and c["start"] > w354["start"] and '"250 ' in c["args"]))
    assert len(w250s) == 2, w250s
    qid, src, how = check_commit(calls, w250s[0])
    assert src == qid, "the first message should get a new file, not %s" % src
    qid2, src2, how2 = check_commit(calls, w250s[1])
    assert src2.startswith("free-"), "the second message did not reuse a file: %s" % src2
    # Group commit: one syncfs makes a round's files durable (the spool falls
    # back to an fdatasync per file only while syncfs is slow, > 100 ms).
    assert "syncfs" in (how, how2), (how, how2)

    # Delivery: Maildir file fsynced, moved into new/, new/ fsynced, and only
    # then the queue file removed.
    # By path or by name relative to the folder's fd (strace -y: 7</...alice/new>).
    lnk = [c for c in calls if c["name"] in RENAMES and ok(c)
           and re.search(r"/alice/new[/>]", c["args"])]
    assert lnk, "no link/rename into alice's new/"
    lnk = lnk[0]
    # Its own fdatasync, or a batch's syncfs after its last write.
    mwrites = [c for c in calls if c["name"] in WRITES and "/alice/tmp/" in fd_path(c)
               and c["end"] < lnk["start"]]
    assert mwrites, "no write to a file in alice's tmp/ before the move into new/"
    assert [c for c in calls if ok(c) and c["end"] < lnk["start"]
            and ((c["name"] in SYNCS and "/alice/tmp/" in fd_path(c))
                 or (c["name"] == "syncfs" and c["start"] > mwrites[-1]["end"]))], \
        "Maildir file not fsynced before it entered new/"
    newsync = [c for c in calls if c["name"] in SYNCS and ok(c)
               and fd_path(c).rstrip("/").endswith("/alice/new") and c["start"] > lnk["end"]]
    assert newsync, "new/ not fsynced after the move"
    # Removal: an unlink of the queue file, or its rename out of queue/ into
    # tmp/free-N (the spool keeps the inode to reuse it); not the unlink of
    # its .state or .retry, nor of a tmp/ file.
    rm = [c for c in calls if ok(c) and qid in c["args"]
          and ".state" not in c["args"] and ".retry" not in c["args"]
          and ((c["name"] in ("unlink", "unlinkat")
                and "tmp" not in c["args"].split(qid)[0][-8:])
               or (c["name"] in RENAMES and "free-" in c["args"]
                   and c["args"].index(qid) < c["args"].index("free-")))]
    assert rm, "queue file %s never removed after delivery" % qid
    assert rm[0]["start"] > newsync[0]["end"], \
        "queue file removed before the delivered copy was durable"
