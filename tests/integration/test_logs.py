"""Logs (issue 17): `log stderr|syslog|FILE`, opening the file again for
logrotate (SIGUSR2, SIGHUP), and the shipped fail2ban filter and jail.

Real counterparts judge it: rsyslogd receives the syslog lines (on a socket
of the test's own, mounted over /dev/log in a private mount namespace, so
the machine's /dev is untouched), and fail2ban-regex runs the filter over
the lines a real server wrote for real sessions: attacks from some loopback
addresses, ordinary use from another. fail2ban-client -t checks the jail.
"""

import os
import pwd
import re
import shutil
import signal
import smtplib
import ssl
import subprocess

import pytest

from conftest import HOST, REPO, USERS, poll, read_text, stop_process

CONTRIB = os.path.join(REPO, "contrib", "fail2ban")
FILTER = os.path.join(CONTRIB, "filter.d", "mailport.conf")
JAIL = os.path.join(CONTRIB, "jail.d", "mailport.conf")

GUESSER = "127.0.0.66"    # wrong passwords on the submission door
PROBER = "127.0.0.67"     # relay attempts on the smtp door
NOISY = "127.0.0.68"      # too many refused commands
NORMAL = "127.0.0.1"      # a user who logs in and sends, and mail from outside


def need(*tools):
    for t in tools:
        if shutil.which(t) is None:
            pytest.skip("%s is missing (scripts/install-peers.sh installs it)" % t)
    if os.geteuid() != 0:
        pytest.skip("needs root")


def log_of(path):
    return read_text(path) if os.path.exists(path) else ""


# ---------------------------------------------------------------- traffic


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def guess_passwords(srv, tries):
    """tries failed logins from GUESSER, each on its own connection."""
    for i in range(tries):
        with smtplib.SMTP(HOST, srv.port("submission"), timeout=10,
                          source_address=(GUESSER, 0)) as s:
            s.starttls(context=tls_ctx())
            s.ehlo()
            s.user, s.password = "bob@example.test", "not-the-password-%d" % i
            with pytest.raises(smtplib.SMTPAuthenticationError):
                s.auth("PLAIN", s.auth_plain)  # login() would try LOGIN too


def probe_relay(srv, tries):
    """tries relay attempts from PROBER: a recipient elsewhere, no login."""
    for i in range(tries):
        with smtplib.SMTP(HOST, srv.port("smtp"), timeout=10,
                          source_address=(PROBER, 0)) as s:
            s.ehlo("prober.example.net")
            s.mail("spam@prober.example.net")
            code, text = s.rcpt("victim%d@elsewhere.example.net" % i)
            assert code == 550 and b"Relay access denied" in text, (code, text)


def babble(srv):
    """NOISY sends bad commands until mailport closes the session."""
    with smtplib.SMTP(HOST, srv.port("smtp"), timeout=10, source_address=(NOISY, 0)) as s:
        for i in range(200):
            try:
                code, _ = s.docmd("XNONSENSE%d" % i)
            except smtplib.SMTPServerDisconnected:
                return
            if code == 421:
                return
    raise AssertionError("mailport never closed the session of a client that babbles")


def use_normally(srv, marker):
    """What users do: a login that works, a message sent, a wrong recipient
    typed once, and a message from another server to a local user."""
    with smtplib.SMTP(HOST, srv.port("submission"), timeout=10,
                      source_address=(NORMAL, 0)) as s:
        s.starttls(context=tls_ctx())
        s.login("alice@example.test", USERS["alice@example.test"])
        s.sendmail("alice@example.test", ["bob@example.test"],
                   "From: alice@example.test\r\nSubject: %s\r\n\r\nhi\r\n" % marker)
    with smtplib.SMTP(HOST, srv.port("smtp"), timeout=10, source_address=(NORMAL, 0)) as s:
        s.ehlo("mx.sender.example.net")
        s.mail("news@sender.example.net")
        code, _ = s.rcpt("nobody-here@example.test")
        assert code == 550
        s.rset()
        s.sendmail("news@sender.example.net", ["alice@example.test"],
                   "From: news@sender.example.net\r\nSubject: %s\r\n\r\nhi\r\n" % marker)


def attack_and_use(srv):
    use_normally(srv, "before")
    guess_passwords(srv, 4)
    probe_relay(srv, 3)
    babble(srv)
    use_normally(srv, "after")


# ---------------------------------------------------------------- fail2ban


def fail2ban_etc(workroot):
    """A copy of the system's /etc/fail2ban with our filter and jail put
    where a Debian admin puts them (the filter includes common.conf)."""
    etc = os.path.join(workroot, "fail2ban-etc")
    if not os.path.isdir(etc):
        shutil.copytree("/etc/fail2ban", etc)
        for f in os.listdir(os.path.join(etc, "jail.d")):
            os.unlink(os.path.join(etc, "jail.d", f))  # only ours is enabled
        shutil.copy(FILTER, os.path.join(etc, "filter.d"))
        shutil.copy(JAIL, os.path.join(etc, "jail.d"))
    return etc


def fail2ban_matches(workroot, logfile):
    """{address: matches} fail2ban-regex finds in logfile with our filter."""
    p = subprocess.run(["fail2ban-regex", "-c", fail2ban_etc(workroot), "--out", "ip",
                        logfile, "mailport"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    found = {}
    for ln in p.stdout.split():
        found[ln] = found.get(ln, 0) + 1
    return found


def expected_matches():
    # 4 failed logins; 3 relay refusals; 1 session closed for its errors.
    return {GUESSER: 4, PROBER: 3, NOISY: 1}


# ---------------------------------------------------------------- tests


def test_log_file_gets_the_lines_and_fail2ban_reads_them(make_server, workroot):
    """`log FILE`: the lines go to the file (not stderr), and the shipped
    filter finds exactly the attacks in it, none of the ordinary use."""
    need("fail2ban-regex")
    srv = make_server(start=False, extra=["log serve.log", "auth-failure-limit 10"])
    logfile = os.path.join(srv.dir, "serve.log")
    srv.start()
    attack_and_use(srv)
    assert poll(lambda: log_of(logfile).count("event=disconnect") >= 11, 10), log_of(logfile)
    text = log_of(logfile)
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z mailport\[\d+\]: info: "
                     r"session=\S+ event=connect ", text, re.M), text[:2000]
    assert "event=auth_failed" not in srv.log_text()  # not on stderr as well
    # The run user can open the file again by its name after the drop.
    st = os.stat(logfile)
    assert pwd.getpwuid(st.st_uid).pw_name == "mailport" and st.st_mode & 0o777 == 0o640
    assert fail2ban_matches(workroot, logfile) == expected_matches()


def test_fail2ban_is_not_fooled_by_client_text(make_server, workroot):
    """A user name that carries "client=ADDR" cannot make fail2ban ban
    someone else: the address mailport writes last is the one taken."""
    need("fail2ban-regex")
    srv = make_server(start=False, extra=["log serve.log"])
    logfile = os.path.join(srv.dir, "serve.log")
    srv.start()
    with smtplib.SMTP(HOST, srv.port("submission"), timeout=10,
                      source_address=(GUESSER, 0)) as s:
        s.starttls(context=tls_ctx())
        s.ehlo()
        s.user, s.password = "x client=192.0.2.1", "wrong"
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.auth("PLAIN", s.auth_plain)
    assert poll(lambda: "event=auth_failed" in log_of(logfile), 10)
    assert fail2ban_matches(workroot, logfile) == {GUESSER: 1}


def test_log_file_reopened_for_logrotate(make_server):
    """logrotate moves the file and makes a new one (create 0640 mailport
    adm), then SIGUSR2 or SIGHUP: the lines go on in the new file. A new file
    that cannot be opened leaves the old in use, with the error and the fix."""
    srv = make_server(start=False, extra=["log logs/serve.log"])
    logdir = os.path.join(srv.dir, "logs")
    os.makedirs(logdir)
    logfile = os.path.join(logdir, "serve.log")
    srv.start()
    use_normally(srv, "one")
    assert poll(lambda: "event=accepted" in log_of(logfile), 10)
    mp = pwd.getpwnam("mailport")
    for n, sig in enumerate((signal.SIGUSR2, signal.SIGHUP)):
        rotated = logfile + ".%d" % (n + 1)
        os.rename(logfile, rotated)
        fd = os.open(logfile, os.O_CREAT | os.O_WRONLY, 0o640)
        os.fchown(fd, mp.pw_uid, mp.pw_gid)
        os.close(fd)
        before = log_of(rotated).count("event=accepted")
        os.kill(srv.pid, sig)
        said = "event=log_reopened signal=%s" % sig.name
        assert poll(lambda: said in log_of(logfile), 10), log_of(rotated)[-2000:]
        use_normally(srv, "after-%d" % n)
        assert poll(lambda: log_of(logfile).count("event=accepted") >= 2, 10), log_of(logfile)
        old = log_of(rotated)
        assert old.count("event=accepted") == before and said not in old
    # No new file, and the folder is root's: the server (no longer root) keeps the old one.
    os.rename(logfile, logfile + ".3")
    os.kill(srv.pid, signal.SIGUSR2)
    assert poll(lambda: "event=log_reopen_failed" in log_of(logfile + ".3"), 10)
    line = re.search(r".*event=log_reopen_failed.*", log_of(logfile + ".3")).group(0)
    assert "Permission denied" in line and "fix=" in line and "create 0640 mailport" in line
    use_normally(srv, "still-logged")
    assert poll(lambda: log_of(logfile + ".3").count("event=accepted") >= 2, 10)


def test_log_file_that_cannot_be_opened_stops_the_start(make_server):
    srv = make_server(start=False, extra=["log /nonexistent-folder/serve.log"])
    srv.expect_exit = True
    srv.start(wait=False)
    assert srv.proc.wait(timeout=20) == 73
    out = srv.current_log()
    assert "cannot open the log file /nonexistent-folder/serve.log" in out
    assert "fix:" in out and "log syslog" in out


def test_log_line_checked_by_config_check(make_server, mailport_bin):
    srv = make_server(start=False, extra=["log stderr", "log syslog"])
    p = subprocess.run([mailport_bin, "config", "check", "-c", srv.conf],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "log" in p.stdout + p.stderr


class Rsyslog:
    """rsyslogd in the foreground, taking datagrams on a socket of its own and
    writing facility mail to mail.log, everything else to other.log."""

    def __init__(self, d):
        self.dir = d
        self.sock = os.path.join(d, "log.sock")
        self.mail_log = os.path.join(d, "mail.log")
        self.other_log = os.path.join(d, "other.log")
        conf = os.path.join(d, "rsyslog.conf")
        with open(conf, "w") as f:
            f.write('global(workDirectory="%s")\n'
                    'module(load="imuxsock" SysSock.Use="off")\n'
                    'input(type="imuxsock" Socket="%s")\n'
                    'mail.* action(type="omfile" file="%s" '
                    'template="RSYSLOG_TraditionalFileFormat")\n'
                    '*.*;mail.none action(type="omfile" file="%s")\n'
                    % (d, self.sock, self.mail_log, self.other_log))
        self.proc = subprocess.Popen(["rsyslogd", "-n", "-f", conf, "-i",
                                      os.path.join(d, "rsyslog.pid")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(d, "rsyslogd.err"), "wb"))
        if not poll(lambda: os.path.exists(self.sock), 10):
            self.stop()
            raise AssertionError("rsyslogd did not start: "
                                 + log_of(os.path.join(d, "rsyslogd.err")))

    def stop(self):
        stop_process(self.proc, 10.0)


def own_dev_log(d, sock):
    """A command prefix: the server runs in a mount namespace whose /dev is a
    fresh tmpfs with the usual devices and sock as /dev/log."""
    real = os.path.join(d, "realdev")
    os.makedirs(real, exist_ok=True)
    script = ("set -e; mount --rbind /dev %s; mount -t tmpfs -o mode=0755 testdev /dev; "
              "for n in null zero full random urandom; do touch /dev/$n; "
              "mount --bind %s/$n /dev/$n; done; touch /dev/log; mount --bind %s /dev/log; "
              'exec "$@"' % (real, real, sock))
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"]


def test_syslog_through_rsyslog_and_fail2ban(make_server, workroot):
    """`log syslog`: the lines reach a real syslog daemon with facility mail,
    as "mailport[PID]: info: ...", and the filter reads that form too."""
    need("rsyslogd", "fail2ban-regex", "unshare")
    d = os.path.join(workroot, "rsyslog-%d" % os.getpid())
    os.makedirs(d, exist_ok=True)
    rs = Rsyslog(d)
    try:
        srv = make_server(start=False, extra=["log syslog", "auth-failure-limit 10"],
                          prefix=own_dev_log(d, rs.sock))
        srv.start()
        attack_and_use(srv)
        assert poll(lambda: log_of(rs.mail_log).count("event=disconnect") >= 11, 10), \
            log_of(rs.mail_log)[-3000:]
        text = log_of(rs.mail_log)
        assert re.search(r"^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ mailport\[%d\]: info: session=\S+ "
                         r"event=connect " % srv.pid, text, re.M), text[:2000]
        assert "mailport[" not in log_of(rs.other_log)
        assert "event=auth_failed" not in srv.log_text()
        assert fail2ban_matches(workroot, rs.mail_log) == expected_matches()
    finally:
        rs.stop()


def test_fail2ban_jail_loads(workroot):
    """The jail and filter, put where a Debian admin puts them, pass
    fail2ban-client's configuration test."""
    need("fail2ban-client")
    etc = fail2ban_etc(workroot)
    mail_log = os.path.join(workroot, "mail-%d.log" % os.getpid())
    open(mail_log, "a").close()
    with open(os.path.join(etc, "jail.d", "zz-test.local"), "w") as f:  # a log of the test's
        f.write("[mailport]\nlogpath = %s\nbackend = polling\n" % mail_log)
    p = subprocess.run(["fail2ban-client", "-c", etc, "-d"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "'mailport'" in p.stdout and "'maxretry', 5" in p.stdout, p.stdout[-3000:]
    p = subprocess.run(["fail2ban-client", "-c", etc, "-t"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and "OK" in p.stdout + p.stderr, p.stdout + p.stderr
