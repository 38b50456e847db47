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

A multi-instance (or loop) step is compensated instance by instance: the handler runs once for
each completed instance, with that instance's variables (its element variable, what it set);
an instance that did not complete has nothing to compensate.

A **compensation event subprocess** (an event subprocess with a compensation start event inside
an embedded subprocess S) is S's handler: ``normalize`` moves it beside S, marked
``isForCompensation``, and notes on the throws inside it the scope they compensate
(``yimen.compensation_scope`` = S). So when S is compensated, it runs instead of the handlers of
S's steps; a throw inside it compensates S's completed steps. S has completed by then: its
handlers run in S's (finished) subprocess, whose specs they belong to; the subprocess is marked
running again while they do, and the throw is re-checked by the engine loop
(``engine.bpmn.workflow_fixes``) since it waits in another subprocess.

"""
from __future__ import annotations

from uuid import UUID

from SpiffWorkflow.bpmn.specs.defaults import EndEvent, IntermediateThrowEvent, SubWorkflowTask, TransactionSubprocess
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

COMPENSATES = "yimen.compensates"
SCOPE = "yimen.compensation_scope"
_EMBEDDED = (SubWorkflowTask, TransactionSubprocess)  # embedded subprocesses (not call activities, event subprocesses)
CROSS_THROWS = "yimen_compensation_throws"  # internal data of the top workflow's root: throws waiting elsewhere
_DONE = "yimen_compensated"  # internal data of the scope's root task: ids of compensated step tasks


def _find(top, task_id: str):
    """The task with that id anywhere in the instance, or None once it is gone (cancelled with its branch)."""
    try:
        return top.get_task_from_id(UUID(task_id))
    except TaskNotFoundException:
        return None


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
        top = my_task.workflow.top_workflow
        if not my_task.internal_data.get("yimen_queue_built"):
            my_task._inherit_data()  # the handlers start from the data the flow brought here
            my_task.internal_data["yimen_queue_built"] = True
            my_task.internal_data["yimen_queue"] = self._queue(my_task)
        current = my_task.internal_data.get("yimen_running")
        if current is not None:
            child = _find(top, current)
            if child is not None and not child.has_state(TaskState.FINISHED_MASK):
                return None  # its handler is still running
            if child is not None and child.state == TaskState.COMPLETED:
                local = my_task.internal_data.get("yimen_local") or {}
                # an instance's own variables (its element variable ...) stay with it unless the handler changed them
                changed = {k: v for k, v in child.data.items()
                           if (k not in local or local[k] != v) and (k not in my_task.data or my_task.data[k] != v)}
                my_task.data.update(changed)
                my_task.internal_data.setdefault("yimen_results", {}).update(changed)
            my_task.internal_data["yimen_running"] = None
            my_task.internal_data["yimen_local"] = None
        queue = my_task.internal_data.get("yimen_queue") or []
        if not queue:
            self._finish_elsewhere(my_task)
            ready = super()._update_hook(my_task)  # inherits the flow's data again: the handlers' results win
            my_task.data.update(my_task.internal_data.get("yimen_results") or {})
            return ready
        entry = queue.pop(0)
        if isinstance(entry, str):  # queued by an earlier Yimen: the handler's name only
            entry = {"handler": entry, "local": {}}
        my_task.internal_data["yimen_queue"] = queue
        if entry.get("scope"):  # a step of a finished subprocess: its handler runs in that subprocess
            scope = top.subprocesses[UUID(entry["scope"])]
            scope.completed = False
            reopened = my_task.internal_data.setdefault("yimen_reopened", [])
            if entry["scope"] not in reopened:
                reopened.append(entry["scope"])
            parent = scope.task_tree
            waiting = top.task_tree.internal_data.setdefault(CROSS_THROWS, [])
            if str(my_task.id) not in waiting:
                waiting.append(str(my_task.id))
        else:
            scope, parent = my_task.workflow, my_task
        child = parent._add_child(scope.spec.task_specs[entry["handler"]], TaskState.FUTURE)
        child.triggered = True  # not an output: prediction keeps it
        child.data = {**my_task.data, **entry["local"]}
        if entry.get("step"):
            child.internal_data["yimen_compensating"] = entry["step"]
        my_task.internal_data["yimen_running"] = str(child.id)
        my_task.internal_data["yimen_local"] = entry["local"]
        my_task._set_state(TaskState.WAITING)
        child.task_spec._update(child)
        child.data.update({**my_task.data, **entry["local"]})  # over what it inherited from its parent task
        return None

    def _finish_elsewhere(self, my_task) -> None:
        """The handlers that ran in a finished subprocess are done: it is finished again."""
        top = my_task.workflow.top_workflow
        waiting = top.task_tree.internal_data.get(CROSS_THROWS) or []
        if str(my_task.id) not in waiting:
            return
        waiting.remove(str(my_task.id))
        for scope_id in my_task.internal_data.get("yimen_reopened") or []:
            scope = top.subprocesses.get(UUID(scope_id))
            if scope is not None:
                scope.completed = True

    def _compensated_scope(self, my_task):
        """The finished subprocess a throw inside a compensation event subprocess compensates (or None)."""
        props = (getattr(self, "yimen_meta", None) or {}).get("properties") or {}
        if not props.get(SCOPE):
            return None
        top = my_task.workflow.top_workflow
        handler = top.get_task_from_id(my_task.workflow.parent_task_id) if my_task.workflow.parent_task_id else None
        step = handler.internal_data.get("yimen_compensating") if handler is not None else None
        return top.subprocesses.get(UUID(step)) if step else None

    def _queue(self, my_task) -> list[dict]:
        """What to compensate, latest completed first: each entry names the handler and the variables of
        the compensated step that the throw's data lacks (an instance's element variable, its own results).

        A multi-instance step is compensated instance by instance: each completed instance once, with its
        own variables; an instance that did not complete (cancelled by the completion condition, or still
        open) has nothing to compensate. A throw inside a compensation event subprocess compensates the
        steps of the subprocess that event subprocess belongs to.
        """
        scope, where = self._compensated_scope(my_task), None
        if scope is not None:
            where = str(my_task.workflow.top_workflow.get_task_from_id(my_task.workflow.parent_task_id)
                        .internal_data["yimen_compensating"])
        else:
            scope = my_task.workflow
        found = self._completed(scope, where)
        if where is None:  # and the steps of completed subprocesses that have no handler of their own
            top, handlers = my_task.workflow.top_workflow, handlers_of(scope.spec)
            for t in list(scope.tasks.values()):
                if (t.state == TaskState.COMPLETED and t.id in top.subprocesses and t.task_spec.bpmn_id not in handlers
                        and type(t.task_spec) in _EMBEDDED
                        and (self.activity_ref is None or t.task_spec.bpmn_id == self.activity_ref)):
                    found.extend(self._completed(top.subprocesses[t.id], str(t.id), every=True))
        found.sort(key=lambda entry: entry[1].last_state_change, reverse=True)
        return [{"handler": handler, "local": self._local(t, my_task.data), "step": str(t.id), "scope": at}
                for handler, t, at in found]

    def _completed(self, scope, where, every=False) -> list:
        """(handler, step task, scope id) for each completed, not yet compensated step of ``scope`` that has a
        handler (only ``activityRef`` unless ``every``), marking them compensated."""
        handlers = handlers_of(scope.spec)
        done = set(scope.task_tree.internal_data.get(_DONE, []))
        completed = [t for t in scope.tasks.values()
                     if t.state == TaskState.COMPLETED and t.task_spec.bpmn_id in handlers and str(t.id) not in done
                     and (every or self.activity_ref is None or t.task_spec.bpmn_id == self.activity_ref)
                     and not isinstance(t.task_spec, LoopTask)]  # the instances, not their multi-instance parent
        scope.task_tree.internal_data[_DONE] = sorted(done | {str(t.id) for t in completed})
        return [(handlers[t.task_spec.bpmn_id], t, where) for t in completed]

    @staticmethod
    def _local(step, data: dict) -> dict:
        if step.parent is None or not isinstance(step.parent.task_spec, LoopTask):
            return {}
        return {k: v for k, v in step.data.items() if k not in data or data[k] != v}


def recheck_waiting_throws(top) -> None:
    """Re-check the throws whose handlers run in another (finished) subprocess: that subprocess's own
    completion does not reach them."""
    waiting = top.task_tree.internal_data.get(CROSS_THROWS)
    for task_id in list(waiting or []):
        task = _find(top, task_id)
        if task is None:
            waiting.remove(task_id)
        elif task.state == TaskState.WAITING:
            task.task_spec._update(task)


class CompensationThrow(_Compensating, IntermediateThrowEvent):
    def __init__(self, wf_spec, bpmn_id, activity_ref=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, NoneEventDefinition(), **kwargs)
        self.activity_ref = activity_ref


class CompensationEnd(_Compensating, EndEvent):
    def __init__(self, wf_spec, bpmn_id, activity_ref=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, NoneEventDefinition(), **kwargs)
        self.activity_ref = activity_ref
