"""Installs the .deb and runs the installed server, in a private world.

test_deb.py runs this under `unshare --mount --net --fork`: /etc, /usr and
/var get overlays on a tmpfs, so dpkg, the postinst's adduser and the server
change only copies that vanish with the namespace, and the network is a
loopback of its own, so the installed config's doors (*:25, *:587, *:465,
*:2525) are free whatever runs on the host. Prints one line per check; the
first failed check raises, and the exit status says so.

usage: deb_inside.py PACKAGE.deb SCRATCH_DIR
"""
import os
import pwd
import grp
import signal
import smtplib
import socket
import ssl
import stat
import subprocess
import sys
import time

DEB, SCRATCH = sys.argv[1], sys.argv[2]
CONF = "/etc/mailport/mailport.conf"
WAIT = 30


def sh(*cmd, check=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout,
                                                     p.stderr))
    return p


def check(what, ok, detail=""):
    if not ok:
        raise AssertionError("%s: %s" % (what, detail))
    print("ok:", what, flush=True)


def private_world():
    sh("mount", "--make-rprivate", "/")
    top = os.path.join(SCRATCH, "overlay")
    os.makedirs(top, exist_ok=True)
    sh("mount", "-t", "tmpfs", "tmpfs", top)  # an upper layer overlayfs accepts
    for d in ("etc", "usr", "var"):
        for sub in ("u", "w"):
            os.makedirs(os.path.join(top, d + "." + sub))
        sh("mount", "-t", "overlay", "overlay", "-o",
           "lowerdir=/%s,upperdir=%s/%s.u,workdir=%s/%s.w" % (d, top, d, top, d), "/" + d)
    sh("ip", "link", "set", "lo", "up")
    # A fresh machine: no mailport account or state from earlier runs.
    if sh("getent", "passwd", "mailport", check=False).returncode == 0:
        sh("userdel", "--force", "mailport")  # the host's servers may run as it
    if sh("getent", "group", "mailport", check=False).returncode == 0:
        sh("groupdel", "mailport")
    for d in ("/var/spool/mailport", "/var/mail/mailport", "/etc/mailport"):
        sh("rm", "-rf", d)


def check_installed():
    pw = pwd.getpwnam("mailport")
    check("postinst made the system user mailport", pw.pw_uid < 1000 and
          pw.pw_shell == "/usr/sbin/nologin", pw)
    for d in ("/var/spool/mailport", "/var/mail/mailport"):
        st = os.stat(d)
        check("postinst made %s, mailport's, 0700" % d, st.st_uid == pw.pw_uid and
              stat.S_IMODE(st.st_mode) == 0o700, oct(st.st_mode))
    st = os.stat("/etc/mailport/users")
    check("postinst made the users file root:mailport 0640", st.st_uid == 0 and
          st.st_gid == grp.getgrnam("mailport").gr_gid and stat.S_IMODE(st.st_mode) == 0o640)
    unit = "/lib/systemd/system/mailport.service"
    check("the unit is installed", os.path.exists(unit))
    check("and enabled (dh_installsystemd)",
          os.path.islink("/etc/systemd/system/multi-user.target.wants/mailport.service"))
    p = sh("systemd-analyze", "verify", unit, check=False)
    check("systemd-analyze verify: the installed unit, binary and man pages",
          p.returncode == 0 and not (p.stdout + p.stderr).strip(), p.stdout + p.stderr)
    q = sh("update-alternatives", "--query", "sendmail").stdout
    check("sendmail is offered as an alternative", "Alternative: /usr/sbin/mailport" in q, q)
    p = sh("/usr/sbin/mailport", "config", "check", "-c", CONF)
    check("the installed config checks", p.stdout.strip() ==
          "%s: ok (4 listeners, 1 domain)" % CONF, p.stdout)


def add_user(address, password):
    p = sh("/usr/sbin/mailport", "passwd", "--user", address, input=password + "\n")
    with open("/etc/mailport/users", "a") as f:
        f.write(p.stdout.strip().splitlines()[-1] + "\n")


def run_server():
    """The installed binary on the installed config, as systemd starts it."""
    name = "mailport-deb-test-%d" % os.getpid()
    mgr = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    mgr.bind("\0" + name)
    mgr.settimeout(WAIT)
    log = open(os.path.join(SCRATCH, "serve.log"), "w")
    proc = subprocess.Popen(["/usr/sbin/mailport", "serve", "-c", CONF], stdout=log,
                            stderr=subprocess.STDOUT, env=dict(os.environ,
                                                               NOTIFY_SOCKET="@" + name))
    try:
        ready = mgr.recv(4096).decode()
        check("the installed server says READY=1", ready.startswith("READY=1"), ready)
        with open("/proc/%d/status" % proc.pid) as f:
            uid = [ln.split()[1] for ln in f if ln.startswith("Uid:")][0]
        check("and runs as mailport", int(uid) == pwd.getpwnam("mailport").pw_uid, uid)
        for port in (25, 587, 2525):
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                code, _ = s.ehlo("deb-test.example")
                check("door %d greets and offers STARTTLS" % port,
                      code == 250 and s.has_extn("starttls"))
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # its first self-signed
        with smtplib.SMTP_SSL("127.0.0.1", 465, timeout=10, context=ctx) as s:
            check("door 465 speaks TLS from the first byte", s.ehlo()[0] == 250)
        # Mail in through submission, to a Maildir under the installed mailboxes.
        add_user("alice@example.test", "deb-test-pw")
        with smtplib.SMTP("127.0.0.1", 587, timeout=10) as s:
            s.starttls(context=ctx)
            s.login("alice@example.test", "deb-test-pw")
            s.sendmail("alice@example.test", ["alice@example.test"],
                       "Subject: from the package\r\n\r\ndeb-marker\r\n")
        new = "/var/mail/mailport/example.test/alice/new"
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not (os.path.isdir(new) and os.listdir(new)):
            time.sleep(0.05)
        files = os.listdir(new) if os.path.isdir(new) else []
        check("a message submitted on 587 is delivered to the Maildir", len(files) == 1 and
              "deb-marker" in open(os.path.join(new, files[0])).read(), files)
        proc.send_signal(signal.SIGTERM)
        check("SIGTERM: STOPPING=1", mgr.recv(4096) == b"STOPPING=1")
        check("and exit 0", proc.wait(timeout=WAIT) == 0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        mgr.close()


def check_purge():
    sh("dpkg", "--purge", "mailport")
    check("purge removes the unit, the binary and the queue",
          not os.path.exists("/lib/systemd/system/mailport.service") and
          not os.path.exists("/usr/sbin/mailport") and
          not os.path.exists("/var/spool/mailport"))
    check("and keeps the mailboxes", os.path.isdir("/var/mail/mailport/example.test"))
    p = sh("update-alternatives", "--query", "sendmail", check=False)
    check("and the sendmail alternative", "/usr/sbin/mailport" not in p.stdout, p.stdout)


def main():
    private_world()
    p = sh("dpkg", "-i", DEB, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    check("dpkg -i installs cleanly", "error" not in p.stderr.lower(), p.stderr)
    check_installed()
    run_server()
    check_purge()


if __name__ == "__main__":
    main()
