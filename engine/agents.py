"""Agents (代办): who may apply for whom, and the centre's registry of free 代办 agents.

An agent acts for an applicant only under a recorded authorisation (委托书): its scope (the service items, or
all), its validity, and the applicant's confirmation — given online by the applicant herself from her account,
or on paper, signed, which window staff record with its scan. An application "as agent" names the applicant by
ID number (居民身份证号 or 统一社会信用代码); it is taken only while such an authorisation for that agent, that
ID number and that item is in force (``authorisation_for``, called by the submit command).

The centre's own free 代办 service (重大项目 管家式服务) is the group ``agent-service``: ``registry`` lists its
agents with their cases and the ratings applicants gave those cases.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, case as when, func, or_, select

from .errors import PermissionDenied
from .models import AgentAuthorisation, ApprovalCase, CaseRating, Membership, User
from .models.cases import CaseStatus

AGENT_SERVICE_GROUP = "agent-service"  # 代办员 of the centre's free 代办 service
MAX_VALIDITY_DAYS = 3 * 366  # a 委托书 is valid for at most three years


def normalise_id(value: Any) -> str:
    return str(value or "").strip().upper()


def in_force(row: AgentAuthorisation, item_code: str, day: date) -> bool:
    return (row.status == "active" and row.valid_from <= day <= row.valid_until
            and (not row.scope or item_code in row.scope))


def authorisation_for(session, agent_user: str, applicant_id_no: Any, item_code: str, day: date) -> AgentAuthorisation:
    """The authorisation under which ``agent_user`` may apply for ``applicant_id_no`` and ``item_code`` today;
    refused (``permission_denied``, ``no_authorisation``) when there is none in force."""
    id_no = normalise_id(applicant_id_no)
    if not id_no:
        raise PermissionDenied("an application as agent (代办) names the applicant by ID number or unified social "
                               "credit code, so that her authorisation can be found", refusal="no_authorisation",
                               field="id_no")
    rows = session.scalars(select(AgentAuthorisation).where(
        AgentAuthorisation.agent_user == agent_user, AgentAuthorisation.applicant_id_no == id_no,
        AgentAuthorisation.status == "active").order_by(AgentAuthorisation.valid_until.desc())).all()
    for row in rows:
        if in_force(row, item_code, day):
            return row
    raise PermissionDenied(f"user '{agent_user}' holds no authorisation (委托书) in force from applicant "
                           f"{id_no} for item {item_code}; the applicant grants one online, or the window records "
                           "her signed paper authorisation", refusal="no_authorisation", item=item_code)


def as_dict(row: AgentAuthorisation, day: date | None = None) -> dict[str, Any]:
    return {
        "id": row.id, "applicant": {"kind": row.applicant_kind, "name": row.applicant_name,
                                    "id_no": row.applicant_id_no, "user": row.applicant_user},
        "agent": row.agent_user, "scope": list(row.scope or []), "valid_from": row.valid_from.isoformat(),
        "valid_until": row.valid_until.isoformat(), "confirmed": row.confirmed, "recorded_by": row.recorded_by,
        "scan": row.scan_filename, "status": row.status,
        "in_force": bool(day and row.status == "active" and row.valid_from <= day <= row.valid_until),
        "created_at": row.created_at.isoformat(),
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
    }


def visible(user: dict[str, Any]):
    """Who sees which authorisations: the applicant who granted, the agent, window staff, supervisors."""
    roles = set(user.get("roles") or [])
    if user.get("is_admin") or user.get("admin") or roles & {"window", "supervisor", "admin"}:
        return True
    return or_(AgentAuthorisation.applicant_user == user["id"], AgentAuthorisation.agent_user == user["id"])


def authorisations(session, user: dict[str, Any], day: date, agent: str | None = None,
                   id_no: str | None = None, status: str | None = None, limit: int = 50, offset: int = 0) -> dict:
    """One page of the authorisations ``user`` may see, newest first (one query with its total)."""
    seen = visible(user)
    where = [] if seen is True else [seen]
    if agent:
        where.append(AgentAuthorisation.agent_user == agent)
    if id_no:
        where.append(AgentAuthorisation.applicant_id_no == normalise_id(id_no))
    if status:
        where.append(AgentAuthorisation.status == status)
    query = (select(AgentAuthorisation, User.display_name, User.display_name_en, func.count().over().label("total"))
             .outerjoin(User, User.id == AgentAuthorisation.agent_user).where(*where)
             .order_by(AgentAuthorisation.created_at.desc(), AgentAuthorisation.id.desc()).limit(limit).offset(offset))
    rows = session.execute(query).all()
    if rows:
        total = rows[0].total
    else:  # a page past the end: count apart
        total = session.scalar(select(func.count()).select_from(AgentAuthorisation).where(*where)) if offset else 0
    return {"items": [{**as_dict(r.AgentAuthorisation, day), "agent_name": r.display_name or r.AgentAuthorisation.agent_user,
                       "agent_name_en": r.display_name_en} for r in rows], "total": total, "limit": limit,
            "offset": offset}


def registry(session) -> list[dict[str, Any]]:
    """The centre's 代办 agents with their cases (open and concluded) and the ratings of those cases."""
    final = list(CaseStatus.FINAL)
    query = (select(User.id, User.display_name, User.phone,
                    func.count(func.distinct(ApprovalCase.id)).label("cases"),
                    func.count(func.distinct(when((ApprovalCase.status.not_in(final), ApprovalCase.id)))).label("open"),
                    func.avg(CaseRating.score).label("rating"), func.count(CaseRating.id).label("ratings"))
             .join(Membership, and_(Membership.user_id == User.id, Membership.group_id == AGENT_SERVICE_GROUP))
             .outerjoin(ApprovalCase, ApprovalCase.agent_user == User.id)
             .outerjoin(CaseRating, CaseRating.case_id == ApprovalCase.id)
             .where(User.active.is_(True))
             .group_by(User.id, User.display_name, User.phone).order_by(User.id))
    return [{"user": r.id, "name": r.display_name or r.id, "phone": r.phone, "cases": r.cases, "open": r.open,
             "rating": round(float(r.rating), 2) if r.rating is not None else None, "ratings": r.ratings}
            for r in session.execute(query)]
