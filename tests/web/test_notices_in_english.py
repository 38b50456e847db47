"""Issue 15 (English UI): stored notices and step names are shown in the page language.

A notice keeps its Chinese text (what e-mail and SMS said) and its kind with parameters: the Chinese pages
show the text as stored, the English pages build the sentence from the kind (web/notices.py). Step names
come from the diagram's ``yimen.nameEn`` on the inbox, the case page (opinions, the progress timeline), the
return form and staff notices. SQLite and PostgreSQL.
"""
from __future__ import annotations

import re

from tests.web.test_pages import _apply, post, signed_in


def _english(app, user):
    client = signed_in(app, user)
    client.get("/lang/en")
    return client


def _cjk(text: str) -> list[str]:
    return re.findall(r"[\u4e00-\u9fff]+", text)


def test_the_english_messages_page_says_the_notices_in_english_and_the_chinese_one_as_stored(app):
    y = app.extensions["yimen"]
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant)
    y.accept(case_id, user="wang")
    number = y.case(case_id)["number"]
    chinese = applicant.get("/notifications").data.decode()
    assert "收件回执" in chinese and "受理通知书" in chinese and "承诺办结日期" in chinese
    english = _english(app, "zhang").get("/notifications").data.decode()
    body = english[english.index("<h1>"):]
    assert f"Case {number}: Acknowledgement of receipt" in body
    item_en = y.item("330100-XK-001")["name_en"]
    assert item_en and f"Your application ({item_en}) was received as case {number}." in body
    assert "Your application was accepted on" in body and "A decision is promised by" in body
    assert "收件回执" not in body and "受理通知书" not in body and "承诺办结日期" not in body
    kinds = [n["kind"] for n in y.notifications("zhang")]
    assert kinds[:2] == ["acceptance", "receipt"]
    api = app.test_client()
    token = y.create_token("zhang", "t", user="zhang")["token"]
    listed = api.get("/api/notifications", headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"}).json
    first = listed["items"][-1]
    assert first["kind"] == "receipt" and first["subject"].startswith(f"办件 {number}")  # stored, Chinese
    assert first["title"] == f"Case {number}: Acknowledgement of receipt"
    chinese_api = api.get("/api/notifications", headers={"Authorization": f"Bearer {token}",
                                                        "Accept-Language": "zh"}).json["items"][-1]
    assert chinese_api["title"] == first["subject"]


def test_a_notice_stored_before_kinds_existed_is_shown_by_its_stored_text(app):
    """Rows written before 0015 have no kind: both languages show the stored subject and body."""
    from engine.models import Notification

    y = app.extensions["yimen"]
    with y.sessions() as session:
        from engine import clock

        session.add(Notification(user_id="zhang", subject="旧消息", body="旧的内容", payload={}, created_at=clock.now()))
        session.commit()
    assert "旧的内容" in _english(app, "zhang").get("/notifications").data.decode()


def test_step_names_are_english_on_the_case_page_timeline_and_return_form(app):
    y = app.extensions["yimen"]
    case_id = _apply(app, signed_in(app, "zhang"))
    y.accept(case_id, user="wang")
    (review,) = y.tasks(instance=y.case(case_id)["instance"])
    y.decide(review["id"], True, "符合条件", user="li")
    (conclude,) = y.tasks(instance=y.case(case_id)["instance"])
    staff = _english(app, "zhao")
    page = staff.get(f"/tasks/{conclude['id']}").data.decode()
    opinions = page[page.index("<h3>Opinions</h3>"):]
    opinions = opinions[:opinions.index("</ul>")]
    assert "Review" in opinions and "审查" not in opinions and "Accept" in opinions
    form = page[page.index('name="target"'):]
    form = form[:form.index("</select>")]
    assert ">Review<" in form and "审查" not in form
    applicant_page = _english(app, "zhang").get(f"/cases/{case_id}").data.decode()
    current = re.search(r'data-state="current".*?</li>', applicant_page, re.S).group(0)
    assert "Conclude" in current and not _cjk(current)
    chinese = signed_in(app, "zhang").get(f"/cases/{case_id}").data.decode()
    current_zh = re.search(r'data-state="current".*?</li>', chinese, re.S).group(0)
    assert "办结" in current_zh and "Conclude" not in current_zh
    inbox = staff.get("/inbox").data.decode()
    assert "Conclude" in inbox and "办结" not in inbox[inbox.index("<table"):]


def test_clock_and_rating_notices_are_chinese_in_the_chinese_pages_and_english_in_the_english_ones(app):
    """A red card (to the supervisors and the department) and a bad rating (to supervision): stored in Chinese
    with their kind, so the Chinese page has no English word in them and the English page says them in English."""
    from datetime import datetime, timedelta

    from tests.web.test_licence_journey import _approve

    y = app.extensions["yimen"]
    late = _apply(app, signed_in(app, "zhang"))
    y.accept(late, user="wang")
    number = y.case(late)["number"]
    legal = datetime.fromisoformat(y.case(late)["clock"]["case"]["legal_due"])
    y.advance_deadlines(legal + timedelta(hours=1))
    rated = _apply(app, signed_in(app, "zhang"))
    _approve(app, rated)
    y.rate_case(rated, 1, "等了很久", user="zhang")
    rated_number = y.case(rated)["number"]
    kinds = {n["kind"] for n in y.notifications("sun")}
    assert {"card", "bad_rating"} <= kinds, kinds
    for user in ("sun", "li"):
        chinese = signed_in(app, user).get("/notifications").data.decode()
        body = re.sub(r"<[^>]+>", " ", chinese[chinese.index("<h1>"):])
        assert f"红牌：办件 {number}" in body
        for note in y.notifications(user):
            if note["kind"] in ("card", "bad_rating"):
                text = (note["subject"] + note["body"]).replace(number, "").replace(rated_number, "")
                assert not re.findall(r"[A-Za-z]{2,}", text), note
        english = _english(app, user).get("/notifications").data.decode()
        body = english[english.index("<h1>"):]
        assert f"Red card: Case {number}" in body and "passed its legal time limit" in body
        assert "红牌" not in body
    english = _english(app, "sun").get("/notifications").data.decode()
    assert f"Bad rating: case {rated_number}" in english and "Score 1 (very dissatisfied): 等了很久" in english


def test_every_notice_the_engine_sends_has_a_kind_the_english_pages_can_say():
    """Each ``notify_user`` call in the engine names its kind (so the notice is read in the reader's language and
    falls in a category people choose channels for), and each kind has its English sentence."""
    import ast
    from pathlib import Path

    from engine.notify import CATEGORY_OF
    from web.notices import BODIES

    root = Path(__file__).resolve().parents[2] / "engine"
    untyped, kinds = [], set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "notify_user":
                kind = next((k.value for k in node.keywords if k.arg == "kind"), None)
                if kind is None:
                    untyped.append(f"{path.relative_to(root)}:{node.lineno}")
                elif isinstance(kind, ast.Constant):
                    kinds.add(kind.value)
    assert untyped == [], untyped
    assert kinds, "no notify_user call found"
    assert sorted(k for k in kinds | set(CATEGORY_OF) if k not in BODIES) == []
    assert sorted(k for k in kinds if k not in CATEGORY_OF) == []  # every kind in a category of the settings


def test_an_enquiry_and_its_answer_are_told_in_english_on_the_english_pages(app):
    y = app.extensions["yimen"]
    asked = y.record_enquiry("赵女士", "营业执照遗失怎么办？", item_code="330100-XK-001", user="wang")
    english = _english(app, "li").get("/notifications").data.decode()
    assert "First contact: a new enquiry" in english and "赵女士 asks: 营业执照遗失怎么办？" in english
    y.answer_enquiry(asked["id"], "请先登报声明作废。", user="li")
    english = _english(app, "wang").get("/notifications").data.decode()
    assert "The enquiry of 赵女士 was answered: 请先登报声明作废。" in english
    assert "首问负责" not in english[english.index("<h1>"):]
