"""Issue 15 (staff are told): a step returned to its people (退回) and a case urged by a supervisor (催办, 督办) is a
notice (站内消息) to the staff who handle it, naming the step, on every path — the API and the pages — and in the
page language. SQLite and PostgreSQL.
"""
from __future__ import annotations

from tests.web.test_licence_journey import _api
from tests.web.test_pages import _apply, csrf, post, signed_in


def _accepted(app) -> int:
    case_id = _apply(app, signed_in(app, "zhang"))
    app.extensions["yimen"].accept(case_id, user="wang")
    return case_id


def _open(app, case_id, element):
    y = app.extensions["yimen"]
    return next(t for t in y.tasks(instance=y.case(case_id)["instance"]) if t["element_id"] == element)


def _at_conclude(app) -> tuple[int, str]:
    y = app.extensions["yimen"]
    case_id = _accepted(app)
    y.decide(_open(app, case_id, "review")["id"], True, "同意", user="li")
    return case_id, _open(app, case_id, "conclude")["id"]


def _of_kind(app, user, kind):
    return [n for n in app.extensions["yimen"].notifications(user) if n["kind"] == kind]


def _english_messages(app, user) -> str:
    client = signed_in(app, user)
    client.get("/lang/en")
    page = client.get("/notifications").data.decode()
    return page[page.index("<h1>"):]


def test_a_return_through_the_api_tells_who_did_the_step_in_app_naming_it_and_the_reason(app):
    y = app.extensions["yimen"]
    case_id, conclude = _at_conclude(app)
    zhao = _api(app, "zhao")
    zhao.post(f"/api/tasks/{conclude}/claim")
    outbox_before = len(y.outbox())
    answer = zhao.post(f"/api/tasks/{conclude}/return", json={"to": "review", "reason": "请补充现场核查意见"})
    assert answer.status_code == 200, answer.json
    (told,) = _of_kind(app, "li", "returned")
    assert told["subject"] == "退回：审查" and "请补充现场核查意见" in told["body"]
    assert told["instance"] == y.case(case_id)["instance"]
    assert _of_kind(app, "zhao", "returned") == []  # not the one who returned it
    assert len(y.outbox()) == outbox_before  # in-app only: no e-mail or SMS for a return
    english = _english_messages(app, "li")
    assert "Returned: Review" in english and "was returned to you" in english


def test_a_return_on_the_task_page_tells_them_too(app):
    case_id, conclude = _at_conclude(app)
    zhao = signed_in(app, "zhao")
    post(zhao, f"/tasks/{conclude}/claim", {}, f"/tasks/{conclude}")
    response = post(zhao, f"/tasks/{conclude}/return", {"target": "review", "reason": "意见不完整"}, f"/tasks/{conclude}")
    assert response.status_code == 302
    (told,) = _of_kind(app, "li", "returned")
    assert "意见不完整" in told["body"]
    assert "退回：审查" in signed_in(app, "li").get("/notifications").data.decode()


def test_a_return_is_one_notice_to_each_person_told(app):
    """The people of the reopened step get the return notice once (not a second "new task" one besides)."""
    y = app.extensions["yimen"]
    case_id, conclude = _at_conclude(app)
    before = {u: len(y.notifications(u)) for u in ("li", "zhou")}
    y.claim(conclude, user="zhao")
    y.return_to(conclude, "review", "请重新审查", user="zhao")
    assert len(y.notifications("li")) == before["li"] + 1
    assert len(y.notifications("zhou")) == before["zhou"]  # did not do the step and is not named on it
    assert [n["params"]["step"] for n in _of_kind(app, "li", "returned")] == ["审查"]


def test_a_supervisor_urging_through_the_api_tells_the_handlers_naming_their_step(app):
    case_id = _accepted(app)
    answer = _api(app, "sun").post(f"/api/cases/{case_id}/urge", json={"message": "请今天办结"})
    assert answer.status_code == 200, answer.json
    assert "li" in answer.json["urged"]
    (told,) = _of_kind(app, "li", "urged")
    assert told["subject"].startswith("催办：办件") and told["body"] == "请今天办结"
    assert told["params"]["step"] == "审查" and told["params"]["step_en"] == "Review"
    assert _of_kind(app, "sun", "urged") == []
    assert "Urged: Review" in _english_messages(app, "li")


def test_a_supervisor_urges_from_the_case_page(app):
    case_id = _accepted(app)
    supervisor = signed_in(app, "sun")
    page = supervisor.get(f"/cases/{case_id}").data.decode()
    assert 'id="urge-case"' in page
    response = supervisor.post(f"/cases/{case_id}/urge", data={"message": "请尽快", "csrf_token": csrf(page.encode())},
                               follow_redirects=True)
    assert "已催办办理该件的工作人员" in response.data.decode()
    assert [n["body"] for n in _of_kind(app, "li", "urged")] == ["请尽快"]
    assert signed_in(app, "li").post(f"/cases/{case_id}/urge", data={}).status_code in (400, 403)  # CSRF / role
    assert 'id="urge-case"' not in signed_in(app, "wang").get(f"/cases/{case_id}").data.decode()


def test_a_supervision_order_about_a_case_tells_its_handlers_on_the_api_and_the_page(app):
    y = app.extensions["yimen"]
    case_id = _accepted(app)
    answer = _api(app, "sun").post("/api/orders", json={"content": "请说明超时原因", "deadline_days": 2,
                                                        "case": case_id, "department": "XF"})
    assert answer.status_code == 201, answer.json
    assert [n["kind"] for n in y.notifications("xu")] == ["order"]  # the addressed department
    (told,) = _of_kind(app, "li", "urged")  # the handler of the case's open step
    assert "请说明超时原因" in told["body"] and told["params"]["step"] == "审查"
    assert "Supervision order No." in _english_messages(app, "xu")
    supervisor = signed_in(app, "sun")
    response = post(supervisor, "/supervision/orders", {"content": "请今日回复", "deadline_days": "1",
                                                        "case": str(case_id), "department": "XF"},
                    "/supervision/orders")
    assert response.status_code == 302
    assert len(_of_kind(app, "li", "urged")) == 2 and len(y.notifications("xu")) == 2
