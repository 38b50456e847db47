"""FEEL beyond literals in DMN decisions (issue 17): the built-in functions (DMN 1.3, 10.3.4), date and
duration arithmetic and ranges with ``in``, in unary tests and in output expressions, as Camunda
(``camunda:decisionRef``) and Flowable (``flowable:type="dmn"``, its own DMN namespace) run them.
Everything goes through Yimen's restricted evaluator: the tests deploy, start and show an instance."""
from __future__ import annotations

import pytest

from engine.errors import BpmnInvalid
from tests.conftest import DATA
from tests.engine.test_dmn_round2 import camunda_bpmn, flowable_bpmn

DIALECTS = ("camunda", "flowable")


def run(yimen, dialect: str, decision: str, data: dict, mapping: str = "collectEntries") -> dict:
    dmn = "feel_functions.dmn" if dialect == "camunda" else "feel_functions_flowable.dmn"
    bpmn = camunda_bpmn(decision, "result", mapping) if dialect == "camunda" else flowable_bpmn(decision)
    yimen.deploy([bpmn, (dmn, (DATA / "dmn" / dmn).read_bytes())])
    shown = yimen.show(yimen.start(f"p_{decision}", data)["instance"])
    assert shown["status"] == "completed"
    return shown["data"]


def hits(yimen, dialect: str, decision: str, data: dict) -> list:
    result = run(yimen, dialect, decision, data)
    if dialect == "camunda":
        return result["result"]
    return [row["hit"] for row in result[decision]]   # Flowable: a RULE ORDER result under the decision's id


def single(yimen, dialect: str, decision: str, data: dict) -> dict:
    result = run(yimen, dialect, decision, data, "singleResult")
    return result["result"] if dialect == "camunda" else {k: v for k, v in result.items() if k not in data}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name, expected", [
    ("Zhang", ["prefix", "capitalised", "ng", "one_word"]),
    ("Li", ["capitalised", "one_word", "listed"]),
    ("Ouyang Xiu", ["long", "one_word"][:1]),
    ("wang", ["ng", "one_word"]),
])
def test_string_functions_in_unary_tests(yimen, dialect, name, expected):
    """starts with, string length, matches, ends with(lower case(...)), not(contains(...)), list contains."""
    assert hits(yimen, dialect, "feel_strings", {"name": name}) == expected


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("amount, expected", [
    (12, ["even", "range", "third_is_4"]),
    (100, ["even", "above_mean"]),
    (51, ["range", "above_mean", "near50"]),
    (7, []),
])
def test_numeric_functions_and_ranges_in_unary_tests(yimen, dialect, amount, expected):
    """floor, mean, abs, decimal (half-even) and '? in [10..100['."""
    assert hits(yimen, dialect, "feel_numbers", {"amount": amount}) == expected


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("applied, expected", [
    ("2026-01-03", ["early", "first_days", "before_june"]),
    ("2026-06-30", ["early"]),
    ("2026-07-01", []),
    ("2026-12-05", ["december"]),
])
def test_date_and_duration_arithmetic_in_unary_tests(yimen, dialect, applied, expected):
    """date + duration, date - date, years and months duration, date and time(date, time) + duration."""
    assert hits(yimen, dialect, "feel_dates", {"applied": applied}) == expected


@pytest.mark.parametrize("dialect", DIALECTS)
def test_functions_in_output_expressions(yimen, dialect):
    data = {"name": "Zhang", "amount": 1234, "scores": [10, 7, 10], "applied": "2026-03-05"}
    assert single(yimen, dialect, "feel_outputs", data) == {
        "code": "ZH-5", "fee": 43.19, "pages": 13, "count": 3, "total": 27, "has_ten": True, "tens": [1, 3],
        "more": [10, 7, 10, 0], "due": "2026-03-20", "expires": "2027-03-05", "waiting": "P301D",
        "term": "P2Y2M", "slot": "11:00:00"}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_dmn_specification_examples(yimen, dialect):
    """The examples of DMN 1.3, section 10.3.4 (Camunda's and Flowable's FEEL tests assert the same)."""
    assert single(yimen, dialect, "feel_spec", {}) == {
        "s1": "obar", "s2": "a", "s3": 3, "d1": 0.33, "d2": 2, "d3": 2, "f1": -2, "c1": -1, "m1": True,
        "n1": 2, "i1": [2, 4], "a1": [1, 2, 3], "y1": "P1Y8M", "x1": "ABC4", "l1": 3}


def test_the_flowable_dmn_namespace_is_accepted(yimen):
    """A Flowable modeler export: its own DMN namespace (flowable:forceDMN11) and design: extensions."""
    result = yimen.deploy([flowable_bpmn("feel_strings"),
                           ("f.dmn", (DATA / "dmn" / "feel_functions_flowable.dmn").read_bytes())])
    assert result["deployed"]


@pytest.mark.parametrize("entry, reason", [
    ('matches(?, "(a+)+$")', "nested quantifiers"),
    ('duration("P1Y3D") > ?', "mixes years/months"),
])
def test_unsafe_or_wrong_feel_stops_the_decision_naming_it(yimen, entry, reason):
    """A pattern that could backtrack for ever, and a mixed duration: the decision fails, nothing is eval'd."""
    text = (DATA / "dmn" / "feel_functions.dmn").read_text(encoding="utf-8")
    text = text.replace('starts with(?, "Zh")', entry)
    assert entry in text
    yimen.deploy([camunda_bpmn("feel_strings", "result", "collectEntries"), ("bad.dmn", text.encode())])
    with pytest.raises(Exception) as err:
        yimen.start("p_feel_strings", {"name": "aaaa"})
    assert reason in str(err.value) and "feel_strings" in str(err.value)


@pytest.mark.parametrize("data, expected", [
    ({"area": 40, "applied": "2026-12-20", "code": "FS-0042"},
     {"fee": 100.0, "due": "2027-01-20", "track": "year end fs"}),
    ({"area": 40, "applied": "2026-03-05", "code": "FS-0042"}, {"fee": 100.0, "due": "2026-03-25", "track": "fast"}),
    ({"area": 300, "applied": "2026-01-31", "code": "XX"}, {"fee": 490.0, "due": "2026-02-28", "track": "standard"}),
])
def test_the_documented_fee_example_runs(yimen, data, expected):
    """docs/examples/r2_feel_fee.bpmn + .dmn, as docs/bpmn.md shows them."""
    examples = DATA.parents[1] / "docs" / "examples"
    yimen.deploy([(name, (examples / name).read_bytes()) for name in ("r2_feel_fee.bpmn", "r2_feel_fee.dmn")])
    shown = yimen.show(yimen.start("r2_feel_fee", data)["instance"])
    assert shown["data"]["fee_decision"] == expected


def test_a_text_is_not_a_date_in_arithmetic(yimen):
    """Case data holds dates as text: ``applied + duration(...)`` is refused naming the fix, not glued into a string."""
    examples = DATA.parents[1] / "docs" / "examples"
    dmn = (examples / "r2_feel_fee.dmn").read_text(encoding="utf-8").replace(
        'date(applied) + duration("P20D")', 'applied + duration("P20D")')
    yimen.deploy([("r2_feel_fee.bpmn", (examples / "r2_feel_fee.bpmn").read_bytes()), ("fee.dmn", dmn.encode())])
    with pytest.raises(Exception) as err:
        yimen.start("r2_feel_fee", {"area": 40, "applied": "2026-03-05", "code": "FS-0042"})
    assert "cannot apply '+' to string and duration" in str(err.value) and "rule 'small'" in str(err.value)
