"""Issue 13, finding 8: a double submit made two cases (49 of 50 concurrent pairs on ``POST /api/cases``).

``Idempotency-Key`` on the API and a one-time form token on the apply page make a repeated submission answer
with the case the first one created; a key reused for a different application is refused and creates nothing.
"""
from __future__ import annotations

import base64
import io
import re
import threading

import pytest

from tests.web.test_api import client
from tests.web.test_pages import csrf, signed_in

ITEM = "330100-XK-001"


def _body(app, name="张三"):
    materials = app.extensions["yimen"].item(ITEM)["materials"]
    return {"item": ITEM, "applicant": {"name": name},
            "materials": [{"name": m["name"], "filename": "a.pdf", "content_base64": base64.b64encode(b"%PDF").decode()}
                          for m in materials]}


def _case_count(app, user="sun"):
    return app.extensions["yimen"].case_list({"id": user, "roles": ["supervisor"]}, limit=1)["total"]


def test_a_repeated_submission_with_the_same_key_answers_with_the_first_case(app):
    c = client(app, "zhang")
    first = c.post("/api/cases", json=_body(app), headers={"Idempotency-Key": "order-1"})
    again = c.post("/api/cases", json=_body(app), headers={"Idempotency-Key": "order-1"})
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["case"] == first.json["case"] and again.json["number"] == first.json["number"]
    assert _case_count(app) == 1
    other = c.post("/api/cases", json=_body(app), headers={"Idempotency-Key": "order-2"})
    assert other.status_code == 201 and other.json["case"] != first.json["case"]
    assert c.post("/api/cases", json=_body(app)).status_code == 201  # no key: every request is a new application
    assert _case_count(app) == 3


def test_a_key_reused_for_another_application_is_refused_and_creates_nothing(app):
    c = client(app, "zhang")
    assert c.post("/api/cases", json=_body(app), headers={"Idempotency-Key": "k"}).status_code == 201
    changed = c.post("/api/cases", json=_body(app, name="李四"), headers={"Idempotency-Key": "k"})
    assert changed.status_code == 409 and changed.json["error"]["code"] == "conflict"
    assert _case_count(app) == 1


def test_keys_belong_to_their_caller(app):
    mine = client(app, "zhang").post("/api/cases", json=_body(app), headers={"Idempotency-Key": "same"})
    yours = client(app, "wang").post("/api/cases", json=_body(app), headers={"Idempotency-Key": "same"})
    assert mine.status_code == yours.status_code == 201 and mine.json["case"] != yours.json["case"]


@pytest.mark.parametrize("key", ["x" * 201, "bad\x01key", ""])
def test_a_malformed_key_is_refused(app, key):
    answer = client(app, "zhang").post("/api/cases", json=_body(app), headers={"Idempotency-Key": key})
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_input"
    assert answer.json["error"]["details"]["field"] == "Idempotency-Key"
    assert _case_count(app) == 0


def test_concurrent_double_submits_make_one_case_each(app):
    """Barrier-synchronised pairs (a double click, a client retrying at once): exactly one case per key."""
    tokens = {}
    results: dict[str, list] = {}
    pairs = 10

    def submit(key, barrier):
        c = app.test_client()
        c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens['zhang']}"
        barrier.wait()
        answer = c.post("/api/cases", json=_body(app), headers={"Idempotency-Key": key})
        results.setdefault(key, []).append((answer.status_code, (answer.json or {}).get("case")))

    tokens["zhang"] = app.extensions["yimen"].create_token("zhang", "race")["token"]
    for n in range(pairs):
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=submit, args=(f"pair-{n}", barrier)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for key, answers in results.items():
        assert sorted(code for code, _ in answers) == [200, 201], (key, answers)
        assert len({case for _, case in answers}) == 1, (key, answers)
    assert _case_count(app) == pairs


def _apply_form(app, applicant, token=None):
    page = applicant.get(f"/apply/{ITEM}").data.decode()
    materials = app.extensions["yimen"].item(ITEM)["materials"]
    files = {f"material_{i}": (io.BytesIO(b"%PDF"), f"{i}.pdf") for i in range(len(materials))}
    fields = {"name": "张三", "id_no": "33010019900101001X", "csrf_token": csrf(page.encode())}
    found = re.search(r'name="submit_token" value="([^"]+)"', page)
    assert found, "the apply form carries a one-time submit token"
    fields["submit_token"] = token or found.group(1)
    return fields, files


def test_a_double_click_on_the_apply_page_makes_one_case(app):
    applicant = signed_in(app, "zhang")
    fields, _ = _apply_form(app, applicant)
    answers = []
    for _ in range(2):  # the same form sent twice, as a double click or a reload of the POST does
        materials = app.extensions["yimen"].item(ITEM)["materials"]
        files = {f"material_{i}": (io.BytesIO(b"%PDF"), f"{i}.pdf") for i in range(len(materials))}
        answers.append(applicant.post(f"/apply/{ITEM}", data={**fields, **files}, content_type="multipart/form-data"))
    assert [a.status_code for a in answers] == [302, 302]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    assert _case_count(app) == 1
    fresh, files = _apply_form(app, applicant)  # a new visit to the form is a new application
    assert fresh["submit_token"] != fields["submit_token"]
    applicant.post(f"/apply/{ITEM}", data={**fresh, **files}, content_type="multipart/form-data")
    assert _case_count(app) == 2
