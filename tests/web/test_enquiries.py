"""Issue 16, 首问负责: the first staff member met records an enquiry even when the item belongs to another office;
it is routed there, that office's staff are told and answer it, and the answer reaches the applicant by SMS."""
from __future__ import annotations

from tests.web.test_api import client
from tests.web.test_pages import csrf, signed_in

ITEM = "330100-XK-001"  # 食品经营许可: market regulation (SJ)


def test_an_enquiry_at_the_window_is_routed_to_the_items_office_and_answered_there(app):
    y = app.extensions["yimen"]
    office = y.item(ITEM)["office_code"]
    recorded = client(app, "wang").post("/api/enquiries", json={
        "applicant_name": "王五", "question": "食品经营许可需要哪些材料？", "item": ITEM, "contact": "13800138000"})
    assert recorded.status_code == 201, recorded.json
    enquiry = recorded.json
    assert enquiry["department"] == office and enquiry["recorded_by"] == "wang" and enquiry["status"] == "open"
    # that office's staff are told and see it; another office's do not
    assert any("食品经营许可需要哪些材料" in n["body"] for n in y.notifications("li"))
    assert client(app, "li").get("/api/enquiries").json["total"] == 1
    assert client(app, "zhou").get("/api/enquiries").json["total"] == 0
    refused = client(app, "zhou").post(f"/api/enquiries/{enquiry['id']}/answer", json={"answer": "不知道"})
    assert refused.status_code == 403
    answered = client(app, "li").post(f"/api/enquiries/{enquiry['id']}/answer",
                                      json={"answer": "申请书、营业执照和食品安全管理制度。"})
    assert answered.status_code == 200 and answered.json["status"] == "answered"
    again = client(app, "li").post(f"/api/enquiries/{enquiry['id']}/answer", json={"answer": "再答"})
    assert again.status_code == 409
    assert any("已答复" in n["subject"] for n in y.notifications("wang"))
    sms = [m for m in y.outbox() if m["channel"] == "sms" and m["recipient"] == "13800138000"]
    assert len(sms) == 1 and "食品安全管理制度" in sms[0]["body"] and sms[0]["payload"]["enquiry"] == enquiry["id"]
    assert client(app, "sun").get("/api/enquiries").json["items"][0]["status"] == "answered"


def test_bad_enquiries_are_refused_and_make_nothing(app):
    c = client(app, "wang")
    for body, status in [
        ({"applicant_name": "王五", "question": ""}, 400),
        ({"applicant_name": "", "question": "问"}, 400),
        ({"applicant_name": "王五", "question": "问"}, 400),  # no item and no office
        ({"applicant_name": "王五", "question": "问", "item": "NO-SUCH"}, 404),
        ({"applicant_name": "王五", "question": "问", "department": "NOPE"}, 400),
        ({"applicant_name": "王五", "question": "问" * 2001, "department": "SJ"}, 400),
        ({"applicant_name": "王五", "question": "问", "department": "SJ", "contact": "call me"}, 400),
    ]:
        assert c.post("/api/enquiries", json=body).status_code == status, body
    assert client(app, "zhang").post("/api/enquiries", json={
        "applicant_name": "王五", "question": "问", "department": "SJ"}).status_code == 403  # applicants are not staff
    assert client(app, "sun").get("/api/enquiries").json["total"] == 0


def test_the_page_records_and_answers_in_chinese(app):
    window = signed_in(app, "wang")
    page = window.get("/enquiries")
    assert page.status_code == 200 and "首问" in page.data.decode()
    window.post("/enquiries", data={"csrf_token": csrf(page.data), "applicant_name": "王五", "question": "怎么办理？",
                                    "department": "SJ"})
    reviewer = signed_in(app, "li")
    listing = reviewer.get("/enquiries").data.decode()
    assert "怎么办理？" in listing and 'name="answer"' in listing
    (row,) = app.extensions["yimen"].enquiry_list({"id": "sun", "roles": ["supervisor"]})["items"]
    reviewer.post(f"/enquiries/{row['id']}/answer", data={"csrf_token": csrf(listing.encode()), "answer": "带上身份证。"})
    assert "带上身份证。" in window.get("/enquiries").data.decode()
    assert signed_in(app, "zhang").get("/enquiries").status_code == 403
