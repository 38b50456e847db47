"""Issue 13, finding 5: the false-commitment bar and credit come from the records, never the request body.

Reproduced through the API and the page: an applicant with a false commitment on record applies again for
the notify-and-commit item as an agent without an ID number, or declares good credit in the body.
"""
from __future__ import annotations

import base64
import io

from tests.web.test_api import client
from tests.web.test_pages import csrf, signed_in

COMMIT_ITEM = "330100-XK-004"
COMMITMENT = "告知承诺书"


def _false_commitment(app) -> None:
    y = app.extensions["yimen"]
    case = y.submit(COMMIT_ITEM, {"name": "李四", "user": "zhang", "id_no": "330100199001010011"},
                    [{"name": COMMITMENT, "filename": "c.pdf", "content": b"c"}], user="zhang")["case"]
    instance = y.case(case)["instance"]
    (sign,) = y.tasks(instance=instance)
    y.complete(sign["id"], {"committed": True}, user="zhang")
    (decide,) = y.tasks(instance=instance)
    y.decide(decide["id"], True, "当场准予", user="wang")
    (verify,) = y.tasks(instance=instance)
    y.verify_commitment(verify["id"], False, "现场与承诺不符", user="sun")


def _body(id_no=None, credit=None):
    applicant = {"name": "李四"}
    if id_no:
        applicant["id_no"] = id_no
    if credit:
        applicant["credit"] = credit
    return {"item": COMMIT_ITEM, "applicant": applicant,
            "materials": [{"name": COMMITMENT, "filename": "c.pdf",
                           "content_base64": base64.b64encode(b"c").decode()}]}


def test_no_id_number_no_notify_and_commit_and_the_bar_holds_through_the_api(app):
    _false_commitment(app)
    zhang = client(app, "zhang")
    answer = zhang.post("/api/cases", json=_body())
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_input"
    answer = zhang.post("/api/cases", json=_body(id_no="330100199001010011", credit="good"))
    assert answer.status_code == 409 and answer.json["error"]["code"] == "invalid_state"
    before = len(app.extensions["yimen"].case(1)["notices"])
    assert before >= 1  # the first case is still there; nothing new was created
    assert client(app, "wang").get("/api/cases").json["total"] == 1


def test_declared_good_credit_from_the_applicant_is_not_believed(app):
    zhang = client(app, "zhang")
    body = {"item": "330100-XK-001", "applicant": {"name": "张三", "credit": "good"},
            "materials": [{"name": "食品经营许可申请书", "filename": "a.pdf",
                           "content_base64": base64.b64encode(b"%PDF").decode()}]}
    answer = zhang.post("/api/cases", json=body)
    assert answer.status_code == 201, answer.json
    assert app.extensions["yimen"].case(answer.json["case"])["applicant"]["credit"] == "normal"


def test_applying_as_an_agent_on_the_page_cannot_pass_the_bar(app):
    _false_commitment(app)
    page = signed_in(app, "zhang")
    form = page.get(f"/apply/{COMMIT_ITEM}").data
    response = page.post(f"/apply/{COMMIT_ITEM}", data={
        "name": "李四", "as_agent": "yes", "id_no": "33010019900101001X", "csrf_token": csrf(form),
        "material_0": (io.BytesIO(b"c"), "c.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert client(app, "wang").get("/api/cases").json["total"] == 1
