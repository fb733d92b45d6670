"""MTA-STS's moving parts for the tests: a test CA for host names, and the
policy host (RFC 8461 3.3) — Python's http.server behind ssl on port 443 of
a loopback address of 127.0.43.0/24, found by name through the test's
dnsmasq (`hosts={"mta-sts.DOMAIN": [server.ip]}`).

    ca = sts_ca                                  # session fixture: StsCa
    srv = make_policy_server("sts.test", policy("enforce", ["mx.sts.test"]))
    mailport ... "outbound-cafile %s" % ca.ca    # trust the test CA

The server is changed while it runs: `body`, `content_type`, `status`,
`location` (a redirect), `trickle` (seconds between bytes: a slow server),
`use_cert(chain, key)`; `requests` counts the GETs of the policy's path.
`ca.issue(names)` makes a leaf for the names (chain = leaf + intermediate,
like a real server sends it); `ca.self_signed(names)` one no one trusts.
Receivers take a `ca.receiver_certs(name)` as their certs (chain_a, key_a).
"""
import http.server
import os
import ssl
import subprocess
import threading
import time

import pytest

from conftest import new_dir
from receivers import next_ip, require_root

NET = "127.0.43"


def policy(mode, mxs, max_age=86400, eol="\r\n"):
    """A policy file's text (RFC 8461 3.2)."""
    lines = ["version: STSv1", "mode: " + mode] + ["mx: " + m for m in mxs]
    return eol.join(lines + ["max_age: %d" % max_age]) + eol


class StsCa:
    """A root CA, an intermediate, and leaves for chosen names."""

    def __init__(self, d):
        self.dir = d
        self.n = 0
        self._o("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
                "ca.pem", "-days", "30", "-subj", "/CN=mailport MTA-STS test root",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self._ext("ca.ext", "basicConstraints=critical,CA:TRUE\n"
                  "keyUsage=critical,keyCertSign,cRLSign\n")
        self._o("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "int.key", "-out", "int.csr",
                "-subj", "/CN=mailport MTA-STS test intermediate")
        self._o("x509", "-req", "-in", "int.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "int.pem", "-days", "30", "-extfile", "ca.ext")
        self.ca = os.path.join(d, "ca.pem")

    def _o(self, *args):
        p = subprocess.run(["openssl", *args], cwd=self.dir, capture_output=True, timeout=60)
        assert p.returncode == 0, "openssl %s: %s" % (" ".join(args), p.stderr.decode())

    def _ext(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def issue(self, names, days=30, expired=False):
        """(chain file, key file) of a leaf for names, signed by the intermediate."""
        self.n += 1
        tag = "leaf%d" % self.n
        self._ext(tag + ".ext", "basicConstraints=critical,CA:FALSE\n"
                  "keyUsage=critical,digitalSignature,keyEncipherment\n"
                  "extendedKeyUsage=serverAuth\n"
                  "subjectAltName=" + ",".join("DNS:" + n for n in names) + "\n")
        self._o("req", "-newkey", "rsa:2048", "-nodes", "-keyout", tag + ".key", "-out",
                tag + ".csr", "-subj", "/CN=" + names[0])
        dates = ["-days", str(days)]
        if expired:
            # Valid from two days ago until yesterday (openssl x509 -not_before/-not_after
            # need OpenSSL 3.4; the ca command takes dates on any OpenSSL 3).
            return self._expired(tag, names)
        self._o("x509", "-req", "-in", tag + ".csr", "-CA", "int.pem", "-CAkey", "int.key",
                "-CAcreateserial", "-out", tag + ".pem", *dates, "-extfile", tag + ".ext")
        return self._chain(tag)

    def _expired(self, tag, names):
        db = os.path.join(self.dir, "db-" + tag)
        os.makedirs(db, exist_ok=True)
        open(os.path.join(db, "index.txt"), "w").close()
        with open(os.path.join(db, "serial"), "w") as f:
            f.write("1000\n")
        self._ext(tag + ".cnf", "[ca]\ndefault_ca=c\n[c]\ndatabase=%s/index.txt\n"
                  "serial=%s/serial\nnew_certs_dir=%s\ndefault_md=sha256\n"
                  "policy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\n" % (db, db, db))
        self._o("ca", "-batch", "-config", tag + ".cnf", "-cert", "int.pem", "-keyfile",
                "int.key", "-in", tag + ".csr", "-out", tag + ".pem", "-startdate",
                time.strftime("%Y%m%d%H%M%SZ", time.gmtime(time.time() - 2 * 86400)),
                "-enddate", time.strftime("%Y%m%d%H%M%SZ", time.gmtime(time.time() - 86400)),
                "-extfile", tag + ".ext", "-notext")
        return self._chain(tag)

    def _chain(self, tag):
        chain = os.path.join(self.dir, tag + "-chain.pem")
        with open(chain, "w") as f:
            f.write(open(os.path.join(self.dir, tag + ".pem")).read())
            f.write(open(os.path.join(self.dir, "int.pem")).read())
        return chain, os.path.join(self.dir, tag + ".key")

    def self_signed(self, names):
        """(cert, key) of a self-signed certificate for names: trusted by no one."""
        self.n += 1
        tag = "self%d" % self.n
        self._o("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", tag + ".key",
                "-out", tag + ".pem", "-days", "30", "-subj", "/CN=" + names[0],
                "-addext", "subjectAltName=" + ",".join("DNS:" + n for n in names))
        return os.path.join(self.dir, tag + ".pem"), os.path.join(self.dir, tag + ".key")

    def receiver_certs(self, chain_key):
        """What receivers.Receiver takes as certs, for a (chain, key) pair."""
        class _C:
            pass
        c = _C()
        c.chain_a, c.key_a = chain_key
        return c


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_GET(self):
        srv = self.server.owner
        if self.path != "/.well-known/mta-sts.txt":
            self.send_error(404)
            return
        with srv.lock:
            srv.requests += 1
            srv.hosts.append(self.headers.get("Host", ""))
        body = srv.body if isinstance(srv.body, bytes) else srv.body.encode()
        self.send_response(srv.status)
        if srv.location:
            self.send_header("Location", srv.location)
        if srv.content_type:
            self.send_header("Content-Type", srv.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.trickle:
            for i in range(len(body)):
                if srv.stopping:
                    return
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(srv.trickle)
        else:
            self.wfile.write(body)


class PolicyServer:
    """HTTPS on ip:443 serving /.well-known/mta-sts.txt."""

    def __init__(self, chain, key, body, ip=None):
        self.ip = ip or next_ip(NET, ports=(443,))
        self.body, self.content_type, self.status = body, "text/plain", 200
        self.location, self.trickle, self.stopping = None, 0, False
        self.requests, self.hosts, self.lock = 0, [], threading.Lock()
        self.httpd = None
        self.thread = None
        self.use_cert(chain, key)

    def use_cert(self, chain, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(chain, key)
        self.ctx = ctx
        if self.httpd is not None:
            self.stop()
            self.start()

    def start(self):
        self.stopping = False
        httpd = http.server.ThreadingHTTPServer((self.ip, 443), _Handler, bind_and_activate=False)
        httpd.allow_reuse_address = True
        httpd.daemon_threads = True
        httpd.server_bind()
        httpd.server_activate()
        httpd.owner = self
        httpd.socket = self.ctx.wrap_socket(httpd.socket, server_side=True,
                                            do_handshake_on_connect=False)
        self.httpd = httpd
        self.thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.httpd is None:
            return
        self.stopping = True
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
        self.httpd = None


@pytest.fixture(scope="session")
def sts_ca(workroot):
    return StsCa(new_dir(workroot, "sts-ca-"))


@pytest.fixture
def make_policy_server(sts_ca):
    """Factory: make_policy_server(domain, body, cert=(chain, key)) -> a started
    PolicyServer for mta-sts.DOMAIN (a certificate from sts_ca unless cert)."""
    require_root()
    made = []

    def factory(domain, body, cert=None):
        chain, key = cert or sts_ca.issue(["mta-sts." + domain])
        srv = PolicyServer(chain, key, body)
        made.append(srv)
        return srv.start()

    yield factory
    for srv in made:
        srv.stop()
