"""The case clock: limits in working days, pauses, extensions, Art. 32, warnings, cards, escalation, supervision.

Expected deadlines are computed here straight from the ``chinesecalendar``
package, independently of the engine's calendar table.
"""
from __future__ import annotations

import re

import threading
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from engine import clock
from engine.errors import InvalidState, PermissionDenied, ValidationError
from engine.service import Yimen
from tests.conftest import DATA, read

LOCAL = ZoneInfo("Asia/Shanghai")
# Monday 2025-09-22, 10:00 in Beijing: National Day (Oct 1-8, make-up days Sep 28 and Oct 11) lies ahead.
T0 = datetime(2025, 9, 22, 2, 0, tzinfo=timezone.utc)
FORM, LICENCE, HYGIENE = "申请书 Application form", "营业执照", "卫生管理制度 Hygiene rules"
ITEM = {
    "code": "CLK-001", "name": "食品经营许可 Food business licence", "item_type": "administrative_licensing",
    "legal_basis": "《食品安全法》第三十五条", "competent_office": "市市场监督管理局", "office_code": "SJ",
    "level": "city",
    "materials": [{"name": FORM, "required": True, "key": True}, {"name": LICENCE, "required": True, "key": True},
                  {"name": HYGIENE, "required": True, "tolerable": True}],
    "legal_limit_days": 20, "promised_limit_days": 10, "warning_days": 2, "process_key": "standard_approval",
}


def end_of_working_day(start: datetime, n: int) -> datetime:
    """The oracle: end (23:59:59.999999 Beijing) of the n-th working day after ``start``'s local date."""
    day = start.astimezone(LOCAL).date()
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if chinese_calendar.is_workday(day):
            counted += 1
    return datetime.combine(day, time.max, LOCAL).astimezone(timezone.utc)


def working_days(a: date, b: date) -> int:
    return sum(1 for i in range(1, (b - a).days + 1) if chinese_calendar.is_workday(a + timedelta(days=i)))


@pytest.fixture
def office(yimen, monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", T0.isoformat())
    yimen.seed_calendar([2025, 2026])
    for name in ("standard_approval", "extension"):
        yimen.deploy([read(f"{name}.bpmn")])
    yimen.save_department("SJ", "市场监管局", "city")
    yimen.save_department("WJ", "卫健委", "city")
    for user, groups, dept, roles in (("wang", ["window"], None, ["window"]), ("li", ["reviewer"], "SJ", ["reviewer"]),
                                      ("zhao", ["approver"], "SJ", ["reviewer"]), ("zhang", [], None, ["applicant"]),
                                      ("head", ["office-head"], "SJ", ["reviewer"]),
                                      ("sun", ["supervisor"], None, ["supervisor"]),
                                      ("zhou", ["reviewer"], "WJ", ["reviewer"])):
        yimen.add_user(user, groups=groups, department=dept, roles=roles)
    yimen.save_item(dict(ITEM))
    return yimen


def apply(yimen, *materials, item=ITEM["code"]):
    return yimen.submit(item, {"name": "张三", "kind": "person", "user": "zhang"},
                        [{"name": n, "filename": "a.pdf", "content": b"%PDF"} for n in materials], user="zhang")["case"]


def at(moment: datetime):
    return clock.pinned(moment)


def test_accepted_case_runs_on_working_days_across_national_day(office):
    case = apply(office, FORM, LICENCE, HYGIENE)
    office.accept(case, user="wang")
    shown = office.case(case)["clock"]
    assert shown["card"] == "normal"
    watch = shown["case"]
    assert watch["promised_due"] == end_of_working_day(T0, 10).isoformat()
    assert watch["legal_due"] == end_of_working_day(T0, 20).isoformat()
    assert watch["warning_at"] == end_of_working_day(T0, 8).isoformat()
    # By hand: Sep 23-26 (4), Sep 28 Sunday make-up (5), Sep 29-30 (7), Oct 1-8 off, Oct 9-11 (10, Oct 11 a Saturday worked).
    assert datetime.fromisoformat(watch["promised_due"]).astimezone(LOCAL).date() == date(2025, 10, 11)


def test_warning_yellow_and_red_each_happen_once_and_tell_people(office):
    case = apply(office, FORM, LICENCE, HYGIENE)
    office.accept(case, user="wang")
    watch = office.case(case)["clock"]["case"]
    warning, promised, legal = (datetime.fromisoformat(watch[k]) for k in ("warning_at", "promised_due", "legal_due"))
    assert office.advance_deadlines(warning - timedelta(minutes=1))["advanced"] == 0
    with at(warning + timedelta(minutes=1)):
        assert office.advance_deadlines()["changed"] == 1
        assert office.advance_deadlines()["advanced"] == 0
    assert office.case(case)["clock"]["card"] == "warning"
    assert any("预警" in n["subject"] for n in office.notifications("li"))
    with at(promised + timedelta(seconds=1)):
        office.advance_deadlines()
    (yellow,) = office.case(case)["cards"]
    assert (yellow["color"], yellow["status"], yellow["department"]) == ("yellow", "issued", "SJ")
    assert any("黄牌" in n["subject"] for n in office.notifications("sun"))
    with at(legal + timedelta(seconds=1)):
        office.advance_deadlines()
        office.advance_deadlines()
    assert [c["color"] for c in office.case(case)["cards"]] == ["red", "yellow"]
    assert office.watches(department="SJ", state="red")["total"] == 1
    assert office.watches(department="WJ", state="red")["total"] == 0


def test_a_sweep_that_jumps_past_every_deadline_goes_straight_to_red(office):
    case = apply(office, FORM, LICENCE, HYGIENE)
    office.accept(case, user="wang")
    office.advance_deadlines(T0 + timedelta(days=90))
    shown = office.case(case)
    assert shown["clock"]["card"] == "red"
    assert [c["color"] for c in shown["cards"]] == ["red"]


def test_special_procedure_pauses_the_clock_and_moves_every_deadline(office):
    case = apply(office, FORM, LICENCE, HYGIENE)
    office.accept(case, user="wang")
    start = T0 + timedelta(days=1)  # Tuesday Sep 23
    with at(start):
        with pytest.raises(PermissionDenied):
            office.start_special_procedure(case, "expert_review", "专家评审", 5, user="wang")
        with pytest.raises(ValidationError):
            office.start_special_procedure(case, "party", "x", 5, user="li")
        office.start_special_procedure(case, "expert_review", "需要专家评审 Expert review needed", 5, user="li")
        with pytest.raises(InvalidState):
            office.start_special_procedure(case, "hearing", "again", 5, user="li")
    shown = office.case(case)
    assert shown["status"] == "special_procedure" and shown["clock"]["case"]["paused"]
    notice = shown["notices"][-1]
    assert notice["kind"] == "special_procedure" and notice["content"]["expected_working_days"] == 5
    # While paused nothing advances, however late it gets.
    assert office.advance_deadlines(T0 + timedelta(days=200))["advanced"] == 0
    end = datetime(2025, 10, 13, 2, 0, tzinfo=timezone.utc)  # Monday after the holiday
    with at(end):
        office.end_special_procedure(case, "专家意见：同意", user="li")
    paused = working_days(start.astimezone(LOCAL).date(), end.astimezone(LOCAL).date())
    watch = office.case(case)["clock"]["case"]
    assert office.case(case)["status"] == "under_review"
    assert watch["paused_days"] == paused and not watch["paused"]
    assert watch["promised_due"] == end_of_working_day(T0, 10 + paused).isoformat()
    assert watch["legal_due"] == end_of_working_day(T0, 20 + paused).isoformat()
    assert office.case(case)["special_procedures"][0]["result"] == "专家意见：同意"


def test_extension_moves_the_legal_limit_and_lifts_a_red_card_state(office):
    case = apply(office, FORM, LICENCE, HYGIENE)
    office.accept(case, user="wang")
    legal = datetime.fromisoformat(office.case(case)["clock"]["case"]["legal_due"])
    late = legal + timedelta(hours=1)
    with at(late):
        office.advance_deadlines()
        assert office.case(case)["clock"]["card"] == "red"
        office.request_extension(case, "需要现场核查 Site inspection", user="li")
        (head_task,) = office.tasks(user="head")
        office.complete(head_task["id"], {"approved": True}, user="head")
    watch = office.case(case)["clock"]["case"]
    assert watch["extension_days"] == 10
    assert watch["legal_due"] == end_of_working_day(T0, 30).isoformat()
    assert office.case(case)["clock"]["card"] == "yellow"  # past the promised limit, within the new legal one
    assert [c["color"] for c in office.case(case)["cards"]] == ["red"]  # the card already issued stands


def test_the_inbox_card_of_a_step_follows_its_case_clock_and_a_step_opening_later_takes_it(office):
    """The card shown beside a step, counted in the inbox and filtered by (kept on the step's row), follows the
    case clock through warning, yellow and red, falls back when an extension moves the limits, and a step
    that opens afterwards starts with the case clock's card."""
    case = apply(office, FORM, LICENCE, HYGIENE)
    office.accept(case, user="wang")
    watch = office.case(case)["clock"]["case"]
    warning, promised, legal = (datetime.fromisoformat(watch[k]) for k in ("warning_at", "promised_due", "legal_due"))
    li, sun = office.user("li"), office.user("sun")

    def shown(user, card):
        page = office.inbox(user, counts=True)
        (item,) = [t for t in page["items"] if t["case"]["id"] == case]
        filtered = office.inbox(user, card=card)
        return item["card"], page["counts"]["cards"], [t["case"]["id"] for t in filtered["items"]]

    assert shown(li, "normal") == ("normal", {"warning": 0, "yellow": 0, "red": 0}, [case])
    for moment, card in ((warning, "warning"), (promised, "yellow"), (legal, "red")):
        with at(moment + timedelta(minutes=1)):
            office.advance_deadlines()
        counts = {"warning": 0, "yellow": 0, "red": 0, card: 1}
        assert shown(li, card) == (card, counts, [case]), card
        assert shown(sun, card) == (card, counts, [case]), card
        assert office.inbox(li, card="normal")["total"] == 0
    with at(legal + timedelta(hours=1)):
        office.request_extension(case, "需要现场核查 Site inspection", user="li")
        (head_task,) = office.tasks(user="head")
        office.complete(head_task["id"], {"approved": True}, user="head")
    assert office.case(case)["clock"]["card"] == "yellow"
    assert shown(li, "yellow") == ("yellow", {"warning": 0, "yellow": 1, "red": 0}, [case])
    (review,) = [t for t in office.inbox(li)["items"] if t["case"]["id"] == case]
    with at(legal + timedelta(hours=2)):
        office.decide(review["id"], True, "审查通过", user="li")
    zhao = office.user("zhao")
    (conclude,) = [t for t in office.inbox(zhao, counts=True)["items"] if t["case"]["id"] == case]
    assert (conclude["element_id"], conclude["card"]) == ("conclude", "yellow")
    assert office.inbox(zhao, counts=True)["counts"]["cards"]["yellow"] == 1
    with at(legal + timedelta(hours=3)):
        office.decide(conclude["id"], True, "准予许可", user="zhao")
    assert office.inbox(sun, counts=True)["counts"]["cards"] == {"warning": 0, "yellow": 0, "red": 0}


def test_art_32_no_decision_in_five_working_days_means_accepted_as_of_receipt(office):
    case = apply(office, FORM, LICENCE, HYGIENE)
    due = datetime.fromisoformat(office.case(case)["clock"]["acceptance_due"])
    assert due == end_of_working_day(T0, 5)
    office.advance_deadlines(due - timedelta(minutes=1))
    assert office.case(case)["status"] == "submitted"
    office.advance_deadlines(due + timedelta(minutes=1))
    shown = office.case(case)
    assert shown["status"] == "under_review"
    assert shown["accepted"] == T0.isoformat()
    assert shown["opinions"][-1]["decision"] == "deemed_accepted"
    assert shown["notices"][-1]["kind"] == "acceptance"
    assert shown["clock"]["case"]["promised_due"] == end_of_working_day(T0, 10).isoformat()


def test_art_32_does_not_apply_after_a_correction_notice(office):
    case = apply(office, FORM, LICENCE)
    with at(T0 + timedelta(days=1)):
        office.request_correction(case, [{"material": HYGIENE, "problem": "缺少卫生管理制度"}], user="wang")
    office.advance_deadlines(T0 + timedelta(days=30))
    assert office.case(case)["status"] == "correction_requested"
    # The corrected application starts a new five-day window from its receipt.
    resubmitted = T0 + timedelta(days=31)
    with at(resubmitted):
        office.supplement(case, [{"name": HYGIENE, "filename": "h.pdf", "content": b"%PDF"}], user="zhang")
        (correction,) = office.tasks(instance=office.case(case)["instance"])
        office.complete(correction["id"], {}, user="zhang")
    assert office.case(case)["status"] == "submitted"
    assert office.case(case)["clock"]["acceptance_due"] == end_of_working_day(resubmitted, 5).isoformat()


def test_due_within_finds_what_ends_in_the_next_working_days(office):
    soon = apply(office, FORM, LICENCE, HYGIENE)
    office.accept(soon, user="wang")
    later_start = T0 + timedelta(days=7)
    with at(later_start):
        later = apply(office, FORM, LICENCE, HYGIENE)
        office.accept(later, user="wang")
    promised = datetime.fromisoformat(office.case(soon)["clock"]["case"]["promised_due"])
    with at(promised - timedelta(days=1)):
        found = {w["case"] for w in office.due_within(2)["items"]}
    assert soon in found and later not in found


def test_cards_held_for_confirmation_then_appealed_and_decided(office):
    office.save_item({**ITEM, "card_mode": "confirm"})
    case = apply(office, FORM, LICENCE, HYGIENE)
    office.accept(case, user="wang")
    office.advance_deadlines(datetime.fromisoformat(office.case(case)["clock"]["case"]["promised_due"])
                             + timedelta(minutes=1))
    (card,) = office.case(case)["cards"]
    assert card["status"] == "pending"
    with pytest.raises(PermissionDenied):
        office.confirm_card(card["id"], user="li")
    office.confirm_card(card["id"], True, user="sun")
    with pytest.raises(InvalidState):
        office.confirm_card(card["id"], True, user="sun")
    with pytest.raises(PermissionDenied):
        office.appeal_card(card["id"], "not ours", user="zhou")  # another department
    with pytest.raises(ValidationError):
        office.appeal_card(card["id"], " ", user="li")
    office.appeal_card(card["id"], "申请人要求暂缓 The applicant asked us to wait", user="li")
    with pytest.raises(InvalidState):
        office.appeal_card(card["id"], "again", user="li")
    with pytest.raises(PermissionDenied):
        office.decide_appeal(card["id"], True, "ok", user="li")
    office.decide_appeal(card["id"], False, "等待不是暂停的理由 Waiting is no pause", user="sun")
    assert office.cards(department="SJ", status="upheld")["total"] == 1
    assert any("申诉不成立" in n["subject"] for n in office.notifications("li"))


def test_supervision_order_to_a_department_is_answered_and_closed(office):
    case = apply(office, FORM, LICENCE, HYGIENE)
    with pytest.raises(PermissionDenied):
        office.issue_order("尽快办理", 2, case_id=case, department="SJ", user="li")
    with pytest.raises(ValidationError):
        office.issue_order("尽快办理", 2, case_id=case, department="NOPE", user="sun")
    order = office.issue_order("请于两个工作日内办结 Conclude within two working days", 2, case_id=case,
                               department="SJ", user="sun")
    assert order["deadline"] == end_of_working_day(T0, 2).isoformat()
    # the department's staff, and whoever holds the case's open step (the window's acceptance: 督办 urges the case)
    assert set(order["notified"]) == {"li", "zhao", "head", "wang"}
    with pytest.raises(PermissionDenied):
        office.answer_order(order["order"], "done", user="zhou")
    office.answer_order(order["order"], "已办结 Done", user="li")
    office.close_order(order["order"], user="sun")
    with pytest.raises(InvalidState):
        office.answer_order(order["order"], "late", user="li")
    assert office.orders(status="closed")["items"][0]["reply"] == "已办结 Done"


def test_supervision_overview_counts_cards_and_on_time_rate(office):
    on_time = apply(office, FORM, LICENCE, HYGIENE)
    late = apply(office, FORM, LICENCE, HYGIENE)
    for case in (on_time, late):
        office.accept(case, user="wang")

    def conclude(case):
        review = [t for t in office.tasks(instance=office.case(case)["instance"])][0]
        office.decide(review["id"], True, "同意", user="li")
        approve = [t for t in office.tasks(instance=office.case(case)["instance"])][0]
        office.decide(approve["id"], True, "同意", user="zhao")

    with at(T0 + timedelta(days=2)):
        conclude(on_time)
    with at(T0 + timedelta(days=40)):
        office.advance_deadlines()
        overview = office.supervision_overview()
        assert overview["by_department"]["SJ"]["red"] == 1
        conclude(late)
    perf = office.supervision_overview()["performance"]["item"][ITEM["code"]]
    assert perf["decided"] == 2 and perf["on_time_rate"] == 0.5
    assert perf["average_working_days"] == (working_days(date(2025, 9, 22), date(2025, 9, 24))
                                            + working_days(date(2025, 9, 22), date(2025, 11, 1))) / 2


STEP_ITEM = {**ITEM, "code": "CLK-STEP", "process_key": "step_limit", "materials": [{"name": FORM}],
             "legal_limit_days": 20, "promised_limit_days": 10}


@pytest.fixture
def stepped(office):
    office.deploy([("step_limit.bpmn", (DATA / "clock" / "step_limit.bpmn").read_bytes())])
    office.save_item(dict(STEP_ITEM))
    office.add_user("li", groups=["reviewer"], department="SJ", roles=["reviewer"], display_name="李审查")
    office.add_user("li2", groups=["reviewer"], department="SJ", roles=["reviewer"], display_name="李备岗")
    with office.session() as s:
        from engine.models import User

        s.get(User, "li").backup_user_id = "li2"
        s.commit()
    return office


def test_step_limit_sets_the_due_date_and_overdue_step_escalates_once(stepped):
    case = apply(stepped, FORM, item="CLK-STEP")
    (review,) = stepped.tasks(instance=stepped.case(case)["instance"])
    assert review["due"] == end_of_working_day(T0, 2).isoformat()
    stepped.claim(review["id"], user="li")
    late = end_of_working_day(T0, 2) + timedelta(hours=1)
    stepped.advance_deadlines(late)
    stepped.advance_deadlines(late + timedelta(hours=1))
    (step,) = stepped.case(case)["clock"]["steps"]
    assert step["state"] == "yellow"
    (moved,) = stepped.tasks(instance=stepped.case(case)["instance"])
    assert moved["assignee"] == "li2"
    overdue = [n for n in stepped.notifications("sun") if "超期" in n["subject"]]
    assert len(overdue) == 1 and overdue[0]["kind"] == "overdue"
    (handed,) = [n for n in stepped.notifications("li2") if n["kind"] == "backup_overdue"]
    number = stepped.case(case)["number"]
    for note in (overdue[0], handed, *[n for n in stepped.notifications("sun") if n["kind"] == "card"]):
        text = (note["subject"] + note["body"]).replace(number, "").replace("审查 Review", "")  # the diagram's name
        assert not re.findall(r"[A-Za-z]{2,}", text.replace("AB岗", "")), note  # Chinese, by names: no English, no user ids
    assert handed["params"]["step"] == "审查 Review" and handed["params"]["case_number"] == number
    assert [c["color"] for c in stepped.case(case)["cards"]] == ["yellow"]
    stepped.decide(moved["id"], True, "同意", user="li2")
    assert stepped.case(case)["clock"]["steps"][0]["active"] is False


def test_overdue_step_with_auto_approve_is_decided_by_the_system(stepped):
    case = apply(stepped, FORM, item="CLK-STEP")
    (review,) = stepped.tasks(instance=stepped.case(case)["instance"])
    stepped.decide(review["id"], True, "同意", user="li")
    (sign,) = stepped.tasks(instance=stepped.case(case)["instance"])
    assert sign["element_id"] == "sign"
    stepped.advance_deadlines(T0 + timedelta(days=10))
    shown = stepped.case(case)
    assert (shown["status"], shown["outcome"]) == ("concluded", "approved")
    assert shown["opinions"][-1]["user"] == "system" and "系统自动通过" in shown["opinions"][-1]["text"]


def test_reaching_a_year_without_a_calendar_counts_provisionally_and_marks_it(yimen, monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", "2025-12-22T02:00:00+00:00")
    yimen.seed_calendar([2025])
    yimen.deploy([read("standard_approval.bpmn")])
    yimen.save_department("SJ", "市场监管局", "city")
    yimen.save_item(dict(ITEM))
    yimen.add_user("wang", groups=["window"])
    case = apply(yimen, FORM, LICENCE, HYGIENE)  # the acceptance window ends in 2025
    assert yimen.case(case)["clock"]["provisional"] is False
    yimen.accept(case, user="wang")  # its limits reach into 2026, which has no calendar here: provisional
    shown = yimen.case(case)
    assert shown["status"] == "under_review" and shown["clock"]["case"]["provisional"] is True


@pytest.mark.postgres
def test_concurrent_sweeps_issue_each_card_once(database_url, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("several writers at once: PostgreSQL")
    monkeypatch.setenv("YIMEN_NOW", T0.isoformat())
    office = Yimen(database_url)
    office.seed_calendar([2025, 2026])
    office.deploy([read("standard_approval.bpmn")])
    office.save_department("SJ", "市场监管局", "city")
    office.save_item(dict(ITEM))
    office.add_user("wang", groups=["window"])
    cases = [apply(office, FORM, LICENCE, HYGIENE) for _ in range(30)]
    for case in cases:
        office.accept(case, user="wang")
    results, errors = [], []

    def sweep():
        try:
            results.append(Yimen(database_url).advance_deadlines(T0 + timedelta(days=60)))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r["changed"] for r in results) == 30
    assert office.cards()["total"] == 30
    office.close()
