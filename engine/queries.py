"""Read-only questions: inboxes, instance views, incidents. No audit, no writes."""
from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from .errors import NotFound, ValidationError
from .models import HumanTask, Incident, Membership, ProcessInstance, TaskCandidate, TaskStatus


def task_dict(row: HumanTask) -> dict[str, Any]:
    return {
        "id": row.id, "instance": row.instance_id, "element_id": row.element_id, "name": row.name, "lane": row.lane,
        "assignee": row.assignee, "candidate_users": list(row.candidate_users or []),
        "candidate_groups": list(row.candidate_groups or []), "due": row.due.isoformat() if row.due else None,
        "form_key": row.form_key, "status": row.status, "created": row.created_at.isoformat(),
    }


def groups_of(session: Session, user: str) -> list[str]:
    return list(session.scalars(select(Membership.group_id).where(Membership.user_id == user)))


def open_tasks(session: Session, instance: int | None = None, user: str | None = None, group: str | None = None,
               limit: int = 1000, offset: int = 0) -> list[dict[str, Any]]:
    """Open tasks, optionally of one instance, one user's inbox, or one group's queue."""
    stmt = select(HumanTask).where(HumanTask.status == TaskStatus.OPEN)
    if instance is not None:
        stmt = stmt.where(HumanTask.instance_id == instance)
    if user is not None:
        groups = groups_of(session, user)
        candidate = exists().where(TaskCandidate.task_id == HumanTask.id, or_(
            (TaskCandidate.kind == "user") & (TaskCandidate.value == user),
            (TaskCandidate.kind == "group") & (TaskCandidate.value.in_(groups or [""])),
        ))
        stmt = stmt.where(or_(HumanTask.assignee == user, HumanTask.assignee.is_(None) & candidate))
    if group is not None:
        stmt = stmt.where(exists().where(TaskCandidate.task_id == HumanTask.id, TaskCandidate.kind == "group",
                                         TaskCandidate.value == group))
    if limit < 1 or limit > 10_000 or offset < 0:
        raise ValidationError("limit must be 1..10000 and offset >= 0")
    stmt = stmt.order_by(HumanTask.created_at, HumanTask.id).limit(limit).offset(offset)
    return [task_dict(r) for r in session.scalars(stmt)]


def incident_dict(row: Incident) -> dict[str, Any]:
    return {"id": row.id, "instance": row.instance_id, "task": row.task_id, "element_id": row.element_id,
            "handler": row.handler, "message": row.message, "created": row.created_at.isoformat(),
            "resolved": row.resolved_at.isoformat() if row.resolved_at else None}


def open_incidents(session: Session, instance: int | None = None) -> list[dict[str, Any]]:
    stmt = select(Incident).where(Incident.resolved_at.is_(None))
    if instance is not None:
        stmt = stmt.where(Incident.instance_id == instance)
    return [incident_dict(r) for r in session.scalars(stmt.order_by(Incident.id))]


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
