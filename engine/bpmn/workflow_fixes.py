"""Where SpiffWorkflow 3.2's workflow loop goes wrong with diagrams upstream engines run.

``BpmnWorkflow._do_engine_steps`` takes a list of the running subprocesses, runs each and
then looks up the task that started it. When one of them throws an error that a boundary
event of a parallel multi-instance step catches, the step and its other instances are
cancelled: SpiffWorkflow drops their tasks from the tree but keeps their subprocesses, so
the next lookup fails (``A task with id … was not found``) and the error never reaches the
boundary. Yimen's version is the same loop, but it forgets the subprocesses whose task is
gone (their own open tasks with them) and skips them. It also re-checks the compensation throws
whose handlers run in another, finished subprocess (``engine.bpmn.compensation``).

**Per-step cost.** The loop runs every READY engine task it finds, and finding them means walking
the whole task tree (``get_tasks(state=READY)``); each completed task then walks it again for
WAITING tasks (``Workflow.update_waiting_tasks``). In a chain only one task is ready at a time,
so a chain of n steps costs n walks of a tree that grows to n tasks: quadratic (a 1,000-step
start took 5-11 s under load, against a 10 s command budget). Yimen first looks through the
workflow's flat task dictionary, which is far cheaper than the tree iterator (no child lists
built, no per-node filters); when it finds no candidate or a single one, that is the answer,
and only when several tasks qualify does it walk the tree to keep SpiffWorkflow's order.

Installed when ``engine.bpmn.parser`` loads (every spec Yimen runs is parsed there).
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskIterator, TaskState

from .compensation import recheck_waiting_throws


def _has_task(top, task_id) -> bool:
    return task_id in top.tasks or any(task_id in sp.tasks for sp in top.subprocesses.values())


def prune_orphans(top) -> int:
    """Forget every subprocess whose starting task was dropped from the tree (also nested ones)."""
    removed = 0
    while True:
        orphans = [sp_id for sp_id in top.subprocesses if not _has_task(top, sp_id)]
        if not orphans:
            return removed
        for sp_id in orphans:
            subprocess = top.subprocesses.pop(sp_id)
            for task in subprocess.tasks.values():
                top.event_manager.remove_task(task)
            removed += 1


def _ready_in(wf) -> list:
    return [t for t in wf.tasks.values() if t._state == TaskState.READY and not t.task_spec.manual]


def _ready_engine_tasks(wf) -> list:
    """The READY tasks the engine runs (not manual), in SpiffWorkflow's tree order.

    ``get_tasks`` also descends into the running subprocesses under ``wf``; when no other workflow has
    a ready engine task and ``wf`` has at most one, that one is the whole answer.
    """
    ready = _ready_in(wf)
    if len(ready) <= 1 and not any(_ready_in(sp) for sp in wf.top_workflow.subprocesses.values() if sp is not wf):
        return ready
    return [t for t in wf.get_tasks(state=TaskState.READY) if not t.task_spec.manual]


def update_waiting_tasks(self) -> None:
    """``Workflow.update_waiting_tasks`` without a tree walk when at most one task waits."""
    waiting = [t for t in self.tasks.values() if t._state == TaskState.WAITING]
    if len(waiting) > 1:
        waiting = list(TaskIterator(self.task_tree, state=TaskState.WAITING))
    for task in waiting:
        task.task_spec._update(task)


def _do_engine_steps(self, will_complete_task=None, did_complete_task=None):
    def update_workflow(wf):
        count = 0
        for task in _ready_engine_tasks(wf):
            if not task.task_spec.manual:
                if will_complete_task is not None:
                    will_complete_task(task)
                task.run()
                count += 1
                if did_complete_task is not None:
                    did_complete_task(task)
        return count

    prune_orphans(self)
    recheck_waiting_throws(self)
    active_subprocesses = self.get_active_subprocesses()
    for subprocess in sorted(active_subprocesses, key=lambda v: v.depth, reverse=True):
        if subprocess.parent_task_id is not None and not _has_task(self, subprocess.parent_task_id):
            continue  # cancelled (with the step that started it) while an earlier one ran
        count = None
        while count is None or count > 0:
            count = update_workflow(subprocess)
        prune_orphans(self)
        if subprocess.parent_task_id is not None and _has_task(self, subprocess.parent_task_id):
            task = self.get_task_from_id(subprocess.parent_task_id)
            task.task_spec._update(task)

    count = update_workflow(self)
    prune_orphans(self)
    return count > 0 or len(self.get_active_subprocesses()) > len(active_subprocesses)


def install() -> None:
    if BpmnWorkflow._do_engine_steps is not _do_engine_steps:
        BpmnWorkflow._do_engine_steps = _do_engine_steps
    if BpmnBaseWorkflow.update_waiting_tasks is not update_waiting_tasks:
        BpmnBaseWorkflow.update_waiting_tasks = update_waiting_tasks
