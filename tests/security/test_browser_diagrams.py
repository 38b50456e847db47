"""A diagram carrying script, in Chromium: it cannot be deployed, and a stored one runs nothing when opened.

The script in the diagram does what the attack of issue 13 did: it reads a CSRF
token from a page of the signed-in administrator and mints an API token.
"""
from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import func, select, update

from engine.models import ApiToken, DeploymentFile, ProcessDefinition
from tests.security.hostile import HTML_SCRIPT, diagram
from tests.web.browser_fixtures import browser, open_as, server  # noqa: F401  (fixtures)

if os.environ.get("YIMEN_SKIP_BROWSER") == "1":
    pytest.skip("YIMEN_SKIP_BROWSER=1", allow_module_level=True)


def _tokens(y) -> int:
    with y.session() as s:
        return s.scalar(select(func.count()).select_from(ApiToken))


def _no_token_minted(y, page, seconds: float = 3.0) -> None:
    """Give a script time to run its two requests; no token may appear, and the page ran nothing."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert _tokens(y) == 0, "a script in the diagram minted an API token"
        time.sleep(0.2)
    ran = page.evaluate("() => document.documentElement && document.documentElement.getAttribute('data-ran')")
    assert ran is None


def _stored_hostile_diagram(y) -> int:
    """A clean deployment whose stored file is then replaced by one with script (as one deployed earlier)."""
    deployed = y.deploy([("clean.bpmn", diagram("stored"))])["deployed"][0]
    with y.session() as s:
        deployment = s.get(ProcessDefinition, deployed["id"]).deployment_id
        s.execute(update(DeploymentFile).where(DeploymentFile.deployment_id == deployment)
                  .values(original=diagram("stored", outside=HTML_SCRIPT)))
        s.commit()
    return deployed["id"]


def test_a_diagram_with_an_xhtml_script_cannot_be_deployed_from_the_page(open_as, app, tmp_path):
    y = app.extensions["yimen"]
    before = len(y.process_versions())
    upload = tmp_path / "hostile.bpmn"
    upload.write_bytes(diagram(outside=HTML_SCRIPT))
    page = open_as("chen")
    page.set_input_files("#upload input[type=file]", str(upload))
    page.click("#upload button")
    page.wait_for_selector("#problems")
    problems = page.inner_text("#problems")
    assert "hostile.bpmn" in problems and "script" in problems and "http://www.w3.org/1999/xhtml" in problems
    assert len(y.process_versions()) == before


def test_a_stored_diagram_with_script_opened_by_an_admin_runs_nothing(open_as, app):
    y = app.extensions["yimen"]
    definition_id = _stored_hostile_diagram(y)
    page = open_as("admin")
    assert _tokens(y) == 0
    with page.expect_download() as download:  # an attachment: the browser saves it, never renders it
        try:
            page.goto(f"/diagrams/{definition_id}.bpmn")
        except Exception:  # noqa: BLE001 - Playwright reports a navigation that became a download as an error
            pass
    assert download.value.suggested_filename.endswith(".bpmn")
    _no_token_minted(y, page)


def test_a_stored_diagram_rendered_anyway_is_sandboxed(open_as, app):
    """Even if a browser ignored the attachment header, the sandbox CSP keeps the script from running."""
    y = app.extensions["yimen"]
    definition_id = _stored_hostile_diagram(y)
    page = open_as("admin")

    def inline(route):
        response = route.fetch()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-disposition"}
        route.fulfill(response=response, headers=headers)

    page.route("**/diagrams/*.bpmn", inline)
    page.goto(f"/diagrams/{definition_id}.bpmn")
    _no_token_minted(y, page)


def test_the_diagram_of_a_version_is_still_drawn_under_the_headers(open_as, app):
    """bpmn-js fetches the attachment and draws it (the CSP of the pages allows our own scripts)."""
    y = app.extensions["yimen"]
    definition_id = y.deploy([("clean.bpmn", diagram("drawn"))])["deployed"][0]["id"]
    page = open_as("chen")
    page.goto(f"/designer/versions/{definition_id}")
    page.wait_for_selector("#diagram[data-rendered]", timeout=15_000)
    assert page.get_attribute("#diagram", "data-rendered") == "yes"
    assert page.locator('#diagram [data-element-id="work"]').count() == 1
