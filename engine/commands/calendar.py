"""Maintain the working-day calendar (administrators only): seed, import, set one day.

Every change recomputes, in the same command, the open deadlines it affects
(``engine.recompute``): entering the official schedule of a provisional year
moves every case clock, step limit, Art. 32 window and 容缺 deadline that
counts through a changed day, audits each case and tells the people whose
dates moved.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from .. import calendar, recompute
from ..context import Ctx, command
from ..errors import PermissionDenied, ValidationError
from ..models.calendar import CalendarDay, CalendarYear, DayKind


def _admin_only(ctx: Ctx) -> None:
    if not ctx.actor.is_admin:
        raise PermissionDenied(f"user '{ctx.actor.id}' may not change the working-day calendar")


@command("calendar.seed")
def seed_calendar(ctx: Ctx, years: list[int] | None = None) -> dict:
    """Enter years from the ``chinesecalendar`` package (all it knows when ``years`` is None)."""
    _admin_only(ctx)
    import chinese_calendar

    years = sorted(set(years or calendar.known_years()))
    rows = calendar.seed_rows(years)
    moved = _store_and_recompute(ctx, rows, years, f"chinesecalendar {chinese_calendar.__version__}")
    ctx.audit.data = {"years": years, "days": len(rows), "recomputed": moved}
    return {"seeded": years, "days": len(rows), "recomputed": moved}


def _store_and_recompute(ctx: Ctx, rows, years, source: str) -> dict:
    before = calendar.load(ctx.session)
    calendar.store_years(ctx.session, rows, years, source, ctx.now, ctx.actor.id)
    ctx.session.flush()
    return recompute.recompute(ctx, before, calendar.load(ctx.session), years)


@command("calendar.import")
def import_calendar(ctx: Ctx, text: str, fmt: str = "csv") -> dict:
    """Enter whole years from a file; every year the file touches is replaced by what the file says."""
    _admin_only(ctx)
    rows = calendar.parse_file(text, fmt)
    years = sorted({day.year for day, _, _ in rows})
    moved = _store_and_recompute(ctx, rows, years, "file")
    ctx.audit.data = {"years": years, "days": len(rows), "recomputed": moved}
    return {"imported": years, "days": len(rows), "recomputed": moved}


@command("calendar.set_day")
def set_day(ctx: Ctx, day: str, kind: str, name: str | None = None) -> dict:
    """Change one day of an entered year, e.g. a holiday announced late."""
    _admin_only(ctx)
    try:
        parsed = date.fromisoformat(day)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"'{day}' is not a date (YYYY-MM-DD)") from exc
    if kind not in DayKind.ALL:
        raise ValidationError(f"kind must be one of {', '.join(DayKind.ALL)}")
    if name is not None and (not isinstance(name, str) or len(name) > calendar.NAME_LIMIT):
        raise ValidationError(f"a day's name is text of at most {calendar.NAME_LIMIT} characters")
    before = calendar.load(ctx.session)
    if ctx.session.get(CalendarYear, parsed.year) is None:
        # A provisional year: entering one day makes the year official, starting from its statutory holidays.
        if not calendar.PROVISIONAL_SPAN[0] <= parsed.year <= calendar.PROVISIONAL_SPAN[1]:
            raise ValidationError(f"{parsed.year} has no calendar yet and lies outside the years Yimen can compute "
                                  f"({calendar.PROVISIONAL_SPAN[0]}-{calendar.PROVISIONAL_SPAN[1]}): import the "
                                  "whole year first", year=parsed.year)
        calendar.store_years(ctx.session, calendar.provisional_rows(parsed.year), [parsed.year],
                             "provisional rule + admin", ctx.now, ctx.actor.id)
        ctx.session.flush()
    calendar.changed(ctx.session)
    row = ctx.session.get(CalendarDay, parsed)
    was = row.kind if row else DayKind.NORMAL
    if row is None:
        row = CalendarDay(day=parsed, kind=kind, name=name)
        ctx.session.add(row)
    else:
        row.kind, row.name = kind, name
    ctx.session.flush()
    moved = recompute.recompute(ctx, before, calendar.load(ctx.session), [parsed.year])
    ctx.audit.data = {"day": parsed.isoformat(), "from": was, "to": kind, "name": name, "recomputed": moved}
    return {"day": parsed.isoformat(), "kind": kind, "name": name, "recomputed": moved}


def calendar_days(session, year: int) -> list[dict]:
    rows = session.scalars(select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                                     CalendarDay.day <= date(year, 12, 31)).order_by(CalendarDay.day))
    return [{"date": r.day.isoformat(), "kind": r.kind, "name": r.name} for r in rows]


def calendar_years(session) -> list[dict]:
    return [{"year": y.year, "source": y.source, "updated_at": y.updated_at.isoformat(), "updated_by": y.updated_by}
            for y in session.scalars(select(CalendarYear).order_by(CalendarYear.year))]


def calendar_overview(session, today: date, ahead: int = 2) -> list[dict]:
    """Every entered year (official) and every year up to ``ahead`` after today that is provisional."""
    entered = {y["year"]: y for y in calendar_years(session)}
    first = min([*entered, today.year])
    out = []
    for year in range(first, today.year + ahead + 1):
        if year in entered:
            out.append({**entered[year], "status": "official"})
        else:
            out.append({"year": year, "status": "provisional", "source": "statutory rule", "updated_at": None,
                        "updated_by": None})
    return out


def calendar_year_view(session, year: int) -> dict:
    """One year day by day (kind, name) for the year view: entered days, or the provisional rule's."""
    if session.get(CalendarYear, year) is None and not (
            calendar.PROVISIONAL_SPAN[0] <= year <= calendar.PROVISIONAL_SPAN[1]):
        raise ValidationError(f"year {year} is outside {calendar.PROVISIONAL_SPAN[0]}-"
                              f"{calendar.PROVISIONAL_SPAN[1]}", year=year)
    cal = calendar.load(session)
    days, day = [], date(year, 1, 1)
    while day.year == year:
        kind, name, provisional = cal.day_kind(day)
        days.append({"date": day.isoformat(), "weekday": day.weekday(), "kind": kind, "name": name,
                     "working": cal.is_working_day(day)})
        day = date.fromordinal(day.toordinal() + 1)
    entered = session.get(CalendarYear, year)
    return {"year": year, "status": "official" if entered else "provisional",
            "source": entered.source if entered else "statutory rule",
            "working_days": sum(1 for d in days if d["working"]), "days": days}
