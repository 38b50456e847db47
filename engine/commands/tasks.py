"""Claim, unclaim and complete human tasks.

The permission check happens on the loaded task row (its assignee and
candidates), after the row is found; completing an already finished task is
``InvalidState``; two people completing one task at once: one wins, the
other gets ``Conflict`` from the instance's version column.
"""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select

from .. import runtime
from ..assignment import check_data, may_claim, may_work_on, refuse
from ..audit import diff
from ..bpmn.specs import approval_mode
from ..context import Ctx, command
from ..errors import InvalidState, NotFound, ValidationError
from ..forms import coerce
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
    data = check_data(data)
    row = load_open_task(ctx, task_id)
    if not may_work_on(ctx.actor, ctx.groups(), row.assignee, row.candidate_users, row.candidate_groups):
        raise refuse(ctx.actor, "complete it", task_id)
    running = runtime.load(ctx, row.instance_id)
    task = runtime.spiff_task(running, row.spiff_task_id)
    if task.state != TaskState.READY:
        raise InvalidState(f"task {task_id} is not ready in its process", task_id=task_id)
    if approval_mode(task.task_spec) is not None and not isinstance(data.get("approved"), bool):
        raise ValidationError(f"step '{row.element_id}' is a multi-person approval: give approved=true or false",
                              task_id=task_id)
    fields = (running.definition.meta.get(row.element_id) or {}).get("form_fields")
    if fields:  # the step's form (camunda:formData, formProperty, yimen.formSchema): typed and checked
        data = {**data, **coerce(fields, data)}
    before = dict(task.data)
    task.data.update(data)
    if row.delegation == "pending":
        # 委派: the delegate's work goes back to the owner, who completes the step.
        row.assignee, row.delegation = row.owner, "resolved"
        runtime.save(ctx, running)
        ctx.audit.instance_id, ctx.audit.task_id = row.instance_id, task_id
        ctx.audit.data = {"element": row.element_id, "delegation": "resolved", "owner": row.owner,
                          "diff": diff(before, task.data)}
        return {"task": task_id, "instance": row.instance_id, "status": running.instance.status,
                "returned_to": row.owner}
    task.run()
    row.outcome, row.completed_by = "completed", ctx.actor.id  # the row is closed by runtime's sync
    runtime.advance(ctx, running)
    ctx.audit.instance_id, ctx.audit.task_id = row.instance_id, task_id
    ctx.audit.data = {"element": row.element_id, "diff": diff(before, task.data), "handlers": running.events}
    return {"task": task_id, "instance": row.instance_id, "status": running.instance.status}
