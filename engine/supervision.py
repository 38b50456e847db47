"""What supervisors ask (督查): who is late, what is due soon, how each item and department does.

Every question is one indexed query on ``deadline_watch`` (see its indexes),
so it stays fast with a million open tasks.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from .case_clock import watch_dict
from .commands.supervision import card_dict, order_dict, procedure_dict
from .models import ApprovalCase
from .models.deadlines import Card, DeadlineWatch, WatchKind
from .models.supervision import IssuedCard, SpecialProcedure, SupervisionOrder


def watches(session, department: str | None = None, state: str | None = None, kind: str | None = WatchKind.CASE,
            item: str | None = None, active: bool = True, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """E.g. all red cases of department X: ``watches(s, department="X", state="red")``."""
    stmt = select(DeadlineWatch).where(DeadlineWatch.active.is_(active))
    if department:
        stmt = stmt.where(DeadlineWatch.department == department)
    if state:
        stmt = stmt.where(DeadlineWatch.state == state)
    if kind:
        stmt = stmt.where(DeadlineWatch.kind == kind)
    if item:
        stmt = stmt.where(DeadlineWatch.item_code == item)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(DeadlineWatch.promised_due).limit(limit).offset(offset))
    return {"items": [_with_case(session, w) for w in rows], "total": total, "limit": limit, "offset": offset}


def due_before(session, moment: datetime, department: str | None = None, limit: int = 100,
               offset: int = 0) -> dict[str, Any]:
    """Everything (cases and steps) whose promised limit falls before ``moment`` and is still running."""
    stmt = select(DeadlineWatch).where(DeadlineWatch.active.is_(True), DeadlineWatch.promised_due <= moment,
                                       DeadlineWatch.kind != WatchKind.ACCEPTANCE)
    if department:
        stmt = stmt.where(DeadlineWatch.department == department)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(DeadlineWatch.promised_due).limit(limit).offset(offset))
    return {"items": [_with_case(session, w) for w in rows], "total": total, "limit": limit, "offset": offset}


def _with_case(session, w: DeadlineWatch) -> dict[str, Any]:
    out = watch_dict(w)
    if w.case_id:
        case = session.get(ApprovalCase, w.case_id)
        out["case_number"], out["case_status"] = case.number, case.status
    return out


def overview(session) -> dict[str, Any]:
    """Counts of running case clocks by department and state, and by item and state."""
    by_department: dict[str, dict[str, int]] = defaultdict(lambda: {s: 0 for s in Card.ORDER})
    by_item: dict[str, dict[str, int]] = defaultdict(lambda: {s: 0 for s in Card.ORDER})
    for column, target in ((DeadlineWatch.department, by_department), (DeadlineWatch.item_code, by_item)):
        rows = session.execute(select(column, DeadlineWatch.state, func.count()).where(
            DeadlineWatch.active.is_(True), DeadlineWatch.kind == WatchKind.CASE).group_by(column, DeadlineWatch.state))
        for key, state, count in rows:
            target[key or "-"][state] = count
    return {"by_department": dict(by_department), "by_item": dict(by_item)}


def performance(session, cal=None) -> dict[str, Any]:
    """On-time rate and average working days of decided cases, per item and per department."""
    rows = session.execute(select(DeadlineWatch.item_code, DeadlineWatch.department, DeadlineWatch.started_at,
                                  DeadlineWatch.stopped_at, DeadlineWatch.promised_due, DeadlineWatch.paused_days)
                           .where(DeadlineWatch.kind == WatchKind.CASE, DeadlineWatch.active.is_(False),
                                  DeadlineWatch.stopped_at.is_not(None)))
    groups: dict[str, dict[str, list]] = {"item": defaultdict(list), "department": defaultdict(list)}
    for item, department, started, stopped, promised, paused in rows:
        on_time = stopped <= promised
        days = None
        if cal is not None:
            days = max(cal.working_days_between_moments(started, stopped) - (paused or 0), 0)
        groups["item"][item or "-"].append((on_time, days))
        groups["department"][department or "-"].append((on_time, days))

    def summary(entries):
        counted = [d for _, d in entries if d is not None]
        return {"decided": len(entries), "on_time_rate": round(sum(1 for ok, _ in entries if ok) / len(entries), 4),
                "average_working_days": round(sum(counted) / len(counted), 2) if counted else None}

    return {kind: {key: summary(entries) for key, entries in data.items()} for kind, data in groups.items()}


def cards(session, department: str | None = None, status: str | None = None, case_id: int | None = None,
          limit: int = 100, offset: int = 0) -> dict[str, Any]:
    stmt = select(IssuedCard)
    if department:
        stmt = stmt.where(IssuedCard.department == department)
    if status:
        stmt = stmt.where(IssuedCard.status == status)
    if case_id is not None:
        stmt = stmt.where(IssuedCard.case_id == case_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(IssuedCard.id.desc()).limit(limit).offset(offset))
    return {"items": [card_dict(c) for c in rows], "total": total, "limit": limit, "offset": offset}


def orders(session, department: str | None = None, assignee: str | None = None, status: str | None = None,
           limit: int = 100, offset: int = 0) -> dict[str, Any]:
    stmt = select(SupervisionOrder)
    if department:
        stmt = stmt.where(SupervisionOrder.department == department)
    if assignee:
        stmt = stmt.where(SupervisionOrder.assignee == assignee)
    if status:
        stmt = stmt.where(SupervisionOrder.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(SupervisionOrder.id.desc()).limit(limit).offset(offset))
    return {"items": [order_dict(o) for o in rows], "total": total, "limit": limit, "offset": offset}


def procedures(session, case_id: int) -> list[dict[str, Any]]:
    return [procedure_dict(p) for p in session.scalars(
        select(SpecialProcedure).where(SpecialProcedure.case_id == case_id).order_by(SpecialProcedure.id))]
