"""Issue 13, finding 3 (continued): bounds on deployments and on what one command may do.

Files per deployment, elements per process and the fan-out of one element are checked at deploy; the elements
the engine runs, the engine tasks and timers one command creates, and the time it runs are checked while it
runs. Past a bound the command is refused with ``invalid_input`` naming the bound, nothing is written, and the
next request is answered as usual.
"""
from __future__ import annotations

import base64
import io

import pytest

from tests.web.test_api import client

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="accept" camunda:candidateGroups="window" camunda:formKey="yimen:accept"/>
    <bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="accept"/>
{body}
  </bpmn:process>
</bpmn:definitions>"""

# After acceptance the diagram goes round a loop with no wait state for as long as ``copies`` is not -1.
LOOP = """
    <bpmn:sequenceFlow id="f_accept" sourceRef="accept" targetRef="tick"/>
    <bpmn:intermediateThrowEvent id="tick"/>
    <bpmn:sequenceFlow id="f_tick" sourceRef="tick" targetRef="again"/>
    <bpmn:exclusiveGateway id="again" default="f_back"/>
    <bpmn:sequenceFlow id="f_back" sourceRef="again" targetRef="tick"/>
    <bpmn:sequenceFlow id="f_out" sourceRef="again" targetRef="end">
      <bpmn:conditionExpression>${copies == -1}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="end"/>"""


def _timers(branches: int) -> str:
    """After acceptance, ``branches`` parallel branches, each waiting on its own timer."""
    flows = [f'<bpmn:sequenceFlow id="f_accept" sourceRef="accept" targetRef="fork"/>',
             '<bpmn:parallelGateway id="fork"/>', '<bpmn:parallelGateway id="join"/>',
             '<bpmn:sequenceFlow id="f_end" sourceRef="join" targetRef="end"/>', '<bpmn:endEvent id="end"/>']
    for n in range(branches):
        flows += [f'<bpmn:sequenceFlow id="f_in{n}" sourceRef="fork" targetRef="wait{n}"/>',
                  f'<bpmn:intermediateCatchEvent id="wait{n}"><bpmn:timerEventDefinition>'
                  f'<bpmn:timeDuration>P30D</bpmn:timeDuration></bpmn:timerEventDefinition>'
                  '</bpmn:intermediateCatchEvent>',
                  f'<bpmn:sequenceFlow id="f_out{n}" sourceRef="wait{n}" targetRef="join"/>']
    return "\n    ".join(flows)


def _fan_out(branches: int) -> str:
    flows = ['<bpmn:sequenceFlow id="f_accept" sourceRef="accept" targetRef="fork"/>',
             '<bpmn:parallelGateway id="fork"/>', '<bpmn:endEvent id="end"/>']
    flows += [f'<bpmn:sequenceFlow id="f{n}" sourceRef="fork" targetRef="end"/>' for n in range(branches)]
    return "\n    ".join(flows)


def _diagram(key: str, body: str) -> bytes:
    return HEAD.replace("{key}", key).replace("{body}", body).encode()


def _item(app, key: str, body: str) -> str:
    y = app.extensions["yimen"]
    y.deploy([(f"{key}.bpmn", _diagram(key, body))])
    item = {**{k: v for k, v in y.item("330100-XK-001").items() if k in (
        "name", "item_type", "legal_basis", "competent_office", "office_code", "level", "legal_limit_days",
        "promised_limit_days")}, "code": f"BOUND-{key}", "process_key": key,
        "materials": [{"name": "申请书", "required": True}]}
    y.save_item(item)
    return item["code"]


def _apply_and_accept(app, code, copies=1, before_accept=None):
    applied = client(app, "zhang").post("/api/cases", json={
        "item": code, "applicant": {"name": "张三"}, "form": {"copies": copies},
        "materials": [{"name": "申请书", "filename": "a.pdf", "content_base64": base64.b64encode(b"%PDF").decode()}]})
    assert applied.status_code == 201, applied.json
    case = applied.json["case"]
    if before_accept is not None:
        before_accept()
    return case, client(app, "wang").post(f"/api/cases/{case}/accept", json={"opinion": "材料齐全"})


def _refused_and_unchanged(app, case, answer, what):
    y = app.extensions["yimen"]
    assert answer.status_code == 400, answer.json
    error = answer.json["error"]
    assert error["code"] == "invalid_input" and error["details"]["refusal"] == "over_limit"
    assert error["details"]["what"] == what and error["details"]["limit"] > 0
    shown = y.case(case)
    assert shown["status"] == "submitted"  # the acceptance rolled back with everything it started
    (task,) = y.tasks(instance=shown["instance"])
    assert task["element_id"] == "accept"
    assert client(app, "wang").get("/api/tasks").status_code == 200  # and the service answers as usual


def test_a_loop_without_a_wait_state_is_refused_instead_of_running_forever(app, monkeypatch):
    monkeypatch.setenv("YIMEN_MAX_ENGINE_STEPS", "300")
    case, answer = _apply_and_accept(app, _item(app, "spin", LOOP))
    _refused_and_unchanged(app, case, answer, "engine_steps")
    assert answer.json["error"]["details"]["setting"] == "YIMEN_MAX_ENGINE_STEPS"


def test_the_loop_ends_normally_when_its_condition_lets_it(app):
    case, answer = _apply_and_accept(app, _item(app, "spin", LOOP), copies=-1)
    assert answer.status_code == 200, answer.json
    assert app.extensions["yimen"].case(case)["status"] != "submitted"


def test_a_command_past_its_time_budget_rolls_back_with_a_clear_refusal(app, monkeypatch):
    monkeypatch.setenv("YIMEN_MAX_ENGINE_STEPS", "100000000")
    # the short budget from the acceptance on (whose loop never ends): the application before it, which
    # parses the new diagram, is not timed against it on a loaded machine
    case, answer = _apply_and_accept(app, _item(app, "spin", LOOP),
                                     before_accept=lambda: monkeypatch.setenv("YIMEN_COMMAND_BUDGET_SECONDS", "0.5"))
    assert answer.status_code == 400, answer.json
    assert answer.json["error"]["details"]["refusal"] == "over_budget"
    assert answer.json["error"]["details"]["setting"] == "YIMEN_COMMAND_BUDGET_SECONDS"
    assert app.extensions["yimen"].case(case)["status"] == "submitted"


def test_too_many_timers_in_one_command_are_refused(app, monkeypatch):
    code = _item(app, "timers", _timers(12))
    monkeypatch.setenv("YIMEN_MAX_TIMERS_PER_COMMAND", "10")
    case, answer = _apply_and_accept(app, code)
    _refused_and_unchanged(app, case, answer, "timers")
    monkeypatch.setenv("YIMEN_MAX_TIMERS_PER_COMMAND", "12")
    answer = client(app, "wang").post(f"/api/cases/{case}/accept", json={"opinion": "材料齐全"})
    assert answer.status_code == 200, answer.json


def test_too_many_new_engine_tasks_in_one_command_are_refused(app, monkeypatch):
    # a diagram's own elements are bounded at deploy; what grows while it runs is a loop or a multi-instance
    monkeypatch.setenv("YIMEN_MAX_NEW_TASKS", "50")
    case, answer = _apply_and_accept(app, _item(app, "spin", LOOP))
    _refused_and_unchanged(app, case, answer, "tasks")


def _deploy(app, files):
    c = client(app, "chen")
    return c.post("/api/deployments", data={"files": [(io.BytesIO(content), name) for name, content in files]},
                  content_type="multipart/form-data")


def test_too_many_files_in_one_deployment_are_refused(app, monkeypatch):
    monkeypatch.setenv("YIMEN_MAX_DEPLOY_FILES", "5")
    before = client(app, "chen").get("/api/processes").json
    answer = _deploy(app, [(f"p{n}.bpmn", _diagram(f"p{n}", LOOP)) for n in range(6)])
    assert answer.status_code == 400 and answer.json["error"]["details"]["what"] == "files"
    assert client(app, "chen").get("/api/processes").json == before
    assert _deploy(app, [(f"p{n}.bpmn", _diagram(f"p{n}", LOOP)) for n in range(5)]).status_code == 201


def test_a_fan_out_too_wide_is_refused_at_deploy_with_the_element_and_line(app):
    answer = _deploy(app, [("wide.bpmn", _diagram("wide", _fan_out(101)))])
    assert answer.status_code == 400, answer.json
    details = answer.json["error"]["details"]
    assert details["what"] == "branches" and details["element_id"] == "fork" and details["line"] > 0
    assert _deploy(app, [("wide.bpmn", _diagram("wide", _fan_out(100)))]).status_code == 201


@pytest.mark.parametrize("value", ["abc", "-3", "0", "nan"])
def test_a_bound_that_is_no_positive_number_falls_back_to_its_default(monkeypatch, value):
    from engine import limits

    monkeypatch.setenv("YIMEN_MAX_ENGINE_STEPS", value)
    assert limits.setting("YIMEN_MAX_ENGINE_STEPS") == limits.DEFAULTS["YIMEN_MAX_ENGINE_STEPS"]
    monkeypatch.setenv("YIMEN_MAX_ENGINE_STEPS", "12")
    assert limits.setting("YIMEN_MAX_ENGINE_STEPS") == 12
