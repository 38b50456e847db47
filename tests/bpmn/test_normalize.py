"""engine.bpmn.normalize: what the modelers tolerate becomes BPMN SpiffWorkflow runs as drawn."""
from __future__ import annotations

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.dialects import BPMN, CAMUNDA, NSMAP
from engine.bpmn.normalize import COLLECTION_VAR, normalize, simple_variable
from engine.bpmn.safe_xml import parse_untrusted
from engine.bpmn.specs import COLLECTION_VAR as SPEC_COLLECTION_VAR

from .spiff_helpers import DATA, JuelLite, complete, prepared, read, ready, ready_names, workflow

GOOD = ["approval_camunda.bpmn", "approval_flowable.bpmn", "approval_activiti.bpmn", "potential_owner.bpmn",
        "mi_camunda.bpmn", "mi_flowable.bpmn", "mi_activiti.bpmn", "flow_without_id.bpmn", "error_ref.bpmn",
        "not_executable.bpmn", "data_store.bpmn", "implicit_camunda.bpmn"]
APPROVALS = [("approval_camunda.bpmn", "approval_camunda"), ("approval_flowable.bpmn", "approval_flowable"),
             ("approval_activiti.bpmn", "approval_activiti")]


def xp(pf, path: str) -> list:
    return pf.tree.getroot().xpath(path, namespaces=NSMAP)


def reasons(pf) -> list[str]:
    return [w.reason for w in pf.warnings]


def state_of(wf, bpmn_id: str):
    return next(t.state for t in wf.get_tasks() if t.task_spec.bpmn_id == bpmn_id)


def inline(body: str, extra_ns: str = "") -> str:
    return (f'<bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:camunda="{CAMUNDA}" {extra_ns} id="D">'
            f'{body}</bpmn:definitions>')


def normalized(xml: str):
    tree = parse_untrusted("inline.bpmn", xml.encode())
    return tree, normalize("inline.bpmn", tree)


@pytest.mark.parametrize("name", GOOD)
def test_standard_parser_accepts_every_normalized_diagram(name):
    """SpiffWorkflow's plain BpmnParser builds a spec for every executable process."""
    pf = prepared(name)[0]
    parser = BpmnParser()
    parser.add_bpmn_xml(etree.fromstring(pf.xml), filename=name)
    for pid, info in pf.processes.items():
        if info["executable"]:
            assert parser.get_spec(pid).name == pid


@pytest.mark.parametrize("name,pid", APPROVALS)
def test_approval_runs_in_every_dialect(name, pid):
    """The same approval runs as drawn from Camunda, Flowable and Activiti files."""
    files = prepared(name)
    wf = workflow(files, pid)
    assert ready_names(wf) == ["review"]
    complete(wf, "review", approved=True)
    assert state_of(wf, "notify") == TaskState.STARTED  # the service task waits for its handler
    assert not wf.is_completed()
    wf = workflow(files, pid)
    complete(wf, "review", approved=False)
    assert wf.is_completed()


def test_clean_camunda_diagram_has_no_warnings():
    """A tidy Camunda Modeler diagram needs no tolerance."""
    assert prepared("approval_camunda.bpmn")[0].warnings == []


def test_flow_without_id_is_dropped_by_spiff_unless_normalized():
    """Raw, SpiffWorkflow drops id-less flows and completes at once; normalized, it waits at the user task."""
    name, content = read("flow_without_id.bpmn")[0]
    raw = BpmnParser()
    raw.add_bpmn_xml(etree.fromstring(content), filename=name)
    from SpiffWorkflow.bpmn import BpmnWorkflow
    wf = BpmnWorkflow(raw.get_spec("no_flow_ids"))
    wf.do_engine_steps()
    assert wf.is_completed()  # the quirk this tolerance exists for

    files = prepared(name)
    wf = workflow(files, "no_flow_ids")
    assert not wf.is_completed()
    assert ready_names(wf) == ["review"]
    complete(wf, "review")
    assert wf.is_completed()


def test_flows_without_id_get_unique_ids_and_warnings():
    """Each id-less flow gets Flow_auto_<source>_<target>, de-duplicated, with a warning."""
    pf = prepared("flow_without_id.bpmn")[0]
    ids = [f.get("id") for f in xp(pf, "//bpmn:sequenceFlow")]
    assert "Flow_auto_start_review" in ids
    assert {"Flow_auto_review_end", "Flow_auto_review_end_2"} <= set(ids)
    assert len(ids) == len(set(ids))
    flow_warnings = [w for w in pf.warnings if "has no id" in w.reason]
    assert len(flow_warnings) == 3
    assert flow_warnings[0].element_id == "Flow_auto_start_review" and flow_warnings[0].line == 7


def test_missing_error_and_escalation_are_defined():
    """errorRef/escalationRef without a definition get one (code = ref) and a warning each."""
    pf = prepared("error_ref.bpmn")[0]
    error = xp(pf, "/bpmn:definitions/bpmn:error")
    escalation = xp(pf, "/bpmn:definitions/bpmn:escalation")
    assert [(e.get("id"), e.get("errorCode")) for e in error] == [("DocsMissing", "DocsMissing")]
    assert [(e.get("id"), e.get("escalationCode")) for e in escalation] == [("Overdue", "Overdue")]
    assert reasons(pf) == [
        "error 'DocsMissing' is referenced but not defined; Yimen defined it with errorCode 'DocsMissing'",
        "escalation 'Overdue' is referenced but not defined; Yimen defined it with escalationCode 'Overdue'",
    ]
    # the root elements stay before the diagram/at the end, as the schema wants
    assert etree.QName(pf.tree.getroot()[-1]).localname in ("error", "escalation")


def test_error_thrown_in_subprocess_reaches_boundary_event():
    """The added error definition works: the subprocess's error end event is caught by the boundary event."""
    wf = workflow(prepared("error_ref.bpmn"), "documents", applicant="wang")
    assert ready_names(wf) == ["fix_docs"]
    complete(wf, "fix_docs")
    assert wf.is_completed()


def test_prefixed_reference_is_matched_to_its_definition():
    """errorRef="tns:Err" finds <error id="Err"> instead of adding another."""
    xml = inline('<bpmn:error id="Err" errorCode="E1"/><bpmn:process id="p" isExecutable="true">'
                 '<bpmn:startEvent id="s"/>'
                 '<bpmn:endEvent id="e"><bpmn:errorEventDefinition errorRef="tns:Err"/></bpmn:endEvent>'
                 '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/></bpmn:process>',
                 'xmlns:tns="http://x"')
    tree, warnings = normalized(xml)
    assert warnings == []
    assert tree.getroot().xpath("//bpmn:errorEventDefinition/@errorRef", namespaces=NSMAP) == ["Err"]


def test_missing_message_and_signal_are_defined():
    """messageRef/signalRef without a definition get one named after the ref."""
    xml = inline('<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/>'
                 '<bpmn:intermediateCatchEvent id="m"><bpmn:messageEventDefinition messageRef="paid"/>'
                 '</bpmn:intermediateCatchEvent>'
                 '<bpmn:endEvent id="e"><bpmn:signalEventDefinition signalRef="done"/></bpmn:endEvent>'
                 '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="m"/>'
                 '<bpmn:sequenceFlow id="f2" sourceRef="m" targetRef="e"/></bpmn:process>')
    tree, warnings = normalized(xml)
    root = tree.getroot()
    assert root.xpath("bpmn:message/@name", namespaces=NSMAP) == ["paid"]
    assert root.xpath("bpmn:signal/@name", namespaces=NSMAP) == ["done"]
    assert [w.element_id for w in warnings] == ["m", "e"]
    parser = BpmnParser()
    parser.add_bpmn_xml(root)
    parser.get_spec("p")


def test_not_executable_process_runs_and_empty_pool_is_left_alone():
    """isExecutable=false on a process with steps becomes true (warned); an empty pool is untouched."""
    pf = prepared("not_executable.bpmn")[0]
    assert xp(pf, "//bpmn:process[@id='office_process']/@isExecutable") == ["true"]
    assert xp(pf, "//bpmn:process[@id='applicant_pool']/@isExecutable") == ["false"]
    assert reasons(pf) == ["process 'office_process' is marked not executable; Yimen runs it anyway"]
    assert pf.processes["office_process"]["executable"] and not pf.processes["applicant_pool"]["executable"]
    wf = workflow(prepared("not_executable.bpmn"), "office_process")
    assert ready_names(wf) == ["handle"]


def test_missing_is_executable_is_warned():
    """A process that does not say it is executable is run, with a warning."""
    tree, warnings = normalized(inline('<bpmn:process id="p"><bpmn:startEvent id="s"/></bpmn:process>'))
    assert tree.getroot()[0].get("isExecutable") == "true"
    assert warnings[0].reason == "process 'p' does not say it is executable; Yimen runs it anyway"


def test_data_stores_are_removed_with_their_associations():
    """dataStore, dataStoreReference, the associations to them and their shapes go; the rest runs."""
    pf = prepared("data_store.bpmn")[0]
    for what in ("dataStore", "dataStoreReference", "dataInputAssociation", "dataOutputAssociation"):
        assert xp(pf, f"//bpmn:{what}") == []
    assert xp(pf, "//bpmndi:BPMNShape/@bpmnElement") == ["file_case"]
    assert xp(pf, "//bpmndi:BPMNEdge") == []
    assert len(pf.warnings) == 2 and all("ignored" in r for r in reasons(pf))
    assert "2 data associations" in pf.warnings[1].reason
    wf = workflow(prepared("data_store.bpmn"), "archiving")
    assert ready_names(wf) == ["file_case"]


def test_camunda_multi_instance_becomes_standard_and_runs_in_parallel():
    """camunda:collection/elementVariable become loopDataInputRef/inputDataItem; one task per item."""
    pf = prepared("mi_camunda.bpmn")[0]
    mi = xp(pf, "//bpmn:multiInstanceLoopCharacteristics")[0]
    assert [etree.QName(c).localname for c in mi] == ["loopDataInputRef", "inputDataItem", "completionCondition"]
    assert mi[0].text == "departments"
    assert (mi[1].get("id"), mi[1].get("name")) == ("department", "department")
    assert mi[2].text == "${nrOfCompletedInstances == nrOfInstances}"
    wf = workflow(prepared("mi_camunda.bpmn"), "countersign_camunda", departments=["财政", "人社", "住建"])
    assert sorted(t.data["department"] for t in ready(wf)) == ["人社", "住建", "财政"]


def test_flowable_sequential_multi_instance_with_plain_collection_name():
    """flowable:collection="departments" (no ${}) is the variable itself; sequential runs one at a time."""
    pf = prepared("mi_flowable.bpmn")[0]
    mi = xp(pf, "//bpmn:multiInstanceLoopCharacteristics")[0]
    assert mi.get("isSequential") == "true"
    assert xp(pf, "//bpmn:loopDataInputRef/text()") == ["departments"]
    assert xp(pf, "//bpmn:inputDataItem/@id") == ["department"]
    wf = workflow(prepared("mi_flowable.bpmn"), "countersign_flowable", departments=["a", "b"], rejected=False)
    assert [t.data["department"] for t in ready(wf)] == ["a"]


def test_activiti_complex_collection_uses_reserved_variable_and_drops_cardinality():
    """A collection expression becomes _mi_collection; a cardinality beside it is dropped with a warning."""
    pf = prepared("mi_activiti.bpmn")[0]
    mi = xp(pf, "//bpmn:userTask[@id='countersign']/bpmn:multiInstanceLoopCharacteristics")[0]
    assert [etree.QName(c).localname for c in mi] == ["loopDataInputRef", "inputDataItem", "completionCondition"]
    assert mi[0].text == COLLECTION_VAR == SPEC_COLLECTION_VAR
    assert reasons(pf) == ["multi-instance 'countersign' has both a collection and a loop cardinality; "
                           "the cardinality '3' is ignored"]
    assert xp(pf, "//bpmn:userTask[@id='sign_three']//bpmn:loopCardinality/text()") == ["${3}"]


def test_sequential_multi_instance_runs_every_item_with_yimen_specs():
    """Every item of a sequential loop gets its turn (Camunda keeps the element variable instance-local)."""
    from SpiffWorkflow.bpmn import BpmnWorkflow

    from engine.bpmn.loader import attach_metadata
    from engine.bpmn.parser import YimenParser

    pf = prepared("mi_flowable.bpmn")[0]
    parser = YimenParser()
    parser.add_bpmn_xml(pf.tree.getroot(), filename=pf.filename)
    spec = parser.get_spec("countersign_flowable")
    attach_metadata(spec, pf.metadata)
    wf = BpmnWorkflow(spec, script_engine=JuelLite())
    wf.get_tasks(state=TaskState.READY)[0].data.update(departments=["a", "b"], rejected=False)
    wf.do_engine_steps()
    complete(wf, "countersign")
    assert [t.data["department"] for t in ready(wf)] == ["b"]


def test_activiti_complex_collection_runs_with_yimen_specs():
    """With Yimen's parser classes the collection expression fills _mi_collection before the step starts."""
    pytest.importorskip("engine.expressions")
    from SpiffWorkflow.bpmn import BpmnWorkflow

    from engine.bpmn.loader import attach_metadata
    from engine.bpmn.parser import YimenParser
    from engine.script_engine import script_engine

    pf = prepared("mi_activiti.bpmn")[0]
    parser = YimenParser()
    parser.add_bpmn_xml(pf.tree.getroot(), filename=pf.filename)
    spec = parser.get_spec("countersign_activiti")
    attach_metadata(spec, pf.metadata)
    wf = BpmnWorkflow(spec, script_engine=script_engine())
    wf.get_tasks(state=TaskState.READY)[0].data["application"] = {"departments": ["a", "b"]}
    wf.do_engine_steps()
    assert sorted(t.data["department"] for t in ready(wf)) == ["a", "b"]


@pytest.mark.parametrize("text,name", [("departments", "departments"), ("${departments}", "departments"),
                                       ("#{ list_1 }", "list_1"), ("${a.b}", None), ("${f(x)}", None),
                                       ("", None), (None, None)])
def test_simple_variable(text, name):
    """Only a bare or ${}-wrapped name is a simple variable."""
    assert simple_variable(text) == name


def test_mi_child_order_follows_the_schema():
    """New children go where the BPMN schema puts them, around existing ones."""
    xml = inline('<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/>'
                 '<bpmn:userTask id="t"><bpmn:multiInstanceLoopCharacteristics camunda:collection="xs" '
                 'camunda:elementVariable="x"><bpmn:extensionElements/><bpmn:loopDataOutputRef>ys'
                 '</bpmn:loopDataOutputRef><bpmn:outputDataItem name="y"/><bpmn:completionCondition>${done}'
                 '</bpmn:completionCondition></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>'
                 '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/></bpmn:process>')
    tree, _ = normalized(xml)
    mi = tree.getroot().xpath("//bpmn:multiInstanceLoopCharacteristics", namespaces=NSMAP)[0]
    assert [etree.QName(c).localname for c in mi] == [
        "extensionElements", "loopDataInputRef", "loopDataOutputRef", "inputDataItem", "outputDataItem",
        "completionCondition"]
    assert mi[4].get("id") == "y"  # an item named but without id gets the name as id


def test_flowable_decision_task_gets_camunda_decision_ref_and_runs():
    """flowable:decisionTableReferenceKey and Flowable's dmn service task both become camunda:decisionRef."""
    files = prepared("brt_flowable.bpmn", "decision.dmn")
    pf = files[0]
    assert xp(pf, "//bpmn:businessRuleTask/@camunda:decisionRef") == ["fee_decision", "fee_decision"]
    assert pf.warnings == []
    assert b'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"' in pf.xml.split(b">", 2)[1]
    wf = workflow(files, "fee_flowable", amount=2000)
    assert ready_names(wf) == ["pay"]
    assert ready(wf)[0].data["fee"] == 50


def test_business_rule_task_without_decision_runs_as_service_task():
    """A business rule task that names no decision becomes a service task, with a warning."""
    xml = inline('<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/>'
                 '<bpmn:businessRuleTask id="rules" camunda:class="com.example.Rules"/>'
                 '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="rules"/></bpmn:process>')
    tree, warnings = normalized(xml)
    assert tree.getroot().xpath("//bpmn:serviceTask/@id", namespaces=NSMAP) == ["rules"]
    assert "runs as a service task" in warnings[0].reason


def test_plain_task_passes_through_untouched_with_a_warning():
    """A bpmn:task is not changed, but the designer is told it does nothing."""
    xml = inline('<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/>'
                 '<bpmn:task id="t" name="Just a task"/><bpmn:endEvent id="e"/>'
                 '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
                 '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/></bpmn:process>')
    tree, warnings = normalized(xml)
    assert [w.element_id for w in warnings] == ["t"] and "passes straight through" in warnings[0].reason
    assert etree.tostring(tree.getroot()) == etree.tostring(etree.fromstring(xml))


def test_implicit_conditional_split_link_event_and_send_task():
    """Conditional flows out of a task get an inclusive gateway; a link becomes a flow; a send task a service task."""
    pf = prepared("implicit_camunda.bpmn")[0]
    gateway = xp(pf, "//bpmn:inclusiveGateway")[0]
    assert gateway.get("id") == "Gateway_auto_review" and gateway.get("default") == "flow_rejected"
    assert xp(pf, "//bpmn:userTask[@id='review']/@default") == []
    assert xp(pf, "//bpmn:sequenceFlow[@sourceRef='review']/@targetRef") == ["Gateway_auto_review"]
    assert xp(pf, "//bpmn:flowNodeRef/text()") == ["start", "Gateway_auto_review", "review", "archive"]
    assert xp(pf, "//bpmn:linkEventDefinition") == []
    assert xp(pf, "//bpmn:serviceTask/@id") == ["notify"]
    assert pf.metadata["notify"]["handler"] == "com.example.NotifyRejected"
    assert any("Yimen ignores execution listeners, input/output mappings" in r for r in reasons(pf))

    files = prepared("implicit_camunda.bpmn")
    wf = workflow(files, "implicit")
    complete(wf, "review", approved=True)
    assert ready_names(wf) == ["archive"]
    wf = workflow(files, "implicit")
    complete(wf, "review", approved=False)
    assert state_of(wf, "notify") == TaskState.STARTED


def test_implicit_parallel_split_runs_both_branches():
    """Two unconditional flows out of a task run both, as Camunda does."""
    xml = inline('<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/><bpmn:userTask id="a"/>'
                 '<bpmn:userTask id="b"/><bpmn:userTask id="c"/>'
                 '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/>'
                 '<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b"/>'
                 '<bpmn:sequenceFlow id="f3" sourceRef="a" targetRef="c"/></bpmn:process>')
    tree, warnings = normalized(xml)
    assert tree.getroot().xpath("//bpmn:parallelGateway/@id", namespaces=NSMAP) == ["Gateway_auto_a"]
    assert "parallel gateway" in warnings[0].reason
    from engine.bpmn.prepare import prepare
    files = prepare([("split.bpmn", xml.encode())])
    wf = workflow(files, "p")
    complete(wf, "a")
    assert ready_names(wf) == ["b", "c"]


def test_test_data_files_all_exist():
    """Every diagram named here is in tests/data/bpmn_prep."""
    for name in GOOD:
        assert (DATA / name).is_file()
