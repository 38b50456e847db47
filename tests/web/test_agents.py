"""Issue 16, agents (代办): an agent acts for an applicant only under a recorded authorisation (委托书).

Through the API on SQLite and PostgreSQL: an application "as agent" without an authorisation is refused and
makes nothing; the applicant grants one online from an account the window verified (实名认证), or the window
records her signed paper authorisation with its scan; scope, validity and revocation decide; the centre's
代办 agents are a registry with their cases and ratings.
"""
from __future__ import annotations

import base64

from tests.web.test_api import client

ITEM = "330100-XK-001"
ZHANG_ID = "330102198505120042"   # valid GB 11643 check digit
WALK_IN_ID = "11010519491231002X"
COMPANY = "91350100M000100Y43"


def _materials(app):
    return [{"name": m["name"], "filename": "a.pdf", "content_base64": base64.b64encode(b"%PDF").decode()}
            for m in app.extensions["yimen"].item(ITEM)["materials"]]


def _as_agent(app, agent, id_no, name="张三", kind="person", item=ITEM):
    return client(app, agent).post("/api/cases", json={
        "item": item, "as_agent": True, "applicant": {"name": name, "kind": kind, "id_no": id_no},
        "materials": _materials(app)})


def _total(app):
    return client(app, "sun").get("/api/cases").json["total"]


def _agent(app, user="xiao"):
    y = app.extensions["yimen"]
    y.add_user(user, groups=["agent-service"], roles=["applicant"], display_name="肖代办")
    return user


def test_an_agent_without_an_authorisation_is_refused_and_nothing_is_made(app):
    agent = _agent(app)
    answer = _as_agent(app, agent, ZHANG_ID)
    assert answer.status_code == 403, answer.json
    assert answer.json["error"]["code"] == "permission_denied"
    assert answer.json["error"]["details"]["refusal"] == "no_authorisation"
    no_id = _as_agent(app, agent, "")
    assert no_id.status_code == 403 and no_id.json["error"]["details"]["field"] == "id_no"
    assert _total(app) == 0


def test_the_applicant_grants_online_from_a_verified_account_and_the_agent_applies(app):
    agent = _agent(app)
    zhang = client(app, "zhang")
    app.extensions["yimen"].add_user("liu", groups=[], roles=["applicant"], display_name="刘四")
    unverified = client(app, "liu").post("/api/authorisations", json={"agent": agent, "valid_until": "2026-12-31"})
    assert unverified.status_code == 403
    assert unverified.json["error"]["details"]["refusal"] == "identity_not_verified"
    assert client(app, "li").post("/api/users/zhang/identity", json={
        "kind": "person", "name": "张三", "id_no": ZHANG_ID}).status_code == 403  # only the window verifies
    bad = client(app, "wang").post("/api/users/zhang/identity", json={
        "kind": "person", "name": "张三", "id_no": ZHANG_ID[:-1] + "1"})
    assert bad.status_code == 400 and bad.json["error"]["details"]["refusal"] == "id_card_check_digit"
    assert client(app, "wang").post("/api/users/zhang/identity", json={
        "kind": "person", "name": "张三", "id_no": ZHANG_ID}).status_code == 200
    granted = zhang.post("/api/authorisations", json={"agent": agent, "valid_until": "2026-12-31",
                                                       "scope": [ITEM],
                                                       "applicant": {"name": "冒名", "id_no": WALK_IN_ID}})
    assert granted.status_code == 201, granted.json
    # online, the verified identity is the applicant: what the body claims is not
    assert granted.json["applicant"]["id_no"] == ZHANG_ID and granted.json["applicant"]["name"] == "张三"
    assert granted.json["confirmed"] == "online" and granted.json["in_force"] is True
    assert _as_agent(app, agent, WALK_IN_ID).status_code == 403  # another person's number: no authorisation
    applied = _as_agent(app, agent, ZHANG_ID)
    assert applied.status_code == 201, applied.json
    case = app.extensions["yimen"].case(applied.json["case"])
    assert case["agent"]["user"] == agent and case["applicant"]["user"] is None
    audit = client(app, "sun").get(f"/api/cases/{case['id']}/audit").json["items"]
    assert any((e.get("data") or {}).get("authorisation") == granted.json["id"] for e in audit)
    # both sides see it; another applicant does not
    assert client(app, agent).get("/api/authorisations").json["total"] == 1
    assert client(app, "zhang").get("/api/authorisations").json["total"] == 1
    assert client(app, "li").get("/api/authorisations").json["total"] == 0


def test_scope_validity_and_revocation_decide(app, monkeypatch):
    agent = _agent(app)
    y = app.extensions["yimen"]
    y.verify_identity("zhang", "person", "张三", ZHANG_ID, user="wang")
    other_item = next(i["code"] for i in y.items() if i["code"] != ITEM)
    narrow = client(app, "zhang").post("/api/authorisations", json={
        "agent": agent, "valid_until": "2026-03-31", "scope": [other_item]}).json
    assert _as_agent(app, agent, ZHANG_ID).status_code == 403  # the food licence is outside its scope
    client(app, "zhang").post(f"/api/authorisations/{narrow['id']}/revoke")
    wide = client(app, "zhang").post("/api/authorisations", json={"agent": agent, "valid_until": "2026-03-31"}).json
    assert _as_agent(app, agent, ZHANG_ID).status_code == 201
    monkeypatch.setenv("YIMEN_NOW", "2026-04-01T02:00:00+00:00")  # the day after it ran out
    assert _as_agent(app, agent, ZHANG_ID).json["error"]["details"]["refusal"] == "no_authorisation"
    monkeypatch.setenv("YIMEN_NOW", "2026-03-03T02:00:00+00:00")
    assert client(app, "li").post(f"/api/authorisations/{wide['id']}/revoke").status_code == 403
    assert client(app, "zhang").post(f"/api/authorisations/{wide['id']}/revoke").json["status"] == "revoked"
    again = client(app, "zhang").post(f"/api/authorisations/{wide['id']}/revoke")
    assert again.status_code == 409
    assert _as_agent(app, agent, ZHANG_ID).status_code == 403
    assert _total(app) == 1


def test_bad_authorisations_are_refused_and_change_nothing(app):
    agent = _agent(app)
    y = app.extensions["yimen"]
    y.verify_identity("zhang", "person", "张三", ZHANG_ID, user="wang")
    zhang = client(app, "zhang")
    cases = [
        ({"agent": "nobody", "valid_until": "2026-12-31"}, 404),
        ({"agent": "zhang", "valid_until": "2026-12-31"}, 400),  # herself
        ({"agent": agent, "valid_until": "2026-02-01"}, 400),  # already over
        ({"agent": agent, "valid_until": "2031-01-01"}, 400),  # more than three years
        ({"agent": agent, "valid_until": "soon"}, 400),
        ({"agent": agent, "valid_until": "2026-12-31", "scope": ["NO-SUCH-ITEM"]}, 404),
    ]
    for body, status in cases:
        answer = zhang.post("/api/authorisations", json=body)
        assert answer.status_code == status, (body, answer.json)
    assert zhang.get("/api/authorisations").json["total"] == 0


def test_the_window_records_a_signed_paper_authorisation_for_a_walk_in_applicant(app):
    agent = _agent(app)
    scan = {"filename": "委托书.pdf", "content_base64": base64.b64encode(b"%PDF-signed").decode()}
    body = {"agent": agent, "valid_until": "2026-06-30",
            "applicant": {"name": "某某餐饮有限公司", "kind": "organisation", "id_no": COMPANY}}
    assert client(app, "zhang").post("/api/authorisations", json={**body, "scan": scan}).status_code == 403
    assert client(app, "wang").post("/api/authorisations", json={**body, "scan": {"content_base64": ""}}
                                    ).status_code == 400
    recorded = client(app, "wang").post("/api/authorisations", json={**body, "scan": scan})
    assert recorded.status_code == 201, recorded.json
    assert recorded.json["confirmed"] == "paper" and recorded.json["scan"] == "委托书.pdf"
    applied = _as_agent(app, agent, COMPANY, name="某某餐饮有限公司", kind="organisation")
    assert applied.status_code == 201, applied.json


def test_the_registry_lists_the_centres_agents_with_their_cases_and_ratings(app):
    agent = _agent(app)
    _agent(app, "qian")
    y = app.extensions["yimen"]
    y.verify_identity("zhang", "person", "张三", ZHANG_ID, user="wang")
    y.authorise_agent(agent, {}, "2026-12-31", user="zhang")
    assert _as_agent(app, agent, ZHANG_ID).status_code == 201
    listed = {a["user"]: a for a in client(app, "sun").get("/api/agents").json["items"]}
    assert set(listed) == {"qian", agent}
    assert (listed[agent]["cases"], listed[agent]["open"], listed["qian"]["cases"]) == (1, 1, 0)
    assert listed[agent]["name"] == "肖代办"


# --- the pages ------------------------------------------------------------------------------------------------

def test_the_pages_grant_record_and_revoke(app):
    import io

    from tests.web.test_pages import csrf, signed_in

    agent = _agent(app)
    y = app.extensions["yimen"]
    window = signed_in(app, "wang")
    page = window.get("/authorisations")
    assert page.status_code == 200 and 'id="paper"' in page.data.decode() and 'id="verify"' in page.data.decode()
    token = csrf(page.data)
    window.post("/identity/verify", data={"csrf_token": token, "user": "zhang", "kind": "person", "name": "张三",
                                          "id_no": ZHANG_ID})
    recorded = window.post("/authorisations/paper", data={
        "csrf_token": token, "applicant_name": "某某餐饮有限公司", "kind": "organisation", "id_no": COMPANY,
        "agent": agent, "valid_until": "2026-06-30", "scope": [ITEM], "scan": (io.BytesIO(b"%PDF"), "委托书.pdf")},
        content_type="multipart/form-data")
    assert recorded.status_code == 302
    no_scan = window.post("/authorisations/paper", data={
        "csrf_token": token, "applicant_name": "某某", "kind": "organisation", "id_no": COMPANY, "agent": agent,
        "valid_until": "2026-06-30"}, content_type="multipart/form-data")
    shown = window.get(no_scan.headers["Location"]).data.decode()
    assert "invalid_input" not in shown and "scan" not in shown.lower().replace('name="scan"', "")
    zhang = signed_in(app, "zhang")
    mine = zhang.get("/authorisations").data.decode()
    assert 'id="paper"' not in mine  # the window's forms are the window's
    zhang.post("/authorisations", data={"csrf_token": csrf(mine.encode()), "agent": agent,
                                        "valid_until": "2026-12-31"})
    rows = y.authorisations({"id": "sun", "roles": ["supervisor"]})["items"]
    assert sorted(r["confirmed"] for r in rows) == ["online", "paper"]
    online = next(r for r in rows if r["confirmed"] == "online")
    listing = zhang.get("/authorisations").data.decode()
    assert f'data-authorisation="{online["id"]}"' in listing and "肖代办" in listing and agent not in listing.replace(
        f'value="{agent}"', "")
    zhang.post(f"/authorisations/{online['id']}/revoke", data={"csrf_token": csrf(listing.encode())})
    assert next(r for r in y.authorisations({"id": "zhang", "roles": ["applicant"]})["items"]
                if r["id"] == online["id"])["status"] == "revoked"
    registry = signed_in(app, "sun").get("/agents")
    assert registry.status_code == 200 and "肖代办" in registry.data.decode()
    assert signed_in(app, "zhang").get("/agents").status_code == 403
