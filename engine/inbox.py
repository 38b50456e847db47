"""Who may see which task and case: the department rule the pages and any API enforce.

* Administrators and supervisors see everything.
* Window staff (一窗受理: one window accepts for every department) see the
  tasks they are assignee or candidate for.
* Reviewers see a task only if they are its assignee or candidate **and** the
  task belongs to their department: a task whose candidate group is a
  department id (并联审批 reviews) belongs to that department, any other task
  to the case's office (``task_department``, kept on the step as
  ``human_task.department`` when it opens). So a reviewer of department A never sees department
  B's tasks, even if both are in the ``reviewer`` group.
* Applicants see their own cases (as applicant or agent) and nothing else.

The engine's own checks (candidate, assignee) still apply to every action.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .models import ApprovalCase, Department, HumanTask


def _privileged(user: dict[str, Any]) -> bool:
    roles = set(user.get("roles") or [])
    return bool(user.get("admin")) or "supervisor" in roles or "admin" in roles


def task_department(groups: list[str] | None, office: str | None, departments: set[str]) -> str | None:
    """The department a step belongs to (办理部门): its first candidate group that is a department (并联审批),
    else its case's ``office`` (None for a step of no case). The one definition of the owner; its value is
    written to ``human_task.department`` (``step_department``) and every rule reads that column."""
    for group in groups or []:
        if group in departments:
            return group
    return office


def step_department(session, instance, groups: list[str] | None) -> str | None:
    """``task_department`` of a step opening in ``instance`` with candidate ``groups``. The case is the one the
    instance names (``mirror["case"]``, usually already in the session); which of the groups are departments
    is one statement, left out for a step without groups."""
    case_id = (instance.mirror or {}).get("case")
    if case_id is not None:
        case = session.get(ApprovalCase, case_id)
    else:
        case = session.scalars(select(ApprovalCase).where(ApprovalCase.instance_id == instance.id)).first()
    # on the connection: a plain read that sends none of the command's pending changes out first
    departments = set(session.connection().execute(select(Department.id).where(Department.id.in_(groups)))
                      .scalars()) if groups else set()
    return task_department(groups, case.office_code if case is not None else None, departments)


def refresh_departments(session, department_id: str) -> int:
    """Write ``task_department`` again for the steps (open and closed) naming ``department_id`` among their
    candidate groups, when that department is created after them: their owner may now be it."""
    from sqlalchemy import String, cast, type_coerce

    where = [HumanTask.candidate_groups.is_not(None)]
    if department_id.isascii() and department_id.replace("-", "").replace("_", "").isalnum():
        text = (cast if session.get_bind().dialect.name == "postgresql" else type_coerce)(
            HumanTask.candidate_groups, String)
        where.append(text.like(f'%"{department_id}"%'))  # JSON writes a plain id as itself
    departments = set(session.scalars(select(Department.id)))
    changed = 0
    steps = (select(HumanTask, ApprovalCase.office_code)
             .outerjoin(ApprovalCase, ApprovalCase.instance_id == HumanTask.instance_id).where(*where))
    for row, office in session.execute(steps):
        if department_id not in (row.candidate_groups or []):
            continue
        owner = task_department(row.candidate_groups, office, departments)
        if owner != row.department:
            row.department = owner
            changed += 1
    return changed


def visible_tasks(session, user: dict[str, Any], item: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The first ``limit`` open tasks this user may see and work on (``engine.lists.inbox`` pages them)."""
    from .lists import inbox

    return inbox(session, user, item=item, limit=limit)["items"]


def can_see_task(session, user: dict[str, Any], row: HumanTask | None) -> bool:
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
        owner = row.department  # task_department, written when the step opened
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
                            candidate_users=row.candidate_users, candidate_groups=row.candidate_groups,
                            department=row.department)
    if not can_see_task(session, shown, probe):
        return f"'{user_id}' could not see this step afterwards (it belongs to another department)"
    return None


def can_see_case(session, user: dict[str, Any], case: ApprovalCase | None,
                 steps: list[HumanTask] | None = None, copied: set[int] | None = None) -> bool:
    """The case's ``steps`` and the instances ``copied`` to the user may be passed in when
    known (many cases at once); otherwise they are read."""
    if case is None:
        return False
    if _privileged(user):
        return True
    if user["id"] in (case.applicant_user, case.agent_user):
        return True
    roles = set(user.get("roles") or [])
    if "window" in roles:
        return True
    if "reviewer" in roles and user.get("department") == case.office_code:
        return True
    from .models import CarbonCopy

    if copied is not None:
        if case.instance_id in copied:
            return True
    elif session.scalars(select(CarbonCopy.id).where(CarbonCopy.instance_id == case.instance_id,
                                                     CarbonCopy.user_id == user["id"]).limit(1)).first():
        return True  # 抄送: a copied user may read the case
    if "reviewer" in roles:
        if steps is None:
            return session.scalars(select(HumanTask.id).where(HumanTask.instance_id == case.instance_id,
                                                              HumanTask.department == user.get("department"))
                                   .limit(1)).first() is not None
        return any(r.department == user.get("department") for r in steps)
    return False


def visible_cases(session, user: dict[str, Any], limit: int = 200) -> list[dict[str, Any]]:
    """The newest ``limit`` cases this user may see (``engine.lists.cases`` pages and filters them)."""
    from .lists import cases

    return cases(session, user, limit=limit)["items"]
