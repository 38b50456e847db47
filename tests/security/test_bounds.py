"""Issue 13, finding 3: one application cannot stop the service.

A diagram with ``<loopCardinality>${copies}</loopCardinality>`` (one review per copy) or a collection taken
from case data, and an applicant's ``{"copies": 30000}``: refused at once with a clear error, nothing written,
while the next request is answered as usual. A small number still works.
"""
from __future__ import annotations

import base64

import pytest

from tests.web.test_api import client

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="per_copy" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="accept" camunda:candidateGroups="window" camunda:formKey="yimen:accept"/>
    <bpmn:userTask id="review" camunda:candidateGroups="reviewer">
      {loop}
    </bpmn:userTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept"/>
    <bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
LOOPS = {
    "cardinality": "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>${copies}</bpmn:loopCardinality>"
                   "</bpmn:multiInstanceLoopCharacteristics>",
    "collection": '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${copies}" '
                  'camunda:elementVariable="copy"/>',
}


def _item(app, kind: str) -> str:
    y = app.extensions["yimen"]
    y.deploy([("per_copy.bpmn", DIAGRAM.replace("{loop}", LOOPS[kind]).encode())])
    item = {**{k: v for k, v in y.item("330100-XK-001").items() if k in (
        "name", "item_type", "legal_basis", "competent_office", "office_code", "level", "legal_limit_days",
        "promised_limit_days")}, "code": f"BOUND-{kind}", "process_key": "per_copy",
        "materials": [{"name": "申请书", "required": True}]}
    y.save_item(item)
    return item["code"]


def _apply(c, code, copies):
    return c.post("/api/cases", json={"item": code, "applicant": {"name": "张三"}, "form": {"copies": copies},
                                      "materials": [{"name": "申请书", "filename": "a.pdf",
                                                     "content_base64": base64.b64encode(b"%PDF").decode()}]})


@pytest.mark.parametrize("kind, huge, small, wrong", [
    ("cardinality", 30000, 2, "abc"),
    ("collection", ["x"] * 600, ["a", "b"], 7),  # a longer list is already refused as too large a form
])
def test_a_huge_multi_instance_is_refused_at_once_and_writes_nothing(app, kind, huge, small, wrong):
    code = _item(app, kind)
    y = app.extensions["yimen"]
    zhang, wang = client(app, "zhang"), client(app, "wang")
    answer = _apply(zhang, code, small)
    assert answer.status_code == 201, answer.json
    case = answer.json["case"]
    assert wang.post(f"/api/cases/{case}/accept").status_code == 200
    assert len([t for t in y.tasks(instance=y.case(case)["instance"]) if t["element_id"] == "review"]) == 2
    for value, code_expected in ((huge, "invalid_input"), (wrong, "expression_error")):
        big = _apply(zhang, code, value)
        assert big.status_code == 201  # the application itself is taken; the step opens at acceptance
        refused = wang.post(f"/api/cases/{big.json['case']}/accept")
        assert refused.json["error"]["code"] == code_expected, refused.json
        assert y.case(big.json["case"])["status"] == "submitted"  # rolled back: nothing written
        assert [t for t in y.tasks(instance=y.case(big.json["case"])["instance"]) if t["element_id"] == "review"] \
            == []
        assert wang.get("/api/tasks").status_code == 200  # the next request is answered as usual
