"""Issue 15 (notices by the applicant's choice): e-mail and SMS (短信) as she chose, for all notices or per
category of notice (办件进度, 需要您办理, 决定与证照, ...), on her account page or the API, through the outbox to a real SMTP server on loopback (aiosmtpd) and the logging SMS gateway; a walk-in
applicant without an account is told by SMS at the phone on her application. SQLite and PostgreSQL.
"""
from __future__ import annotations

import logging
import os
import socket

import pytest

from tests.engine.test_outbox import Mailbox
from tests.web.browser_fixtures import browser, open_as, server  # noqa: F401  (fixtures)
from tests.web.test_licence_journey import _api
from tests.web.test_pages import _apply, post, signed_in

STANDARD = "330100-XK-001"
CATEGORIES = ("progress", "action", "decision", "tasks", "other")
PHONE = "13912345678"
browser_test = pytest.mark.skipif(os.environ.get("YIMEN_SKIP_BROWSER") == "1", reason="YIMEN_SKIP_BROWSER=1")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mailbox(monkeypatch):
    """An SMTP server on loopback that the outbox sends to."""
    from aiosmtpd.controller import Controller

    handler, port = Mailbox(), _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("YIMEN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("YIMEN_SMTP_PORT", str(port))
    monkeypatch.delenv("YIMEN_SMS_GATEWAY", raising=False)
    yield handler
    controller.stop()


def _give_zhang_a_phone(y):
    y.add_user("zhang", groups=[], display_name="张三", display_name_en="Zhang San", roles=["applicant"],
               email="zhang@demo.yimen.invalid", phone=PHONE)


def _sms_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "yimen.sms"]


def _mails_to(mailbox, address) -> list:
    return [m for m in mailbox.parsed() if address in str(m["To"])]


def test_without_a_choice_notices_go_by_email_and_sms_where_on_file(app, mailbox, caplog):
    """No preference stored: the receipt goes in-app, by e-mail and by SMS (both on file)."""
    caplog.set_level(logging.INFO, logger="yimen.sms")
    y = app.extensions["yimen"]
    _give_zhang_a_phone(y)
    assert _api(app, "zhang").get("/api/me/notice-preferences").json == {
        "user": "zhang", "email": True, "sms": True, "email_address": "zhang@demo.yimen.invalid", "phone": PHONE,
        "categories": {c: {"email": True, "sms": True} for c in CATEGORIES},
        "required": ["correction", "decision", "licence_revoked", "not_accepted", "terminated"]}
    _apply(app, signed_in(app, "zhang"))
    y.dispatch_outbox()
    (mail,) = _mails_to(mailbox, "zhang@")
    assert "收件回执" in str(mail["Subject"])
    (line,) = _sms_lines(caplog)
    assert "139****5678" in line and "收件回执" in line


def test_the_api_choice_turns_email_off_and_keeps_sms(app, mailbox, caplog):
    """PUT /api/me/notice-preferences {email: false, sms: true}: the acceptance notice comes by SMS only."""
    caplog.set_level(logging.INFO, logger="yimen.sms")
    y = app.extensions["yimen"]
    _give_zhang_a_phone(y)
    api = _api(app, "zhang")
    refused = api.put("/api/me/notice-preferences", json={"email": "no", "sms": True})
    assert refused.status_code == 400 and refused.json["error"]["code"] == "invalid_input"
    chosen = api.put("/api/me/notice-preferences", json={"email": False, "sms": True})
    assert chosen.status_code == 200 and chosen.json == {
        "user": "zhang", "email": False, "sms": True, "categories": {c: {"email": False, "sms": True} for c in CATEGORIES}}
    case_id = _apply(app, signed_in(app, "zhang"))
    y.accept(case_id, user="wang")
    y.dispatch_outbox()
    assert _mails_to(mailbox, "zhang@") == []
    lines = _sms_lines(caplog)
    assert any("收件回执" in line for line in lines) and any("受理通知书" in line for line in lines)
    notices = [n["subject"] for n in y.notifications("zhang")]
    assert any("受理通知书" in s for s in notices) and any("收件回执" in s for s in notices)  # in-app stays


def test_the_account_page_turns_both_off_and_only_the_in_app_notice_stays(app, mailbox, caplog):
    """On 我的账户 (a table: category × e-mail / SMS, in Chinese) she unticks everything: nothing goes out; the 消息
    page still lists the receipt. Ticking e-mail for 办件进度 alone turns that one back on."""
    caplog.set_level(logging.INFO, logger="yimen.sms")
    y = app.extensions["yimen"]
    _give_zhang_a_phone(y)
    applicant = signed_in(app, "zhang")
    page = applicant.get("/account").data.decode()
    assert 'name="email.progress" checked' in page and 'name="sms.decision" checked' in page
    assert "办件进度" in page and "决定与证照" in page and "依法必须送达的告知" in page
    response = post(applicant, "/account/notices", {}, "/account")
    assert response.status_code == 302
    assert y.notice_prefs("zhang")["email"] is False and y.notice_prefs("zhang")["sms"] is False
    page = applicant.get("/account").data.decode()
    assert 'name="email.progress" checked' not in page and "通知方式已保存" in page
    _apply(app, applicant)
    y.dispatch_outbox()
    assert _mails_to(mailbox, "zhang@") == [] and _sms_lines(caplog) == []
    assert "收件回执" in applicant.get("/notifications").data.decode()
    post(applicant, "/account/notices", {"email.progress": "on"}, "/account")
    categories = y.notice_prefs("zhang")["categories"]
    assert categories["progress"] == {"email": True, "sms": False} and categories["action"] == {"email": False,
                                                                                                 "sms": False}


def test_the_account_page_refuses_a_choice_that_is_not_on_or_off_and_changes_nothing(app):
    applicant = signed_in(app, "zhang")
    for form in ({"email.progress": "yes"}, {"email.weather": "on"}):
        response = post(applicant, "/account/notices", form, "/account")
        page = response.data.decode()
        assert response.status_code == 400 and "通知方式未保存，未作任何更改" in page and "weather" not in page
    assert app.extensions["yimen"].notice_prefs("zhang")["categories"]["progress"] == {"email": True, "sms": True}


def test_someone_else_cannot_change_her_choice(app):
    y = app.extensions["yimen"]
    from engine.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        y.set_notice_prefs("zhang", False, False, user="wang")
    assert y.notice_prefs("zhang")["email"] is True
    y.set_notice_prefs("zhang", user="admin", categories={"tasks": {"sms": False}})  # an administrator may
    assert y.notice_prefs("zhang")["categories"]["tasks"] == {"email": True, "sms": False}
    from sqlalchemy import select

    from engine.models import AuditEvent, NoticePreference

    with y.sessions() as session:
        (event,) = session.execute(select(AuditEvent.actor, AuditEvent.data).where(
            AuditEvent.action == "user.notice_prefs")).all()
        assert event.actor == "admin" and event.data["after"]["tasks"] == {"email": True, "sms": False}
        # a row from before 0017_notice_kinds (no categories): its channel choice holds for every category
        row = session.get(NoticePreference, "zhang")
        row.email, row.categories = False, None
        session.commit()
    assert y.notice_prefs("zhang")["categories"] == {c: {"email": False, "sms": True} for c in CATEGORIES}


def test_a_category_switched_off_sends_no_email_while_another_still_does(app, mailbox, caplog):
    """PUT {categories: {progress: {email: false}}}: the receipt (办件进度) comes by SMS only, the correction
    notice (需要您办理) still by e-mail. Then everything off ({email: false, sms: false}): the receipt goes
    nowhere outside, but a correction notice, which the law requires, still comes by SMS."""
    caplog.set_level(logging.INFO, logger="yimen.sms")
    y = app.extensions["yimen"]
    _give_zhang_a_phone(y)
    api = _api(app, "zhang")
    chosen = api.put("/api/me/notice-preferences", json={"categories": {"progress": {"email": False}}})
    assert chosen.status_code == 200 and chosen.json["email"] is False and chosen.json["sms"] is True
    assert chosen.json["categories"]["progress"] == {"email": False, "sms": True}
    case_id = _apply(app, signed_in(app, "zhang"))
    y.request_correction(case_id, [{"problem": "身份证号码与营业执照不一致"}], user="wang")
    y.dispatch_outbox()
    subjects = [str(m["Subject"]) for m in _mails_to(mailbox, "zhang@")]
    assert len(subjects) == 1 and "补正材料通知书" in subjects[0]
    assert any("收件回执" in line for line in _sms_lines(caplog))
    assert api.put("/api/me/notice-preferences", json={"email": False, "sms": False}).status_code == 200
    caplog.clear()
    second = _apply(app, signed_in(app, "zhang"))
    y.request_correction(second, [{"problem": "营业执照已过期"}], user="wang")
    y.dispatch_outbox()
    assert len(_mails_to(mailbox, "zhang@")) == 1
    lines = _sms_lines(caplog)
    assert not any("收件回执" in line for line in lines) and any("补正材料通知书" in line for line in lines)


def test_the_api_refuses_an_unknown_category_or_a_choice_that_is_not_true_or_false(app):
    api = _api(app, "zhang")
    before = api.get("/api/me/notice-preferences").json
    for body in ({"categories": {"weather": {"email": False}}}, {"categories": {"progress": {"email": "no"}}},
                 {"categories": {"progress": {"fax": True}}}, {"categories": ["progress"]}, {}):
        refused = api.put("/api/me/notice-preferences", json=body, headers={"Accept-Language": "zh"})
        assert refused.status_code == 400 and refused.json["error"]["code"] == "invalid_input", body
        assert "未作任何更改" in refused.json["error"]["message"], body
    assert api.get("/api/me/notice-preferences").json == before


def test_a_walk_in_applicant_without_an_account_is_told_by_sms_at_her_phone(app, mailbox, caplog):
    """The window files the application of a walk-in (no account) with her phone: receipt and acceptance by SMS."""
    caplog.set_level(logging.INFO, logger="yimen.sms")
    y = app.extensions["yimen"]
    materials = [{"name": m["name"], "filename": "m.pdf", "content": b"%PDF-1.4"} for m in y.item(STANDARD)["materials"]]
    case_id = y.submit(STANDARD, {"name": "王五", "id_no": "33010019900101001X", "phone": "13700001234"}, materials,
                       user="wang")["case"]
    y.accept(case_id, user="wang")
    y.dispatch_outbox()
    lines = [line for line in _sms_lines(caplog) if "137****1234" in line]
    assert any("收件回执" in line for line in lines) and any("受理通知书" in line for line in lines)
    assert y.case(case_id)["form"]["phone"] == "13700001234"


@browser_test
def test_browser_the_applicant_chooses_sms_only_on_her_phone(open_as, app, mailbox, caplog):
    """At 390 px she unticks e-mail for 办件进度 in the table on 我的账户 and saves; the next receipt comes by SMS
    and not by e-mail."""
    caplog.set_level(logging.INFO, logger="yimen.sms")
    y = app.extensions["yimen"]
    _give_zhang_a_phone(y)
    page = open_as("zhang", phone=True)
    page.goto("/account")
    page.uncheck("#notice-prefs input[name='email.progress']")
    assert page.is_checked("#notice-prefs input[name='sms.progress']")
    page.click("#notice-prefs button")
    page.wait_for_url("**/account")
    assert "通知方式已保存" in page.inner_text("body")
    assert not page.is_checked("#notice-prefs input[name='email.progress']")
    assert page.is_checked("#notice-prefs input[name='email.decision']")
    for part in ("#notice-prefs", "#notice-prefs table", "#notice-prefs input[name='sms.other']"):
        box = page.locator(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, part
    email, sms = (page.locator(f"#notice-prefs input[name='{c}.progress']").bounding_box() for c in ("email", "sms"))
    assert abs(email["y"] - sms["y"]) < 2 and email["x"] < sms["x"]  # a grid on the phone too: one row a category
    _apply(app, signed_in(app, "zhang"))
    y.dispatch_outbox()
    assert _mails_to(mailbox, "zhang@") == []
    assert any("收件回执" in line for line in _sms_lines(caplog))
