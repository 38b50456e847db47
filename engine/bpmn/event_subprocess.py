"""Event subprocesses (``<subProcess triggeredByEvent="true">``) as Yimen runs them.

SpiffWorkflow 3.2 parses an event subprocess as a plain subprocess, keeps a
message start as a "trigger spec" (no waiting task, so nothing a row could
mirror), never interrupts, and connects specs while an instance runs. Yimen
gives the enclosing scope (a process or an embedded subprocess) one waiting
task per event subprocess instead, started beside the main flow:

* while it waits it is a catching task in SpiffWorkflow's event manager, so
  the runtime mirrors it as a subscription or timer row like any catch event;
* when its event arrives it runs the event subprocess. An interrupting one
  first cancels everything else still open in the scope; a non-interrupting
  one first arms a fresh waiting task (messages, signals, escalations, the
  rest of a timer cycle) so it can trigger again;
* the scope's end does not wait for untriggered ones, it cancels them.

Every spec here is built by the parser; a running instance only adds tasks,
so the cached spec of a deployed version is shared safely by all instances.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.control import BpmnStartTask, _EndJoin
from SpiffWorkflow.bpmn.specs.defaults import StartEvent, SubWorkflowTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskIterator, TaskState

# where an untriggered event subprocess task can be: predicted, or waiting for its event
_NOT_TRIGGERED = TaskState.PREDICTED_MASK | TaskState.FUTURE | TaskState.WAITING
_LIVE = TaskState.WAITING | TaskState.READY | TaskState.STARTED


class EventSubprocessTask(SubWorkflowTask):
    """Waits for the start event of an event subprocess, then runs the subprocess.

    ``event_definition``, ``cancel_activity`` and ``start_id`` are those of the
    subprocess' start event (``start_id`` names the rows that mirror the wait).
    """

    def __init__(self, wf_spec, bpmn_id, subworkflow_spec, event_definition, cancel_activity=True, start_id=None,
                 **kwargs):
        super().__init__(wf_spec, bpmn_id, subworkflow_spec, **kwargs)
        self.event_definition = event_definition
        self.cancel_activity = cancel_activity
        self.start_id = start_id

    # --- waiting, as a catching event ----------------------------------------------------------------

    def catches(self, my_task, event):
        return self.event_definition.catches(my_task, event)

    def catch(self, my_task, event):
        self.event_definition.catch(my_task, event)
        my_task._set_state(TaskState.WAITING)

    def _update_hook(self, my_task):
        top = my_task.workflow.top_workflow
        subprocess = top.subprocesses.get(my_task.id)
        if subprocess is not None:
            return subprocess.completed
        if self._fired(my_task):
            return True
        if my_task.state != TaskState.WAITING:
            my_task._set_state(TaskState.WAITING)
        top.event_manager.add_task(my_task)
        return None

    def _fired(self, my_task) -> bool:
        definition = self.event_definition
        if not isinstance(definition, CycleTimerEventDefinition):
            return definition.has_fired(my_task)
        # A cycle's own bookkeeping would add children to this task; here one firing triggers it once.
        if not my_task.internal_data.get("cycle_fired"):
            value = my_task.internal_data.get("event_value")
            if (value or {}).get("cycles", -1) != 0 and definition.cycle_complete(my_task):
                my_task.internal_data["cycle_fired"] = True
        return bool(my_task.internal_data.get("cycle_fired"))

    def _on_ready_hook(self, my_task):
        my_task.workflow.top_workflow.event_manager.remove_task(my_task)
        super()._on_ready_hook(my_task)

    def _on_cancel(self, my_task):
        my_task.workflow.top_workflow.event_manager.remove_task(my_task)
        super()._on_cancel(my_task)

    # --- triggered ----------------------------------------------------------------------------------

    def _run_hook(self, my_task):
        if my_task.workflow.top_workflow.subprocesses.get(my_task.id) is not None:
            return True  # the event subprocess has ended; its data is already on this task
        my_task.data = scope_data(my_task)
        self.event_definition.update_task_data(my_task)
        if self.cancel_activity:
            interrupt(my_task)
        else:
            self._arm_again(my_task)
        self.start_workflow(my_task)
        return None

    def _arm_again(self, my_task) -> None:
        """A non-interrupting start can trigger again while the scope lives (a timer only for its cycle)."""
        definition = self.event_definition
        value = None
        if isinstance(definition, CycleTimerEventDefinition):
            value = my_task.internal_data.get("event_value")
            if not isinstance(value, dict) or value.get("cycles") == 0:
                return
        elif isinstance(definition, TimerEventDefinition):
            return
        again = my_task.parent._add_child(self, TaskState.FUTURE)
        again.triggered = True
        again.internal_data["yimen_rearmed"] = True  # a condition must turn false first (specs.YimenConditional)
        if value is not None:
            again.internal_data["event_value"] = dict(value)
        self._predict(again, mask=TaskState.NOT_FINISHED_MASK)
        self._update(again)


class EventSubprocessStart(StartEvent):
    """The start event inside an event subprocess: its event was caught by the scope, so it passes."""

    def __init__(self, wf_spec, bpmn_id, event_definition, cancel_activity=True, **kwargs):
        super().__init__(wf_spec, bpmn_id, event_definition, **kwargs)
        self.cancel_activity = cancel_activity

    def _update_hook(self, my_task):
        return super(CatchingEvent, self)._update_hook(my_task)

    def _predict_hook(self, my_task):
        super(CatchingEvent, self)._predict_hook(my_task)  # a catching cycle would not predict what follows


class ScopeStart(BpmnStartTask):
    """Starts every event subprocess of the scope beside the main flow (never at run time).

    They come first among the scope's branches, so a triggered one runs before the rest of
    the scope's ready steps in the same engine pass: an error thrown inside an embedded
    subprocess interrupts before the step after that subprocess can run.
    """

    def connect_or_add_trigger(self, task_spec, sp_spec):
        self.connect(task_spec)
        self._outputs.insert(0, self._outputs.pop())
        task_spec.connect(self._wf_spec.end)


class ScopeEndJoin(_EndJoin):
    """The scope ends when its flow is done: event subprocesses still waiting are cancelled, not awaited."""

    def _check_threshold_unstructured(self, my_task):
        for task in TaskIterator(my_task.workflow.task_tree, state=TaskState.NOT_FINISHED_MASK,
                                 end_at_spec=self.name):
            if task is not my_task and not _in_untriggered_branch(task):
                return False
        return True

    def _run_hook(self, my_task):
        for task in list(my_task.workflow.tasks.values()):
            if task.id in my_task.workflow.tasks and untriggered(task):
                task.cancel()
        return super()._run_hook(my_task)


def scope_spec(name: str, description: str | None, filename: str | None) -> BpmnProcessSpec:
    """A process or subprocess spec whose start and end know about event subprocesses."""
    spec = BpmnProcessSpec(name=name, description=description, filename=filename)
    end_join = spec.end.name
    del spec.task_specs["Start"], spec.task_specs[end_join]  # specs refer to each other by name
    spec.start = ScopeStart(spec, "Start")
    spec.end = ScopeEndJoin(spec, end_join)
    spec.end.outputs = [spec.task_specs["End"]]
    return spec


def untriggered(task) -> bool:
    return (isinstance(task.task_spec, EventSubprocessTask) and task.has_state(_NOT_TRIGGERED)
            and task.workflow.top_workflow.subprocesses.get(task.id) is None)


def _in_untriggered_branch(task) -> bool:
    while task is not None:
        if untriggered(task):
            return True
        task = task.parent
    return False


def scope_data(my_task) -> dict:
    """The scope's data now: its latest completed step's, then every open step's (latest last)."""
    tasks = [t for t in my_task.workflow.tasks.values()
             if t is not my_task and not isinstance(t.task_spec, EventSubprocessTask)]
    done = [t for t in tasks if t.state == TaskState.COMPLETED]
    chosen = [max(done, key=lambda t: t.last_state_change)] if done else []
    chosen += [t for t in tasks if t.has_state(_LIVE)]
    data = DeepMerge.merge({}, my_task.parent.data)
    for task in sorted(chosen, key=lambda t: t.last_state_change):
        DeepMerge.merge(data, task.data)
    return data


def interrupt(my_task) -> None:
    """Cancel everything else open in ``my_task``'s scope (other waiting event subprocesses too)."""
    scope = my_task.workflow
    for task in list(TaskIterator(scope.task_tree, state=TaskState.NOT_FINISHED_MASK)):
        if task is my_task or task.id not in scope.tasks or task.has_state(TaskState.FINISHED_MASK):
            continue
        if task.is_descendant_of(my_task) or my_task.is_descendant_of(task):
            continue
        task.cancel()


def restore_listeners(workflow) -> None:
    """Put waiting event subprocess tasks back into the event manager after a reload
    (SpiffWorkflow's deserializer does so only for its own catching events)."""
    for wf in (workflow, *workflow.subprocesses.values()):
        if not isinstance(wf.spec.end, ScopeEndJoin):
            continue
        for task in wf.tasks.values():
            if task.state == TaskState.WAITING and isinstance(task.task_spec, EventSubprocessTask):
                workflow.event_manager.add_task(task)
