"""Supervision (督查): cards by department, due soon, appeals, orders, incidents, audit trails.

Supervisors see everything; reviewers see the cards and orders of their own
department, where they appeal a card or answer an order; window staff see the
orders addressed to them. Every action is one engine command, which checks the
right again.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import EngineError

from ..app import yimen
from ..auth import current_user, has_role, roles_required
from . import act, bp, visible_case

CARD_STATUSES = ("pending", "issued", "appealed", "upheld", "withdrawn")
ORDER_STATUSES = ("open", "answered", "closed")
STAFF = ("supervisor", "reviewer", "window")  # an order may name any member of staff as its addressee
CHART_WIDTH = 160  # px: the longest bar of an inline SVG chart


def charts(performance: dict) -> dict[str, list[dict]]:
    """Bar widths for the on-time rate (of 100 %) and the average working days (of the slowest), by item and department.

    Computed here so the template only draws; a missing average (no calendar) is a bar of zero.
    """
    out: dict[str, list[dict]] = {}
    for kind in ("item", "department"):
        rows = performance.get(kind) or {}
        slowest = max((p["average_working_days"] or 0 for p in rows.values()), default=0) or 1
        out[kind] = [{"key": key, **p, "rate_width": round(p["on_time_rate"] * CHART_WIDTH),
                      "days_width": round((p["average_working_days"] or 0) / slowest * CHART_WIDTH)}
                     for key, p in sorted(rows.items())]
    return out


@bp.get("/supervision")
@roles_required("supervisor")
def supervision():
    y = yimen()
    state = request.args.get("state") or None
    overview = y.supervision_overview()
    return render_template("supervision.html", overview=overview, charts=charts(overview["performance"]),
                           chart_width=CHART_WIDTH,
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


def _back_to_case_or(endpoint: str) -> Response:
    """Forms on the case page send ``case``; they come back there, the list's forms to the list."""
    case = request.form.get("case", "")
    if case.isdigit():
        return redirect(url_for("pages.case_page", case_id=int(case)))
    return redirect(url_for(endpoint))


@bp.post("/supervision/cards/<int:card_id>/<verb>")
@roles_required("supervisor", "reviewer")
def card_action(card_id: int, verb: str):
    y, me, f = yimen(), current_user()["id"], request.form
    if verb == "confirm":
        if f.get("confirm") not in ("yes", "no"):
            flash("invalid_input: choose to confirm or to withdraw the card", "error")
            return _back_to_case_or("pages.cards_page")
        confirmed = f["confirm"] == "yes"
        act(y.confirm_card, card_id, confirmed, f.get("note") or None, user=me,
            success="Card confirmed" if confirmed else "Card withdrawn")
    elif verb == "appeal":
        act(y.appeal_card, card_id, f.get("reason", ""), user=me, success="Appeal sent")
    elif verb == "decide":
        if f.get("granted") not in ("yes", "no"):
            flash("invalid_input: choose to grant or to refuse the appeal", "error")
            return _back_to_case_or("pages.cards_page")
        act(y.decide_appeal, card_id, f["granted"] == "yes", f.get("note", ""), user=me, success="Appeal decided")
    else:
        abort(404)
    return _back_to_case_or("pages.cards_page")


@bp.get("/supervision/orders")
@roles_required(*STAFF)
def orders_page():
    status = request.args.get("status") if request.args.get("status") in ORDER_STATUSES else None
    me, y = current_user(), yimen()
    if has_role(me, "supervisor"):
        orders = y.orders(status=status, limit=200)["items"]
    else:  # staff: the orders addressed to them and to their department
        mine = y.orders(assignee=me["id"], status=status, limit=200)["items"]
        ours = y.orders(department=me["department"], status=status, limit=200)["items"] if me.get("department") else []
        orders = sorted({o["id"]: o for o in mine + ours}.values(), key=lambda o: o["id"], reverse=True)
    case = request.args.get("case", "")
    return render_template("orders.html", orders=orders, status=status, statuses=ORDER_STATUSES,
                           departments=y.departments(), case=int(case) if case.isdigit() else None)


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
@roles_required(*STAFF)
def order_action(order_id: int, verb: str):
    y, me = yimen(), current_user()["id"]
    if verb == "answer":
        act(y.answer_order, order_id, request.form.get("reply", ""), user=me, success="Answer sent")
    elif verb == "close":
        act(y.close_order, order_id, user=me, success="Supervision order closed")
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
