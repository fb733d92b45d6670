"""A real Dovecot on loopback for the integration tests and the benchmark.

`DovecotPeer` runs `dovecot -F -c CONF` (as root) from a private folder: its
own base_dir, state_dir, log file and config, IMAP and LMTP on free
127.0.0.1 ports, LMTP and auth-client also as Unix sockets in the folder
(mode 0666: mailport reaches them after dropping root). Accounts come from
a passwd-file (both passdb and userdb), mail goes to maildir:<dir>/mail/%d/%n
owned by `nobody`, and the quota plugin is on: an account given a quota
(bytes) gets `userdb_quota_rule=*:storage=N`. Nothing of the system Dovecot
(/etc/dovecot, /run/dovecot) is used or started.

Dovecot comes from Debian's dovecot-core, dovecot-lmtpd and dovecot-imapd,
which scripts/install-peers.sh installs with no service started; the
fixtures install them that way when they are missing.
"""

import imaplib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

from conftest import HOST, can_connect, free_port, poll

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INSTALL_SCRIPT = os.path.join(REPO, "scripts", "install-peers.sh")
DOVECOT = "/usr/sbin/dovecot"
NEEDED = ("/usr/lib/dovecot/lmtp", "/usr/lib/dovecot/imap")


def ensure_dovecot():
    """Install Dovecot with install-peers.sh when missing; the reason if it cannot be."""
    if os.access(DOVECOT, os.X_OK) and all(os.path.exists(p) for p in NEEDED):
        return None
    r = subprocess.run([INSTALL_SCRIPT], capture_output=True, text=True, timeout=900)
    if r.returncode != 0 or not os.access(DOVECOT, os.X_OK):
        return "Dovecot is not installed and install-peers.sh failed:\n" + r.stderr[-2000:]
    return None


CONF = """\
# A private Dovecot for mailport's tests: nothing here touches /etc/dovecot.
base_dir = {dir}/run
state_dir = {dir}/state
instance_name = mailport-test-{tag}
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_username_format = %Lu
mail_location = maildir:{dir}/mail/%d/%n
mail_plugins = $mail_plugins quota
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/passwd
  default_fields = uid={uid} gid={gid} home={dir}/home/%d/%n
}}
plugin {{
  quota = maildir:User quota
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  unix_listener {dir}/lmtp {{
    mode = 0666
  }}
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
service auth {{
  unix_listener {dir}/auth-client {{
    mode = 0666
  }}
  inet_listener {{
    address = 127.0.0.1
    port = {auth_port}
  }}
}}
"""


class DovecotPeer:
    """One private Dovecot. accounts: {address: password}; quotas: {address: bytes}."""

    def __init__(self, root, accounts, quotas=None):
        self.dir = tempfile.mkdtemp(prefix="dovecot-", dir=root)
        os.chmod(self.dir, 0o755)
        self.accounts = dict(accounts)
        self.quotas = dict(quotas or {})
        self.imap_port = free_port()
        self.lmtp_port = free_port()
        self.auth_port = free_port()
        self.lmtp_socket = os.path.join(self.dir, "lmtp")
        self.auth_socket = os.path.join(self.dir, "auth-client")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.log = os.path.join(self.dir, "dovecot.log")
        nobody = pwd.getpwnam("nobody")
        self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        for sub in ("mail", "home"):
            p = os.path.join(self.dir, sub)
            os.makedirs(p)
            os.chown(p, self.uid, self.gid)
        self.write_passwd()
        with open(self.conf, "w") as f:
            f.write(CONF.format(dir=self.dir, tag=os.path.basename(self.dir), uid=self.uid,
                                gid=self.gid, imap_port=self.imap_port,
                                lmtp_port=self.lmtp_port, auth_port=self.auth_port))
        self.proc = None

    def write_passwd(self):
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            for addr, pw in self.accounts.items():
                extra = ""
                if addr in self.quotas:
                    extra = "userdb_quota_rule=*:storage=%dB" % self.quotas[addr]
                f.write("%s:{PLAIN}%s::::::%s\n" % (addr, pw, extra))

    def start(self, timeout=15.0):
        assert self.proc is None or self.proc.poll() is not None
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "stderr.txt"), "ab"))
        ok = poll(lambda: self.proc.poll() is not None or (
            os.path.exists(self.lmtp_socket) and os.path.exists(self.auth_socket)
            and can_connect(self.imap_port) and can_connect(self.lmtp_port)), timeout)
        if not ok or self.proc.poll() is not None:
            raise AssertionError("dovecot did not start:\n" + self.log_text()[-3000:])
        return self

    def stop(self, timeout=10.0):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)
        # The master has gone; its children follow (they watch its pipe).
        poll(lambda: not can_connect(self.lmtp_port) and not can_connect(self.imap_port),
             timeout)

    def log_text(self):
        out = ""
        for name in ("dovecot.log", "stderr.txt"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    out += f.read().decode(errors="replace")
        return out

    def imap_messages(self, address):
        """Every message in address's INBOX, read over IMAP (imaplib)."""
        m = imaplib.IMAP4(HOST, self.imap_port, timeout=10)
        try:
            m.login(address, self.accounts[address])
            typ, _ = m.select("INBOX", readonly=True)
            assert typ == "OK"
            typ, data = m.search(None, "ALL")
            out = []
            for num in data[0].split():
                typ, parts = m.fetch(num, "(RFC822)")
                out.append(parts[0][1].decode(errors="replace"))
            return out
        finally:
            try:
                m.logout()
            except Exception:
                pass

    def wait_imap(self, address, marker, timeout=10.0):
        """The message holding marker in address's INBOX, or None after timeout."""
        return poll(lambda: next((t for t in self.imap_messages(address) if marker in t), None),
                    timeout)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
