"""relayhost as configured: the bracketed IPv6 form is delivered to, and a
SIGHUP applies a new relayhost and outbound settings."""

import os
import re
import time

from conftest import USERS, login_conn, message, send_raw_message, token

ALICE = "alice@example.test"
DAVE = "dave@relay.test"
RELAY_USERS = dict(USERS, **{DAVE: "dave-pw-4"})


def relay(make_server, host, name):
    """A mailport for relay.test on host (a fresh port), door submission,
    with the test certificate (valid for 127.0.0.1 and ::1)."""
    srv = make_server(start=False, doors={"r": "submission"}, users=RELAY_USERS,
                      extra=["domain relay.test"], name=name)
    srv.hosts["r"] = host
    srv.write_config()
    srv.start()
    return srv


def relay_line(srv, relayhost):
    """relayhost with alice's login (her password in a root-only file)."""
    secret = os.path.join(srv.dir, "relay-secret")
    with open(secret, "w") as f:
        f.write(USERS[ALICE] + "\n")
    os.chmod(secret, 0o600)
    return ["relayhost %s %s %s" % (relayhost, ALICE, secret),
            "relay-cafile %s" % srv.certs.ca]


def submit(srv, rcpt, marker):
    with login_conn(srv, "submission", ALICE) as c:
        r = send_raw_message(c, ALICE, [rcpt], message(marker, to=rcpt).encode() + b".\r\n")
        assert r.code == 250, r


def sending_server(make_server, relayhost, extra=()):
    srv = make_server(start=False)
    srv.extra += relay_line(srv, relayhost) + list(extra)
    srv.write_config()
    srv.start()
    return srv


def test_relayhost_bracketed_ipv6_with_port(make_server):
    """Item 15: `relayhost [::1]:PORT` passes config check and is delivered to."""
    rx = relay(make_server, "::1", "relay6")
    srv = sending_server(make_server, "[::1]:%d" % rx.ports["r"])
    m = token()
    submit(srv, DAVE, m)
    got = rx.wait_mail(DAVE, m, timeout=15)
    assert len(got) == 1, "not relayed to [::1]:%d\n%s" % (rx.ports["r"], srv.log_text()[-3000:])
    assert re.search(r"event=delivery to=<%s> relay=::1\[::1\]:%d .*status=sent"
                     % (re.escape(DAVE), rx.ports["r"]), srv.log_text()), srv.log_text()[-2000:]


def test_sighup_applies_relayhost_and_outbound_limits(make_server):
    """Item 16: a new relayhost (and outbound-connections) in the config and a
    SIGHUP: the next message goes to the new relay, and the log names what
    was applied."""
    a = relay(make_server, "127.0.0.1", "relay-a")
    b = relay(make_server, "127.0.0.1", "relay-b")
    srv = sending_server(make_server, "127.0.0.1:%d" % a.ports["r"],
                         extra=["outbound-connections 4"])
    m1 = token()
    submit(srv, DAVE, m1)
    assert len(a.wait_mail(DAVE, m1, timeout=15)) == 1, srv.log_text()[-3000:]
    srv.extra = [x for x in srv.extra
                 if not x.startswith(("relayhost", "outbound-connections"))]
    srv.extra += ["relayhost 127.0.0.1:%d %s %s" % (b.ports["r"], ALICE,
                                                     os.path.join(srv.dir, "relay-secret")),
                  "outbound-connections 3"]
    srv.write_config()
    mark = srv.log_size()
    srv.sighup()
    applied = srv.wait_log(r"event=reload_outbound applied=\"([^\"]*)\"", since=mark)
    assert applied, srv.log_text()[mark:]
    assert applied.group(1).split() == ["relayhost", "outbound-connections"], applied.group(0)
    done = srv.wait_log(r"event=outbound_reloaded relayhost=127\.0\.0\.1:%d .*connections=3 "
                        % b.ports["r"], since=mark)
    assert done, srv.log_text()[mark:]
    m2 = token()
    submit(srv, DAVE, m2)
    got = b.wait_mail(DAVE, m2, timeout=15)
    assert len(got) == 1, "the new relayhost got nothing after SIGHUP\n%s" % (
        srv.log_text()[mark:])
    assert not a.find_mail(DAVE, m2), "the old relayhost still used after SIGHUP"
