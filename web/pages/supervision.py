"""Supervision (督查): cards by department, due soon, appeals, orders, incidents, audit trails.

Supervisors see everything; reviewers see the cards and orders of their own
department, where they appeal a card or answer an order. Every action is one
engine command, which checks the right again.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from engine.errors import EngineError

from ..app import yimen
from ..auth import current_user, has_role, roles_required
from . import act, bp, visible_case

CARD_STATUSES = ("pending", "issued", "appealed", "upheld", "withdrawn")
ORDER_STATUSES = ("open", "answered", "closed")


@bp.get("/supervision")
@roles_required("supervisor")
def supervision():
    y = yimen()
    state = request.args.get("state") or None
    return render_template("supervision.html", overview=y.supervision_overview(),
                           watches=y.watches(state=state, limit=200)["items"], state=state,
                           due=y.due_within(2)["items"], cards=y.cards(limit=50)["items"],
                           open_orders=y.orders(status="open", limit=1)["total"],
                           appealed=y.cards(status="appealed", limit=1)["total"], incidents=len(y.incidents()))


def _department_scope() -> str | None:
    """None for supervisors (everything); a reviewer's own department otherwise (403 without one)."""
    me = current_user()
    if has_role(me, "supervisor"):
        return None
    if not me.get("department"):
        abort(403)
    return me["department"]


@bp.get("/supervision/cards")
@roles_required("supervisor", "reviewer")
def cards_page():
    status = request.args.get("status") if request.args.get("status") in CARD_STATUSES else None
    cards = yimen().cards(department=_department_scope(), status=status, limit=200)["items"]
    return render_template("cards.html", cards=cards, status=status, statuses=CARD_STATUSES)


@bp.post("/supervision/cards/<int:card_id>/<verb>")
@roles_required("supervisor", "reviewer")
def card_action(card_id: int, verb: str):
    y, me, f = yimen(), current_user()["id"], request.form
    if verb == "confirm":
        act(y.confirm_card, card_id, f.get("confirm") != "no", f.get("note") or None, user=me)
    elif verb == "appeal":
        act(y.appeal_card, card_id, f.get("reason", ""), user=me)
    elif verb == "decide":
        act(y.decide_appeal, card_id, f.get("granted") == "yes", f.get("note", ""), user=me)
    else:
        abort(404)
    return redirect(url_for("pages.cards_page"))


@bp.get("/supervision/orders")
@roles_required("supervisor", "reviewer")
def orders_page():
    status = request.args.get("status") if request.args.get("status") in ORDER_STATUSES else None
    department = _department_scope()
    y = yimen()
    if department is None:
        orders = y.orders(status=status, limit=200)["items"]
    else:  # a reviewer: the department's orders and those addressed to them
        mine = y.orders(assignee=current_user()["id"], status=status, limit=200)["items"]
        ours = y.orders(department=department, status=status, limit=200)["items"]
        orders = sorted({o["id"]: o for o in mine + ours}.values(), key=lambda o: o["id"], reverse=True)
    return render_template("orders.html", orders=orders, status=status, statuses=ORDER_STATUSES,
                           departments=y.departments())


@bp.post("/supervision/orders")
@roles_required("supervisor")
def issue_order():
    f = request.form
    try:
        days = int(f.get("deadline_days", ""))
        case_id = int(f["case"]) if f.get("case") else None
    except ValueError:
        flash("invalid_input: the deadline (working days) and the case id are whole numbers", "error")
        return redirect(url_for("pages.orders_page"))
    act(yimen().issue_order, f.get("content", ""), days, case_id=case_id, department=f.get("department") or None,
        assignee=f.get("assignee") or None, user=current_user()["id"], success="Supervision order issued")
    return redirect(url_for("pages.orders_page"))


@bp.post("/supervision/orders/<int:order_id>/<verb>")
@roles_required("supervisor", "reviewer")
def order_action(order_id: int, verb: str):
    y, me = yimen(), current_user()["id"]
    if verb == "answer":
        act(y.answer_order, order_id, request.form.get("reply", ""), user=me)
    elif verb == "close":
        act(y.close_order, order_id, user=me)
    else:
        abort(404)
    return redirect(url_for("pages.orders_page"))


@bp.get("/supervision/incidents")
@roles_required("supervisor")
def incidents_page():
    return render_template("incidents.html", incidents=yimen().incidents())


@bp.post("/supervision/incidents/<int:incident_id>/retry")
@roles_required("supervisor")
def retry_incident(incident_id: int):
    act(yimen().retry_incident, incident_id, user=current_user()["id"], success="Retried")
    return redirect(url_for("pages.incidents_page"))


@bp.get("/cases/<int:case_id>/audit")
@roles_required("supervisor")
def audit_page(case_id: int):
    case = visible_case(case_id)
    try:
        events = yimen().audit_trail(case["instance"])
    except EngineError:
        abort(404)
    return render_template("audit.html", case=case, events=events)
