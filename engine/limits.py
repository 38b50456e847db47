"""Bounds on what one diagram, one deployment and one command may do (issue 13, finding 3).

A diagram is data a designer uploads and a case's form is data an applicant sends: neither may make one
command hold the database for minutes. Each bound has a safe default and an environment variable; passing
one refuses the command as ``invalid_input`` with ``refusal`` ``over_limit`` (a size) or ``over_budget``
(time), the bound in ``limit``, and the whole transaction rolls back.

| variable | bound | default |
|---|---|---|
| ``YIMEN_MAX_DEPLOY_FILES`` | files in one deployment | 50 |
| ``YIMEN_MAX_ELEMENTS`` | flow elements (steps, events, gateways) of one process | 5000 |
| ``YIMEN_MAX_BRANCHES`` | outgoing sequence flows of one gateway or step | 100 |
| ``YIMEN_MAX_ENGINE_STEPS`` | elements the engine runs in one command (loops without a wait state) | 5000 |
| ``YIMEN_MAX_NEW_TASKS`` | engine tasks one command may create (branches, instances, events) | 20000 |
| ``YIMEN_MAX_TIMERS_PER_COMMAND`` | timers one command may arm | 1000 |
| ``YIMEN_COMMAND_BUDGET_SECONDS`` | time the engine may run inside one command (it holds SQLite's write lock meanwhile) | 10 |

The multi-instance bound (``YIMEN_MAX_MULTI_INSTANCES``) is checked before a step opens its instances
(``engine.bpmn.specs``).
"""
from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

from .errors import ValidationError

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DEFAULTS = {
    "YIMEN_MAX_DEPLOY_FILES": 50,
    "YIMEN_MAX_ELEMENTS": 5000,
    "YIMEN_MAX_BRANCHES": 100,
    "YIMEN_MAX_ENGINE_STEPS": 5000,
    "YIMEN_MAX_NEW_TASKS": 20000,
    "YIMEN_MAX_TIMERS_PER_COMMAND": 1000,
    "YIMEN_COMMAND_BUDGET_SECONDS": 10,
}
# Elements of a process that are not flow nodes (counted apart or not at all).
_NOT_NODES = {"sequenceFlow", "laneSet", "lane", "documentation", "extensionElements", "textAnnotation",
              "association", "dataObject", "dataObjectReference", "dataStoreReference", "property", "ioSpecification",
              "dataInput", "dataOutput", "inputSet", "outputSet", "incoming", "outgoing", "group", "category"}


def setting(name: str) -> float:
    """The bound ``name`` from the environment, or its default; a value that is no positive number is ignored."""
    raw = os.environ.get(name)
    try:
        value = float(raw) if raw is not None else float(DEFAULTS[name])
    except ValueError:
        value = float(DEFAULTS[name])
    return value if value > 0 else float(DEFAULTS[name])


def over(what: str, count: int, name: str, message: str, **details: Any) -> ValidationError:
    limit = int(setting(name))
    return ValidationError(f"{message}: {count} where at most {limit} are allowed ({name})", refusal="over_limit",
                           what=what, limit=limit, count=count, setting=name, **details)


def check_deployment(files: list) -> None:
    if len(files) > setting("YIMEN_MAX_DEPLOY_FILES"):
        raise over("files", len(files), "YIMEN_MAX_DEPLOY_FILES", "too many files in one deployment")


def check_diagram(filename: str, tree: Any) -> None:
    """Refuse a process too large to run in bounded time: too many elements, or a fan-out too wide."""
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    for container in root.iter(f"{{{BPMN}}}process", f"{{{BPMN}}}subProcess", f"{{{BPMN}}}transaction",
                               f"{{{BPMN}}}adHocSubProcess"):
        if container.tag == f"{{{BPMN}}}process":
            nodes = [el for el in container.iter() if isinstance(el.tag, str) and el.tag.startswith(f"{{{BPMN}}}")
                     and el.tag.split("}")[1] not in _NOT_NODES and el is not container]
            if len(nodes) > setting("YIMEN_MAX_ELEMENTS"):
                raise over("elements", len(nodes), "YIMEN_MAX_ELEMENTS",
                           f"process '{container.get('id')}' in {filename} has too many elements",
                           element_id=container.get("id"), file=filename)
        fan_out = Counter(flow.get("sourceRef") for flow in container.findall(f"{{{BPMN}}}sequenceFlow"))
        for source, count in fan_out.items():
            if count > setting("YIMEN_MAX_BRANCHES"):
                line = next((el.sourceline for el in container if el.get("id") == source), None)
                raise over("branches", count, "YIMEN_MAX_BRANCHES",
                           f"element '{source}' in {filename} (line {line}) has too many outgoing flows",
                           element_id=source, file=filename, line=line)


class Budget:
    """What one command has spent: engine steps, new engine tasks, timers, and time."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.steps = 0
        self.timers = 0
        self._baselines: dict[int, int] = {}
        self._max_steps = setting("YIMEN_MAX_ENGINE_STEPS")
        self._max_tasks = setting("YIMEN_MAX_NEW_TASKS")
        self._seconds = setting("YIMEN_COMMAND_BUDGET_SECONDS")

    @staticmethod
    def _size(workflow: Any) -> int:
        top = workflow.top_workflow
        return len(top.tasks) + sum(len(sub.tasks) for sub in top.subprocesses.values())

    def watch(self, workflow: Any) -> None:
        """Count the engine tasks ``workflow`` gains from now on (the first call per workflow sets the base)."""
        self._baselines.setdefault(id(workflow.top_workflow), self._size(workflow))

    def check_growth(self, workflow: Any, element_id: str | None = None) -> None:
        top = workflow.top_workflow
        grown = self._size(top) - self._baselines.setdefault(id(top), self._size(top))
        if grown > self._max_tasks:
            raise over("tasks", grown, "YIMEN_MAX_NEW_TASKS", "the command would create too many engine tasks",
                       element_id=element_id)

    def step(self, task: Any) -> None:
        """Before the engine runs one more element: within the step count, the time and (every few steps) the
        task growth."""
        self.steps += 1
        element_id = getattr(task.task_spec, "bpmn_id", None)
        if self.steps > self._max_steps:
            raise over("engine_steps", self.steps, "YIMEN_MAX_ENGINE_STEPS",
                       "the diagram runs too many elements without waiting for anyone (a loop without a wait "
                       "state?)", element_id=element_id)
        if self.steps % 64 == 0:
            self.check_growth(task.workflow, element_id)
        self.check_time()

    def check_time(self) -> None:
        spent = time.monotonic() - self.started
        if spent > self._seconds:
            raise ValidationError(f"the command ran past its time budget of {self._seconds:g} s and was rolled "
                                  "back (YIMEN_COMMAND_BUDGET_SECONDS)", refusal="over_budget",
                                  limit=self._seconds, setting="YIMEN_COMMAND_BUDGET_SECONDS")

    def arm_timers(self, count: int) -> None:
        self.timers += count
        if self.timers > setting("YIMEN_MAX_TIMERS_PER_COMMAND"):
            raise over("timers", self.timers, "YIMEN_MAX_TIMERS_PER_COMMAND", "the command would arm too many timers")
