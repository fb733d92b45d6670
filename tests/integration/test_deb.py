"""`make deb`: the package builds with debhelper, lintian finds no error,
and it installs and runs (deb_inside.py, in a private mount and network
namespace, so the host's dpkg database, accounts and ports are untouched).

One test, as the build takes most of a minute.
"""
import glob
import os
import re
import shutil
import subprocess

from conftest import REPO, new_dir


def test_build_depends_cover_the_build_packages():
    """Every library the build needs (scripts/deps.sh's build_pkgs, the -dev
    ones and the build tools) is in debian/control's Build-Depends, so a
    library added to the build cannot be forgotten by the package. (The
    package build would not notice: this machine has them all.)"""
    p = subprocess.run(["bash", "-c", 'eval "$(sed -n "/^build_pkgs=(/,/)/p" "$1")"; '
                        'echo "${build_pkgs[@]}"', "-", os.path.join(REPO, "scripts/deps.sh")],
                       capture_output=True, text=True, timeout=30)
    wanted = {w for w in p.stdout.split()
              if w.endswith("-dev") and not w.startswith("libclang")} | \
        {"cmake", "ninja-build", "pkg-config"}
    assert len(wanted) > 5, p.stdout + p.stderr
    with open(os.path.join(REPO, "debian", "control")) as f:
        control = f.read()
    field = re.search(r"^Build-Depends:(.*?)^\S", control, re.M | re.S).group(1)
    declared = {re.split(r"[\s(]", d.strip())[0] for d in field.split(",") if d.strip()}
    missing = sorted(wanted - declared)
    assert not missing, "add to Build-Depends in debian/control: %s" % ", ".join(missing)


def test_make_deb_lintian_install_and_run(workroot):
    for tool in ("dpkg-buildpackage", "dh", "lintian", "unshare"):
        assert shutil.which(tool), "%s is missing; run scripts/deps.sh --test" % tool
    build = new_dir(workroot, "deb-")
    p = subprocess.run(["make", "-C", REPO, "--no-print-directory", "deb", "BUILD=" + build],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    debs = glob.glob(os.path.join(build, "deb", "mailport_*.deb"))
    assert len(debs) == 1, os.listdir(os.path.join(build, "deb"))

    # make deb ran lintian --fail-on error; run it again here to see the tags.
    p = subprocess.run(["lintian", "--fail-on", "error", debs[0]], capture_output=True,
                       text=True, timeout=300)
    errors = [ln for ln in p.stdout.splitlines() if ln.startswith("E:")]
    assert p.returncode == 0 and not errors, p.stdout + p.stderr

    inside = os.path.join(os.path.dirname(__file__), "deb_inside.py")
    p = subprocess.run(["unshare", "--mount", "--net", "--fork", "/usr/bin/python3", inside,
                        debs[0], build], capture_output=True, text=True, timeout=300)
    log = os.path.join(build, "serve.log")
    served = open(log).read() if os.path.exists(log) else ""
    assert p.returncode == 0, p.stdout + p.stderr + "\nserver log:\n" + served
    assert "ok: a message submitted on 587 is delivered to the Maildir" in p.stdout, p.stdout
