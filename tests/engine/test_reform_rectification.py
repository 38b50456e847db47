"""好差评 follow-up (issue 16): a bad rating's rectification (整改) on the case clock, late, carded, closed."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.errors import InvalidState, PermissionDenied
from tests.conftest import CASE_TIME
from tests.engine.reform_fixtures import apply_food, conclude, office  # noqa: F401


def _rectification_cards(office):
    """The department's cards for the rectification (the case's other clocks may card on their own)."""
    return [c for c in office.cards(department="SJ")["items"] if _names_rectification(c["reason"])]


def _names_rectification(text: str) -> bool:
    return "差评整改" in text or "rectification" in text


def _rated_badly(office):
    case = apply_food(office)
    office.accept(case, user="wang")
    conclude(office, case)
    office.rate_case(case, 1, "窗口让我跑了三次", user="zhang")
    return case


def test_a_bad_rating_opens_a_rectification_that_runs_late_and_gets_its_card(office, monkeypatch):
    """15 working days on the calendar; warned before, yellow card after; a late reply is not on time."""
    case = _rated_badly(office)
    (rect,) = office.rectifications(department="SJ")["items"]
    assert (rect["status"], rect["working_days"], rect["score"]) == ("open", 15, 1)
    due = datetime.fromisoformat(rect["due"])
    assert due == office.working_calendar().deadline(datetime.fromisoformat(CASE_TIME), 15)
    assert any("差评整改" in n["subject"] for n in office.notifications("li"))
    # just before the deadline: a warning to the department's staff
    monkeypatch.setenv("YIMEN_NOW", (due - timedelta(hours=1)).isoformat())
    office.advance_deadlines()
    assert office.rectifications(case_id=case)["items"][0]["card"] == "warning"
    assert any(n["subject"].startswith("预警") and _names_rectification(n["subject"])
               for n in office.notifications("zhao"))
    assert _rectification_cards(office) == []
    # past it: a yellow card for the department, seen by supervisors
    monkeypatch.setenv("YIMEN_NOW", (due + timedelta(days=1)).isoformat())
    office.advance_deadlines()
    (card,) = _rectification_cards(office)
    assert card["color"] == "yellow" and card["case"] == case
    assert office.rectifications(case_id=case)["items"][0]["card"] == "yellow"
    # the department replies (late), the supervisor closes it after the return visit
    with pytest.raises(InvalidState):
        office.close_rectification(rect["id"], "还没答复", False, user="sun")
    with pytest.raises(PermissionDenied):
        office.reply_rectification(rect["id"], "不是我们部门", user="zhou")
    replied = office.reply_rectification(rect["id"], "已核实，窗口已培训，一次性告知到位", user="li")
    assert (replied["status"], replied["on_time"]) == ("replied", False)
    assert any("差评整改答复" in n["subject"] for n in office.notifications("zhang"))
    with pytest.raises(PermissionDenied):
        office.close_rectification(rect["id"], "满意", True, user="li")
    closed = office.close_rectification(rect["id"], "回访：申请人表示满意", True, user="sun")
    assert (closed["status"], closed["visit_satisfied"]) == ("closed", True)
    with pytest.raises(InvalidState):
        office.reply_rectification(rect["id"], "again", user="li")
    (row,) = office.rating_report()["department"]
    assert (row["key"], row["ratings"], row["bad"], row["rectified"], row["on_time"]) == ("SJ", 1, 1, 1, 0)
    assert (row["rectification_rate"], row["on_time_rate"]) == (1.0, 0.0)
    assert office.rating_summary()["by_score"][1] == 1


def test_a_reply_in_time_counts_on_time_and_a_good_rating_opens_nothing(office):
    case = _rated_badly(office)
    (rect,) = office.rectifications()["items"]
    assert office.reply_rectification(rect["id"], "已整改", user="zhao")["on_time"] is True
    other = apply_food(office, name="李四", id_no="330100199202020022")
    office.accept(other, user="wang")
    conclude(office, other)
    office.rate_case(other, 5, user="zhang")
    assert office.rectifications()["total"] == 1
    (row,) = office.rating_report()["item"]
    assert (row["ratings"], row["bad"], row["on_time_rate"]) == (2, 1, 1.0)
    assert office.case(case)["rating"]["score"] == 1


def test_the_rectification_limit_is_configured_per_item(office):
    office.save_reform_settings("330100-XK-001", green_channel_days=5, rectification_days=3)
    _rated_badly(office)
    assert office.rectifications()["items"][0]["working_days"] == 3
