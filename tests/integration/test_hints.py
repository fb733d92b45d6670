"""Hints name the program as it was started: `build/mailport passwd`, not a
`mailport` that is not on the PATH; and the setcap hint names this binary."""

import os
import pty
import re
import select
import subprocess
import time

from conftest import new_dir


def run(args, cwd=None, env=None, stdin=b""):
    return subprocess.run(args, input=stdin, capture_output=True, cwd=cwd, env=env, timeout=30)


def test_passwd_hint_names_the_program_as_typed(mailport_bin, workroot):
    # As a path: the hint repeats the path the user typed.
    r = run([mailport_bin, "passwd"])
    assert r.returncode == 65, r
    assert ("| %s passwd" % mailport_bin) in r.stderr.decode(), r.stderr
    # A relative path, as in the README: build/mailport.
    d = new_dir(workroot, "rel-")
    os.makedirs(os.path.join(d, "build"))
    os.symlink(mailport_bin, os.path.join(d, "build", "mailport"))
    r = run(["build/mailport", "passwd"], cwd=d)
    assert "| build/mailport passwd" in r.stderr.decode(), r.stderr
    # Found on the PATH: the bare name.
    env = dict(os.environ, PATH=os.path.join(d, "build") + ":" + os.environ["PATH"])
    r = run(["mailport", "passwd"], env=env)
    assert "| mailport passwd" in r.stderr.decode(), r.stderr


def test_users_file_hint_names_the_program(mailport_bin, workroot):
    d = new_dir(workroot, "users-")
    with open(os.path.join(d, "users"), "w") as f:
        f.write("alice@example.test:not-a-hash\n")
    with open(os.path.join(d, "mailport.conf"), "w") as f:
        f.write("domain example.test\nusers users\nspool spool\nmailboxes mail\n"
                "listen 127.0.0.1:2525 submission\n")
    r = run([mailport_bin, "config", "check", "-c", os.path.join(d, "mailport.conf")])
    out = r.stdout.decode() + r.stderr.decode()
    assert r.returncode == 78, out
    assert ('make a new one with "%s passwd"' % mailport_bin) in out, out


def test_ready_banner_on_a_terminal(make_server, mailport_bin):
    """A person who starts the server on a terminal gets the next steps with
    the program as typed and the send command of the tour."""
    srv = make_server(start=False)
    master, slave = pty.openpty()
    log = os.path.join(srv.dir, "tty.txt")
    proc = subprocess.Popen([mailport_bin, "serve", "-c", srv.conf], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, cwd=srv.dir)
    os.close(slave)
    text = b""
    deadline = time.monotonic() + 15
    try:
        while b"Find it in:" not in text and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    text += os.read(master, 65536)
                except OSError:
                    break
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        os.close(master)
    with open(log, "wb") as f:
        f.write(text)
    out = text.decode(errors="replace")
    assert "mailport is ready." in out, out
    assert ("(umask 077; %s passwd --user you@example.test >> " % mailport_bin) in out, out
    port = srv.ports["submission"]
    assert re.search(r"%s send --server 127\.0\.0\.1:%d --cafile \S+cert\.pem "
                     r"--user you@example\.test --password-env MP_PW" % (re.escape(mailport_bin), port),
                     out), out
    assert "swaks" not in out, out


def test_privileged_port_hint_names_this_binary(mailport_bin, workroot):
    """Without root, port 25 is refused: the setcap hint names the binary
    that was started (never a build/ path that may not exist)."""
    d = new_dir(workroot, "unpriv-")
    conf = os.path.join(d, "mailport.conf")
    with open(conf, "w") as f:
        f.write("domain example.test\nspool spool\nmailboxes mail\nlisten 127.0.0.1:25 smtp\n")
    os.chmod(conf, 0o644)
    r = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
             mailport_bin, "serve", "-c", conf], cwd=d)
    err = r.stderr.decode()
    assert r.returncode != 0, err
    assert "cannot listen on port 25: permission denied" in err, err
    exe = os.path.realpath(mailport_bin)
    assert ("  setcap: setcap cap_net_bind_service=+ep %s\n" % exe) in err, err
