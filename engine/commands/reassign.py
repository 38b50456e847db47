"""Transfer (转办) and delegate (委派) a task to another person.

Transfer hands the task over for good. Delegation keeps an owner: the
delegate's completion returns the task, with their data, to the owner, who
then completes the step (see ``tasks.complete``).
"""
from __future__ import annotations

from ..assignment import may_work_on, refuse
from ..context import Ctx, command
from ..errors import InvalidState, NotFound, PermissionDenied, ValidationError
from ..models import User
from .tasks import change_open_task, load_open_task, touch_instance


def _target(ctx: Ctx, user: str, row=None) -> str:
    """The person a step goes to: one rule (``engine.inbox.receiver_problem``) for every hand-over."""
    if not isinstance(user, str) or not user.strip():
        raise ValidationError("name the user to hand the task to", refusal="required", field="user")
    if ctx.session.get(User, user) is None:
        raise NotFound(f"user '{user}' does not exist", user=user, what="user")
    if row is not None:
        from ..inbox import receiver_problem

        problem = receiver_problem(ctx.session, row, user)
        if problem:
            raise PermissionDenied(f"task {row.id} cannot go to {problem}", task_id=row.id, user=user,
                                   refusal="receiver_not_entitled")
    return user


@command("task.transfer")
def transfer(ctx: Ctx, task_id: str, to_user: str, reason: str | None = None) -> dict:
    row = load_open_task(ctx, task_id)
    if not may_work_on(ctx.actor, ctx.groups(), row.assignee, row.candidate_users, row.candidate_groups):
        raise refuse(ctx.actor, "transfer it", task_id)
    to_user = _target(ctx, to_user, row)
    if row.delegation == "pending":
        raise InvalidState(f"task {task_id} is delegated to '{row.assignee}'; it must come back first",
                           refusal="delegated")
    if row.assignee == to_user:
        raise InvalidState(f"task {task_id} is already assigned to '{to_user}'", refusal="already_assigned")
    previous = row.assignee
    change_open_task(ctx, row, assignee=to_user, owner=None)
    touch_instance(ctx, row)
    ctx.audit.instance_id, ctx.audit.task_id = row.instance_id, task_id
    ctx.audit.data = {"from": previous, "to": to_user, "reason": reason}
    return {"task": task_id, "assignee": to_user}


@command("task.delegate")
def delegate(ctx: Ctx, task_id: str, to_user: str, note: str | None = None) -> dict:
    row = load_open_task(ctx, task_id)
    if not row.assignee:
        raise InvalidState(f"task {task_id} must be claimed before it can be delegated", refusal="not_claimed")
    if row.assignee != ctx.actor.id and not ctx.actor.is_admin:
        raise refuse(ctx.actor, "delegate it (only its assignee can)", task_id)
    if row.delegation == "pending":
        raise InvalidState(f"task {task_id} is already delegated to '{row.assignee}'", refusal="delegated")
    to_user = _target(ctx, to_user, row)
    if to_user == row.assignee:
        raise InvalidState("a task cannot be delegated to its own assignee", refusal="already_assigned")
    change_open_task(ctx, row, owner=row.assignee, assignee=to_user, delegation="pending")
    touch_instance(ctx, row)
    ctx.audit.instance_id, ctx.audit.task_id = row.instance_id, task_id
    ctx.audit.data = {"owner": row.owner, "delegate": to_user, "note": note}
    return {"task": task_id, "assignee": to_user, "owner": row.owner}
