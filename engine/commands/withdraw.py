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


def withdraw_problem(session, row: HumanTask, user_id: str, is_admin: bool = False) -> str | None:
    """Why ``user_id`` may not withdraw the finished step ``row`` now, or None when they may (one rule)."""
    if row.status != TaskStatus.COMPLETED or row.outcome != "completed":
        return f"task {row.id} is {row.status}; only a completed task can be withdrawn"
    if row.completed_by != user_id and not is_admin:
        return f"user '{user_id}' did not complete task {row.id}; only its completer may withdraw"
    # The event of the verb that finished the step, whichever it was (complete, decide, a window verb...):
    # nothing but that verb acts on a step's row after it is closed. Order is the audit chain's, never clock
    # time (two completions can carry the same moment).
    done = session.scalars(
        select(AuditEvent.seq).where(AuditEvent.instance_id == row.instance_id, AuditEvent.task_id == row.id)
        .order_by(AuditEvent.seq.desc()).limit(1)).first()
    later = session.scalars(
        select(HumanTask.id).where(HumanTask.status == TaskStatus.COMPLETED, HumanTask.id.in_(
            select(AuditEvent.task_id).where(AuditEvent.instance_id == row.instance_id,
                                             AuditEvent.seq > (done or 0), AuditEvent.task_id != row.id)))
        .limit(1)).first()
    if later is not None:
        return f"task {row.id} is not the latest completion in this case; the next step was acted on"
    acted = session.execute(
        select(AuditEvent.action, AuditEvent.actor).where(
            AuditEvent.instance_id == row.instance_id, AuditEvent.seq > (done or 0),
            AuditEvent.actor != "system").order_by(AuditEvent.seq).limit(1)).first()
    if acted is not None:
        return (f"the next step was already acted on ({acted.action} by {acted.actor}); "
                "withdraw is no longer possible")
    return None


def withdrawable(session, instance_id: int, user_id: str) -> str | None:
    """The step of this instance the user may still withdraw (their latest completion), for the pages."""
    mine = session.scalars(
        select(AuditEvent.task_id).join(HumanTask, HumanTask.id == AuditEvent.task_id).where(
            AuditEvent.instance_id == instance_id, HumanTask.status == TaskStatus.COMPLETED,
            HumanTask.outcome == "completed", HumanTask.completed_by == user_id)
        .order_by(AuditEvent.seq.desc()).limit(1)).first()
    latest = session.get(HumanTask, mine) if mine else None
    if latest is None or withdraw_problem(session, latest, user_id) is not None:
        return None
    return latest.id


@command("task.withdraw")
def withdraw(ctx: Ctx, task_id: str) -> dict:
    row = ctx.session.get(HumanTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} does not exist", task_id=task_id)
    problem = withdraw_problem(ctx.session, row, ctx.actor.id, bool(ctx.actor.is_admin))
    if problem is not None:
        if row.completed_by != ctx.actor.id and not ctx.actor.is_admin and row.status == TaskStatus.COMPLETED:
            raise PermissionDenied(problem)
        raise InvalidState(problem)
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
