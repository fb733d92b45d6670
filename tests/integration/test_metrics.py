"""Metrics (issue 17): `metrics IP:PORT` serves Prometheus text at /metrics.

Judged by Prometheus's own tools: promtool checks the text, and a real
Prometheus (Debian's) scrapes the listener and must see the counters move.
"""

import json
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import HOST, USERS, free_port, poll, read_text, stop_process


def scrape(port, path="/metrics"):
    with urllib.request.urlopen("http://%s:%d%s" % (HOST, port, path), timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def samples(text):
    """{'name{labels}': value} of the sample lines."""
    out = {}
    for ln in text.splitlines():
        if ln and not ln.startswith("#"):
            k, v = ln.rsplit(" ", 1)
            out[k] = float(v)
    return out


def metrics_server(make_server, extra=()):
    port = free_port()
    srv = make_server(extra=["metrics %s:%d" % (HOST, port), *extra])
    srv.metrics_port = port
    return srv


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def login(srv, password, ok):
    """One SMTP AUTH PLAIN after STARTTLS, on its own connection."""
    with smtplib.SMTP(HOST, srv.port("submission"), timeout=10) as s:
        s.starttls(context=tls_ctx())
        s.ehlo()
        s.user, s.password = "alice@example.test", password
        if ok:
            s.auth("PLAIN", s.auth_plain)
        else:
            with pytest.raises(smtplib.SMTPAuthenticationError):
                s.auth("PLAIN", s.auth_plain)


def send(srv, rcpt, body):
    with smtplib.SMTP(HOST, srv.port("submission"), timeout=10) as s:
        s.starttls(context=tls_ctx())
        s.login("alice@example.test", USERS["alice@example.test"])
        s.sendmail("alice@example.test", [rcpt], body)


def promtool_ok(text):
    if shutil.which("promtool") is None:
        pytest.skip("promtool is missing (scripts/install-peers.sh installs prometheus)")
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_metrics_count_what_happens_and_pass_promtool(make_server):
    srv = metrics_server(make_server)
    before = samples(scrape(srv.metrics_port))
    # Every series is there from the start, at 0.
    for k in ('mailport_deliveries_total{kind="local",status="sent"}',
              'mailport_deliveries_total{kind="remote",status="deferred"}',
              'mailport_dns_errors_total{error="refused"}',
              'mailport_auth_total{result="failure"}', "mailport_queue_messages"):
        assert before[k] == 0, k
    login(srv, USERS["alice@example.test"], True)
    login(srv, "wrong-password", False)
    body = "From: alice@example.test\r\nSubject: metrics\r\n\r\n" + "x" * 1000 + "\r\n"
    send(srv, "bob@example.test", body)   # local: delivered
    send(srv, "someone@remote.example.net", body)   # remote: the resolver refuses, deferred
    assert srv.wait_log(r"event=delivered to=<bob@example\.test>")
    assert srv.wait_log(r"to=<someone@remote\.example\.net>.*status=deferred")
    text = scrape(srv.metrics_port)
    promtool_ok(text)
    after = samples(text)

    def moved(k):
        return after[k] - before.get(k, 0)

    sub = 'mailport_connections_total{door="%s:%d",service="submission"}' % (
        HOST, srv.port("submission"))
    assert moved(sub) == 4
    assert moved('mailport_auth_total{result="success"}') == 3
    assert moved('mailport_auth_total{result="failure"}') == 1
    assert moved('mailport_tls_handshakes_total{version="TLSv1.3"}') == 4
    assert moved("mailport_messages_accepted_total") == 2
    # The message data as the client sent it (before our Received: line).
    assert moved("mailport_message_bytes_total") == 2 * len(body)
    assert moved('mailport_deliveries_total{kind="local",status="sent"}') == 1
    assert moved('mailport_delivery_delay_seconds_count{kind="local"}') == 1
    assert moved('mailport_delivery_delay_seconds_bucket{kind="local",le="+Inf"}') == 1
    assert moved('mailport_deliveries_total{kind="remote",status="deferred"}') >= 1
    # Deferred is not final: no delay observed for it.
    assert moved('mailport_delivery_delay_seconds_count{kind="remote"}') == 0
    assert moved('mailport_dns_errors_total{error="refused"}') >= 1
    assert after["mailport_queue_messages"] == 1
    assert 0 <= after["mailport_queue_oldest_age_seconds"] < 120


def test_metrics_queue_age_grows_and_empties(make_server):
    srv = metrics_server(make_server)
    send(srv, "someone@remote.example.net", "Subject: q\r\n\r\nq\r\n")
    assert poll(lambda: samples(scrape(srv.metrics_port))["mailport_queue_messages"] == 1, 10)
    assert poll(lambda: samples(scrape(srv.metrics_port))[
        "mailport_queue_oldest_age_seconds"] >= 1, 10)
    qid = re.search(r"id=(\w+) event=accepted", srv.log_text()).group(1)
    subprocess.run([srv.binary, "queue", "delete", qid, "-c", srv.conf], capture_output=True,
                   timeout=30)
    assert poll(lambda: samples(scrape(srv.metrics_port))["mailport_queue_messages"] == 0, 10)
    assert samples(scrape(srv.metrics_port))["mailport_queue_oldest_age_seconds"] == 0


def test_metrics_listener_serves_only_metrics(make_server):
    srv = metrics_server(make_server)
    with pytest.raises(urllib.error.HTTPError) as e:
        scrape(srv.metrics_port, "/")
    assert e.value.code == 404 and b"/metrics" in e.value.read()
    req = urllib.request.Request("http://%s:%d/metrics" % (HOST, srv.metrics_port),
                                 data=b"x=1", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code in (405, 413)
    # Headers past 8 KiB are refused, and the server lives on.
    s = socket.create_connection((HOST, srv.metrics_port), timeout=10)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
    reply = s.recv(100)
    s.close()
    assert not reply.startswith(b"HTTP/1.1 200"), reply
    assert "mailport_queue_messages" in scrape(srv.metrics_port)


def test_metrics_port_taken_stops_the_start(make_server):
    busy = socket.socket()
    busy.bind((HOST, 0))
    busy.listen(1)
    try:
        srv = make_server(start=False, extra=["metrics %s:%d" % (HOST, busy.getsockname()[1])])
        srv.expect_exit = True
        srv.start(wait=False)
        assert srv.proc.wait(timeout=20) == 69
        out = srv.current_log()
        assert "cannot listen for metrics on" in out and "fix:" in out
    finally:
        busy.close()


def test_metrics_line_needs_a_port(make_server, mailport_bin):
    srv = make_server(start=False, extra=["metrics 127.0.0.1"])
    p = subprocess.run([mailport_bin, "config", "check", "-c", srv.conf], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode != 0 and "metrics needs a port" in p.stdout + p.stderr


class Prometheus:
    def __init__(self, d, target):
        self.port = free_port()
        conf = os.path.join(d, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: mailport\n    static_configs:\n"
                    "      - targets: ['%s']\n" % target)
        self.err = os.path.join(d, "prometheus.err")
        self.proc = subprocess.Popen(
            ["prometheus", "--config.file=" + conf, "--storage.tsdb.path=" + os.path.join(d, "tsdb"),
             "--web.listen-address=%s:%d" % (HOST, self.port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(self.err, "wb"))

    def value(self, query):
        url = "http://%s:%d/api/v1/query?query=%s" % (HOST, self.port, urllib.parse.quote(query))
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                data = json.load(r)
        except (urllib.error.URLError, ConnectionError):
            return None
        res = data.get("data", {}).get("result", [])
        return float(res[0]["value"][1]) if res else None

    def stop(self):
        stop_process(self.proc, 20.0)


def test_prometheus_scrapes_and_sees_the_counters_move(make_server, workroot):
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is missing (scripts/install-peers.sh installs it)")
    srv = metrics_server(make_server)
    d = os.path.join(workroot, "prometheus-%d" % srv.metrics_port)
    os.makedirs(d)
    prom = Prometheus(d, "%s:%d" % (HOST, srv.metrics_port))
    try:
        assert poll(lambda: prom.value('up{job="mailport"}') == 1, 30), read_text(prom.err)[-3000:]
        assert prom.value("mailport_messages_accepted_total") == 0
        send(srv, "bob@example.test", "Subject: one\r\n\r\none\r\n")
        send(srv, "bob@example.test", "Subject: two\r\n\r\ntwo\r\n")
        assert poll(lambda: prom.value("mailport_messages_accepted_total") == 2, 20)
        assert poll(lambda: prom.value(
            'mailport_deliveries_total{kind="local",status="sent"}') == 2, 20)
        assert prom.value('mailport_auth_total{result="success"}') == 2
    finally:
        prom.stop()


def test_changed_metrics_line_needs_a_restart_and_says_so(make_server):
    """The listener is made at start: a reload keeps it and says which line
    waits for a restart, rather than taking the new line without acting on it."""
    srv = metrics_server(make_server)
    old = srv.metrics_port
    srv.extra[-1] = "metrics %s:%d" % (HOST, free_port())
    srv.extra.append("tls-report off")
    srv.write_config()
    mark = srv.log_size()
    srv.sighup()
    assert srv.wait_log(r"event=reload_needs_restart setting=metrics .*fix=\"restart", since=mark)
    assert srv.wait_log(r"event=reload_needs_restart setting=tls-report ", since=mark)
    assert srv.wait_log(r"event=reload ", since=mark)
    assert "mailport_queue_messages" in scrape(old)
