"""Compensation (补偿): undoing completed steps, which SpiffWorkflow 3.2.0 does not have at all.

A step with a compensation boundary event names, through an association, its handler: an
activity marked ``isForCompensation="true"`` that is not on the flow. A compensation throw
(an intermediate throw or an end event with ``compensateEventDefinition``) runs, one after
the other and the most recently completed first, the handler of every step of its scope
(process or subprocess) that has completed and not been compensated yet, then goes on. With
an ``activityRef`` it compensates that step only. A step that has not completed has nothing
to compensate: the throw just goes on ("compensate nothing").

* ``engine.bpmn.normalize`` removes the compensation boundary events and their associations
  (SpiffWorkflow refuses such a boundary) and notes on each handler the step it compensates
  (the extension property ``yimen.compensates``);
* the process parser builds the handlers' specs, though no flow reaches them;
* ``CompensationThrow`` waits while its handlers run as its own children (their human tasks
  are ordinary task rows), and is re-checked whenever a step completes.

"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.defaults import EndEvent, IntermediateThrowEvent
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.util.task import TaskState

COMPENSATES = "yimen.compensates"
_DONE = "yimen_compensated"  # internal data of the scope's root task: ids of compensated step tasks


def handlers_of(spec) -> dict[str, str]:
    """Step id -> handler spec name, for the handlers of one scope spec."""
    out = {}
    for task_spec in spec.task_specs.values():
        props = (getattr(task_spec, "yimen_meta", None) or {}).get("properties") or {}
        if props.get(COMPENSATES):
            out[props[COMPENSATES]] = task_spec.name
    return out


class _Compensating:
    """Shared by the intermediate and the end throw."""

    def _update_hook(self, my_task):
        if not my_task.internal_data.get("yimen_queue_built"):
            my_task.internal_data["yimen_queue_built"] = True
            my_task.internal_data["yimen_queue"] = self._queue(my_task)
        current = my_task.internal_data.get("yimen_running")
        if current is not None:
            child = next((c for c in my_task.children if str(c.id) == current), None)
            if child is not None and not child.has_state(TaskState.FINISHED_MASK):
                return None  # its handler is still running
            if child is not None and child.state == TaskState.COMPLETED:
                local = my_task.internal_data.get("yimen_local") or {}
                # an instance's own variables (its element variable ...) stay with it unless the handler changed them
                my_task.data.update({k: v for k, v in child.data.items() if k not in local or local[k] != v})
            my_task.internal_data["yimen_running"] = None
            my_task.internal_data["yimen_local"] = None
        queue = my_task.internal_data.get("yimen_queue") or []
        if not queue:
            return super()._update_hook(my_task)
        entry = queue.pop(0)
        if isinstance(entry, str):  # queued by an earlier Yimen: the handler's name only
            entry = {"handler": entry, "local": {}}
        my_task.internal_data["yimen_queue"] = queue
        child = my_task._add_child(my_task.workflow.spec.task_specs[entry["handler"]], TaskState.FUTURE)
        child.triggered = True  # not an output: prediction keeps it
        child.data = {**my_task.data, **entry["local"]}
        my_task.internal_data["yimen_running"] = str(child.id)
        my_task.internal_data["yimen_local"] = entry["local"]
        my_task._set_state(TaskState.WAITING)
        child.task_spec._update(child)
        return None

    def _queue(self, my_task) -> list[dict]:
        """What to compensate, latest completed first: each entry names the handler and the variables of
        the compensated step that the throw's data lacks (an instance's element variable, its own results).

        A multi-instance step is compensated instance by instance: each completed instance once, with its
        own variables; an instance that did not complete (cancelled by the completion condition, or still
        open) has nothing to compensate.
        """
        scope = my_task.workflow
        handlers = handlers_of(scope.spec)
        done = set(scope.task_tree.internal_data.get(_DONE, []))
        completed = [t for t in scope.tasks.values()
                     if t.state == TaskState.COMPLETED and t.task_spec.bpmn_id in handlers and str(t.id) not in done
                     and (self.activity_ref is None or t.task_spec.bpmn_id == self.activity_ref)
                     and not isinstance(t.task_spec, LoopTask)]  # the instances, not their multi-instance parent
        completed.sort(key=lambda t: t.last_state_change, reverse=True)
        scope.task_tree.internal_data[_DONE] = sorted(done | {str(t.id) for t in completed})
        return [{"handler": handlers[t.task_spec.bpmn_id], "local": self._local(t, my_task.data)} for t in completed]

    @staticmethod
    def _local(step, data: dict) -> dict:
        if step.parent is None or not isinstance(step.parent.task_spec, LoopTask):
            return {}
        return {k: v for k, v in step.data.items() if k not in data or data[k] != v}


class CompensationThrow(_Compensating, IntermediateThrowEvent):
    def __init__(self, wf_spec, bpmn_id, activity_ref=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, NoneEventDefinition(), **kwargs)
        self.activity_ref = activity_ref


class CompensationEnd(_Compensating, EndEvent):
    def __init__(self, wf_spec, bpmn_id, activity_ref=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, NoneEventDefinition(), **kwargs)
        self.activity_ref = activity_ref
