"""The working-day calendar (工作日历): adding and counting working days the way the law counts them.

The table holds only the days that differ from the week: weekday holidays
(法定节假日) and weekend days worked (调休). A year is **official** once it has
been entered (seeded from ``chinesecalendar``, imported from a file, or by an
administrator). A year nobody has entered is **provisional** (暂定): its
holidays are the statutory ones of 《全国年节及纪念日放假办法》 in force that
year, lunar dates computed by the ``holidays`` package, with no make-up
working days (调休 cannot be predicted) — so intake never stops for a missing
calendar. A deadline that counts through a provisional year is marked
provisional wherever it is shown, and entering the official schedule
recomputes it (``engine.recompute``). Only a year outside the span the lunar
tables cover (``PROVISIONAL_SPAN``) raises ``CalendarMissing``.

Counting follows the day-counting rule (Administrative Licensing Law Art. 82
and the Civil Code's rule on periods): the day of the event does not count;
the period starts the next day. Days are Beijing days (Asia/Shanghai).
"""
from __future__ import annotations

import csv
import functools
import io
import json
import secrets
import threading
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update

from .errors import CalendarMissing, ValidationError
from .models.calendar import CalendarDay, CalendarStamp, CalendarYear, DayKind

LOCAL = ZoneInfo("Asia/Shanghai")
NAME_LIMIT = 100  # characters of a day's name (calendar_day.name)
MAX_SPAN_DAYS = 366 * 5  # no legal period here is longer; a bigger one is a mistake, not a loop to run
PROVISIONAL_SPAN = (1950, 2099)  # the years the lunar tables of the ``holidays`` package cover


@functools.cache
def _statutory_calendar_class():
    """``holidays.China`` without the State Council's yearly schedules: the statutory rule alone.

    ``holidays.China`` adds each published year's schedule (special holidays
    and make-up days) on top of the rule of 《全国年节及纪念日放假办法》 as it
    stood that year (3 days of 春节 and 劳动节 before 2008, 除夕 2008-2013,
    4 days of 春节 and 2 of 劳动节 from 2025...). Leaving the schedules out keeps
    the rule, which is all that can be known of a year before it is published.
    """
    from holidays.countries.china import China

    class Statutory(China):
        def _add_special_holidays(self, *args, **kwargs):  # the published schedules, not the rule
            return None

    return Statutory


@functools.lru_cache(maxsize=256)
def statutory_holidays(year: int) -> dict[date, str]:
    """The statutory holidays (法定节假日) of ``year`` under the rule in force that year, Chinese names.

    Days that fall on a weekend are listed too (they are days off anyway);
    Art. 6's 补假 for a holiday on a weekend and the 调休 make-up days are not
    predicted: the State Council's schedule decides them.
    """
    if not PROVISIONAL_SPAN[0] <= year <= PROVISIONAL_SPAN[1]:
        raise CalendarMissing(
            f"no working-day calendar for {year}: Yimen computes provisional years from "
            f"{PROVISIONAL_SPAN[0]} to {PROVISIONAL_SPAN[1]} only; enter the whole year {year} from a file "
            f"(`yimen calendar import` or the calendar page)",
            year=year)
    days = _statutory_calendar_class()(years=year, observed=False, language="zh_CN")
    return {day: str(name) for day, name in sorted(days.items())}


def provisional_rows(year: int) -> list[tuple[date, str, str | None]]:
    """The days of a provisional year that differ from the week (weekday holidays only, no 调休)."""
    return [(day, DayKind.HOLIDAY, name) for day, name in statutory_holidays(year).items() if day.weekday() < 5]


@dataclass
class WorkingCalendar:
    """Pure computations over the entered years and their exceptional days (no database access)."""

    years: frozenset[int]  # the official (entered) years
    exceptions: dict[date, str] = field(default_factory=dict)
    names: dict[date, str | None] = field(default_factory=dict, repr=False)  # names of entered days
    _provisional: dict[int, dict[date, str]] = field(default_factory=dict, repr=False)

    def _check(self, day: date) -> None:
        if day.year not in self.years:
            self._provisional_days(day.year)

    def _provisional_days(self, year: int) -> dict[date, str]:
        days = self._provisional.get(year)
        if days is None:
            days = {day: DayKind.HOLIDAY for day, _, _ in provisional_rows(year)}
            self._provisional[year] = days
        return days

    def is_official(self, year: int) -> bool:
        return year in self.years

    def is_provisional(self, moment: date | datetime | None, since: date | datetime | None = None) -> bool:
        """True when counting from ``since`` (default: the same day) to ``moment`` crosses a provisional year."""
        if moment is None:
            return False
        last = _local_date(moment).year
        first = _local_date(since).year if since is not None else last
        return any(year not in self.years for year in range(min(first, last), last + 1))

    def day_kind(self, day: date) -> tuple[str, str | None, bool]:
        """(kind, name, provisional) of one day, as the year view shows it."""
        if day.year in self.years:
            kind = self.exceptions.get(day, DayKind.NORMAL)
            return kind, self.names.get(day), False
        holidays_of_year = statutory_holidays(day.year)
        if day in holidays_of_year and day.weekday() < 5:
            return DayKind.HOLIDAY, holidays_of_year[day], True
        return DayKind.NORMAL, holidays_of_year.get(day), True

    def is_working_day(self, day: date) -> bool:
        kind = self.exceptions.get(day)
        if kind is None and day.year not in self.years:
            kind = self._provisional_days(day.year).get(day)
        if kind == DayKind.HOLIDAY:
            return False
        if kind == DayKind.WORKDAY:
            return True
        return day.weekday() < 5

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self.add_working_days(day, 1)

    def add_working_days(self, start: date | datetime, n: int) -> date:
        """The n-th working day after ``start`` (its own day does not count); n = 0 is the same day (即办件)."""
        day = _local_date(start)
        if n < 0:
            raise ValidationError("a number of working days cannot be negative")
        self._check(day)
        counted = 0
        for _ in range(MAX_SPAN_DAYS):
            if counted == n:
                return day
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        raise ValidationError(f"{n} working days is longer than any period Yimen counts")

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]: after ``a`` up to and including ``b``; 0 when b is not after a."""
        if b <= a:
            return 0
        if (b - a).days > MAX_SPAN_DAYS:
            raise ValidationError("the span is longer than any period Yimen counts")
        return sum(1 for i in range(1, (b - a).days + 1) if self.is_working_day(a + timedelta(days=i)))

    def working_days_between_moments(self, start: datetime, end: datetime) -> int:
        return self.working_days_between(_local_date(start), _local_date(end))

    def deadline(self, moment: datetime, n: int) -> datetime:
        """The end (23:59:59.999999 Beijing time) of the n-th working day after ``moment``, in UTC."""
        day = self.add_working_days(moment, n)
        return datetime.combine(day, time.max, LOCAL).astimezone(timezone.utc)


def _local_date(value: date | datetime) -> date:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(LOCAL).date()
    return value


_CHANGED = "yimen_calendar_changed"  # session.info key: this session changed the calendar (read it afresh)
_KEPT = 8  # calendars kept per process, by stamp (one per database it works on, a few changes back)
_kept: OrderedDict[str, WorkingCalendar] = OrderedDict()
_kept_lock = threading.Lock()


def _read(session) -> WorkingCalendar:
    years = frozenset(session.scalars(select(CalendarYear.year)))
    rows = list(session.execute(select(CalendarDay.day, CalendarDay.kind, CalendarDay.name)))
    exceptions = {day: kind for day, kind, _ in rows if kind != DayKind.NORMAL}
    return WorkingCalendar(years, exceptions, names={day: name for day, _, name in rows})


def load(session) -> WorkingCalendar:
    """The calendar as entered in the database, read once per command.

    Each process keeps the calendars it read under the database's calendar stamp (``calendar_stamp``, a
    new random value with every change): a command reads that one row and reads both tables only when
    the stamp is new to this process, so a change made by any process (or worker) counts from the next
    command on. A session that changed the calendar itself reads it afresh and keeps nothing: what it
    wrote is not committed yet.
    """
    if session.info.get(_CHANGED):
        return _read(session)
    stamp = session.scalar(select(CalendarStamp.stamp).where(CalendarStamp.id == 1))
    if stamp is None:  # no stamp row (a database emptied by hand): nothing to key the copy on
        return _read(session)
    with _kept_lock:
        cal = _kept.get(stamp)
        if cal is not None:
            _kept.move_to_end(stamp)
            return cal
    cal = _read(session)
    with _kept_lock:
        _kept[stamp] = cal
        while len(_kept) > _KEPT:
            _kept.popitem(last=False)
    return cal


def changed(session) -> None:
    """Record in the transaction that the calendar changes: a new stamp, which every process will see."""
    session.info[_CHANGED] = True
    stamp = secrets.token_hex(16)
    if not session.execute(update(CalendarStamp).where(CalendarStamp.id == 1).values(stamp=stamp)).rowcount:
        session.add(CalendarStamp(id=1, stamp=stamp))


def official_years(session) -> frozenset[int]:
    """The entered years alone (one small query): enough to mark a date provisional."""
    return frozenset(session.scalars(select(CalendarYear.year)))


def is_provisional(official: frozenset[int], moment, since=None) -> bool:
    """``WorkingCalendar.is_provisional`` for callers that only read the official years."""
    return WorkingCalendar(official).is_provisional(moment, since)


# --- entering years -----------------------------------------------------------------

def known_years() -> list[int]:
    """The years the installed ``chinesecalendar`` release knows."""
    from chinese_calendar import constants

    first, last = min(constants.holidays).year, max(constants.holidays).year
    return list(range(first, last + 1))


def seed_rows(years: Iterable[int]) -> list[tuple[date, str, str | None]]:
    """The days of ``years`` that differ from the week, as ``chinesecalendar`` has them."""
    import chinese_calendar

    rows = []
    for year in years:
        if year not in known_years():
            raise ValidationError(f"chinesecalendar {chinese_calendar.__version__} does not know {year}; "
                                  f"it knows {known_years()[0]}-{known_years()[-1]}", year=year)
        day = date(year, 1, 1)
        while day.year == year:
            working = chinese_calendar.is_workday(day)
            weekday = day.weekday() < 5
            if working != weekday:
                _, name = chinese_calendar.get_holiday_detail(day)
                rows.append((day, DayKind.WORKDAY if working else DayKind.HOLIDAY, name))
            day += timedelta(days=1)
    return rows


def parse_file(text: str, fmt: str) -> list[tuple[date, str, str | None]]:
    """``date,kind[,name]`` lines (CSV) or ``[{"date", "kind", "name"}]`` (JSON); every bad line is reported."""
    problems: list[str] = []
    entries: list[tuple[int, dict]] = []
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"not valid JSON: {exc.msg} at line {exc.lineno}") from exc
        if not isinstance(data, list):
            raise ValidationError("a calendar file in JSON is a list of {date, kind, name}")
        entries = [(i + 1, e if isinstance(e, dict) else {}) for i, e in enumerate(data)]
        where = "entry"
    elif fmt == "csv":
        first = True
        for number, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1):
            if not row or not "".join(row).strip() or row[0].strip().startswith("#"):
                continue
            if first and row[0].strip().lower() in ("date", "日期"):  # a header, after any comment lines
                first = False
                continue
            first = False
            entries.append((number, {"date": row[0].strip(), "kind": row[1].strip() if len(row) > 1 else "",
                                     "name": row[2].strip() if len(row) > 2 and row[2].strip() else None}))
        where = "line"
    else:
        raise ValidationError(f"calendar files are csv or json, not '{fmt}'")
    rows, seen = [], set()
    for number, entry in entries:
        try:
            day = date.fromisoformat(str(entry.get("date", "")))
        except ValueError:
            problems.append(f"{where} {number}: '{entry.get('date')}' is not a date (YYYY-MM-DD)")
            continue
        kind = DayKind.WORDS.get(str(entry.get("kind") or "").strip().lower())
        if kind is None:
            problems.append(f"{where} {number}: kind '{entry.get('kind')}' is not one of {', '.join(DayKind.ALL)}")
            continue
        if day in seen:
            problems.append(f"{where} {number}: {day} is listed twice")
            continue
        if entry.get("name") is not None and len(str(entry["name"])) > NAME_LIMIT:
            problems.append(f"{where} {number}: the name is longer than {NAME_LIMIT} characters")
            continue
        seen.add(day)
        rows.append((day, kind, entry.get("name")))
    if problems:
        raise ValidationError("the calendar file is invalid: " + "; ".join(problems), problems=problems)
    if not rows:
        raise ValidationError("the calendar file lists no days")
    return rows


def store_years(session, rows: list[tuple[date, str, str | None]], years: Iterable[int], source: str,
                now: datetime, actor: str) -> None:
    """Replace the given years' days with ``rows`` and mark the years entered."""
    changed(session)
    years = sorted(set(years))
    for year in years:
        session.execute(delete(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                                  CalendarDay.day <= date(year, 12, 31)))
        row = session.get(CalendarYear, year)
        if row is None:
            session.add(CalendarYear(year=year, source=source, updated_at=now, updated_by=actor))
        else:
            row.source, row.updated_at, row.updated_by = source, now, actor
    session.flush()
    session.add_all(CalendarDay(day=day, kind=kind, name=name) for day, kind, name in rows)


def ensure_seeded(yimen) -> dict:
    """Seed every year ``chinesecalendar`` knows when no year is entered yet (a fresh install)."""
    if yimen.calendar_years():
        return {"seeded": []}
    return yimen.seed_calendar(None)


# --- working days inside diagram expressions: ${workdays(3)} -------------------------

_current: ContextVar[Callable[[], WorkingCalendar] | None] = ContextVar("yimen_working_calendar", default=None)


def bind(loader: Callable[[], WorkingCalendar]):
    """Make the running command's calendar available to expressions (``workdays(n)``)."""
    return _current.set(loader)


def unbind(token) -> None:
    _current.reset(token)


def workdays_from_now(n: int) -> str:
    """The end of the n-th working day from now, as an ISO date-time a timer or due date can take."""
    from . import clock

    loader = _current.get()
    if loader is None:
        raise ValidationError("workdays() needs the working-day calendar of a running command")
    return loader().deadline(clock.now(), n).isoformat()
