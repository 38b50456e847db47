"""Issue 13, finding 8: no limits on applicant-supplied data (a 49 MB form, a 1 MB name, 100,000 keys).

Each is refused through the API with ``invalid_input`` naming the limit, and nothing is created.
"""
from __future__ import annotations

import base64

import pytest

from tests.web.test_api import client

PDF = base64.b64encode(b"%PDF").decode()


def _body(**changes):
    body = {"item": "330100-XK-001", "applicant": {"name": "张三"},
            "materials": [{"name": "食品经营许可申请书", "filename": "a.pdf", "content_base64": PDF}]}
    body.update(changes)
    return body


@pytest.mark.parametrize("changes, reason", [
    ({"applicant": {"name": "张" * 300_000}}, "name is longer"),
    ({"form": {f"k{i}": i for i in range(1_500)}}, "more than 200 fields"),
    ({"form": {"notes": "字" * 90_000}}, "larger than 64 KB"),
    ({"applicant": {"name": "张三", "id_no": "1" * 100}}, "ID number is longer"),
])
def test_oversized_applications_are_refused_and_nothing_is_created(app, changes, reason):
    answer = client(app, "zhang").post("/api/cases", json=_body(**changes))
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_input", answer.json
    assert reason in answer.json["error"]["message"]
    assert client(app, "wang").get("/api/cases").json["total"] == 0
