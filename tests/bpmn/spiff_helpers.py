"""Shared helpers: read test diagrams, and hand prepared files to SpiffWorkflow's standard parser.

The point of ``engine.bpmn.prepare`` is that SpiffWorkflow's *standard*
parser accepts its output and runs it as drawn, so these helpers use
``BpmnDmnParser`` with only the business-rule-task parser swapped in (as
Yimen does), and a tiny JUEL-to-Python script engine for ``${...}``.
"""
from __future__ import annotations

import re
from pathlib import Path

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.node_parser import DEFAULT_NSMAP
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.camunda.parser.task_spec import BusinessRuleTaskParser
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.dialects import CAMUNDA
from engine.bpmn.prepare import PreparedFile, prepare

DATA = Path(__file__).parent.parent / "data" / "bpmn_prep"


def read(*names: str) -> list[tuple[str, bytes]]:
    return [(name, (DATA / name).read_bytes()) for name in names]


def line_of(name: str, needle: str) -> int:
    """1-based line of the first line of test file ``name`` containing ``needle``."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def prepared(*names: str, **kwargs) -> list[PreparedFile]:
    return prepare(read(*names), **kwargs)


class JuelLite(PythonScriptEngine):
    """``${approved}`` / ``${!a && b}`` -> Python, enough for the test diagrams."""

    def evaluate(self, task, expression, external_context=None):
        text = expression.strip()
        m = re.fullmatch(r"[$#]\{(.*)\}", text, re.S)
        if m:
            text = m.group(1)
        text = text.replace("&&", " and ").replace("||", " or ")
        text = re.sub(r"!(?!=)", " not ", text)
        text = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", text))
        return super().evaluate(task, text.strip(), external_context)


class StandardParser(BpmnDmnParser):
    OVERRIDE_PARSER_CLASSES = {full_tag("businessRuleTask"): (BusinessRuleTaskParser, BusinessRuleTask)}

    def __init__(self):
        # The Camunda business rule parser reads camunda:properties, so the prefix must be known.
        super().__init__(namespaces={**DEFAULT_NSMAP, "camunda": CAMUNDA})


def spiff_parser(files: list[PreparedFile]) -> StandardParser:
    parser = StandardParser()
    for pf in files:
        if pf.kind == "dmn":
            parser.add_dmn_xml(pf.tree.getroot(), filename=pf.filename)
        else:
            parser.add_bpmn_xml(pf.tree.getroot(), filename=pf.filename)
    return parser


def workflow(files: list[PreparedFile], process_id: str, **data) -> BpmnWorkflow:
    """Parse ``files`` with the standard parser, start ``process_id`` with ``data`` and run engine steps."""
    parser = spiff_parser(files)
    spec = parser.get_spec(process_id)
    wf = BpmnWorkflow(spec, parser.get_subprocess_specs(process_id), script_engine=JuelLite())
    wf.get_tasks(state=TaskState.READY)[0].data.update(data)
    wf.do_engine_steps()
    return wf


def ready(wf: BpmnWorkflow) -> list:
    return [t for t in wf.get_tasks(state=TaskState.READY) if t.task_spec.manual]


def ready_names(wf: BpmnWorkflow) -> list[str]:
    return sorted(t.task_spec.bpmn_id for t in ready(wf))


def complete(wf: BpmnWorkflow, bpmn_id: str, **data) -> None:
    task = next(t for t in ready(wf) if t.task_spec.bpmn_id == bpmn_id)
    task.data.update(data)
    task.run()
    wf.do_engine_steps()
