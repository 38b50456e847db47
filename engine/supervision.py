"""What supervisors ask (督查): who is late, what is due soon, how each item and department does.

Every list (running clocks, due lists, cards 红黄牌, supervision orders 督办) is one SQL statement through
``lists.page_of``: who may see which rows, the filters and the order are in SQL, the page's total rides on
its rows, and the case columns a page shows come in the same statement (no query per row).

Who sees what (``user`` as the pages know them; ``None`` is the command line's administrator):

* administrators and supervisors: everything;
* other staff: the clocks and cards of their own department (a step reviewed by a department group
  belongs to that department, see ``case_clock.step_department``), and the orders addressed to them or
  to their department; staff without a department see no clock and no card.

The dashboard (``dashboard``) aggregates in SQL too: counts by department, item and card state, on-time
rate and average working days over a chosen period, and cards over time.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Integer, Text, and_, bindparam, case, cast, false, func, literal, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB

from . import clock
from .calendar import LOCAL
from .case_clock import watch_dict
from .commands.supervision import card_dict, order_dict, procedure_dict
from .errors import ValidationError
from .inbox import _privileged
from .lists import _dialect, _greatest, _local_start, in_period, page_of
from .models import ApprovalCase
from .models.deadlines import Card, DeadlineWatch, WatchKind
from .models.supervision import CardStatus, IssuedCard, SpecialProcedure, SupervisionOrder

ORDER_STATUSES = ("open", "answered", "closed")
CARD_COLORS = ("yellow", "red")
MAX_PERIOD_DAYS = 3 * 366  # the longest period a dashboard counts working days over

_W, _C = DeadlineWatch.__table__, ApprovalCase.__table__
_K, _O = IssuedCard.__table__, SupervisionOrder.__table__


def _one_of(name: str, value: str | None, allowed) -> None:
    if value is not None and value not in allowed:
        raise ValidationError(f"{name} is one of {', '.join(allowed)}")


def _department_rule(user: dict[str, Any] | None, column):
    """Rows of the user's own department (everything for supervisors and the command line)."""
    if user is None or _privileged(user):
        return true()
    department = user.get("department")
    return false() if not department else column == department


# --- running clocks and due lists ---------------------------------------------------------

def watches(session, user: dict[str, Any] | None = None, department: str | None = None, state: str | None = None,
            kind: str | None = WatchKind.CASE, item: str | None = None, active: bool = True,
            due_before: datetime | None = None, exclude_kind: str | None = None, limit: int = 100,
            offset: int = 0) -> dict[str, Any]:
    """One page of clocks, promised limit soonest first, each with its case's number and status.

    E.g. all red cases of department X: ``watches(s, department="X", state="red")``.
    """
    _one_of("state", state, Card.ORDER)
    _one_of("kind", kind, WatchKind.ALL)
    where = [_W.c.active == (true() if active else false()), _department_rule(user, _W.c.department)]
    if department:
        where.append(_W.c.department == department)
    if state:
        where.append(_W.c.state == state)
    if kind:
        where.append(_W.c.kind == kind)
    if exclude_kind:
        where.append(_W.c.kind != exclude_kind)
    if item:
        where.append(_W.c.item_code == item)
    if due_before is not None:
        where.append(_W.c.promised_due <= due_before)
    source = _W.outerjoin(_C, _C.c.id == _W.c.case_id)
    columns = [_W, _C.c.number.label("case_number"), _C.c.status.label("case_status")]

    def item_of(row):
        return {**watch_dict(row), "case_number": row.case_number, "case_status": row.case_status}

    return page_of(session, columns, source, where, [_W.c.promised_due, _W.c.id], limit, offset, item_of)


def due_before(session, moment: datetime, user: dict[str, Any] | None = None, department: str | None = None,
               limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Everything (cases and steps) whose promised limit falls before ``moment`` and is still running."""
    return watches(session, user, department=department, kind=None, exclude_kind=WatchKind.ACCEPTANCE,
                   due_before=moment, limit=limit, offset=offset)


# --- cards (红黄牌) --------------------------------------------------------------------------

def cards(session, user: dict[str, Any] | None = None, department: str | None = None, status: str | None = None,
          color: str | None = None, item: str | None = None, case_id: int | None = None,
          issued_from: date | datetime | str | None = None, issued_to: date | datetime | str | None = None,
          limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """One page of cards, newest first, with the case's number and item."""
    _one_of("status", status, CardStatus.ALL)
    _one_of("color", color, CARD_COLORS)
    where = [_department_rule(user, _K.c.department), *in_period(_K.c.issued_at, issued_from, issued_to)]
    for column, value in ((_K.c.department, department), (_K.c.status, status), (_K.c.color, color),
                          (_C.c.item_code, item)):
        if value:
            where.append(column == value)
    if case_id is not None:
        where.append(_K.c.case_id == case_id)
    source = _K.outerjoin(_C, _C.c.id == _K.c.case_id)
    columns = [_K, _C.c.number.label("case_number"), _C.c.item_code.label("case_item")]

    def item_of(row):
        return {**card_dict(row), "case_number": row.case_number, "item": row.case_item}

    return page_of(session, columns, source, where, [_K.c.id.desc()], limit, offset, item_of)


# --- supervision orders (督办) ---------------------------------------------------------------

def orders(session, user: dict[str, Any] | None = None, department: str | None = None,
           assignee: str | None = None, status: str | None = None, case_id: int | None = None,
           overdue: bool | None = None, issued_from: date | datetime | str | None = None,
           issued_to: date | datetime | str | None = None, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """One page of orders, newest first, with the case's number: supervisors all, staff theirs and their department's."""
    _one_of("status", status, ORDER_STATUSES)
    where = in_period(_O.c.issued_at, issued_from, issued_to)
    if user is not None and not _privileged(user):
        mine = [_O.c.assignee == user["id"]]
        if user.get("department"):
            mine.append(_O.c.department == user["department"])
        where.append(or_(*mine))
    for column, value in ((_O.c.department, department), (_O.c.assignee, assignee), (_O.c.status, status)):
        if value:
            where.append(column == value)
    if case_id is not None:
        where.append(_O.c.case_id == case_id)
    late = and_(_O.c.status == "open", _O.c.deadline < clock.now())
    if overdue is not None:
        where.append(late if overdue else ~late)
    source = _O.outerjoin(_C, _C.c.id == _O.c.case_id)
    columns = [_O, _C.c.number.label("case_number")]

    def item_of(row):
        return {**order_dict(row), "case_number": row.case_number}

    return page_of(session, columns, source, where, [_O.c.id.desc()], limit, offset, item_of)


def procedures(session, case_id: int) -> list[dict[str, Any]]:
    return [procedure_dict(p) for p in session.scalars(
        select(SpecialProcedure).where(SpecialProcedure.case_id == case_id).order_by(SpecialProcedure.id))]


# --- the dashboard ---------------------------------------------------------------------------

def _local_day(dialect: str, column):
    """The Beijing-time date of a UTC moment as 'YYYY-MM-DD' text."""
    if dialect == "postgresql":
        return func.to_char(func.timezone(str(LOCAL), column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column, "+8 hours")


def _local_month(dialect: str, column):
    """The Beijing-time month of a UTC moment as 'YYYY-MM' text."""
    if dialect == "postgresql":
        return func.to_char(func.timezone(str(LOCAL), column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+8 hours")


def _working_day_numbers(cal, first: date, last: date) -> str:
    """Each local date of ``first``..``last`` (by its offset from ``first``) with its working-day number, as JSON.

    The difference of two numbers is ``cal.working_days_between`` of the two dates, so the database counts
    working days with one lookup per end, on the calendar the case clock uses (provisional years too).
    """
    numbers, number, day = [], 0, first
    while day <= last:
        if cal.is_working_day(day):
            number += 1
        numbers.append(number)
        day += timedelta(days=1)
    return json.dumps(numbers, separators=(",", ":"))


def _working_number(dialect: str, column, first: date, numbers):
    """The working-day number of the local date of ``column`` (a UTC moment), looked up in ``numbers``."""
    if dialect == "postgresql":
        local = cast(func.timezone(str(LOCAL), column), Date)
        offset = local - cast(literal(first.isoformat()), Date)
        return cast(func.jsonb_extract_path_text(cast(numbers, JSONB), cast(offset, Text)), Integer)
    offset = cast(func.julianday(func.date(column, "+8 hours")) - func.julianday(first.isoformat()), Integer)
    return cast(func.json_extract(numbers, literal("$[") + cast(offset, Text) + literal("]")), Integer)


def _check_period(date_from, date_to) -> tuple[date | None, date | None]:
    """The period's first and last local dates (YYYY-MM-DD texts or dates); a period ending before it starts is refused."""
    out = []
    for value in (date_from, date_to):
        if value in (None, ""):
            out.append(None)
            continue
        out.append(_local_start(value).astimezone(LOCAL).date())
    first, last = out
    if first and last and last < first:
        raise ValidationError("the period ends before it starts")
    return first, last


def dashboard(session, cal, date_from: date | str | None = None, date_to: date | str | None = None,
              department: str | None = None, item: str | None = None) -> dict[str, Any]:
    """The supervision dashboard over a period of local dates (both included; none: everything), in SQL.

    * ``by_department`` / ``by_item``: case clocks still running, by their state (normal, warning, yellow,
      red); with a period, those of cases accepted in it.
    * ``performance``: cases decided in the period (their case clock stopped), by department and by item:
      ``decided``, ``on_time`` (stopped by the promised limit), ``on_time_rate``, ``average_working_days``
      (working days from acceptance to decision, less the paused days of special procedures).
    * ``cards_over_time``: cards issued in the period (withdrawn ones not counted), yellow and red, per day
      for a period of up to 62 days, else per month.
    * ``totals``: running, decided, on time, the rate and the average over everything selected.
    """
    first, last = _check_period(date_from, date_to)
    dialect = _dialect(session)
    scope = [_W.c.kind == WatchKind.CASE]
    if department:
        scope.append(_W.c.department == department)
    if item:
        scope.append(_W.c.item_code == item)

    # Running clocks by department, item and state: one grouped query; the pivot is a handful of rows.
    running = (select(_W.c.department, _W.c.item_code, _W.c.state, func.count())
               .where(*scope, _W.c.active == true(), *in_period(_W.c.started_at, first, last))
               .group_by(_W.c.department, _W.c.item_code, _W.c.state))
    by_department: dict[str, dict[str, int]] = {}
    by_item: dict[str, dict[str, int]] = {}
    for dept, code, state, n in session.execute(running):
        for key, target in ((dept or "-", by_department), (code or "-", by_item)):
            counts = target.setdefault(key, {s: 0 for s in Card.ORDER})
            counts[state if state in counts else Card.NORMAL] += n

    # Decided cases: on time and working days, summed per (department, item) in SQL.
    decided = [*scope, _W.c.active == false(), _W.c.stopped_at.is_not(None),
               *in_period(_W.c.stopped_at, first, last)]
    span = session.execute(select(func.min(_W.c.started_at), func.max(_W.c.stopped_at)).where(*decided)).one()
    sums: dict[tuple, dict[str, Any]] = {}
    if span[0] is not None:
        start_day, stop_day = span[0].astimezone(LOCAL).date(), span[1].astimezone(LOCAL).date()
        if (stop_day - start_day).days > MAX_PERIOD_DAYS:
            raise ValidationError(f"the decided cases span more than {MAX_PERIOD_DAYS} days; choose a shorter period")
        first_day = min(start_day, stop_day)
        numbers = bindparam("working_day_numbers", _working_day_numbers(cal, first_day, stop_day), type_=Text)
        counted = (_working_number(dialect, _W.c.stopped_at, first_day, numbers)
                   - _working_number(dialect, _W.c.started_at, first_day, numbers))
        days = _greatest(dialect, counted - func.coalesce(_W.c.paused_days, 0), 0)
        stmt = (select(_W.c.department, _W.c.item_code, func.count().label("decided"),
                       func.sum(case((_W.c.stopped_at <= _W.c.promised_due, 1), else_=0)).label("on_time"),
                       func.sum(days).label("days"))
                .where(*decided).group_by(_W.c.department, _W.c.item_code))
        for row in session.execute(stmt):
            sums[row.department, row.item_code] = {"decided": int(row.decided), "on_time": int(row.on_time or 0),
                                                   "days": int(row.days or 0)}

    def summary(entries: list[dict]) -> dict[str, Any]:
        n = sum(e["decided"] for e in entries)
        on_time = sum(e["on_time"] for e in entries)
        total_days = sum(e["days"] for e in entries)
        return {"decided": n, "on_time": on_time, "on_time_rate": round(on_time / n, 4) if n else None,
                "average_working_days": round(total_days / n, 2) if n else None}

    performance: dict[str, dict[str, Any]] = {"department": {}, "item": {}}
    for index, kind in ((0, "department"), (1, "item")):
        keys = sorted({key[index] or "-" for key in sums})
        performance[kind] = {k: summary([v for key, v in sums.items() if (key[index] or "-") == k]) for k in keys}

    # Cards over time: per local day (short periods) or month, by colour.
    unit = "day" if first and last and (last - first).days <= 62 else "month"
    bucket = (_local_day if unit == "day" else _local_month)(dialect, _K.c.issued_at)
    card_scope = [_K.c.status != CardStatus.WITHDRAWN, *in_period(_K.c.issued_at, first, last)]
    source = _K
    if department:
        card_scope.append(_K.c.department == department)
    if item:
        source = _K.join(_C, _C.c.id == _K.c.case_id)
        card_scope.append(_C.c.item_code == item)
    series: dict[str, dict[str, int]] = {}
    for when, color, n in session.execute(select(bucket, _K.c.color, func.count()).select_from(source)
                                          .where(*card_scope).group_by(bucket, _K.c.color).order_by(bucket)):
        series.setdefault(when, {c: 0 for c in CARD_COLORS})[color] = n
    return {"period": {"from": first.isoformat() if first else None, "to": last.isoformat() if last else None},
            "by_department": by_department, "by_item": by_item, "performance": performance,
            "cards_over_time": {"unit": unit, "series": [{"period": k, **v} for k, v in series.items()]},
            "totals": {"running": sum(sum(c.values()) for c in by_department.values()),
                       **summary(list(sums.values()))}}

