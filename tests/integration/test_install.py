"""`make install`: the files in their FHS places under DESTDIR, and the
installed binary runs (as mailport, and as sendmail through the link).

The install uses the binary under test ($MAILPORT's build folder as BUILD),
so nothing is rebuilt. Nothing is written outside the test's folders.
"""
import filecmp
import os
import pwd
import stat
import subprocess

from conftest import REPO, binary_path, new_dir

# The default install (PREFIX=/usr/local): path -> mode (None: a directory's
# mode is not checked).
EXPECTED = {
    "usr/local/sbin/mailport": 0o755,
    "usr/local/share/man/man8/mailport.8": 0o644,
    "usr/local/share/man/man5/mailport.conf.5": 0o644,
    "usr/local/lib/systemd/system/mailport.service": 0o644,
    "usr/local/share/doc/mailport/examples/mailport.conf": 0o644,
    "etc/mailport/mailport.conf": 0o644,
    "var/spool/mailport": 0o700,
    "var/mail/mailport": 0o700,
}


def make(*args):
    build = os.path.dirname(binary_path())
    p = subprocess.run(["make", "-C", REPO, "--no-print-directory", *args, "BUILD=" + build],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def tree(root):
    """Every file, link and leaf folder under root, relative."""
    out = set()
    for d, dirs, files in os.walk(root):
        for name in files:
            out.add(os.path.relpath(os.path.join(d, name), root))
        if not dirs and not files:
            out.add(os.path.relpath(d, root))
        for name in dirs:
            if os.path.islink(os.path.join(d, name)):
                out.add(os.path.relpath(os.path.join(d, name), root))
    return out


def ensure_mailport_account():
    """The installed config runs as "mailport", which the package's postinst
    (and the server's first start as root) create; config check wants it."""
    try:
        pwd.getpwnam("mailport")
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                        "mailport"], check=True, timeout=30)


def unit_line(path, key):
    with open(path) as f:
        return [ln.split("=", 1)[1].strip() for ln in f if ln.startswith(key + "=")]


def test_destdir_tree_and_the_installed_binary_runs(workroot):
    dest = new_dir(workroot, "destdir-")
    make("install", "DESTDIR=" + dest)
    assert tree(dest) == set(EXPECTED), sorted(tree(dest) ^ set(EXPECTED))
    for rel, mode in EXPECTED.items():
        assert stat.S_IMODE(os.stat(os.path.join(dest, rel)).st_mode) == mode, rel
    assert filecmp.cmp(os.path.join(REPO, "man", "mailport.8"),
                       os.path.join(dest, "usr/local/share/man/man8/mailport.8"), shallow=False)
    unit = os.path.join(dest, "usr/local/lib/systemd/system/mailport.service")
    assert unit_line(unit, "ExecStart") == [
        "/usr/local/sbin/mailport serve -c /etc/mailport/mailport.conf"]
    # No sendmail unless asked: /usr/sbin/sendmail is the system MTA's.
    assert not os.path.lexists(os.path.join(dest, "usr/local/sbin/sendmail"))

    exe = os.path.join(dest, "usr/local/sbin/mailport")
    p = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "serve" in p.stdout, p.stdout + p.stderr
    ensure_mailport_account()
    conf = os.path.join(dest, "etc/mailport/mailport.conf")
    p = subprocess.run([exe, "config", "check", "-c", conf], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "%s: ok (4 listeners, 1 domain)" % conf, p.stdout


def test_reinstall_keeps_an_edited_config(workroot):
    dest = new_dir(workroot, "destdir-")
    make("install", "DESTDIR=" + dest)
    conf = os.path.join(dest, "etc/mailport/mailport.conf")
    with open(conf, "a") as f:
        f.write("domain mine.test\n")
    edited = open(conf).read()
    make("install", "DESTDIR=" + dest)
    assert open(conf).read() == edited
    example = os.path.join(dest, "usr/local/share/doc/mailport/examples/mailport.conf")
    assert "mine.test" not in open(example).read()


def test_prefix_usr_with_the_sendmail_link_then_uninstall(workroot):
    dest = new_dir(workroot, "destdir-")
    make("install", "DESTDIR=" + dest, "PREFIX=/usr", "SENDMAIL_LINK=yes")
    link = os.path.join(dest, "usr/sbin/sendmail")
    assert os.path.islink(link) and os.readlink(link) == "mailport"
    unit = os.path.join(dest, "usr/lib/systemd/system/mailport.service")
    assert unit_line(unit, "ExecStart") == [
        "/usr/sbin/mailport serve -c /etc/mailport/mailport.conf"]
    # Called as sendmail, the program is sendmail (main looks at argv[0]).
    p = subprocess.run([link, "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and p.stdout.startswith("usage: mailport sendmail"), p.stdout
    # A message with no account and no server: sendmail's own usage error,
    # not the command list that "mailport" alone would print.
    p = subprocess.run([link, "-t"], input="To: a@example.test\n\nhi\n", capture_output=True,
                       text=True, timeout=30, env={"PATH": "/usr/bin:/bin", "HOME": dest})
    assert p.returncode == 64 and "no server given" in p.stderr, p.stderr

    make("uninstall", "DESTDIR=" + dest, "PREFIX=/usr")
    # The config and the state stay; of the rest only empty folders.
    left = {t for t in tree(dest) if not os.path.isdir(os.path.join(dest, t))
            or os.path.islink(os.path.join(dest, t)) or t.startswith("var/")}
    assert left == {"etc/mailport/mailport.conf", "var/spool/mailport", "var/mail/mailport"}
