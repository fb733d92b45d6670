"""`mailport verify` (issue 7) against local receivers and a real DNS server.

Every name resolves through dnsmasq on loopback (dns.py), every MX is a
127.0.25.X:25 address (root): mailport's own server for example.test (550
5.1.1 to unknown users, 250 to known ones), aiosmtpd receivers
(receivers.py) as a catch-all, a greylisting one (451) and a rate-limited
address (452 4.5.3). Nothing here leaves 127.0.0.0/8: disposable domains
are served by the same dnsmasq.
"""

import csv
import io
import json
import os
import socket
import subprocess

import pytest

from conftest import USERS, binary_path, new_dir
from dns import make_dns  # noqa: F401
from receivers import make_receiver, next_ip, require_root  # noqa: F401

ALICE = "alice@example.test"
RUN_TIMEOUT = 60


def verify(*args, input=None):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    p = subprocess.run([binary_path(), "verify", *args], input=input, capture_output=True,
                       timeout=RUN_TIMEOUT, env=env)
    p.out = p.stdout.decode(errors="replace")
    p.err = p.stderr.decode(errors="replace")
    assert "Sanitizer" not in p.err and "runtime error" not in p.err, p.err
    return p


class World:
    """The domains: example.test (mailport), catchall.test and implicit.test
    (a catch-all), grey.test (451 to every RCPT), nullmx.test, dead.test
    (nothing listens), mailinator.com (disposable, a catch-all), and
    everything else under .test NXDOMAIN."""

    def __init__(self, make_server, make_dns, make_receiver):
        self.mp_ip = next_ip()
        users = dict(USERS, **{"info@example.test": "info-pw-9"})
        srv = make_server(start=False, doors={"smtp": "smtp"}, users=users)
        srv.ports["smtp"] = 25
        srv.hosts["smtp"] = self.mp_ip
        srv.write_config()
        srv.start()
        self.srv = srv
        self.catch = make_receiver(reject={"slow@catchall.test": "452 4.5.3 Too many recipients"})
        self.grey = make_receiver(temp_fail_rcpt=1000)
        self.dead = next_ip()
        self.dns = make_dns(
            mx={"example.test": [(10, "mx.example.test")],
                "catchall.test": [(10, "mx.catchall.test")],
                "grey.test": [(10, "mx.grey.test")],
                "dead.test": [(10, "mx.dead.test")],
                "mailinator.com": [(10, "mx.catchall.test")]},
            hosts={"mx.example.test": [self.mp_ip], "mx.catchall.test": [self.catch.ip],
                   "mx.grey.test": [self.grey.ip], "mx.dead.test": [self.dead],
                   "implicit.test": [self.catch.ip]},
            null_mx=["nullmx.test"], zones=["test", "mailinator.com"])
        self.resolver = "127.0.0.1:%d" % self.dns.port

    def run(self, *args, input=None):
        return verify("--resolver", self.resolver, "--timeout", "5", "--helo", "verifier.test",
                      *args, input=input)

    def no_data_sent(self):
        for rx in (self.catch, self.grey):
            assert rx.data_started == 0 and rx.messages == [], "DATA reached a receiver"
        log = self.srv.log_text()
        assert "DATA" not in log.upper().replace("METADATA", ""), log[-2000:]
        assert not os.path.isdir(self.srv.maildir(ALICE)) or not self.srv.delivered(ALICE)


@pytest.fixture
def world(make_server, make_dns, make_receiver):
    return World(make_server, make_dns, make_receiver)


def by_address(p):
    rows = json.loads(p.out)
    assert isinstance(rows, list)
    for r in rows:
        assert set(r) == {"address", "verdict", "reason", "flags", "mx", "smtp_code",
                          "smtp_reply"}, r
        assert r["verdict"] in ("deliverable", "undeliverable", "risky", "unknown")
        assert r["reason"], r
    return {r["address"]: r for r in rows}


def test_verdicts(world):
    addrs = [ALICE, "nobody@example.test", "info@example.test", "anyone@catchall.test",
             "slow@catchall.test", "x@grey.test", "z@nullmx.test", "a@nx.test",
             "b@implicit.test", "not an address", "c@dead.test", "d@mailinator.com"]
    p = world.run("--json", *addrs)
    assert p.returncode == 0, p.err
    r = by_address(p)
    assert sorted(r) == sorted(addrs)
    assert r[ALICE]["verdict"] == "deliverable" and r[ALICE]["smtp_code"] == 250
    assert r[ALICE]["mx"] == "mx.example.test" and r[ALICE]["flags"] == []
    nob = r["nobody@example.test"]
    assert nob["verdict"] == "undeliverable" and nob["smtp_code"] == 550, nob
    assert "5.1.1" in nob["smtp_reply"] and "does not exist" in nob["reason"]
    assert r["info@example.test"]["verdict"] == "risky"
    assert r["info@example.test"]["flags"] == ["role"]
    assert "role" in r["info@example.test"]["reason"]
    ca = r["anyone@catchall.test"]
    assert ca["verdict"] == "risky" and "catch-all" in ca["flags"] and "catch-all" in ca["reason"]
    slow = r["slow@catchall.test"]
    assert slow["verdict"] == "unknown" and slow["smtp_code"] == 452, slow
    assert "rate limited" in slow["reason"]
    grey = r["x@grey.test"]
    assert grey["verdict"] == "risky" and grey["smtp_code"] == 451 and "tempfail" in grey["flags"]
    assert r["z@nullmx.test"]["verdict"] == "undeliverable"
    assert "null MX" in r["z@nullmx.test"]["reason"]
    assert r["a@nx.test"]["verdict"] == "undeliverable"
    assert "NXDOMAIN" in r["a@nx.test"]["reason"]
    imp = r["b@implicit.test"]
    assert imp["mx"] == "implicit.test" and imp["verdict"] == "risky", imp
    bad = r["not an address"]
    assert bad["verdict"] == "undeliverable" and "syntax" in bad["reason"]
    dead = r["c@dead.test"]
    assert dead["verdict"] == "unknown" and "refused" in dead["reason"], dead
    disp = r["d@mailinator.com"]
    assert disp["verdict"] == "risky" and "disposable" in disp["flags"], disp
    assert "12 addresses: 1 deliverable, 4 undeliverable, 5 risky, 2 unknown" in p.err
    world.no_data_sent()


def test_one_session_per_domain_with_a_catch_all_probe(world):
    addrs = ["u%d@catchall.test" % i for i in range(6)]
    p = world.run("--json", "--concurrency", "3", *addrs)
    assert p.returncode == 0, p.err
    seen = [a for a, _ in world.catch.rcpt_log]
    probes = [a for a in seen if a not in addrs]
    assert len(probes) == 1, seen  # one session: one made-up address, asked first
    assert seen[0] == probes[0] and probes[0].endswith("@catchall.test")
    assert sorted(seen[1:]) == sorted(addrs)
    world.no_data_sent()


def test_per_domain_splits_sessions(world):
    addrs = ["u%d@catchall.test" % i for i in range(6)]
    p = world.run("--json", "--concurrency", "4", "--per-domain", "2", *addrs)
    assert p.returncode == 0, p.err
    seen = [a for a, _ in world.catch.rcpt_log]
    assert len([a for a in seen if a not in addrs]) == 2, seen
    assert sorted(a for a in seen if a in addrs) == sorted(addrs)


def test_text_table(world):
    p = world.run(ALICE, "nobody@example.test")
    assert p.returncode == 0, p.err
    lines = p.out.splitlines()
    assert lines[0].split()[:4] == ["ADDRESS", "VERDICT", "FLAGS", "REASON"]
    assert lines[1].split()[:2] == [ALICE, "deliverable"]
    assert lines[2].split()[:2] == ["nobody@example.test", "undeliverable"]
    assert "550 5.1.1" in lines[2]


def test_csv_file_with_column(world, workroot):
    d = new_dir(workroot, "verify-")
    path = os.path.join(d, "list.csv")
    with open(path, "w", newline="") as f:
        f.write('name,email,note\r\n"Alice, A.",alice@example.test,x\r\n'
                'Nobody,nobody@example.test,"multi\nline"\r\nEmpty,,\r\n'
                'Grey,x@grey.test,y\r\n')
    p = world.run("--file", path, "--column", "EMAIL", "--csv")
    assert p.returncode == 0, p.err
    rows = list(csv.DictReader(io.StringIO(p.out)))
    assert [r["address"] for r in rows] == [ALICE, "nobody@example.test", "x@grey.test"]
    assert [r["verdict"] for r in rows] == ["deliverable", "undeliverable", "risky"]
    assert rows[1]["smtp_code"] == "550" and rows[2]["flags"] == "tempfail"
    assert list(rows[0]) == ["address", "verdict", "reason", "flags", "mx", "smtp_code",
                             "smtp_reply"]
    world.no_data_sent()


def test_plain_file_and_no_smtp(world, workroot):
    d = new_dir(workroot, "verify-")
    path = os.path.join(d, "list.txt")
    with open(path, "w") as f:
        f.write("# a comment\n\n  alice@example.test  \nz@nullmx.test\na@nx.test\n"
                "sales@catchall.test\n")
    p = world.run("--file", path, "--no-smtp", "--json")
    assert p.returncode == 0, p.err
    r = by_address(p)
    assert sorted(r) == sorted([ALICE, "z@nullmx.test", "a@nx.test", "sales@catchall.test"])
    assert r[ALICE]["verdict"] == "unknown" and "--no-smtp" in r[ALICE]["reason"]
    assert r[ALICE]["smtp_code"] is None and r[ALICE]["mx"] == "mx.example.test"
    assert r["z@nullmx.test"]["verdict"] == "undeliverable"
    assert r["a@nx.test"]["verdict"] == "undeliverable"
    assert r["sales@catchall.test"]["verdict"] == "risky"
    assert r["sales@catchall.test"]["flags"] == ["role"]
    assert world.catch.rcpt_log == [] and world.grey.rcpt_log == [], "--no-smtp asked SMTP"


def test_stdin(world):
    p = world.run("--file", "-", "--json", input=b"alice@example.test\n")
    assert p.returncode == 0, p.err
    assert by_address(p)[ALICE]["verdict"] == "deliverable"


def test_nothing_checked_is_69(world):
    p = world.run("c@dead.test", "e@dead.test")
    assert p.returncode == 69, p.out + p.err
    assert "unknown" in p.out


def test_usage_and_missing_file(workroot):
    d = new_dir(workroot, "verify-")
    assert verify().returncode == 64
    assert verify("--concurrency", "0", "a@b.test").returncode == 64
    assert verify("--timeout", "x", "a@b.test").returncode == 64
    assert verify("--from", "not a mailbox", "a@b.test").returncode == 64
    assert verify("--column", "email", "a@b.test").returncode == 64
    assert verify("--file", os.path.join(d, "missing.txt")).returncode == 66
    path = os.path.join(d, "list.csv")
    with open(path, "w") as f:
        f.write("name,mail\nA,a@b.test\n")
    p = verify("--file", path, "--column", "email")
    assert p.returncode == 64 and "no column named 'email'" in p.err


def test_syntax_only_needs_no_network():
    # Bad syntax is decided before DNS: the resolver (port 9, nothing there) is never asked.
    p = verify("--resolver", "127.0.0.1:9", "--timeout", "1", "--json", "a@@b", "@x.test",
               "x" * 70 + "@a.test")
    assert p.returncode == 0, p.err
    rows = json.loads(p.out)
    assert [r["verdict"] for r in rows] == ["undeliverable"] * 3
    assert all("syntax" in r["reason"] for r in rows)


def test_port_that_times_out(make_dns):
    # A listener whose accept queue is full drops SYNs: the connect times out,
    # as on a network that blocks port 25.
    require_root()
    ip = next_ip()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind((ip, 25))
    lsock.listen(0)
    fillers = []
    try:
        for _ in range(4):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((ip, 25))
            fillers.append(s)
        dns = make_dns(mx={"slow.test": [(10, "mx.slow.test")]}, hosts={"mx.slow.test": [ip]})
        p = verify("--resolver", "127.0.0.1:%d" % dns.port, "--timeout", "1", "--json",
                   "a@slow.test")
        assert p.returncode == 69, p.out + p.err
        r = by_address(p)["a@slow.test"]
        assert r["verdict"] == "unknown" and "timed out" in r["reason"], r
        assert "port 25" in r["reason"]
    finally:
        for s in fillers:
            s.close()
        lsock.close()
