"""Issue 13, item 9: every response carries a strict CSP and the other protective headers.

The pages keep working under that CSP: no inline script, event handler or
style attribute is left in the templates (the browser half is in
``test_browser_pages.py``).
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from engine import demo
from tests.security.hostile import diagram
from tests.web.test_pages import _apply, _task, csrf, signed_in

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
POLICY = {"default-src": "'self'", "script-src": "'self'", "object-src": "'none'", "frame-ancestors": "'none'",
          "base-uri": "'self'", "form-action": "'self'"}


def _directives(header: str) -> dict[str, str]:
    return {part.split()[0]: " ".join(part.split()[1:]) for part in header.split(";") if part.strip()}


def _assert_protected(response, url: str) -> None:
    headers = response.headers
    policy = _directives(headers.get("Content-Security-Policy", ""))
    for directive, value in POLICY.items():
        assert policy.get(directive) == value, (url, headers.get("Content-Security-Policy"))
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"], url
    assert headers.get("X-Frame-Options") == "DENY", url
    assert headers.get("X-Content-Type-Options") == "nosniff", url
    assert headers.get("Referrer-Policy") == "same-origin", url


def test_every_page_answer_and_redirect_is_protected(app):
    y = app.extensions["yimen"]
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant)
    y.accept(case_id, user="wang")
    task_id = _task(app, case_id)
    definition_id = y.process_versions()[0]["versions"][0]["id"]
    visits = {
        None: ["/login", "/", "/inbox", "/no-such-page", "/static/yimen.css", "/api/openapi.json", "/api/tasks",
               "/lang/en"],
        "zhang": ["/my", "/apply/330100-XK-001", "/notifications", f"/cases/{case_id}", "/inbox"],
        "li": ["/inbox", f"/tasks/{task_id}", f"/cases/{case_id}", "/api/tasks", f"/api/tasks/{task_id}"],
        "chen": ["/designer", f"/designer/versions/{definition_id}", "/"],
        "sun": ["/supervision", "/supervision/cards", "/supervision/orders", "/supervision/incidents",
                f"/cases/{case_id}/audit"],
    }
    seen = set()
    for user, urls in visits.items():
        client = app.test_client() if user is None else signed_in(app, user)
        for url in urls:
            response = client.get(url)
            seen.add(response.status_code)
            _assert_protected(response, f"{user} {url} -> {response.status_code}")
    assert {200, 302, 401, 403, 404} <= seen


def test_a_post_and_an_api_error_are_protected(app):
    client = app.test_client()
    _assert_protected(client.post("/login", data={"user": "x", "password": "y"}), "POST /login without CSRF")
    _assert_protected(client.post("/api/tasks/x/claim"), "POST /api/tasks/x/claim anonymous")


@pytest.mark.parametrize("template", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_templates_have_no_inline_script_handler_or_style(template):
    """What the CSP would block: inline <script> bodies, on*= handlers, javascript: URLs, style= and <style>."""
    text = template.read_text(encoding="utf-8")
    for script in re.finditer(r"<script\b([^>]*)>(.*?)</script>", text, re.S | re.I):
        if re.search(r'type="application/json"', script.group(1)) and "src=" not in script.group(1):
            # a data block (JSON for a static script to read): never executed, so the CSP has nothing to block;
            # its content must come through the tojson filter, which escapes <, > and & for HTML
            assert re.fullmatch(r"\{\{[^{}]*\|tojson\s*\}\}", script.group(2).strip()), script.group(0)
            continue
        assert "src=" in script.group(1) and not script.group(2).strip(), script.group(0)
    assert not re.search(r"\son[a-z]+\s*=", text, re.I), "inline event handler"
    assert "javascript:" not in text.lower()
    assert not re.search(r"\sstyle\s*=", text, re.I), "inline style attribute (blocked by style-src 'self')"
    assert "<style" not in text.lower()


def test_deploying_takes_the_designer_role_and_the_process_designer_group_as_docs_bpmn_says(app):
    """docs/bpmn.md "Who may deploy": the role opens the page, the group passes the deploy command."""
    y = app.extensions["yimen"]
    y.add_user("role_only", roles=["designer"], password=demo.DEMO_PASSWORD)
    y.add_user("group_only", groups=["process-designer"], roles=["reviewer"], password=demo.DEMO_PASSWORD)
    y.add_user("both", roles=["designer"], groups=["process-designer"], password=demo.DEMO_PASSWORD)

    def deploy(user):
        client = signed_in(app, user)
        return client.post("/api/deployments", data={"files": (io.BytesIO(diagram("rights")), "rights.bpmn")},
                           headers={"X-CSRFToken": csrf(client.get("/login").data)},
                           content_type="multipart/form-data")

    assert deploy("group_only").status_code == 403
    refused = deploy("role_only")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "permission_denied"
    assert deploy("both").status_code == 201
    assert y.deploy([("cli.bpmn", diagram("rights_cli"))], user="group_only")["deployed"]  # the command alone
