"""Started as root: bind first, then run as an unprivileged user."""

import os
import pwd
import socket
import time

import pytest

from conftest import HOST, Conn, message, send_raw_message, token

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="privilege drop is only observable when started as root")


def status_ids(pid, task=None):
    path = "/proc/%d/status" % pid if task is None else "/proc/%d/task/%s/status" % (pid, task)
    out = {}
    with open(path) as f:
        for ln in f:
            k, _, v = ln.partition(":")
            if k in ("Uid", "Gid"):
                out[k] = [int(x) for x in v.split()]
            elif k == "Groups":
                out[k] = [int(x) for x in v.split()]
    return out


def wait_dropped(srv, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        ids = status_ids(srv.pid)
        if 0 not in ids["Uid"] or time.monotonic() > deadline:
            return ids
        time.sleep(0.05)


def test_runs_as_nobody_by_default(make_server):
    srv = make_server()
    ids = wait_dropped(srv)
    nobody = pwd.getpwnam("nobody")
    assert ids["Uid"] == [nobody.pw_uid] * 4, "real/effective/saved/fs uid: %r" % ids["Uid"]
    # Every thread, not just the main one.
    for task in os.listdir("/proc/%d/task" % srv.pid):
        assert 0 not in status_ids(srv.pid, task)["Uid"], task


def test_drops_root_group_too(make_server):
    srv = make_server()
    ids = wait_dropped(srv)
    assert 0 not in ids["Gid"], "still in group root: Gid %r" % ids["Gid"]
    assert 0 not in ids.get("Groups", []), "root among supplementary groups: %r" % ids["Groups"]


def test_user_directive(make_server):
    who = next((n for n in ("daemon", "mail", "www-data") if _exists(n)), None)
    if who is None:
        pytest.skip("no daemon/mail/www-data account on this machine")
    srv = make_server(run_user=who)
    ids = wait_dropped(srv)
    assert ids["Uid"][1] == pwd.getpwnam(who).pw_uid, ids


def _exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def test_spool_and_mailboxes_owned_and_delivery_works(make_server):
    srv = make_server()
    ids = wait_dropped(srv)
    m = token()
    with Conn(srv.port("smtp")) as c:
        c.ehlo()
        r = send_raw_message(c, "a@remote.test", ["alice@example.test"],
                             message(m).encode() + b".\r\n")
        assert r.code == 250, r
    assert srv.wait_mail("alice@example.test", m), "delivery failed after the privilege drop"
    uid = ids["Uid"][1]
    for p in (srv.spool, srv.mail, os.path.join(srv.maildir("alice@example.test"), "new")):
        assert os.stat(p).st_uid == uid, "%s owned by uid %d, not %d" % (p, os.stat(p).st_uid,
                                                                         uid)


def privileged_free_port():
    for port in range(990, 600, -1):
        s = socket.socket()
        try:
            s.bind((HOST, port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    return None


def test_binds_privileged_port_then_drops(make_server):
    port = privileged_free_port()
    if port is None:
        pytest.skip("no free port below 1024 on 127.0.0.1")
    srv = make_server(start=False)
    srv.ports["smtp"] = port
    srv.write_config()
    srv.start()
    ids = wait_dropped(srv)
    assert 0 not in ids["Uid"], ids
    with Conn(port) as c:
        assert c.greeting.code == 220
