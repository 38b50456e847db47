"""Issue 13, finding 7: hostile values get a coded refusal, never a 500, and change nothing.

NUL bytes, NaN and Infinity, lone surrogates, JSON nested 2,000 levels deep and invalid JSON bodies, on the
API, the sign-in form and query arguments, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import pytest

from tests.web.test_api import client
from tests.web.test_pages import csrf


def _post_raw(c, url, body: str):
    return c.post(url, data=body.encode("utf-8", "surrogatepass"), content_type="application/json")


@pytest.mark.parametrize("body, reason", [
    ('{"item": "330100-XK-001", "applicant": {"name": "张\\u0000三"}}', "NUL"),
    ('{"item": "330100-XK-001", "applicant": {"name": "\\ud800"}}', "surrogate"),
    ('{"item": "330100-XK-001", "applicant": {"name": "张三"}, "form": {"copies": NaN}}', "NaN"),
    ('{"item": "330100-XK-001", "applicant": {"name": "张三"}, "form": {"n": Infinity}}', "Infinity"),
    ("[" * 2000 + "]" * 2000, "nested deeper"),
    ('{"item": "330100-XK-001", "applicant": ', "not valid JSON"),
])
def test_hostile_json_is_refused_with_invalid_input(app, body, reason):
    c = client(app, "zhang")
    answer = _post_raw(c, "/api/cases", body)
    assert answer.status_code == 400, answer.data[:300]
    assert answer.json["error"]["code"] == "invalid_input" and reason in answer.json["error"]["message"]
    assert client(app, "wang").get("/api/cases").json["total"] == 0


def test_a_nul_in_the_sign_in_form_or_a_query_argument_is_refused(app):
    c = app.test_client()
    token = csrf(c.get("/login").data)
    answer = c.post("/login", data={"user": "zhang\x00", "password": "x\x00", "csrf_token": token})
    assert answer.status_code == 400
    assert client(app, "wang").get("/api/tasks?item=%00").json["error"]["code"] == "invalid_input"
