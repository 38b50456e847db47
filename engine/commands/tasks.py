"""Claim, unclaim and complete human tasks.

The permission check happens on the loaded task row (its assignee and
candidates), after the row is found; completing an already finished task is
``InvalidState``; two people completing one task at once: one wins, the
other gets ``Conflict`` from the instance's version column. Claims, hand-overs
and completions first write (or lock) the row with ``change_open_task``, a
conditional update on what they read: of two racing, exactly one wins on
SQLite and PostgreSQL alike.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ..assignment import check_data, may_claim, may_work_on, refuse
from ..context import Ctx, command
from ..errors import Conflict, InvalidState, NotFound, ValidationError
from ..models import HumanTask, TaskStatus


def load_open_task(ctx: Ctx, task_id: str) -> HumanTask:
    """The open task row with this id, or the reason it cannot be acted on."""
    if not isinstance(task_id, str) or not task_id:
        raise ValidationError("a task id is required")
    row = ctx.session.identity_map.get(identity_key(HumanTask, task_id))  # read by the caller's visibility check
    if row is None:
        row = ctx.session.execute(_TASK_BY_ID, {"task_id": task_id}).scalar_one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} does not exist", task_id=task_id, what="task")
    if row.status != TaskStatus.OPEN:
        raise InvalidState(f"task {task_id} is {row.status}, not open", task_id=task_id, status=row.status,
                           refusal="task_closed")
    return row


# Prebuilt: every task verb starts here (a prebuilt select costs about half of ``session.get``).
_TASK_BY_ID = select(HumanTask).where(HumanTask.id == bindparam("task_id"))

_TASKS = HumanTask.__table__
# The row as the command read it: still open, with the same hands (assignee, owner, delegation).
_AS_READ = _TASKS.update().where(
    _TASKS.c.id == bindparam("row_id"), _TASKS.c.status == TaskStatus.OPEN,
    _TASKS.c.assignee.is_not_distinct_from(bindparam("seen_assignee")),
    _TASKS.c.owner.is_not_distinct_from(bindparam("seen_owner")),
    _TASKS.c.delegation.is_not_distinct_from(bindparam("seen_delegation")))


def change_open_task(ctx: Ctx, row: HumanTask, **values: Any) -> None:
    """Write ``values`` to the task row (with none: only lock it) if it is still as this command read it.

    One conditional ``UPDATE ... WHERE id = ? AND status = 'open' AND assignee/owner/delegation are
    as read``, run before anything else changes. On PostgreSQL it waits for a command holding the row
    and then checks what that one committed, so of two claims, or a claim and a completion, the
    second hits no row and gets ``Conflict`` (an unconditional write flushed first let both win:
    issue 13). Every verb that changes a task's hands or finishes it goes through here.
    """
    state = inspect(row)
    seen = {f"seen_{name}": state.committed_state.get(name, getattr(row, name))
            for name in ("assignee", "owner", "delegation")}
    statement = _AS_READ.values(**values) if values else _AS_READ.values(assignee=_TASKS.c.assignee)
    hit = ctx.session.connection().execute(statement, {"row_id": row.id, **seen}).rowcount
    if hit != 1:
        raise Conflict(f"task {row.id} was claimed, handed over or finished by someone else meanwhile; "
                       "reload and try again", task_id=row.id)
    for name, value in values.items():
        set_committed_value(row, name, value)


@command("task.claim")
def claim(ctx: Ctx, task_id: str, assignee: str | None = None) -> dict:
    row = load_open_task(ctx, task_id)
    user = assignee or ctx.actor.id
    if user != ctx.actor.id and not ctx.actor.is_admin:
        raise refuse(ctx.actor, "claim it for someone else", task_id)
    if row.assignee and row.assignee != user:
        raise InvalidState(f"task {task_id} is already claimed by '{row.assignee}'", task_id=task_id,
                           refusal="already_claimed")
    if not may_claim(ctx.actor, ctx.groups(), row.candidate_users, row.candidate_groups):
        raise refuse(ctx.actor, "claim it", task_id)
    change_open_task(ctx, row, assignee=user)
    touch_instance(ctx, row)
    ctx.audit.instance_id, ctx.audit.task_id = row.instance_id, task_id
    ctx.audit.data = {"assignee": user}
    return {"task": task_id, "assignee": user}


@command("task.unclaim")
def unclaim(ctx: Ctx, task_id: str) -> dict:
    row = load_open_task(ctx, task_id)
    if not row.assignee:
        raise InvalidState(f"task {task_id} is not claimed", task_id=task_id, refusal="not_claimed")
    if row.assignee != ctx.actor.id and not ctx.actor.is_admin:
        raise refuse(ctx.actor, "unclaim it", task_id)
    previous = row.assignee
    change_open_task(ctx, row, assignee=None)
    touch_instance(ctx, row)
    ctx.audit.instance_id, ctx.audit.task_id = row.instance_id, task_id
    ctx.audit.data = {"previous_assignee": previous}
    return {"task": task_id, "assignee": None}


def touch_instance(ctx: Ctx, row: HumanTask) -> None:
    """Bump the instance version (after ``change_open_task``), so a command that read the instance before
    this change cannot save over it."""
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
