"""The case clock (办件计时): legal and promised limits counted in working days.

Each running clock is a ``DeadlineWatch`` row:

* the **case** watch starts at acceptance (受理) with the item's promised and
  legal limits; it pauses while a correction (补正) or a special procedure
  (特别程序) runs, and each paused working day pushes every deadline out by a
  day; an approved extension (延期) moves the legal limit;
* a **step** watch runs for a user step that carries ``yimen.limitDays``;
* the **acceptance** watch is the Art. 32 rule: a case with neither an
  acceptance decision nor a correction notice 5 working days after receipt is
  accepted as of the receipt day.

The states are normal → warning (预警) → yellow card (promised limit passed)
→ red card (legal limit passed). ``next_change_at`` is the moment the next
state is reached; the sweep (``engine.commands.deadlines``) reads only rows
whose moment has passed. ``follow`` keeps the watches in step with the case
after every process step.
"""
from __future__ import annotations

import functools
import os
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import bindparam, case, func, inspect, select, true

from .models import ApprovalCase, HumanTask, ServiceItem, TaskStatus
from .models.cases import CaseStatus
from .models.deadlines import Card, DeadlineWatch, WatchKind

ACCEPTANCE_DAYS = 5               # Administrative Licensing Law Art. 32
LIMIT_PROPERTY = "yimen.limitDays"        # a step's own limit in working days
WARNING_PROPERTY = "yimen.warningDays"    # how early a step warns
ESCALATION_PROPERTY = "yimen.escalation"  # what happens when a step is overdue
ESCALATIONS = ("notify_supervisor", "reassign_backup", "auto_approve", "auto_reject", "card")
PAUSING = {CaseStatus.CORRECTION_REQUESTED: "correction", CaseStatus.SPECIAL_PROCEDURE: "special_procedure"}
DECIDED = (CaseStatus.APPROVED, CaseStatus.NOT_APPROVED) + CaseStatus.FINAL


def default_warning_days() -> int:
    """The system default (配置): warn this many working days before the promised limit."""
    return int(os.environ.get("YIMEN_WARNING_DAYS", "2"))


def working_calendar(ctx):
    """The working-day calendar, loaded once per command."""
    cal = getattr(ctx, "_working_calendar", None)
    if cal is None:
        from . import calendar

        cal = calendar.load(ctx.session)
        ctx._working_calendar = cal
    return cal


# --- computing a watch ------------------------------------------------------------

def schedule(cal, watch: DeadlineWatch) -> None:
    """Set the watch's deadlines from its start, limits, pauses and extension."""
    shift = watch.paused_days
    watch.promised_due = cal.deadline(watch.started_at, watch.promised_days + shift)
    watch.legal_due = (cal.deadline(watch.started_at, watch.legal_days + watch.extension_days + shift)
                       if watch.legal_days is not None else None)
    if watch.warning_days > 0:
        ahead = watch.promised_days - watch.warning_days
        watch.warning_at = cal.deadline(watch.started_at, ahead + shift) if ahead >= 0 else watch.started_at
    else:
        watch.warning_at = None
    watch.next_change_at = next_change(watch)


def thresholds(watch: DeadlineWatch) -> list[tuple[str, datetime]]:
    """The moments each state begins (after the moment itself has passed), in order of gravity."""
    if watch.kind == WatchKind.ACCEPTANCE:
        return [(Card.YELLOW, watch.promised_due)]
    if watch.kind == WatchKind.SUPPLEMENT:
        return [(Card.YELLOW, watch.promised_due)]  # passed with materials missing: the case ends (容缺)
    out = []
    if watch.warning_at is not None:
        out.append((Card.WARNING, watch.warning_at))
    out.append((Card.YELLOW, watch.promised_due))
    if watch.legal_due is not None:
        out.append((Card.RED, watch.legal_due))
    return out


def state_at(watch: DeadlineWatch, moment: datetime) -> str:
    state = Card.NORMAL
    for name, at in thresholds(watch):
        if moment > at:
            state = name
    return state


def next_change(watch: DeadlineWatch) -> datetime | None:
    """When the watch reaches a graver state than it has now (None when paused, stopped or red)."""
    if not watch.active or watch.paused_since is not None:
        return None
    rank = Card.ORDER.index(watch.state)
    ahead = [at for name, at in thresholds(watch) if Card.ORDER.index(name) > rank]
    return min(ahead) if ahead else None


def pause(ctx, watch: DeadlineWatch, reason: str) -> None:
    if watch.active and watch.paused_since is None:
        watch.paused_since, watch.pause_reason = ctx.now, reason
        watch.next_change_at = None


def resume(ctx, watch: DeadlineWatch) -> None:
    if watch.paused_since is None:
        return
    cal = working_calendar(ctx)
    watch.paused_days += cal.working_days_between_moments(watch.paused_since, ctx.now)
    watch.paused_since, watch.pause_reason = None, None
    reschedule(ctx, watch)


def reschedule(ctx, watch: DeadlineWatch) -> None:
    """Recompute deadlines; a watch whose deadlines moved out (an extension) may fall back to a lighter state."""
    schedule(working_calendar(ctx), watch)
    now_state = state_at(watch, ctx.now)
    if Card.ORDER.index(now_state) < Card.ORDER.index(watch.state):
        watch.state = now_state
    watch.next_change_at = next_change(watch)


def stop(ctx, watch: DeadlineWatch) -> None:
    if watch.active:
        if watch.paused_since is not None:
            resume(ctx, watch)
        watch.active, watch.stopped_at, watch.next_change_at = False, ctx.now, None


# --- the step's card (human_task.card) --------------------------------------------

_WT, _HT = DeadlineWatch.__table__, HumanTask.__table__


def card_rank(state):
    """SQL: a watch state as its place in ``Card.ORDER`` (normal 0 ... red 3)."""
    return case(*((state == name, index) for index, name in enumerate(Card.ORDER) if index), else_=0)


def case_card(instance_id):
    """SQL: the card of the running case clock of the case of ``instance_id`` (0 without one)."""
    return func.coalesce(select(func.max(card_rank(_WT.c.state))).where(
        _WT.c.instance_id == instance_id, _WT.c.kind == WatchKind.CASE, _WT.c.active == true()).scalar_subquery(), 0)


def step_card(dialect: str, task_id, instance_id):
    """SQL: a step's card, the graver of its own running clock and its case's running case clock."""
    own = func.coalesce(select(func.max(card_rank(_WT.c.state))).where(
        _WT.c.task_id == task_id, _WT.c.active == true()).scalar_subquery(), 0)
    from .lists import _greatest

    return _greatest(dialect, own, case_card(instance_id))


@functools.cache
def _refresh_cards(dialect: str, every: bool = False):
    where = [_HT.c.status == TaskStatus.OPEN]
    if not every:
        where.append(_HT.c.instance_id.in_(bindparam("instances", expanding=True)))
    return _HT.update().where(*where).values(card=step_card(dialect, _HT.c.id, _HT.c.instance_id))


def refresh_cards(connection, instance_ids: Iterable[int] | None = None) -> None:
    """Write the card of the open steps of ``instance_ids`` (None: of every open step, for rows loaded in
    bulk) from their clocks as they are now."""
    if instance_ids is None:
        connection.execute(_refresh_cards(connection.dialect.name, every=True))
        return
    ids = sorted(set(instance_ids) - {None})
    for start in range(0, len(ids), 1000):
        connection.execute(_refresh_cards(connection.dialect.name), {"instances": ids[start:start + 1000]})


def _card_part(watch: DeadlineWatch, before: bool) -> int:
    """What ``watch`` adds to its steps' cards (before or after the flush): its state's rank while it runs, for
    a step's own clock or a case clock; nothing for the other clocks (acceptance, supplement, licence)."""
    if watch.kind != WatchKind.CASE and watch.task_id is None:
        return 0
    attrs = inspect(watch).attrs

    def value(name):
        history = attrs[name].history
        if before:
            return (history.deleted or history.unchanged or [None])[0] if history.has_changes() else \
                getattr(watch, name)
        return getattr(watch, name)
    return Card.ORDER.index(value("state")) if value("active") and value("state") in Card.ORDER else 0


def cards_follow_clocks(session, _flush_context) -> None:
    """After a flush (the session's ``after_flush``): the open steps of every instance one of whose clocks
    changed what it adds to a card (a step's or case clock started past normal, passed into a graver state,
    stopped or went away while past normal) get their card written again, in the same transaction.

    Every change of a clock goes through the ORM (``DeadlineWatch`` rows), so this one listener keeps
    ``human_task.card`` true however the clock changed: the case's lifecycle, the sweep, a pause, an
    extension, a recomputed calendar. A step opening takes its case clock's card when it is inserted
    (``engine.runtime``); a clock starting normal, as clocks do, changes no card and costs no statement.
    """
    touched: set[int] = set()
    for obj in session.new:
        if isinstance(obj, DeadlineWatch) and _card_part(obj, before=False):
            touched.add(obj.instance_id)
    for obj in session.dirty:
        if isinstance(obj, DeadlineWatch) and _card_part(obj, before=True) != _card_part(obj, before=False):
            touched.add(obj.instance_id)
    for obj in session.deleted:
        if isinstance(obj, DeadlineWatch) and _card_part(obj, before=True):
            touched.add(obj.instance_id)
    if touched - {None}:
        refresh_cards(session.connection(), touched)


# --- following the case -----------------------------------------------------------

def new_watch(**fields) -> DeadlineWatch:
    """A watch with every counter set (column defaults only apply at flush, too late for ``schedule``)."""
    defaults = {"paused_days": 0, "extension_days": 0, "state": Card.NORMAL, "active": True, "escalation": [],
                "card_mode": "auto"}
    return DeadlineWatch(**{**defaults, **fields})


def follow(ctx, case: ApprovalCase, open_steps: list[HumanTask] | None = None) -> None:
    """Open, pause, resume, move or stop the case's watches to match its status and open steps.

    ``open_steps``: the instance's open step rows when the caller has just read them (else read here).
    """
    watches = list(ctx.session.scalars(select(DeadlineWatch).where(DeadlineWatch.case_id == case.id)))
    by_kind: dict[str, list[DeadlineWatch]] = {}
    for w in watches:
        by_kind.setdefault(w.kind, []).append(w)
    _follow_acceptance(ctx, case, by_kind.get(WatchKind.ACCEPTANCE, []))
    _follow_case(ctx, case, by_kind.get(WatchKind.CASE, []))
    _follow_steps(ctx, case, by_kind.get(WatchKind.STEP, []), open_steps)
    _follow_supplement(ctx, case, by_kind.get(WatchKind.SUPPLEMENT, []))


def start_supplement(ctx, case: ApprovalCase, days: int) -> DeadlineWatch:
    """容缺受理: the missing materials are due ``days`` working days from now; the watch keeps that date."""
    watch = new_watch(kind=WatchKind.SUPPLEMENT, case_id=case.id, instance_id=case.instance_id,
                      department=case.office_code, item_code=case.item_code, started_at=ctx.now,
                      promised_days=days, legal_days=None, warning_days=0)
    schedule(working_calendar(ctx), watch)
    ctx.session.add(watch)
    return watch


def _follow_supplement(ctx, case, watches) -> None:
    active = [w for w in watches if w.active]
    if not active:
        return
    from .models import CaseMaterial

    missing = ctx.session.scalars(select(CaseMaterial.id).where(
        CaseMaterial.case_id == case.id, CaseMaterial.required.is_(True),
        CaseMaterial.status != "received").limit(1)).first()
    if case.status in CaseStatus.FINAL or missing is None:
        for w in active:
            stop(ctx, w)


def _item(ctx, case: ApprovalCase) -> ServiceItem | None:
    return ctx.session.get(ServiceItem, case.item_code)


def _follow_acceptance(ctx, case, watches) -> None:
    active = [w for w in watches if w.active]
    waiting = case.status == CaseStatus.SUBMITTED and case.accepted_at is None
    if waiting and not active:
        # Receipt of the application, or of the corrected one after a correction notice.
        watch = new_watch(kind=WatchKind.ACCEPTANCE, case_id=case.id, instance_id=case.instance_id,
                              department=case.office_code, item_code=case.item_code, started_at=ctx.now,
                              promised_days=ACCEPTANCE_DAYS, legal_days=None, warning_days=0,
                              state=Card.NORMAL, active=True, escalation=[], card_mode="auto")
        schedule(working_calendar(ctx), watch)
        ctx.session.add(watch)
    elif not waiting:
        for w in active:
            stop(ctx, w)


def _follow_case(ctx, case, watches) -> None:
    if case.accepted_at is None:
        return
    if not watches:
        if case.status in CaseStatus.FINAL:
            return
        item = _item(ctx, case)
        if item is None:
            return
        watch = new_watch(
            kind=WatchKind.CASE, case_id=case.id, instance_id=case.instance_id, department=case.office_code,
            item_code=case.item_code, started_at=case.accepted_at, promised_days=item.promised_limit_days,
            legal_days=item.legal_limit_days, extension_days=case.extension_days or 0,
            warning_days=item.warning_days if item.warning_days is not None else default_warning_days(),
            state=Card.NORMAL, active=True, escalation=[], card_mode=item.card_mode or "auto")
        schedule(working_calendar(ctx), watch)
        ctx.session.add(watch)
        watches = [watch]
    for watch in watches:
        if not watch.active:
            continue
        if case.status in DECIDED:
            stop(ctx, watch)
            continue
        if watch.extension_days != (case.extension_days or 0):
            watch.extension_days = case.extension_days or 0
            reschedule(ctx, watch)
        reason = PAUSING.get(case.status)
        if reason:
            pause(ctx, watch, reason)
        elif watch.paused_since is not None:
            resume(ctx, watch)


def _follow_steps(ctx, case, watches, open_steps=None) -> None:
    if open_steps is None:
        open_steps = ctx.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == case.instance_id, HumanTask.status == TaskStatus.OPEN))
    open_rows = {r.id: r for r in open_steps}
    known = {w.task_id: w for w in watches}
    paused_reason = PAUSING.get(case.status)
    for watch in watches:
        if not watch.active:
            continue
        if watch.task_id not in open_rows or case.status in CaseStatus.FINAL:
            stop(ctx, watch)
        elif paused_reason:
            pause(ctx, watch, paused_reason)
        elif watch.paused_since is not None:
            resume(ctx, watch)
    if case.status in CaseStatus.FINAL:
        return
    meta = None
    for row in open_rows.values():
        if row.id in known:
            continue
        if meta is None:
            meta = _element_meta(ctx.session, case.instance_id)
        props = (meta.get(row.element_id) or {}).get("properties") or {}
        limit = _limit_days(ctx, case, props.get(LIMIT_PROPERTY), row.element_id)
        if limit is None:
            continue
        watch = new_watch(
            kind=WatchKind.STEP, case_id=case.id, instance_id=case.instance_id, task_id=row.id,
            element_id=row.element_id, department=step_department(ctx, case, row), item_code=case.item_code,
            started_at=row.created_at, promised_days=int(limit), legal_days=None,
            warning_days=int(props.get(WARNING_PROPERTY, 1 if int(limit) > 1 else 0)),
            state=Card.NORMAL, active=True, escalation=parse_escalation(props.get(ESCALATION_PROPERTY)),
            card_mode=(_item(ctx, case).card_mode if _item(ctx, case) else "auto"))
        schedule(working_calendar(ctx), watch)
        if row.due is None or row.due > watch.promised_due:
            row.due = watch.promised_due
        ctx.session.add(watch)
        if paused_reason:
            pause(ctx, watch, paused_reason)


def _limit_days(ctx, case: ApprovalCase, raw: Any, element_id: str) -> int | None:
    """``yimen.limitDays``: a whole number of working days, or an expression over the case data."""
    if raw in (None, ""):
        return None
    from . import expressions
    from .errors import ValidationError
    from .models import ProcessInstance

    value = raw
    if isinstance(raw, str) and ("${" in raw or "#{" in raw):
        value = expressions.evaluate(raw, ctx.session.get(ProcessInstance, case.instance_id).data or {})
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = -1
    if days < 0:
        raise ValidationError(f"{LIMIT_PROPERTY} of step '{element_id}' gave '{value}', not a number of working days")
    return days


def _element_meta(session, instance_id: int) -> dict:
    """The case's process elements' metadata, from the parsed-definition cache (a definition never changes)."""
    from . import definitions
    from .models import ProcessInstance

    instance = session.get(ProcessInstance, instance_id)
    return definitions.load(session, instance.definition_id).meta or {}


def parse_escalation(raw: Any) -> list[str]:
    if not raw:
        return []
    actions = [a.strip() for a in str(raw).split(",") if a.strip()]
    unknown = [a for a in actions if a not in ESCALATIONS]
    if unknown:
        from .errors import ValidationError

        raise ValidationError(f"unknown escalation actions {unknown}; use {', '.join(ESCALATIONS)}")
    return actions


def step_department(ctx, case: ApprovalCase, row: HumanTask) -> str | None:
    """A step reviewed by a department group (并联审批) belongs to that department, else to the case's office
    (``engine.inbox.task_department``, kept on the step)."""
    return row.department or case.office_code


# --- reading ----------------------------------------------------------------------

def watch_dict(w: DeadlineWatch, official: frozenset[int] | None = None) -> dict[str, Any]:
    """A watch for pages and the API; ``provisional`` marks deadlines counted through a provisional year."""
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    marks: dict[str, bool] = {}
    if official is not None:
        from .calendar import is_provisional

        marks = {f"{name}_provisional": is_provisional(official, at, w.started_at) if at is not None else False
                 for name, at in (("warning_at", w.warning_at), ("promised_due", w.promised_due),
                                  ("legal_due", w.legal_due))}
    return {"provisional": any(marks.values()) if official is not None else None, **marks, "id": w.id, "kind": w.kind, "case": w.case_id, "instance": w.instance_id, "task": w.task_id,
            "element_id": w.element_id, "department": w.department, "item": w.item_code, "state": w.state,
            "active": w.active, "started": iso(w.started_at), "promised_days": w.promised_days,
            "legal_days": w.legal_days, "extension_days": w.extension_days, "paused_days": w.paused_days,
            "paused": w.paused_since is not None, "pause_reason": w.pause_reason, "warning_at": iso(w.warning_at),
            "promised_due": iso(w.promised_due), "legal_due": iso(w.legal_due), "stopped": iso(w.stopped_at),
            "escalation": list(w.escalation or [])}


def clock_of_case(session, case_id: int) -> dict[str, Any] | None:
    """The case's clock for pages and the API: its state (the card), deadlines, pauses and steps."""
    from .calendar import official_years

    rows = list(session.scalars(select(DeadlineWatch).where(DeadlineWatch.case_id == case_id)
                                .order_by(DeadlineWatch.id)))
    case_watch = next((w for w in rows if w.kind == WatchKind.CASE), None)
    acceptance = next((w for w in rows if w.kind == WatchKind.ACCEPTANCE and w.active), None)
    supplement = next((w for w in rows if w.kind == WatchKind.SUPPLEMENT and w.active), None)
    if not rows:
        return None
    official = official_years(session)
    out: dict[str, Any] = {"card": case_watch.state if case_watch else Card.NORMAL,
                           "case": watch_dict(case_watch, official) if case_watch else None,
                           "acceptance_due": acceptance.promised_due.isoformat() if acceptance else None,
                           "acceptance_due_provisional": (watch_dict(acceptance, official)["provisional"]
                                                          if acceptance else None),
                           "supplement": watch_dict(supplement, official) if supplement else None,
                           "steps": [watch_dict(w, official) for w in rows if w.kind == WatchKind.STEP]}
    out["provisional"] = any(x and x.get("provisional") for x in [out["case"], out["supplement"], *out["steps"]]) \
        or bool(out["acceptance_due_provisional"])
    return out
