"""Supervision verbs: special procedures (特别程序), card confirmation and appeals, supervision orders (督办).

Supervisors are administrators, members of the ``supervisor`` group or users
with the supervisor role. A department appeals its own cards; a supervisor
decides. Each verb is one command with its audit event.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from .. import case_clock
from ..assignment import may_work_on
from ..cases import LOCAL, issue_notice, load_case
from ..context import Ctx, command
from ..errors import InvalidState, NotFound, PermissionDenied, ValidationError
from ..items import PROCEDURE_KINDS
from ..models import ApprovalCase, HumanTask, ProcessInstance, TaskStatus, User
from ..models.cases import CaseStatus
from ..models.supervision import CardStatus, IssuedCard, SpecialProcedure, SupervisionOrder
from ..notify import notify_user
from .deadlines import SUPERVISOR_GROUP, department_staff

MAX_PROCEDURE_DAYS = 365


def is_supervisor(ctx: Ctx) -> bool:
    if ctx.actor.is_admin or SUPERVISOR_GROUP in ctx.groups():
        return True
    user = ctx.session.get(User, ctx.actor.id)
    return bool(user and "supervisor" in (user.roles or []))


def _supervisor_only(ctx: Ctx, what: str) -> None:
    if not is_supervisor(ctx):
        raise PermissionDenied(f"user '{ctx.actor.id}' is not a supervisor and may not {what}")


def _department_of(ctx: Ctx) -> str | None:
    user = ctx.session.get(User, ctx.actor.id)
    return user.department_id if user else None


def _handles_case(ctx: Ctx, case: ApprovalCase) -> bool:
    rows = ctx.session.scalars(select(HumanTask).where(HumanTask.instance_id == case.instance_id,
                                                       HumanTask.status == TaskStatus.OPEN))
    return any(may_work_on(ctx.actor, ctx.groups(), r.assignee, r.candidate_users, r.candidate_groups) for r in rows)


# --- special procedures (特别程序) --------------------------------------------------

@command("case.special_procedure.start")
def start_special_procedure(ctx: Ctx, case_id: int, kind: str, reason: str, expected_days: int) -> dict:
    """Hearing, testing, appraisal... The applicant is told the expected duration; the clock pauses."""
    if kind not in PROCEDURE_KINDS:
        raise ValidationError(f"kind must be one of {', '.join(PROCEDURE_KINDS)}, not '{kind}'")
    if not reason or not str(reason).strip():
        raise ValidationError("a special procedure needs the reason", refusal="required", field="reason")
    if isinstance(expected_days, bool) or not isinstance(expected_days, int) or not 1 <= expected_days <= MAX_PROCEDURE_DAYS:
        raise ValidationError(f"expected_days must be 1-{MAX_PROCEDURE_DAYS} working days", refusal="one_of",
                              field="expected_days", limit=MAX_PROCEDURE_DAYS)
    case = load_case(ctx.session, case_id)
    if not _handles_case(ctx, case):
        raise PermissionDenied(f"user '{ctx.actor.id}' does not handle case {case.number}", refusal="not_handling")
    if case.accepted_at is None or case.status in case_clock.DECIDED:
        raise InvalidState(f"case {case.number} is {case.status}; special procedures run between acceptance "
                           "and decision")
    if case.status == CaseStatus.SPECIAL_PROCEDURE:
        raise InvalidState(f"case {case.number} is already in a special procedure; end it first",
                           refusal="special_procedure_running")
    procedure = SpecialProcedure(case_id=case.id, kind=kind, reason=reason, expected_days=expected_days,
                                 started_at=ctx.now, started_by=ctx.actor.id)
    ctx.session.add(procedure)
    case.status = CaseStatus.SPECIAL_PROCEDURE
    case_clock.follow(ctx, case)
    notice = issue_notice(ctx, case, "special_procedure", {
        "kind": kind, "reason": reason, "expected_working_days": expected_days,
        "note": "特别程序所需时间不计算在办理期限内"})
    ctx.session.flush()
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"case": case.number, "procedure": procedure.id, "kind": kind, "expected_days": expected_days}
    return {"case": case.id, "procedure": procedure.id, "status": case.status, "notice": notice.number}


@command("case.special_procedure.end")
def end_special_procedure(ctx: Ctx, case_id: int, result: str) -> dict:
    if not result or not str(result).strip():
        raise ValidationError("ending a special procedure needs its result", refusal="required", field="result")
    case = load_case(ctx.session, case_id)
    procedure = ctx.session.scalars(select(SpecialProcedure).where(
        SpecialProcedure.case_id == case.id, SpecialProcedure.ended_at.is_(None))).first()
    if procedure is None or case.status != CaseStatus.SPECIAL_PROCEDURE:
        raise InvalidState(f"case {case.number} is not in a special procedure")
    if not _handles_case(ctx, case):
        raise PermissionDenied(f"user '{ctx.actor.id}' does not handle case {case.number}", refusal="not_handling")
    procedure.ended_at, procedure.ended_by, procedure.result = ctx.now, ctx.actor.id, result
    case.status = CaseStatus.UNDER_REVIEW
    case_clock.follow(ctx, case)
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"case": case.number, "procedure": procedure.id, "result": result}
    return {"case": case.id, "procedure": procedure.id, "status": case.status}


# --- cards --------------------------------------------------------------------------

def _card(ctx: Ctx, card_id: int) -> IssuedCard:
    card = ctx.session.get(IssuedCard, card_id)
    if card is None:
        raise NotFound(f"card {card_id} does not exist", card_id=card_id, what="card")
    _on_the_case_trail(ctx, card.case_id)
    return card


def _on_the_case_trail(ctx: Ctx, case_id: int | None) -> None:
    """Card and order events about a case belong to the case's audit trail (read by its instance)."""
    case = ctx.session.get(ApprovalCase, case_id) if case_id is not None else None
    if case is not None:
        ctx.audit.instance_id = case.instance_id


@command("card.confirm")
def confirm_card(ctx: Ctx, card_id: int, confirm: bool, note: str | None = None) -> dict:
    """A held card (item configured for confirmation) is issued or dropped by a supervisor."""
    _supervisor_only(ctx, "confirm cards")
    card = _card(ctx, card_id)
    if card.status != CardStatus.PENDING:
        raise InvalidState(f"card {card_id} is {card.status}, not waiting for confirmation")
    card.status = CardStatus.ISSUED if confirm else CardStatus.WITHDRAWN
    card.confirmed_by, card.decision_note = ctx.actor.id, note
    if confirm:
        from .deadlines import card_params, tell_card_issued

        tell_card_issued(ctx, card, card_params(ctx, card))
    ctx.audit.data = {"card": card.id, "confirmed": confirm, "note": note}
    return {"card": card.id, "status": card.status}


@command("card.appeal")
def appeal_card(ctx: Ctx, card_id: int, reason: str) -> dict:
    """The carded department disputes the card (申诉) with its reason."""
    if not reason or not str(reason).strip():
        raise ValidationError("an appeal needs the reason", refusal="required", field="reason")
    card = _card(ctx, card_id)
    if not ctx.actor.is_admin and _department_of(ctx) != card.department:
        raise PermissionDenied(f"only department {card.department} may appeal card {card_id}")
    if card.status != CardStatus.ISSUED:
        raise InvalidState(f"card {card_id} is {card.status}; only an issued card can be appealed, once")
    card.status, card.appeal_reason, card.appealed_by, card.appealed_at = (
        CardStatus.APPEALED, reason, ctx.actor.id, ctx.now)
    from .deadlines import supervisors

    for user in supervisors(ctx.session):
        notify_user(ctx, user, f"红黄牌申诉：第 {card.id} 号", reason, {"card": card.id}, kind="card_appeal",
                    params={"card": card.id, "reason": reason})
    ctx.audit.data = {"card": card.id, "reason": reason}
    return {"card": card.id, "status": card.status}


@command("card.decide_appeal")
def decide_appeal(ctx: Ctx, card_id: int, granted: bool, note: str) -> dict:
    _supervisor_only(ctx, "decide card appeals")
    if not note or not str(note).strip():
        raise ValidationError("a decision on an appeal needs a note", refusal="required", field="note")
    card = _card(ctx, card_id)
    if card.status != CardStatus.APPEALED:
        raise InvalidState(f"card {card_id} is {card.status}, not appealed")
    card.status = CardStatus.WITHDRAWN if granted else CardStatus.UPHELD
    card.decided_by, card.decided_at, card.decision_note = ctx.actor.id, ctx.now, note
    if card.appealed_by:
        notify_user(ctx, card.appealed_by, f"申诉结果：第 {card.id} 号红黄牌申诉{'成立，已撤销' if granted else '不成立，维持'}",
                    note, {"card": card.id}, kind="card_appeal_decided",
                    params={"card": card.id, "granted": bool(granted), "note": note})
    ctx.audit.data = {"card": card.id, "granted": granted, "note": note}
    return {"card": card.id, "status": card.status}


# --- supervision orders (督办) --------------------------------------------------------

@command("supervision.order")
def issue_order(ctx: Ctx, content: str, deadline_days: int, case_id: int | None = None,
                department: str | None = None, assignee: str | None = None) -> dict:
    """督办: tell a department or a person what to do, by a deadline in working days."""
    _supervisor_only(ctx, "issue supervision orders")
    if not content or not str(content).strip():
        raise ValidationError("a supervision order needs its content", refusal="required", field="content")
    if not department and not assignee:
        raise ValidationError("a supervision order goes to a department or a person", refusal="required",
                              field="addressee")
    if isinstance(deadline_days, bool) or not isinstance(deadline_days, int) or not 0 <= deadline_days <= 60:
        raise ValidationError("deadline_days must be 0-60 working days", refusal="one_of", field="deadline_days",
                              limit=60)
    from ..models import Department

    if department and ctx.session.get(Department, department) is None:
        raise ValidationError(f"department '{department}' does not exist")
    if assignee and ctx.session.get(User, assignee) is None:
        raise ValidationError(f"user '{assignee}' does not exist")
    case = load_case(ctx.session, case_id) if case_id is not None else None
    deadline = case_clock.working_calendar(ctx).deadline(ctx.now, deadline_days)
    order = SupervisionOrder(case_id=case.id if case else None, department=department, assignee=assignee,
                             content=content, deadline=deadline, status="open", issued_by=ctx.actor.id,
                             issued_at=ctx.now)
    ctx.session.add(order)
    ctx.session.flush()
    people = [assignee] if assignee else department_staff(ctx.session, department)
    due = f"{deadline.astimezone(LOCAL):%Y-%m-%d}"
    for user in people:
        notify_user(ctx, user, f"督办：第 {order.id} 号督办单", f"{content}（请于 {due} 前办理）", {"order": order.id},
                    instance_id=case.instance_id if case else None, kind="order",
                    params={"order": order.id, "content": content, "deadline": due,
                            "case_number": case.number if case else None})
    if case is not None:  # the people holding the case's open steps hear of it too (督办 urges the case)
        from .notices import tell_urged

        instance = ctx.session.get(ProcessInstance, case.instance_id)
        if instance is not None and instance.status == "running":
            people = people + tell_urged(ctx, instance, f"督办：{content}（请于 {due} 前办理）", skip=tuple(people),
                                         extra={"order": order.id})
    ctx.audit.instance_id = case.instance_id if case else None
    ctx.audit.data = {"order": order.id, "department": department, "assignee": assignee, "content": content,
                      "deadline": deadline.isoformat()}
    return {"order": order.id, "deadline": deadline.isoformat(), "notified": people}


def _order(ctx: Ctx, order_id: int) -> SupervisionOrder:
    order = ctx.session.get(SupervisionOrder, order_id)
    if order is None:
        raise NotFound(f"supervision order {order_id} does not exist", order_id=order_id, what="order")
    _on_the_case_trail(ctx, order.case_id)
    return order


@command("supervision.answer")
def answer_order(ctx: Ctx, order_id: int, reply: str) -> dict:
    if not reply or not str(reply).strip():
        raise ValidationError("an answer needs its text", refusal="required", field="reply")
    order = _order(ctx, order_id)
    addressed = ctx.actor.id == order.assignee or (order.department and _department_of(ctx) == order.department)
    if not (addressed or ctx.actor.is_admin):
        raise PermissionDenied(f"supervision order {order_id} is not addressed to '{ctx.actor.id}'")
    if order.status == "closed":
        raise InvalidState(f"supervision order {order_id} is closed")
    order.status, order.reply, order.replied_by, order.replied_at = "answered", reply, ctx.actor.id, ctx.now
    notify_user(ctx, order.issued_by, f"督办回复：第 {order.id} 号督办单", reply, {"order": order.id},
                kind="order_answered", params={"order": order.id, "reply": reply})
    ctx.audit.data = {"order": order.id, "reply": reply}
    return {"order": order.id, "status": order.status}


@command("supervision.close")
def close_order(ctx: Ctx, order_id: int) -> dict:
    _supervisor_only(ctx, "close supervision orders")
    order = _order(ctx, order_id)
    if order.status == "closed":
        raise InvalidState(f"supervision order {order_id} is already closed")
    order.status = "closed"
    ctx.audit.data = {"order": order.id}
    return {"order": order.id, "status": order.status}


# --- reads --------------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def card_dict(card: IssuedCard) -> dict[str, Any]:
    return {"id": card.id, "case": card.case_id, "task": card.task_id, "color": card.color, "status": card.status,
            "department": card.department, "reason": card.reason, "issued_at": _iso(card.issued_at),
            "appeal_reason": card.appeal_reason, "appealed_by": card.appealed_by,
            "decided_by": card.decided_by, "decision_note": card.decision_note}


def order_dict(order: SupervisionOrder) -> dict[str, Any]:
    """An order for pages and the API; ``overdue`` when it is still open past its deadline (逾期)."""
    from .. import clock

    return {"id": order.id, "case": order.case_id, "department": order.department, "assignee": order.assignee,
            "content": order.content, "deadline": _iso(order.deadline), "status": order.status,
            "overdue": order.status == "open" and order.deadline < clock.now(),
            "issued_by": order.issued_by, "issued_at": _iso(order.issued_at), "reply": order.reply,
            "replied_by": order.replied_by, "replied_at": _iso(order.replied_at)}


def procedure_dict(p: SpecialProcedure) -> dict[str, Any]:
    return {"id": p.id, "kind": p.kind, "reason": p.reason, "expected_days": p.expected_days,
            "started_at": _iso(p.started_at), "ended_at": _iso(p.ended_at), "result": p.result}

