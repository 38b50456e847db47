"""Maintain the working-day calendar (administrators only): seed, import, set one day."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from .. import calendar
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
    calendar.store_years(ctx.session, rows, years, f"chinesecalendar {chinese_calendar.__version__}", ctx.now,
                         ctx.actor.id)
    ctx.audit.data = {"years": years, "days": len(rows)}
    return {"seeded": years, "days": len(rows)}


@command("calendar.import")
def import_calendar(ctx: Ctx, text: str, fmt: str = "csv") -> dict:
    """Enter whole years from a file; every year the file touches is replaced by what the file says."""
    _admin_only(ctx)
    rows = calendar.parse_file(text, fmt)
    years = sorted({day.year for day, _, _ in rows})
    calendar.store_years(ctx.session, rows, years, "file", ctx.now, ctx.actor.id)
    ctx.audit.data = {"years": years, "days": len(rows)}
    return {"imported": years, "days": len(rows)}


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
    if ctx.session.get(CalendarYear, parsed.year) is None:
        raise ValidationError(f"{parsed.year} has no calendar yet: import or seed the whole year first",
                              year=parsed.year)
    row = ctx.session.get(CalendarDay, parsed)
    before = row.kind if row else DayKind.NORMAL
    if row is None:
        row = CalendarDay(day=parsed, kind=kind, name=name)
        ctx.session.add(row)
    else:
        row.kind, row.name = kind, name
    ctx.audit.data = {"day": parsed.isoformat(), "from": before, "to": kind, "name": name}
    return {"day": parsed.isoformat(), "kind": kind, "name": name}


def calendar_days(session, year: int) -> list[dict]:
    rows = session.scalars(select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                                     CalendarDay.day <= date(year, 12, 31)).order_by(CalendarDay.day))
    return [{"date": r.day.isoformat(), "kind": r.kind, "name": r.name} for r in rows]


def calendar_years(session) -> list[dict]:
    return [{"year": y.year, "source": y.source, "updated_at": y.updated_at.isoformat(), "updated_by": y.updated_by}
            for y in session.scalars(select(CalendarYear).order_by(CalendarYear.year))]
