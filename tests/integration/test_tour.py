"""The README's five-minute tour, as written, on the embedded default config.

The tour's shell blocks are read from README.md and run as they are (only
the port changes without root), in a folder laid out like a checkout:
etc/mailport.conf, scripts/run.sh (what `make run` runs) and build/mailport.
Step 1 is `scripts/run.sh build etc/mailport.conf`; step 2 the passwd line
into var/users; step 3 `build/mailport send` with STARTTLS and AUTH; step 4
the file in var/mail/example.test/you/new/. Also: the checkout inside a
folder only root may enter (a checkout in /root), and the newcomer without
root, on the unprivileged alternates (10025, 10587, 10465, 2525).
"""
import os
import re
import shutil
import socket
import subprocess
import textwrap
import time

import pytest

from conftest import REPO, new_dir

PASSWORD = "correct horse battery"
STANDARD = (25, 587, 465, 2525)
ALTERNATE = (10025, 10587, 10465, 2525)


def tour_blocks():
    """The ```sh blocks of the README's tour, in order."""
    text = open(os.path.join(REPO, "README.md")).read()
    tour = text.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    blocks = [textwrap.dedent(b) for b in re.findall(r"```sh\n(.*?)\n *```", tour, re.S)]
    assert len(blocks) == 4 and blocks[0].strip() == "make run", blocks
    return blocks


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def tour_dir(workroot, locked=False):
    """A checkout-like folder; locked: inside a 0700 folder of root's, as in /root."""
    top = new_dir(workroot, "tour-")
    if locked:
        top = os.path.join(top, "root-home")
        os.mkdir(top, 0o700)
        top = os.path.join(top, "mailport")
        os.mkdir(top, 0o755)
    else:
        os.chmod(top, 0o777)
    for sub in ("etc", "scripts", "build"):
        os.makedirs(os.path.join(top, sub))
    shutil.copy(os.path.join(REPO, "etc", "mailport.conf"), os.path.join(top, "etc"))
    shutil.copy(os.path.join(REPO, "scripts", "run.sh"), os.path.join(top, "scripts"))
    return top


def wait_ports(proc, ports, log, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail("mailport exited with %s:\n%s" % (proc.returncode, open(log).read()))
        ok = 0
        for p in ports:
            try:
                socket.create_connection(("127.0.0.1", p), timeout=1).close()
                ok += 1
            except OSError:
                pass
        if ok == len(ports):
            return
        time.sleep(0.1)
    pytest.fail("mailport did not listen on %s:\n%s" % (ports, open(log).read()))


def run_tour(binary, top, submission_port, prefix=(), env=None):
    os.symlink(binary, os.path.join(top, "build", "mailport"))
    log = os.path.join(top, "serve.log")
    step = tour_blocks()
    # Step 1: what `make run` runs.
    proc = subprocess.Popen([*prefix, "scripts/run.sh", "build", "etc/mailport.conf"], cwd=top,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            env=dict(os.environ, **(env or {})))
    try:
        ports = STANDARD if submission_port == 587 else ALTERNATE
        wait_ports(proc, ports, log)
        # Steps 2 and 3 as the README writes them; the password typed on stdin.
        for i in (1, 2):
            cmd = step[i].replace("127.0.0.1:587", "127.0.0.1:%d" % submission_port)
            r = subprocess.run(["bash", "-c", cmd], cwd=top, input=PASSWORD + "\n",
                               capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, HOME="/nonexistent"))
            assert r.returncode == 0, "step %d: %s\n%s%s" % (i + 1, cmd, r.stdout, r.stderr)
        assert os.stat(os.path.join(top, "var", "users")).st_mode & 0o004 == 0
        # Step 4: the file in the Maildir.
        new = os.path.join(top, "var", "mail", "example.test", "you", "new")
        assert step[3].strip() == "ls var/mail/example.test/you/new/"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (os.path.isdir(new) and os.listdir(new)):
            time.sleep(0.1)
        files = os.listdir(new)
        assert len(files) == 1
        text = open(os.path.join(new, files[0]), errors="replace").read()
        assert text.startswith("Return-Path: <you@example.test>")
        assert "Subject: the tour" in text and "TLSv1." in text
        return open(log).read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_readme_tour_as_root(mailport_bin, workroot):
    if os.geteuid() != 0:
        pytest.skip("the standard ports need root")
    busy = [p for p in STANDARD if not port_free(p)]
    if busy:
        pytest.skip("ports already in use on this machine: %s" % busy)
    log = run_tour(mailport_bin, tour_dir(workroot), 587)
    assert "event=privileges user=mailport" in log
    assert "file_readable_by_others" not in log
    assert "AddressSanitizer" not in log and "runtime error:" not in log


def test_make_run_from_a_folder_only_root_may_enter(mailport_bin, workroot):
    """A checkout in /root (0700): make run moves the state where the server can go."""
    if os.geteuid() != 0:
        pytest.skip("the standard ports need root")
    busy = [p for p in STANDARD if not port_free(p)]
    if busy:
        pytest.skip("ports already in use on this machine: %s" % busy)
    top = tour_dir(workroot, locked=True)
    state = os.path.join(new_dir(workroot, "state-"), "make-run")
    log = run_tour(mailport_bin, top, 587, env={"MAILPORT_RUN_STATE": state})
    assert os.path.realpath(os.path.join(top, "var")) == os.path.join(state, "var")
    assert "cannot enter %s" % os.path.dirname(top) in log, log
    assert "event=privileges user=mailport" in log
    assert "Permission denied" not in log, log
    assert "AddressSanitizer" not in log and "runtime error:" not in log


def test_readme_tour_without_root(mailport_bin, workroot):
    if os.geteuid() != 0:
        pytest.skip("needs root to start the server as an unprivileged user")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    busy = [p for p in ALTERNATE if not port_free(p)]
    if busy:
        pytest.skip("ports already in use on this machine: %s" % busy)
    top = tour_dir(workroot)
    log = run_tour(mailport_bin, top, 10587,
                   prefix=("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"))
    # The newcomer is told which ports moved and why.
    assert "port 25 needs root, so listening on port 10025 instead" in log
    assert "port 587 needs root, so listening on port 10587 instead" in log
    assert "AddressSanitizer" not in log and "runtime error:" not in log
