"""Yimen's SpiffWorkflow parser: the standard BPMN/DMN parser with Yimen's specs.

Dialect attributes (camunda:, flowable:, activiti:) never reach SpiffWorkflow
as semantics: ``engine.bpmn.normalize`` rewrites what SpiffWorkflow must
understand into standard BPMN, and ``engine.bpmn.metadata`` keeps the rest
(assignment, form key, handler, properties) beside the spec.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.parser.BpmnParser import DEFAULT_NSMAP, full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.parser.event_parsers import (
    EndEventParser, IntermediateThrowEventParser,
    CONDITIONAL_EVENT_XPATH, ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH, MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH,
    TIMER_EVENT_XPATH, StartEventParser,
)
from SpiffWorkflow.bpmn.parser.ProcessParser import ProcessParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.task_parsers import CallActivityParser, SubprocessParser, SubWorkflowParser
from SpiffWorkflow.bpmn.specs.defaults import (
    EndEvent, IntermediateThrowEvent,
    StartEvent, SubWorkflowTask, TransactionSubprocess, UserTask,
)
from SpiffWorkflow.camunda.parser.task_spec import BusinessRuleTaskParser
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

from ..errors import BpmnInvalid
from . import dmn
from .dialects import CAMUNDA
from .compensation import CompensationEnd, CompensationThrow
from .flat import FlatProcessParserMixin, install as install_flat_prediction
from .workflow_fixes import install as install_workflow_fixes
from .event_subprocess import EventSubprocessStart, EventSubprocessTask, scope_spec
from .specs import (
    HandlerTask, PassThroughTask, YimenCallActivity, YimenParallelMultiInstance, YimenSequentialMultiInstance,
    call_mappings,
)

install_flat_prediction()
install_workflow_fixes()

EVENT_SUBPROCESSES = "./bpmn:subProcess[@triggeredByEvent='true']"
EVENT_SUBPROCESS_STARTS = [MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH, ERROR_EVENT_XPATH,
                           ESCALATION_EVENT_XPATH, CONDITIONAL_EVENT_XPATH]


def _is_event_subprocess(node) -> bool:
    return node.get("triggeredByEvent") == "true"


class _YimenMultiInstance:
    PARALLEL_MI_CLASS = YimenParallelMultiInstance
    SEQUENTIAL_MI_CLASS = YimenSequentialMultiInstance


class YimenTaskParser(_YimenMultiInstance, TaskParser):
    pass


class YimenProcessParser(FlatProcessParserMixin, ProcessParser):
    def create_spec(self):
        """A scope with event subprocesses starts and ends them itself (see ``event_subprocess``)."""
        spec = super().create_spec()
        if self.xpath(EVENT_SUBPROCESSES):
            spec = scope_spec(spec.name, spec.description, spec.file)
        return spec

    def add_tasks(self):
        """Compensation handlers are not on the flow: build their specs too (``compensation``)."""
        super().add_tasks()
        handlers = [self.parse_node(node) for node in self.xpath("./bpmn:*[@isForCompensation='true']")]
        throws = [t.name for t in self.spec.task_specs.values() if isinstance(t, (CompensationThrow, CompensationEnd))]
        for handler in handlers:  # a throw starts it (not as an output: the flow goes on after all handlers)
            handler._inputs.extend(t for t in throws if t not in handler._inputs)
            if not handler._inputs:  # thrown from a compensation event subprocess outside this scope
                handler._inputs.append(self.spec.start.name)


class _CompensationThrowParser:
    """An intermediate throw or end event with a compensateEventDefinition (see ``compensation``)."""
    COMPENSATION_CLASS = None

    def create_task(self):
        definitions = self.xpath('./bpmn:compensateEventDefinition')
        if not definitions:
            return super().create_task()
        ref = (definitions[0].get("activityRef") or "").strip() or None
        task = self.COMPENSATION_CLASS(self.spec, self.bpmn_id, activity_ref=ref, **self.bpmn_attributes)
        if self.COMPENSATION_CLASS is CompensationEnd:
            task.connect(self.spec.end)
        return task


class YimenThrowEventParser(_CompensationThrowParser, IntermediateThrowEventParser):
    COMPENSATION_CLASS = CompensationThrow


class YimenEndEventParser(_CompensationThrowParser, EndEventParser):
    COMPENSATION_CLASS = CompensationEnd


class YimenSubWorkflowParser(_YimenMultiInstance, SubWorkflowParser):
    def create_task(self):
        """SpiffWorkflow looks ``triggeredByEvent`` up in the BPMN namespace and never finds it."""
        if not _is_event_subprocess(self.node):
            return super().create_task()
        spec_id = SubprocessParser.get_subprocess_spec(self)
        start = self.process_parser.parser.process_parsers[spec_id].get_spec().bpmn_start_events[0]
        return EventSubprocessTask(self.spec, self.bpmn_id, subworkflow_spec=spec_id,
                                   event_definition=start.event_definition, cancel_activity=start.cancel_activity,
                                   start_id=start.bpmn_id, **self.bpmn_attributes)


class YimenStartEventParser(StartEventParser):
    def create_task(self):
        """The start event of an event subprocess may also be an error or escalation start."""
        if not _is_event_subprocess(self.process_parser.node):
            return super().create_task()
        definition = self.get_event_definition(EVENT_SUBPROCESS_STARTS)
        interrupting = self.node.get("isInterrupting", "true").strip().lower() != "false"
        self.spec_class = EventSubprocessStart
        task = self._create_task(definition, cancel_activity=interrupting)
        self.spec.start.connect(task)
        return task


class YimenCallActivityParser(_YimenMultiInstance, CallActivityParser):
    def create_task(self):
        """Camunda / Flowable / Activiti ``in`` and ``out`` mappings go onto the spec (see ``YimenCallActivity``)."""
        ins, outs = call_mappings(self.node)
        return self.spec_class(self.spec, self.bpmn_id, subworkflow_spec=SubprocessParser.get_call_activity_spec(self),
                               in_mappings=ins, out_mappings=outs, **self.bpmn_attributes)


class YimenBusinessRuleTaskParser(BusinessRuleTaskParser):
    def create_task(self):
        """Yimen's decision engine, with the task's result mapping (see ``engine.bpmn.dmn``)."""
        try:
            result_variable, mapping, throw = dmn.read_mapping(self.node)
        except ValueError as exc:
            raise ValidationException(str(exc), node=self.node, file_name=self.filename) from None
        engine = self.process_parser.parser.get_engine(self.get_decision_ref(self.node), self.node)
        return dmn.DecisionTask(self.spec, self.bpmn_id, dmnEngine=engine, result_variable=result_variable,
                                mapping=mapping, throw_on_no_hits=throw, **self.bpmn_attributes)


class YimenParser(BpmnDmnParser):
    PROCESS_PARSER_CLASS = YimenProcessParser
    OVERRIDE_PARSER_CLASSES = {
        full_tag("startEvent"): (YimenStartEventParser, StartEvent),
        full_tag("intermediateThrowEvent"): (YimenThrowEventParser, IntermediateThrowEvent),
        full_tag("endEvent"): (YimenEndEventParser, EndEvent),
        full_tag("userTask"): (YimenTaskParser, UserTask),
        full_tag("manualTask"): (YimenTaskParser, PassThroughTask),  # Camunda and Flowable pass through
        full_tag("task"): (YimenTaskParser, PassThroughTask),
        full_tag("serviceTask"): (YimenTaskParser, HandlerTask),
        full_tag("subProcess"): (YimenSubWorkflowParser, SubWorkflowTask),
        full_tag("transaction"): (YimenSubWorkflowParser, TransactionSubprocess),
        full_tag("callActivity"): (YimenCallActivityParser, YimenCallActivity),
        full_tag("businessRuleTask"): (YimenBusinessRuleTaskParser, BusinessRuleTask),
    }

    def __init__(self):
        # The business-rule parser looks up ``camunda:decisionRef`` (normalize writes it for every dialect).
        super().__init__(namespaces={**DEFAULT_NSMAP, "camunda": CAMUNDA})
        self.decisions: dict[str, dmn.Decision] = {}

    def add_dmn_xml(self, node, filename=None):
        """Every decision of the file, read by ``engine.bpmn.dmn`` (not SpiffWorkflow's one-table reader)."""
        decisions, problems = dmn.read_decisions(filename or "", node)
        if problems:
            raise BpmnInvalid(problems)
        self.decisions.update(decisions)

    def get_engine(self, decision_ref, node):
        decision = self.decisions.get(decision_ref)
        if decision is None:
            raise ValidationException(f"decision '{decision_ref}' is not in any DMN file of this deployment "
                                      f"(there are: {', '.join(sorted(self.decisions)) or 'none'})",
                                      node=node, file_name="")
        return dmn.DecisionEngine(decision, self.decisions)
