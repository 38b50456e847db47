"""Bundles (一件事 / 一链办理, issue 16) through the API and the pages, on SQLite and PostgreSQL.

A bundle of three items: one application (the shared business licence handed in once), one acceptance by the
window for all three, three clocks (each member case keeps its item's limits), and one delivery (统一出件) once
every member has concluded. A bundle whose items would be handled at different levels is refused whole and
nothing is kept; a repeated application (the form's token, the Idempotency-Key) makes one application.
"""
from __future__ import annotations

import base64
import io
from datetime import datetime

from engine.cases import LOCAL

from .test_api import client
from .test_pages import csrf, signed_in

FOOD, HYGIENE, FIRE = "330100-XK-001", "330100-XK-002", "330100-XK-005"
LICENCE = "营业执照"
BUNDLE = "330100-YJ-003"


def _fire_item(y, office="XF", level="city"):
    """A third city item sharing the business licence with the food licence, handled by the fire service."""
    item = {**y.item(HYGIENE)}
    item.update({"code": FIRE, "name": "公众聚集场所投入使用营业前消防安全检查", "name_en": "Fire safety inspection",
                 "competent_office": "市消防救援支队", "office_code": office, "level": level,
                 "legal_limit_days": 20, "promised_limit_days": 12,
                 "materials": [{"name": LICENCE, "name_en": "Business licence", "required": True},
                               {"name": "消防安全检查申请表", "name_en": "Fire inspection form", "required": True}]})
    y.save_item({k: v for k, v in item.items() if k != "item_type_name"})


def _define(app, items=(FOOD, HYGIENE, FIRE), code=BUNDLE, **extra):
    admin = client(app, "admin")
    return admin.put(f"/api/bundles/{code}", json={"name": "开办餐饮店一件事", "name_en": "Opening a restaurant",
                                                  "items": list(items), **extra})


def _files(app, code=BUNDLE, skip=()):
    shown = client(app, "zhang").get(f"/api/bundles/{code}").json
    return [{"name": m["name"], "filename": f"{i}.pdf", "content_base64": base64.b64encode(b"%PDF-1.4").decode()}
            for i, m in enumerate(shown["materials"]) if m["name"] not in skip]


def _apply(app, key="bundle-key-1", **extra):
    return client(app, "zhang").post("/api/bundle-applications", headers={"Idempotency-Key": key}, json={
        "bundle": BUNDLE, "applicant": {"name": "张三"}, "materials": _files(app), **extra})


def _conclude(y, case_id):
    for user in ("li", "zhao"):
        (task,) = y.tasks(instance=y.case(case_id)["instance"])
        y.decide(task["id"], True, "符合条件，同意", user=user)
    y.issue_licence(case_id, user="wang")


def test_a_bundle_of_three_items_is_accepted_once_runs_three_clocks_and_is_delivered_once(app):
    y = app.extensions["yimen"]
    _fire_item(y)
    defined = _define(app, shared_materials=[LICENCE])
    assert defined.status_code == 200, defined.json
    shown = client(app, "zhang").get(f"/api/bundles/{BUNDLE}").json
    licence = [m for m in shown["materials"] if m["name"] == LICENCE]
    assert len(licence) == 1 and licence[0]["shared"] and sorted(licence[0]["items"]) == [FOOD, FIRE]
    assert len(shown["materials"]) == 6  # 3 + 2 + 2 materials, the shared one once

    made = _apply(app)
    assert made.status_code == 201, made.json
    application, cases = made.json["application"], made.json["cases"]
    assert len(cases) == 3 and made.json["status"] == "submitted"
    members = [y.case(c) for c in cases]
    assert [m["item"] for m in members] == [FOOD, HYGIENE, FIRE]
    for m in members:  # the shared material, uploaded once, is received on both cases that need it
        assert all(x["status"] == "received" for x in m["materials"]), m["materials"]
    assert sum(1 for m in members for x in m["materials"] if x["name"] == LICENCE) == 2

    window = client(app, "wang")
    single = window.post(f"/api/cases/{cases[0]}/accept", json={})
    assert single.status_code == 409 and single.json["error"]["details"]["refusal"] == "bundle_member"
    assert y.case(cases[0])["status"] == "submitted"
    waiting = window.get("/api/bundle-applications?waiting=yes").json["items"]
    assert [a["id"] for a in waiting] == [application] and waiting[0]["waiting_for_acceptance"]

    refused = client(app, "zhang").post(f"/api/bundle-applications/{application}/accept", json={})
    assert refused.status_code == 403
    accepted = window.post(f"/api/bundle-applications/{application}/accept", json={"opinion": "材料齐全"})
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["status"] == "accepted"
    members = [y.case(c) for c in cases]
    assert {m["status"] for m in members} == {"under_review"}
    assert len({m["accepted"] for m in members}) == 1  # one acceptance, one moment
    # three clocks: each case counts its own item's promised limit from the same acceptance
    cal = y.working_calendar()
    accepted_at = datetime.fromisoformat(members[0]["accepted"])
    for m, days in zip(members, (y.item(FOOD)["promised_limit_days"], y.item(HYGIENE)["promised_limit_days"], 12)):
        due = datetime.fromisoformat(m["clock"]["case"]["promised_due"])
        assert due == cal.deadline(accepted_at, days), (m["item"], due)
    assert len({m["clock"]["case"]["promised_due"] for m in members}) == 3
    assert window.get("/api/bundle-applications?waiting=yes").json["items"] == []

    # one delivery: not before every member has concluded, and never one member on its own
    for c in cases[:2]:
        _conclude(y, c)
    early = window.post(f"/api/bundle-applications/{application}/dispatch", json={})
    assert early.status_code == 409 and early.json["error"]["details"]["refusal"] == "bundle_not_concluded"
    assert all(y.case(c).get("delivery") is None for c in cases)
    _conclude(y, cases[2])
    alone = window.post(f"/api/cases/{cases[0]}/dispatch", json={})
    assert alone.status_code == 409 and alone.json["error"]["details"]["refusal"] == "bundle_member"
    sent = window.post(f"/api/bundle-applications/{application}/dispatch", json={})
    assert sent.status_code == 200, sent.json
    after = client(app, "zhang").get(f"/api/bundle-applications/{application}").json
    assert after["status"] == "dispatched" and after["concluded"]
    assert [m["delivery"] for m in after["members"]] == ["ready"] * 3
    for c in cases:
        assert [n["kind"] for n in y.case(c)["notices"]].count("dispatched") == 1
    again = window.post(f"/api/bundle-applications/{application}/dispatch", json={})
    assert again.status_code == 409
    assert window.post(f"/api/bundle-applications/{application}/delivered", json={}).status_code == 200
    got = client(app, "zhang").post(f"/api/bundle-applications/{application}/received", json={})
    assert got.status_code == 200 and got.json["status"] == "received"
    assert [m["delivery"] for m in client(app, "zhang").get(f"/api/bundle-applications/{application}").json[
        "members"]] == ["received"] * 3


def test_a_bundle_mixing_levels_is_refused_and_nothing_is_kept(app):
    y = app.extensions["yimen"]
    y.save_department("XQ", "某县市场监督管理局", "county", "SJ", name_en="County Market Regulation Bureau")
    _fire_item(y, office="XQ", level="county")
    refused = _define(app)
    assert refused.status_code == 400
    details = refused.json["error"]["details"]
    assert details["refusal"] == "bundle_levels_differ"
    assert {e["code"]: e["level"] for e in details["items"]}[FIRE] == "county"
    told = client(app, "admin").put(f"/api/bundles/{BUNDLE}", headers={"Accept-Language": "zh"}, json={
        "name": "开办餐饮店一件事", "items": [FOOD, FIRE]}).json["error"]["message"]
    assert "食品经营许可（市级）" in told and "公众聚集场所投入使用营业前消防安全检查（县级）" in told
    assert client(app, "zhang").get(f"/api/bundles/{BUNDLE}").status_code == 404

    # defined while its items were all city items; then the fire item is handled by the county office: the
    # members would be handled at two levels, so the application is refused whole
    _fire_item(y)
    assert _define(app).status_code == 200
    files = _files(app)
    _fire_item(y, office="XQ", level="county")
    before = (y.case_list({"id": "wang", "roles": ["window"]})["total"], len(y.notifications("zhang")),
              len(y.outbox()))
    mixed = client(app, "zhang").post("/api/bundle-applications", headers={"Idempotency-Key": "mixed-1",
                                                                           "Accept-Language": "zh"},
                                      json={"bundle": BUNDLE, "applicant": {"name": "张三"}, "materials": files})
    assert mixed.status_code == 409, mixed.json
    assert mixed.json["error"]["details"]["refusal"] == "bundle_levels_mixed"
    message = mixed.json["error"]["message"]
    assert "不同层级" in message and "公众聚集场所投入使用营业前消防安全检查（县级）" in message and "食品经营许可（市级）" in message
    after = (y.case_list({"id": "wang", "roles": ["window"]})["total"], len(y.notifications("zhang")),
             len(y.outbox()))
    assert after == before
    assert client(app, "wang").get("/api/bundle-applications").json["total"] == 0
    # the key was not used up: once the items agree again, the same key makes the application
    _fire_item(y)
    assert client(app, "zhang").post("/api/bundle-applications", headers={"Idempotency-Key": "mixed-1"}, json={
        "bundle": BUNDLE, "applicant": {"name": "张三"}, "materials": files}).status_code == 201

    # the administrator may allow it (cross-level) where the implementation modes do: then it is defined
    _fire_item(y, office="XQ", level="county")
    allowed = _define(app, cross_level=True)
    assert allowed.status_code == 200 and allowed.json["cross_level"] is True


def test_a_repeated_bundle_application_makes_one_application(app):
    y = app.extensions["yimen"]
    _fire_item(y)
    assert _define(app).status_code == 200
    first, second = _apply(app, key="twice"), _apply(app, key="twice")
    assert first.status_code == 201 and second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json["application"] == first.json["application"] and second.json["cases"] == first.json["cases"]
    other = client(app, "zhang").post("/api/bundle-applications", headers={"Idempotency-Key": "twice"}, json={
        "bundle": BUNDLE, "applicant": {"name": "李四"}, "materials": _files(app)})
    assert other.status_code == 409 and other.json["error"]["code"] == "conflict"
    assert client(app, "wang").get("/api/bundle-applications").json["total"] == 1
    assert y.case_list({"id": "wang", "roles": ["window"]})["total"] == 3

    # the apply page's one-time token: the same form sent twice is one application
    applicant = signed_in(app, "zhang")
    page = applicant.get(f"/apply/bundle/{BUNDLE}").data
    token = csrf(page)
    submit_token = page.decode().split('name="submit_token" value="', 1)[1].split('"', 1)[0]
    materials = y.bundle_materials(BUNDLE)

    def send():
        data = {"csrf_token": token, "submit_token": submit_token, "name": "张三", "id_no": "33010019900101001X",
                "phone": "13800138000",
                **{f"material_{i}": (io.BytesIO(b"%PDF-1.4"), f"{i}.pdf") for i in range(len(materials))}}
        return applicant.post(f"/apply/bundle/{BUNDLE}", data=data, content_type="multipart/form-data")

    one, two = send(), send()
    assert one.status_code == two.status_code == 302, one.data.decode()[:2000]
    assert one.headers["Location"] == two.headers["Location"]
    assert client(app, "wang").get("/api/bundle-applications").json["total"] == 2


def test_the_window_corrects_or_refuses_a_bundle_once(app):
    y = app.extensions["yimen"]
    _fire_item(y)
    assert _define(app).status_code == 200
    files = [f for f in _files(app) if f["name"] != "卫生检测报告"]
    made = client(app, "zhang").post("/api/bundle-applications", json={
        "bundle": BUNDLE, "applicant": {"name": "张三"}, "materials": files}).json
    application, cases = made["application"], made["cases"]
    window = client(app, "wang")
    missing = window.post(f"/api/bundle-applications/{application}/accept", json={})
    assert missing.status_code == 409 and missing.json["error"]["details"]["refusal"] == "materials_missing"
    assert {y.case(c)["status"] for c in cases} == {"submitted"}  # nothing accepted, not even the complete ones
    corrected = window.post(f"/api/bundle-applications/{application}/correction", json={
        "problems": [{"material": LICENCE, "problem": "营业执照复印件不清晰"}]})
    assert corrected.status_code == 200, corrected.json
    statuses = [y.case(c)["status"] for c in cases]
    assert statuses == ["correction_requested", "correction_requested", "correction_requested"]
    (notice,) = [n for n in y.case(cases[1])["notices"] if n["kind"] == "correction"]
    assert [p["material"] for p in notice["content"]["problems"]] == ["卫生检测报告"]  # its own missing material
    for c in cases:
        y.resubmit(c, [{"name": m["name"], "filename": "b.pdf", "content": b"%PDF"}
                       for m in y.case(c)["materials"]], "已补正", user="zhang")
    assert window.post(f"/api/bundle-applications/{application}/accept", json={}).status_code == 200
    assert {y.case(c)["status"] for c in cases} == {"under_review"}

    other = client(app, "zhang").post("/api/bundle-applications", json={
        "bundle": BUNDLE, "applicant": {"name": "张三"}, "materials": _files(app)}).json
    no = window.post(f"/api/bundle-applications/{other['application']}/not-accept", json={"reason": "不属于本中心"})
    assert no.status_code == 200 and no.json["status"] == "not_accepted"
    assert {y.case(c)["status"] for c in other["cases"]} == {"not_accepted"}


def test_bundle_pages_show_the_bundle_once_to_the_window_and_its_members_to_the_applicant(app):
    y = app.extensions["yimen"]
    _fire_item(y)
    assert _define(app).status_code == 200
    made = _apply(app).json
    window = signed_in(app, "wang")
    inbox = window.get("/inbox").get_data(as_text=True)
    assert inbox.count(f'data-bundle-application="{made["application"]}"') == 1 and "待受理的一件事申请" in inbox
    listed = {t["case"]["id"] for t in client(app, "wang").get("/api/tasks").json["items"] if t["case"]}
    assert not listed & set(made["cases"])  # the members' own acceptance steps are not listed one by one
    for who in ("wang", "sun"):  # nor counted, for window staff or for a supervisor, who sees every open step
        answer = y.inbox(y.user(who), counts=True)
        assert answer["total"] == answer["counts"]["all"] == len(answer["items"]) == 0, (who, answer)
        assert answer["counts"]["group"] == 0 and y.inbox(y.user(who))["total"] == 0
    case_page = signed_in(app, "zhang").get(f"/cases/{made['cases'][1]}").get_data(as_text=True)
    assert "所属一件事申请" in case_page and made["number"] in case_page
    assert all(number in case_page for number in made["numbers"])
    mine = signed_in(app, "zhang").get("/my").get_data(as_text=True)
    assert f"/apply/bundle/{BUNDLE}" in mine and made["number"] in mine
    page = window.get(f"/bundle-applications/{made['application']}").get_data(as_text=True)
    assert 'id="bundle-accept"' in page and "全部事项一并受理" in page
    assert signed_in(app, "zhou").get(f"/bundle-applications/{made['application']}").status_code == 200
    assert signed_in(app, "xiao").get(f"/bundle-applications/{made['application']}").status_code == 404

    # the task page of a member's acceptance step refuses to accept it alone, in Chinese
    (task,) = y.tasks(instance=y.case(made["cases"][0])["instance"])
    token = csrf(window.get(f"/tasks/{task['id']}").data)
    shown = window.post(f"/tasks/{task['id']}/accept", data={"csrf_token": token, "opinion": ""},
                        follow_redirects=True).get_data(as_text=True)
    assert "本办件属于一件事申请" in shown and made["number"] in shown
    assert y.case(made["cases"][0])["status"] == "submitted"


def test_administrators_define_bundles_on_their_page(app):
    y = app.extensions["yimen"]
    admin = signed_in(app, "admin")
    page = admin.get("/admin/bundles")
    assert page.status_code == 200 and "开办小餐馆一件事" in page.get_data(as_text=True)  # the demo bundle
    token = csrf(page.data)
    saved = admin.post("/admin/bundles", data={"csrf_token": token, "code": "330100-YJ-009", "name": "测试一件事",
                                               "items": [FOOD, HYGIENE], "enabled": "yes"})
    assert saved.status_code == 302
    assert y.bundle("330100-YJ-009")["item_codes"] == [FOOD, HYGIENE]
    small = admin.post("/admin/bundles", data={"csrf_token": token, "code": "330100-YJ-010", "name": "太小",
                                               "items": [FOOD], "enabled": "yes"})
    assert small.status_code == 400 and "请至少选择两个不同的事项" in small.get_data(as_text=True)
    assert [b["code"] for b in y.bundles()] == ["330100-YJ-001", "330100-YJ-009"]
    assert signed_in(app, "zhang").get("/admin/bundles").status_code == 403
    assert client(app, "zhang").put("/api/bundles/X1", json={"name": "x", "items": [FOOD, HYGIENE]}).status_code == 403


def test_an_applicant_withdraws_at_staffs_suggestion_on_her_case_page_and_it_is_filed(app):
    y = app.extensions["yimen"]
    case_id = y.submit(FOOD, {"name": "张三", "user": "zhang"}, [], user="zhang")["case"]
    applicant = signed_in(app, "zhang")
    page = applicant.get(f"/cases/{case_id}")
    assert 'id="withdraw-application"' in page.get_data(as_text=True)
    sent = applicant.post(f"/cases/{case_id}/withdraw-application", data={
        "csrf_token": csrf(page.data), "reason": "窗口建议先办理营业执照", "staff_suggested": "yes"},
        follow_redirects=True)
    assert sent.status_code == 200 and y.case(case_id)["status"] == "withdrawn"
    filings = y.negative_filings()["items"]
    assert [(f["case"], f["outcome"]) for f in filings] == [(case_id, "withdrawn")]
    assert 'id="withdraw-application"' not in applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    # withdrawn on her own: no filing
    other = y.submit(FOOD, {"name": "张三", "user": "zhang"}, [], user="zhang")["case"]
    token = csrf(applicant.get(f"/cases/{other}").data)
    applicant.post(f"/cases/{other}/withdraw-application", data={"csrf_token": token, "reason": "不办了"})
    assert y.case(other)["status"] == "withdrawn" and len(y.negative_filings()["items"]) == 1
    # staff do not see the applicant's form
    assert 'id="withdraw-application"' not in signed_in(app, "wang").get(f"/cases/{case_id}").get_data(as_text=True)


def test_the_linkage_list_is_linked_from_the_menu_and_the_service_guide(app):
    anonymous = app.test_client()
    assert 'href="/linkage"' in anonymous.get("/login").get_data(as_text=True)
    assert anonymous.get("/linkage").status_code == 200
    signed = signed_in(app, "zhang")
    assert 'href="/linkage"' in signed.get("/my").get_data(as_text=True)
    guide = signed.get(f"/apply/{FOOD}").get_data(as_text=True)
    assert f'href="/linkage?item={FOOD}"' in guide
    rows = app.extensions["yimen"].linkage_list()
    assert rows, "the demo linkage list has rows"
    filtered = anonymous.get(f"/linkage?item={FOOD}").get_data(as_text=True)
    assert filtered.count('data-item="') == sum(1 for r in rows if r["item_code"] == FOOD)
    assert filtered.count('data-item="') < len(rows) or all(r["item_code"] == FOOD for r in rows)


def test_a_bundle_deemed_accepted_by_law_is_accepted_once_all_its_members_are(app):
    """Art. 32: no decision in 5 working days, every member is accepted as of receipt, and so is the bundle."""
    from datetime import timedelta

    from engine import clock

    y = app.extensions["yimen"]
    _fire_item(y)
    assert _define(app).status_code == 200
    made = _apply(app).json
    due = max(datetime.fromisoformat(y.case(c)["clock"]["acceptance_due"]) for c in made["cases"])
    with clock.pinned(due + timedelta(hours=1)):
        y.advance_deadlines()
    shown = client(app, "zhang").get(f"/api/bundle-applications/{made['application']}").json
    assert {m["status"] for m in shown["members"]} == {"under_review"}
    assert shown["status"] == "accepted" and shown["accepted_at"] is not None


def test_the_demo_bundle_routes_by_the_applicants_region_and_refuses_a_region_mixing_levels(app):
    """放权 meets 一件事: from 西城区 both demo members go to the county (the food licence entrusted, the hygiene
    licence reviewed and reported), so the bundle is taken; from 东县 the food licence is the county's own while
    the hygiene licence was taken back to the city, so the bundle is refused whole and nothing is kept."""
    from engine.demo import DEMO_BUNDLE

    y = app.extensions["yimen"]
    files = _files(app, code=DEMO_BUNDLE)
    made = client(app, "zhang").post("/api/bundle-applications", headers={"Idempotency-Key": "xcq-1"}, json={
        "bundle": DEMO_BUNDLE, "applicant": {"name": "张三"}, "materials": files, "region": "XCQ"})
    assert made.status_code == 201, made.json
    routes = {y.case(c)["item"]: (y.case(c)["route"]["office"], y.case(c)["route"]["mode"]) for c in made.json["cases"]}
    assert routes == {FOOD: ("XCQ", "entrusted"), HYGIENE: ("XCQ", "review_report")}
    before = y.case_list({"id": "wang", "roles": ["window"]})["total"]
    mixed = client(app, "zhang").post("/api/bundle-applications", headers={"Idempotency-Key": "dxx-1",
                                                                           "Accept-Language": "zh"}, json={
        "bundle": DEMO_BUNDLE, "applicant": {"name": "张三"}, "materials": files, "region": "DXX"})
    assert mixed.status_code == 409 and mixed.json["error"]["details"]["refusal"] == "bundle_levels_mixed"
    assert "不同层级" in mixed.json["error"]["message"]
    assert y.case_list({"id": "wang", "roles": ["window"]})["total"] == before
