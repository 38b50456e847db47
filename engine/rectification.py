"""好差评 follow-up (国办发〔2019〕51号): a bad rating opens a rectification (整改) for the responsible department.

The rectification runs on the case clock's working-day calendar: a ``DeadlineWatch`` of kind
``rectification`` with the item's limit (``reform_item_setting.rectification_days``, default 15 working days),
warned before and carded when late by the deadline sweep like any clock. The department verifies, rectifies
or explains and replies to the applicant (``reply``); the supervisor closes it after a return visit (回访)
with the applicant's answer (``close``). Supervisors see ratings, the rectification rate of bad ratings and
the on-time rate by department and by item.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case as sql_case, func, select

from . import case_clock
from .models import ApprovalCase
from .models.cases import CaseRating
from .models.deadlines import WatchKind
from .models.reform import ReformItemSetting, Rectification, RectificationStatus

DEFAULT_DAYS = 15
BAD = 2  # scores 1 and 2 are bad ratings (不满意, 非常不满意)


def limit_days(session, item_code: str) -> int:
    setting = session.get(ReformItemSetting, item_code)
    return setting.rectification_days if setting and setting.rectification_days else DEFAULT_DAYS


def open_for(ctx, case: ApprovalCase, rating: CaseRating) -> Rectification:
    """The bad rating's rectification task, its clock, and the notices to the department."""
    from .commands.deadlines import department_staff
    from .notify import notify_user

    ctx.session.flush()
    days = limit_days(ctx.session, case.item_code)
    watch = case_clock.new_watch(kind=WatchKind.RECTIFICATION, case_id=case.id, instance_id=case.instance_id,
                                 department=case.office_code, item_code=case.item_code, started_at=ctx.now,
                                 promised_days=days, legal_days=None,
                                 warning_days=min(case_clock.default_warning_days(), max(days - 1, 0)),
                                 escalation=["card"])
    case_clock.schedule(case_clock.working_calendar(ctx), watch)
    ctx.session.add(watch)
    ctx.session.flush()
    row = Rectification(case_id=case.id, rating_id=rating.id, department=case.office_code, item_code=case.item_code,
                        status=RectificationStatus.OPEN, opened_at=ctx.now, due=watch.promised_due,
                        working_days=days, watch_id=watch.id)
    ctx.session.add(row)
    ctx.session.flush()
    for user in department_staff(ctx.session, case.office_code):
        notify_user(ctx, user, f"差评整改 办件 {case.number}",
                    f"申请人评价：{rating.comment or '-'}。请在 {days} 个工作日内核实、整改或说明，并答复申请人。",
                    {"rectification": row.id, "case": case.id, "kind": "rectification"},
                    instance_id=case.instance_id, kind="rectification",
                    params={"case_number": case.number, "comment": rating.comment or "", "days": days})
    return row


def rect_dict(r: Rectification, number: str | None = None, score: int | None = None,
              comment: str | None = None, state: str | None = None) -> dict[str, Any]:
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return {"id": r.id, "case": r.case_id, "number": number, "department": r.department, "item": r.item_code,
            "status": r.status, "opened_at": iso(r.opened_at), "due": iso(r.due), "working_days": r.working_days,
            "score": score, "comment": comment, "card": state, "reply": r.reply, "replied_at": iso(r.replied_at),
            "replied_by": r.replied_by, "on_time": r.on_time, "visit_answer": r.visit_answer,
            "visit_satisfied": r.visit_satisfied, "closed_at": iso(r.closed_at), "closed_by": r.closed_by}


def rectifications(session, department: str | None = None, status: str | None = None, case_id: int | None = None,
                   limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Rectifications, open ones due soonest first, with the case number, the rating and the clock's state."""
    from .models.deadlines import DeadlineWatch

    stmt = (select(Rectification, ApprovalCase.number, CaseRating.score, CaseRating.comment, DeadlineWatch.state,
                   func.count().over().label("total"))
            .join(ApprovalCase, ApprovalCase.id == Rectification.case_id)
            .join(CaseRating, CaseRating.id == Rectification.rating_id)
            .join(DeadlineWatch, DeadlineWatch.id == Rectification.watch_id, isouter=True))
    if department:
        stmt = stmt.where(Rectification.department == department)
    if status:
        stmt = stmt.where(Rectification.status == status)
    if case_id is not None:
        stmt = stmt.where(Rectification.case_id == case_id)
    order = sql_case((Rectification.status == RectificationStatus.OPEN, 0), else_=1)
    rows = session.execute(stmt.order_by(order, Rectification.due, Rectification.id).limit(limit).offset(offset)).all()
    return {"items": [rect_dict(r[0], r[1], r[2], r[3], r[4]) for r in rows], "total": rows[0].total if rows else 0,
            "limit": limit, "offset": offset}


def report(session) -> dict[str, Any]:
    """Ratings, the rectification rate of bad ratings and the on-time rate, by department and by item.

    One grouped query per grouping: ratings joined to their case (and to the rectification, if any).
    """
    out: dict[str, Any] = {}
    for name, column in (("department", ApprovalCase.office_code), ("item", ApprovalCase.item_code)):
        bad = CaseRating.score <= BAD
        rows = session.execute(
            select(column.label("key"), func.count(CaseRating.id).label("ratings"),
                   func.avg(CaseRating.score).label("average"),
                   func.sum(sql_case((bad, 1), else_=0)).label("bad"),
                   func.sum(sql_case((and_(bad, Rectification.status.in_(
                       (RectificationStatus.REPLIED, RectificationStatus.CLOSED))), 1), else_=0)).label("rectified"),
                   func.sum(sql_case((Rectification.status == RectificationStatus.CLOSED, 1), else_=0))
                   .label("closed"),
                   func.sum(sql_case((Rectification.on_time.is_(True), 1), else_=0)).label("on_time"))
            .join(ApprovalCase, ApprovalCase.id == CaseRating.case_id)
            .join(Rectification, Rectification.rating_id == CaseRating.id, isouter=True)
            .group_by(column).order_by(column)).all()
        out[name] = [{"key": r.key, "ratings": r.ratings, "average": round(float(r.average or 0), 2),
                      "bad": int(r.bad or 0), "rectified": int(r.rectified or 0), "closed": int(r.closed or 0),
                      "on_time": int(r.on_time or 0),
                      "rectification_rate": round(int(r.rectified or 0) / r.bad, 3) if r.bad else None,
                      "on_time_rate": round(int(r.on_time or 0) / int(r.rectified), 3) if r.rectified else None}
                     for r in rows]
    return out


def public_summary(session) -> dict[str, Any]:
    """The public 好差评 summary: counts per score and the rectification rate, nothing personal."""
    by_score = dict(session.execute(select(CaseRating.score, func.count()).group_by(CaseRating.score)).all())
    total = sum(by_score.values())
    bad = sum(n for s, n in by_score.items() if s <= BAD)
    rectified = session.scalar(select(func.count()).select_from(Rectification).where(
        Rectification.status.in_((RectificationStatus.REPLIED, RectificationStatus.CLOSED)))) or 0
    return {"total": total, "by_score": {s: by_score.get(s, 0) for s in (5, 4, 3, 2, 1)}, "bad": bad,
            "satisfaction_rate": round((total - bad) / total, 3) if total else None,
            "rectification_rate": round(rectified / bad, 3) if bad else None}
