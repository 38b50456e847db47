"""The expression engine SpiffWorkflow calls for conditions, timers and loops.

SpiffWorkflow's default engine runs diagram text with ``eval``/``exec``; a
diagram upload is untrusted, so every expression goes through
``engine.expressions`` instead. Multi-instance steps also see the variables
Camunda, Flowable and Activiti define (``nrOfInstances``,
``nrOfCompletedInstances``, ``nrOfActiveInstances``, ``loopCounter``).
Script tasks run only for deployments an administrator allowed scripts for.
"""
from __future__ import annotations

from collections import ChainMap
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    MultiInstanceTask, SequentialMultiInstanceTask,
)
from SpiffWorkflow.util.task import TaskState

from . import expressions
from .errors import ExpressionError


def multi_instance_variables(task) -> dict[str, Any]:
    """The nrOf*/loopCounter variables for a task inside (or being) a multi-instance step."""
    mi_task = None
    child = None
    if isinstance(task.task_spec, MultiInstanceTask):
        mi_task = task
    elif task.parent is not None and isinstance(task.parent.task_spec, MultiInstanceTask):
        mi_task, child = task.parent, task
    if mi_task is None:
        return {}
    children = [c for c in mi_task.children if c.task_spec.name == mi_task.task_spec.task_spec]
    merged = mi_task.internal_data.get("merged", [])
    completed = len(merged)
    spec = mi_task.task_spec
    if isinstance(spec, SequentialMultiInstanceTask):
        if spec.data_input is not None:
            total = completed + len(mi_task.internal_data.get("remaining", [])) + (
                1 if any(not c.has_state(TaskState.FINISHED_MASK) for c in children) else 0)
        else:
            total = mi_task.internal_data.get("cardinality", len(children))
        active = total - completed if completed < total else 0
        active = min(active, 1)
    else:
        total = len(children)
        active = sum(1 for c in children if not c.has_state(TaskState.FINISHED_MASK))
    out = {"nrOfInstances": total, "nrOfCompletedInstances": completed, "nrOfActiveInstances": active}
    if child is not None:
        index = child.internal_data.get("key_or_index")
        if not isinstance(index, int):
            index = child.internal_data.get("iteration")
        if not isinstance(index, int):
            index = children.index(child) if child in children else 0
        out["loopCounter"] = index
    return out


def _data_objects(task) -> list[dict]:
    """Data objects of the task's (sub)process and those around it, innermost first (after the task's data)."""
    out, wf = [], getattr(task, "workflow", None)
    while wf is not None:
        objects = getattr(wf, "data_objects", None)
        if objects:
            out.append({k: v for k, v in objects.items() if v is not None})
        parent = getattr(wf, "parent_workflow", None)
        wf = parent if parent is not wf else None
    return out


class YimenScriptEngine(PythonScriptEngine):
    def __init__(self, allow_scripts: bool = False):
        super().__init__(environment=TaskDataEnvironment())
        self.allow_scripts = allow_scripts

    def validate(self, expression):
        """SpiffWorkflow's DMN engine probes syntax by catching ``SyntaxError``."""
        try:
            expressions.compile_expression(expression)
        except ExpressionError as exc:
            raise SyntaxError(exc.message) from exc

    def evaluate(self, task, expression, external_context=None):
        variables = ChainMap(external_context or {}, multi_instance_variables(task), task.data,
                             *_data_objects(task))
        try:
            return expressions.evaluate(expression, variables)
        except ExpressionError as exc:
            raise WorkflowTaskException(
                f"Error evaluating expression '{expression}': {exc.message}", task=task, exception=exc
            ) from exc

    def execute(self, task, script, external_context=None):
        if not self.allow_scripts:
            raise WorkflowTaskException(
                "script tasks are refused unless an administrator allows them for the deployment", task=task)
        return super().execute(task, script, external_context)


_ENGINES = {False: YimenScriptEngine(False), True: YimenScriptEngine(True)}


def script_engine(allow_scripts: bool = False) -> YimenScriptEngine:
    return _ENGINES[bool(allow_scripts)]
