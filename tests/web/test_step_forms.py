"""Step forms drawn from the diagram (camunda:formData, flowable:formProperty, yimen.formSchema)."""
from __future__ import annotations

import pytest

from engine.errors import BpmnInvalid
from engine.forms import coerce
from engine.errors import ValidationError
from tests.conftest import DATA
from tests.web.test_pages import post, signed_in

FORMS = DATA / "forms"


def _start(y, name):
    y.deploy([(name, (FORMS / name).read_bytes())], user="chen")
    key = name.removesuffix(".bpmn")
    instance = y.start(key, user="wang")["instance"]
    (task,) = y.tasks(instance=instance)
    return instance, task["id"]


def test_a_camunda_generated_form_is_drawn_checked_and_typed(app):
    y = app.extensions["yimen"]
    instance, task = _start(y, "camunda_form.bpmn")
    window = signed_in(app, "wang")
    page = window.get(f"/tasks/{task}").data.decode()
    assert 'name="area"' in page and 'type="date"' in page and 'value="pass"' in page and 'type="checkbox"' in page
    refused = post(window, f"/tasks/{task}/complete", {"area": "很大", "visited": "2026-13-01"}, f"/tasks/{task}")
    message = window.get(refused.headers["Location"]).data.decode()
    assert "“经营面积 Area (m²)”须填整数" in message and "“核查日期 Visit date”须填日期（年-月-日）" in message
    assert "not a valid" not in message  # the engine's English sentence stays in the log
    assert y.tasks(instance=instance)  # still open: nothing completed
    post(window, f"/tasks/{task}/complete", {"area": "120", "visited": "2026-03-02", "result": "pass",
                                             "photos": "true"}, f"/tasks/{task}")
    shown = y.show(instance)
    assert shown["status"] == "completed"
    assert {k: shown["data"][k] for k in ("area", "visited", "result", "photos")} == {
        "area": 120, "visited": "2026-03-02", "result": "pass", "photos": True}


def test_a_flowable_form_and_a_json_schema_form(app):
    y = app.extensions["yimen"]
    window = signed_in(app, "wang")
    instance, task = _start(y, "flowable_form.bpmn")
    refused = post(window, f"/tasks/{task}/complete", {"level": "province"}, f"/tasks/{task}")
    message = window.get(refused.headers["Location"]).data.decode()
    assert "“金额 Amount”为必填项" in message and "须从给出的选项中选择" in message
    post(window, f"/tasks/{task}/complete", {"amount": "12.5", "level": "city"}, f"/tasks/{task}")
    assert y.show(instance)["data"]["amount"] == 12.5
    instance, task = _start(y, "schema_form.bpmn")
    assert 'name="staff"' in window.get(f"/tasks/{task}").data.decode()
    post(window, f"/tasks/{task}/complete", {"staff": "7", "note": "ok"}, f"/tasks/{task}")
    assert y.show(instance)["data"]["staff"] == 7


def test_a_broken_form_schema_refuses_the_deployment(app):
    y = app.extensions["yimen"]
    with pytest.raises(BpmnInvalid) as refused:
        y.deploy([("broken_schema.bpmn", (FORMS / "broken_schema.bpmn").read_bytes())], user="chen")
    (problem,) = refused.value.problems
    assert problem.element_id == "record" and "properties" in problem.reason
    assert "broken_schema" not in {p["key"] for p in y.process_versions()}


def test_coerce_lists_every_problem():
    fields = [{"id": "n", "label": "N", "type": "long", "required": True, "default": None, "options": []},
              {"id": "x", "label": "X", "type": "double", "required": False, "default": None, "options": []}]
    with pytest.raises(ValidationError) as refused:
        coerce(fields, {"x": "abc"})
    assert refused.value.details["problems"] == ["'N' is required", "'X': 'abc' is not a valid double"]
    assert coerce(fields, {"n": "-3", "x": "1e3"}) == {"n": -3, "x": 1000.0}
    with pytest.raises(ValidationError):
        coerce(fields, {"n": "1.5"})


def test_the_api_and_the_engine_check_the_form_too(app):
    from tests.web.test_api import client

    y = app.extensions["yimen"]
    instance, task = _start(y, "camunda_form.bpmn")
    api = client(app, "wang")
    refused = api.post(f"/api/tasks/{task}/complete", json={"data": {"area": "big", "result": "maybe"}})
    assert refused.status_code == 400 and len(refused.json["error"]["details"]["problems"]) == 2
    assert y.tasks(instance=instance)[0]["id"] == task  # still open
    done = api.post(f"/api/tasks/{task}/complete", json={"data": {"area": 80, "result": "fail", "extra": "kept"}})
    assert done.status_code == 200, done.json
    assert {k: y.show(instance)["data"][k] for k in ("area", "result", "photos", "extra")} == {
        "area": 80, "result": "fail", "photos": False, "extra": "kept"}
