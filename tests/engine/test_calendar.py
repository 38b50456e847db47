"""The working-day calendar against ``chinesecalendar`` (2004-2026) and by hand around the long holidays."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import chinese_calendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.calendar import WorkingCalendar
from engine.errors import CalendarMissing, PermissionDenied, ValidationError
from tests.engine.test_cli import cli  # noqa: F401 - the fixture

YEARS = list(range(2004, 2027))
dates = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 11, 30))


@pytest.fixture(scope="module")
def full_calendar(tmp_path_factory) -> WorkingCalendar:
    """Every year chinesecalendar knows, seeded through the engine into a real database, then loaded."""
    from engine.migrate import upgrade
    from engine.service import Yimen

    path = tmp_path_factory.mktemp("calendar") / "yimen.db"
    upgrade(f"sqlite:///{path}")
    yimen = Yimen(f"sqlite:///{path}")
    yimen.seed_calendar(None)
    cal = yimen.working_calendar()
    yimen.close()
    return cal


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=dates)
def test_working_days_agree_with_chinesecalendar(full_calendar, day):
    assert full_calendar.is_working_day(day) == chinese_calendar.is_workday(day)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 10, 31)), n=st.integers(0, 25))
def test_adding_n_working_days_lands_on_a_working_day_n_working_days_later(full_calendar, day, n):
    result = full_calendar.add_working_days(day, n)
    assert full_calendar.working_days_between(day, result) == n
    if n:
        assert chinese_calendar.is_workday(result)
        # the first possible such day: one day earlier has one working day fewer
        assert full_calendar.working_days_between(day, result - timedelta(days=1)) == n - 1
    expected = len(chinese_calendar.get_workdays(day + timedelta(days=1), result)) if result > day else 0
    assert expected == n


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 10, 31)))
def test_next_working_day_skips_everything_that_is_not_worked(full_calendar, day):
    following = full_calendar.next_working_day(day)
    assert following > day and chinese_calendar.is_workday(following)
    assert all(not chinese_calendar.is_workday(day + timedelta(days=i)) for i in range(1, (following - day).days))


@pytest.mark.parametrize("start, n, expected", [
    # National Day 2025: Oct 1-8 off; Sunday Sep 28 and Saturday Oct 11 worked.
    (date(2025, 9, 26), 1, date(2025, 9, 28)),     # Friday + 1 -> the make-up Sunday
    (date(2025, 9, 30), 1, date(2025, 10, 9)),     # the eve of the holiday + 1 -> first day back
    (date(2025, 9, 30), 3, date(2025, 10, 11)),    # ... + 3 -> the make-up Saturday
    (date(2025, 9, 22), 10, date(2025, 10, 11)),
    # Spring Festival 2024: Feb 10-17 off; Sunday Feb 4 and Sunday Feb 18 worked.
    (date(2024, 2, 2), 1, date(2024, 2, 4)),       # Friday + 1 -> the make-up Sunday
    (date(2024, 2, 9), 1, date(2024, 2, 18)),      # Friday (New Year's Eve) + 1 -> the make-up Sunday after
    (date(2024, 2, 9), 2, date(2024, 2, 19)),
    # An ordinary week: received Friday, one working day -> Monday; 0 days -> the same day (即办件).
    (date(2025, 3, 7), 1, date(2025, 3, 10)),
    (date(2025, 3, 7), 0, date(2025, 3, 7)),
])
def test_hand_checked_days(full_calendar, start, n, expected):
    assert full_calendar.add_working_days(start, n) == expected


def test_counting_is_in_beijing_days_and_deadlines_end_at_midnight_beijing(full_calendar):
    # 2025-03-06 20:00 UTC is already Friday 2025-03-07 04:00 in Beijing.
    moment = datetime(2025, 3, 6, 20, 0, tzinfo=timezone.utc)
    assert full_calendar.deadline(moment, 1) == datetime(2025, 3, 10, 15, 59, 59, 999999, tzinfo=timezone.utc)
    assert full_calendar.working_days_between(date(2025, 3, 7), date(2025, 3, 7)) == 0
    assert full_calendar.working_days_between(date(2025, 3, 7), date(2025, 3, 10)) == 1


def test_a_year_nobody_entered_is_provisional_never_an_error(full_calendar):
    assert not full_calendar.is_working_day(date(2003, 1, 1))      # 元旦 by the rule of 2003
    due = full_calendar.add_working_days(date(2026, 12, 20), 30)
    assert due == date(2027, 2, 1) and full_calendar.is_provisional(due, date(2026, 12, 20))
    assert not full_calendar.is_provisional(date(2026, 12, 31))
    with pytest.raises(CalendarMissing, match="2100") as error:  # beyond the lunar tables: a clear error
        full_calendar.add_working_days(date(2099, 12, 20), 30)
    assert error.value.code == "calendar_missing"


def test_only_administrators_change_the_calendar(yimen):
    yimen.add_user("li")
    with pytest.raises(PermissionDenied):
        yimen.seed_calendar([2025], user="li")
    with pytest.raises(PermissionDenied):
        yimen.set_calendar_day("2025-05-06", "holiday", user="li")
    assert yimen.calendar_years() == []


def test_administrator_moves_a_day_and_a_provisional_year_becomes_entered(yimen):
    yimen.seed_calendar([2025])
    yimen.set_calendar_day("2031-05-06", "holiday")   # a provisional year: entered from its rule plus this day
    assert [y["year"] for y in yimen.calendar_years()] == [2025, 2031]
    assert {"date": "2031-05-06", "kind": "holiday", "name": None} in yimen.calendar(2031)
    assert {"date": "2031-05-01", "kind": "holiday", "name": "劳动节"} in yimen.calendar(2031)
    with pytest.raises(ValidationError, match="2100"):
        yimen.set_calendar_day("2100-05-06", "holiday")
    with pytest.raises(ValidationError, match="not a date"):
        yimen.set_calendar_day("06/05/2025", "holiday")
    before = yimen.working_calendar().add_working_days(date(2025, 5, 5), 1)
    yimen.set_calendar_day("2025-05-06", "holiday", "typhoon")
    assert before == date(2025, 5, 6)
    assert yimen.working_calendar().add_working_days(date(2025, 5, 5), 1) == date(2025, 5, 7)


def test_import_reports_every_bad_line_and_stores_nothing(yimen):
    bad = "date,kind,name\n2027-01-01,holiday,New Year\n2027-13-01,holiday,x\n2027-02-06,nap\n2027-01-01,holiday\n"
    with pytest.raises(ValidationError) as error:
        yimen.import_calendar(bad, "csv")
    problems = error.value.details["problems"]
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5"]
    assert yimen.calendar_years() == []
    good = json.dumps([{"date": "2027-01-01", "kind": "holiday", "name": "New Year"},
                       {"date": "2027-02-07", "kind": "workday"}])
    assert yimen.import_calendar(good, "json") == {
        "imported": [2027], "days": 2, "recomputed": {"changed_days": 7, "watches": 0, "cases": 0, "notified": 0}}
    cal = yimen.working_calendar()
    assert not cal.is_working_day(date(2027, 1, 1)) and cal.is_working_day(date(2027, 2, 7))


def test_calendar_from_the_command_line(cli, tmp_path):
    assert cli("calendar", "seed", "--years", "2024,2025")["seeded"] == [2024, 2025]
    shown = cli("calendar", "show", "2024")
    assert {"date": "2024-02-04", "kind": "workday", "name": "Spring Festival"} in shown
    assert cli("calendar", "add", "2024-02-09", "1") == {"day": "2024-02-18", "provisional": False}
    assert cli("calendar", "between", "2024-02-09", "2024-02-19") == {"working_days": 2, "provisional": False}
    assert cli("calendar", "add", "2026-12-31", "1") == {"day": "2027-01-04", "provisional": True}
    years = {y["year"]: y["status"] for y in cli("calendar", "years")}
    assert years[2024] == "official" and years[2027] == "provisional"
    assert {"date": "2027-10-01", "kind": "holiday", "name": "国庆节", "provisional": True} in cli(
        "calendar", "show", "2027")
    file = tmp_path / "2027.csv"
    file.write_text("2027-01-01,holiday,元旦\n", encoding="utf-8")
    assert cli("calendar", "import", str(file))["imported"] == [2027]
    assert cli("calendar", "add", "2030-01-01", "1") == {"day": "2030-01-02", "provisional": True}
    error = cli("calendar", "add", "2100-01-01", "1", ok=False)
    assert error["error"]["code"] == "calendar_missing"
