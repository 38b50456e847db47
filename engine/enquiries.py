"""首问负责 (first-contact responsibility, Diaobingshan's service rules): record, route, answer, list.

The first staff member an applicant meets records her enquiry even when the item belongs to another office; the
enquiry is routed at once to the competent office (the item's office, or the one staff name), whose staff are
told in-app and answer it; the answer reaches the applicant by SMS when she left a number. Supervisors see every
enquiry; staff see those they recorded and those routed to their department.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from .context import Ctx, command
from .errors import InvalidState, NotFound, PermissionDenied, ValidationError
from .models import Department, Enquiry, ServiceItem, User

STAFF_ROLES = {"window", "reviewer", "supervisor", "admin"}
MAX_TEXT = 2000


def _staff(ctx: Ctx) -> User:
    user = ctx.session.get(User, ctx.actor.id)
    if not ctx.actor.is_admin and (user is None or not STAFF_ROLES & set(user.roles or [])):
        raise PermissionDenied("only staff record and answer enquiries (首问负责)", refusal="needs_role")
    return user


def _text(value: Any, field: str, limit: int = MAX_TEXT) -> str:
    text = str(value or "").strip()
    if not text:
        raise ValidationError(f"{field} is required", refusal="required", field=field)
    if len(text) > limit:
        raise ValidationError(f"{field} is longer than {limit} characters", refusal="too_long", field=field,
                              limit=limit)
    return text


def as_dict(row: Enquiry, department_name: str | None = None) -> dict[str, Any]:
    return {"id": row.id, "applicant_name": row.applicant_name, "contact": row.contact, "question": row.question,
            "item": row.item_code, "department": row.department_id, "department_name": department_name,
            "recorded_by": row.recorded_by, "recorded_at": row.recorded_at.isoformat(), "status": row.status,
            "answer": row.answer, "answered_by": row.answered_by,
            "answered_at": row.answered_at.isoformat() if row.answered_at else None}


@command("enquiry.record")
def record(ctx: Ctx, applicant_name: str, question: str, item_code: str | None = None,
           department: str | None = None, contact: str | None = None) -> dict:
    """The first staff member met records the enquiry; it goes to the item's office (or the one named)."""
    from .notify import notify_user
    from .validation import phone_problem

    _staff(ctx)
    name, text = _text(applicant_name, "applicant_name", 200), _text(question, "question")
    contact = str(contact or "").strip() or None
    if contact and phone_problem(contact):
        raise ValidationError("the contact is not a phone number", refusal="phone_format", field="contact")
    item = None
    if item_code:
        item = ctx.session.get(ServiceItem, item_code)
        if item is None:
            raise NotFound(f"service item {item_code} does not exist", what="item")
    target = department or (item.office_code if item is not None else None)
    if not target or ctx.session.get(Department, target) is None:
        raise ValidationError("name the office the enquiry belongs to (or its service item)", refusal="required",
                              field="department")
    row = Enquiry(applicant_name=name, contact=contact, question=text, item_code=item_code, department_id=target,
                  recorded_by=ctx.actor.id, recorded_at=ctx.now, status="open")
    ctx.session.add(row)
    ctx.session.flush()
    staff = ctx.session.scalars(select(User.id).where(User.department_id == target, User.active.is_(True),
                                                      User.id != ctx.actor.id)).all()
    for person in staff:
        notify_user(ctx, person, "首问负责：新的咨询", f"{name}咨询：{text[:200]}",
                    {"kind": "enquiry", "enquiry": row.id}, channels=("in_app",), kind="enquiry",
                    params={"name": name, "question": text[:200]})
    ctx.audit.data = {"enquiry": row.id, "department": target, "item": item_code, "routed_to": len(staff)}
    return as_dict(row)


@command("enquiry.answer")
def answer(ctx: Ctx, enquiry_id: int, text: str) -> dict:
    """Staff of the office it was routed to answer; the first-contact staff member and the applicant are told."""
    from .notify import notify_user
    from .outbox import enqueue

    user = _staff(ctx)
    row = ctx.session.get(Enquiry, enquiry_id) if isinstance(enquiry_id, int) else None
    if row is None:
        raise NotFound(f"enquiry {enquiry_id} does not exist", what="enquiry")
    if not ctx.actor.is_admin and (user is None or user.department_id != row.department_id):
        raise PermissionDenied("only the office the enquiry was routed to answers it", refusal="not_handling")
    if row.status != "open":
        raise InvalidState(f"enquiry {row.id} is already answered", refusal="wrong_status", status=row.status)
    row.answer, row.answered_by, row.answered_at, row.status = _text(text, "answer"), ctx.actor.id, ctx.now, "answered"
    if row.recorded_by != ctx.actor.id:
        notify_user(ctx, row.recorded_by, "首问负责：咨询已答复", f"{row.applicant_name}的咨询已答复：{row.answer[:200]}",
                    {"kind": "enquiry", "enquiry": row.id}, channels=("in_app",), kind="enquiry_answered",
                    params={"name": row.applicant_name, "answer": row.answer[:200]})
    if row.contact:
        enqueue(ctx, "sms", row.contact, "咨询答复", f"【一门】您的咨询已答复：{row.answer[:300]}",
                payload={"enquiry": row.id})
    ctx.audit.data = {"enquiry": row.id, "department": row.department_id}
    return as_dict(row)


def enquiries(session, user: dict[str, Any], status: str | None = None, limit: int = 50, offset: int = 0) -> dict:
    """One page of the enquiries ``user`` may see, open first, newest first (one query with its total)."""
    roles = set(user.get("roles") or [])
    where = []
    if not (user.get("admin") or user.get("is_admin") or "supervisor" in roles):
        department = user.get("department") or session.scalar(select(User.department_id).where(User.id == user["id"]))
        where.append(or_(Enquiry.recorded_by == user["id"],
                         Enquiry.department_id == department if department else False))
    if status:
        where.append(Enquiry.status == status)
    query = (select(Enquiry, Department.name.label("department_name"), func.count().over().label("total"))
             .outerjoin(Department, Department.id == Enquiry.department_id).where(*where)
             .order_by((Enquiry.status == "open").desc(), Enquiry.recorded_at.desc(), Enquiry.id.desc())
             .limit(limit).offset(offset))
    rows = session.execute(query).all()
    total = rows[0].total if rows else (
        session.scalar(select(func.count()).select_from(Enquiry).where(*where)) if offset else 0)
    return {"items": [as_dict(r.Enquiry, r.department_name) for r in rows], "total": total, "limit": limit,
            "offset": offset}
