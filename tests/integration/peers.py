"""Interoperability peers for the integration tests: a real Postfix on loopback.

`PostfixPeer` runs a private Postfix instance (as root) from its own folder:
its own config_directory, queue_directory, data_directory and log file, with
services only on 127.0.0.1 and random free ports. Nothing of the system
Postfix (/etc/postfix/main.cf, port 25) is used or started.

Services (each optional):
  submission  STARTTLS required (smtpd_tls_security_level=encrypt, the test
              CA's chain_a/key_a), AUTH required (Cyrus SASL, a private sasldb
              with `users`), recipients: permit_sasl_authenticated, reject.
  smtp        a port-25-like receiver: STARTTLS offered (may), no AUTH, accepts
              mail for `domains` only (reject_unauth_destination), unless
              open_relay=True, which lets 127.0.0.0/8 relay anywhere.

Mail for `domains` is delivered by virtual(8) into Maildirs under
<dir>/mail/<domain>/<local>/ (read them with delivered()/wait_mail()). Mail for
other domains goes to `relayhost` ([127.0.0.1]:PORT) if one is set, else it
bounces at once (default_transport = error): the peer never looks up DNS and
its SMTP client binds to 127.0.0.1, so it cannot reach any other host.

Use in tests (import the fixtures into the test module):

    from peers import PEER_USERS, PostfixPeer, make_postfix, postfix_peer

    def test_x(postfix_peer):
        postfix_peer.ports["submission"], postfix_peer.users, ...
        postfix_peer.wait_mail("rcpt@peer.test", marker)

The fixtures skip (pytest.skip) only when Postfix is not installed and
scripts/install-peers.sh cannot install it.
"""

import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import HOST, MaildirReader, can_connect, free_port, poll, read_folder, read_text

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INSTALL_SCRIPT = os.path.join(REPO, "scripts", "install-peers.sh")
POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTQUEUE = "/usr/sbin/postqueue"
SASLPASSWD2 = "/usr/sbin/saslpasswd2"

PEER_DOMAIN = "peer.test"
# SASL accounts of the submission service: address -> password.
PEER_USERS = {
    "alice@peer.test": "alice-peer-pw-1",
    "bob@peer.test": "bob-peer-pw-2",
}
# Extra Maildir recipients (the SASL users get a Maildir too).
PEER_MAILBOXES = ("postmaster@peer.test", "rcpt@peer.test")

MASTER_CF_BASE = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/$service_name
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


# Runs `postfix start` and then stays, as a child subreaper, the parent of the
# Postfix daemons: they are reaped here (not left as zombies of init), and if
# the test process dies without stopping the instance, this stops it.
SUPERVISOR = r"""
import ctypes, os, signal, subprocess, sys, time
postfix, cfg, pidfile = sys.argv[1], sys.argv[2], sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)               # PR_SET_CHILD_SUBREAPER
libc.prctl(1, signal.SIGTERM, 0, 0, 0)   # PR_SET_PDEATHSIG
parent = os.getppid()
done = []
signal.signal(signal.SIGTERM, lambda *a: done.append(1))
signal.signal(signal.SIGINT, signal.SIG_IGN)

def reap():
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
        return True
    except ChildProcessError:
        return False    # no children left

rc = subprocess.run([postfix, "-c", cfg, "start"], stdin=subprocess.DEVNULL).returncode
print("postfix start: exit %d" % rc, flush=True)
while rc == 0 and not done and os.getppid() == parent:
    reap()
    time.sleep(0.1)

def master_alive():
    try:
        pid = int(open(pidfile).read().strip())
        return open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, ValueError, IndexError):
        return False

if master_alive():   # the test process died without stopping the instance
    print("stopping postfix (test process gone)", flush=True)
    subprocess.run([postfix, "-c", cfg, "stop"], stdin=subprocess.DEVNULL, timeout=30)
deadline = time.monotonic() + 10
while reap() and time.monotonic() < deadline:
    time.sleep(0.05)
sys.exit(rc)
"""


def postfix_installed():
    return all(os.access(p, os.X_OK) for p in (POSTFIX, POSTCONF, POSTQUEUE, SASLPASSWD2))


_install_tried = []


def ensure_postfix():
    """Installs Postfix with scripts/install-peers.sh if it is missing;
    returns None when usable, else the reason it is not."""
    if os.geteuid() != 0:
        return "a private Postfix instance needs root"
    if postfix_installed():
        return None
    if not _install_tried:
        _install_tried.append(True)
        try:
            p = subprocess.run(["bash", INSTALL_SCRIPT], stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=600)
            _install_tried.append(p.stdout.decode(errors="replace")[-1500:]
                                  + p.stderr.decode(errors="replace")[-1500:])
        except (OSError, subprocess.TimeoutExpired) as e:
            _install_tried.append(repr(e))
    if postfix_installed():
        return None
    return ("Postfix could not be installed (scripts/install-peers.sh): %s"
            % (_install_tried[1:] or ["?"])[-1].strip())


def _run(cmd, *, timeout=30, check=True, env=None, input=None):
    p = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, input=input,
                       stdin=None if input is not None else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s"
                             % (" ".join(cmd), p.returncode,
                                p.stdout.decode(errors="replace"),
                                p.stderr.decode(errors="replace")))
    return p


class PostfixPeer(MaildirReader):
    """One private Postfix instance. See the module docstring.

    Attributes: dir (its folder), config_dir, queue_dir, data_dir, mail_base,
    log_file, ports {"smtp": n, "submission": n} (only the enabled ones),
    users {address: password}, domains, hostname, relayhost.
    """

    mail_timeout = 15.0  # a peer queues before it delivers

    def __init__(self, root=None, certs=None, *, name="postfix", hostname="mx.peer.test",
                 domains=(PEER_DOMAIN,), users=None, mailboxes=PEER_MAILBOXES,
                 submission=True, smtp=True, relayhost=None, open_relay=False,
                 smtp_tls_ca=None, main_extra=None):
        if submission and certs is None:
            raise ValueError("the submission service needs certs (STARTTLS)")
        self.certs = certs
        self.name = name
        self.hostname = hostname
        self.domains = tuple(domains)
        self.users = dict(PEER_USERS if users is None else users)
        self.mailboxes = tuple(dict.fromkeys(list(self.users) + list(mailboxes)))
        self.relayhost = relayhost
        self.open_relay = open_relay
        self.smtp_tls_ca = smtp_tls_ca or (certs.ca if certs is not None else None)
        self.main_extra = dict(main_extra or {})
        self.ports = {}
        if smtp:
            self.ports["smtp"] = free_port()
        if submission:
            self.ports["submission"] = free_port()
        if not self.ports:
            raise ValueError("no service enabled")

        self._own_root = root is None
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=root)
        os.chmod(self.dir, 0o755)
        self.config_dir = os.path.join(self.dir, "etc")
        self.queue_dir = os.path.join(self.dir, "spool")
        self.data_dir = os.path.join(self.dir, "data")
        self.mail_base = os.path.join(self.dir, "mail")
        self.sasl_dir = os.path.join(self.config_dir, "sasl")
        self.sasldb = os.path.join(self.config_dir, "sasldb2")
        self.log_file = os.path.join(self.dir, "postfix.log")
        self.master_pid = None
        self.started = False
        self.supervisor = None
        self._starts = 0
        self._setup()

    # ------------------------------------------------------------ files

    def _setup(self):
        pf = pwd.getpwnam("postfix")
        nobody = pwd.getpwnam("nobody")
        self.mail_uid, self.mail_gid = nobody.pw_uid, nobody.pw_gid
        for d in (self.config_dir, self.queue_dir, self.sasl_dir):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        os.makedirs(self.data_dir, exist_ok=True)
        os.chown(self.data_dir, pf.pw_uid, pf.pw_gid)
        os.chmod(self.data_dir, 0o700)
        os.makedirs(self.mail_base, exist_ok=True)
        os.chown(self.mail_base, self.mail_uid, self.mail_gid)
        os.chmod(self.mail_base, 0o755)

        if self.certs is not None:
            self.cert_file = os.path.join(self.config_dir, "cert.pem")
            self.key_file = os.path.join(self.config_dir, "key.pem")
            shutil.copy(self.certs.chain_a, self.cert_file)
            shutil.copy(self.certs.key_a, self.key_file)
            os.chmod(self.cert_file, 0o644)
            os.chmod(self.key_file, 0o600)
        else:
            self.cert_file = self.key_file = None

        # Maildirs: "user@domain domain/user/" (trailing slash = Maildir).
        with open(os.path.join(self.config_dir, "vmailbox"), "w") as f:
            for addr in self.mailboxes:
                local, domain = addr.lower().rsplit("@", 1)
                f.write("%s %s/%s/\n" % (addr.lower(), domain, local))
        os.chmod(os.path.join(self.config_dir, "vmailbox"), 0o644)

        # Cyrus SASL: a private smtpd.conf and sasldb.
        with open(os.path.join(self.sasl_dir, "smtpd.conf"), "w") as f:
            f.write("pwcheck_method: auxprop\n"
                    "auxprop_plugin: sasldb\n"
                    "mech_list: PLAIN LOGIN\n"
                    "sasldb_path: %s\n" % self.sasldb)
        os.chmod(os.path.join(self.sasl_dir, "smtpd.conf"), 0o644)
        for addr, pw in self.users.items():
            self.add_sasl_user(addr, pw, _initial=True)

        with open(os.path.join(self.config_dir, "main.cf"), "w") as f:
            f.write(self.main_cf())
        with open(os.path.join(self.config_dir, "master.cf"), "w") as f:
            f.write(self.master_cf())

    def add_sasl_user(self, address, password, _initial=False):
        local, domain = address.rsplit("@", 1)
        _run([SASLPASSWD2, "-p", "-c", "-f", self.sasldb, "-u", domain, local],
             input=password.encode())
        pf = pwd.getpwnam("postfix")
        os.chown(self.sasldb, 0, pf.pw_gid)
        os.chmod(self.sasldb, 0o640)
        if not _initial:
            self.users[address] = password

    def main_params(self):
        relay_restr = ("permit_mynetworks, reject_unauth_destination" if self.open_relay
                       else "reject_unauth_destination")
        p = {
            "compatibility_level": "3.6",
            "config_directory": self.config_dir,
            "queue_directory": self.queue_dir,
            "data_directory": self.data_dir,
            "maillog_file": self.log_file,
            "maillog_file_prefixes": self.dir,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": self.hostname,
            "mydomain": self.domains[0],
            "myorigin": "$myhostname",
            "mydestination": "",
            "local_recipient_maps": "",
            "local_transport": "error:5.1.1 local delivery is disabled in this test peer",
            "alias_maps": "",
            "alias_database": "",
            "inet_interfaces": HOST,
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "biff": "no",
            "append_dot_mydomain": "no",
            "readme_directory": "no",
            "smtputf8_enable": "yes",
            # Virtual Maildir delivery for the test domains.
            "virtual_mailbox_domains": " ".join(self.domains),
            "virtual_mailbox_base": self.mail_base,
            "virtual_mailbox_maps": "texthash:" + os.path.join(self.config_dir, "vmailbox"),
            "virtual_uid_maps": "static:%d" % self.mail_uid,
            "virtual_gid_maps": "static:%d" % self.mail_gid,
            "virtual_alias_maps": "",
            # Outbound: only to the relayhost, only from loopback, never DNS.
            "relayhost": self.relayhost or "",
            "default_transport": ("smtp" if self.relayhost else
                                  "error:5.7.1 no outbound delivery from this test peer"),
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "smtp_bind_address": HOST,
            "smtp_connect_timeout": "5s",
            "smtp_tls_security_level": "may",
            "smtp_tls_loglevel": "1",
            # Quick retries, so a test waits seconds, not minutes.
            "queue_run_delay": "2s",
            "minimal_backoff_time": "2s",
            "maximal_backoff_time": "4s",
            # smtpd: quick, no DNS, TLS offered.
            "smtpd_banner": "$myhostname ESMTP test peer",
            "smtpd_peername_lookup": "no",
            "smtpd_error_sleep_time": "0",
            "smtpd_relay_restrictions": relay_restr,
            "smtpd_recipient_restrictions": "",
            "smtpd_tls_security_level": "may" if self.cert_file else "none",
            "smtpd_tls_loglevel": "1",
            "smtpd_tls_received_header": "yes",
            # SASL (enabled on the submission service only).
            "smtpd_sasl_auth_enable": "no",
            "smtpd_sasl_type": "cyrus",
            "smtpd_sasl_path": "smtpd",
            "cyrus_sasl_config_path": self.sasl_dir,
            "smtpd_sasl_security_options": "noanonymous",
            "smtpd_sasl_tls_security_options": "noanonymous",
            "smtpd_sasl_authenticated_header": "yes",
        }
        if self.cert_file:
            p["smtpd_tls_cert_file"] = self.cert_file
            p["smtpd_tls_key_file"] = self.key_file
        if self.smtp_tls_ca:
            p["smtp_tls_CAfile"] = self.smtp_tls_ca
        p.update(self.main_extra)
        return p

    def main_cf(self):
        return "".join("%s = %s\n" % kv for kv in self.main_params().items())

    def master_cf(self):
        lines = [MASTER_CF_BASE]
        if "smtp" in self.ports:
            lines.append("%s:%d inet n - n - - smtpd\n"
                         "  -o syslog_name=postfix/smtp-in\n"
                         % (HOST, self.ports["smtp"]))
        if "submission" in self.ports:
            lines.append("%s:%d inet n - n - - smtpd\n"
                         "  -o syslog_name=postfix/submission\n"
                         "  -o smtpd_tls_security_level=encrypt\n"
                         "  -o smtpd_tls_auth_only=yes\n"
                         "  -o smtpd_sasl_auth_enable=yes\n"
                         "  -o smtpd_client_restrictions=\n"
                         "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
                         "  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n"
                         % (HOST, self.ports["submission"]))
        return "".join(lines)

    # ------------------------------------------------------------ process

    def _postfix(self, *args, timeout=30, check=True):
        return _run([POSTFIX, "-c", self.config_dir, *args], timeout=timeout, check=check)

    def _read_master_pid(self):
        try:
            with open(os.path.join(self.queue_dir, "pid", "master.pid")) as f:
                return int(f.read().strip() or "0") or None
        except (OSError, ValueError):
            return None

    @staticmethod
    def _pid_alive(pid):
        """True if pid runs (a zombie counts as gone)."""
        if not pid:
            return False
        try:
            with open("/proc/%d/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            return state != "Z"
        except (OSError, IndexError):
            return False

    def alive(self):
        return self._pid_alive(self.master_pid)

    def processes(self):
        """Pids of the running processes of this instance (found by their
        MAIL_CONFIG environment variable, which Postfix passes to every daemon)."""
        mark = ("MAIL_CONFIG=%s" % self.config_dir).encode()
        out = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == os.getpid():
                continue
            try:
                with open("/proc/%s/environ" % name, "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if mark in env and self._pid_alive(int(name)):
                out.append(int(name))
        return out

    def start(self, timeout=20.0):
        """Starts the instance under a supervisor process and waits (bounded)
        until every port accepts connections."""
        assert not self.alive(), "already running"
        self._supervisor_log = os.path.join(self.dir, "supervisor%d.log" % self._starts)
        self._starts += 1
        with open(self._supervisor_log, "wb") as lf:
            self.supervisor = subprocess.Popen(
                [sys.executable, "-c", SUPERVISOR, POSTFIX, self.config_dir,
                 os.path.join(self.queue_dir, "pid", "master.pid")],
                stdin=subprocess.DEVNULL, stdout=lf, stderr=lf)
        self.started = True
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _supervisor_text(self):
        try:
            with open(self._supervisor_log, "rb") as f:
                return f.read().decode(errors="replace")
        except (OSError, AttributeError):
            return ""

    def wait_ready(self, timeout=20.0):
        t0 = time.monotonic()
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if self.master_pid is None or not self.alive():
                self.master_pid = self._read_master_pid()
            # `postfix start` runs `master -w`: the daemon listens and writes its
            # pid file before the process that forked it exits, so until the
            # supervisor has seen `postfix start` return, the master's parent is
            # still that process, not the supervisor.
            if self.master_pid and self.alive() and all(
                    can_connect(port) for port in self.ports.values()) and \
                    "postfix start: exit 0" in self._supervisor_text():
                return
            if self.supervisor is not None and self.supervisor.poll() is not None:
                break
            time.sleep(0.05)
        if self.supervisor is not None:
            try:
                self.supervisor.wait(timeout=15)  # it reaps what a failed start left
            except subprocess.TimeoutExpired:
                pass
        raise AssertionError("postfix (config %s) not ready after %.1f s (master pid %s; "
                             "port accepts connections: %s; a port taken by another "
                             "process makes the start fail):\n%s\nlog:\n%s"
                             % (self.config_dir, time.monotonic() - t0, self.master_pid,
                                {n: can_connect(p) for n, p in self.ports.items()},
                                self._supervisor_text()[-3000:], self.log_text()[-4000:]))

    def stop(self, timeout=15.0):
        """Stops the instance, every process of it and its supervisor; bounded;
        safe to call twice. Raises if something had to be killed."""
        if not self.started:
            return
        self.started = False
        problems = []
        pid = self.master_pid or self._read_master_pid()
        if self._pid_alive(pid):
            self._postfix("stop", timeout=30, check=False)
            deadline = time.monotonic() + timeout
            while self._pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if self._pid_alive(pid):
                problems.append("postfix master %d did not stop within %.0f s" % (pid, timeout))
                self._postfix("abort", timeout=30, check=False)
        # Daemons end soon after their master; then kill what is left.
        deadline = time.monotonic() + 5
        left = self.processes()
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = self.processes()
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        if left:
            problems.append("killed postfix processes left after stop: %s" % left)
        sup = self.supervisor
        if sup is not None and sup.poll() is None:
            sup.send_signal(signal.SIGTERM)  # it reaps the last daemons, then exits
            try:
                sup.wait(timeout=15)
            except subprocess.TimeoutExpired:
                sup.kill()
                sup.wait(timeout=10)
                problems.append("the supervisor did not exit")
        self.supervisor = None
        self.master_pid = None
        if problems:
            raise AssertionError("; ".join(problems) + "\n" + self.log_text()[-2000:])

    def cleanup(self):
        """stop(), then remove the instance's folder."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def reload(self, timeout=10.0):
        """postfix reload, and wait (bounded) until the master has logged it."""
        mark = self.log_size()
        self._postfix("reload")
        if not self.wait_log(r"postfix/master\[\d+\]: reload", timeout=timeout, since=mark):
            raise AssertionError("postfix reload not logged:\n" + self.log_text()[-2000:])
        self.wait_ready()

    def postconf(self, **params):
        """Sets main.cf parameters (and reloads if running): postconf(relayhost="[127.0.0.1]:25")."""
        args = ["%s=%s" % kv for kv in params.items()]
        _run([POSTCONF, "-c", self.config_dir, "-e", *args])
        self.main_extra.update(params)
        if self.started:
            self.reload()

    def get(self, param):
        """The value of a main.cf parameter as this instance sees it."""
        return _run([POSTCONF, "-c", self.config_dir, "-h", param]).stdout.decode().strip()

    def set_relayhost(self, port, host=HOST):
        """Relays all mail for non-local domains to [host]:port (None: no relaying)."""
        self.relayhost = None if port is None else "[%s]:%d" % (host, port)
        self.postconf(relayhost=self.relayhost or "",
                      default_transport="smtp" if self.relayhost else
                      "error:5.7.1 no outbound delivery from this test peer")

    def check(self):
        """`postfix check` output (warnings), raises if it fails."""
        p = self._postfix("check")
        return (p.stdout + p.stderr).decode(errors="replace")

    # ------------------------------------------------------------ queue

    def flush(self):
        """postqueue -f: retry every deferred message now."""
        _run([POSTQUEUE, "-c", self.config_dir, "-f"])

    def queue(self):
        """The queue as a list of dicts (postqueue -j): queue_name, queue_id,
        sender, recipients [{address, delay_reason?}], ..."""
        p = _run([POSTQUEUE, "-c", self.config_dir, "-j"])
        return [json.loads(ln) for ln in p.stdout.decode(errors="replace").splitlines()
                if ln.strip()]

    def wait_queue_empty(self, timeout=15.0):
        return poll(self.queue, timeout, done=lambda q: not q, interval=0.1)

    # ------------------------------------------------------------ log

    def log_text(self):
        return read_text(self.log_file)

    def log_size(self):
        return len(self.log_text())

    def wait_log(self, pattern, timeout=10.0, since=0):
        """Waits until the log (after offset since) matches regex pattern;
        returns the match or None."""
        return poll(lambda: re.search(pattern, self.log_text()[since:]), timeout)

    # ------------------------------------------------------------ Maildirs

    def maildir(self, address):
        local, domain = address.lower().rsplit("@", 1)
        return os.path.join(self.mail_base, domain, local)

    def delivered(self, address):
        """{filename: bytes} of the messages in the address's Maildir (new/ and cur/)."""
        out = {}
        for sub in ("new", "cur"):
            out.update(read_folder(os.path.join(self.maildir(address), sub)))
        return out

    def port(self, service):
        return self.ports[service]


def start_peer(root, certs, **kw):
    """A started PostfixPeer; on a start failure it is cleaned up and the error raised."""
    peer = PostfixPeer(root, certs, **kw)
    try:
        peer.start()
    except BaseException:
        peer.cleanup()
        raise
    return peer


# ---------------------------------------------------------------- fixtures
#
# Import the fixtures you use into the test module (pytest finds fixtures in
# the module's globals); they need only conftest's `workroot` and `certs`:
#     from peers import postfix_peer, postfix_submission, make_postfix


def require_postfix():
    """pytest.skip() when Postfix is missing and cannot be installed."""
    reason = ensure_postfix()
    if reason:
        pytest.skip(reason)


_module_peers = {}  # module name -> [peer, users]


def _module_peer(request, workroot, certs):
    key = request.module.__name__
    if key not in _module_peers:
        require_postfix()
        _module_peers[key] = [start_peer(workroot, certs, name="postfix"), 0]
    _module_peers[key][1] += 1
    return key, _module_peers[key][0]


def _release_module_peer(key):
    entry = _module_peers[key]
    entry[1] -= 1
    if entry[1] == 0:
        del _module_peers[key]
        entry[0].cleanup()


@pytest.fixture(scope="module")
def postfix_peer(request, workroot, certs):
    """One started Postfix per test module with both services: submission
    (STARTTLS + AUTH, users PEER_USERS) and smtp (receiver for peer.test);
    Maildirs for PEER_USERS and PEER_MAILBOXES; no relayhost. Stopped and
    removed after the module."""
    key, peer = _module_peer(request, workroot, certs)
    yield peer
    _release_module_peer(key)


@pytest.fixture(scope="module")
def postfix_submission(request, workroot, certs):
    """The same instance as postfix_peer (one per module), named for its
    submission service: postfix_submission.ports["submission"]."""
    key, peer = _module_peer(request, workroot, certs)
    yield peer
    _release_module_peer(key)


@pytest.fixture
def make_postfix(workroot, certs):
    """Factory for extra instances, each stopped and removed after the test:
    make_postfix(name=..., relayhost="[127.0.0.1]:PORT", open_relay=True,
    domains=(...), hostname=..., submission=False, start=True)."""
    require_postfix()
    made = []

    def factory(start=True, **kw):
        kw.setdefault("name", "postfix%d" % (len(made) + 1))
        peer = PostfixPeer(workroot, certs, **kw)
        made.append(peer)
        if start:
            peer.start()
        return peer

    yield factory
    problems = []
    for peer in made:
        try:
            peer.cleanup()
        except AssertionError as e:
            problems.append(str(e))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
