"""The open-file limit: raised to the hard limit at start, and caps that
cannot fit in it refused with the numbers and the fix."""

import re
import shutil

import pytest

from conftest import Conn

pytestmark = pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs prlimit")


def open_files_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        m = re.search(r"^Max open files\s+(\d+)\s+(\d+)", f.read(), re.M)
    return int(m.group(1)), int(m.group(2))


def test_soft_limit_raised_to_hard(make_server):
    srv = make_server(prefix=["prlimit", "--nofile=512:8192", "--"])
    assert open_files_limit(srv.pid) == (8192, 8192)
    assert re.search(r"event=fd_limit limit=8192 need=\d+ busy=\d+", srv.log_text())
    assert "fd_limit_tight" not in srv.log_text()
    with Conn(srv.port("smtp")) as c:
        assert c.ehlo().code == 250


def test_caps_past_the_hard_limit_refused(make_server):
    srv = make_server(start=False, limits={"max-connections": 1000},
                      prefix=["prlimit", "--nofile=256:256", "--"])
    srv.expect_exit = True
    srv.start(wait=False)
    assert srv.proc.wait(timeout=20) == 78  # EX_CONFIG
    log = srv.current_log()
    assert "the open-file limit is too low" in log, log
    assert "max-connections 1000" in log and "this process may open 256" in log, log
    # 256 - 64 spare - 2 x 20 outbound connections
    assert "LimitNOFILE" in log and "max-connections 152 fits" in log, log


def test_caps_that_fit_only_when_quiet_warned(make_server):
    """1000 connections fit in 1500 files, but not if each spooled a large
    message at once: the server starts and says so, with the fix."""
    srv = make_server(limits={"max-connections": 1000},
                      prefix=["prlimit", "--nofile=1500:1500", "--"])
    m = srv.wait_log(r"event=fd_limit_tight limit=1500 busy=2104 .*raise the hard limit to 2104")
    assert m, srv.log_text()
    with Conn(srv.port("smtp")) as c:
        assert c.ehlo().code == 250
