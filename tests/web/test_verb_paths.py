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
    shown = page.get(response.headers["Location"]).data.decode()
    assert "不能转交给该人员：其无权办理此环节。" in shown and "permission_denied" not in shown
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


def test_a_copied_user_may_read_the_case_on_the_page_and_the_api(app):
    """Finding 6: 抄送 sent a notice but the copied user got 404; the API had no copy verb."""
    case = accepted_case(app)
    zhou = client(app, "zhou")
    assert zhou.get(f"/api/cases/{case}").status_code == 404
    answer = client(app, "li").post(f"/api/cases/{case}/copy", json={"users": ["zhou"], "note": "请知悉"})
    assert answer.status_code == 200, answer.json
    assert zhou.get(f"/api/cases/{case}").status_code == 200
    assert signed_in(app, "zhou").get(f"/cases/{case}").status_code == 200
    assert any("抄送" in n["subject"] for n in app.extensions["yimen"].notifications("zhou"))


def test_correction_is_told_at_once_and_a_second_notice_needs_its_reason(app):
    """Finding 10: 补正 was not one-time (一次性告知)."""
    c = client(app, "zhang")
    case = apply(c, ["食品经营许可申请书"])  # two required materials missing
    wang = client(app, "wang")
    answer = wang.post(f"/api/cases/{case}/correction", json={"problems": [{"problem": "申请书签字不清"}]})
    assert answer.status_code == 200, answer.json
    listed = {p.get("material") for p in answer.json["problems"]}
    assert {"营业执照", "食品安全管理制度"} <= listed
    y = app.extensions["yimen"]
    y.resubmit(case, [{"name": "营业执照", "filename": "l.pdf", "content": b"%PDF"},
                      {"name": "食品安全管理制度", "filename": "r.pdf", "content": b"%PDF"}],
               note="已补交", user="zhang")
    second = wang.post(f"/api/cases/{case}/correction", json={"problems": [{"problem": "营业执照已过期"}]})
    assert second.status_code == 409 and "second_notice_reason" in second.json["error"]["reason"]
    assert y.case(case)["status"] == "submitted"
    second = wang.post(f"/api/cases/{case}/correction", json={
        "problems": [{"material": "营业执照", "problem": "新交的营业执照已过期"}],
        "second_notice_reason": "补交的营业执照是新材料，首次告知时尚未提交"})
    assert second.status_code == 200, second.json
    page = signed_in(app, "sun").get(f"/cases/{case}").data.decode()
    assert "再次补正告知" in page and "首次告知时尚未提交" in page


def test_a_return_is_an_opinion_and_the_returned_to_people_are_told(app):
    """Finding 11: the 退回 reason was only in the audit trail; nobody was told."""
    case = accepted_case(app)
    review = open_task(app, case, "review")["id"]
    li = client(app, "li")
    li.post(f"/api/tasks/{review}/decide", json={"approved": True, "opinion": "同意"})
    conclude = open_task(app, case, "conclude")["id"]
    zhao = client(app, "zhao")
    zhao.post(f"/api/tasks/{conclude}/claim")
    answer = zhao.post(f"/api/tasks/{conclude}/return", json={"to": "review", "reason": "请补充现场核查意见"})
    assert answer.status_code == 200, answer.json
    shown = app.extensions["yimen"].case(case)
    assert shown["opinions"][-1]["decision"] == "returned" and shown["opinions"][-1]["text"] == "请补充现场核查意见"
    told = [n for n in app.extensions["yimen"].notifications("li") if "退回" in n["subject"]]
    assert told and "请补充现场核查意见" in told[0]["body"]


def test_after_delegating_on_the_page_the_delegator_lands_on_a_page_they_can_see(app):
    """Finding 11: after 委派 the delegator was sent to the task page, now a 404 for them."""
    case = accepted_case(app)
    review = open_task(app, case, "review")["id"]
    page = signed_in(app, "li")
    post(page, f"/tasks/{review}/claim", {}, f"/tasks/{review}")
    response = post(page, f"/tasks/{review}/delegate", {"to": "zhao"}, f"/tasks/{review}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
    assert page.get(response.headers["Location"]).status_code == 200


def test_the_supervisor_is_not_offered_a_claim_he_may_not_use(app):
    """Finding 11: the supervisor's inbox showed window tasks with a claim button he could not use."""
    case = apply(client(app, "zhang"))
    task = open_task(app, case)["id"]
    inbox = signed_in(app, "sun").get("/inbox").data.decode()
    row = inbox[inbox.index(f'data-task="{task}"'):]
    assert "/claim" not in row[:row.index("</tr>")]
    window = signed_in(app, "wang").get("/inbox").data.decode()
    row = window[window.index(f'data-task="{task}"'):]
    assert "/claim" in row[:row.index("</tr>")]


def test_an_order_past_its_deadline_shows_as_overdue(app, monkeypatch):
    """Finding 11: a 督办 order past its deadline stayed open with no overdue state."""
    y = app.extensions["yimen"]
    case = accepted_case(app)
    order = y.issue_order("请于期限内办结", 1, case_id=case, department="SJ", user="sun")["order"]
    shown = client(app, "sun").get("/api/orders").json["items"]
    assert next(o for o in shown if o["id"] == order)["overdue"] is False
    monkeypatch.setenv("YIMEN_NOW", "2026-03-10T02:00:00+00:00")  # a week later, past the 1-working-day limit
    shown = client(app, "sun").get("/api/orders").json["items"]
    assert next(o for o in shown if o["id"] == order)["overdue"] is True
    page = signed_in(app, "sun").get("/supervision/orders").data.decode()
    assert 'data-overdue="1"' in page and "已超期" in page
