"""Remembered logins: a client that logs in again soon costs no new crypt(3)
hash, and nothing but the exact user and password that succeeded is trusted.
"""
from conftest import Conn, login_conn

ALICE = "alice@example.test"


def auth(srv, user, password):
    c = Conn(srv.port("submission"))
    try:
        c.ehlo()
        c.starttls(srv.certs.client_context())
        c.ehlo()
        return c.auth_plain(user, password).code
    finally:
        c.close()


def test_second_login_is_remembered(make_server):
    srv = make_server()
    login_conn(srv).close()
    mark = srv.log_size()
    login_conn(srv).close()
    assert "event=auth_cached user=%s" % ALICE in srv.log_text()[mark:]


def test_only_the_same_password_is_remembered(make_server):
    srv = make_server()
    login_conn(srv).close()
    assert auth(srv, ALICE, srv.users[ALICE] + "x") == 535
    assert auth(srv, ALICE.upper(), srv.users[ALICE] + "x") == 535


def test_changed_users_file_forgets_remembered_logins(make_server):
    srv = make_server()
    old = srv.users[ALICE]
    login_conn(srv).close()
    srv.users[ALICE] = "a-new-password"
    srv.write_users()
    mark = srv.log_size()
    assert auth(srv, ALICE, old) == 535, "the old password must not live on in the cache"
    assert auth(srv, ALICE, "a-new-password") == 235
    assert "event=auth_cached" not in srv.log_text()[mark:]


def test_user_added_logs_in_at_once(make_server):
    """A login looks at the users file every time: a user added a moment
    after another login (within the same second) logs in at once, as the
    README's tour does (passwd, then send)."""
    srv = make_server()
    for i in range(3):
        login_conn(srv).close()  # the server has just looked at the file
        user = "new%d@example.test" % i
        srv.users[user] = "pw-%d" % i
        srv.write_users()
        assert auth(srv, user, "pw-%d" % i) == 235, i
