"""engine.bpmn.metadata: assignment, forms, handlers and loops read the same from every dialect."""
from __future__ import annotations

import pytest

from engine.bpmn.dialects import BPMN, CAMUNDA, FLOWABLE, ACTIVITI, dialect_attr, extension_properties
from engine.bpmn.metadata import element_lines, extract, process_info, split_names
from engine.bpmn.safe_xml import parse_untrusted

from .spiff_helpers import line_of, prepared

KEYS = {"id", "type", "name", "process_id", "container", "lane", "assignee", "candidate_users", "candidate_groups",
        "form_key", "form_fields", "due_date", "properties", "handler", "handler_source", "multi_instance", "initiator", "line"}


def meta_of(xml: str) -> dict:
    return extract("inline.bpmn", parse_untrusted("inline.bpmn", xml.encode()))


def one_task(task_xml: str, extra: str = "") -> dict:
    xml = (f'<bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:camunda="{CAMUNDA}" xmlns:flowable="{FLOWABLE}" '
           f'xmlns:activiti="{ACTIVITI}" id="D"><bpmn:process id="p" isExecutable="true">{task_xml}{extra}'
           f'</bpmn:process></bpmn:definitions>')
    return meta_of(xml)["t"]


@pytest.mark.parametrize("name,form_key,lane", [
    ("approval_camunda.bpmn", "yimen:review", "审查科 Reviewers"),
    ("approval_flowable.bpmn", "review_form", "办公室 Office"),
    ("approval_activiti.bpmn", "review.form", None),
])
def test_user_task_assignment_is_the_same_in_every_dialect(name, form_key, lane):
    """assignee, candidates, form key, due date and lane come out alike from all three tools."""
    meta = prepared(name)[0].metadata
    review = meta["review"]
    assert set(review) == KEYS
    assert review["type"] == "userTask" and review["name"] == "审查 Review"
    assert review["assignee"] == "${reviewer}"
    assert review["candidate_users"] == ["zhang", "li"]
    assert review["candidate_groups"] == ["reviewers", "leads"]
    assert review["form_key"] == form_key
    assert review["due_date"] == "${deadline}"
    assert review["lane"] == lane
    assert review["line"] == line_of(name, 'id="review"')
    assert meta["start"]["initiator"] == "applicant"
    assert meta["review"]["process_id"] == meta["notify"]["process_id"] == name[:-5]


def test_every_flow_node_is_described():
    """Events, tasks and gateways all have an entry; flows and lanes do not."""
    meta = prepared("approval_camunda.bpmn")[0].metadata
    assert set(meta) == {"start", "review", "decide", "notify", "end_approved", "end_rejected"}
    assert meta["decide"]["type"] == "exclusiveGateway" and meta["decide"]["lane"] == "文书 Clerks"
    assert meta["start"]["lane"] == "窗口 Window"


@pytest.mark.parametrize("name,handler,source", [
    ("approval_camunda.bpmn", "notifyApplicant", "delegateExpression"),
    ("approval_flowable.bpmn", "com.example.delegate.NotifyApplicant", "class"),
    ("approval_activiti.bpmn", "${notifier.send(execution)}", "expression"),
])
def test_service_task_handler_in_every_dialect(name, handler, source):
    """delegateExpression is unwrapped, class kept whole, expression kept raw."""
    notify = prepared(name)[0].metadata["notify"]
    assert (notify["handler"], notify["handler_source"]) == (handler, source)


def test_properties_from_properties_and_fields():
    """camunda:properties, flowable:field with <flowable:string> and activiti:field stringValue are read."""
    assert prepared("approval_camunda.bpmn")[0].metadata["review"]["properties"] == {"yimen.limitDays": "5"}
    assert prepared("approval_flowable.bpmn")[0].metadata["notify"]["properties"] == {"template": "approved"}
    assert prepared("approval_activiti.bpmn")[0].metadata["review"]["properties"] == {"limitDays": "5"}


def test_handler_precedence():
    """yimen.handler beats topic, topic beats delegateExpression, which beats class, which beats expression."""
    prop = ('<bpmn:extensionElements><camunda:properties><camunda:property name="yimen.handler" value="h_prop"/>'
            '</camunda:properties></bpmn:extensionElements>')
    attrs = 'camunda:type="external" camunda:topic="h_topic" camunda:delegateExpression="#{h_bean}" ' \
            'camunda:class="a.b.HClass" camunda:expression="${h.run()}"'
    t = one_task(f'<bpmn:serviceTask id="t" {attrs}>{prop}</bpmn:serviceTask>')
    assert (t["handler"], t["handler_source"]) == ("h_prop", "property")
    t = one_task(f'<bpmn:serviceTask id="t" {attrs}/>')
    assert (t["handler"], t["handler_source"]) == ("h_topic", "topic")
    t = one_task('<bpmn:serviceTask id="t" flowable:delegateExpression="#{h_bean}" flowable:class="a.B"/>')
    assert (t["handler"], t["handler_source"]) == ("h_bean", "delegateExpression")
    t = one_task('<bpmn:sendTask id="t" activiti:class="a.b.HClass" activiti:expression="${x}"/>')
    assert (t["handler"], t["handler_source"]) == ("a.b.HClass", "class")


def test_flowable_external_worker_topic():
    """Flowable's external worker task names its handler by topic."""
    t = one_task('<bpmn:serviceTask id="t" flowable:type="external-worker" flowable:topic="archive"/>')
    assert (t["handler"], t["handler_source"]) == ("archive", "topic")


def test_no_handler_for_user_tasks_or_decisions():
    """Only service-like tasks have handlers; a decision task or a message send has none."""
    assert one_task('<bpmn:userTask id="t" camunda:class="x.Y"/>')["handler"] is None
    assert one_task('<bpmn:businessRuleTask id="t" camunda:decisionRef="d" camunda:class="x.Y"/>')["handler"] is None
    assert one_task('<bpmn:sendTask id="t" messageRef="m" camunda:class="x.Y"/>')["handler"] is None


def test_potential_owner_and_human_performer():
    """user()/group() entries are split; an unmarked potential owner is a group, a human performer the assignee."""
    meta = prepared("potential_owner.bpmn")[0].metadata
    assert meta["pool"]["candidate_users"] == ["kermit", "${applicant}"]
    assert meta["pool"]["candidate_groups"] == ["management", "accountancy"]
    assert meta["pool"]["assignee"] is None
    assert meta["direct"]["assignee"] == "fozzie"
    assert meta["boss"]["assignee"] == "${boss}"


def test_candidate_expression_stays_one_raw_entry():
    """A candidate list holding an expression is kept whole, for evaluation when the task opens."""
    t = one_task('<bpmn:userTask id="t" camunda:candidateGroups="reviewers, ${extraGroups}" '
                 'camunda:candidateUsers=" a ,, b "/>')
    assert t["candidate_groups"] == ["reviewers, ${extraGroups}"]
    assert t["candidate_users"] == ["a", "b"]


@pytest.mark.parametrize("raw,names", [("a,b", ["a", "b"]), (" a , b ,", ["a", "b"]), ("", []), (None, []),
                                       ("#{group}", ["#{group}"]), ("x, ${y}", ["x, ${y}"])])
def test_split_names(raw, names):
    """Literal lists are split and stripped; expressions are not."""
    assert split_names(raw) == names


@pytest.mark.parametrize("name,expected", [
    ("mi_camunda.bpmn", {"sequential": False, "collection": "${departments}", "element_variable": "department",
                         "cardinality": None, "completion_condition": "${nrOfCompletedInstances == nrOfInstances}"}),
    ("mi_flowable.bpmn", {"sequential": True, "collection": "departments", "element_variable": "department",
                          "cardinality": None, "completion_condition": "${rejected}"}),
    ("mi_activiti.bpmn", {"sequential": False, "collection": "${application.departments}",
                          "element_variable": "department", "cardinality": None,
                          "completion_condition": "${nrOfCompletedInstances >= 2}"}),
])
def test_multi_instance_settings_stay_raw(name, expected):
    """The raw collection, item variable and condition are kept for the runtime."""
    assert prepared(name)[0].metadata["countersign"]["multi_instance"] == expected


def test_multi_instance_cardinality_only():
    """A cardinality-only loop has no collection."""
    mi = prepared("mi_activiti.bpmn")[0].metadata["sign_three"]["multi_instance"]
    assert mi == {"sequential": True, "collection": None, "element_variable": None, "cardinality": "${3}",
                  "completion_condition": None}


def test_lanes_in_subprocesses_and_inherited():
    """A subprocess's own lanes name its steps; steps without one take the subprocess's lane."""
    xml = (f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="D"><bpmn:process id="p" isExecutable="true">'
           '<bpmn:laneSet><bpmn:lane id="L1" name="Outer"><bpmn:flowNodeRef>sub</bpmn:flowNodeRef>'
           '<bpmn:flowNodeRef>s</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'
           '<bpmn:startEvent id="s"/><bpmn:subProcess id="sub">'
           '<bpmn:laneSet><bpmn:lane id="L2" name="Inner"><bpmn:flowNodeRef> a </bpmn:flowNodeRef></bpmn:lane>'
           '</bpmn:laneSet><bpmn:startEvent id="ss"/><bpmn:userTask id="a"/><bpmn:endEvent id="se"/>'
           '</bpmn:subProcess></bpmn:process></bpmn:definitions>')
    meta = meta_of(xml)
    assert meta["a"]["lane"] == "Inner" and meta["a"]["container"] == "sub" and meta["a"]["process_id"] == "p"
    assert meta["ss"]["lane"] == "Outer"
    assert meta["sub"]["lane"] == "Outer" and meta["sub"]["type"] == "subProcess"


def test_process_info_and_element_lines():
    """Processes are listed with executability; every id maps to its line, added ones to a nearby line."""
    pf = prepared("not_executable.bpmn")[0]
    assert pf.processes == {
        "office_process": {"id": "office_process", "name": "办公室 Office", "name_en": None, "executable": True,
                           "line": line_of("not_executable.bpmn", '<bpmn:process id="office_process"')},
        "applicant_pool": {"id": "applicant_pool", "name": "申请人 Applicant", "name_en": None, "executable": False,
                           "line": line_of("not_executable.bpmn", '<bpmn:process id="applicant_pool"')},
    }
    assert pf.lines["MessageFlow_1"] == line_of("not_executable.bpmn", 'id="MessageFlow_1"')
    implicit = prepared("implicit_camunda.bpmn")[0]
    assert implicit.lines["Gateway_auto_review"] == implicit.lines["review"]
    assert process_info(implicit.tree)["implicit"]["executable"] is True
    assert element_lines(implicit.tree) == implicit.lines


def test_dialect_helpers():
    """dialect_attr reads any of the three prefixes and treats blank as absent."""
    tree = parse_untrusted("x.bpmn", (
        f'<bpmn:task xmlns:bpmn="{BPMN}" xmlns:camunda="{CAMUNDA}" xmlns:activiti="{ACTIVITI}" '
        f'camunda:assignee=" " activiti:assignee="kermit"><bpmn:extensionElements>'
        f'<activiti:field name="f"><activiti:expression>${{x}}</activiti:expression></activiti:field>'
        f'<camunda:properties><camunda:property name="f" value="p"/><camunda:property name="g" value="q"/>'
        f'</camunda:properties></bpmn:extensionElements></bpmn:task>').encode())
    root = tree.getroot()
    assert dialect_attr(root, "assignee") == "kermit"
    assert dialect_attr(root, "formKey") is None
    assert extension_properties(root) == {"f": "p", "g": "q"}


def test_dmn_has_no_flow_node_metadata():
    """A DMN file yields no flow nodes and no processes."""
    files = prepared("brt_flowable.bpmn", "decision.dmn")
    dmn = files[1]
    assert dmn.kind == "dmn" and dmn.metadata == {} and dmn.processes == {}
    assert dmn.lines["fee_decision"] == line_of("decision.dmn", 'id="fee_decision"')
