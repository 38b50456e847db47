"""Delivery verbs (统一出件): the applicant chooses pickup or post; the window dispatches; delivered; received."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..cases import issue_notice, load_case
from ..context import Ctx, command
from ..delivery import METHODS, delivery_of_case
from ..errors import InvalidState, PermissionDenied, ValidationError
from ..models import Decision, Delivery, Licence
from ..models.documents import DeliveryStatus, LicenceStatus
from ..validation import phone_problem
from .licences import may_act_for_window

MAX_TEXT = 500


def _applicant_or_window(ctx: Ctx, case) -> None:
    if ctx.actor.is_admin or ctx.actor.id in (case.applicant_user, case.agent_user) or "window" in ctx.groups():
        return
    raise PermissionDenied(f"user '{ctx.actor.id}' is neither the applicant, her agent nor window staff",
                           refusal="not_applicant", case_id=case.id)


def _row(ctx: Ctx, case_id: int) -> Delivery | None:
    return ctx.session.scalars(select(Delivery).where(Delivery.case_id == case_id)).first()


def _text(value: str | None, field: str) -> str | None:
    value = (value or "").strip() or None
    if value is not None and len(value) > MAX_TEXT:
        raise ValidationError(f"'{field}' is at most {MAX_TEXT} characters", field=field, refusal="too_long",
                              limit=MAX_TEXT)
    return value


@command("delivery.choose")
def choose(ctx: Ctx, case_id: int, method: str, address: str | None = None, recipient: str | None = None,
           phone: str | None = None) -> dict[str, Any]:
    """How she wants the result: at the window (pickup) or by post to an address; changeable until dispatch."""
    case = load_case(ctx.session, case_id)
    _applicant_or_window(ctx, case)
    if method not in METHODS:
        raise ValidationError(f"method is one of {', '.join(METHODS)}", field="method", refusal="not_a_choice")
    address, recipient, phone = _text(address, "address"), _text(recipient, "recipient"), _text(phone, "phone")
    if method == "post":
        problems = []
        if not address:
            problems.append({"field": "address", "refusal": "required"})
        if not phone:
            problems.append({"field": "phone", "refusal": "required"})
        elif phone_problem(phone):
            problems.append({"field": "phone", "refusal": "phone_format"})
        if problems:
            raise ValidationError("post needs an address and a phone number for the courier",
                                  refusal="application_invalid", problems=problems)
    row = _row(ctx, case.id)
    if row is not None and row.status != DeliveryStatus.CHOSEN:
        raise InvalidState(f"the result of case {case.number} is already {row.status}", refusal="wrong_status",
                           status=row.status, case_id=case.id)
    if row is None:
        row = Delivery(case_id=case.id, method=method, status=DeliveryStatus.CHOSEN, chosen_at=ctx.now)
        ctx.session.add(row)
    row.method, row.chosen_at = method, ctx.now
    row.address = address if method == "post" else None
    row.recipient = recipient or (case.applicant_name if method == "post" else None)
    row.phone = phone
    ctx.session.flush()
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"case": case.number, "method": method}
    return delivery_of_case(ctx.session, case.id)


@command("delivery.dispatch")
def dispatch(ctx: Ctx, case_id: int, tracking_no: str | None = None, carrier: str | None = None) -> dict[str, Any]:
    """出件: post the decision (and licence) with a tracking number, or put it ready for pickup at the window."""
    may_act_for_window(ctx, "dispatch results", case_id)
    case = load_case(ctx.session, case_id)
    from ..bundles import refuse_member_verb

    refuse_member_verb(ctx.session, case, "dispatch its result")  # 一件事: the results leave together (统一出件)
    decision = ctx.session.scalars(select(Decision).where(Decision.case_id == case.id)).first()
    if decision is None:
        raise InvalidState(f"case {case.number} has no decision to deliver yet", refusal="no_decision",
                           case_id=case.id)
    licence = ctx.session.scalars(select(Licence).where(Licence.case_id == case.id)).first()
    if licence is not None and licence.status == LicenceStatus.PENDING:
        raise InvalidState(f"issue the licence of case {case.number} first: the decision and the licence leave "
                           "together (统一出件)", refusal="licence_pending", case_id=case.id)
    row = _row(ctx, case.id)
    if row is None:  # a walk-in applicant who chose nothing collects it at the window
        row = Delivery(case_id=case.id, method="pickup", status=DeliveryStatus.CHOSEN, chosen_at=ctx.now)
        ctx.session.add(row)
    if row.status != DeliveryStatus.CHOSEN:
        raise InvalidState(f"the result of case {case.number} is already {row.status}", refusal="wrong_status",
                           status=row.status, case_id=case.id)
    tracking_no, carrier = _text(tracking_no, "tracking_no"), _text(carrier, "carrier")
    if row.method == "post":
        if not tracking_no:
            raise ValidationError("a posted result needs its tracking number", field="tracking_no",
                                  refusal="required")
        row.status, row.tracking_no, row.carrier = DeliveryStatus.DISPATCHED, tracking_no, carrier
        content = {"method": "post", "tracking_no": tracking_no, "carrier": carrier, "address": row.address}
    else:
        row.status = DeliveryStatus.READY
        content = {"method": "pickup", "office": decision.office}
    row.dispatched_at, row.dispatched_by = ctx.now, ctx.actor.id
    notice = issue_notice(ctx, case, "dispatched", content)
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"case": case.number, "method": row.method, "tracking_no": row.tracking_no,
                      "notice": notice.number}
    return delivery_of_case(ctx.session, case.id)


@command("delivery.delivered")
def delivered(ctx: Ctx, case_id: int) -> dict[str, Any]:
    """The courier reports it delivered, or the window handed it over."""
    may_act_for_window(ctx, "confirm deliveries", case_id)
    case = load_case(ctx.session, case_id)
    row = _row(ctx, case.id)
    if row is None or row.status not in (DeliveryStatus.DISPATCHED, DeliveryStatus.READY):
        raise InvalidState(f"the result of case {case.number} has not been dispatched", refusal="wrong_status",
                           status=row.status if row else None, case_id=case.id)
    row.status, row.delivered_at = DeliveryStatus.DELIVERED, ctx.now
    notice = issue_notice(ctx, case, "delivered", {"method": row.method, "tracking_no": row.tracking_no})
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"case": case.number, "notice": notice.number}
    return delivery_of_case(ctx.session, case.id)


@command("delivery.received")
def received(ctx: Ctx, case_id: int) -> dict[str, Any]:
    """She confirms she has the result (签收)."""
    case = load_case(ctx.session, case_id)
    if not ctx.actor.is_admin and ctx.actor.id not in (case.applicant_user, case.agent_user):
        raise PermissionDenied(f"user '{ctx.actor.id}' is neither the applicant nor her agent",
                               refusal="not_applicant", case_id=case.id)
    row = _row(ctx, case.id)
    if row is None or row.status not in (DeliveryStatus.DISPATCHED, DeliveryStatus.READY, DeliveryStatus.DELIVERED):
        raise InvalidState(f"the result of case {case.number} is not on its way", refusal="wrong_status",
                           status=row.status if row else None, case_id=case.id)
    row.status, row.received_at = DeliveryStatus.RECEIVED, ctx.now
    row.delivered_at = row.delivered_at or ctx.now
    notice = issue_notice(ctx, case, "received", {"method": row.method})
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"case": case.number, "notice": notice.number}
    return delivery_of_case(ctx.session, case.id)
