"""Issue 13, item 6: sign-in throttling (登录限制).

The finding: 100 wrong passwords, then the right one worked. Now failures are
counted per account and per client address in the database; from the fifth
failure of an account (the twentieth of an address) each further failure
locks it out for twice as long as the last. While locked, the sign-in page
answers 429 with ``Retry-After`` and says when to try again, whatever the
password; each lock-out is an audit event; a success resets the account's
counter. The clock is pinned with ``YIMEN_NOW``, never read from the wall.
Through Flask's test client, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from engine.models import AuditEvent
from tests.web.test_pages import PASSWORD, csrf
from web import create_app

START = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
LOCKED_TEXT = "登录失败次数过多"


class Browser:
    """One client at one address, signing in through the page."""

    def __init__(self, app, address: str = "127.0.0.1"):
        self.client = app.test_client()
        self.address = address
        self.token = csrf(self.client.get("/login", environ_base={"REMOTE_ADDR": address}).data)

    def sign_in(self, user: str, password: str):
        return self.client.post("/login", data={"user": user, "password": password, "csrf_token": self.token},
                                environ_base={"REMOTE_ADDR": self.address})


def _at(monkeypatch, seconds: float) -> None:
    monkeypatch.setenv("YIMEN_NOW", (START + timedelta(seconds=seconds)).isoformat())


def _lockouts(app) -> list[dict]:
    with app.extensions["yimen"].sessions() as s:
        return [e.data for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "auth.lockout")
                                          .order_by(AuditEvent.seq))]


def test_a_hundred_wrong_passwords_lock_the_account_with_a_growing_delay(app, monkeypatch):
    browser = Browser(app)
    answers = [browser.sign_in("wang", f"guess-{n}") for n in range(100)]
    assert [a.status_code for a in answers[:5]] == [401] * 5
    assert {a.status_code for a in answers[5:]} == {429}
    assert answers[5].headers["Retry-After"] == "60"
    page = answers[5].data.decode()
    assert LOCKED_TEXT in page and "2026-03-02 10:01:00" in page  # try again after, in Beijing time

    right = browser.sign_in("wang", PASSWORD)  # the right password while locked: refused all the same
    assert right.status_code == 429 and "Location" not in right.headers

    events = _lockouts(app)
    assert len(events) == 1  # the 95 refused attempts were not even looked at
    assert events[0]["account"] == "wang" and events[0]["locks"][0]["kind"] == "account"
    assert events[0]["locks"][0]["seconds"] == 60 and events[0]["locks"][0]["failures"] == 5

    _at(monkeypatch, 61)  # the lock-out has passed: one more failure locks for twice as long
    assert browser.sign_in("wang", "guess-again").status_code == 401
    again = browser.sign_in("wang", PASSWORD)
    assert again.status_code == 429 and again.headers["Retry-After"] == "120"
    _at(monkeypatch, 61 + 121)
    assert browser.sign_in("wang", "guess-once-more").status_code == 401
    assert browser.sign_in("wang", PASSWORD).headers["Retry-After"] == "240"
    assert [e["locks"][0]["seconds"] for e in _lockouts(app)] == [60, 120, 240]

    _at(monkeypatch, 61 + 121 + 241)  # the right password after the lock-out: signed in, the counter reset
    assert browser.sign_in("wang", PASSWORD).status_code == 302
    fresh = Browser(app)
    assert [fresh.sign_in("wang", "wrong-again").status_code for _ in range(6)] == [401] * 5 + [429]
    assert fresh.sign_in("wang", PASSWORD).headers["Retry-After"] == "60"  # the first lock-out's length again
    assert app.extensions["yimen"].verify_audit()["ok"]


def test_one_account_locked_does_not_lock_another(app):
    browser = Browser(app)
    for _ in range(5):
        browser.sign_in("wang", "wrong-password")
    assert browser.sign_in("wang", PASSWORD).status_code == 429
    assert browser.sign_in("li", PASSWORD).status_code == 302


def test_an_address_trying_many_accounts_is_locked_out_across_them(app):
    sprayer = Browser(app, "203.0.113.7")
    accounts = ["wang", "li", "zhou", "zhao", "xu", "he", "head", "sun", "zhang", "chen"]
    accounts += [f"nobody-{n}" for n in range(10)]  # unknown accounts count the same
    assert [sprayer.sign_in(user, "password-1").status_code for user in accounts] == [401] * 20
    refused = sprayer.sign_in("qian", PASSWORD)  # a right password from the locked address
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert LOCKED_TEXT in refused.data.decode()
    events = _lockouts(app)
    assert len(events) == 1 and events[0]["address"] == "203.0.113.7"
    assert [lock["kind"] for lock in events[0]["locks"]] == ["address"]
    # the accounts themselves were tried once each: from another address they sign in
    assert Browser(app, "198.51.100.2").sign_in("qian", PASSWORD).status_code == 302
    assert Browser(app, "198.51.100.2").sign_in("wang", PASSWORD).status_code == 302


def test_a_success_does_not_reset_the_address(app):
    office = Browser(app, "192.0.2.10")
    for n in range(19):
        assert office.sign_in(f"nobody-{n}", "x-password").status_code == 401
    assert office.sign_in("wang", PASSWORD).status_code == 302  # someone with the right password
    office = Browser(app, "192.0.2.10")  # the next person at that address
    assert office.sign_in("nobody-x", "x-password").status_code == 401  # the 20th failure
    assert office.sign_in("li", PASSWORD).status_code == 429


def test_the_counters_are_shared_by_every_worker_process(app, database_url, monkeypatch, tmp_path):
    """Two apps over one database (two workers behind one load balancer) count the same attempts."""
    second = create_app({"YIMEN_DATABASE_URL": database_url, "SECRET_KEY": "test", "TESTING": True})
    try:
        workers = [Browser(app), Browser(second)]
        assert [workers[n % 2].sign_in("wang", "wrong-password").status_code for n in range(6)] == [401] * 5 + [429]
        assert workers[1].sign_in("wang", PASSWORD).status_code == 429
        assert workers[0].sign_in("wang", PASSWORD).status_code == 429
    finally:
        second.extensions["yimen"].close()


def test_attempts_in_parallel_get_no_more_guesses(app):
    """Twenty guesses sent at once: the password is checked under the counters' lock, so five at most are tried."""
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    guard = threading.Lock()

    def guess(n: int) -> None:
        browser = Browser(app, "127.0.0.1")
        barrier.wait()
        status = browser.sign_in("wang", f"parallel-{n}").status_code
        with guard:
            statuses.append(status)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * 5 + [429] * 15
    assert Browser(app).sign_in("wang", PASSWORD).status_code == 429


def test_the_english_page_says_it_in_english(app):
    browser = Browser(app)
    browser.client.get("/lang/en")
    for _ in range(5):
        browser.sign_in("wang", "wrong-password")
    page = browser.sign_in("wang", PASSWORD).data.decode()
    assert "Too many failed sign-ins. Please try again after 2026-03-02 10:01:00." in page


def test_behind_a_proxy_the_forwarded_client_address_is_counted(database_url, monkeypatch, tmp_path):
    """With ``YIMEN_PROXY_HOPS=1`` (one nginx in front) people are counted by their own address, not the proxy's."""
    monkeypatch.setenv("YIMEN_NOW", START.isoformat())
    monkeypatch.setenv("YIMEN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("YIMEN_PROXY_HOPS", "1")
    from engine import demo

    proxied = create_app({"YIMEN_DATABASE_URL": database_url, "SECRET_KEY": "test", "TESTING": True})
    demo.install(proxied.extensions["yimen"])
    try:
        client = proxied.test_client()
        token = csrf(client.get("/login").data)

        def sign_in(forwarded_for: str, user: str, password: str) -> int:
            return client.post("/login", data={"user": user, "password": password, "csrf_token": token},
                               headers={"X-Forwarded-For": forwarded_for},
                               environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code

        assert [sign_in("203.0.113.7", f"nobody-{n}", "x-password") for n in range(20)] == [401] * 20
        assert sign_in("203.0.113.7", "wang", PASSWORD) == 429
        assert sign_in("198.51.100.2", "wang", PASSWORD) == 302  # another person behind the same proxy
    finally:
        proxied.extensions["yimen"].close()
