"""Pages and API of the reform mechanisms (issue 16), with the demo data, on SQLite and PostgreSQL.

The plain tests go through Flask's test client; two Chromium journeys follow the supervising department's
liaison (push → open → credit finding) and a rectification (bad rating → department reply → return visit).
"""
from __future__ import annotations

import base64
import html
import io
import os
import re
from datetime import datetime, timedelta

import pytest

from tests.engine.reform_fixtures import COMMIT, COMMITMENT, FOOD, FORM, ID_NO, LICENCE, RULES
from tests.web.test_api import client
from tests.web.test_pages import csrf, signed_in

BROWSER = os.environ.get("YIMEN_SKIP_BROWSER") != "1"
if BROWSER:
    from tests.web.browser_fixtures import browser, open_as, server  # noqa: F401  (fixtures)


def _body(item=FOOD, materials=(FORM, LICENCE, RULES), id_no=ID_NO):
    return {"item": item, "applicant": {"name": "张三", "id_no": id_no},
            "form": {"address": "江干区 1 号", "contact": "13900000000"},
            "materials": [{"name": n, "filename": "a.pdf", "content_base64": base64.b64encode(b"%PDF").decode()}
                          for n in materials]}


def _concluded_case(app) -> int:
    """An application through the API, accepted, reviewed and concluded by the demo staff."""
    y = app.extensions["yimen"]
    answer = client(app, "zhang").post("/api/cases", json=_body())
    assert answer.status_code == 201, answer.json
    case = answer.json["case"]
    assert client(app, "wang").post(f"/api/cases/{case}/accept", json={}).status_code == 200
    for user, opinion in (("li", "符合条件"), ("zhao", "同意")):
        (task,) = y.tasks(instance=y.case(case)["instance"])
        assert client(app, user).post(f"/api/tasks/{task['id']}/decide",
                                      json={"approved": True, "opinion": opinion}).status_code == 200
    return case


def test_the_api_pushes_to_the_supervising_department_and_its_feedback_closes_notify_and_commit(app):
    case = _concluded_case(app)
    qian = client(app, "qian")
    inbox = qian.get("/api/linkage/pushes?opened=no").json
    assert inbox["total"] == 2 and {p["stage"] for p in inbox["items"]} == {"acceptance", "conclusion"}
    assert client(app, "li").get("/api/linkage/pushes").json["total"] == 0  # SJ was pushed nothing
    assert client(app, "sun").get("/api/linkage/unopened").json["items"][0]["department"] == "JG"
    push = inbox["items"][0]["id"]
    assert client(app, "li").post(f"/api/linkage/pushes/{push}/open", json={}).json["error"]["code"] == \
        "permission_denied"
    assert qian.post(f"/api/linkage/pushes/{push}/open", json={}).json["opened_by"] == "qian"
    refused = qian.post(f"/api/cases/{case}/feedback", json={"kind": "credit_finding", "content": ""})
    assert refused.status_code == 400
    answer = qian.post(f"/api/cases/{case}/feedback", json={"kind": "credit_finding", "content": "承诺不实"})
    assert answer.status_code == 201 and answer.json["credit_record"]
    assert client(app, "wang").get(f"/api/credit/{ID_NO}").json["level"] == "bad"
    reform = client(app, "wang").get(f"/api/cases/{case}/reform").json
    assert reform["credit_check"]["by"] == "wang" and len(reform["feedback"]) == 1
    again = client(app, "zhang").post("/api/cases", json=_body(COMMIT, (COMMITMENT,)))
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"
    paths = client(app, "sun").get("/api/openapi.json").json["paths"]
    assert "/api/linkage/pushes" in paths or "/linkage/pushes" in paths


def test_credit_import_and_lookup_pages(app):
    admin = signed_in(app, "admin")
    page = admin.get("/credit").data
    listed = (f"id_no,name,level,reason,source\n{ID_NO},张三,blacklist,拒不履行判决,失信被执行人名单\n").encode()
    answer = admin.post("/credit/import", data={"csrf_token": csrf(page), "name": "名单",
                                                "file": (io.BytesIO(listed), "list.csv")},
                        content_type="multipart/form-data", follow_redirects=True)
    assert "信用名单已导入" in answer.get_data(as_text=True)
    shown = signed_in(app, "wang").get(f"/credit?id_no={ID_NO}").get_data(as_text=True)
    assert "失信联合惩戒" in shown and "拒不履行判决" in shown
    broken = admin.post("/credit/import", data={"csrf_token": csrf(page), "file": (io.BytesIO(b"id_no\n1\n"), "x.csv")},
                        content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "信用名单未导入" in broken
    assert signed_in(app, "zhang").get("/credit").status_code == 403


def test_the_chinese_credit_page_names_chinese_headings_and_a_list_in_them_is_read(app):
    admin = signed_in(app, "admin")
    page = admin.get("/credit").get_data(as_text=True)
    (hint,) = re.findall(r'<p class="hint">(CSV 文件.*?)</p>', page)
    assert "证件号码" in hint and "严重失信" in hint and "id_no" not in hint and "blacklist" not in hint
    listed = (f"证件号码,名称,主体类型,信用等级,原因,来源\n{ID_NO},张三,自然人,严重失信,拒不履行判决,法院名单\n"
              "91330100MA2XXXXX0Q,某公司,法人,失信,欠缴税款,税务名单\n").encode()
    answer = admin.post("/credit/import", data={"csrf_token": csrf(page.encode()), "name": "名单",
                                                "file": (io.BytesIO(listed), "名单.csv")},
                        content_type="multipart/form-data", follow_redirects=True)
    assert "信用名单已导入" in answer.get_data(as_text=True)
    y = app.extensions["yimen"]
    assert y.credit_profile(ID_NO)["level"] == "blacklist"
    assert y.credit_profile("91330100MA2XXXXX0Q")["level"] == "bad"
    wrong = (f"证件号码,名称,信用等级,原因\n{ID_NO},张三,很差,x\n").encode()
    refused = admin.post("/credit/import", data={"csrf_token": csrf(page.encode()), "file": (io.BytesIO(wrong), "x.csv")},
                         content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "信用名单未导入" in refused


def test_the_linkage_list_is_public_and_the_window_sees_the_credit_check_on_the_case(app):
    public = app.test_client().get("/linkage").get_data(as_text=True)
    assert "审管联动事项清单" in public and "市市场监管综合执法支队" in public
    assert "item_code,department" in app.test_client().get("/linkage/export?format=csv").get_data(as_text=True)
    answer = client(app, "zhang").post("/api/cases", json=_body())
    case = answer.json["case"]
    wang = signed_in(app, "wang")
    page = wang.get(f"/cases/{case}").data
    checked = wang.post(f"/cases/{case}/credit-check", data={"csrf_token": csrf(page)}, follow_redirects=True)
    text = checked.get_data(as_text=True)
    assert "信用核查结果已记入办件" in text and 'data-level="normal"' in text


def test_a_refusal_is_filed_and_reopened_on_the_page(app):
    answer = client(app, "zhang").post("/api/cases", json=_body())
    case = answer.json["case"]
    assert client(app, "wang").post(f"/api/cases/{case}/not-accept", json={"reason": "不属于本机关职权"}).status_code == 200
    sun = signed_in(app, "sun")
    page = sun.get("/filings").get_data(as_text=True)
    assert "不属于本机关职权" in page and "待审查" in page
    filing = re.search(r'data-filing="(\d+)"', page).group(1)
    empty = sun.post(f"/filings/{filing}/reopen", data={"csrf_token": csrf(page.encode()), "note": ""},
                     follow_redirects=True).get_data(as_text=True)
    assert "重新办理未成功" in empty
    done = sun.post(f"/filings/{filing}/reopen", data={"csrf_token": csrf(page.encode()), "note": "属于本机关职权"},
                    follow_redirects=True).get_data(as_text=True)
    assert "申请已作为新办件重新办理" in done and "已重新办理" in done
    assert client(app, "sun").get("/api/filings?status=reopened").json["total"] == 1
    assert client(app, "wang").get("/api/filings").status_code == 403


# --- browser journeys ----------------------------------------------------------------------

@pytest.mark.skipif(not BROWSER, reason="YIMEN_SKIP_BROWSER=1")
def test_the_supervising_departments_liaison_opens_a_push_and_feeds_back_in_chromium(app, open_as):
    case = _concluded_case(app)
    page = open_as("qian")
    page.click("text=监管收件箱")
    assert page.locator("[data-unopened]").count() == 2
    page.locator("[data-push]").first.locator("button").click()
    page.wait_for_load_state()
    assert "江干区 1 号" in page.locator("#push-record").inner_text()
    page.select_option("select[name=kind]", "credit_finding")
    page.fill("textarea[name=content]", "现场核查发现经营场所与承诺不符")
    page.fill("textarea[name=measures]", "责令限期整改")
    page.click("#feedback-form button")
    page.wait_for_load_state()
    assert "反馈已送达审批部门" in page.content()
    assert app.extensions["yimen"].credit_profile(ID_NO)["level"] == "bad"
    window = open_as("wang")
    window.goto(f"/cases/{case}")
    assert "现场核查发现经营场所与承诺不符" in window.locator("section.case").inner_text()


@pytest.mark.skipif(not BROWSER, reason="YIMEN_SKIP_BROWSER=1")
def test_a_bad_rating_is_rectified_late_and_closed_after_the_return_visit_in_chromium(app, open_as, monkeypatch):
    y = app.extensions["yimen"]
    case = _concluded_case(app)
    assert client(app, "zhang").post(f"/api/cases/{case}/rate",
                                     json={"score": 1, "comment": "材料要求反复变"}).status_code == 200
    (rect,) = y.rectifications()["items"]
    monkeypatch.setenv("YIMEN_NOW", (datetime.fromisoformat(rect["due"]) + timedelta(days=1)).isoformat())
    y.advance_deadlines()
    li = open_as("li")
    li.click("text=差评整改")
    card = li.locator(f"[data-rectification='{rect['id']}']")
    assert card.locator("[data-card=yellow]").count() == 1
    card.locator("textarea[name=reply]").fill("已核实，材料清单已统一并公开")
    card.locator("button").click()
    li.wait_for_load_state()
    assert "答复已发送给申请人" in li.content() and "逾期" in li.content()
    sun = open_as("sun")
    sun.goto("/rectifications")
    card = sun.locator(f"[data-rectification='{rect['id']}']")
    card.locator("textarea[name=visit_answer]").fill("回访：申请人表示认可")
    card.locator("button").click()
    sun.wait_for_load_state()
    assert "整改已办结" in sun.content()
    assert "0%" in sun.locator(".rating-report").first.inner_text()  # rectified, but not on time
    assert y.rectifications()["items"][0]["status"] == "closed"


def test_a_withdrawal_at_staffs_suggestion_through_the_api_is_filed(app):
    zhang = client(app, "zhang")
    case = zhang.post("/api/cases", json=_body(materials=(FORM,))).json["case"]
    answer = zhang.post(f"/api/cases/{case}/withdraw", json={"reason": "窗口建议材料齐全后再申请",
                                                             "staff_suggested": True})
    assert answer.status_code == 200, answer.json
    (filing,) = client(app, "sun").get("/api/filings").json["items"]
    assert (filing["case"], filing["outcome"]) == (case, "withdrawn")


def test_the_applicant_sees_the_rectification_of_her_bad_rating_and_its_reply(app):
    case = _concluded_case(app)
    assert client(app, "zhang").post(f"/api/cases/{case}/rate", json={"score": 2, "comment": "等太久"}).status_code == 200
    (rect,) = client(app, "li").get("/api/rectifications").json["items"]
    assert client(app, "zhou").post(f"/api/rectifications/{rect['id']}/reply",
                                    json={"reply": "x"}).json["error"]["code"] == "permission_denied"
    assert client(app, "li").post(f"/api/rectifications/{rect['id']}/reply",
                                  json={"reply": "已优化排队叫号"}).json["status"] == "replied"
    page = signed_in(app, "zhang").get(f"/cases/{case}").get_data(as_text=True)
    assert 'id="case-rectification"' in page and "已优化排队叫号" in page and 'id="credit-check"' not in page
    report = client(app, "sun").get("/api/ratings/report").json["department"]
    assert report[0]["rectified"] == 1 and report[0]["on_time_rate"] == 1.0
    assert app.test_client().get("/ratings").status_code == 200


def test_the_reform_follow_up_notices_read_in_english_on_the_english_pages(app):
    """差评整改 (to the department and the answer to the applicant) and 督办回复 are stored with their kind: the
    English pages say them in English, the Chinese ones as stored."""
    case = _concluded_case(app)
    number = client(app, "zhang").get(f"/api/cases/{case}").json["number"]
    client(app, "zhang").post(f"/api/cases/{case}/rate", json={"score": 2, "comment": "等太久"})
    (rect,) = client(app, "li").get("/api/rectifications").json["items"]
    client(app, "li").post(f"/api/rectifications/{rect['id']}/reply", json={"reply": "已优化排队叫号"})
    y = app.extensions["yimen"]
    order = y.issue_order("请说明", 2, assignee="wang", user="sun")
    y.answer_order(order["order"], "已处理", user="wang")

    def english(user):
        reader = signed_in(app, user)
        reader.get("/lang/en")
        return html.unescape(reader.get("/notifications").get_data(as_text=True))

    assert f"Rectification of a bad rating: case {number}" in english("li")
    assert "The department's answer to your rating: 已优化排队叫号" in english("zhang")
    assert f"Answer to supervision order No. {order['order']}" in english("sun")
    assert f"督办回复：第 {order['order']} 号督办单" in signed_in(app, "sun").get("/notifications").get_data(as_text=True)
