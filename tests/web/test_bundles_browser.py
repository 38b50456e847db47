"""一件事 in Chromium (issue 16): the applicant applies for the demo bundle from her cases (each material once),
the window finds it once in the inbox and accepts both items at once, and once both are concluded the results
are dispatched together and she confirms receipt once. SQLite and PostgreSQL."""
from __future__ import annotations

import os

import pytest

from engine.demo import DEMO_BUNDLE

BROWSER = os.environ.get("YIMEN_SKIP_BROWSER") != "1"
if BROWSER:
    from tests.web.browser_fixtures import browser, open_as, server  # noqa: F401  (fixtures)

ID_NO = "33010019900101001X"


def _conclude(y, case_id):
    for user in ("li", "zhao"):
        (task,) = y.tasks(instance=y.case(case_id)["instance"])
        y.decide(task["id"], True, "符合条件，同意", user=user)
    y.issue_licence(case_id, user="wang")


@pytest.mark.skipif(not BROWSER, reason="YIMEN_SKIP_BROWSER=1")
def test_a_bundle_is_applied_for_accepted_once_and_delivered_once_in_chromium(app, open_as):
    y = app.extensions["yimen"]
    applicant = open_as("zhang")
    applicant.goto("/my")
    applicant.click(f"#apply-bundles a[href='/apply/bundle/{DEMO_BUNDLE}']")
    applicant.wait_for_load_state()
    assert applicant.locator("#bundle-items tr[data-item]").count() == 2
    applicant.fill("input[name=id_no]", ID_NO)
    applicant.fill("input[name=phone]", "13800138000")
    files = applicant.locator("#bundle-application input[type=file]").all()
    assert len(files) == 5  # 3 + 2 materials, each once
    for field in files:
        field.set_input_files(files=[{"name": "m.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"}])
    applicant.click("#bundle-application button")
    applicant.wait_for_url("**/bundle-applications/*")
    application = int(applicant.url.rsplit("/", 1)[1])
    cases = [int(c) for c in applicant.locator("#bundle-members tr[data-member]").evaluate_all(
        "rows => rows.map(r => r.dataset.member)")]
    assert len(cases) == 2 and {y.case(c)["status"] for c in cases} == {"submitted"}

    window = open_as("wang")
    window.goto("/inbox")
    assert window.locator(f"#waiting-bundles tr[data-bundle-application='{application}']").count() == 1
    window.click(f"#waiting-bundles tr[data-bundle-application='{application}'] a")
    window.wait_for_load_state()
    window.fill("#bundle-accept input[name=opinion]", "材料齐全，一并受理")
    window.click("#bundle-accept button")
    window.wait_for_selector("#bundle[data-status=accepted]")
    assert {y.case(c)["status"] for c in cases} == {"under_review"}
    assert window.locator("#bundle-not-concluded").count() == 1  # the results wait for both items
    window.goto("/inbox")
    assert window.locator("#waiting-bundles").count() == 0  # accepted: no longer waiting

    applicant.goto(f"/bundle-applications/{application}")
    applicant.select_option("#bundle-delivery select[name=method]", "pickup")
    applicant.click("#bundle-delivery button")
    applicant.wait_for_load_state()
    for case_id in cases:
        _conclude(y, case_id)
    window.goto(f"/bundle-applications/{application}")
    window.click("#bundle-dispatch button")
    window.wait_for_selector("#bundle[data-status=dispatched]")
    assert window.locator("#bundle-members td[data-delivery=ready]").count() == 2
    window.click("#bundle-delivered button")
    window.wait_for_selector("#bundle[data-status=delivered]")

    applicant.goto(f"/bundle-applications/{application}")
    applicant.click("#bundle-received button")
    applicant.wait_for_selector("#bundle[data-status=received]")
    assert applicant.locator("#bundle-members td[data-delivery=received]").count() == 2
    applicant.goto(f"/cases/{cases[1]}")
    assert str(y.bundle_application(application, {"id": "zhang"})["number"]) in applicant.inner_text("#bundle-of-case")
