"""Issue 15 (证照待制发): the licences waiting to be issued, with the 10-working-day clock of Art. 44 (due date,
warning, card), for the window staff who issue them — one engine query, paged with its total, on the API, the
page linked from the staff menu, and in Chromium. SQLite and PostgreSQL.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta

import pytest

from engine import clock
from tests.web.browser_fixtures import browser, open_as, server  # noqa: F401  (fixtures)
from tests.web.test_licence_journey import _api, _approve
from tests.web.test_pages import _apply, signed_in

browser_test = pytest.mark.skipif(os.environ.get("YIMEN_SKIP_BROWSER") == "1", reason="YIMEN_SKIP_BROWSER=1")


def _approved(app, count=1) -> list[int]:
    ids = []
    for _ in range(count):
        case_id = _apply(app, signed_in(app, "zhang"))
        _approve(app, case_id)
        ids.append(case_id)
    return ids


def test_the_list_shows_each_pending_licence_with_its_clock_soonest_first_and_paged(app):
    y = app.extensions["yimen"]
    first, second = _approved(app, 2)
    api = _api(app, "wang")
    listed = api.get("/api/licences/pending").json
    assert listed["total"] == 2 and [r["case"] for r in listed["items"]] == [first, second]
    row = listed["items"][0]
    licence = y.case(first)["licence"]
    assert row["number"] == y.case(first)["number"] and row["holder"] == "张三"
    assert row["due"] == licence["due"] and row["state"] == "normal"
    assert datetime.fromisoformat(row["warning_at"]) < datetime.fromisoformat(row["due"])
    assert datetime.fromisoformat(row["decided"]) < datetime.fromisoformat(row["due"])
    page = api.get("/api/licences/pending?limit=1&offset=1").json
    assert page["total"] == 2 and [r["case"] for r in page["items"]] == [second]
    y.issue_licence(first, user="wang")
    assert [r["case"] for r in api.get("/api/licences/pending").json["items"]] == [second]


def test_the_clock_moves_the_row_to_warning_and_then_to_a_red_card(app):
    """Art. 44's 10 days are both the promised and the legal limit of the licence: once passed, a red card."""
    y = app.extensions["yimen"]
    (case_id,) = _approved(app)
    row = _api(app, "wang").get("/api/licences/pending").json["items"][0]
    with clock.pinned(datetime.fromisoformat(row["warning_at"]) + timedelta(minutes=1)):
        y.advance_deadlines()
    api = _api(app, "wang")
    assert api.get("/api/licences/pending").json["items"][0]["state"] == "warning"
    assert api.get("/api/licences/pending?state=warning").json["total"] == 1
    assert api.get("/api/licences/pending?state=normal").json["total"] == 0
    with clock.pinned(datetime.fromisoformat(row["due"]) + timedelta(minutes=1)):
        y.advance_deadlines()
    assert api.get("/api/licences/pending").json["items"][0]["state"] == "red"
    page = signed_in(app, "wang").get("/licences/pending?state=red").data.decode()
    assert 'data-state="red"' in page and y.case(case_id)["number"] in page and "红牌" in page
    refused = api.get("/api/licences/pending?state=purple")
    assert refused.status_code == 400


def test_only_window_staff_and_supervisors_see_the_list(app):
    _approved(app)
    assert _api(app, "zhang").get("/api/licences/pending").status_code == 403
    assert _api(app, "li").get("/api/licences/pending").status_code == 403
    assert _api(app, "sun").get("/api/licences/pending").json["total"] == 1
    assert signed_in(app, "li").get("/licences/pending").status_code == 403
    window = signed_in(app, "wang")
    assert "/licences/pending" in window.get("/inbox").data.decode()  # linked from the staff menu
    assert "/licences/pending" not in signed_in(app, "li").get("/inbox").data.decode()


def test_the_page_says_so_when_nothing_waits(app):
    page = signed_in(app, "wang").get("/licences/pending").data.decode()
    assert "暂无待制发的证照" in page and 'data-total="0"' in page


@browser_test
def test_browser_window_staff_find_the_licence_to_issue_from_the_menu_and_issue_it(open_as, app):
    y = app.extensions["yimen"]
    (case_id,) = _approved(app)
    number = y.case(case_id)["number"]
    window = open_as("wang")
    window.click("nav >> text=证照待制发")
    window.wait_for_url("**/licences/pending")
    row = window.locator(f"tr[data-licence]")
    assert row.count() == 1 and number in row.inner_text()
    assert row.get_attribute("data-state") == "normal"
    window.click(f"tr[data-licence] >> text={number}")
    window.wait_for_url(f"**/cases/{case_id}*")
    window.fill("#issue-licence input[name=scope]", "预包装食品销售")
    window.click("#issue-licence button")
    window.wait_for_selector(".licence-doc[data-status=issued]")
    window.goto("/licences/pending")
    assert window.locator("tr[data-licence]").count() == 0 and "暂无待制发的证照" in window.inner_text("main")
    phone = open_as("sun", phone=True)
    _approved(app)
    phone.goto("/licences/pending")
    table = phone.locator("table.licences-pending")
    assert table.count() == 1
    assert phone.evaluate("document.documentElement.scrollWidth") <= 392  # the table scrolls inside its box
