"""Provisional years (暂定日历): intake never stops for a missing calendar; the official schedule recomputes.

The provisional rule is checked against ``chinesecalendar`` (2004-2026, the
official schedules) and against an independent lunar calendar (``lunardate``)
for 2027-2035. The case tests run the demo items at the end of 2026, import a
made-up 2027 schedule (``tests/data/clock/test_schedule_2027.csv``) and check
every moved date against an oracle that reads that file directly.
"""
from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lunardate import LunarDate

from engine import calendar, clock, demo
from engine.calendar import WorkingCalendar, statutory_holidays
from engine.errors import CalendarMissing, ValidationError
from tests.conftest import DATA

LOCAL = ZoneInfo("Asia/Shanghai")
SCHEDULE = DATA / "clock" / "test_schedule_2027.csv"
FOOD, JOINT = "330100-XK-001", "330100-XK-003"  # 20 and 45 working days (legal limits)
FOOD_MATERIALS = ("食品经营许可申请书", "营业执照", "食品安全管理制度")
JOINT_MATERIALS = ("联合申请表",)
# What 《全国年节及纪念日放假办法》 gives each year (names as the holidays package writes them in Chinese).
RULE_2025 = {"元旦": 1, "农历除夕": 1, "春节": 3, "清明节": 1, "劳动节": 2, "端午节": 1, "中秋节": 1, "国庆节": 3}


def _names(day_names: dict[date, str]) -> list[tuple[date, str]]:
    """(day, name) for every holiday, a day that carries two (中秋 on 国庆) counted for both."""
    return [(day, part.strip()) for day, name in day_names.items() for part in name.split(";")]


# --- the provisional rule -----------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(year=st.integers(2004, 2026))
def test_every_statutory_holiday_of_the_rule_in_force_was_a_day_off_in_the_official_schedule(year):
    """No exception was found for 2004-2026: the rule never puts a holiday on a day the State Council had worked."""
    for day, name in statutory_holidays(year).items():
        assert not chinese_calendar.is_workday(day), (day, name)


@settings(max_examples=60, deadline=None)
@given(year=st.integers(2027, 2035))
def test_a_provisional_year_has_exactly_the_statutory_holidays_on_their_lunar_dates(year):
    named = _names(statutory_holidays(year))
    counts: dict[str, int] = {}
    for _, name in named:
        counts[name] = counts.get(name, 0) + 1
    assert counts == RULE_2025 and len(named) == 13
    new_year = LunarDate(year, 1, 1).to_solar_date()
    by_name = {}
    for day, name in named:
        by_name.setdefault(name, []).append(day)
    assert by_name["元旦"] == [date(year, 1, 1)]
    assert by_name["农历除夕"] == [new_year - timedelta(days=1)]
    assert sorted(by_name["春节"]) == [new_year + timedelta(days=i) for i in range(3)]
    assert by_name["端午节"] == [LunarDate(year, 5, 5).to_solar_date()]
    assert by_name["中秋节"] == [LunarDate(year, 8, 15).to_solar_date()]
    assert by_name["清明节"][0] in (date(year, 4, 4), date(year, 4, 5), date(year, 4, 6))
    assert by_name["劳动节"] == [date(year, 5, 1), date(year, 5, 2)]
    assert by_name["国庆节"] == [date(year, 10, d) for d in (1, 2, 3)]


def test_older_rules_are_the_ones_in_force_that_year():
    assert len(_names(statutory_holidays(2007))) == 10   # 劳动节 3 days, no 清明/端午/中秋 yet
    assert "农历除夕" in {n for _, n in _names(statutory_holidays(2010))}  # 除夕 off 2008-2013
    assert "农历除夕" not in {n for _, n in _names(statutory_holidays(2020))}


def test_counting_through_a_provisional_year_never_stops_and_is_marked():
    cal = WorkingCalendar(frozenset(range(2004, 2027)))
    assert not cal.is_working_day(date(2027, 1, 1))        # 元旦, a Friday
    assert not cal.is_working_day(date(2027, 2, 8))        # 春节 初三, a Monday
    assert cal.is_working_day(date(2027, 2, 9))            # no 调休 is predicted
    due = cal.deadline(datetime(2026, 12, 20, 2, tzinfo=timezone.utc), 30)
    assert due.astimezone(LOCAL).date() == date(2027, 2, 1)  # 9 days in 2026, 元旦 off
    assert cal.is_provisional(due, datetime(2026, 12, 20, tzinfo=timezone.utc))
    assert not cal.is_provisional(datetime(2026, 12, 29, tzinfo=timezone.utc))
    with pytest.raises(CalendarMissing, match="2100"):
        cal.add_working_days(date(2099, 12, 1), 40)


# --- cases at the end of 2026 and the official 2027 schedule ----------------------

def official_2027() -> dict[date, str]:
    with SCHEDULE.open(encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("#") and r[0] != "date"]
    return {date.fromisoformat(r[0]): r[1] for r in rows}


def oracle_due(start: datetime, n: int, exceptions_2027: dict[date, str] | None) -> datetime:
    """The n-th working day after ``start``: chinesecalendar up to 2026, then 2027 as given (or the rule)."""
    day, counted = start.astimezone(LOCAL).date(), 0
    while counted < n:
        day += timedelta(days=1)
        if day.year <= 2026:
            working = chinese_calendar.is_workday(day)
        elif exceptions_2027 is not None:
            kind = exceptions_2027.get(day)
            working = kind == "workday" or (kind != "holiday" and day.weekday() < 5)
        else:
            working = day.weekday() < 5 and day not in statutory_holidays(day.year)
        counted += working
    return datetime.combine(day, time.max, LOCAL).astimezone(timezone.utc)


@pytest.fixture
def centre(yimen, monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", "2026-12-01T02:00:00+00:00")
    demo.install(yimen)
    return yimen


def submit(yimen, item: str, materials) -> int:
    return yimen.submit(item, {"name": "张三", "kind": "person", "id_no": "330106199001011234", "user": "zhang"},
                        [{"name": n, "filename": "a.pdf", "content": b"%PDF-1.4"} for n in materials],
                        user="zhang")["case"]


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


@pytest.mark.parametrize("day", ["2026-12-01", "2026-12-15", "2026-12-31"])
def test_cases_accepted_in_december_run_on_provisional_dates_until_the_schedule_moves_them(centre, monkeypatch, day):
    accepted_at = datetime.fromisoformat(f"{day}T10:00:00+08:00").astimezone(timezone.utc)
    monkeypatch.setenv("YIMEN_NOW", accepted_at.isoformat())
    cases = {}
    for item, materials, legal in ((FOOD, FOOD_MATERIALS, 20), (JOINT, JOINT_MATERIALS, 45)):
        case = submit(centre, item, materials)
        centre.accept(case, user="wang")
        shown = centre.case(case)
        watch = shown["clock"]["case"]
        assert moment(watch["legal_due"]) == oracle_due(accepted_at, legal, None)
        reaches_2027 = moment(watch["legal_due"]).astimezone(LOCAL).year == 2027
        assert watch["provisional"] is reaches_2027 and shown["clock"]["provisional"] is reaches_2027
        notice = next(n for n in shown["notices"] if n["kind"] == "acceptance")["content"]
        assert moment(notice["legal_due"]) == moment(watch["legal_due"])
        assert notice["provisional"] is (reaches_2027 or moment(notice["promised_due"]).year == 2027)
        cases[case] = (item, legal, shown)

    result = centre.import_calendar(SCHEDULE.read_text(encoding="utf-8"), "csv")
    assert result["imported"] == [2027]
    schedule = official_2027()
    for case, (item, legal, before) in cases.items():
        after = centre.case(case)
        watch = after["clock"]["case"]
        assert watch["provisional"] is False
        expected = oracle_due(accepted_at, legal, schedule)
        assert moment(watch["legal_due"]) == expected
        moved = moment(before["clock"]["case"]["legal_due"]) != expected
        trail = [e for e in centre.audit_trail(after["instance"]) if e["action"] == "clock.recomputed"]
        notes = [n for n in centre.notifications("zhang") if n["instance"] == after["instance"]
                 and "期限调整" in n["subject"]]
        if moved:
            (event,) = trail
            change = next(c for c in event["data"]["changes"] if c["kind"] == "case")
            assert change["legal_due"] == {"from": before["clock"]["case"]["legal_due"], "to": watch["legal_due"]}
            assert len(notes) == 1 and expected.astimezone(LOCAL).strftime("%Y-%m-%d") in notes[0]["body"]
        else:
            assert trail == [] and notes == []
    # the 45-day case accepted on 2026-12-15 reaches 春节 2027: it must have moved
    if day != "2026-12-01":
        assert any(moment(centre.case(c)["clock"]["case"]["legal_due"]) != moment(b["clock"]["case"]["legal_due"])
                   for c, (_, _, b) in cases.items())


def test_recomputation_moves_only_affected_cases_and_the_steps_due_dates(centre, monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", "2026-12-20T02:00:00+00:00")
    near = submit(centre, FOOD, FOOD_MATERIALS)   # not yet accepted: only its Art. 32 window runs (into 2027)
    far = submit(centre, JOINT, JOINT_MATERIALS)
    centre.accept(far, user="wang")
    before = {c: centre.case(c)["clock"] for c in (near, far)}
    assert before[near]["acceptance_due_provisional"] is False and before[far]["provisional"] is True
    result = centre.import_calendar(SCHEDULE.read_text(encoding="utf-8"), "csv")["recomputed"]
    assert result["cases"] == 1 and result["changed_days"] > 0  # near's window ends 2026-12-25: untouched
    after = centre.case(far)["clock"]
    assert after["case"]["legal_due"] != before[far]["case"]["legal_due"]
    assert centre.case(near)["clock"]["acceptance_due"] == before[near]["acceptance_due"]
    assert centre.verify_audit()["ok"]


def test_tolerance_supplement_deadline_and_its_timer_move_with_the_schedule(centre, monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", "2027-01-25T02:00:00+00:00")  # 2027 is still provisional; 春节 lies ahead
    case = submit(centre, FOOD, FOOD_MATERIALS[:2])
    result = centre.accept_with_missing(case, supplement_days=20, user="wang")
    start = moment("2027-01-25T02:00:00+00:00")
    assert moment(result["supplement_due"]) == oracle_due(start, 20, None)
    shown = centre.case(case)
    assert shown["clock"]["supplement"]["provisional"] is True
    instance = shown["instance"]
    centre.import_calendar(SCHEDULE.read_text(encoding="utf-8"), "csv")
    expected = oracle_due(start, 20, official_2027())
    assert expected != moment(result["supplement_due"])
    assert moment(centre.case(case)["clock"]["supplement"]["promised_due"]) == expected
    assert moment(centre.show(instance)["data"]["supplement_due"]) == expected
    note = [n for n in centre.notifications("zhang") if "期限调整" in n["subject"]]
    assert note and "容缺材料补齐期限" in note[0]["body"]
    # the deadline acts at the new date, not the old one, while the case is still under review
    old = moment(result["supplement_due"])
    with clock.pinned(old + timedelta(minutes=1)):
        centre.advance_deadlines(old + timedelta(minutes=1))
    assert centre.case(case)["status"] == "under_review"
    with clock.pinned(expected + timedelta(minutes=1)):
        centre.advance_deadlines(expected + timedelta(minutes=1))
    shown = centre.case(case)
    assert shown["status"] == "terminated" and shown["notices"][-1]["kind"] == "terminated"


def test_the_supplement_timer_of_an_approved_case_moves_with_the_schedule(centre, monkeypatch):
    """Approved with materials outstanding, the diagram waits on its timer: importing the year moves it."""
    monkeypatch.setenv("YIMEN_NOW", "2027-01-25T02:00:00+00:00")
    case = submit(centre, FOOD, FOOD_MATERIALS[:2])
    old = moment(centre.accept_with_missing(case, supplement_days=20, user="wang")["supplement_due"])
    for user in ("li", "zhao"):
        (task,) = centre.tasks(instance=centre.case(case)["instance"])
        centre.decide(task["id"], True, "同意", user=user)
    instance = centre.case(case)["instance"]
    assert centre.tasks(instance=instance) == [] and centre.show(instance)["status"] == "running"  # on its timer
    centre.import_calendar(SCHEDULE.read_text(encoding="utf-8"), "csv")
    expected = oracle_due(moment("2027-01-25T02:00:00+00:00"), 20, official_2027())
    assert centre.fire_timers(until=old + timedelta(minutes=1))["fired"] == 0
    assert centre.case(case)["status"] != "terminated"
    with clock.pinned(expected + timedelta(minutes=1)):
        assert centre.fire_timers()["fired"] == 1
    assert centre.case(case)["status"] == "terminated"


def test_setting_one_day_of_a_provisional_year_enters_the_year_from_its_rule(centre, monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", "2026-12-20T02:00:00+00:00")
    case = submit(centre, JOINT, JOINT_MATERIALS)
    centre.accept(case, user="wang")
    before = centre.case(case)["clock"]["case"]["legal_due"]
    out = centre.set_calendar_day("2027-02-09", "holiday", "春节")
    assert out["recomputed"]["cases"] == 1
    view = centre.calendar_year_view(2027)
    assert view["status"] == "official"
    kinds = {d["date"]: d["kind"] for d in view["days"]}
    assert kinds["2027-01-01"] == "holiday" and kinds["2027-02-09"] == "holiday"
    after = centre.case(case)["clock"]["case"]["legal_due"]
    assert moment(after) == moment(before) + timedelta(days=1)


def test_the_overview_tells_official_from_provisional_years(centre):
    years = {y["year"]: y["status"] for y in centre.calendar_overview()}
    assert years[2026] == "official" and years[2027] == "provisional" and years[2028] == "provisional"
    view = centre.calendar_year_view(2027)
    assert view["status"] == "provisional"
    assert {d["date"] for d in view["days"] if d["kind"] == "holiday"} == {
        d.isoformat() for d, _, _ in calendar.provisional_rows(2027)}


# --- the sweep across the year and when one case fails ------------------------------

def test_art_32_deemed_acceptance_across_the_year_boundary(centre, monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", "2026-12-28T02:00:00+00:00")   # Monday
    case = submit(centre, FOOD, FOOD_MATERIALS)
    due = moment(centre.case(case)["clock"]["acceptance_due"])
    assert due == oracle_due(moment("2026-12-28T02:00:00+00:00"), 5, None)
    assert due.astimezone(LOCAL).date() == date(2027, 1, 5)       # 12-29, 12-30, 12-31, 1-4, 1-5
    with clock.pinned(due + timedelta(minutes=1)):
        centre.advance_deadlines(due + timedelta(minutes=1))
    shown = centre.case(case)
    assert shown["status"] != "submitted"
    assert moment(shown["accepted"]) == moment("2026-12-28T02:00:00+00:00")


def test_a_sweep_that_fails_for_one_case_records_an_incident_and_goes_on(centre, monkeypatch):
    from engine.commands import deadlines

    monkeypatch.setenv("YIMEN_NOW", "2026-12-01T02:00:00+00:00")
    broken, fine = submit(centre, FOOD, FOOD_MATERIALS), submit(centre, FOOD, FOOD_MATERIALS)
    broken_instance = centre.case(broken)["instance"]
    real = deadlines._deemed_accepted

    def failing(ctx, watch):
        if watch.instance_id == broken_instance:
            raise CalendarMissing("no working-day calendar for 2100", year=2100)
        return real(ctx, watch)

    monkeypatch.setattr(deadlines, "_deemed_accepted", failing)
    later = moment("2026-12-09T02:00:00+00:00")
    out = centre.advance_deadlines(later)
    assert out["errors"][0]["code"] == "calendar_missing"
    assert centre.case(fine)["status"] != "submitted"
    assert centre.case(broken)["status"] == "submitted"
    (incident,) = centre.incidents()
    assert incident["instance"] == broken_instance and incident["handler"] == "clock.advance"
    assert "工作日历无法计算 2100 年" in incident["message"]
    centre.advance_deadlines(later)  # fails again: still one open incident
    assert len(centre.incidents()) == 1
    monkeypatch.setattr(deadlines, "_deemed_accepted", real)
    centre.retry_incident(incident["id"], user="sun")
    centre.advance_deadlines(later)
    assert centre.case(broken)["status"] != "submitted" and centre.incidents() == []


def test_notify_and_commit_verification_due_moves_in_the_inbox_too(centre, monkeypatch):
    """告知承诺 decided on the spot on 2027-01-04 (still provisional): the 30-working-day 核查 step crosses 春节."""
    monkeypatch.setenv("YIMEN_NOW", "2027-01-04T02:00:00+00:00")
    applicant = {"name": "李四", "user": "zhang", "id_no": "330100199001010011"}
    case = centre.submit("330100-XK-004", applicant, [{"name": "告知承诺书", "filename": "c.pdf",
                                                        "content": b"c"}], user="zhang")["case"]
    instance = centre.case(case)["instance"]
    (sign,) = centre.tasks(instance=instance)
    centre.complete(sign["id"], {"committed": True}, user="zhang")
    (decide,) = centre.tasks(instance=instance)
    centre.decide(decide["id"], True, "当场准予", user="wang")
    (verify,) = centre.tasks(instance=instance)
    start = moment("2027-01-04T02:00:00+00:00")
    assert moment(verify["due"]) == oracle_due(start, 30, None) and verify["due_provisional"] is True
    centre.import_calendar(SCHEDULE.read_text(encoding="utf-8"), "csv")
    (moved,) = centre.tasks(instance=instance)
    assert moment(moved["due"]) == oracle_due(start, 30, official_2027()) != moment(verify["due"])
    assert moved["due_provisional"] is False
    step = centre.case(case)["clock"]["steps"][-1]
    assert step["element_id"] == "verification" and moment(step["promised_due"]) == moment(moved["due"])


def test_an_extension_into_2027_is_granted_and_counted_provisionally(centre, monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", "2026-12-10T02:00:00+00:00")
    case = submit(centre, FOOD, FOOD_MATERIALS)
    centre.accept(case, user="wang")
    centre.request_extension(case, "需要组织专家评审", user="li")
    (approval,) = [t for t in centre.tasks(user="head")]
    centre.complete(approval["id"], {"approved": True}, user="head")
    watch = centre.case(case)["clock"]["case"]
    assert watch["extension_days"] == 10 and watch["provisional"] is True
    assert moment(watch["legal_due"]) == oracle_due(moment("2026-12-10T02:00:00+00:00"), 30, None)


def test_a_year_beyond_the_lunar_tables_can_be_entered_from_a_file(centre):
    out = centre.import_calendar("date,kind,name\n2100-01-01,holiday,元旦\n", "csv")
    assert out["imported"] == [2100] and out["recomputed"]["changed_days"] == 0
    assert centre.calendar_year_view(2099)["status"] == "provisional"
    assert centre.calendar_year_view(2100)["status"] == "official"
    with pytest.raises(ValidationError, match="100 characters"):
        centre.import_calendar("2031-01-01,holiday," + "长" * 101 + "\n", "csv")
    with pytest.raises(ValidationError, match="100 characters"):
        centre.set_calendar_day("2031-01-02", "holiday", "长" * 101)
