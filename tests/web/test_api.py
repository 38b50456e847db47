"""The JSON API: tokens, scoping, verbs, errors, the OpenAPI document, and fuzzing."""
from __future__ import annotations

import base64
import re

import pytest

from engine.demo import DEMO_PASSWORD

MATERIALS = ["食品经营许可申请书", "营业执照", "食品安全管理制度"]


def token(app, user):
    return app.extensions["yimen"].create_token(user, "test")["token"]


def client(app, user):
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token(app, user)}"
    return c


def apply(c, materials=MATERIALS):
    body = {"item": "330100-XK-001", "applicant": {"name": "张三"},
            "materials": [{"name": n, "filename": "a.pdf", "content_base64": base64.b64encode(b"%PDF").decode()}
                          for n in materials]}
    response = c.post("/api/cases", json=body)
    assert response.status_code == 201, response.json
    return response.json["case"]


def test_without_credentials_or_with_a_revoked_token_nothing_is_answered(app):
    anonymous = app.test_client()
    assert anonymous.get("/api/me").json["error"]["code"] == "unauthenticated"
    c = app.test_client()
    made = app.extensions["yimen"].create_token("zhang", "x")
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {made['token']}"
    assert c.get("/api/me").json["id"] == "zhang"
    assert c.delete(f"/api/tokens/{made['id']}").status_code == 200
    assert c.get("/api/me").status_code == 401


def test_session_calls_that_change_something_need_the_csrf_header(app):
    c = app.test_client()
    page = c.get("/login").data
    csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    c.post("/login", data={"user": "zhang", "password": DEMO_PASSWORD, "csrf_token": csrf})
    assert c.get("/api/me").json["id"] == "zhang"
    csrf = re.search(rb'name="csrf_token" value="([^"]+)"', c.get("/my").data).group(1).decode()  # new session
    refused = c.post("/api/tokens", json={"name": "x"})
    assert refused.status_code == 400 and refused.json["error"]["code"] == "csrf_failed"
    assert c.post("/api/tokens", json={"name": "x"}, headers={"X-CSRFToken": csrf}).status_code == 201


def test_a_case_through_the_api_with_department_scoping(app):
    applicant = client(app, "zhang")
    case = apply(applicant)
    window = client(app, "wang")
    (task,) = [t for t in window.get("/api/tasks").json["items"] if t["case"]["id"] == case]
    assert window.post(f"/api/cases/{case}/accept", json={"opinion": "齐全"}).status_code == 200
    other_department = client(app, "zhou")
    review = [t for t in client(app, "li").get("/api/tasks").json["items"] if t["case"]["id"] == case][0]
    assert all(t["id"] != review["id"] for t in other_department.get("/api/tasks").json["items"])
    guessed = other_department.post(f"/api/tasks/{review['id']}/decide", json={"approved": True, "opinion": "x"})
    assert guessed.status_code == 404
    assert other_department.get(f"/api/cases/{case}").status_code == 404
    li = client(app, "li")
    assert li.post(f"/api/tasks/{review['id']}/decide", json={"approved": True, "opinion": "同意"}).status_code == 200
    again = li.post(f"/api/tasks/{review['id']}/decide", json={"approved": True, "opinion": "同意"})
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"  # a double submit
    conclude = [t for t in client(app, "zhao").get("/api/tasks").json["items"] if t["case"]["id"] == case][0]
    client(app, "zhao").post(f"/api/tasks/{conclude['id']}/decide", json={"approved": True, "opinion": "准予"})
    shown = applicant.get(f"/api/cases/{case}").json
    assert (shown["status"], shown["outcome"]) == ("concluded", "approved")
    assert [c["id"] for c in applicant.get("/api/cases").json["items"]] == [case]
    assert client(app, "wang").get("/api/notifications").status_code == 200


def test_a_verb_on_a_case_or_step_one_may_not_see_is_not_found_whatever_the_body(app):
    """The check of who may see a case or step runs in the verb's own transaction; a request refused before
    the verb reached its command (a body that is not an object, a missing field, an unknown verb) still
    answers not found for a case or step the caller may not see, and nothing changes."""
    case = apply(client(app, "zhang"))
    window = client(app, "wang")
    assert window.post(f"/api/cases/{case}/accept", json={"opinion": "齐全"}).status_code == 200
    review = next(t for t in client(app, "li").get("/api/tasks").json["items"] if t["case"]["id"] == case)
    zhou, stranger = client(app, "zhou"), client(app, "zhang")
    for who, path, body in ((zhou, f"/api/tasks/{review['id']}/decide", [1, 2]),
                            (zhou, f"/api/tasks/{review['id']}/decide", {"approved": True}),
                            (zhou, f"/api/tasks/{review['id']}/no-such-verb", {}),
                            (zhou, f"/api/tasks/{review['id']}/complete", {"data": {"opinion": "x"}}),
                            (zhou, f"/api/cases/{case}/terminate", {}),
                            (zhou, f"/api/cases/{case}/no-such-verb", {})):
        answer = who.post(path, json=body)
        assert (answer.status_code, answer.json["error"]["code"]) == (404, "not_found"), (path, body, answer.json)
    assert stranger.post("/api/tasks/no-such-step/decide", json=[1]).status_code == 404
    li = client(app, "li")
    assert li.post(f"/api/tasks/{review['id']}/decide", json={"approved": True}).json["error"]["code"] \
        == "invalid_input"  # the one who may see it is told what is wrong with the body
    shown = li.get(f"/api/tasks/{review['id']}").json
    assert shown["status"] == "open"


@pytest.mark.parametrize("body, code", [
    ({"item": "330100-XK-001"}, "invalid_input"),
    ({"item": "NOPE", "applicant": {"name": "x"}}, "not_found"),
    ({"item": "330100-XK-001", "applicant": {"name": "x"}, "materials": [{"name": MATERIALS[0],
                                                                          "content_base64": "***"}]}, "invalid_input"),
    ([1, 2], "invalid_input"),
])
def test_bad_applications_get_a_reason_and_store_nothing(app, body, code):
    c = client(app, "zhang")
    response = c.post("/api/cases", json=body)
    assert response.json["error"]["code"] == code and response.status_code in (400, 404)
    assert c.get("/api/cases").json["total"] == 0


def test_designers_deploy_and_broken_xml_names_the_line(app):
    import io

    designer = client(app, "chen")
    bad = designer.post("/api/deployments", data={"files": (io.BytesIO(b"<bpmn:definitions"), "bad.bpmn")},
                        content_type="multipart/form-data")
    assert bad.status_code == 400 and bad.json["error"]["code"] == "bpmn_invalid"
    (problem,) = bad.json["error"]["details"]["problems"]
    assert problem["reason"].startswith("not well-formed XML: ") and problem["message"] == problem["reason"]
    chinese = designer.post("/api/deployments", data={"files": (io.BytesIO(b"<bpmn:definitions"), "bad.bpmn")},
                            content_type="multipart/form-data", headers={"Accept-Language": "zh"})
    (problem,) = chinese.json["error"]["details"]["problems"]  # reason stays English, message in the caller's
    assert problem["reason"].startswith("not well-formed XML: ") and problem["message"].startswith("不是格式正确的 XML：")
    applicant = client(app, "zhang")
    assert applicant.post("/api/deployments", data={"files": (io.BytesIO(b"<x/>"), "x.bpmn")},
                          content_type="multipart/form-data").status_code == 403


def test_supervisor_endpoints_are_for_supervisors(app):
    assert client(app, "li").get("/api/supervision/overview").status_code == 403
    sun = client(app, "sun")
    assert "by_department" in sun.get("/api/supervision/overview").json
    assert sun.get("/api/supervision/due?working_days=2").json["items"] == []
    assert sun.get("/api/supervision/due?working_days=x").status_code == 400


def test_openapi_lists_every_api_rule(app):
    document = app.test_client().get("/api/openapi.json").json
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule == "/api/openapi.json":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (path, method)


def test_processes_diagrams_and_binding_through_the_api(app):
    designer = client(app, "chen")
    processes = designer.get("/api/processes").json
    assert processes["total"] >= 4 and all(p["versions"] for p in processes["items"])
    version = processes["items"][0]["versions"][0]
    diagram = designer.get(f"/api/processes/versions/{version['id']}/diagram").json
    assert diagram["definition"]["id"] == version["id"] and "BPMNDiagram" in diagram["bpmn"]
    assert client(app, "zhang").get(f"/api/processes/versions/{version['id']}/diagram").status_code == 403
    assert designer.get("/api/processes/versions/999999/diagram").json["error"]["code"] == "not_found"
    item = app.extensions["yimen"].items()[0]
    bound = designer.post(f"/api/items/{item['code']}/bind", json={"process_key": item["process_key"],
                                                                   "process_version": 1})
    assert bound.status_code == 200 and app.extensions["yimen"].item(item["code"])["process_version"] == 1
    assert designer.post(f"/api/items/{item['code']}/bind", json={"process_key": "nope"}).status_code == 404
    huge = designer.post(f"/api/items/{item['code']}/bind", json={"process_key": item["process_key"],
                                                                  "process_version": 2**63})  # found by the fuzzer
    assert huge.status_code == 404 and huge.json["error"]["code"] == "not_found"
    assert app.extensions["yimen"].item(item["code"])["process_version"] == 1  # nothing changed
    assert client(app, "wang").post(f"/api/items/{item['code']}/bind",
                                    json={"process_key": item["process_key"]}).status_code == 403


def test_rating_marks_and_audit_through_the_api(app):
    y = app.extensions["yimen"]
    applicant = client(app, "zhang")
    case_id = apply(applicant)
    marks = applicant.get(f"/api/cases/{case_id}/marks").json
    assert marks["active"] and marks["definition"]
    early = applicant.post(f"/api/cases/{case_id}/rate", json={"score": 5})
    assert early.json["error"]["code"] == "invalid_state"  # not ended yet
    y.not_accept(case_id, "不属于本机关职权范围", "市市场监管局", user="wang")
    assert applicant.post(f"/api/cases/{case_id}/rate", json={"score": 1}).json["error"]["code"] == "invalid_input"
    assert client(app, "wang").post(f"/api/cases/{case_id}/rate", json={"score": 5}).status_code in (403, 404)
    assert applicant.post(f"/api/cases/{case_id}/rate", json={"score": 2, "comment": "等太久"}).status_code == 200
    assert applicant.post(f"/api/cases/{case_id}/rate", json={"score": 5}).json["error"]["code"] == "invalid_state"
    assert y.case(case_id)["rating"]["score"] == 2
    assert any("差评" in n["subject"] for n in y.notifications("sun"))  # a bad rating reaches supervision
    trail = client(app, "sun").get(f"/api/cases/{case_id}/audit").json
    assert [e["action"] for e in trail["items"]][-1] == "case.rate"
    assert applicant.get(f"/api/cases/{case_id}/audit").status_code == 403


def test_orders_and_incidents_through_the_api(app):
    supervisor, reviewer = client(app, "sun"), client(app, "li")
    made = supervisor.post("/api/orders", json={"content": "请说明超期原因", "deadline_days": 3,
                                                "department": "SJ"})
    assert made.status_code == 201, made.json
    order_id = made.json["order"]
    assert [o["id"] for o in reviewer.get("/api/orders").json["items"]] == [order_id]
    assert client(app, "zhou").get("/api/orders").json["items"] == []  # another department
    assert reviewer.post(f"/api/orders/{order_id}/answer", json={"reply": "已整改"}).status_code == 200
    assert reviewer.post(f"/api/orders/{order_id}/close").status_code == 403
    assert supervisor.post(f"/api/orders/{order_id}/close").status_code == 200
    assert supervisor.get("/api/incidents").json["total"] == 0
    assert supervisor.post("/api/incidents/999999/retry").json["error"]["code"] == "not_found"
    assert reviewer.get("/api/incidents").status_code == 403


def test_the_http_docs_list_every_endpoint():
    from pathlib import Path

    from web.api import ENDPOINTS

    text = (Path(__file__).resolve().parents[2] / "docs" / "http.md").read_text(encoding="utf-8")
    calls = [f"`{e.method} /api" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", e.path) + "`" for e in ENDPOINTS]
    missing = [call for call in calls if call not in text]
    assert len(calls) > 20 and not missing, f"document these in docs/http.md: {missing}"
