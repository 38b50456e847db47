"""Rectification verbs (整改): the department replies, the supervisor closes it after the return visit (回访)."""
from __future__ import annotations

from sqlalchemy import select

from .. import case_clock, rectification
from ..cases import tell_applicant
from ..context import Ctx, command
from ..errors import InvalidState, NotFound, PermissionDenied, ValidationError
from ..models import ApprovalCase, User
from ..models.deadlines import DeadlineWatch
from ..models.reform import Rectification, RectificationStatus
from .supervision import is_supervisor

MAX_TEXT = 4000


def _text(value: str | None, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(f"'{field}' is required", field=field, refusal="required")
    if len(value) > MAX_TEXT:
        raise ValidationError(f"'{field}' is at most {MAX_TEXT} characters", field=field)
    return value


def _load(ctx: Ctx, rectification_id: int) -> Rectification:
    row = ctx.session.scalars(select(Rectification).where(Rectification.id == rectification_id)
                              .with_for_update()).first()
    if row is None:
        raise NotFound(f"rectification {rectification_id} does not exist", what="rectification")
    return row


@command("rectification.reply")
def reply(ctx: Ctx, rectification_id: int, reply: str) -> dict:
    """The responsible department verified, rectified or explained; the reply goes to the applicant."""
    text = _text(reply, "reply")
    row = _load(ctx, rectification_id)
    user = ctx.session.get(User, ctx.actor.id)
    if not ctx.actor.is_admin and (user is None or user.department_id != row.department):
        raise PermissionDenied(f"rectification {row.id} belongs to department {row.department}, not to yours")
    if row.status != RectificationStatus.OPEN:
        raise InvalidState(f"rectification {row.id} is {row.status}; it was already answered", status=row.status)
    row.reply, row.replied_at, row.replied_by = text, ctx.now, ctx.actor.id
    row.on_time = ctx.now <= row.due
    row.status = RectificationStatus.REPLIED
    watch = ctx.session.get(DeadlineWatch, row.watch_id) if row.watch_id else None
    if watch is not None:
        case_clock.stop(ctx, watch)
    case = ctx.session.get(ApprovalCase, row.case_id)
    tell_applicant(ctx, case, "差评整改答复", text, {"case": case.id, "rectification": row.id,
                                                 "kind": "rectification_reply"},
                   kind="rectification_reply", params={"reply": text})
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"rectification": row.id, "case": case.number, "reply": text, "on_time": row.on_time}
    return rectification.rect_dict(row, case.number)


@command("rectification.close")
def close(ctx: Ctx, rectification_id: int, visit_answer: str, satisfied: bool) -> dict:
    """The supervisor closes the rectification after the return visit (回访), recording the applicant's answer."""
    if not is_supervisor(ctx):
        raise PermissionDenied(f"user '{ctx.actor.id}' is not a supervisor and may not close a rectification")
    if not isinstance(satisfied, bool):
        raise ValidationError("'satisfied' is true or false: was the applicant satisfied at the return visit?",
                              field="satisfied")
    answer = _text(visit_answer, "visit_answer")
    row = _load(ctx, rectification_id)
    if row.status != RectificationStatus.REPLIED:
        raise InvalidState(f"rectification {row.id} is {row.status}; it is closed after the department's reply",
                           status=row.status)
    row.visit_answer, row.visit_satisfied = answer, satisfied
    row.closed_at, row.closed_by, row.status = ctx.now, ctx.actor.id, RectificationStatus.CLOSED
    case = ctx.session.get(ApprovalCase, row.case_id)
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"rectification": row.id, "case": case.number, "visit_answer": answer, "satisfied": satisfied}
    return rectification.rect_dict(row, case.number)
