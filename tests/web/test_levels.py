"""放权 (issue 16, powers across levels): the implementation list (事项实施清单), routing by the applicant's region
and the mode, documents in the right authority's name, 审核转报 approved by the city without a second review, and
the supervisor's cases by level — through the API and the pages, on SQLite and PostgreSQL.

The demo data: item 330100-XK-001 (市市场监督管理局, SJ) is entrusted to 西城区 (XCQ), directly exercised by 东县 (DXX)
and by the development zone (KFQ); item 330100-XK-002 (市卫生健康委员会, WJ) is reviewed and reported by 西城区 and
taken back to the city for 东县.
"""
from __future__ import annotations

import base64
import subprocess

import pytest

from .test_api import MATERIALS, client
from .test_pages import csrf, signed_in

FOOD, HEALTH = "330100-XK-001", "330100-XK-002"
HEALTH_MATERIALS = ["卫生许可申请表", "卫生检测报告"]
ID_NO = "33010019900101001X"


def _apply(app, item=FOOD, region=None, materials=None, who="zhang"):
    names = materials or (MATERIALS if item == FOOD else HEALTH_MATERIALS)
    body = {"item": item, "applicant": {"name": "张三"},
            "materials": [{"name": n, "filename": "a.pdf", "content_base64": base64.b64encode(b"%PDF").decode()}
                          for n in names]}
    if region is not None:
        body["region"] = region
    response = client(app, who).post("/api/cases", json=body)
    assert response.status_code == 201, response.json
    return response.json["case"]


def _tasks(app, user, case):
    return [t for t in client(app, user).get("/api/tasks").json["items"] if t["case"]["id"] == case]


def _decide(app, user, case, opinion="同意", approved=True):
    (task,) = _tasks(app, user, case)
    response = client(app, user).post(f"/api/tasks/{task['id']}/decide",
                                      json={"approved": approved, "opinion": opinion})
    assert response.status_code == 200, response.json
    return task


def _case(app, case, user="admin"):
    return client(app, user).get(f"/api/cases/{case}").json


def _pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "decision.pdf"
    path.write_bytes(content)
    return "".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True,
                                  text=True).stdout.split())


@pytest.mark.parametrize("item, region, mode, office, authority, entrusted, approving", [
    (FOOD, None, None, "SJ", "SJ", None, None),            # no region: the item's own office, as before
    (FOOD, "XCQ", "entrusted", "XCQ", "SJ", "XCQ", None),
    (FOOD, "DXX", "direct", "DXX", "DXX", None, None),
    (FOOD, "KFQ", "zone", "KFQ", "KFQ", None, None),
    (HEALTH, "XCQ", "review_report", "XCQ", "WJ", None, "WJ"),
    (HEALTH, "DXX", "taken_back", "WJ", "WJ", None, None),
    (HEALTH, "KFQ", None, "WJ", "WJ", None, None),          # no entry for the zone: the item's own office
])
def test_a_case_routes_by_the_applicant_region_and_the_mode(app, item, region, mode, office, authority, entrusted,
                                                            approving):
    """The route is kept on the case (office, authority, entrusted organ, approving office) and numbers the case."""
    case = _apply(app, item, region)
    shown = _case(app, case)
    assert shown["competent_office"] == office and shown["number"].startswith(f"{office}-")
    route = shown["route"]
    if region is None:
        assert route is None
    else:
        assert (route["region"], route["mode"], route["office"], route["authority_office"],
                route["entrusted_office"], route["approving_office"]) == (region, mode, office, authority, entrusted,
                                                                          approving)
    preview = client(app, "zhang").get("/api/levels/route", query_string={"item": item, "region": region or ""}).json
    assert (preview["office_code"], preview["authority_office"]) == (office, authority)


def test_an_entrusted_county_case_decides_in_the_city_name(app, tmp_path):
    """委托下放: 西城区 accepts, reviews and concludes; the notice, decision, PDF and licence name the city as the
    authority and 西城区 as 受委托机关; the county's staff handle it, the city's reviewers do not see it."""
    case = _apply(app, FOOD, "XCQ")
    assert client(app, "lin").post(f"/api/cases/{case}/accept", json={"opinion": "齐全"}).status_code == 200
    assert not _tasks(app, "li", case)  # the city's reviewer: not the handling office's step
    _decide(app, "gao", case, "符合条件")
    assert not _tasks(app, "zhao", case)  # the city's approver does not conclude an entrusted case
    _decide(app, "ma", case, "准予")
    shown = _case(app, case, "zhang")
    assert (shown["status"], shown["outcome"]) == ("concluded", "approved")
    (accepted,) = [n for n in shown["notices"] if n["kind"] == "acceptance"]
    assert (accepted["content"]["office"], accepted["content"]["entrusted_office_name"]) == (
        "市市场监督管理局", "西城区行政审批局")
    decision = client(app, "zhang").get(f"/api/cases/{case}/decision").json
    assert (decision["office"], decision["entrusted"]) == ("市市场监督管理局", "西城区行政审批局")
    assert decision["number"].startswith("SJ-JD-")
    pdf = client(app, "zhang").get(f"/api/cases/{case}/decision.pdf")
    text = _pdf_text(pdf.data, tmp_path)
    assert "市市场监督管理局" in text and "受委托机关：西城区行政审批局" in text
    issued = client(app, "lin").post(f"/api/cases/{case}/issue-licence", json={})
    assert issued.status_code == 200, issued.json
    licence = client(app, "zhang").get(f"/api/licences/{issued.json['number']}").json
    assert (licence["office"], licence["entrusted"]) == ("市市场监督管理局", "西城区行政审批局")
    assert licence["number"].startswith("SJ-XK-")
    page = signed_in(app, "zhang").get(f"/cases/{case}/decision").get_data(as_text=True)
    assert "受委托机关" in page and "西城区行政审批局" in page and "市市场监督管理局" in page


def test_a_direct_county_case_decides_in_the_county_name(app):
    """直接放权: 东县 decides in its own name, numbered in its own series."""
    case = _apply(app, FOOD, "DXX")
    assert client(app, "lin").post(f"/api/cases/{case}/accept", json={"opinion": "齐全"}).status_code == 200
    _decide(app, "dong", case)
    _decide(app, "dong", case, "准予")
    decision = client(app, "zhang").get(f"/api/cases/{case}/decision").json
    assert (decision["office"], decision["entrusted"]) == ("东县行政审批局", None)
    assert decision["number"].startswith("DXX-JD-")


def test_a_review_report_case_is_approved_by_the_city_without_a_second_review(app):
    """审核转报: 西城区 accepts and reviews (binding); the conclude step belongs to the city's office only: a county
    approver cannot see or conclude it, the city approves it in one step, and sees none of the county's other cases."""
    y = app.extensions["yimen"]
    case = _apply(app, HEALTH, "XCQ")
    unrelated = _apply(app, FOOD, "XCQ")  # another 西城区 case the city must not see
    assert client(app, "lin").post(f"/api/cases/{case}/accept", json={"opinion": "齐全"}).status_code == 200
    assert not _tasks(app, "qin", case) and client(app, "qin").get(f"/api/cases/{case}").status_code == 404
    review = _decide(app, "gao", case, "经审核，符合卫生许可条件")
    assert review["element_id"] == "review"
    (conclude,) = _tasks(app, "qin", case)
    assert conclude["element_id"] == "conclude" and conclude["candidate_groups"] == ["WJ"]
    # the county's approver: neither sees the step nor may conclude it (API 404; the engine refuses too)
    assert not _tasks(app, "ma", case)
    guessed = client(app, "ma").post(f"/api/tasks/{conclude['id']}/decide", json={"approved": True, "opinion": "x"})
    assert guessed.status_code == 404
    with pytest.raises(Exception) as refused:
        y.decide(conclude["id"], True, "x", user="ma")
    assert getattr(refused.value, "code", None) == "permission_denied"
    # the city sees the case (through its step) and the county's binding review opinion, not unrelated cases
    seen = client(app, "qin").get(f"/api/cases/{case}").json
    assert any(o["element_id"] == "review" and o["text"] == "经审核，符合卫生许可条件" for o in seen["opinions"])
    assert client(app, "qin").get(f"/api/cases/{unrelated}").status_code == 404
    listed = [c["id"] for c in client(app, "qin").get("/api/cases").json["items"]]
    assert case in listed and unrelated not in listed
    _decide(app, "qin", case, "准予")
    shown = _case(app, case)
    assert (shown["status"], shown["outcome"]) == ("concluded", "approved")
    steps = [o["element_id"] for o in shown["opinions"] if o["element_id"] in ("review", "conclude")]
    assert steps == ["review", "conclude"]  # one review (the county's), one approval (the city's)
    decision = client(app, "zhang").get(f"/api/cases/{case}/decision").json
    assert (decision["office"], decision["entrusted"]) == ("市卫生健康委员会", None)
    # the county still sees its case; the city's approval step is closed for the county's staff
    assert client(app, "gao").get(f"/api/cases/{case}").status_code == 200


def test_a_taken_back_item_accepted_at_a_county_window_goes_to_the_city(app):
    """权限上收 with 互为受理: 西城区's window accepts 东县's application; the city office handles it."""
    case = _apply(app, HEALTH, "DXX")
    assert client(app, "lin").post(f"/api/cases/{case}/accept", json={"opinion": "齐全"}).status_code == 200
    shown = _case(app, case)
    assert (shown["competent_office"], shown["accepting_office"]) == ("WJ", "XCQ")
    assert _tasks(app, "zhou", case) and not _tasks(app, "dong", case)


def test_the_supervisor_sees_cases_by_level_and_region(app):
    city, county, zone = _apply(app, FOOD), _apply(app, FOOD, "XCQ"), _apply(app, FOOD, "KFQ")
    sun = client(app, "sun")

    def ids(**query):
        response = sun.get("/api/cases", query_string=query)
        assert response.status_code == 200, response.json
        return {c["id"] for c in response.json["items"]}

    assert ids(level="city") >= {city} and not ids(level="city") & {county, zone}
    assert ids(level="county") == {county} and ids(level="zone") == {zone}
    assert ids(region="XCQ") == {county} and ids(region="KFQ", level="county") == set()
    bad = sun.get("/api/cases", query_string={"level": "galaxy"})
    assert bad.status_code == 400 and bad.json["error"]["details"]["refusal"] == "one_of"
    supervisor = signed_in(app, "sun")
    assert 'href="/supervision/levels" id="cases-by-level"' in supervisor.get("/supervision").get_data(as_text=True)
    page = supervisor.get("/supervision/levels?level=county").get_data(as_text=True)
    assert "西城区行政审批局" in page


@pytest.mark.parametrize("path, body, refusal", [
    (f"/api/levels/{FOOD}/NOPE", {"mode": "direct"}, "unknown_region"),
    (f"/api/levels/{FOOD}/SJ", {"mode": "direct"}, "unknown_region"),     # a city office is not a region
    (f"/api/levels/NOPE/XCQ", {"mode": "direct"}, "unknown_item"),
    (f"/api/levels/{FOOD}/XCQ", {"mode": "sometimes"}, "one_of"),
    (f"/api/levels/{FOOD}/XCQ", {"mode": "zone"}, "zone_mode"),            # 赋权 is for a development zone
    (f"/api/levels/{FOOD}/XCQ", {"mode": "direct", "handler": "SJ"}, "unknown_handler"),
    ("/api/levels/330100-XK-003/XCQ", {"mode": "review_report"}, "review_report_process"),  # a parallel process
])
def test_bad_entries_are_refused_and_change_nothing(app, path, body, refusal):
    before = client(app, "admin").get("/api/levels").json["items"]
    response = client(app, "admin").put(path, json=body)
    assert response.status_code == 400, response.json
    assert response.json["error"]["details"]["refusal"] == refusal
    assert client(app, "admin").get("/api/levels").json["items"] == before


def test_only_an_administrator_changes_the_list_and_every_change_is_audited(app):
    y = app.extensions["yimen"]
    refused = client(app, "sun").put(f"/api/levels/{HEALTH}/KFQ", json={"mode": "zone"})
    assert refused.status_code == 403
    assert client(app, "sun").delete(f"/api/levels/{FOOD}/XCQ").status_code == 403
    assert client(app, "sun").post("/api/levels/import", json={"text": "[]"}).status_code == 403
    admin = client(app, "admin")
    saved = admin.put(f"/api/levels/{HEALTH}/KFQ", json={"mode": "zone", "note": "赋权开发区"})
    assert saved.status_code == 200 and saved.json["mode"] == "zone"
    assert _case(app, _apply(app, HEALTH, "KFQ"))["competent_office"] == "KFQ"
    assert admin.delete(f"/api/levels/{HEALTH}/KFQ").status_code == 200
    assert admin.delete(f"/api/levels/{HEALTH}/KFQ").status_code == 404
    assert _case(app, _apply(app, HEALTH, "KFQ"))["competent_office"] == "WJ"
    assert admin.post("/api/levels/import", json={"text": client(app, "admin").get("/api/levels/export").json[
        "content"]}).json == {"imported": 5}
    from sqlalchemy import select

    from engine.models import AuditEvent

    with y.sessions() as session:
        events = list(session.execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.data)
                                      .where(AuditEvent.action.like("levels.%")).order_by(AuditEvent.seq)))
    # the demo data's import first, then this test's three changes
    assert [(e.action, e.actor) for e in events] == [("levels.import", "admin"), ("levels.set", "admin"),
                                                     ("levels.remove", "admin"), ("levels.import", "admin")]
    assert (events[1].data["item_code"], events[1].data["region"], events[1].data["mode"]) == (HEALTH, "KFQ", "zone")


def test_the_list_exports_and_imports_as_csv_and_json(app):
    admin = client(app, "admin")
    csv_text = admin.get("/api/levels/export", query_string={"format": "csv"}).json["content"]
    assert csv_text.splitlines()[0] == "item_code,region,mode,handler,note" and len(csv_text.splitlines()) == 6
    changed = csv_text.replace(f"{FOOD},DXX,direct", f"{FOOD},DXX,taken_back")
    assert admin.post("/api/levels/import", json={"text": changed, "format": "csv"}).json == {"imported": 5}
    assert _case(app, _apply(app, FOOD, "DXX"))["competent_office"] == "SJ"
    # an office's own spreadsheet: Chinese headings and the modes' Chinese names
    chinese = changed.replace("item_code,region,mode,handler,note", "事项编码,所在区域,实施方式,承办机关,备注", 1) \
        .replace(f"{FOOD},DXX,taken_back", f"{FOOD},DXX,直接放权")
    assert admin.post("/api/levels/import", json={"text": chinese, "format": "csv"}).json == {"imported": 5}
    assert _case(app, _apply(app, FOOD, "DXX"))["competent_office"] == "DXX"
    broken = admin.post("/api/levels/import", json={"text": '[{"item_code": "NOPE", "region": "XCQ", '
                                                             '"mode": "direct"}]'})
    assert broken.status_code == 400 and broken.json["error"]["details"]["refusal"] == "bad_file"
    assert len(admin.get("/api/levels").json["items"]) == 5  # all rows or none


def test_an_application_from_an_unknown_region_is_refused(app):
    response = client(app, "zhang").post("/api/cases", json={"item": FOOD, "applicant": {"name": "张三"},
                                                             "region": "MARS"})
    assert response.status_code == 400 and response.json["error"]["details"]["refusal"] == "unknown_region"
    assert client(app, "zhang").get("/api/cases").json["total"] == 0


# --- pages ------------------------------------------------------------------------------------

def test_the_public_list_and_the_route_on_the_case_page_are_chinese(app):
    """Anyone reads the implementation list; the applicant's case page names region, mode and offices, no codes."""
    from .test_chinese_pages import latin_words

    public = app.test_client().get("/levels").get_data(as_text=True)
    assert "委托下放（以市级名义决定）" in public and "受委托机关：西城区行政审批局" in public
    assert "审核转报（县级受理审核，市级审批）" in public and "市卫生健康委员会" in public
    assert not latin_words(public), latin_words(public)
    case = _apply(app, FOOD, "XCQ")
    page = signed_in(app, "zhang").get(f"/cases/{case}").get_data(as_text=True)
    assert "所在区域: 西城区行政审批局" in page.replace("：", ": ")
    assert "受委托机关" in page and "文书署名机关: 市市场监督管理局" in page.replace("：", ": ")
    assert not latin_words(page), latin_words(page)
    sun = signed_in(app, "sun")
    for url in ("/supervision/levels", "/supervision/levels?level=county&region=XCQ"):
        shown = sun.get(url).get_data(as_text=True)
        assert not latin_words(shown), (url, latin_words(shown))
    admin = signed_in(app, "admin").get("/admin/levels").get_data(as_text=True)
    assert "设置事项在某区域的实施方式" in admin and not latin_words(admin), latin_words(admin)


def test_the_apply_page_asks_the_region_and_routes_the_case(app):
    import io

    applicant = signed_in(app, "zhang")
    page = applicant.get(f"/apply/{HEALTH}")
    html = page.get_data(as_text=True)
    assert 'name="region"' in html and "西城区行政审批局" in html and "市本级" in html
    files = {f"material_{i}": (io.BytesIO(b"%PDF-1.4"), f"{i}.pdf") for i in range(len(HEALTH_MATERIALS))}
    response = applicant.post(f"/apply/{HEALTH}", data={"name": "张三", "region": "XCQ", "id_no": ID_NO,
                                                         "phone": "13800138000", "csrf_token": csrf(page.data),
                                                         **files}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    case = int(response.headers["Location"].rsplit("/", 1)[1])
    route = _case(app, case)["route"]
    assert (route["mode"], route["office"], route["approving_office"]) == ("review_report", "XCQ", "WJ")
    wrong = applicant.get(f"/apply/{HEALTH}")
    files = {f"material_{i}": (io.BytesIO(b"%PDF-1.4"), f"{i}.pdf") for i in range(len(HEALTH_MATERIALS))}
    refused = applicant.post(f"/apply/{HEALTH}", data={"name": "张三", "region": "SJ", "id_no": ID_NO,
                                                        "phone": "13800138000", "csrf_token": csrf(wrong.data),
                                                        **files}, content_type="multipart/form-data")
    assert refused.status_code == 400 and "所选区域不是本系统已知的县（区）或开发区" in refused.get_data(as_text=True)


def test_the_admin_page_sets_removes_and_imports_entries(app):
    admin = signed_in(app, "admin")
    page = admin.get("/admin/levels").data
    saved = admin.post("/admin/levels", data={"item": HEALTH, "region": "KFQ", "mode": "zone", "note": "赋权",
                                              "csrf_token": csrf(page)}, follow_redirects=True)
    assert "已保存该条目。" in saved.get_data(as_text=True)
    assert _case(app, _apply(app, HEALTH, "KFQ"))["competent_office"] == "KFQ"
    refused = admin.post("/admin/levels", data={"item": HEALTH, "region": "XCQ", "mode": "zone",
                                                "csrf_token": csrf(page)}, follow_redirects=True)
    assert "赋权开发区实施只适用于开发区" in refused.get_data(as_text=True)
    removed = admin.post("/admin/levels/remove", data={"item": HEALTH, "region": "KFQ", "csrf_token": csrf(page)},
                         follow_redirects=True)
    assert "已删除该条目。" in removed.get_data(as_text=True)
    assert _case(app, _apply(app, HEALTH, "KFQ"))["competent_office"] == "WJ"
    import io

    text = "item_code,region,mode,handler,note\n330100-XK-001,DXX,taken_back,,上收\n"
    imported = admin.post("/admin/levels/import", data={"file": (io.BytesIO(text.encode()), "list.csv"),
                                                        "csrf_token": csrf(page)},
                          content_type="multipart/form-data", follow_redirects=True)
    assert "实施清单已导入。" in imported.get_data(as_text=True)
    assert [(r["item_code"], r["region"], r["mode"]) for r in client(app, "admin").get("/api/levels").json["items"]] \
        == [(FOOD, "DXX", "taken_back")]
    bad = "item_code,region,mode\nNOPE,DXX,direct\n330100-XK-001,SJ,direct\n"
    broken = admin.post("/admin/levels/import", data={"file": (io.BytesIO(bad.encode()), "list.csv"),
                                                      "csrf_token": csrf(page)},
                        content_type="multipart/form-data", follow_redirects=True)
    assert "文件中有 2 处问题" in broken.get_data(as_text=True)
    assert signed_in(app, "sun").get("/admin/levels").status_code == 403
    assert len(client(app, "admin").get("/api/levels").json["items"]) == 1


# --- the city's approver of a 审核转报 case, in Chromium ---------------------------------------------

BROWSER = __import__("os").environ.get("YIMEN_SKIP_BROWSER") != "1"
if BROWSER:
    from tests.web.browser_fixtures import browser, open_as, server  # noqa: F401,E402  (fixtures)


@pytest.mark.skipif(not BROWSER, reason="YIMEN_SKIP_BROWSER=1")
def test_the_city_approves_a_reviewed_and_reported_case_in_chromium(app, open_as):
    """The applicant chooses 西城区 on the apply page; 西城区 accepts and reviews; the city's approver finds the step
    in the inbox, reads the county's binding review and approves; the county's approver never sees the step."""
    applicant = open_as("zhang")
    applicant.goto(f"/apply/{HEALTH}")
    applicant.select_option("select[name=region]", "XCQ")
    applicant.fill("input[name=id_no]", ID_NO)
    applicant.fill("input[name=phone]", "13800138000")
    for i in range(len(HEALTH_MATERIALS)):
        applicant.set_input_files(f"input[name=material_{i}]", files=[
            {"name": f"{i}.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"}])
    applicant.click("#application button")
    applicant.wait_for_load_state()
    case = int(applicant.url.rstrip("/").rsplit("/", 1)[1])
    assert "西城区行政审批局" in applicant.locator("p.route").inner_text()
    assert client(app, "lin").post(f"/api/cases/{case}/accept", json={"opinion": "材料齐全"}).status_code == 200
    _decide(app, "gao", case, "经现场核查，符合卫生许可条件")

    county = open_as("ma")
    county.click("text=待办")
    assert county.locator(f"tr[data-task] >> text=公共场所卫生许可").count() == 0

    city = open_as("qin")
    city.click("text=待办")
    city.locator("tr[data-task]", has_text="公共场所卫生许可").locator("a").first.click()
    city.wait_for_load_state()
    binding = city.locator("#binding-review")
    assert "县级审核意见（具有约束力）" in binding.inner_text()
    assert "经现场核查，符合卫生许可条件" in binding.inner_text() and "西城区行政审批局" in binding.inner_text()
    city.fill("textarea[name=opinion]", "依据县级审核意见，准予许可")
    city.click("button[name=approved][value=yes]")
    city.wait_for_load_state()
    shown = _case(app, case)
    assert (shown["status"], shown["outcome"]) == ("concluded", "approved")
    assert [o["user"] for o in shown["opinions"] if o["element_id"] == "conclude"] == ["qin"]
    applicant.goto(f"/cases/{case}/decision")
    assert "市卫生健康委员会" in applicant.content()
