"""Return (退回) a case to an earlier user step it has passed, with a reason.

The returned-to step opens again as a new task; tasks on parallel branches
that the return abandons are cancelled, and their timers and subscriptions go
with them (SpiffWorkflow resets the task tree from the earlier step).
"""
from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

from .. import runtime
from ..assignment import may_work_on, refuse
from ..context import Ctx, command
from ..errors import InvalidState, NotFound, ValidationError
from .tasks import change_open_task, load_open_task


def _ancestors(task):
    node = task.parent
    while node is not None:
        yield node
        node = node.parent


@command("task.return")
def return_to(ctx: Ctx, task_id: str, target: str, reason: str) -> dict:
    if not reason or not str(reason).strip():
        raise ValidationError("a return (退回) needs a reason", refusal="required", field="reason")
    row = load_open_task(ctx, task_id)
    if not may_work_on(ctx.actor, ctx.groups(), row.assignee, row.candidate_users, row.candidate_groups):
        raise refuse(ctx.actor, "return it", task_id)
    change_open_task(ctx, row)  # still open as read: a racing return or completion loses here, not in the diagram
    running = runtime.load(ctx, row.instance_id)
    current = runtime.spiff_task(running, row.spiff_task_id)
    spec_ids = {ts.bpmn_id for ts in current.workflow.spec.task_specs.values()}
    if target not in spec_ids:
        raise NotFound(f"step '{target}' does not exist in this process", target=target)
    passed = [t for t in _ancestors(current)
              if t.task_spec.bpmn_id == target and t.state == TaskState.COMPLETED and t.task_spec.manual]
    if not passed:
        raise InvalidState(f"the case has not passed user step '{target}' on its way to '{row.element_id}'; "
                           "it can only be returned to an earlier step", target=target, refusal="not_passed")
    earlier = passed[0]  # nearest: the latest time the case went through that step
    running.workflow.reset_from_task_id(earlier.id)
    row.outcome = "returned"
    ctx.held_task_notices = []
    try:
        runtime.advance(ctx, running)
    finally:
        held, ctx.held_task_notices = ctx.held_task_notices, None
    reopened = [t for t in runtime.open_rows(ctx, row.instance_id) if t.spiff_task_id == str(earlier.id)]
    _record_and_tell(ctx, row, target, reason, reopened)
    told = {t.id for t in reopened}
    for instance, row_id, name, people, name_en in held:  # other steps the return opened: told as new tasks
        if row_id not in told:
            runtime.tell_staff(ctx, instance, people, "new_task", name, name_en, {"task": row_id})
    ctx.audit.instance_id, ctx.audit.task_id = row.instance_id, task_id
    ctx.audit.data = {"from": row.element_id, "to": target, "reason": reason,
                      "new_task": reopened[0].id if reopened else None}
    return {"task": task_id, "returned_to": target, "new_task": reopened[0].id if reopened else None}


def _record_and_tell(ctx: Ctx, row, target: str, reason: str, reopened) -> None:
    """退回 is an opinion on the case (with its reason), and the people of the reopened step are told, in-app:
    whoever did that step before, and whoever holds it now (its assignee or named candidates; its group's
    members when nobody is named). They get this notice instead of a "new task" one for the reopened step."""
    from sqlalchemy import select

    from ..cases import case_of_instance, record_opinion
    from ..models import HumanTask, ProcessInstance
    from .notices import handlers_of

    case = case_of_instance(ctx.session, row.instance_id)
    if case is not None:
        record_opinion(ctx, case, row, "returned", reason)
    instance = ctx.session.get(ProcessInstance, row.instance_id)
    before = ctx.session.scalars(select(HumanTask.completed_by).where(
        HumanTask.instance_id == row.instance_id, HumanTask.element_id == target,
        HumanTask.completed_by.is_not(None)).order_by(HumanTask.completed_at.desc())).first()
    for step in reopened:
        named = [step.assignee] if step.assignee else list(step.candidate_users or [])
        people = [p for p in [before, *named] if p] or handlers_of(ctx, step)
        runtime.tell_staff(ctx, instance, people, "returned", step.name, step.name_en, {"task": step.id},
                           text=reason)
