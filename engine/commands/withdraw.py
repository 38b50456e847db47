"""Withdraw (撤回) one's own last completion while nobody has acted on the next step.

"Acted on" means any person's command on the case after that completion
(a claim, a completion, a transfer...); system work such as handlers and
timers does not count. The withdrawn step opens again for the same person.
"""
from __future__ import annotations

from sqlalchemy import select

from .. import runtime
from ..context import Ctx, command
from ..errors import InvalidState, NotFound, PermissionDenied
from ..models import AuditEvent, HumanTask, TaskStatus


@command("task.withdraw")
def withdraw(ctx: Ctx, task_id: str) -> dict:
    row = ctx.session.get(HumanTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} does not exist", task_id=task_id)
    if row.status != TaskStatus.COMPLETED or row.outcome != "completed":
        raise InvalidState(f"task {task_id} is {row.status}; only a completed task can be withdrawn")
    if row.completed_by != ctx.actor.id and not ctx.actor.is_admin:
        raise PermissionDenied(f"user '{ctx.actor.id}' did not complete task {task_id}; only its completer may withdraw")
    latest = ctx.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == row.instance_id, HumanTask.status == TaskStatus.COMPLETED)
        .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc()).limit(1)).first()
    if latest is None or latest.id != row.id:
        raise InvalidState(f"task {task_id} is not the latest completion in this case; the next step was acted on")
    done = ctx.session.scalars(
        select(AuditEvent.seq).where(AuditEvent.action == "task.complete", AuditEvent.task_id == task_id)
        .order_by(AuditEvent.seq.desc()).limit(1)).first()
    acted = ctx.session.scalars(
        select(AuditEvent).where(AuditEvent.instance_id == row.instance_id, AuditEvent.seq > (done or 0),
                                 AuditEvent.actor != "system").limit(1)).first()
    if acted is not None:
        raise InvalidState(f"the next step was already acted on ({acted.action} by {acted.actor}); "
                           "withdraw is no longer possible")
    running = runtime.load(ctx, row.instance_id)
    task = runtime.spiff_task(running, row.spiff_task_id)
    running.workflow.reset_from_task_id(task.id)
    for other in runtime.open_rows(ctx, row.instance_id):
        other.outcome = "withdrawn"
    row.outcome = "withdrawn"
    runtime.advance(ctx, running)
    reopened = [t for t in runtime.open_rows(ctx, row.instance_id) if t.spiff_task_id == row.spiff_task_id]
    for new in reopened:
        new.assignee = row.completed_by
    ctx.audit.instance_id, ctx.audit.task_id = row.instance_id, task_id
    ctx.audit.data = {"element": row.element_id, "new_task": reopened[0].id if reopened else None}
    return {"task": task_id, "new_task": reopened[0].id if reopened else None}
