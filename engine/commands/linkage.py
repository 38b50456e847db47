"""审管联动 verbs: replace the linkage list, open a push, feed back against a licence or case."""
from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select

from .. import credit, linkage
from ..cases import load_case, record_opinion
from ..context import Ctx, command
from ..errors import InvalidState, NotFound, PermissionDenied, ValidationError
from ..models import Department, User
from ..models.reform import CreditLevel, ItemLinkage, LinkagePush, SupervisionFeedback
from ..notify import notify_user
from .deadlines import department_staff

MAX_TEXT = 4000


def _department(ctx: Ctx) -> str | None:
    user = ctx.session.get(User, ctx.actor.id)
    return user.department_id if user else None


@command("linkage.import")
def import_list(ctx: Ctx, text: str, fmt: str = "json") -> dict:
    """Replace the linkage list (审管联动事项清单) from JSON or CSV, like the item catalogue: all rows or none."""
    if not ctx.actor.is_admin:
        raise PermissionDenied("only an administrator may change the linkage list")
    rows = linkage.validate_rows(ctx.session, linkage.parse(text, fmt))
    ctx.session.execute(delete(ItemLinkage))
    for r in rows:
        ctx.session.add(ItemLinkage(**r))
    ctx.audit.data = {"rows": len(rows), "items": sorted({r["item_code"] for r in rows})}
    return {"imported": len(rows)}


def _push_for(ctx: Ctx, push_id: int) -> LinkagePush:
    push = ctx.session.get(LinkagePush, push_id)
    if push is None:
        raise NotFound(f"push {push_id} does not exist", what="push")
    if not ctx.actor.is_admin and _department(ctx) != push.department:
        raise PermissionDenied(f"push {push_id} went to department {push.department}, not to yours")
    return push


@command("linkage.open")
def open_push(ctx: Ctx, push_id: int) -> dict:
    """The supervising department opens a push (it was received, 认领, when pushed); the first opening counts."""
    push = _push_for(ctx, push_id)
    first = push.opened_at is None
    if first:
        push.opened_at, push.opened_by = ctx.now, ctx.actor.id
    ctx.audit.data = {"push": push.id, "case": push.case_id, "department": push.department, "first": first}
    return linkage.push_dict(push)


@command("linkage.feedback")
def feed_back(ctx: Ctx, case_id: int, kind: str, content: str, measures: str | None = None,
              credit_level: str | None = None, expires_on: str | None = None) -> dict:
    """The supervising department reports an abnormal result against the licence or case.

    It reaches the approving office's staff and the case history; a credit finding (``credit_finding``) also
    writes a credit entry for the applicant (bad unless ``credit_level`` says blacklist), which closes 告知承诺
    and 容缺受理 for their next application.
    """
    if kind not in linkage.FEEDBACK_KINDS:
        raise ValidationError(f"kind is one of {', '.join(linkage.FEEDBACK_KINDS)}", field="kind")
    content = (content or "").strip()
    if not content or len(content) > MAX_TEXT:
        raise ValidationError(f"feedback needs its content (up to {MAX_TEXT} characters)", field="content")
    measures = (measures or "").strip() or None
    if measures and len(measures) > MAX_TEXT:
        raise ValidationError(f"measures are at most {MAX_TEXT} characters", field="measures")
    case = load_case(ctx.session, case_id)
    department = _department(ctx)
    push = ctx.session.scalars(select(LinkagePush).where(
        LinkagePush.case_id == case.id, *([] if ctx.actor.is_admin else [LinkagePush.department == department]))
        .order_by(LinkagePush.id.desc())).first()
    if push is None:
        raise PermissionDenied(f"case {case.number} was not pushed to your department; only a supervising "
                               "department it was pushed to feeds back on it")
    entry = None
    if kind == "credit_finding":
        level = credit_level or CreditLevel.BAD
        if level not in CreditLevel.CLOSING:
            raise ValidationError("a credit finding is bad or blacklist (失信联合惩戒)", field="credit_level")
        until = None
        if expires_on:
            try:
                until = date.fromisoformat(expires_on)
            except ValueError as exc:
                raise ValidationError("expires_on is a date (YYYY-MM-DD)", field="expires_on") from exc
        dept = ctx.session.get(Department, push.department)
        entry = credit.add_entry(ctx, name=case.applicant_name, id_no=case.applicant_id_no, user=case.applicant_user,
                                 subject_kind=case.applicant_kind, kind="supervision_finding", level=level,
                                 reason=content, source=dept.name if dept else push.department, case_id=case.id,
                                 expires_on=until)
        ctx.session.flush()
    elif credit_level:
        raise ValidationError("only a credit finding carries a credit level", field="credit_level")
    row = SupervisionFeedback(case_id=case.id, push_id=push.id, department=push.department, kind=kind,
                              content=content, measures=measures, credit_record_id=entry.id if entry else None,
                              at=ctx.now, by=ctx.actor.id)
    ctx.session.add(row)
    if push.opened_at is None:
        push.opened_at, push.opened_by = ctx.now, ctx.actor.id
    record_opinion(ctx, case, None, f"supervision_{kind}", content + (f"（措施：{measures}）" if measures else ""))
    people = set(department_staff(ctx.session, case.office_code))
    people |= set(ctx.session.scalars(select(ItemLinkage.push_liaison).where(
        ItemLinkage.item_code == case.item_code, ItemLinkage.push_liaison.is_not(None))))
    for person in sorted(p for p in people if p):
        notify_user(ctx, person, f"监管反馈 办件 {case.number}", content,
                    {"case": case.id, "kind": "supervision_feedback", "feedback_kind": kind},
                    instance_id=case.instance_id, channels=("in_app",), kind="supervision_feedback",
                    params={"case_number": case.number, "content": content, "feedback_kind": kind})
    ctx.session.flush()
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"case": case.number, "department": push.department, "kind": kind, "content": content,
                      "measures": measures, "credit_record": entry.id if entry else None}
    return linkage.feedback_dict(row)


__all__ = ["import_list", "open_push", "feed_back", "InvalidState"]
