"""The one engine path that finishes a human step (办结一个环节).

Every verb that finishes a step — the generic complete, the decision verb
(同意/不同意), the window's acceptance verbs, the 告知承诺 verification and the
escalation's automatic decisions — calls ``finish_step`` after its own
permission check, so the rules of finishing hold on every path:

* 委派 (delegation): a delegate's work (data, and a decision's opinion recorded
  as the delegate's assisting opinion) goes back to the owner, who finishes
  the step; the step is not completed;
* the step must be ready in its process;
* a multi-person step (approval modes) needs ``approved`` true or false;
* the step's form fields are typed and checked;
* the row is closed with the completer, so 撤回 (withdraw) knows who may take
  it back, and the process advances (case status, clock and notices follow).
"""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm.attributes import set_committed_value

from . import runtime
from .audit import diff
from .bpmn.specs import approval_mode
from .errors import InvalidState, ValidationError
from .forms import coerce
from .models import HumanTask

DELEGATE_DECISIONS = {"approved": "delegate_approved", "rejected": "delegate_rejected"}


def _not_during_special_procedure(ctx, row: HumanTask) -> None:
    """While a 特别程序 runs the clock is paused and the case waits for its result: no step of it finishes."""
    from sqlalchemy import select

    from .cases import case_in_session
    from .models import ApprovalCase
    from .models.cases import CaseStatus

    # The verb may have read the case already (no statement); else it is read whole, as the case's lifecycle
    # reads it again after the step.
    case = case_in_session(ctx.session, row.instance_id) or ctx.session.scalars(select(ApprovalCase).where(
        ApprovalCase.instance_id == row.instance_id)).first()
    status = case.status if case is not None else None
    if status == CaseStatus.SPECIAL_PROCEDURE:
        raise InvalidState("a special procedure (特别程序) is running on this case: record its result first, "
                           "then finish the step", task_id=row.id, refusal="special_procedure_running")


def finish_step(ctx, row: HumanTask, data: dict[str, Any], *, case=None, decision: str | None = None,
                opinion: str | None = None) -> dict[str, Any]:
    """Finish (or, for a delegate, hand back) the open step ``row`` with ``data``.

    ``decision`` and ``opinion`` (a decision verb's) are recorded on ``case`` as the step's opinion; a
    delegate's are recorded as an assisting opinion (协办意见) and the step returns to its owner.
    """
    from .cases import record_opinion
    from .commands.tasks import change_open_task

    change_open_task(ctx, row)  # still open and in the hands it was read in: a racing claim or hand-over loses
    _not_during_special_procedure(ctx, row)
    running = runtime.load(ctx, row.instance_id)
    task = runtime.spiff_task(running, row.spiff_task_id)
    if task.state != TaskState.READY:
        raise InvalidState(f"task {row.id} is not ready in its process", task_id=row.id)
    if approval_mode(task.task_spec) is not None and not isinstance(data.get("approved"), bool):
        raise ValidationError(f"step '{row.element_id}' is a multi-person approval: give approved=true or false",
                              task_id=row.id)
    fields = (running.definition.meta.get(row.element_id) or {}).get("form_fields")
    if fields:  # the step's form (camunda:formData, formProperty, yimen.formSchema): typed and checked
        data = {**data, **coerce(fields, data)}
    delegated = row.delegation == "pending"
    if case is not None and decision is not None:
        record_opinion(ctx, case, row, DELEGATE_DECISIONS.get(decision, decision) if delegated else decision,
                       opinion)
    before = dict(task.data)
    task.data.update(data)
    changed = diff(before, task.data)
    if delegated:
        # 委派: the delegate's work goes back to the owner, who completes the step.
        row.assignee, row.delegation = row.owner, "resolved"
        runtime.save(ctx, running)
        return {"task": row.id, "instance": row.instance_id, "status": running.instance.status,
                "returned_to": row.owner, "delegation": "resolved", "diff": changed}
    task.run()
    # The row is closed by runtime's sync, which writes these with its status in one statement: told as
    # committed, they are not flushed on their own before it.
    set_committed_value(row, "outcome", "completed")
    set_committed_value(row, "completed_by", ctx.actor.id)
    runtime.advance(ctx, running)
    return {"task": row.id, "instance": row.instance_id, "status": running.instance.status, "diff": changed,
            "handlers": running.events}
