"""The pages through Flask's test client, with demo data, on SQLite and PostgreSQL."""
from __future__ import annotations

import re

import pytest

from engine import demo
from engine.models import HumanTask

PASSWORD = demo.DEMO_PASSWORD


def csrf(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def signed_in(app, user):
    client = app.test_client()
    page = client.get("/login").data
    response = client.post("/login", data={"user": user, "password": PASSWORD, "csrf_token": csrf(page)})
    assert response.status_code == 302, response.data
    return client


def post(client, url, data, page_url):
    token = csrf(client.get(page_url).data)
    return client.post(url, data={**data, "csrf_token": token})


def test_sign_in_refuses_a_wrong_password_and_a_missing_csrf_token(app):
    client = app.test_client()
    token = csrf(client.get("/login").data)
    assert client.post("/login", data={"user": "wang", "password": "nope-nope", "csrf_token": token}).status_code == 401
    assert client.post("/login", data={"user": "wang", "password": PASSWORD}).status_code == 400
    assert client.get("/inbox").status_code == 302  # still anonymous: to the sign-in page


def test_pages_check_the_role(app):
    applicant = signed_in(app, "zhang")
    assert applicant.get("/inbox").status_code == 403
    assert applicant.get("/supervision").status_code == 403
    assert applicant.get("/my").status_code == 200
    assert signed_in(app, "sun").get("/supervision").status_code == 200


def test_chinese_by_default_english_on_request(app):
    client = signed_in(app, "wang")
    assert "待办".encode() in client.get("/inbox").data
    client.get("/lang/en")
    assert b"Inbox" in client.get("/inbox").data


def _apply(app, client):
    files = {f"material_{i}": (__import__("io").BytesIO(b"%PDF-1.4"), f"{i}.pdf") for i in range(3)}
    page = client.get("/apply/330100-XK-001").data
    response = client.post("/apply/330100-XK-001", data={"name": "张三", "id_no": "33010019900101001X", "csrf_token": csrf(page), **files},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.data
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _task(app, case_id):
    y = app.extensions["yimen"]
    (task,) = y.tasks(instance=y.case(case_id)["instance"])
    return task["id"]


def test_a_case_from_application_to_conclusion_through_the_pages(app):
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant)
    shown = applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    number = app.extensions["yimen"].case(case_id)["number"]
    assert "已提交" in shown and f"申请已提交，办件编号 {number}。" in shown  # the flash says what happened
    window = signed_in(app, "wang")
    task = _task(app, case_id)
    assert task.encode() in window.get("/inbox").data
    assert post(window, f"/tasks/{task}/accept", {"opinion": "材料齐全"}, f"/tasks/{task}").status_code == 302
    review = _task(app, case_id)
    assert signed_in(app, "zhou").get(f"/tasks/{review}").status_code == 404  # reviewer of another department
    reviewer = signed_in(app, "li")
    post(reviewer, f"/tasks/{review}/decide", {"approved": "yes", "opinion": "符合条件"}, f"/tasks/{review}")
    conclude = _task(app, case_id)
    approver = signed_in(app, "zhao")
    post(approver, f"/tasks/{conclude}/decide", {"approved": "yes", "opinion": "准予许可"}, f"/tasks/{conclude}")
    shown = app.extensions["yimen"].case(case_id)
    assert (shown["status"], shown["outcome"]) == ("concluded", "approved")
    assert "已办结".encode() in applicant.get(f"/cases/{case_id}").data
    assert signed_in(app, "zhou").get(f"/cases/{case_id}").status_code == 404


def test_engine_refusals_are_shown_not_500(app):
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant)
    task = _task(app, case_id)
    window = signed_in(app, "wang")
    response = post(window, f"/tasks/{task}/not-accept", {"reason": " "}, f"/tasks/{task}")
    assert response.status_code == 302
    shown = window.get(response.headers["Location"]).data.decode()
    assert "未作任何更改：请填写理由后重新提交。" in shown and "invalid_input" not in shown
    assert app.extensions["yimen"].case(case_id)["status"] == "submitted"
    assert window.get("/tasks/no-such-task").status_code == 404


def test_supervisor_sees_an_overdue_case_turn_red(app):
    from datetime import datetime, timedelta

    from engine import clock

    y = app.extensions["yimen"]
    case_id = _apply(app, signed_in(app, "zhang"))
    y.accept(case_id, user="wang")
    legal = datetime.fromisoformat(y.case(case_id)["clock"]["case"]["legal_due"])
    with clock.pinned(legal + timedelta(hours=1)):
        y.advance_deadlines()
    page = signed_in(app, "sun").get("/supervision?state=red").data
    assert b'data-card="red"' in page and y.case(case_id)["number"].encode() in page
