"""Who may see which task and case: the department rule the pages and any API enforce.

* Administrators and supervisors see everything.
* Window staff (一窗受理: one window accepts for every department) see the
  tasks they are assignee or candidate for.
* Reviewers see a task only if they are its assignee or candidate **and** the
  task belongs to their department: a task whose candidate group is a
  department id (并联审批 reviews) belongs to that department, any other task
  to the case's office. So a reviewer of department A never sees department
  B's tasks, even if both are in the ``reviewer`` group.
* Applicants see their own cases (as applicant or agent) and nothing else.

The engine's own checks (candidate, assignee) still apply to every action.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from . import queries
from .models import ApprovalCase, Department, HumanTask, TaskStatus
from .models.deadlines import Card, DeadlineWatch, WatchKind



def _privileged(user: dict[str, Any]) -> bool:
    roles = set(user.get("roles") or [])
    return bool(user.get("admin")) or "supervisor" in roles or "admin" in roles


def task_department(session, row: HumanTask, case: ApprovalCase | None, departments: set[str]) -> str | None:
    for group in row.candidate_groups or []:
        if group in departments:
            return group
    return case.office_code if case else None


def visible_tasks(session, user: dict[str, Any], item: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The open tasks this user may see and work on, newest first, with their case."""
    rows = [session.get(HumanTask, t["id"]) for t in queries.open_tasks(session, user=user["id"], limit=limit)]
    if _privileged(user):
        rows = list(session.scalars(select(HumanTask).where(HumanTask.status == TaskStatus.OPEN)
                                    .order_by(HumanTask.created_at.desc()).limit(limit)))
    departments = set(session.scalars(select(Department.id)))
    from .calendar import official_years

    official = official_years(session)
    out = []
    for row in rows:
        case = session.scalars(select(ApprovalCase).where(ApprovalCase.instance_id == row.instance_id)).first()
        if item and (case is None or case.item_code != item):
            continue
        if not can_see_task(session, user, row, case, departments):
            continue
        entry = queries.task_dict(row, official)
        entry["case"] = {"id": case.id, "number": case.number, "item": case.item_code, "status": case.status,
                         "applicant": case.applicant_name} if case else None
        entry["card"] = _card_of(session, row, case)
        entry["may_claim"] = not row.assignee and (bool(user.get("admin")) or user["id"] in (row.candidate_users or [])
                                                   or bool(set(user.get("groups") or []) & set(row.candidate_groups or [])))
        out.append(entry)
    return out


def _card_of(session, row: HumanTask, case: ApprovalCase | None) -> str:
    """The worse of the step's own clock and the case clock: what the inbox shows beside the task."""
    states = list(session.scalars(select(DeadlineWatch.state).where(
        DeadlineWatch.active.is_(True),
        (DeadlineWatch.task_id == row.id) | ((DeadlineWatch.case_id == case.id) & (DeadlineWatch.kind == WatchKind.CASE))
        if case else (DeadlineWatch.task_id == row.id))))
    return max(states, key=Card.ORDER.index, default=Card.NORMAL)


def can_see_task(session, user: dict[str, Any], row: HumanTask | None, case: ApprovalCase | None = None,
                 departments: set[str] | None = None) -> bool:
    if row is None:
        return False
    if _privileged(user):
        return True
    roles = set(user.get("roles") or [])
    groups = set(user.get("groups") or [])
    candidate = (row.assignee == user["id"]) or (not row.assignee and (
        user["id"] in (row.candidate_users or []) or bool(groups & set(row.candidate_groups or []))))
    if not candidate:
        return False
    if "reviewer" in roles and "window" not in roles:
        if case is None:
            case = session.scalars(select(ApprovalCase).where(ApprovalCase.instance_id == row.instance_id)).first()
        if departments is None:
            departments = set(session.scalars(select(Department.id)))
        owner = task_department(session, row, case, departments)
        return owner is None or owner == user.get("department")
    return True


STAFF_ROLES = {"window", "reviewer", "supervisor", "admin"}


def receiver_problem(session, row: HumanTask, user_id: str) -> str | None:
    """Why ``user_id`` may not be given this step (转办, 委派, 加签, AB backup), or None when they may.

    One rule for every way a step changes hands: an active member of staff who could then see and work the
    step (its department's staff, or a member of its candidate groups); never the applicant or the agent of
    the step's case.
    """
    from types import SimpleNamespace

    from .cases import case_of_instance
    from .commands.identity import user_dict
    from .models import User

    user = session.get(User, user_id)
    if user is None:
        return f"user '{user_id}' does not exist"
    if not user.active:
        return f"user '{user_id}' is not active"
    case = case_of_instance(session, row.instance_id)
    if case is not None and user_id in (case.applicant_user, case.agent_user):
        return f"'{user_id}' is the applicant or agent of case {case.number} and may not handle its steps"
    shown = user_dict(session, user)
    if not (STAFF_ROLES & set(shown["roles"]) or shown["admin"]):
        return f"'{user_id}' is not a member of staff"
    probe = SimpleNamespace(id=row.id, instance_id=row.instance_id, assignee=user_id,
                            candidate_users=row.candidate_users, candidate_groups=row.candidate_groups)
    if not can_see_task(session, shown, probe, case):
        return f"'{user_id}' could not see this step afterwards (it belongs to another department)"
    return None


def can_see_case(session, user: dict[str, Any], case: ApprovalCase | None) -> bool:
    if case is None:
        return False
    if _privileged(user):
        return True
    if user["id"] in (case.applicant_user, case.agent_user):
        return True
    from .models import CarbonCopy

    if session.scalars(select(CarbonCopy.id).where(CarbonCopy.instance_id == case.instance_id,
                                                   CarbonCopy.user_id == user["id"]).limit(1)).first():
        return True  # 抄送: a copied user may read the case
    roles = set(user.get("roles") or [])
    if "window" in roles:
        return True
    if "reviewer" in roles:
        if user.get("department") == case.office_code:
            return True
        rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == case.instance_id))
        departments = set(session.scalars(select(Department.id)))
        return any(task_department(session, r, case, departments) == user.get("department") for r in rows)
    return False


def visible_cases(session, user: dict[str, Any], limit: int = 200) -> list[ApprovalCase]:
    stmt = select(ApprovalCase).order_by(ApprovalCase.id.desc()).limit(limit)
    roles = set(user.get("roles") or [])
    if not _privileged(user) and "window" not in roles and "reviewer" not in roles:
        from sqlalchemy import or_

        stmt = stmt.where(or_(ApprovalCase.applicant_user == user["id"], ApprovalCase.agent_user == user["id"]))
    return [c for c in session.scalars(stmt) if can_see_case(session, user, c)]
