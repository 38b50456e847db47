"""Yimen's SpiffWorkflow parser: the standard BPMN/DMN parser with Yimen's specs.

Dialect attributes (camunda:, flowable:, activiti:) never reach SpiffWorkflow
as semantics: ``engine.bpmn.normalize`` rewrites what SpiffWorkflow must
understand into standard BPMN, and ``engine.bpmn.metadata`` keeps the rest
(assignment, form key, handler, properties) beside the spec.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.parser.BpmnParser import DEFAULT_NSMAP, full_tag
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.task_parsers import CallActivityParser, SubWorkflowParser
from SpiffWorkflow.bpmn.specs.defaults import (
    CallActivity, ManualTask, SubWorkflowTask, TransactionSubprocess, UserTask,
)
from SpiffWorkflow.camunda.parser.task_spec import BusinessRuleTaskParser
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

from .dialects import CAMUNDA
from .specs import HandlerTask, PassThroughTask, YimenParallelMultiInstance, YimenSequentialMultiInstance


class _YimenMultiInstance:
    PARALLEL_MI_CLASS = YimenParallelMultiInstance
    SEQUENTIAL_MI_CLASS = YimenSequentialMultiInstance


class YimenTaskParser(_YimenMultiInstance, TaskParser):
    pass


class YimenSubWorkflowParser(_YimenMultiInstance, SubWorkflowParser):
    pass


class YimenCallActivityParser(_YimenMultiInstance, CallActivityParser):
    pass


class YimenBusinessRuleTaskParser(BusinessRuleTaskParser):
    pass


class YimenParser(BpmnDmnParser):
    OVERRIDE_PARSER_CLASSES = {
        full_tag("userTask"): (YimenTaskParser, UserTask),
        full_tag("manualTask"): (YimenTaskParser, ManualTask),
        full_tag("task"): (YimenTaskParser, PassThroughTask),
        full_tag("serviceTask"): (YimenTaskParser, HandlerTask),
        full_tag("subProcess"): (YimenSubWorkflowParser, SubWorkflowTask),
        full_tag("transaction"): (YimenSubWorkflowParser, TransactionSubprocess),
        full_tag("callActivity"): (YimenCallActivityParser, CallActivity),
        full_tag("businessRuleTask"): (YimenBusinessRuleTaskParser, BusinessRuleTask),
    }

    def __init__(self):
        # The business-rule parser looks up ``camunda:decisionRef`` (normalize writes it for every dialect).
        super().__init__(namespaces={**DEFAULT_NSMAP, "camunda": CAMUNDA})
