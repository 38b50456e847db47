"""Issue 15 (抄送 picker): the carbon-copy form lists staff by department and name (an engine query), never asks
for user ids, and refuses unknown people and non-staff with a translated reason. API, page and Chromium;
SQLite and PostgreSQL.
"""
from __future__ import annotations

import os
import re

import pytest

from tests.web.browser_fixtures import browser, open_as, server  # noqa: F401  (fixtures)
from tests.web.test_licence_journey import _api
from tests.web.test_pages import _apply, csrf, signed_in

browser_test = pytest.mark.skipif(os.environ.get("YIMEN_SKIP_BROWSER") == "1", reason="YIMEN_SKIP_BROWSER=1")


def _review_task(app):
    y = app.extensions["yimen"]
    case_id = _apply(app, signed_in(app, "zhang"))
    y.accept(case_id, user="wang")
    (review,) = y.tasks(instance=y.case(case_id)["instance"])
    return case_id, review["id"]


def test_the_staff_directory_lists_active_staff_by_department_and_never_applicants(app):
    y = app.extensions["yimen"]
    everyone = y.staff_directory()
    ids = [p["id"] for p in everyone]
    assert {"wang", "li", "zhou", "zhao", "sun"} <= set(ids)
    assert "zhang" not in ids and "xiao" not in ids  # applicants and agents are not staff
    names = {p["id"]: p for p in everyone}
    assert names["zhou"]["name"] == "周审查" and names["zhou"]["department"] == "WJ"
    assert names["zhou"]["department_name"]
    assert [p["department_name"] for p in everyone] == sorted(p["department_name"] or "" for p in everyone)
    assert [p["id"] for p in y.staff_directory(search="审查", department="SJ")] == ["li"]
    assert [p["id"] for p in y.staff_directory(search="zhou")] == ["zhou"]
    assert y.staff_directory(search="%") == []  # a wildcard is a character, not "everything"
    y.set_user_active("zhou", False)
    assert "zhou" not in [p["id"] for p in y.staff_directory()]


def test_the_staff_api_is_paged_and_for_staff_only(app):
    listed = _api(app, "li").get("/api/staff?q=周").json
    assert listed["total"] == 1 and listed["items"][0]["id"] == "zhou"
    assert _api(app, "zhang").get("/api/staff").status_code == 403


def test_the_copy_form_picks_people_by_name_and_refuses_unknown_and_non_staff_in_chinese(app):
    y = app.extensions["yimen"]
    case_id, task_id = _review_task(app)
    reviewer = signed_in(app, "li")
    page = reviewer.get(f"/tasks/{task_id}").data.decode()
    picker = page[page.index('class="card cc-picker"'):]
    picker = picker[:picker.index("</form>")]
    assert "user ids" not in picker and "用户" not in picker
    assert '<option value="zhou">周审查</option>' in picker and 'value="zhang"' not in picker
    assert re.search(r'<optgroup label="[^"]*卫[^"]*">', picker)  # grouped under the health department's name
    token = csrf(page.encode())
    refused = reviewer.post(f"/tasks/{task_id}/cc", data={"users": ["ghost"], "csrf_token": token},
                            follow_redirects=True).data.decode()
    assert "没有本系统账号" in refused and "ghost" not in refused
    refused = reviewer.post(f"/tasks/{task_id}/cc", data={"users": ["zhang"], "csrf_token": token},
                            follow_redirects=True).data.decode()
    assert "只能抄送给工作人员" in refused
    assert y.notifications("zhou") == []
    done = reviewer.post(f"/tasks/{task_id}/cc", data={"users": ["zhou", "he"], "note": "请知悉", "csrf_token": token})
    assert done.status_code == 302
    assert [n["body"] for n in y.notifications("zhou")] == ["请知悉"]
    assert [n["kind"] for n in y.notifications("he")] == ["carbon_copy"]
    assert signed_in(app, "zhou").get(f"/cases/{case_id}").status_code == 200


def test_the_copy_api_refuses_an_unknown_person_with_its_reason(app):
    case_id, _ = _review_task(app)
    answer = _api(app, "li").post(f"/api/cases/{case_id}/copy", json={"users": ["ghost"]},
                                  headers={"Accept-Language": "zh"})
    assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found"
    assert answer.json["error"]["details"]["refusal"] == "unknown_user"
    answer = _api(app, "li").post(f"/api/cases/{case_id}/copy", json={"users": ["zhang"]})
    assert answer.status_code == 400 and answer.json["error"]["details"]["refusal"] == "not_staff"


@browser_test
def test_browser_the_reviewer_copies_a_case_by_choosing_a_name(open_as, app):
    y = app.extensions["yimen"]
    case_id, task_id = _review_task(app)
    page = open_as("li")
    page.goto(f"/tasks/{task_id}")
    page.click("details.more summary")  # 抄送 is among the further actions
    page.select_option(".cc-picker select[name=users]", label="周审查")
    page.fill(".cc-picker input[name=note]", "请知悉")
    page.click(".cc-picker button")
    page.wait_for_load_state()
    assert [n["body"] for n in y.notifications("zhou")] == ["请知悉"]
    colleague = open_as("zhou")
    colleague.goto("/notifications")
    assert "抄送" in colleague.inner_text("main")
    colleague.goto(f"/cases/{case_id}")
    assert y.case(case_id)["number"] in colleague.inner_text("main")


def test_transfer_delegate_and_signer_forms_choose_people_by_name_and_a_transfer_works(app):
    """Every form that hands a step to someone picks the person by name, as the 抄送 picker does; no user id is
    typed (the page shows names, the value sent is the account)."""
    y = app.extensions["yimen"]
    case_id, review = _review_task(app)
    reviewer = signed_in(app, "li")
    page = reviewer.get(f"/tasks/{review}").get_data(as_text=True)
    for name in ("to", "signer"):
        assert f'<select name="{name}" required' in page and f'<input name="{name}"' not in page
    assert re.search(r'<option value="zhao">赵科长</option>', page)
    moved = reviewer.post(f"/tasks/{review}/transfer", data={"csrf_token": csrf(page.encode()), "to": "zhao",
                                                             "reason": "休假"})
    assert moved.status_code == 302
    (task,) = y.tasks(instance=y.case(case_id)["instance"])
    assert task["assignee"] == "zhao"
