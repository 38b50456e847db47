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
    assert "invalid_input" in supervisor.get(empty.headers["Location"]).data.decode()
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
    assert "invalid_input" in supervisor.get(bad.headers["Location"]).data.decode()
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
    assert "not_found" in supervisor.get(missing.headers["Location"]).data.decode()
    assert signed_in(app, "li").get("/supervision/incidents").status_code == 403
    case_id = _apply(app, signed_in(app, "zhang"))
    y.accept(case_id, "材料齐全", user="wang")
    trail = supervisor.get(f"/cases/{case_id}/audit").data.decode()
    assert "case.submit" in trail and "case.accept" in trail
    assert signed_in(app, "zhang").get(f"/cases/{case_id}/audit").status_code == 403
    assert signed_in(app, "wang").get("/supervision/cards").status_code == 403  # window staff
    page = supervisor.get("/supervision").data.decode()
    assert 'data-kind="department"' in page and "/supervision/orders" in page
