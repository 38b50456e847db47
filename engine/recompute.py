"""Recompute open deadlines after the working-day calendar changes (工作日历变更后重算期限).

When the official schedule of a year replaces its provisional calendar, or an
administrator moves a day, every open deadline that counts through a changed
day moves with it, in the same command (one transaction) as the change:

* case clocks, step limits and the Art. 32 acceptance windows (``DeadlineWatch``
  rows), with their warning moments and card states — a watch whose deadline
  moved out falls back to a lighter state, one whose deadline moved in is
  advanced by the next sweep;
* the 告知承诺 verification step (a step watch) and the due date of every step
  whose due date came from its watch;
* the 容缺 supplement deadline: its watch and the diagram's timer.

Only watches whose span reaches a changed day are read (an indexed range
query), so the cost follows the affected cases, not the open ones. Each
affected case gets one ``clock.recomputed`` audit event with the old and new
dates; the applicant is told when a date she was given moved (decision limit,
supplement deadline), and the person holding a step when its limit moved.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Iterable

from sqlalchemy import or_, select

from . import case_clock
from .calendar import LOCAL, WorkingCalendar
from .models import ApprovalCase, HumanTask, TaskStatus
from .models.deadlines import DeadlineWatch, WatchKind

FIELDS = ("warning_at", "promised_due", "legal_due")
CHUNK = 500


def changed_days(old: WorkingCalendar, new: WorkingCalendar, years: Iterable[int]) -> list[date]:
    """The days of ``years`` that are worked under one calendar and not under the other."""
    from .errors import CalendarMissing

    out = []
    for year in sorted(set(years)):
        try:
            old.is_working_day(date(year, 1, 1))
        except CalendarMissing:
            continue  # the old calendar could not count into that year: no deadline was computed there
        day = date(year, 1, 1)
        while day.year == year:
            if old.is_working_day(day) != new.is_working_day(day):
                out.append(day)
            day += timedelta(days=1)
    return out


def _local_text(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL).strftime("%Y-%m-%d") if moment else "-"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _affected_ids(session, first: date, last: date) -> list[tuple[int, int | None]]:
    """(watch id, case id) of the active watches started before the last changed day whose deadlines reach
    the first one (or that are paused): one indexed range query, plain rows."""
    lo = datetime.combine(first, time.min, LOCAL)
    hi = datetime.combine(last, time.max, LOCAL)
    stmt = (select(DeadlineWatch.id, DeadlineWatch.case_id)
            .where(DeadlineWatch.active.is_(True), DeadlineWatch.started_at <= hi,
                   or_(DeadlineWatch.promised_due >= lo, DeadlineWatch.legal_due >= lo,
                       DeadlineWatch.paused_since.is_not(None)))
            .order_by(DeadlineWatch.case_id, DeadlineWatch.id))
    return [(watch_id, case_id) for watch_id, case_id in session.execute(stmt)]


def recompute(ctx, old: WorkingCalendar, new: WorkingCalendar, years: Iterable[int]) -> dict[str, Any]:
    """Move every open deadline the change from ``old`` to ``new`` affects; audit and tell people.

    Works through the affected watches a chunk of cases at a time and lets go of each chunk's rows once it
    is written, so a schedule that moves every open case costs the same per case as one that moves a few.
    """
    days = changed_days(old, new, years)
    summary: dict[str, Any] = {"changed_days": len(days), "watches": 0, "cases": 0, "notified": 0}
    if not days:
        return summary
    ctx._working_calendar = new
    by_case: dict[int | None, list[int]] = {}
    for watch_id, case_id in _affected_ids(ctx.session, days[0], days[-1]):
        by_case.setdefault(case_id, []).append(watch_id)
    keys = list(by_case)
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        ids = [w for key in chunk for w in by_case[key]]
        watches = list(ctx.session.scalars(select(DeadlineWatch).where(DeadlineWatch.id.in_(ids))
                                           .order_by(DeadlineWatch.case_id, DeadlineWatch.id)))
        cases = {c.id: c for c in ctx.session.scalars(
            select(ApprovalCase).where(ApprovalCase.id.in_([k for k in chunk if k is not None])))}
        moved_by_case: dict[int | None, list[tuple[DeadlineWatch, dict]]] = {}
        for watch in watches:
            moved = _reschedule(ctx, watch)
            if moved:
                moved_by_case.setdefault(watch.case_id, []).append((watch, moved))
        for case_id, changes in moved_by_case.items():
            summary["watches"] += len(changes)
            summary["cases"] += 1
            summary["notified"] += _record(ctx, cases.get(case_id), changes)
        ctx.session.flush()
        _let_go(ctx.session)
    return summary


def _reschedule(ctx, watch: DeadlineWatch) -> dict:
    """Reschedule one watch on the new calendar; what moved (old and new), and what follows from it."""
    before = {f: getattr(watch, f) for f in FIELDS}
    case_clock.reschedule(ctx, watch)
    moved = {f: {"from": _iso(before[f]), "to": _iso(getattr(watch, f))}
             for f in FIELDS if before[f] != getattr(watch, f)}
    if moved and watch.kind == WatchKind.STEP and watch.task_id:
        _move_step_due(ctx, watch, before["promised_due"])
    if moved and watch.kind == WatchKind.SUPPLEMENT:
        _move_supplement_timer(ctx, watch, before["promised_due"])
    return moved


def _record(ctx, case: ApprovalCase | None, changes: list[tuple[DeadlineWatch, dict]]) -> int:
    """The case's ``clock.recomputed`` audit event and its notices; returns how many people were told."""
    from .audit import append_event

    append_event(ctx, "clock.recomputed", case.instance_id if case else changes[0][0].instance_id, None,
                 {"case": case.number if case else None,
                  "changes": [{"watch": w.id, "kind": w.kind, "element_id": w.element_id, **moved}
                              for w, moved in changes]})
    return _tell(ctx, case, changes) if case is not None else 0


LET_GO = (DeadlineWatch, ApprovalCase, HumanTask)


def _let_go(session) -> None:
    """Forget the rows of a written chunk (and the notices it wrote): the session stays small."""
    from .models.notifications import Notification

    for obj in list(session.identity_map.values()):
        if isinstance(obj, (*LET_GO, Notification)) and obj not in session.dirty:
            session.expunge(obj)


def _move_step_due(ctx, watch: DeadlineWatch, old_due: datetime) -> None:
    row = ctx.session.get(HumanTask, watch.task_id)
    if row is not None and row.status == TaskStatus.OPEN and row.due == old_due:
        row.due = watch.promised_due


def _move_supplement_timer(ctx, watch: DeadlineWatch, old_due: datetime) -> None:
    """The diagram waits for 容缺 materials until ``supplement_due``: its timer moves with the watch."""
    from . import runtime

    running = runtime.load(ctx, watch.instance_id)
    old_value, new_value = old_due.isoformat(), watch.promised_due.isoformat()
    for task in running.workflow.get_tasks():  # live ones wait on it; completed ones are what the case shows
        if task.internal_data.get("event_value") == old_value:
            task.internal_data["event_value"] = new_value
        if task.data.get("supplement_due") == old_value:
            task.data["supplement_due"] = new_value
    if running.workflow.data.get("supplement_due") == old_value:
        running.workflow.data["supplement_due"] = new_value
    runtime.advance(ctx, running)


WHAT = {WatchKind.CASE: "办理期限", WatchKind.STEP: "环节期限", WatchKind.ACCEPTANCE: "受理期限",
        WatchKind.SUPPLEMENT: "容缺材料补齐期限"}
FIELD_LABELS = {"promised_due": "承诺期限", "legal_due": "法定期限", "warning_at": "预警时间"}
APPLICANT_SEES = (WatchKind.CASE, WatchKind.SUPPLEMENT)


def _tell(ctx, case: ApprovalCase, changes: list[tuple[DeadlineWatch, dict]]) -> int:
    """One notice to the applicant (dates she was given) and one to each person holding a moved step."""
    from .notify import notify_user

    told = 0
    applicant_moves = [_move(w, moved, f) for w, moved in changes if w.kind in APPLICANT_SEES
                       for f in ("promised_due", "legal_due") if f in moved]
    subject = f"办件 {case.number} 期限调整"
    intro = f"因工作日历调整（国务院公布的节假日安排已录入），办件 {case.number} 的期限已重新计算："
    for person in {p for p in (case.applicant_user, case.agent_user) if p}:
        if applicant_moves:
            notify_user(ctx, person, subject, intro + "；".join(_line(m) for m in applicant_moves) + "。",
                        {"case": case.id, "kind": "deadline_moved"}, instance_id=case.instance_id,
                        kind="deadline_moved", params={"case_number": case.number, "moves": applicant_moves})
            told += 1
    handler_moves: dict[str, list[dict]] = {}
    open_rows = {r.id: r for r in ctx.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == case.instance_id, HumanTask.status == TaskStatus.OPEN))}
    for watch, moved in changes:
        moves = [_move(watch, moved, f) for f in ("promised_due", "legal_due") if f in moved]
        if not moves:
            continue
        rows = [open_rows[watch.task_id]] if watch.task_id in open_rows else (
            list(open_rows.values()) if watch.kind != WatchKind.STEP else [])
        for row in rows:
            for person in ([row.assignee] if row.assignee else list(row.candidate_users or [])):
                told_of = handler_moves.setdefault(person, [])
                told_of.extend(m for m in moves if m not in told_of)
    for person, moves in handler_moves.items():
        if person in (case.applicant_user, case.agent_user):
            continue
        notify_user(ctx, person, subject, intro + "；".join(_line(m) for m in moves) + "。",
                    {"case": case.id, "kind": "deadline_moved"}, instance_id=case.instance_id, kind="deadline_moved",
                    params={"case_number": case.number, "moves": moves})
        told += 1
    return told


def _move(watch: DeadlineWatch, moved: dict, field: str) -> dict:
    """One moved date as the English pages need it (web/notices.py): which limit, from and to (local time)."""
    old = datetime.fromisoformat(moved[field]["from"]) if moved[field]["from"] else None
    new = datetime.fromisoformat(moved[field]["to"]) if moved[field]["to"] else None
    return {"watch": watch.kind, "field": field, "from": _local_text(old), "to": _local_text(new)}


def _line(move: dict) -> str:
    """A moved date (``_move``) as the Chinese notice says it."""
    return f"{WHAT.get(move['watch'], '期限')}（{FIELD_LABELS[move['field']]}）由 {move['from']} 调整为 {move['to']}"
