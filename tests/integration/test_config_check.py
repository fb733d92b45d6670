"""`mailport config check`: every bad line reported as FILE:LINE, and plain counts."""
import os
import subprocess

from conftest import new_dir

GOOD = ("domain example.test\nspool spool\nmailboxes mail\n"
        "listen 127.0.0.1:2525 submission\n")


def check(binary, d, text):
    conf = os.path.join(d, "mailport.conf")
    with open(conf, "w") as f:
        f.write(text)
    p = subprocess.run([binary, "config", "check", "-c", conf], capture_output=True, text=True,
                       timeout=30)
    return conf, p


def test_three_bad_lines_all_reported(mailport_bin, workroot):
    d = new_dir(workroot, "check-")
    conf, p = check(mailport_bin, d, GOOD + "recipient-limit 0\nno-such-thing 1\n"
                    "hostname a..b\n")
    assert p.returncode == 78, p.stderr
    for line in (5, 6, 7):
        assert "%s:%d: " % (conf, line) in p.stderr, p.stderr
    assert len([ln for ln in p.stderr.splitlines() if ln.startswith(conf + ":")]) == 3


def test_counts_are_singular_for_one(mailport_bin, workroot):
    d = new_dir(workroot, "check-")
    conf, p = check(mailport_bin, d, GOOD)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "%s: ok (1 listener, 1 domain)" % conf
