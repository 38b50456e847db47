"""SpiffWorkflow state to JSON and back, without the process spec.

SpiffWorkflow's serializer writes the whole spec into every snapshot; Yimen
stores specs once per deployed version (parsed and cached), so a snapshot
holds only tasks, data and events. Loading puts the cached spec back.
"""
from __future__ import annotations

import json
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter

from .bpmn.event_subprocess import restore_listeners

STATE_FORMAT = 1


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """The default workflow converter minus the spec (given back on restore)."""

    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        dct["format"] = STATE_FORMAT
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None, script_engine=None):
        workflow = self.target_class(spec, subprocess_specs, script_engine=script_engine, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(DEFAULT_CONFIG)
_config[BpmnWorkflow] = SpeclessWorkflowConverter
_registry = BpmnWorkflowSerializer.configure(_config)


class _Encoder(json.JSONEncoder):
    """Task data may hold dates and decimals from handlers; store them as text."""

    def default(self, o):
        return str(o)


def dump(workflow: BpmnWorkflow) -> str:
    return json.dumps(_registry.convert(workflow), cls=_Encoder, ensure_ascii=False, separators=(",", ":"))


def load(text: str, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    workflow = _registry.restore(json.loads(text), spec=spec, subprocess_specs=subprocess_specs,
                                 script_engine=script_engine)
    restore_listeners(workflow)
    return workflow
