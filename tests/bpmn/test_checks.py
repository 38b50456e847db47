"""engine.bpmn.checks: every error of a diagram at once, with element and line."""
from __future__ import annotations

import pytest

from engine.bpmn import checks
from engine.bpmn.dialects import BPMN, CAMUNDA, FLOWABLE
from engine.bpmn.metadata import extract
from engine.bpmn.normalize import normalize
from engine.bpmn.safe_xml import parse_untrusted

from .spiff_helpers import line_of, read

needs_expressions = pytest.mark.skipif(checks._expressions() is None, reason="engine.expressions not written yet")


def problems_of(name: str, content: bytes, allow_scripts: bool = False):
    tree = parse_untrusted(name, content)
    normalize(name, tree)
    return checks.check(name, tree, extract(name, tree), allow_scripts=allow_scripts)


def inline(body: str, allow_scripts: bool = False):
    xml = (f'<bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:camunda="{CAMUNDA}" xmlns:flowable="{FLOWABLE}" id="D">'
           f'<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/>{body}</bpmn:process>'
           f'</bpmn:definitions>')
    return problems_of("inline.bpmn", xml.encode(), allow_scripts)


def by_element(problems) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(p.element_id, []).append(p.reason)
    return out


def test_every_error_is_reported_with_element_and_line():
    """errors.bpmn has many problems; all come back, each with file, element and line."""
    found = problems_of(*read("errors.bpmn")[0])
    assert all(p.file == "errors.bpmn" and p.line for p in found)
    errors = by_element(found)
    assert errors["review"] == ["id 'review' is used more than once (first at line 5)"]
    assert "names no handler" in errors["no_handler"][0] and "yimen.handler" in errors["no_handler"][0]
    assert "camunda:topic" in errors["no_handler"][0] and "camunda:class" in errors["no_handler"][0]
    assert "its type 'mail' is not built into Yimen" in errors["mail"][0]
    assert errors["script"] == ["script tasks are refused unless an administrator allows them for a deployment"]
    assert errors["mi_nothing"] == ["multi-instance 'mi_nothing' has neither a collection nor a loop cardinality"]
    assert "is empty" in errors["wait_empty"][0]
    assert "f4" in errors and any("'ghost' names no element" in r for r in errors["f4"])
    assert any("not the gateway's default flow" in r for r in errors["f4"])
    assert errors["no_start"] == ["process 'no_start' has no start event"]
    script = next(p for p in found if p.element_id == "script")
    assert script.line == line_of("errors.bpmn", 'id="script"')
    assert [p.line for p in found] == sorted(p.line for p in found)


@needs_expressions
def test_expression_errors_are_reported():
    """A condition that does not compile and a cron timer are errors; an ISO timer is fine."""
    errors = by_element(problems_of(*read("errors.bpmn")[0]))
    assert "does not compile" in errors["f3"][0] and "${approved ==}" in errors["f3"][0]
    assert "neither an ISO 8601 timer" in errors["wait_cron"][0]
    assert "wait_ok" not in errors


def test_scripts_allowed_by_an_administrator():
    """allow_scripts=True lets a script task through."""
    errors = by_element(problems_of(*read("errors.bpmn")[0], allow_scripts=True))
    assert "script" not in errors


def test_compile_checks_are_skipped_without_the_expression_module(monkeypatch):
    """Until engine.expressions exists, conditions and timer texts are not judged."""
    monkeypatch.setattr(checks, "_expressions", lambda: None)
    errors = by_element(problems_of(*read("errors.bpmn")[0]))
    assert "f3" not in errors and "wait_cron" not in errors
    assert "wait_empty" in errors  # an empty timer needs no compiler


@pytest.mark.parametrize("name", ["approval_camunda.bpmn", "approval_flowable.bpmn", "approval_activiti.bpmn",
                                  "potential_owner.bpmn", "mi_camunda.bpmn", "mi_flowable.bpmn", "mi_activiti.bpmn",
                                  "flow_without_id.bpmn", "error_ref.bpmn", "not_executable.bpmn",
                                  "data_store.bpmn", "implicit_camunda.bpmn", "brt_flowable.bpmn"])
def test_good_diagrams_have_no_errors(name):
    """The tolerated diagrams pass the checks after normalization."""
    assert problems_of(*read(name)[0]) == []


@pytest.mark.parametrize("attrs", ['camunda:topic="t"', 'flowable:delegateExpression="${bean}"',
                                   'camunda:class="a.B"', 'camunda:expression="${svc.run()}"'])
def test_any_handler_kind_satisfies_a_service_task(attrs):
    """topic, delegateExpression, class and expression each name a handler."""
    assert inline(f'<bpmn:serviceTask id="t" {attrs}/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/>') == []


def test_data_object_two_scopes_up_is_refused_not_hung():
    """SpiffWorkflow loops forever on a data object two scopes up; we refuse it instead."""
    errors = by_element(problems_of(*read("data_object_deep.bpmn")[0]))
    assert "must be declared in the same process or subprocess" in errors["use"][0]


def test_unsupported_constructs():
    """Complex gateways, unmatched links, bare boundary events and compensation without handler are refused."""
    errors = by_element(inline(
        '<bpmn:complexGateway id="cx"/><bpmn:userTask id="u"/>'
        '<bpmn:intermediateThrowEvent id="lt"><bpmn:linkEventDefinition name="nowhere"/></bpmn:intermediateThrowEvent>'
        '<bpmn:boundaryEvent id="b" attachedToRef="u"/>'
        '<bpmn:boundaryEvent id="comp" attachedToRef="u"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="cx"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="cx" targetRef="u"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="u" targetRef="lt"/>'))
    assert "complex gateways are not supported" in errors["cx"][0]
    assert "no single matching link catch event" in errors["lt"][0]
    assert "no event definition Yimen supports" in errors["b"][0]
    # issue 17: compensation runs; a compensation boundary event without a handler is refused
    assert errors["comp"] == ["compensation boundary event 'comp' has no handler: connect it by an association to "
                              "an activity marked isForCompensation=\"true\""]


def test_subprocess_shape_and_call_activity():
    """A subprocess needs one start; a call activity names its process literally."""
    errors = by_element(inline(
        '<bpmn:subProcess id="sub"><bpmn:userTask id="x"/></bpmn:subProcess>'
        '<bpmn:callActivity id="call" calledElement="${which}"/>'
        '<bpmn:callActivity id="call_nothing"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sub"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="call"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="call" targetRef="call_nothing"/>'))
    # no end event is fine (BPMN's implicit end, issue 17); no start event is not
    assert errors["sub"] == ["subprocess 'sub' needs exactly one start event (it has 0)"]
    assert "not by the expression '${which}'" in errors["call"][0]
    assert "names no process to call" in errors["call_nothing"][0]


def test_event_subprocess_shape():
    """An event subprocess starts on one message, timer, signal, error or escalation start and is off the flow."""
    def evsub(sub_id: str, inner: str) -> str:
        return (f'<bpmn:subProcess id="{sub_id}" triggeredByEvent="true">{inner}'
                f'<bpmn:endEvent id="{sub_id}_e"/></bpmn:subProcess>')

    errors = by_element(inline(
        '<bpmn:userTask id="u"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="u"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="wired"/>'
        + evsub("ok_msg", '<bpmn:startEvent id="m"><bpmn:messageEventDefinition messageRef="msg"/></bpmn:startEvent>')
        + evsub("ok_timer", '<bpmn:startEvent id="t" isInterrupting="false"><bpmn:timerEventDefinition>'
                            '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>')
        + evsub("ok_error", '<bpmn:startEvent id="er"><bpmn:errorEventDefinition/></bpmn:startEvent>')
        + evsub("no_start", "")
        + evsub("two_starts", '<bpmn:startEvent id="a"><bpmn:signalEventDefinition signalRef="sig"/></bpmn:startEvent>'
                              '<bpmn:startEvent id="b"><bpmn:signalEventDefinition signalRef="sig"/></bpmn:startEvent>')
        + evsub("plain", '<bpmn:startEvent id="ps"/>')
        + evsub("conditional", '<bpmn:startEvent id="c"><bpmn:conditionalEventDefinition><bpmn:condition>'
                               'x &gt; 1</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:startEvent>')
        + evsub("soft_error", '<bpmn:startEvent id="se" isInterrupting="false"><bpmn:errorEventDefinition/>'
                              '</bpmn:startEvent>')
        + evsub("wired", '<bpmn:startEvent id="w"><bpmn:messageEventDefinition messageRef="msg"/></bpmn:startEvent>')
        + '<bpmn:message id="msg" name="m"/><bpmn:signal id="sig" name="s"/>'))
    for fine in ("ok_msg", "m", "ok_timer", "t", "ok_error", "er", "conditional", "c"):  # conditional: issue 17
        assert fine not in errors
    assert errors["no_start"] == ["event subprocess 'no_start' needs exactly one start event (it has 0) with a "
                                  "message, timer, signal, error or escalation event definition"]
    assert "needs exactly one start event (it has 2)" in errors["two_starts"][0]
    assert errors["ps"] == ["start event 'ps' of event subprocess 'plain' has no event definition; give it a message, "
                           "timer, signal, error or escalation definition"]
    assert "cannot be non-interrupting" in errors["se"][0]
    assert errors["wired"] == ["event subprocess 'wired' has incoming or outgoing sequence flows (f2); an event "
                               "subprocess is not connected to the flow, its start event starts it"]


def test_flow_into_another_process_is_refused():
    """A sequence flow must stay inside its process or subprocess."""
    errors = by_element(inline(
        '<bpmn:subProcess id="sub"><bpmn:startEvent id="ss"/><bpmn:endEvent id="se"/>'
        '<bpmn:sequenceFlow id="inner" sourceRef="ss" targetRef="se"/></bpmn:subProcess>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="se"/>'))
    assert "is not a step of the same process or subprocess" in errors["f1"][0]


def test_script_conditions_are_refused():
    """A groovy/javascript condition is a script, not an expression."""
    errors = by_element(inline(
        '<bpmn:exclusiveGateway id="g" default="f3"/><bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="e1"><bpmn:conditionExpression language="groovy">'
        'approved == true</bpmn:conditionExpression></bpmn:sequenceFlow>'
        '<bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="e2"/>'))
    assert "is a script (groovy)" in errors["f2"][0]


def test_multi_instance_item_must_not_shadow_an_element_id():
    """An element variable named like an element would confuse SpiffWorkflow's id index."""
    errors = by_element(inline(
        '<bpmn:userTask id="reviewer"><bpmn:multiInstanceLoopCharacteristics camunda:collection="xs" '
        'camunda:elementVariable="reviewer"/></bpmn:userTask>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="reviewer"/>'))
    assert "has the same name as the element 'reviewer'" in errors["reviewer"][0]


def test_shared_element_variable_is_not_a_duplicate_id():
    """Two loops may use the same element variable."""
    assert inline(
        '<bpmn:userTask id="a"><bpmn:multiInstanceLoopCharacteristics camunda:collection="xs" '
        'camunda:elementVariable="x"/></bpmn:userTask>'
        '<bpmn:userTask id="b"><bpmn:multiInstanceLoopCharacteristics camunda:collection="ys" '
        'camunda:elementVariable="x"/></bpmn:userTask>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b"/>') == []


@needs_expressions
def test_timer_expressions_and_iso_texts_are_accepted():
    """${...} timers and ISO dates, durations and cycles pass."""
    timers = "".join(
        f'<bpmn:intermediateCatchEvent id="w{i}"><bpmn:timerEventDefinition><bpmn:{kind}>{text}</bpmn:{kind}>'
        f'</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
        for i, (kind, text) in enumerate([("timeDuration", "${limit}"), ("timeDate", "2025-03-01T09:00:00+08:00"),
                                          ("timeCycle", "R3/PT10M"), ("timeDuration", "P5D")]))
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate([("s", "w0"), ("w0", "w1"), ("w1", "w2"), ("w2", "w3")]))
    assert inline(timers + flows) == []


def test_dmn_file_only_gets_the_id_check():
    """A DMN tree is only checked for duplicate ids."""
    name, content = read("decision.dmn")[0]
    tree = parse_untrusted(name, content)
    assert checks.check(name, tree, {}) == []


def test_reference_to_the_wrong_kind_of_element():
    """An errorRef naming a message is an error, not silently redefined."""
    xml = (f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="D"><bpmn:message id="Paid" name="paid"/>'
           '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/>'
           '<bpmn:endEvent id="e"><bpmn:errorEventDefinition errorRef="Paid"/></bpmn:endEvent>'
           '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/></bpmn:process></bpmn:definitions>')
    errors = by_element(problems_of("ref.bpmn", xml.encode()))
    assert errors["e"] == ["errorRef 'Paid' of 'e' names a message, not an error"]


def test_gateway_default_must_be_an_outgoing_flow():
    """A default flow that does not leave the gateway is an error."""
    errors = by_element(inline(
        '<bpmn:exclusiveGateway id="g" default="nope"/><bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="e"/>'))
    assert errors["g"] == ["default flow 'nope' of gateway 'g' is not one of its outgoing flows"]


def test_large_diagram_is_checked_in_linear_time():
    """Thousands of steps with implicit splits prepare quickly (no quadratic passes)."""
    import time

    from engine.bpmn.prepare import prepare

    n = 3000
    nodes = "".join(f'<bpmn:userTask id="t{i}"/>' for i in range(n))
    flows = "".join(f'<bpmn:sequenceFlow sourceRef="t{i}" targetRef="t{i + 1}"/>' for i in range(n - 1))
    flows += "".join(f'<bpmn:sequenceFlow id="x{i}" sourceRef="t{i}" targetRef="e"/>' for i in range(0, n, 2))
    xml = (f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="D"><bpmn:process id="p" isExecutable="true">'
           f'<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t0"/>'
           f'{nodes}{flows}</bpmn:process></bpmn:definitions>')
    started = time.monotonic()
    [pf] = prepare([("big.bpmn", xml.encode())])
    assert time.monotonic() - started < 5
    # every task, start, end, one added gateway per split and the implicit end after the last task
    assert len(pf.metadata) == n + 2 + n // 2 + 1
