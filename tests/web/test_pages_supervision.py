"""Supervision pages: cards and appeals, orders, incidents, audit trails; reviewers see their department only."""
from __future__ import annotations

from datetime import datetime, timedelta

from engine import clock
from tests.web.test_pages import _apply, post, signed_in

ITEM = "330100-XK-001"


def _red_case(app, card_mode="auto"):
    """A case of department SJ whose legal limit has passed: a red card (held for confirmation with 'confirm')."""
    y = app.extensions["yimen"]
    if card_mode != "auto":
        item = {k: v for k, v in y.item(ITEM).items() if k != "item_type_name"}
        y.save_item({**item, "card_mode": card_mode})
    case_id = _apply(app, signed_in(app, "zhang"))
    y.accept(case_id, user="wang")
    legal = datetime.fromisoformat(y.case(case_id)["clock"]["case"]["legal_due"])
    with clock.pinned(legal + timedelta(hours=1)):
        y.advance_deadlines()
    (card,) = [c for c in y.cards(case_id=case_id)["items"] if c["color"] == "red"]
    return case_id, card


def test_a_department_appeals_a_card_and_the_supervisor_decides(app):
    y = app.extensions["yimen"]
    case_id, card = _red_case(app)
    assert card["status"] == "issued" and card["department"] == "SJ"
    reviewer = signed_in(app, "li")
    page = reviewer.get("/supervision/cards").data.decode()
    assert f'data-card-id="{card["id"]}"' in page and f"appeal-{card['id']}" in page
    assert f'data-card-id="{card["id"]}"' not in signed_in(app, "zhou").get("/supervision/cards").data.decode()
    refused = post(signed_in(app, "zhou"), f"/supervision/cards/{card['id']}/appeal", {"reason": "不是我们"},
                   "/supervision/cards")
    assert refused.status_code == 302 and y.cards(case_id=case_id)["items"][-1]["status"] == "issued"
    post(reviewer, f"/supervision/cards/{card['id']}/appeal", {"reason": "系统停电两天"}, "/supervision/cards")
    assert y.cards(status="appealed")["items"][0]["id"] == card["id"]
    supervisor = signed_in(app, "sun")
    assert f"decide-{card['id']}" in supervisor.get("/supervision/cards?status=appealed").data.decode()
    empty = post(supervisor, f"/supervision/cards/{card['id']}/decide", {"granted": "yes", "note": ""},
                 "/supervision/cards")
    assert 'class="flash error"' in supervisor.get(empty.headers["Location"]).data.decode()
    post(supervisor, f"/supervision/cards/{card['id']}/decide", {"granted": "yes", "note": "属实"}, "/supervision/cards")
    assert [c["status"] for c in y.cards(case_id=case_id)["items"] if c["id"] == card["id"]] == ["withdrawn"]


def test_a_held_card_is_confirmed_by_the_supervisor(app):
    y = app.extensions["yimen"]
    case_id, card = _red_case(app, card_mode="confirm")
    assert card["status"] == "pending"
    assert signed_in(app, "li").post(f"/supervision/cards/{card['id']}/confirm").status_code == 400  # no CSRF
    supervisor = signed_in(app, "sun")
    post(supervisor, f"/supervision/cards/{card['id']}/confirm", {"confirm": "yes"}, "/supervision/cards")
    assert [c["status"] for c in y.cards(case_id=case_id)["items"] if c["id"] == card["id"]] == ["issued"]
    assert supervisor.post("/supervision/cards/1/explode").status_code in (400, 404)


def test_orders_from_issue_to_close(app):
    y = app.extensions["yimen"]
    supervisor = signed_in(app, "sun")
    bad = post(supervisor, "/supervision/orders", {"content": "请说明", "deadline_days": "soon", "department": "SJ"},
               "/supervision/orders")
    assert 'class="flash error"' in supervisor.get(bad.headers["Location"]).data.decode()
    assert y.orders()["total"] == 0
    post(supervisor, "/supervision/orders", {"content": "请说明超期原因", "deadline_days": "3", "department": "SJ"},
         "/supervision/orders")
    (order,) = y.orders()["items"]
    reviewer = signed_in(app, "li")
    assert "请说明超期原因" in reviewer.get("/supervision/orders").data.decode()
    assert "请说明超期原因" not in signed_in(app, "zhou").get("/supervision/orders").data.decode()
    assert post(reviewer, "/supervision/orders", {"content": "x", "deadline_days": "1", "department": "SJ"},
                "/supervision/orders").status_code == 403
    post(reviewer, f"/supervision/orders/{order['id']}/answer", {"reply": "已整改"}, "/supervision/orders")
    post(reviewer, f"/supervision/orders/{order['id']}/close", {}, "/supervision/orders")
    assert y.orders()["items"][0]["status"] == "answered"  # a reviewer cannot close it
    post(supervisor, f"/supervision/orders/{order['id']}/close", {}, "/supervision/orders")
    assert y.orders()["items"][0]["status"] == "closed"


def test_incidents_audit_trail_and_roles(app):
    y = app.extensions["yimen"]
    supervisor = signed_in(app, "sun")
    assert supervisor.get("/supervision/incidents").status_code == 200
    missing = post(supervisor, "/supervision/incidents/999999/retry", {}, "/supervision/incidents")
    assert 'class="flash error"' in supervisor.get(missing.headers["Location"]).data.decode()
    assert signed_in(app, "li").get("/supervision/incidents").status_code == 403
    case_id = _apply(app, signed_in(app, "zhang"))
    y.accept(case_id, "材料齐全", user="wang")
    trail = supervisor.get(f"/cases/{case_id}/audit").data.decode()
    assert "case.submit" in trail and "case.accept" in trail
    assert signed_in(app, "zhang").get(f"/cases/{case_id}/audit").status_code == 403
    assert signed_in(app, "wang").get("/supervision/cards").status_code == 403  # window staff
    page = supervisor.get("/supervision").data.decode()
    assert 'data-kind="department"' in page and "/supervision/orders" in page


# --- each page: the normal path, the wrong role or department, no CSRF token, bad input ----------------------------

def _status(y, case_id, card_id):
    return next(c["status"] for c in y.cards(case_id=case_id)["items"] if c["id"] == card_id)


def _conclude(app, case_id):
    """Review and approve an accepted case through the facade, as the demo's SJ staff."""
    y = app.extensions["yimen"]
    for user in ("li", "zhao"):
        (task,) = y.tasks(instance=y.case(case_id)["instance"])
        y.decide(task["id"], True, "同意", user=user)
    assert y.case(case_id)["status"] == "concluded"


def test_the_dashboard_draws_on_time_rate_and_working_days_by_item_and_department(app):
    import json

    y = app.extensions["yimen"]
    supervisor = signed_in(app, "sun")
    assert "data-rate=" not in supervisor.get("/supervision").data.decode()  # nothing decided yet
    case_id = _apply(app, signed_in(app, "zhang"))
    y.accept(case_id, user="wang")
    _conclude(app, case_id)
    page = supervisor.get("/supervision").data.decode()
    performance = y.supervision_overview()["performance"]
    assert performance["item"][ITEM]["on_time_rate"] == 1.0
    for kind, key in (("item", ITEM), ("department", next(iter(performance["department"])))):
        table = page.split(f'data-kind="{kind}"', 1)[1].split("</table>", 1)[0]
        row = table.split(f'data-key="{key}"', 1)[1].split("</tr>", 1)[0]
        assert 'data-rate="1.0"' in row and "100%" in row  # decided on time
        assert f'data-days="{performance[kind][key]["average_working_days"]}"' in row
    chart = json.loads(page.split('<script type="application/json" id="dashboard-data">', 1)[1].split("</script>")[0])
    assert [r["rate"] for r in chart["item"]] == [100.0] and chart["item"][0]["name"] == y.item(ITEM)["name"]
    assert "<svg" not in page  # the charts are drawn by ECharts from the JSON above
    assert signed_in(app, "li").get("/supervision").status_code == 403


def test_a_held_card_is_withdrawn_and_a_card_without_a_choice_is_refused(app):
    y = app.extensions["yimen"]
    case_id, card = _red_case(app, card_mode="confirm")
    supervisor = signed_in(app, "sun")
    assert "待确认".encode() in supervisor.get("/supervision/cards?status=pending").data  # held for confirmation
    unclear = post(supervisor, f"/supervision/cards/{card['id']}/confirm", {"note": "?"}, "/supervision/cards")
    assert 'class="flash error"' in supervisor.get(unclear.headers["Location"]).data.decode()
    assert _status(y, case_id, card["id"]) == "pending"
    assert post(signed_in(app, "li"), f"/supervision/cards/{card['id']}/confirm", {"confirm": "no"},
                "/supervision/cards").status_code == 302
    assert _status(y, case_id, card["id"]) == "pending"  # a reviewer may not confirm or withdraw
    post(supervisor, f"/supervision/cards/{card['id']}/confirm", {"confirm": "no", "note": "系统故障"},
         "/supervision/cards")
    assert _status(y, case_id, card["id"]) == "withdrawn"


def test_a_card_is_appealed_from_the_case_page(app):
    y = app.extensions["yimen"]
    case_id, card = _red_case(app)
    reviewer = signed_in(app, "li")
    page = reviewer.get(f"/cases/{case_id}").data.decode()
    assert f'id="appeal-{card["id"]}"' in page
    assert f'id="appeal-{card["id"]}"' not in signed_in(app, "sun").get(f"/cases/{case_id}").data.decode()
    assert f'data-card-id="{card["id"]}"' not in signed_in(app, "zhang").get(f"/cases/{case_id}").data.decode()
    assert reviewer.post(f"/supervision/cards/{card['id']}/appeal",
                         data={"reason": "停电", "case": case_id}).status_code == 400  # no CSRF token
    blank = post(reviewer, f"/supervision/cards/{card['id']}/appeal", {"reason": "  ", "case": case_id},
                 f"/cases/{case_id}")
    assert blank.headers["Location"].endswith(f"/cases/{case_id}")
    assert 'class="flash error"' in reviewer.get(blank.headers["Location"]).data.decode()
    assert _status(y, case_id, card["id"]) == "issued"
    assert post(signed_in(app, "zhang"), f"/supervision/cards/{card['id']}/appeal", {"reason": "x"},
                "/my").status_code == 403
    post(reviewer, f"/supervision/cards/{card['id']}/appeal", {"reason": "系统停电两天", "case": case_id},
         f"/cases/{case_id}")
    assert _status(y, case_id, card["id"]) == "appealed"
    supervisor = signed_in(app, "sun")
    assert f'id="decide-{card["id"]}"' in supervisor.get(f"/cases/{case_id}").data.decode()
    assert supervisor.post(f"/supervision/cards/{card['id']}/decide",
                           data={"granted": "no", "note": "理由不足"}).status_code == 400  # no CSRF token
    post(supervisor, f"/supervision/cards/{card['id']}/decide", {"granted": "no", "note": "理由不足", "case": case_id},
         f"/cases/{case_id}")
    assert _status(y, case_id, card["id"]) == "upheld"
    assert "理由不足" in reviewer.get(f"/cases/{case_id}").data.decode()
    trail = supervisor.get(f"/cases/{case_id}/audit").data.decode()  # the appeal is on the case's trail
    assert "card.appeal" in trail and "系统停电两天" in trail and "card.decide_appeal" in trail


def test_orders_need_csrf_an_addressee_and_the_right_department(app):
    y = app.extensions["yimen"]
    supervisor = signed_in(app, "sun")
    assert supervisor.post("/supervision/orders", data={"content": "x", "deadline_days": "1",
                                                        "department": "SJ"}).status_code == 400
    nobody = post(supervisor, "/supervision/orders", {"content": "请说明", "deadline_days": "2"}, "/supervision/orders")
    assert 'class="flash error"' in supervisor.get(nobody.headers["Location"]).data.decode()
    assert y.orders()["total"] == 0
    case_id = _apply(app, signed_in(app, "zhang"))
    number = y.case(case_id)["number"]
    about = supervisor.get(f"/supervision/orders?case={case_id}").data.decode()
    assert f'name="case" value="{case_id}"' in about and f"关于办件 {number}" in about  # the case by its number
    assert '<option value="wang">王窗口</option>' in about and '<select name="assignee">' in about
    unknown = post(supervisor, "/supervision/orders", {"content": "请说明", "deadline_days": "2",
                                                       "department": "SJ", "case_number": "SP-19990101-99999"},
                   "/supervision/orders")
    assert "没有编号为 SP-19990101-99999 的办件" in supervisor.get(unknown.headers["Location"]).data.decode()
    assert y.orders()["total"] == 0
    by_number = post(supervisor, "/supervision/orders", {"content": "请说明进度", "deadline_days": "2",
                                                         "department": "SJ", "case_number": number},
                     "/supervision/orders")
    assert by_number.status_code == 302 and y.orders()["items"][0]["case"] == case_id
    post(supervisor, "/supervision/orders", {"content": "请当日受理", "deadline_days": "1", "assignee": "wang",
                                             "case": str(case_id)}, "/supervision/orders")
    order = next(o for o in y.orders()["items"] if o["assignee"] == "wang")
    assert order["case"] == case_id
    zhou = signed_in(app, "zhou")
    assert "请当日受理" not in zhou.get("/supervision/orders").data.decode()
    post(zhou, f"/supervision/orders/{order['id']}/answer", {"reply": "不是我"}, "/supervision/orders")
    assert y.orders()["items"][0]["status"] == "open"  # not addressed to zhou
    window = signed_in(app, "wang")  # a person addressed by name sees and answers the order
    assert "请当日受理" in window.get("/supervision/orders").data.decode()
    assert window.post(f"/supervision/orders/{order['id']}/answer", data={"reply": "已受理"}).status_code == 400
    empty = post(window, f"/supervision/orders/{order['id']}/answer", {"reply": ""}, "/supervision/orders")
    assert 'class="flash error"' in window.get(empty.headers["Location"]).data.decode()
    post(window, f"/supervision/orders/{order['id']}/answer", {"reply": "已受理"}, "/supervision/orders")
    assert (y.orders()["items"][0]["status"], y.orders()["items"][0]["reply"]) == ("answered", "已受理")
    assert signed_in(app, "zhang").get("/supervision/orders").status_code == 403


def test_an_incident_is_retried_from_the_page(app, monkeypatch):
    import handlers
    from tests.conftest import read

    y = app.extensions["yimen"]
    monkeypatch.setenv("YIMEN_HANDLER_ATTEMPTS", "1")
    broken = {"on": True}

    def compute_fee(data):
        if broken["on"]:
            raise ConnectionError("fee service unavailable")
        return {"fee": 42}

    handlers.register("feat_compute_fee", compute_fee)
    try:
        y.deploy([read("dialects/features/service_task.bpmn")])
        instance = y.start("feat_service_task", data={"area_m2": 21})["instance"]
        (incident,) = y.incidents(instance=instance)
        supervisor = signed_in(app, "sun")
        page = supervisor.get("/supervision/incidents").data.decode()
        assert f'data-incident="{incident["id"]}"' in page and "ConnectionError" in page
        assert "compute_fee" in page and "feat_compute_fee" in page
        assert supervisor.post(f"/supervision/incidents/{incident['id']}/retry").status_code == 400  # no CSRF
        assert post(signed_in(app, "li"), f"/supervision/incidents/{incident['id']}/retry", {},
                    "/my").status_code == 403
        assert y.incidents(instance=instance) != []
        broken["on"] = False
        post(supervisor, f"/supervision/incidents/{incident['id']}/retry", {}, "/supervision/incidents")
        assert y.incidents(instance=instance) == [] and y.show(instance)["status"] == "completed"
        assert f'data-incident="{incident["id"]}"' not in supervisor.get("/supervision/incidents").data.decode()
    finally:
        handlers.unregister("feat_compute_fee")


def test_the_audit_trail_lists_every_event_in_beijing_time(app):
    y = app.extensions["yimen"]
    case_id = _apply(app, signed_in(app, "zhang"))
    supervisor = signed_in(app, "sun")
    assert f"/cases/{case_id}/audit" in supervisor.get(f"/cases/{case_id}").data.decode()
    assert f"/cases/{case_id}/audit" not in signed_in(app, "wang").get(f"/cases/{case_id}").data.decode()
    y.accept(case_id, user="wang")
    assert f"/cases/{case_id}/audit" in supervisor.get("/supervision").data.decode()  # from the running cases
    events = y.audit_trail(y.case(case_id)["instance"])
    page = supervisor.get(f"/cases/{case_id}/audit").data.decode()
    assert events and all(e["action"] in page for e in events)
    assert "2026-03-02 10:00" in page  # 02:00 UTC, read in Beijing time
    assert supervisor.get("/cases/999999/audit").status_code == 404
    assert signed_in(app, "li").get(f"/cases/{case_id}/audit").status_code == 403
    assert signed_in(app, "admin").get(f"/cases/{case_id}/audit").status_code == 200
