"""Started as root: bind first, then run as an unprivileged user."""

import os
import pwd
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import HOST, Conn, message, poll, send_raw_message, token

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
    return poll(lambda: status_ids(srv.pid), timeout, done=lambda ids: 0 not in ids["Uid"])


def test_runs_as_mailport_by_default(make_server):
    """Never the shared nobody: the server's own system account (made if missing)."""
    srv = make_server()
    ids = wait_dropped(srv)
    pw = pwd.getpwnam("mailport")
    assert ids["Uid"] == [pw.pw_uid] * 4, "real/effective/saved/fs uid: %r" % ids["Uid"]
    assert pw.pw_uid != pwd.getpwnam("nobody").pw_uid
    assert pw.pw_shell.endswith("nologin") and not os.path.isdir(pw.pw_dir), pw
    # Every thread, not just the main one.
    for task in os.listdir("/proc/%d/task" % srv.pid):
        assert 0 not in status_ids(srv.pid, task)["Uid"], task


def private_etc(srv):
    """A copy of /etc without the mailport account, mounted over /etc for the
    server alone (a mount namespace), so creating the account touches no one else."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is missing")
    etc = os.path.join(srv.dir, "etc-copy")
    subprocess.run(["cp", "-a", "/etc/.", etc + "/"], check=True, timeout=60)
    for name in ("passwd", "group", "shadow", "gshadow"):
        path = os.path.join(etc, name)
        if os.path.exists(path):
            with open(path) as f:
                lines = [ln for ln in f if not ln.startswith("mailport:")]
            with open(path, "w") as f:
                f.writelines(lines)
    wrapper = os.path.join(srv.dir, "in-private-etc")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec unshare -m --propagation private sh -c "
                "'mount --bind \"$0\" /etc && exec \"$@\"' %s %s \"$@\"\n"
                % (etc, srv.binary))
    os.chmod(wrapper, 0o755)
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                           capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("no mount namespace here: %s" % probe.stderr.decode(errors="replace"))
    srv.binary = wrapper
    return etc


def test_creates_the_mailport_account_when_missing(make_server):
    srv = make_server(start=False)
    etc = private_etc(srv)
    srv.start()
    ids = wait_dropped(srv)
    entry = next(ln for ln in open(os.path.join(etc, "passwd")) if ln.startswith("mailport:"))
    _, _, uid, gid, _, home, shell = entry.strip().split(":")
    assert ids["Uid"] == [int(uid)] * 4, (ids, entry)
    assert ids["Gid"] == [int(gid)] * 4, (ids, entry)
    assert int(uid) < 1000, "a system account: %s" % entry
    assert shell.endswith("nologin") and home == "/nonexistent", entry
    assert any(ln.startswith("mailport:") for ln in open(os.path.join(etc, "group")))
    assert "event=run_user_created user=mailport" in srv.log_text()
    with Conn(srv.port("smtp")) as c:
        assert c.greeting.code == 220


def test_users_file_readable_by_others_is_warned(make_server):
    srv = make_server()  # the fixture's users file is 0644
    users = os.path.join(srv.dir, "users")
    m = srv.wait_log(r"event=file_readable_by_others what=\"users file\" path=%s mode=0644"
                     % re.escape(users), timeout=5)
    assert m, srv.log_text()
    assert "chmod o-r" in srv.log_text()
    # 0640 with the server's group: no warning, and it can still re-read it.
    os.chown(users, 0, pwd.getpwnam("mailport").pw_gid)
    os.chmod(users, 0o640)
    srv.restart()
    wait_dropped(srv)
    assert "file_readable_by_others what=\"users file\"" not in srv.current_log()
    assert "run_user_cannot_read" not in srv.current_log()


def test_users_file_the_run_user_cannot_read_is_warned(make_server):
    srv = make_server(start=False)
    users = os.path.join(srv.dir, "users")
    os.chmod(users, 0o600)  # root's: read at start, but not when it changes
    srv.start()
    assert srv.wait_log(r"event=run_user_cannot_read what=\"users file\" path=%s"
                        % re.escape(users), timeout=5), srv.log_text()
    assert "chgrp mailport %s" % users in srv.log_text()


def test_users_file_made_private_when_missing(make_server):
    srv = make_server(start=False)
    users = os.path.join(srv.dir, "users")
    os.unlink(users)
    srv.start()
    wait_dropped(srv)
    st = os.stat(users)
    assert st.st_mode & 0o777 == 0o640, oct(st.st_mode)
    assert st.st_uid == 0 and st.st_gid == pwd.getpwnam("mailport").pw_gid
    assert "file_readable_by_others what=\"users file\"" not in srv.log_text()
    assert "event=users_file_created path=%s mode=0640" % users in srv.log_text()


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


def test_spool_under_a_0700_folder_is_named_with_the_fix(make_server):
    """A checkout in /root: the run user cannot enter the folder; say which and how."""
    srv = make_server(start=False)
    locked = os.path.join(srv.dir, "locked")
    os.mkdir(locked, 0o700)
    with open(srv.conf, "w") as f:
        f.write(srv.config_text().replace("spool spool", "spool locked/spool"))
    srv.expect_exit = True
    srv.start(wait=False)
    assert srv.proc.wait(timeout=20) != 0
    log = srv.log_text()
    assert "the spool %s/spool cannot be used by mailport" % locked in log, log
    assert "cannot enter %s (mode 0700, owner root" % locked in log, log
    assert "setfacl -m u:mailport:x %s" % locked in log, log
    assert "fix:" in log
    # Nothing was accepted: the ports are not served.
    assert "event=privileges" not in log
