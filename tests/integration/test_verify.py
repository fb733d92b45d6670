"""`mailport verify` (issue 7) against local receivers and a real DNS server.

Every name resolves through dnsmasq on loopback (dns.py), every MX is a
127.0.25.X:25 address (root): mailport's own server for example.test (550
5.1.1 to unknown users, 250 to known ones), aiosmtpd receivers
(receivers.py) as a catch-all, a greylisting one (451) and a rate-limited
address (452 4.5.3). Nothing here leaves 127.0.0.0/8: disposable domains,
gmail.com and its typo gmial.com, and an internationalised domain are
served by the same dnsmasq.
"""

import csv
import io
import json
import os
import pty
import select
import signal
import socket
import subprocess
import time

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
                "mailinator.com": [(10, "mx.catchall.test")],
                "gmail.com": [(10, "mx.catchall.test")],
                "gmial.com": [(10, "mx.catchall.test")],
                "xn--bcher-kva.test": [(10, "mx.catchall.test")]},
            hosts={"mx.example.test": [self.mp_ip], "mx.catchall.test": [self.catch.ip],
                   "mx.grey.test": [self.grey.ip], "mx.dead.test": [self.dead],
                   "implicit.test": [self.catch.ip]},
            null_mx=["nullmx.test"],
            zones=["test", "mailinator.com", "gmail.com", "gmial.com"])
        self.resolver = "127.0.0.1:%d" % self.dns.port

    def run(self, *args, input=None):
        return verify("--resolver", self.resolver, "--timeout", "5", "--helo", "verifier.test",
                      "--greylist-wait", "1", *args, input=input)

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
                          "smtp_reply", "normalized", "suggestion"}, r
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
    # Rate limiting is not greylisting: asked once, not again after the pause.
    assert [a for a, _ in world.catch.rcpt_log].count("slow@catchall.test") == 1
    grey = r["x@grey.test"]
    assert grey["verdict"] == "risky" and grey["smtp_code"] == 451 and "tempfail" in grey["flags"]
    assert "twice" in grey["reason"], grey  # 451 again after the pause
    assert [a for a, _ in world.grey.rcpt_log].count("x@grey.test") == 2
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


class Mailboxes(dict):
    """A Receiver's reject table for a domain that is no catch-all: 250 to the
    known addresses, 550 5.1.1 to every other one (the made-up one too)."""

    def __init__(self, known):
        super().__init__()
        self.known = {a.lower() for a in known}

    def __contains__(self, address):
        return True

    def __getitem__(self, address):
        return "250 2.1.5 OK" if address in self.known else "550 5.1.1 No such user"


def transactions(rx):
    """The receiver's conn_log as [(connection, [RCPT addresses], ended with RSET)]."""
    out = []
    for conn, what in rx.conn_log:
        if what == "MAIL":
            out.append([conn, [], False])
        elif what.startswith("RCPT ") and out and out[-1][0] == conn:
            out[-1][1].append(what[5:])
        elif what == "RSET" and out and out[-1][0] == conn:
            out[-1][2] = True
    return [tuple(t) for t in out]


def probes_of(rx, addrs):
    """The made-up addresses the receiver was asked for the domain of addrs."""
    domain = addrs[0].split("@")[1]
    return [a for a, _ in rx.rcpt_log if a not in addrs and a.endswith("@" + domain)]


def test_one_connection_for_many_addresses(make_dns, make_receiver):
    # 120 addresses of one domain: one connection, a transaction per batch
    # (RSET between, never more than 100 RCPTs each), one made-up address.
    addrs = ["user%03d@many.test" % i for i in range(120)]
    known = set(addrs[::3])
    rx = make_receiver()
    rx.reject = Mailboxes(known)
    dns = make_dns(mx={"many.test": [(10, "mx.many.test")]}, hosts={"mx.many.test": [rx.ip]})
    p = verify("--resolver", "127.0.0.1:%d" % dns.port, "--timeout", "5", "--json", *addrs)
    assert p.returncode == 0, p.err
    r = by_address(p)
    for a in addrs:
        want = "deliverable" if a in known else "undeliverable"
        assert r[a]["verdict"] == want and r[a]["mx"] == "mx.many.test", r[a]
    assert rx.connections == 1, rx.conn_log[:5]
    tx = transactions(rx)
    assert len(tx) >= 2, tx  # batches, not one huge transaction
    assert all(rset for _, _, rset in tx), tx  # each ended with RSET
    assert all(0 < len(rcpts) <= 100 for _, rcpts, _ in tx), [len(t[1]) for t in tx]
    asked = [a for _, rcpts, _ in tx for a in rcpts]
    assert sorted(a for a in asked if a in addrs) == sorted(addrs)  # each asked once
    probes = probes_of(rx, addrs)
    assert len(probes) == 1 and tx[0][1][0] == probes[0], probes  # first, once
    assert rx.data_started == 0 and rx.messages == []


def test_interleaved_domains_one_connection_and_one_lookup_each(make_dns, make_receiver):
    # Three domains, each on its own MX, addresses interleaved in the input.
    names = ["one.test", "two.test", "three.test"]
    rxs = {n: make_receiver() for n in names}
    dns = make_dns(mx={n: [(10, "mx." + n)] for n in names},
                   hosts={"mx." + n: [rx.ip] for n, rx in rxs.items()})
    addrs = ["u%d@%s" % (i, n) for i in range(70) for n in names]
    p = verify("--resolver", "127.0.0.1:%d" % dns.port, "--timeout", "5", "--concurrency",
               "3", "--json", *addrs)
    assert p.returncode == 0, p.err
    r = by_address(p)
    assert all(r[a]["verdict"] == "risky" and "catch-all" in r[a]["flags"] for a in addrs)
    for n, rx in rxs.items():
        mine = [a for a in addrs if a.endswith("@" + n)]
        assert rx.connections == 1, (n, rx.connections, transactions(rx))
        assert len(probes_of(rx, mine)) == 1, (n, probes_of(rx, mine))
        assert sorted(a for a, _ in rx.rcpt_log if a in mine) == sorted(mine)
    # The MX of each domain was asked of the DNS once, not once per batch or address.
    log = dns.log_text()
    for n in names:
        assert log.count("query[MX] %s " % n) == 1, (n, log.count("query[MX] %s " % n))


def test_catch_all_asked_once_over_parallel_connections(make_dns, make_receiver):
    # --per-domain 2: up to two connections to the domain, one made-up address.
    addrs = ["u%d@wide.test" % i for i in range(200)]
    rx = make_receiver()
    dns = make_dns(mx={"wide.test": [(10, "mx.wide.test")]}, hosts={"mx.wide.test": [rx.ip]})
    p = verify("--resolver", "127.0.0.1:%d" % dns.port, "--timeout", "5", "--json",
               "--concurrency", "4", "--per-domain", "2", *addrs)
    assert p.returncode == 0, p.err
    r = by_address(p)
    assert all(r[a]["verdict"] == "risky" and "catch-all" in r[a]["flags"] for a in addrs)
    assert len(probes_of(rx, addrs)) == 1, probes_of(rx, addrs)
    assert 1 <= rx.connections <= 2 and rx.peak_busy() <= 2, rx.connections
    assert sorted(a for a, _ in rx.rcpt_log if a in addrs) == sorted(addrs)


def test_concurrency_caps_connections(make_dns, make_receiver):
    # Six domains on one MX, --concurrency 2: one connection per domain, two at once at most.
    rx = make_receiver()
    names = ["c%d.test" % i for i in range(6)]
    dns = make_dns(mx={n: [(10, "mx.shared.test")] for n in names},
                   hosts={"mx.shared.test": [rx.ip]})
    addrs = ["u%d@%s" % (i, n) for n in names for i in range(60)]
    p = verify("--resolver", "127.0.0.1:%d" % dns.port, "--timeout", "5", "--json",
               "--concurrency", "2", *addrs)
    assert p.returncode == 0, p.err
    assert len(by_address(p)) == len(addrs)
    assert rx.connections == 6 and rx.peak_busy() <= 2, (rx.connections, rx.peak_busy())
    for n in names:
        assert len(probes_of(rx, [a for a in addrs if a.endswith("@" + n)])) == 1


@pytest.mark.parametrize("how", ["refuse_after", "hangup_after"])
def test_server_ending_the_connection_gets_a_new_one(make_dns, make_receiver, how):
    # After 2 transactions the server says 421 to the next MAIL, or hangs up
    # after the RSET: verify connects again and every address gets its verdict.
    addrs = ["user%03d@closing.test" % i for i in range(250)]
    known = set(addrs[::2])
    rx = make_receiver(**{how: 2})
    rx.reject = Mailboxes(known)
    dns = make_dns(mx={"closing.test": [(10, "mx.closing.test")]},
                   hosts={"mx.closing.test": [rx.ip]})
    p = verify("--resolver", "127.0.0.1:%d" % dns.port, "--timeout", "5", "--json", *addrs)
    assert p.returncode == 0, p.err
    r = by_address(p)
    for a in addrs:
        want = "deliverable" if a in known else "undeliverable"
        assert r[a]["verdict"] == want, r[a]
    tx = [t for t in transactions(rx) if t[1]]
    per_conn = {}
    for conn, _, _ in tx:
        per_conn[conn] = per_conn.get(conn, 0) + 1
    assert max(per_conn.values()) == 2 and len(tx) >= 3, per_conn  # reused until it ended
    assert rx.connections == len(per_conn) < len(tx), (rx.connections, per_conn)
    assert sorted(a for _, rcpts, _ in tx for a in rcpts if a in addrs) == sorted(addrs)
    assert len(probes_of(rx, addrs)) == 1


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
    # The input's columns first (quoted fields and line breaks kept), results appended.
    assert list(rows[0]) == ["name", "email", "note", "verdict", "reason", "flags", "mx",
                             "smtp_code", "smtp_reply", "normalized", "suggestion"]
    assert [r["email"] for r in rows] == [ALICE, "nobody@example.test", "x@grey.test"]
    assert [r["name"] for r in rows] == ["Alice, A.", "Nobody", "Grey"]
    assert [r["note"] for r in rows] == ["x", "multi\nline", "y"]
    assert [r["verdict"] for r in rows] == ["deliverable", "undeliverable", "risky"]
    assert rows[1]["smtp_code"] == "550" and rows[2]["flags"] == "tempfail"
    assert rows[0]["normalized"] == ALICE and rows[0]["suggestion"] == ""
    world.no_data_sent()


def test_csv_without_a_csv_input(world):
    p = world.run("--csv", ALICE)
    assert p.returncode == 0, p.err
    rows = list(csv.DictReader(io.StringIO(p.out)))
    assert list(rows[0]) == ["address", "verdict", "reason", "flags", "mx", "smtp_code",
                             "smtp_reply", "normalized", "suggestion"]
    assert rows[0]["address"] == ALICE and rows[0]["verdict"] == "deliverable"


def test_csv_input_with_json_output(world, workroot):
    # --column without --csv: the columns only pick the address.
    d = new_dir(workroot, "verify-")
    path = os.path.join(d, "list.csv")
    with open(path, "w") as f:
        f.write("email,n\nalice@example.test,1\n")
    p = world.run("--file", path, "--column", "email", "--json")
    assert p.returncode == 0, p.err
    assert by_address(p)[ALICE]["verdict"] == "deliverable"


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


class Greylist(dict):
    """A Receiver's reject table that greylists: every address gets 451 the
    first time it is seen, then known ones 250 and others 550."""

    def __init__(self, known):
        super().__init__()
        self.known = set(known)
        self.seen = set()

    def __contains__(self, address):
        return True

    def __getitem__(self, address):
        if address not in self.seen:
            self.seen.add(address)
            return "451 4.7.1 Greylisted, please try again later"
        if address in self.known:
            return "250 2.1.5 OK"
        return "550 5.1.1 No such user"


def greylist_world(make_dns, make_receiver):
    rx = make_receiver()
    rx.reject = Greylist(["ann@greylist.test"])
    dns = make_dns(mx={"greylist.test": [(10, "mx.greylist.test")]},
                   hosts={"mx.greylist.test": [rx.ip]})
    return rx, "127.0.0.1:%d" % dns.port


def test_greylisted_address_asked_again(make_dns, make_receiver):
    rx, resolver = greylist_world(make_dns, make_receiver)
    t0 = time.monotonic()
    p = verify("--resolver", resolver, "--timeout", "5", "--greylist-wait", "2", "--json",
               "ann@greylist.test", "ghost@greylist.test")
    took = time.monotonic() - t0
    assert p.returncode == 0, p.err
    r = by_address(p)
    ann = r["ann@greylist.test"]
    assert ann["verdict"] == "deliverable" and ann["smtp_code"] == 250, ann
    assert ann["flags"] == [] and "asked again after 2 s" in ann["reason"], ann
    ghost = r["ghost@greylist.test"]
    assert ghost["verdict"] == "undeliverable" and ghost["smtp_code"] == 550, ghost
    assert took >= 2.0, took  # the pause was kept
    seen = [a for a, _ in rx.rcpt_log]
    assert seen.count("ann@greylist.test") == 2 and seen.count("ghost@greylist.test") == 2
    # The made-up address is the domain's, asked again on the retry (451 the
    # first time): the greylister lets it through too.
    probes = [a for a in seen if a.startswith("mpv-")]
    assert len(probes) == 2 and probes[0] == probes[1], seen
    assert rx.data_started == 0


def test_greylist_wait_zero_asks_once(make_dns, make_receiver):
    rx, resolver = greylist_world(make_dns, make_receiver)
    p = verify("--resolver", resolver, "--timeout", "5", "--greylist-wait", "0", "--json",
               "ann@greylist.test")
    assert p.returncode == 0, p.err
    ann = by_address(p)["ann@greylist.test"]
    assert ann["verdict"] == "risky" and ann["smtp_code"] == 451, ann
    assert "tempfail" in ann["flags"] and "twice" not in ann["reason"]
    assert [a for a, _ in rx.rcpt_log].count("ann@greylist.test") == 1


def test_typo_suggestion_and_free_flag(world):
    p = world.run("--json", "bob@gmial.com", "carol@gmail.com", ALICE)
    assert p.returncode == 0, p.err
    r = by_address(p)
    typo = r["bob@gmial.com"]
    assert typo["suggestion"] == "bob@gmail.com" and "free" not in typo["flags"], typo
    good = r["carol@gmail.com"]
    assert good["suggestion"] is None and "free" in good["flags"], good
    assert r[ALICE]["suggestion"] is None and r[ALICE]["flags"] == []
    # The free flag alone does not make an address risky: gmail.com here is a catch-all.
    assert "catch-all" in good["flags"]
    t = world.run("bob@gmial.com")
    assert "did you mean bob@gmail.com?" in t.out, t.out
    c = world.run("--csv", "bob@gmial.com")
    rows = list(csv.DictReader(io.StringIO(c.out)))
    assert rows[0]["suggestion"] == "bob@gmail.com"


def test_internationalised_domain(world):
    nfd = "anna@Bu\u0308cher.test"  # decomposed and capitalised: NFC, then A-labels
    p = world.run("--json", "anna@bücher.test", nfd, "x@\u2603.test")
    assert p.returncode == 0, p.err
    r = by_address(p)
    for a in ("anna@bücher.test", nfd):
        assert r[a]["normalized"] == "anna@xn--bcher-kva.test", r[a]
        assert r[a]["mx"] == "mx.catchall.test" and "catch-all" in r[a]["flags"], r[a]
    assert "anna@xn--bcher-kva.test" in [a for a, _ in world.catch.rcpt_log]
    bad = r["x@\u2603.test"]
    assert bad["verdict"] == "undeliverable" and "internationalised" in bad["reason"], bad
    assert bad["normalized"] is None


def test_disposable_file(world, workroot):
    d = new_dir(workroot, "verify-")
    path = os.path.join(d, "more.txt")
    with open(path, "w") as f:
        f.write("# more throwaway domains\nthrowaway.test\n\nCatchAll.test.  # a comment\n")
    p = world.run("--json", "--disposable-file", path, "a@throwaway.test", "u@catchall.test",
                  "d@mailinator.com", ALICE)
    assert p.returncode == 0, p.err
    r = by_address(p)
    assert "disposable" in r["a@throwaway.test"]["flags"]
    assert "disposable" in r["u@catchall.test"]["flags"]
    assert "disposable" in r["d@mailinator.com"]["flags"]  # the built-in list still counts
    assert r[ALICE]["flags"] == [] and r[ALICE]["verdict"] == "deliverable"
    bad = os.path.join(d, "bad.txt")
    with open(bad, "w") as f:
        f.write("ok.test\nnot a domain\n")
    p = world.run("--disposable-file", bad, ALICE)
    assert p.returncode == 65 and "bad.txt:2" in p.err, p.err
    assert world.run("--disposable-file", os.path.join(d, "none.txt"), ALICE).returncode == 66
    h = verify("--help")
    assert h.returncode == 0 and "--disposable-file" in h.out
    assert "as of 2026-11-29" in h.out, h.out


def test_ctrl_c_prints_what_is_done(world):
    require_root()
    ip = next_ip()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind((ip, 25))
    lsock.listen(0)
    socks = [lsock]
    try:
        for _ in range(4):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((ip, 25))
            socks.append(s)
        # mx.hang.test is not in the DNS: give the hanging host as an address literal.
        args = [binary_path(), "verify", "--resolver", world.resolver, "--timeout", "30",
                "--concurrency", "2", "--json", "--greylist-wait", "1", ALICE,
                "h@[%s]" % ip, "not an address"]
        t0 = time.monotonic()
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Kept: off a terminal verify shows nothing until the end, so no sign
        # says ALICE's check is done and the hanging one under way.
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        took = time.monotonic() - t0
        err = err.decode(errors="replace")
        assert proc.returncode == 130, err
        assert took < 10, took  # the hanging session is not waited for
        rows = {r["address"]: r for r in json.loads(out)}
        assert sorted(rows) == sorted([ALICE, "not an address"]), rows
        assert rows[ALICE]["verdict"] == "deliverable"
        assert "2 addresses: 1 deliverable, 1 undeliverable" in err, err
        assert "interrupted: 1 of 3 addresses not checked" in err, err
        assert "verify: " not in err and "\r" not in err  # no progress line off a terminal
    finally:
        for s in socks:
            s.close()


def test_progress_line_on_a_terminal(world):
    require_root()
    ip = next_ip()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind((ip, 25))
    lsock.listen(0)
    socks = [lsock]
    master, slave = pty.openpty()
    try:
        for _ in range(4):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((ip, 25))
            socks.append(s)
        args = [binary_path(), "verify", "--resolver", world.resolver, "--timeout", "30",
                "--csv", ALICE, "h@[%s]" % ip]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        slave = None
        seen = b""
        deadline = time.monotonic() + 10
        while b"1/2 done" not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.5)[0]:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
        # It has exited: what it wrote is in the pty; read until quiet or EOF.
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        text = seen.decode(errors="replace")
        assert proc.returncode == 130, text
        assert "verify: 1/2 done" in text and "/s, ETA" in text, text
        assert "interrupted: 1 of 2 addresses not checked" in text, text
        rows = list(csv.DictReader(io.StringIO(out.decode())))
        assert [r["address"] for r in rows] == [ALICE]
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)
        for s in socks:
            s.close()
