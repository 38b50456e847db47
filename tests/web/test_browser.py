"""The pages in a real browser: Playwright driving Debian's Chromium against a live server on 127.0.0.1.

Set ``YIMEN_SCREENSHOTS=docs/screenshots`` to keep a screenshot of each main
page (``scripts/screenshots.sh`` does). ``YIMEN_CHROMIUM`` names another
Chromium binary; ``YIMEN_SKIP_BROWSER=1`` skips these tests on a machine with none.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from engine import clock
from tests.conftest import DATA, PROCESSES

SHOTS = os.environ.get("YIMEN_SCREENSHOTS")
ITEM = "330100-XK-001"

if os.environ.get("YIMEN_SKIP_BROWSER") == "1":
    pytest.skip("YIMEN_SKIP_BROWSER=1", allow_module_level=True)


from tests.web.browser_fixtures import CHROMIUM, browser, open_as, server  # noqa: E402,F401  (fixtures)


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def wait_drawn(page):
    page.wait_for_selector("#diagram[data-rendered]", timeout=15_000)
    assert page.get_attribute("#diagram", "data-rendered") == "yes", page.inner_text("#diagram")


def test_a_designer_uploads_a_diagram_and_sees_it_rendered(open_as, app):
    page = open_as("chen")
    assert page.url.endswith("/designer")
    page.set_input_files("#upload input[type=file]", str(DATA / "bpmn_prep" / "approval_camunda.bpmn"))
    page.click("#upload button")
    page.wait_for_load_state()
    wait_drawn(page)
    assert page.locator("#diagram svg .djs-element").count() >= 6  # shapes and flows drawn by bpmn-js
    assert page.locator('#diagram [data-element-id="review"]').count() == 1  # the user task, by its BPMN id
    shot(page, "designer-version")
    page.goto("/designer")
    page.set_input_files("#upload input[type=file]", str(DATA / "bpmn_prep" / "errors.bpmn"))
    page.click("#upload button")
    page.wait_for_selector("#problems")
    assert "errors.bpmn" in page.inner_text("#problems")
    shot(page, "designer-problems")


def test_apply_accept_review_and_conclude_in_the_browser(open_as, app):
    y = app.extensions["yimen"]
    applicant = open_as("zhang", phone=True)
    applicant.goto(f"/apply/{ITEM}")
    shot(applicant, "applicant-apply-phone")
    applicant.fill("input[name=name]", "张三")
    applicant.fill("input[name=id_no]", "33010019900101001X")  # an online application is checked in full
    for index, field in enumerate(applicant.locator("input[type=file]").all()):
        field.set_input_files(files=[{"name": f"m{index}.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"}])
    applicant.click("form[enctype] button")
    applicant.wait_for_url("**/cases/*")
    case_id = int(applicant.url.rsplit("/", 1)[1])
    number = y.case(case_id)["number"]
    assert number in applicant.content()

    window = open_as("wang")
    window.goto("/inbox")
    shot(window, "staff-inbox")
    window.click(f"tr:has-text('{number}') a")
    wait_drawn(window)
    instance = y.case(case_id)["instance"]
    active = y.instance_marks(instance)["active"]
    assert window.locator(f'#diagram [data-element-id="{active[0]}"].mark-active').count() == 1
    shot(window, "staff-task")
    window.fill("form[data-action=accept] input[name=opinion]", "材料齐全")
    window.click("form[data-action=accept] button")
    window.wait_for_load_state()
    assert y.case(case_id)["status"] != "submitted"

    for user, opinion in (("li", "符合条件"), ("zhao", "准予许可")):
        staff = open_as(user)
        (task,) = y.tasks(instance=instance)
        staff.goto(f"/tasks/{task['id']}")
        wait_drawn(staff)
        assert staff.locator("#diagram .mark-completed").count() >= 1
        staff.fill("form[data-action=decide] textarea[name=opinion]", opinion)
        staff.click("form[data-action=decide] button[value=yes]")
        staff.wait_for_load_state()
    case = y.case(case_id)
    assert (case["status"], case["outcome"]) == ("concluded", "approved")
    applicant.reload()
    assert "已办结" in applicant.inner_text("main")
    shot(applicant, "applicant-case-phone")


def test_a_supervisor_sees_an_overdue_case_turn_red(open_as, app, monkeypatch):
    y = app.extensions["yimen"]
    from tests.web.test_pages import _apply, signed_in

    case_id = _apply(app, signed_in(app, "zhang"))
    y.accept(case_id, user="wang")
    number = y.case(case_id)["number"]
    supervisor = open_as("sun")
    supervisor.goto("/supervision?state=red")
    assert number not in supervisor.inner_text("main")
    legal = datetime.fromisoformat(y.case(case_id)["clock"]["case"]["legal_due"])
    later = (legal + timedelta(hours=1)).isoformat()
    monkeypatch.setenv("YIMEN_NOW", later)  # the server thread reads the same clock
    assert clock.now() == datetime.fromisoformat(later)
    y.advance_deadlines()
    supervisor.goto("/supervision?state=red")
    row = supervisor.locator(f"tr:has-text('{number}')")
    assert row.locator('[data-card="red"]').count() == 1
    shot(supervisor, "supervisor-dashboard")
    supervisor.goto("/lang/en")
    supervisor.goto("/supervision?state=red")
    assert "Supervision" in supervisor.inner_text("h1")
    shot(supervisor, "supervisor-dashboard-en")


def test_the_shipped_processes_are_drawn(open_as, app):
    """Every shipped diagram renders in bpmn-js without an import error."""
    y = app.extensions["yimen"]
    page = open_as("chen")
    shipped = {path.stem for path in PROCESSES.glob("*.bpmn")}
    processes = y.process_versions()
    assert shipped and shipped <= {p["key"] for p in processes}, "the demo deploys the shipped processes"
    for definition_id in [p["versions"][0]["id"] for p in processes]:
        page.goto(f"/designer/versions/{definition_id}")
        wait_drawn(page)


def test_appeal_a_red_card_and_resubmit_a_correction_in_the_browser(open_as, app):
    y = app.extensions["yimen"]
    from tests.web.test_pages import _apply, signed_in
    from tests.web.test_pages_supervision import _red_case

    _, card = _red_case(app)
    reviewer = open_as("li")
    reviewer.goto("/supervision/cards")
    reviewer.fill(f"form[data-action=appeal-{card['id']}] input[name=reason]", "系统故障停机两天")
    reviewer.click(f"form[data-action=appeal-{card['id']}] button")
    reviewer.wait_for_load_state()
    supervisor = open_as("sun")
    supervisor.goto("/supervision/cards?status=appealed")
    assert supervisor.locator(f"form[data-action=decide-{card['id']}]").count() == 1
    shot(supervisor, "supervisor-card-appeal")

    other = _apply(app, signed_in(app, "zhang"))
    y.request_correction(other, [{"problem": "营业执照已过期，请提供有效执照"}, {"problem": "申请书缺少法定代表人签名"}],
                         user="wang")
    applicant = open_as("zhang", phone=True)
    applicant.goto(f"/cases/{other}")
    assert applicant.locator("[data-notice=correction] li").count() == 2
    shot(applicant, "applicant-correction-phone")
    applicant.fill("#resubmit textarea[name=note]", "已更换执照并补签")
    applicant.click("#resubmit button")
    applicant.wait_for_load_state()
    assert y.case(other)["status"] == "submitted"
