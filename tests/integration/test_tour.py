"""The README's five-minute tour, as written, on the embedded default config.

The config is copied next to a fresh var/ folder so the repository stays
clean; everything else is the tour's own commands: mailport serve on
etc/mailport.conf, `mailport passwd --user ... >> var/users`, swaks on 587
with STARTTLS and AUTH, and the file in var/mail/example.test/you/new/.
Also the newcomer without root: the same config gives a running server on
the unprivileged alternates (10025, 10587, 10465, 2525), and says so.
"""
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import REPO, new_dir

PASSWORD = "correct horse battery"
STANDARD = (25, 587, 465, 2525)
ALTERNATE = (10025, 10587, 10465, 2525)


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


def tour_dir(workroot):
    top = new_dir(workroot, "tour-")
    os.makedirs(os.path.join(top, "etc"))
    shutil.copy(os.path.join(REPO, "etc", "mailport.conf"), os.path.join(top, "etc"))
    os.chmod(top, 0o777)
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


def run_tour(binary, top, submission_port, prefix=()):
    log = os.path.join(top, "serve.log")
    conf = os.path.join(top, "etc", "mailport.conf")
    proc = subprocess.Popen([*prefix, binary, "serve", "-c", conf],
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    try:
        ports = STANDARD if submission_port == 587 else ALTERNATE
        wait_ports(proc, ports, log)
        # Step 2: add a user, as the README says.
        line = subprocess.run([binary, "passwd", "--user", "you@example.test"],
                              input=PASSWORD + "\n", capture_output=True, text=True,
                              timeout=30, check=True).stdout
        with open(os.path.join(top, "var", "users"), "a") as f:
            f.write(line)
        os.chmod(os.path.join(top, "var", "users"), 0o644)
        # Step 3: swaks through the submission door with STARTTLS and AUTH.
        sw = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % submission_port, "--tls",
                             "--auth-user", "you@example.test", "--auth-password", PASSWORD,
                             "--from", "you@example.test", "--to", "you@example.test",
                             "--header", "Subject: the tour"],
                            capture_output=True, text=True, timeout=60)
        assert sw.returncode == 0, sw.stdout + sw.stderr
        # Step 4: the file in the Maildir.
        new = os.path.join(top, "var", "mail", "example.test", "you", "new")
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
    assert "event=privileges user=" in log
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
