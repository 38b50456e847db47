"""Add (加签) or remove (减签) a signer of a running multi-person step.

Only steps drawn as multi-instance over a collection of users are
multi-person; adding a signer to any other step is refused. In a parallel
countersign the new signer gets a task at once; in a sequential one (依次) the
new signer is placed just before or just after the current signer.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    MultiInstanceTask, SequentialMultiInstanceTask,
)
from SpiffWorkflow.util.task import TaskState

from .. import runtime
from ..assignment import may_work_on, refuse
from ..context import Ctx, command
from ..errors import InvalidState, NotFound, PermissionDenied, ValidationError
from ..models import User
from .tasks import change_open_task, load_open_task


def _step(ctx: Ctx, task_id: str):
    row = load_open_task(ctx, task_id)
    if not may_work_on(ctx.actor, ctx.groups(), row.assignee, row.candidate_users, row.candidate_groups):
        raise refuse(ctx.actor, "change the signers of its step", task_id)
    change_open_task(ctx, row)  # still open as read: a racing completion loses here, not in the diagram
    running = runtime.load(ctx, row.instance_id)
    task = runtime.spiff_task(running, row.spiff_task_id)
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, MultiInstanceTask):
        raise InvalidState(f"step '{row.element_id}' is not a multi-person step; signers cannot be added or removed")
    spec = parent.task_spec
    if spec.data_input is None:
        raise InvalidState(f"step '{row.element_id}' counts instances (loopCardinality); "
                           "signers can only be changed on a step over a collection of users")
    collection = spec.data_input.get(parent)
    if not isinstance(collection, list):
        raise InvalidState(f"the signers of step '{row.element_id}' are not a list")
    return row, running, task, parent, spec, collection


@command("task.add_signer")
def add_signer(ctx: Ctx, task_id: str, user: str, position: str = "after") -> dict:
    if position not in ("before", "after"):
        raise ValidationError("position must be 'before' or 'after'")
    if not isinstance(user, str) or ctx.session.get(User, user) is None:
        raise NotFound(f"user '{user}' does not exist", user=user)
    row, running, task, parent, spec, collection = _step(ctx, task_id)
    from ..inbox import receiver_problem

    problem = receiver_problem(ctx.session, row, user)
    if problem:
        raise PermissionDenied(f"'{user}' cannot sign step '{row.element_id}': {problem}", task_id=task_id, user=user)
    active = [c for c in parent.children if c.task_spec.name == spec.task_spec and not c.has_state(TaskState.FINISHED_MASK)]
    current_signers = {collection[c.internal_data["key_or_index"]] for c in active if "key_or_index" in c.internal_data}
    pending = [collection[i] for i in parent.internal_data.get("remaining", [])]
    if user in current_signers or user in pending:
        raise InvalidState(f"'{user}' is already a signer of this step")
    collection.append(user)
    index = len(collection) - 1
    # Each open signer's task holds its own copy of the list; finishing it merges that copy back into the
    # step, so every copy must know the new signer (else the merge drops them and the next index is gone).
    for child in parent.children:
        if not child.has_state(TaskState.FINISHED_MASK) and isinstance(child.data.get(spec.data_input.bpmn_id), list):
            child.data[spec.data_input.bpmn_id] = list(collection)
    if isinstance(spec, SequentialMultiInstanceTask):
        remaining = parent.internal_data.setdefault("remaining", [])
        if position == "after":
            remaining.insert(0, index)
        else:
            # the new signer acts first; the current signer gets the step back afterwards
            current_index = task.internal_data.get("key_or_index")
            task.cancel()
            remaining[:0] = [index, current_index]
            spec.add_next_child(parent)
    else:
        spec.create_child(parent, user, index)
    runtime.advance(ctx, running)
    ctx.audit.instance_id, ctx.audit.task_id = row.instance_id, task_id
    ctx.audit.data = {"element": row.element_id, "added": user, "position": position, "signers": list(collection)}
    return {"task": task_id, "signers": list(collection)}


@command("task.remove_signer")
def remove_signer(ctx: Ctx, task_id: str, user: str) -> dict:
    row, running, task, parent, spec, collection = _step(ctx, task_id)
    if isinstance(spec, SequentialMultiInstanceTask):
        remaining = parent.internal_data.get("remaining", [])
        matches = [i for i in remaining if collection[i] == user]
        if not matches:
            raise InvalidState(f"'{user}' is not a signer still waiting in this step")
        remaining.remove(matches[0])
    else:
        targets = [c for c in parent.children if c.task_spec.name == spec.task_spec
                   and not c.has_state(TaskState.FINISHED_MASK)
                   and collection[c.internal_data.get("key_or_index", -1)] == user]
        if not targets:
            raise InvalidState(f"'{user}' has no open task in this step")
        open_count = sum(1 for c in parent.children if c.task_spec.name == spec.task_spec
                         and not c.has_state(TaskState.FINISHED_MASK))
        if open_count <= 1 and not parent.internal_data.get("merged"):
            raise InvalidState("the last signer of a step cannot be removed")
        targets[0].cancel()
        if spec.children_complete(parent) or spec.check_completion_condition(parent):
            parent._set_state(TaskState.READY)
    runtime.advance(ctx, running)
    ctx.audit.instance_id, ctx.audit.task_id = row.instance_id, task_id
    ctx.audit.data = {"element": row.element_id, "removed": user}
    return {"task": task_id, "removed": user}
