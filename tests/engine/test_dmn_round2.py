"""DMN as Camunda and Flowable run it: namespaces, decision graphs, hit policies, result mapping, FEEL.

Each test deploys a business rule task with DMN files from tests/data/dmn, starts an
instance and reads its variables, asserting what the upstream engines' own tests assert
(Camunda's HitPolicyTest and DmnBusinessRuleTaskResultMappingTest, Flowable's hit policy
tests and DmnActivityBehavior).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import BpmnInvalid
from engine.runtime import WorkflowError
from tests.conftest import read

ROOT = Path(__file__).resolve().parents[2]


def camunda_bpmn(decision: str, result_variable: str | None = None, mapping: str | None = None) -> tuple[str, bytes]:
    """start -> business rule task (camunda:decisionRef) -> end, as Camunda Modeler writes it."""
    extra = ""
    if result_variable:
        extra += f' camunda:resultVariable="{result_variable}"'
    if mapping:
        extra += f' camunda:mapDecisionResult="{mapping}"'
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_{decision}"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p_{decision}" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:businessRuleTask id="decide" camunda:decisionRef="{decision}"{extra} />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
    return (f"{decision}.bpmn", xml.encode())


def flowable_bpmn(decision: str, throw_on_no_hits: bool = False) -> tuple[str, bytes]:
    """start -> Flowable decision task (serviceTask flowable:type="dmn") -> end."""
    throw = ("<flowable:field name=\"decisionTaskThrowErrorOnNoHits\"><flowable:string>true</flowable:string>"
             "</flowable:field>") if throw_on_no_hits else ""
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowable="http://flowable.org/bpmn"
    targetNamespace="http://www.flowable.org/processdef">
  <process id="p_{decision}" isExecutable="true">
    <startEvent id="start" />
    <serviceTask id="decide" flowable:type="dmn">
      <extensionElements>
        <flowable:field name="decisionTableReferenceKey"><flowable:string>{decision}</flowable:string></flowable:field>
        {throw}
      </extensionElements>
    </serviceTask>
    <endEvent id="end" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
    <sequenceFlow id="f2" sourceRef="decide" targetRef="end" />
  </process>
</definitions>
"""
    return (f"{decision}_flowable.bpmn", xml.encode())


def run(yimen, bpmn, dmn_file: str, data: dict) -> dict:
    yimen.deploy([bpmn, read(f"dmn/{dmn_file}")])
    key = bpmn[0].rsplit(".", 1)[0].removesuffix("_flowable")
    shown = yimen.show(yimen.start(f"p_{key}", data)["instance"])
    assert shown["status"] == "completed"
    return shown["data"]


def hits(i1: bool, i2: bool, i3: bool, o1, o2, o3) -> dict:
    return {"input1": i1, "input2": i2, "input3": i3, "output1": o1, "output2": o2, "output3": o3}


# --------------------------------------------------------------------------- hit policies (Camunda)

@pytest.mark.parametrize("decision", ["unique", "default", "any", "first", "rule_order", "collect"])
def test_no_matching_rule_gives_an_empty_result(yimen, decision):
    data = run(yimen, camunda_bpmn(decision, "result"), "hit_policies_camunda.dmn", hits(False, False, False,
                                                                                         "a", "b", "c"))
    assert data["result"] == []


@pytest.mark.parametrize("decision", ["unique", "default", "any", "first", "rule_order", "collect"])
def test_one_matching_rule_gives_its_output(yimen, decision):
    data = run(yimen, camunda_bpmn(decision, "result", "singleEntry"), "hit_policies_camunda.dmn",
               hits(False, True, False, "a", "b", "c"))
    assert data["result"] == "b"


@pytest.mark.parametrize("decision", ["unique", "default"])
def test_unique_with_two_matching_rules_is_an_error_naming_both(yimen, decision):
    """UNIQUE (also the default hit policy) refuses a second match (Camunda's DMN-03001)."""
    yimen.deploy([camunda_bpmn(decision, "result"), read("dmn/hit_policies_camunda.dmn")])
    with pytest.raises(WorkflowError) as err:
        yimen.start(f"p_{decision}", hits(True, False, True, "a", "b", "c"))
    message = err.value.message
    assert f"decision '{decision}'" in message and "hit policy UNIQUE" in message
    assert f"rule '{decision}_r1' (row 1)" in message and f"rule '{decision}_r3' (row 3)" in message


def test_any_allows_several_matches_with_equal_outputs_only(yimen):
    """ANY: equal outputs give that output; different outputs are an error (Camunda's DMN-03002)."""
    yimen.deploy([camunda_bpmn("any", "result", "singleEntry"), camunda_bpmn("any_compound", "result", "singleResult"),
                  read("dmn/hit_policies_camunda.dmn")])
    shown = yimen.show(yimen.start("p_any", hits(True, True, True, "a", "a", "a"))["instance"])
    assert shown["data"]["result"] == "a"
    shown = yimen.show(yimen.start("p_any_compound", hits(True, False, True, "a", "b", "a"))["instance"])
    assert shown["data"]["result"] == {"out1": "a", "out2": "a", "out3": "a"}
    with pytest.raises(WorkflowError) as err:
        yimen.start("p_any", hits(True, True, False, "a", "b", "c"))
    assert "hit policy ANY" in err.value.message and "rule 'any_r2' (row 2)" in err.value.message


@pytest.mark.parametrize("inputs, outputs, expected", [
    ((True, True, False), ("a", "b", "c"), "a"),
    ((True, True, False), ("c", "b", "a"), "c"),
    ((False, True, True), ("a", "b", "c"), "b"),
    ((True, True, True), ("c", "b", "a"), "c"),
])
def test_first_takes_the_first_matching_rule(yimen, inputs, outputs, expected):
    data = run(yimen, camunda_bpmn("first_compound", "result", "singleResult"), "hit_policies_camunda.dmn",
               hits(*inputs, *outputs))
    assert data["result"] == {"out1": expected, "out2": expected, "out3": expected}


@pytest.mark.parametrize("decision", ["rule_order", "collect"])
@pytest.mark.parametrize("inputs, outputs, expected", [
    ((True, True, False), ("c", "b", "a"), ["c", "b"]),
    ((True, False, True), ("a", "b", "c"), ["a", "c"]),
    ((True, True, True), ("c", "b", "a"), ["c", "b", "a"]),
])
def test_rule_order_and_collect_give_every_match_in_rule_order(yimen, decision, inputs, outputs, expected):
    data = run(yimen, camunda_bpmn(decision, "result", "collectEntries"), "hit_policies_camunda.dmn",
               hits(*inputs, *outputs))
    assert data["result"] == expected


@pytest.mark.parametrize("decision, inputs, expected", [
    ("collect_sum", (True, True, False), 30),
    ("collect_sum", (True, True, True), 60.034),
    ("collect_sum", (False, False, True), 30.034),
    ("collect_min", (False, True, True), 20),
    ("collect_min", (True, True, True), 10),
    ("collect_max", (True, True, False), 20),
    ("collect_max", (True, False, True), 30.034),
    ("collect_count", (True, True, True), 3),
    ("collect_count", (False, True, False), 1),
    ("collect_count", (False, False, False), 0),
])
def test_collect_aggregations(yimen, decision, inputs, expected):
    """COLLECT with SUM/MIN/MAX/COUNT gives one value; COUNT of nothing is 0 (Camunda's HitPolicyTest)."""
    data = run(yimen, camunda_bpmn(decision, "result", "singleEntry"), "hit_policies_camunda.dmn",
               hits(*inputs, 10, 20, 30.034))
    assert data["result"] == pytest.approx(expected)


@pytest.mark.parametrize("decision", ["collect_sum", "collect_min", "collect_max"])
def test_numeric_aggregation_without_a_match_is_empty(yimen, decision):
    data = run(yimen, camunda_bpmn(decision, "result", "singleEntry"), "hit_policies_camunda.dmn",
               hits(False, False, False, 10, 20, 30))
    assert data["result"] is None


def test_sum_of_a_string_is_an_error_naming_the_rule(yimen):
    """Camunda's DMN-03004: SUM needs numbers."""
    yimen.deploy([camunda_bpmn("collect_sum", "result"), read("dmn/hit_policies_camunda.dmn")])
    with pytest.raises(WorkflowError) as err:
        yimen.start("p_collect_sum", hits(False, True, True, 10, 20, "c"))
    assert "decision 'collect_sum'" in err.value.message and "rule 'collect_sum_r3' (row 3)" in err.value.message


# --------------------------------------------------------------------------- PRIORITY / OUTPUT ORDER (Flowable)

@pytest.mark.parametrize("value, expected", [(25, "HIGH"), (15, "MEDIUM"), (5, "LOW")])
def test_priority_takes_the_match_whose_output_comes_first_in_the_output_values(yimen, value, expected):
    """Flowable: a single result's outputs become process variables."""
    data = run(yimen, flowable_bpmn("priority"), "priority_flowable.dmn", {"inputVariable1": value})
    assert data["outputVariable1"] == expected and data["code"] == expected[0].lower()
    assert "priority" not in data


@pytest.mark.parametrize("value, expected", [(25, ["HIGH", "MEDIUM", "LOW"]), (15, ["MEDIUM", "LOW"]), (5, ["LOW"])])
def test_output_order_sorts_every_match_by_the_output_values(yimen, value, expected):
    """Flowable: a multiple-result hit policy stores the list of results under the decision key."""
    data = run(yimen, flowable_bpmn("output_order"), "priority_flowable.dmn", {"inputVariable1": value})
    assert [r["outputVariable1"] for r in data["output_order"]] == expected
    assert [r["code"] for r in data["output_order"]] == [e[0].lower() for e in expected]


def test_flowable_throw_error_on_no_hits(yimen):
    yimen.deploy([flowable_bpmn("first", throw_on_no_hits=True), read("dmn/hit_policies_camunda.dmn")])
    shown = yimen.show(yimen.start("p_first", hits(True, False, False, "a", "b", "c"))["instance"])
    assert shown["data"]["out"] == "a"
    with pytest.raises(WorkflowError) as err:
        yimen.start("p_first", hits(False, False, False, "a", "b", "c"))
    assert "decision 'first' did not match any rule" in err.value.message


# --------------------------------------------------------------------------- camunda:mapDecisionResult

@pytest.mark.parametrize("mapping, status, expected", [
    ("singleEntry", "single", "foo"),
    ("singleEntry", "none", None),
    ("singleResult", "single", {"result1": "foo"}),
    ("singleResult", "compound", {"result1": "foo", "result2": "bar"}),
    ("singleResult", "none", None),
    ("collectEntries", "multiple", ["foo", "bar"]),
    ("collectEntries", "multipleCompound", ["foo", "bar", "baz"]),
    ("collectEntries", "none", []),
    ("resultList", "compound", [{"result1": "foo", "result2": "bar"}]),
    ("resultList", "multiple", [{"result1": "foo"}, {"result1": "bar"}]),
    ("resultList", "none", []),
    (None, "multiple", [{"result1": "foo"}, {"result1": "bar"}]),   # resultList is the default
])
def test_map_decision_result(yimen, mapping, status, expected):
    data = run(yimen, camunda_bpmn("mapping", "result", mapping), "mapping_camunda.dmn", {"status": status})
    assert data["result"] == expected


@pytest.mark.parametrize("mapping, status, reason", [
    ("singleEntry", "compound", "needs one output, but the result has 2"),
    ("singleEntry", "multiple", "needs at most one result, but the decision gave 2"),
    ("singleResult", "multiple", "needs at most one result, but the decision gave 2"),
    ("collectEntries", "compound", "needs one output per result"),
])
def test_a_result_the_mapping_cannot_take_is_an_error(yimen, mapping, status, reason):
    yimen.deploy([camunda_bpmn("mapping", "result", mapping), read("dmn/mapping_camunda.dmn")])
    with pytest.raises(WorkflowError) as err:
        yimen.start("p_mapping", {"status": status})
    assert f"decision 'mapping': mapDecisionResult '{mapping}' {reason}" in err.value.message


def test_an_unknown_mapping_is_refused_at_deploy(yimen):
    with pytest.raises(BpmnInvalid) as err:
        yimen.deploy([camunda_bpmn("mapping", "result", "firstEntry"), read("dmn/mapping_camunda.dmn")])
    problem = err.value.problems[0]
    assert problem.element_id == "decide" and "mapDecisionResult 'firstEntry'" in problem.reason


# --------------------------------------------------------------------------- FEEL unary tests (DMN 1.2)

@pytest.mark.parametrize("decision, data, expected", [
    ("numbers", {"amount": 1, "limit": 6}, ["closed", "lt5", "list", "not5", "any"]),
    ("numbers", {"amount": 5, "limit": 6}, ["closed", "open", "paren", "list", "any"]),
    ("numbers", {"amount": 10, "limit": 6}, ["closed", "ge10", "not5", "q", "limit", "any"]),
    ("numbers", {"amount": "12", "limit": 20}, ["ge10", "not5", "q", "any"]),   # typeRef number: "12" is 12
    ("strings", {"category": "b"}, ["ab"]),
    ("strings", {"category": "x"}, ["not_ab", "x"]),
    ("strings", {"category": "a,b"}, ["not_ab", "comma"]),
    ("dates", {"applied": "2025-12-31"}, ["before", "not_day"]),
    ("dates", {"applied": "2026-03-02"}, ["in2026", "day"]),
    ("dates", {"applied": "2027-01-01"}, ["not_day"]),
    ("flags", {"urgent": True}, ["yes"]),
    ("flags", {"urgent": False}, ["no"]),
    ("flags", {"urgent": None}, ["unset"]),
])
def test_feel_unary_tests(yimen, decision, data, expected):
    """Ranges [..] ]..[ (..), lists, not(...), comparisons, '?', strings, dates, booleans, null and '-'."""
    result = run(yimen, camunda_bpmn(decision, "hits", "collectEntries"), "feel_tests.dmn", data)
    assert result["hits"] == expected


# --------------------------------------------------------------------------- decision requirements graph

@pytest.mark.parametrize("data, dish, beverages", [
    ({"month": 1, "guests": 3, "guestsWithChildren": False}, "Roastbeef", ["Bordeaux", "Water"]),
    ({"month": 12, "guests": 8, "guestsWithChildren": True}, "Stew", ["Guinness", "Apple juice", "Water"]),
    ({"month": 7, "guests": 2, "guestsWithChildren": False}, "Light salad", ["Sauvignon", "Water"]),
    ({"month": 4, "guests": 10, "guestsWithChildren": True}, "Steak", ["Apple juice", "Water"]),
])
def test_required_decisions_feed_the_decision_that_needs_them(yimen, data, dish, beverages):
    """Camunda's dish example (DMN 1.1): season and guest count feed dish, dish feeds beverages."""
    yimen.deploy([camunda_bpmn("dish", "dish", "singleEntry"), camunda_bpmn("beverages", "drinks", "collectEntries"),
                  read("dmn/dish_camunda.dmn")])
    assert yimen.show(yimen.start("p_dish", data)["instance"])["data"]["dish"] == dish
    assert yimen.show(yimen.start("p_beverages", data)["instance"])["data"]["drinks"] == beverages


def test_the_decision_graph_through_the_cli(database_url, tmp_path):
    """deploy (BPMN + DMN 1.1 with a DRG), start and show through the command line, as JSON."""
    env = dict(os.environ, YIMEN_DATABASE_URL=database_url, YIMEN_INSTANCE_PATH=str(tmp_path))

    def cli(*args):
        proc = subprocess.run([sys.executable, "-m", "engine.cli", *args, "--json"], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=120)
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        return json.loads(proc.stdout.strip().splitlines()[-1])

    name, content = camunda_bpmn("beverages", "drinks", "collectEntries")
    (tmp_path / name).write_bytes(content)
    cli("db", "upgrade")
    deployed = cli("deploy", str(tmp_path / name), str(ROOT / "tests/data/dmn/dish_camunda.dmn"))
    assert deployed["deployed"][0]["key"] == "p_beverages"
    started = cli("start", "p_beverages", "--data", json.dumps({"month": 12, "guests": 2, "guestsWithChildren": False}))
    shown = cli("show", str(started["instance"]))
    assert shown["status"] == "completed" and shown["data"]["drinks"] == ["Bordeaux", "Water"]


# --------------------------------------------------------------------------- deploy-time problems

def test_files_without_rule_and_entry_ids_deploy_and_run(yimen):
    """SpiffWorkflow failed on these with a bare KeyError('id'); ids are optional in DMN."""
    dmn = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/DMN/20151101" id="d" name="d" namespace="http://www.flowable.org/dmn">
  <decision id="fee_decision" name="Fee">
    <decisionTable hitPolicy="FIRST">
      <input label="Amount"><inputExpression typeRef="number"><text>amount</text></inputExpression></input>
      <output name="fee" typeRef="number" />
      <rule><inputEntry><text>&gt;= 1000</text></inputEntry><outputEntry><text>50</text></outputEntry></rule>
      <rule><inputEntry><text>-</text></inputEntry><outputEntry><text>10</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""
    yimen.deploy([read("bpmn_prep/brt_flowable.bpmn"), ("fee.dmn", dmn)])
    shown = yimen.show(yimen.start("fee_flowable", {"amount": 2000})["instance"])
    assert shown["data"]["fee"] == 50


def test_every_problem_names_its_decision_and_rule(yimen):
    with pytest.raises(BpmnInvalid) as err:
        yimen.deploy([camunda_bpmn("bad_test", "r"), read("dmn/broken.dmn")])
    found = {(p.element_id, p.line): p.reason for p in err.value.problems}
    reasons = "\n".join(f"{k}: {v}" for k, v in found.items())
    expected = [
        ("bad_test_r2", "decision 'bad_test', rule 'bad_test_r2' (row 2), input 'Amount': cannot read '[1..'"),
        ("bad_count_r1", "decision 'bad_count', rule 'bad_count_r1' (row 1): has 2 input and 1 output entries, "
                         "but the table has 1 inputs and 1 outputs"),
        ("bad_output_r1", "decision 'bad_output', rule 'bad_output_r1' (row 1), output 'fee': cannot read '50 +'"),
        ("bad_policy", "decision 'bad_policy': unknown hit policy 'SOMETIMES'"),
        ("bad_sum", "decision 'bad_sum': hit policy COLLECT with aggregation SUM needs exactly one output"),
        ("bad_priority", "decision 'bad_priority': hit policy PRIORITY orders results by the outputs' values"),
        ("bad_requirement", "decision 'bad_requirement' requires decision 'nowhere', which is not in this file"),
        ("bad_script_r1", "expression language 'javascript' is not run by Yimen"),
    ]
    for element_id, reason in expected:
        assert any(eid == element_id and reason in text and line for (eid, line), text in found.items()), \
            f"{element_id}: {reason}\n-- got --\n{reasons}"
    assert all(p.file == "broken.dmn" for p in err.value.problems)


def test_a_cycle_of_required_decisions_is_refused(yimen):
    dmn = read("dmn/dish_camunda.dmn")[1].replace(
        b'<decision id="season" name="season">',
        b'<decision id="season" name="season">\n    <informationRequirement>'
        b'<requiredDecision href="#beverages" /></informationRequirement>')
    with pytest.raises(BpmnInvalid) as err:
        yimen.deploy([camunda_bpmn("dish", "dish"), ("dish.dmn", dmn)])
    assert any("cycle" in p.reason and "season" in p.reason for p in err.value.problems)


def test_a_decision_missing_from_the_upload_is_refused_with_the_task_named(yimen):
    with pytest.raises(BpmnInvalid) as err:
        yimen.deploy([camunda_bpmn("no_such_decision", "r"), read("dmn/mapping_camunda.dmn")])
    assert any(p.element_id == "decide" and "no_such_decision" in p.reason for p in err.value.problems)


LITERAL_DMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" xmlns:camunda="http://camunda.org/schema/1.0/dmn"
    id="fees" name="fees" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="rate" name="Rate">
    <decisionTable id="rate_table" hitPolicy="FIRST">
      <input id="rate_kind" label="Kind" camunda:inputVariable="kind">
        <inputExpression id="rate_kind_expr" typeRef="string"><text>${applicant.kind}</text></inputExpression>
      </input>
      <input id="rate_amount" label="Amount">
        <inputExpression id="rate_amount_expr" typeRef="number"><text>amount</text></inputExpression>
      </input>
      <output id="rate_out" name="rate" typeRef="double" />
      <rule id="rate_company">
        <inputEntry id="rc1" expressionLanguage="juel"><text>${kind == "company"}</text></inputEntry>
        <inputEntry id="rc2"><text>-</text></inputEntry>
        <outputEntry id="rc3"><text>0.02</text></outputEntry>
      </rule>
      <rule id="rate_small">
        <inputEntry id="rs1"><text>in ['person', 'farmer']</text></inputEntry>
        <inputEntry id="rs2"><text>&lt; 1000</text></inputEntry>
        <outputEntry id="rs3"><text>0</text></outputEntry>
      </rule>
      <rule id="rate_other">
        <inputEntry id="ro1"><text>-</text></inputEntry>
        <inputEntry id="ro2"><text>-</text></inputEntry>
        <outputEntry id="ro3"><text>0.01</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
  <decision id="fee" name="Fee">
    <variable id="fee_var" name="fee" typeRef="double" />
    <informationRequirement id="fee_needs_rate"><requiredDecision href="#rate" /></informationRequirement>
    <literalExpression id="fee_expr"><text>amount * rate</text></literalExpression>
  </decision>
</definitions>
"""


@pytest.mark.parametrize("kind, amount, fee", [("company", 500, 10), ("person", 500, 0), ("person", 5000, 50)])
def test_literal_expression_decision_juel_and_python_style_entries(yimen, kind, amount, fee):
    """A literal-expression decision on top of a table: a JUEL entry over camunda:inputVariable, a
    SpiffWorkflow-style 'in [...]' entry, FEEL comparisons; typeRef double makes the rate a number."""
    yimen.deploy([camunda_bpmn("fee", "fee", "singleEntry"), ("fees.dmn", LITERAL_DMN)])
    shown = yimen.show(yimen.start("p_fee", {"applicant": {"kind": kind}, "amount": amount})["instance"])
    assert shown["data"]["fee"] == pytest.approx(fee)


def test_an_unknown_input_variable_is_an_error_naming_the_decision_and_input(yimen):
    yimen.deploy([camunda_bpmn("fee", "fee", "singleEntry"), ("fees.dmn", LITERAL_DMN)])
    with pytest.raises(WorkflowError) as err:
        yimen.start("p_fee", {"applicant": {"kind": "person"}})
    assert "decision 'rate': input 'Amount' (amount): unknown variable 'amount'" in err.value.message


FLOWABLE_DMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/DMN/20151101" id="definition_check" name="Check"
    namespace="http://www.flowable.org/dmn">
  <decision id="check" name="Check">
    <decisionTable id="check_table" hitPolicy="RULE ORDER">
      <input id="check_in1" label="Status">
        <inputExpression id="check_in1_expr" typeRef="string"><text>status</text></inputExpression>
      </input>
      <input id="check_in2" label="Count">
        <inputExpression id="check_in2_expr" typeRef="number"><text>count</text></inputExpression>
      </input>
      <input id="check_in3" label="Filed">
        <inputExpression id="check_in3_expr" typeRef="date"><text>filed</text></inputExpression>
      </input>
      <output id="check_out" label="Check" name="check" typeRef="string" />
      <rule><inputEntry><text><![CDATA[== "approve"]]></text></inputEntry><inputEntry><text>-</text></inputEntry>
        <inputEntry><text>-</text></inputEntry><outputEntry><text>'approved'</text></outputEntry></rule>
      <rule><inputEntry><text>-</text></inputEntry><inputEntry><text><![CDATA[!= 5]]></text></inputEntry>
        <inputEntry><text>-</text></inputEntry><outputEntry><text>'not five'</text></outputEntry></rule>
      <rule><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry>
        <inputEntry><text><![CDATA[>= date:toDate('2026-01-01')]]></text></inputEntry>
        <outputEntry><text>'this year'</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


@pytest.mark.parametrize("data, expected", [
    ({"status": "approve", "count": 5, "filed": "2025-06-01"}, ["approved"]),
    ({"status": "reject", "count": 4, "filed": "2026-02-01"}, ["not five", "this year"]),
])
def test_flowable_dmn_11_entries(yimen, data, expected):
    """Flowable's DMN 1.1 namespace and entry style: '== "x"', '!= 5', date:toDate('...');
    RULE ORDER stores the list of results under the decision key."""
    yimen.deploy([flowable_bpmn("check"), ("check.dmn", FLOWABLE_DMN)])
    shown = yimen.show(yimen.start("p_check", data)["instance"])
    assert [r["check"] for r in shown["data"]["check"]] == expected
