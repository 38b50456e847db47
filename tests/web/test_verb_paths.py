"""Issue 12: every verb right on the paths staff take (API and pages), only for those entitled to it.

Each test reproduces one finding through ``/api`` or the pages, with the demo
data, on SQLite and PostgreSQL.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from engine import clock
from tests.engine.test_approval_verbs import COUNTERSIGN
from tests.web.test_api import apply, client
from tests.web.test_pages import post, signed_in


def open_task(app, case_id, element=None):
    y = app.extensions["yimen"]
    tasks = y.tasks(instance=y.case(case_id)["instance"])
    return next(t for t in tasks if element is None or t["element_id"] == element)


def accepted_case(app):
    case = apply(client(app, "zhang"))
    app.extensions["yimen"].accept(case, user="wang")
    return case


def test_a_delegate_deciding_hands_the_step_back_to_its_owner(app):
    """Finding 1: 委派 then 同意 by the delegate (API and page) returns the step; it does not complete it."""
    case = accepted_case(app)
    review = open_task(app, case, "review")["id"]
    li, zhao = client(app, "li"), client(app, "zhao")
    assert li.post(f"/api/tasks/{review}/claim").status_code == 200
    assert li.post(f"/api/tasks/{review}/delegate", json={"to": "zhao"}).status_code == 200
    answer = zhao.post(f"/api/tasks/{review}/decide", json={"approved": True, "opinion": "协办"})
    assert answer.status_code == 200, answer.json
    assert answer.json["returned_to"] == "li"
    back = open_task(app, case)
    assert (back["id"], back["assignee"]) == (review, "li")
    shown = app.extensions["yimen"].case(case)
    assert shown["status"] == "under_review"
    assert shown["opinions"][-1]["decision"] == "delegate_approved" and shown["opinions"][-1]["user"] == "zhao"
    page = signed_in(app, "li")
    post(page, f"/tasks/{review}/decide", {"approved": "yes", "opinion": "同意"}, f"/tasks/{review}")
    assert open_task(app, case)["element_id"] == "conclude"


def test_withdraw_after_a_decision_works_through_the_api_and_the_page(app):
    """Finding 2: 撤回 after 同意 was always refused; the page had no withdraw action."""
    case = accepted_case(app)
    review = open_task(app, case, "review")["id"]
    li = client(app, "li")
    assert li.post(f"/api/tasks/{review}/decide", json={"approved": True, "opinion": "同意"}).status_code == 200
    answer = li.post(f"/api/tasks/{review}/withdraw")
    assert answer.status_code == 200, answer.json
    again = open_task(app, case)
    assert (again["element_id"], again["assignee"]) == ("review", "li")
    # on the page: decide, then the case page offers 撤回, which reopens the step
    page = signed_in(app, "li")
    post(page, f"/tasks/{again['id']}/decide", {"approved": "yes", "opinion": "同意"}, f"/tasks/{again['id']}")
    case_page = page.get(f"/cases/{case}").data.decode()
    assert 'data-action="withdraw"' in case_page and "撤回我的上一步" in case_page
    response = post(page, f"/tasks/{again['id']}/withdraw", {}, f"/cases/{case}")
    assert response.status_code == 302
    assert open_task(app, case)["element_id"] == "review"
    # once the next person acted, it is refused with the reason
    post(page, f"/tasks/{open_task(app, case)['id']}/decide", {"approved": "yes", "opinion": "同意"},
         f"/tasks/{open_task(app, case)['id']}")
    done = open_task(app, case)
    client(app, "zhao").post(f"/api/tasks/{done['id']}/claim")
    assert 'data-action="withdraw"' not in page.get(f"/cases/{case}").data.decode()


def test_sequential_add_signer_after_keeps_the_step_working(app):
    """Finding 3: 后加签 in a sequential countersign broke the next completion with IndexError."""
    y = app.extensions["yimen"]
    y.deploy([("countersign.bpmn", COUNTERSIGN.format(mode="sequential", sequential="true").encode())])
    instance = y.start("countersign", {"signers": ["li", "zhao"]})["instance"]
    (prepare,) = y.tasks(instance=instance)
    y.complete(prepare["id"], {}, user="wang")
    (first,) = y.tasks(instance=instance)
    li = client(app, "li")
    assert li.post(f"/api/tasks/{first['id']}/add-signer", json={"signer": "head", "position": "after"}
                   ).status_code == 200
    order = []
    for _ in range(3):
        (task,) = y.tasks(instance=instance)
        order.append(task["assignee"])
        answer = client(app, task["assignee"]).post(f"/api/tasks/{task['id']}/complete",
                                                     json={"data": {"approved": True}})
        assert answer.status_code == 200, answer.json
    assert order == ["li", "head", "zhao"] and y.show(instance)["status"] == "completed"


def test_the_head_approves_an_extension_through_the_decision_verb(app):
    """Finding 4: the head of office could not approve a 延期 through decide (API and page)."""
    case = accepted_case(app)
    assert client(app, "li").post(f"/api/cases/{case}/extend", json={"reason": "需要组织专家评审"}).status_code == 200
    (approval,) = [t for t in app.extensions["yimen"].tasks(user="head")]
    answer = client(app, "head").post(f"/api/tasks/{approval['id']}/decide",
                                      json={"approved": True, "opinion": "同意延期"})
    assert answer.status_code == 200, answer.json
    shown = app.extensions["yimen"].case(case)
    assert shown["extension_days"] == 10 and shown["clock"]["case"]["extension_days"] == 10
    assert any(o["decision"] == "approved" and o["user"] == "head" for o in shown["opinions"])


def test_a_step_goes_only_to_staff_who_may_then_see_it(app):
    """Finding 5: 转办/委派 accepted the applicant and another department's reviewer as targets."""
    case = accepted_case(app)
    review = open_task(app, case, "review")["id"]
    li = client(app, "li")
    for target in ("zhang", "zhou"):  # the applicant; a reviewer of the health commission
        answer = li.post(f"/api/tasks/{review}/transfer", json={"to": target})
        assert answer.status_code == 403 and answer.json["error"]["code"] == "permission_denied", answer.json
    li.post(f"/api/tasks/{review}/claim")
    assert li.post(f"/api/tasks/{review}/delegate", json={"to": "zhang"}).status_code == 403
    assert open_task(app, case)["assignee"] == "li"
    page = signed_in(app, "li")
    response = post(page, f"/tasks/{review}/transfer", {"to": "zhang"}, f"/tasks/{review}")
    assert "permission_denied" in page.get(response.headers["Location"]).data.decode()
    assert open_task(app, case)["assignee"] == "li"
    assert li.post(f"/api/tasks/{review}/transfer", json={"to": "zhao"}).status_code == 200


def test_only_the_case_handlers_and_the_window_ask_for_an_extension(app):
    """Finding 7: anyone, the applicant included, could request an extension."""
    case = accepted_case(app)
    for outsider in ("zhang", "zhou", "sun"):
        answer = client(app, outsider).post(f"/api/cases/{case}/extend", json={"reason": "想快点"})
        assert answer.status_code in (403, 404), (outsider, answer.json)
    assert app.extensions["yimen"].tasks(user="head") == []
    assert client(app, "wang").post(f"/api/cases/{case}/extend", json={"reason": "需要专家评审"}).status_code == 200


def test_no_step_is_decided_while_a_special_procedure_runs(app):
    """Finding 8: deciding during a 特别程序 ended the pause and left the procedure open for ever."""
    case = accepted_case(app)
    li = client(app, "li")
    started = li.post(f"/api/cases/{case}/special-procedure",
                      json={"kind": "inspection", "reason": "现场核查", "expected_days": 5})
    assert started.status_code == 200, started.json
    review = open_task(app, case, "review")["id"]
    answer = li.post(f"/api/tasks/{review}/decide", json={"approved": True, "opinion": "同意"})
    assert answer.status_code == 409 and answer.json["error"]["code"] == "invalid_state"
    shown = app.extensions["yimen"].case(case)
    assert shown["status"] == "special_procedure" and shown["clock"]["case"]["paused"] is True


def test_terminating_the_instance_ends_the_case_and_stops_its_clock(app):
    """Finding 9: `yimen terminate INSTANCE` left the case clock running; the case got a red card later."""
    y = app.extensions["yimen"]
    case = accepted_case(app)
    y.terminate(y.case(case)["instance"], "录入错误")
    shown = y.case(case)
    assert shown["status"] == "terminated" and shown["clock"]["case"]["active"] is False
    legal = datetime.fromisoformat(shown["clock"]["case"]["legal_due"])
    with clock.pinned(legal + timedelta(days=5)):
        y.advance_deadlines()
    assert y.case(case)["cards"] == []
