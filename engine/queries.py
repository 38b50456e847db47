"""Read-only questions: inboxes, instance views, incidents. No audit, no writes."""
from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm import Session

from .errors import NotFound, ValidationError
from .models import HumanTask, Incident, Membership, ProcessInstance, TaskCandidate, TaskStatus


def task_dict(row: HumanTask, official: frozenset[int] | None = None) -> dict[str, Any]:
    """An open or closed task; with the official calendar years, ``due_provisional`` marks a provisional due date."""
    from .calendar import is_provisional

    return {"due_provisional": is_provisional(official, row.due) if official is not None and row.due else False,
        "id": row.id, "instance": row.instance_id, "element_id": row.element_id, "name": row.name,
        "name_en": row.name_en, "lane": row.lane,
        "assignee": row.assignee, "candidate_users": list(row.candidate_users or []),
        "candidate_groups": list(row.candidate_groups or []), "due": row.due.isoformat() if row.due else None,
        "form_key": row.form_key, "status": row.status, "created": row.created_at.isoformat(),
    }


def groups_of(session: Session, user: str) -> list[str]:
    return list(session.scalars(select(Membership.group_id).where(Membership.user_id == user)))


def open_tasks(session: Session, instance: int | None = None, user: str | None = None, group: str | None = None,
               limit: int = 1000, offset: int = 0) -> list[dict[str, Any]]:
    """Open tasks, optionally of one instance, one user's inbox, or one group's queue."""
    if limit < 1 or limit > 10_000 or offset < 0:
        raise ValidationError("limit must be 1..10000 and offset >= 0")
    params: dict[str, Any] = {"limit": limit, "offset": offset, "instance": instance, "user": user, "group": group}
    if user is not None:
        params["groups"] = groups_of(session, user) or [""]
    from .calendar import official_years

    stmt = _open_tasks_statement(instance is not None, user is not None, group is not None)
    official = official_years(session)
    return [task_dict(r, official) for r in session.connection().execute(stmt, params)]


@functools.cache
def _open_tasks_statement(by_instance: bool, by_user: bool, by_group: bool):
    """One prebuilt statement per kind of question (inboxes are asked all day long).

    Selects the table's columns (plain rows, no ORM objects): an inbox only reads them.
    """
    tasks, candidates = HumanTask.__table__, TaskCandidate.__table__
    stmt = select(tasks).where(tasks.c.status == TaskStatus.OPEN)
    if by_instance:
        stmt = stmt.where(tasks.c.instance_id == bindparam("instance"))
    if by_user:
        candidate = exists().where(candidates.c.task_id == tasks.c.id, or_(
            (candidates.c.kind == "user") & (candidates.c.value == bindparam("user")),
            (candidates.c.kind == "group") & candidates.c.value.in_(bindparam("groups", expanding=True)),
        ))
        stmt = stmt.where(or_(tasks.c.assignee == bindparam("user"), tasks.c.assignee.is_(None) & candidate))
    if by_group:
        stmt = stmt.where(exists().where(candidates.c.task_id == tasks.c.id, candidates.c.kind == "group",
                                         candidates.c.value == bindparam("group")))
    return stmt.order_by(tasks.c.created_at, tasks.c.id).limit(bindparam("limit")).offset(bindparam("offset"))


def incident_dict(row: Incident) -> dict[str, Any]:
    return {"id": row.id, "instance": row.instance_id, "task": row.task_id, "element_id": row.element_id,
            "handler": row.handler, "message": row.message, "created": row.created_at.isoformat(),
            "resolved": row.resolved_at.isoformat() if row.resolved_at else None}


def open_incidents(session: Session, instance: int | None = None) -> list[dict[str, Any]]:
    stmt = select(Incident).where(Incident.resolved_at.is_(None))
    if instance is not None:
        stmt = stmt.where(Incident.instance_id == instance)
    return [incident_dict(r) for r in session.scalars(stmt.order_by(Incident.id))]


def incidents(session: Session, user: dict[str, Any] | None = None, instance: int | None = None,
              handler: str | None = None, department: str | None = None, resolved: bool = False,
              created_from=None, created_to=None, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """One page of incidents (open by default), oldest first, with the case's id and number, in one statement.

    Supervisors (and the command line, ``user=None``) see every incident; other staff those of cases of
    their department (the case's office), none without a department. ``handler`` is the failing handler
    (``clock.advance``, ``timer.fire``...), ``department`` the case's office.
    """
    from sqlalchemy import false, true

    from .inbox import _privileged
    from .lists import in_period, page_of
    from .models import ApprovalCase

    incident, cases = Incident.__table__, ApprovalCase.__table__
    where = [incident.c.resolved_at.is_not(None) if resolved else incident.c.resolved_at.is_(None),
             *in_period(incident.c.created_at, created_from, created_to)]
    if user is not None and not _privileged(user):
        where.append(cases.c.office_code == user["department"] if user.get("department") else false())
    if instance is not None:
        where.append(incident.c.instance_id == instance)
    if handler:
        where.append(incident.c.handler == handler)
    if department:
        where.append(cases.c.office_code == department)
    source = incident.outerjoin(cases, cases.c.instance_id == incident.c.instance_id)
    columns = [incident, cases.c.id.label("case_id"), cases.c.number.label("case_number"),
               cases.c.office_code.label("case_office")]

    def item_of(row):
        return {**incident_dict(row), "case": row.case_id, "case_number": row.case_number,
                "department": row.case_office}

    return page_of(session, columns, source, where or [true()], [incident.c.id], limit, offset, item_of)


def show_instance(session: Session, instance_id: int) -> dict[str, Any]:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"instance {instance_id} does not exist", instance_id=instance_id)
    definition = instance.definition
    return {
        "id": instance.id, "key": instance.key, "version": definition.version, "business_key": instance.business_key,
        "status": instance.status, "data": instance.data, "completed_elements": instance.completed_elements,
        "incidents": open_incidents(session, instance_id), "started": instance.started_at.isoformat(),
        "ended": instance.ended_at.isoformat() if instance.ended_at else None, "end_reason": instance.end_reason,
        "open_tasks": open_tasks(session, instance=instance_id),
    }
