"""Claim, unclaim and complete human tasks.

The permission check happens on the loaded task row (its assignee and
candidates), after the row is found; completing an already finished task is
``InvalidState``; two people completing one task at once: one wins, the
other gets ``Conflict`` from the instance's version column.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from ..assignment import check_data, may_claim, may_work_on, refuse
from ..context import Ctx, command
from ..errors import InvalidState, NotFound, ValidationError
from ..models import HumanTask, TaskStatus


def load_open_task(ctx: Ctx, task_id: str) -> HumanTask:
    """The open task row with this id, or the reason it cannot be acted on."""
    if not isinstance(task_id, str) or not task_id:
        raise ValidationError("a task id is required")
    row = ctx.session.execute(_TASK_BY_ID, {"task_id": task_id}).scalar_one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} does not exist", task_id=task_id)
    if row.status != TaskStatus.OPEN:
        raise InvalidState(f"task {task_id} is {row.status}, not open", task_id=task_id, status=row.status)
    return row


# Prebuilt: every task verb starts here (a prebuilt select costs about half of ``session.get``).
_TASK_BY_ID = select(HumanTask).where(HumanTask.id == bindparam("task_id"))


@command("task.claim")
def claim(ctx: Ctx, task_id: str, assignee: str | None = None) -> dict:
    row = load_open_task(ctx, task_id)
    user = assignee or ctx.actor.id
    if user != ctx.actor.id and not ctx.actor.is_admin:
        raise refuse(ctx.actor, "claim it for someone else", task_id)
    if row.assignee and row.assignee != user:
        raise InvalidState(f"task {task_id} is already claimed by '{row.assignee}'", task_id=task_id)
    if not may_claim(ctx.actor, ctx.groups(), row.candidate_users, row.candidate_groups):
        raise refuse(ctx.actor, "claim it", task_id)
    row.assignee = user
    touch_instance(ctx, row)
    ctx.audit.instance_id, ctx.audit.task_id = row.instance_id, task_id
    ctx.audit.data = {"assignee": user}
    return {"task": task_id, "assignee": user}


@command("task.unclaim")
def unclaim(ctx: Ctx, task_id: str) -> dict:
    row = load_open_task(ctx, task_id)
    if not row.assignee:
        raise InvalidState(f"task {task_id} is not claimed", task_id=task_id)
    if row.assignee != ctx.actor.id and not ctx.actor.is_admin:
        raise refuse(ctx.actor, "unclaim it", task_id)
    previous, row.assignee = row.assignee, None
    touch_instance(ctx, row)
    ctx.audit.instance_id, ctx.audit.task_id = row.instance_id, task_id
    ctx.audit.data = {"previous_assignee": previous}
    return {"task": task_id, "assignee": None}


def touch_instance(ctx: Ctx, row: HumanTask) -> None:
    """Bump the instance version so a claim races correctly with a complete."""
    from ..models import ProcessInstance

    instance = ctx.session.get(ProcessInstance, row.instance_id)
    instance.updated_at = ctx.now


@command("task.complete")
def complete(ctx: Ctx, task_id: str, data: dict[str, Any] | None = None) -> dict:
    from ..completion import finish_step

    data = check_data(data)
    row = load_open_task(ctx, task_id)
    if not may_work_on(ctx.actor, ctx.groups(), row.assignee, row.candidate_users, row.candidate_groups):
        raise refuse(ctx.actor, "complete it", task_id)
    result = finish_step(ctx, row, data)
    ctx.audit.instance_id, ctx.audit.task_id = row.instance_id, task_id
    ctx.audit.data = {"element": row.element_id, "diff": result.pop("diff")}
    if "returned_to" in result:
        ctx.audit.data.update({"delegation": "resolved", "owner": row.owner})
    else:
        ctx.audit.data["handlers"] = result.pop("handlers")
    return result
