"""Issue 17, refused at deploy although valid: diagrams Camunda, Flowable and Activiti run as drawn.

Each test deploys and runs its diagram in all three dialects, on SQLite and PostgreSQL,
through the commands the CLI maps one to one (deploy, start, tasks, complete, message, show).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from engine.errors import BpmnInvalid
from tests.engine.round2 import DIALECTS, complete, diagram, elements, in_dialect, open_elements, status

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_two_steps_may_share_a_form_field_name(yimen, dialect):
    """camunda:formField / flowable:formProperty / activiti:formProperty ids name variables, not elements."""
    result = yimen.deploy([diagram("form_fields", dialect)])
    assert [d["key"] for d in result["deployed"]] == ["r2_form_fields"] and result["warnings"] == []
    instance = yimen.start("r2_form_fields", data={"applicant": "zhang"})["instance"]
    complete(yimen, instance, "review", {"approved": True, "applicant": "li"})
    complete(yimen, instance, "confirm", {"approved": False})
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    assert shown["data"]["applicant"] == "li" and shown["data"]["approved"] is False
    assert elements(yimen, instance) == ["start", "review", "confirm", "end"]


def test_a_form_field_named_like_an_element_is_still_no_element(yimen):
    """An element id used twice is still refused, with both lines; a form field of that name is not counted."""
    _, content = diagram("form_fields", "camunda")
    text = content.decode().replace('<bpmn:userTask id="confirm"', '<bpmn:userTask id="review"', 1)
    with pytest.raises(BpmnInvalid) as refused:
        yimen.deploy([("dup.bpmn", text.encode())])
    problems = [p for p in refused.value.problems if "more than once" in p.reason]
    assert [(p.element_id, p.line) for p in problems] == [("review", 19)]
    assert "first at line 11" in problems[0].reason


@pytest.mark.parametrize("dialect", DIALECTS)
def test_subprocess_without_id_and_without_end_event_ends_implicitly(yimen, dialect):
    """An event subprocess without an id gets one; a subprocess whose paths just stop ends when both have."""
    result = yimen.deploy([diagram("subprocess_implicit", dialect)])
    assert any("has no id" in w["reason"] for w in result["warnings"])
    instance = yimen.start("r2_subprocess_implicit")["instance"]
    assert open_elements(yimen, instance) == ["sign", "stamp"]
    complete(yimen, instance, "sign")
    assert open_elements(yimen, instance) == ["stamp"]  # the subprocess waits for its other path
    complete(yimen, instance, "stamp")
    assert open_elements(yimen, instance) == ["after"]
    complete(yimen, instance, "after")
    assert status(yimen, instance) == "completed"
    assert elements(yimen, instance)[-3:] == ["second", "after", "end"]

    withdrawn = yimen.start("r2_subprocess_implicit")["instance"]
    assert yimen.message("withdrawn", instance=withdrawn) == {"delivered": [withdrawn]}
    assert open_elements(yimen, withdrawn) == ["archive"]
    complete(yimen, withdrawn, "archive")
    assert status(yimen, withdrawn) == "completed"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_python_and_xpath_conditions_choose_the_flow(yimen, dialect):
    """language="python" runs in the restricted evaluator; bpmn:getDataObject('x') = 'y' reads variable x."""
    yimen.deploy([diagram("conditions", dialect)])
    routes = {}
    for data in ({"amount": 2000, "clarified": "yes"}, {"amount": 2000, "clarified": "no"},
                 {"amount": 10, "clarified": "yes"}):
        instance = yimen.start("r2_conditions")["instance"]
        complete(yimen, instance, "clarify", data)
        routes[(data["amount"], data["clarified"])] = (open_elements(yimen, instance), status(yimen, instance))
    assert routes == {(2000, "yes"): (["approve"], "running"), (2000, "no"): (["recheck"], "running"),
                      (10, "yes"): ([], "completed")}


def test_script_conditions_stay_refused_with_element_and_line(yimen):
    """A JavaScript condition is a script (refused); Python that is not one expression does not compile."""
    _, content = diagram("conditions")
    text = content.decode().replace('language="python">amount &gt; 1000 and clarified == \'yes\'',
                                    'language="javascript">amount &gt; 1000')
    text = text.replace("bpmn:getDataObject('clarified') = 'no'", "bpmn:getDataObject('clarified') = ")
    with pytest.raises(BpmnInvalid) as refused:
        yimen.deploy([("scripted.bpmn", text.encode())])
    found = {(p.element_id, p.line): p.reason for p in refused.value.problems}
    assert "script" in found[("to_approve", 15)]
    assert "does not compile" in found[("to_recheck", 18)]


def chain(steps: int, dialect: str = "camunda") -> tuple[str, bytes]:
    """start -> ``steps`` plain tasks and manual tasks in a row -> a user task -> end."""
    nodes, flows, previous = [], [], "start"
    for i in range(steps):
        kind = "manualTask" if i % 2 else "task"
        nodes.append(f'<bpmn:{kind} id="step{i}" />')
        flows.append(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{previous}" targetRef="step{i}" />')
        previous = f"step{i}"
    text = f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
  <bpmn:process id="r2_chain" isExecutable="true">
    <bpmn:startEvent id="start" />
    {"".join(nodes)}
    <bpmn:userTask id="last" camunda:candidateGroups="window" />
    <bpmn:endEvent id="end" />
    {"".join(flows)}
    <bpmn:sequenceFlow id="f_last" sourceRef="{previous}" targetRef="last" />
    <bpmn:sequenceFlow id="f_end" sourceRef="last" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>'''
    return f"chain_{dialect}.bpmn", in_dialect(text, dialect).encode()


def test_a_chain_of_a_thousand_steps_deploys_runs_and_ends(yimen, monkeypatch):
    """No recursion a long diagram can exhaust: SpiffWorkflow parses (~480 steps) and predicts (~330 steps)
    recursively and stops looking 1,000 steps deep (the instance would "complete" before its last steps).

    SpiffWorkflow walks the whole task tree once per step it runs (Yimen's engine loop avoids most of the
    walks, see engine.bpmn.workflow_fixes and bench/chain.py); the command's time budget (engine.limits) is
    lifted for this test all the same, so that a very busy machine does not fail it.
    """
    monkeypatch.setenv("YIMEN_COMMAND_BUDGET_SECONDS", "600")
    yimen.deploy([chain(1000)])
    instance = yimen.start("r2_chain")["instance"]
    assert open_elements(yimen, instance) == ["last"]
    complete(yimen, instance, "last")
    done = elements(yimen, instance)
    assert status(yimen, instance) == "completed"
    assert done == ["start", *(f"step{i}" for i in range(1000)), "last", "end"]


@pytest.fixture
def cli(database_url, tmp_path):
    env = dict(os.environ, YIMEN_DATABASE_URL=database_url, YIMEN_INSTANCE_PATH=str(tmp_path),
               YIMEN_NOW="2026-03-02T01:00:00+00:00")

    def run(*args, ok=True):
        proc = subprocess.run([sys.executable, "-m", "engine.cli", *args, "--json"], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=300)
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        assert (proc.returncode == 0) == ok, (proc.returncode, proc.stdout, proc.stderr)
        return out

    run("db", "upgrade")
    return run


def test_round2_diagrams_through_the_command_line(cli, tmp_path):
    """The CLI contract: deploy a Flowable diagram with shared form properties and a Python condition,
    start, list tasks, complete, show; a refused file names the element and line in the JSON error."""
    for name in ("form_fields", "conditions"):
        filename, content = diagram(name, "flowable")
        (tmp_path / filename).write_bytes(content)
    deployed = cli("deploy", str(tmp_path / "form_fields_flowable.bpmn"), str(tmp_path / "conditions_flowable.bpmn"))
    assert sorted(d["key"] for d in deployed["deployed"]) == ["r2_conditions", "r2_form_fields"]
    instance = cli("start", "r2_conditions")["instance"]
    task = cli("tasks", "--instance", str(instance))[0]
    assert task["element_id"] == "clarify"
    cli("complete", task["id"], "--data", '{"amount": 5000, "clarified": "yes"}')
    assert [t["element_id"] for t in cli("tasks", "--instance", str(instance))] == ["approve"]
    assert cli("show", str(instance))["completed_elements"] == ["start", "clarify", "route"]
    bad = content.decode().replace('language="python"', 'language="groovy"')
    (tmp_path / "bad.bpmn").write_text(bad, encoding="utf-8")
    error = cli("deploy", str(tmp_path / "bad.bpmn"), ok=False)["error"]
    assert "to_approve" in json.dumps(error, ensure_ascii=False)


def test_interrupting_a_step_with_a_thousand_steps_after_it(yimen, monkeypatch):
    """Cancelling a step drops the 1,000 steps predicted after it: SpiffWorkflow removed them recursively
    (RecursionError); the interrupting message boundary now ends the instance."""
    monkeypatch.setenv("YIMEN_COMMAND_BUDGET_SECONDS", "600")
    steps = "".join(f'<bpmn:userTask id="step{i}" camunda:candidateGroups="window" />'
                    f'<bpmn:sequenceFlow id="f{i}" sourceRef="{"first" if i == 0 else f"step{i - 1}"}" '
                    f'targetRef="step{i}" />' for i in range(1000))
    text = f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
  <bpmn:process id="r2_long_tail" isExecutable="true">
    <bpmn:startEvent id="start" /><bpmn:userTask id="first" camunda:candidateGroups="window" />
    <bpmn:boundaryEvent id="withdrawn" attachedToRef="first"><bpmn:messageEventDefinition messageRef="w" /></bpmn:boundaryEvent>
    <bpmn:endEvent id="ended_early" /><bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="first" />
    <bpmn:sequenceFlow id="f_early" sourceRef="withdrawn" targetRef="ended_early" />
    {steps}<bpmn:sequenceFlow id="f_end" sourceRef="step999" targetRef="end" />
  </bpmn:process>
  <bpmn:message id="w" name="withdrawn" />
</bpmn:definitions>'''
    yimen.deploy([("long_tail.bpmn", text.encode())])
    instance = yimen.start("r2_long_tail", business_key="LT-1")["instance"]
    assert open_elements(yimen, instance) == ["first"]
    assert yimen.message("withdrawn", business_key="LT-1") == {"delivered": [instance]}
    assert status(yimen, instance) == "completed"
    assert elements(yimen, instance) == ["start", "withdrawn", "ended_early"]
