"""Turn prepared (safe, normalized) files into SpiffWorkflow specs.

SpiffWorkflow stops at the first problem of a process; we ask it for every
executable process separately so one upload reports as much as it can, and
map its errors back to the file, element id and line of the upload.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.exceptions import SpiffWorkflowException

from ..errors import BpmnInvalid, Problem
from .parser import YimenParser
from .specs import adapt_spec


@dataclass
class BuiltProcess:
    key: str
    name: str | None
    spec: Any
    subprocess_specs: dict[str, Any]


def _problem_from(exc: Exception, lines_by_file: dict[str, dict[str, int]], default_file: str) -> Problem:
    file = getattr(exc, "file_name", "") or default_file
    element_id = getattr(exc, "id", None) or None
    line = getattr(exc, "line_number", None) or None
    if element_id and not line:
        line = lines_by_file.get(file, {}).get(element_id)
    message = str(exc.args[0]) if exc.args else exc.__class__.__name__
    # The library's sentence is its own (English); ours says what happened and quotes it like an identifier.
    return Problem.of(file, element_id, int(line) if line else None,
                      "the workflow library ({tool}) could not build this part of the diagram: {message}",
                      tool="SpiffWorkflow", message=message)


def attach_metadata(spec, meta: dict[str, dict]) -> None:
    """Give every task spec its element's metadata, and wire multi-instance merges.

    SpiffWorkflow connects a loop or multi-instance step to its instances' completion
    only when it creates them; a spec parsed afresh (another process, a cache
    miss) must be connected here or restored steps would never finish.
    """
    for task_spec in spec.task_specs.values():
        task_spec.yimen_meta = meta.get(getattr(task_spec, "bpmn_id", None) or "", {})
        adapt_spec(task_spec)
        if isinstance(task_spec, LoopTask):
            child = spec.task_specs.get(task_spec.task_spec)
            if child is not None and not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)


def build(files: list[tuple[str, str, Any]], process_ids: list[str], meta: dict[str, dict],
          names: dict[str, str | None] | None = None,
          lines_by_file: dict[str, dict[str, int]] | None = None,
          meta_by_process: dict[str, dict[str, dict]] | None = None) -> dict[str, BuiltProcess]:
    """Parse ``files`` (filename, kind, lxml root) and build a spec for each of ``process_ids``."""
    lines_by_file = lines_by_file or {}
    parser = YimenParser()
    problems: list[Problem] = []
    for filename, kind, root in files:
        try:
            if kind == "dmn":
                parser.add_dmn_xml(root, filename=filename)
            else:
                parser.add_bpmn_xml(root, filename=filename)
        except (ValidationException, SpiffWorkflowException, Exception) as exc:  # noqa: BLE001
            problems.append(_problem_from(exc, lines_by_file, filename))
    if problems:
        raise BpmnInvalid(problems)
    built: dict[str, BuiltProcess] = {}
    default_file = files[0][0] if files else ""
    for pid in process_ids:
        try:
            spec = parser.get_spec(pid)
            subprocess_specs = parser.get_subprocess_specs(pid)
        except Exception as exc:  # noqa: BLE001 - every parser failure is a problem to report
            problems.append(_problem_from(exc, lines_by_file, default_file))
            continue
        own = (meta_by_process or {}).get(pid, meta)
        attach_metadata(spec, own)
        for name, sub in subprocess_specs.items():  # a called process prefers its own elements' metadata
            attach_metadata(sub, (meta_by_process or {}).get(name, own))
        built[pid] = BuiltProcess(key=pid, name=(names or {}).get(pid), spec=spec, subprocess_specs=subprocess_specs)
    if problems:
        raise BpmnInvalid(problems)
    return built
