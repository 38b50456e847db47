"""Issue 13, item 6: sessions end for real; API tokens expire; inactive accounts are refused everywhere.

A session cookie someone kept (copied from a shared computer, a proxy log) is
replayed in a fresh browser after the event that should have ended it:
signing out, a password change, a role or group change, deactivation, "sign
out everywhere". Pages then send it to the sign-in page with a message in the
page language; the API answers 401 with a code. Through Flask's test client,
on SQLite and PostgreSQL.
"""
from __future__ import annotations

import pytest

from engine.errors import EngineError
from tests.web.test_pages import PASSWORD, csrf, signed_in

ENDED_SIGNED_OUT = "此会话已退出，请重新登录。"
ENDED_STALE = "您的账户已变更（密码、角色或分组）或已在所有设备退出，请重新登录。"
ENDED_INACTIVE = "您的账户已被停用。"


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _replay(app, cookie: str):
    """A fresh browser with nothing but the kept cookie."""
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


def _post(client, url: str, data: dict | None = None, page: str = "/account"):
    return client.post(url, data={**(data or {}), "csrf_token": csrf(client.get(page).data)})


def _refused_page(app, cookie: str, message: str) -> None:
    client = _replay(app, cookie)
    response = client.get("/my")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    page = client.get(response.headers["Location"]).data.decode()
    assert message in page


def _refused_api(app, cookie: str, refusal: str) -> None:
    response = _replay(app, cookie).get("/api/me")
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] == "session_ended" and error["details"]["refusal"] == refusal


def _admin_token(app) -> str:
    return app.extensions["yimen"].create_token("admin", "tests")["token"]


def test_a_cookie_kept_from_before_signing_out_no_longer_works(app):
    browser = signed_in(app, "wang")
    other = signed_in(app, "wang")  # the same person at another desk
    kept = _cookie(browser)
    assert _replay(app, kept).get("/my").status_code == 200
    assert _replay(app, kept).get("/api/me").get_json()["id"] == "wang"

    assert _post(browser, "/logout", page="/my").status_code == 302
    _refused_page(app, kept, ENDED_SIGNED_OUT)
    _refused_api(app, kept, "signed_out")
    assert other.get("/my").status_code == 200  # signing out ends this session, not the others
    assert signed_in(app, "wang").get("/my").status_code == 200


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app):
    browser = signed_in(app, "wang")
    kept = _cookie(signed_in(app, "wang"))
    response = _post(browser, "/account/password", {"password": PASSWORD, "new_password": "a-new-secret",
                                                    "new_password_again": "a-new-secret"})
    assert response.status_code == 302
    assert browser.get("/my").status_code == 200
    _refused_page(app, kept, ENDED_STALE)
    _refused_api(app, kept, "stale")
    fresh = app.test_client()
    token = csrf(fresh.get("/login").data)
    assert fresh.post("/login", data={"user": "wang", "password": PASSWORD, "csrf_token": token}).status_code == 401
    assert fresh.post("/login", data={"user": "wang", "password": "a-new-secret",
                                      "csrf_token": token}).status_code == 302


def test_a_wrong_current_password_changes_nothing(app):
    browser = signed_in(app, "wang")
    kept = _cookie(signed_in(app, "wang"))
    response = _post(browser, "/account/password", {"password": "not-the-password", "new_password": "a-new-secret",
                                                    "new_password_again": "a-new-secret"})
    assert response.status_code == 400 and "当前密码不正确" in response.data.decode()
    assert _replay(app, kept).get("/my").status_code == 200


def test_an_administrator_setting_the_password_ends_every_session(app):
    kept = _cookie(signed_in(app, "wang"))
    app.extensions["yimen"].set_password("wang", "reset-by-admin", user="admin")
    _refused_page(app, kept, ENDED_STALE)


def test_a_role_or_group_change_ends_the_sessions_other_changes_do_not(app):
    yimen = app.extensions["yimen"]
    kept = _cookie(signed_in(app, "li"))
    yimen.add_user("li", groups=["reviewer", "SJ"], display_name="李审查", roles=["reviewer"], department="SJ",
                   email="li@new.example", user="admin")  # name and e-mail only: rights unchanged
    assert _replay(app, kept).get("/my").status_code == 200
    yimen.add_user("li", groups=["reviewer", "SJ"], roles=["reviewer", "supervisor"], department="SJ",
                   user="admin")
    _refused_page(app, kept, ENDED_STALE)

    kept = _cookie(signed_in(app, "li"))
    yimen.add_user("li", groups=["reviewer"], roles=["reviewer", "supervisor"], department="SJ", user="admin")
    _refused_api(app, kept, "stale")


def test_deactivation_refuses_the_account_everywhere(app):
    yimen = app.extensions["yimen"]
    kept = _cookie(signed_in(app, "wang"))
    token = yimen.create_token("wang", "counter system", user="wang")["token"]
    assert app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    admin = {"Authorization": f"Bearer {_admin_token(app)}"}
    response = app.test_client().post("/api/users/wang/active", json={"active": False}, headers=admin)
    assert response.status_code == 200 and response.get_json()["tokens_revoked"] == 1

    _refused_page(app, kept, ENDED_INACTIVE)
    _refused_api(app, kept, "inactive")
    answer = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthenticated"  # revoked
    assert {t["state"] for t in yimen.tokens("wang")} == {"revoked"}
    client = app.test_client()
    login = client.post("/login", data={"user": "wang", "password": PASSWORD, "csrf_token": csrf(client.get("/login").data)})
    assert login.status_code == 401
    with pytest.raises(EngineError) as refused:  # an engine command run as the account
        yimen.create_token("wang", "again", user="wang")
    assert refused.value.code == "permission_denied" and refused.value.details["refusal"] == "account_inactive"

    # reactivated: signing in works again; the old session and the revoked token stay dead
    app.test_client().post("/api/users/wang/active", json={"active": True}, headers=admin)
    assert signed_in(app, "wang").get("/my").status_code == 200
    _refused_page(app, kept, ENDED_STALE)
    assert app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_only_an_administrator_deactivates_and_not_themselves(app):
    wang = app.extensions["yimen"].create_token("wang", "t", user="wang")["token"]
    response = app.test_client().post("/api/users/li/active", json={"active": False},
                                      headers={"Authorization": f"Bearer {wang}"})
    assert response.status_code == 403
    admin = {"Authorization": f"Bearer {_admin_token(app)}"}
    response = app.test_client().post("/api/users/admin/active", json={"active": False}, headers=admin)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_input"
    assert app.test_client().post("/api/users/nobody/active", json={"active": False},
                                  headers=admin).status_code == 404
    assert signed_in(app, "li").get("/my").status_code == 200


def test_sign_out_everywhere_ends_every_session(app):
    browser = signed_in(app, "wang")
    kept = _cookie(signed_in(app, "wang"))
    response = _post(browser, "/account/sign-out-everywhere")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert browser.get("/my").status_code == 302
    _refused_page(app, kept, ENDED_STALE)


def test_tokens_expire_and_their_last_use_is_shown(app, monkeypatch):
    browser = signed_in(app, "wang")
    response = _post(browser, "/account/tokens", {"name": "窗口叫号系统", "expires": "30"})
    assert response.status_code == 201
    page = response.data.decode()
    token = page.split('id="new-token"')[1].split("<code>")[1].split("</code>")[0]
    assert "从未使用" in page and "2026-04-01 10:00" in page  # created 2026-03-02 10:00 Beijing time, 30 days

    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/me", headers=bearer).status_code == 200
    listed = app.test_client().get("/api/tokens", headers=bearer).get_json()
    assert listed[0]["last_used"].startswith("2026-03-02T02:00:00") and listed[0]["expires"].startswith("2026-04-01")
    assert "token" not in listed[0] and "token_hash" not in listed[0]

    monkeypatch.setenv("YIMEN_NOW", "2026-03-02T02:00:30+00:00")  # within the minute: no new write
    app.test_client().get("/api/me", headers=bearer)
    assert app.extensions["yimen"].tokens("wang")[0]["last_used"].startswith("2026-03-02T02:00:00")
    monkeypatch.setenv("YIMEN_NOW", "2026-03-20T06:30:00+00:00")
    app.test_client().get("/api/me", headers=bearer)
    page = browser.get("/account").data.decode()
    assert "2026-03-20 14:30" in page and "有效" in page  # last used, in Beijing time

    monkeypatch.setenv("YIMEN_NOW", "2026-04-01T02:00:00+00:00")
    answer = app.test_client().get("/api/me", headers=bearer)
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "token_expired"
    assert "已过期" in browser.get("/account").data.decode()


def test_token_expiry_is_bounded(app):
    bearer = {"Authorization": f"Bearer {app.extensions['yimen'].create_token('wang', 't', user='wang')['token']}"}
    client = app.test_client()
    for bad in (0, 366, -1, "30", True, 1.5):
        answer = client.post("/api/tokens", json={"name": "x", "expires_in_days": bad}, headers=bearer)
        assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "invalid_input", bad
    made = client.post("/api/tokens", json={"name": "x", "expires_in_days": 365}, headers=bearer).get_json()
    assert made["expires"].startswith("2027-03-02")
    never = client.post("/api/tokens", json={"name": "y"}, headers=bearer).get_json()
    assert never["expires"] is None
    browser = signed_in(app, "wang")
    assert _post(browser, "/account/tokens", {"name": "z", "expires": "1000"}).status_code == 400


def test_a_token_revoked_on_the_page_is_refused(app):
    browser = signed_in(app, "wang")
    page = _post(browser, "/account/tokens", {"name": "n", "expires": "never"}).data.decode()
    token = page.split("<code>")[1].split("</code>")[0]
    token_id = app.extensions["yimen"].tokens("wang")[0]["id"]
    assert _post(browser, f"/account/tokens/{token_id}/revoke").status_code == 302
    answer = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthenticated"
    other = signed_in(app, "li")  # someone else's token id is not found on your page
    assert _post(other, f"/account/tokens/{token_id}/revoke").status_code == 404
