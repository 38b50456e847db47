"""Supervision (督查): cards by department, due soon, appeals, orders, incidents, audit trails.

Supervisors see everything; reviewers see the cards and orders of their own
department, where they appeal a card or answer an order; window staff see the
orders addressed to them. Every action is one engine command, which checks the
right again.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import EngineError

from ..app import yimen
from ..auth import current_user, has_role, roles_required
from ..i18n import local_time, translate
from . import PAGE_SIZE, act, bp, page_count, page_number, visible_case

CARD_STATUSES = ("pending", "issued", "appealed", "upheld", "withdrawn")
CARD_COLORS = ("yellow", "red")
ORDER_STATUSES = ("open", "answered", "closed")
WATCH_STATES = ("normal", "warning", "yellow", "red")
STAFF = ("supervisor", "reviewer", "window")  # an order may name any member of staff as its addressee
EXPORT_MAX = 20_000  # rows of a case list exported at once; more must be narrowed by the filters
BOM = "\ufeff"  # so that Excel reads the UTF-8 file as UTF-8 (Chinese names)


def charts_installed() -> bool:
    """ECharts is copied into static/vendor by scripts/vendor.sh; without it the page shows the tables alone."""
    return (Path(current_app.static_folder) / "vendor" / "echarts" / "echarts.common.min.js").exists()


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name)
    return value if value in allowed else None


def _page_args() -> tuple[int, int, int]:
    page = page_number(request.args.get("page"))
    return page, PAGE_SIZE, (page - 1) * PAGE_SIZE


def names() -> dict[str, dict[str, str]]:
    """Department and item names by id and code, so pages and exports show names, not codes."""
    y = yimen()
    return {"department": {d["id"]: d["name"] for d in y.departments()},
            "item": {i["code"]: i["name"] for i in y.items()}}


def period_args(args) -> dict:
    """The dashboard's period and department from a query string (``from``, ``to``: YYYY-MM-DD)."""
    return {"date_from": args.get("from") or None, "date_to": args.get("to") or None,
            "department": args.get("department") or None, "item": args.get("item") or None}


def chart_data(figures: dict, known: dict) -> dict:
    """What the chart script (static/supervision-charts.js) draws, with its labels in the page language."""
    def rows(kind):
        perf = figures["performance"].get(kind) or {}
        return [{"name": known[kind].get(key, key), "rate": None if p["on_time_rate"] is None
                 else round(p["on_time_rate"] * 100, 1), "days": p["average_working_days"], "decided": p["decided"]}
                for key, p in sorted(perf.items())]
    return {"department": rows("department"), "item": rows("item"),
            "cards": figures["cards_over_time"]["series"],
            "labels": {"rate": _("On-time rate (percent)"), "days": _("Average working days"),
                       "yellow": translate("yellow"), "red": translate("red"),
                       "department": _("By department"), "item": _("By item"), "cards": _("Cards over time")}}


@bp.get("/supervision")
@roles_required("supervisor")
def supervision():
    y, me = yimen(), current_user()
    state = _choice("state", WATCH_STATES)
    period = period_args(request.args)
    try:
        figures = y.supervision_overview(**period)
    except EngineError as exc:
        from . import refusal_text

        flash(refusal_text(exc), "error")
        period = {k: None for k in period}
        figures = y.supervision_overview()
    known = names()
    page, size, offset = _page_args()
    watches = y.watches(me, state=state, limit=size, offset=offset)
    return render_template("supervision.html", charts_installed=charts_installed(), overview=figures, names=known, chart=chart_data(figures, known),
                           period=period, departments=y.departments(), items=y.items(),
                           watches=watches["items"], watches_total=watches["total"], page=page,
                           pages=page_count(watches["total"]), state=state,
                           due=y.due_within(2, user=me, limit=100)["items"], cards=y.cards(me, limit=50)["items"],
                           open_orders=y.orders(me, status="open", limit=1)["total"],
                           appealed=y.cards(me, status="appealed", limit=1)["total"],
                           incidents=y.incident_list(me, limit=1)["total"])


# --- CSV exports (UTF-8 with a byte-order mark: Excel opens the Chinese names) -------------------------------

def csv_response(filename: str, header: list[str], rows: list[list]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return Response(BOM + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def dashboard_csv(figures: dict, known: dict) -> Response:
    """The dashboard's figures: one row per department and item, then one per period of the cards chart."""
    header = [_("Kind"), _("Code"), _("Name"), *(translate(s) for s in WATCH_STATES), _("Decided cases"),
              _("Decided on time"), _("On-time rate"), _("Average working days")]
    rows = []
    for kind, label, running in (("department", _("Department"), figures["by_department"]),
                                 ("item", _("Item"), figures["by_item"])):
        perf = figures["performance"].get(kind) or {}
        for key in sorted(set(running) | set(perf)):
            counts, p = running.get(key, {}), perf.get(key, {})
            rows.append([label, key, known[kind].get(key, key), *(counts.get(s, 0) for s in WATCH_STATES),
                         p.get("decided", 0), p.get("on_time", 0),
                         "" if p.get("on_time_rate") is None else p["on_time_rate"],
                         "" if p.get("average_working_days") is None else p["average_working_days"]])
    for entry in figures["cards_over_time"]["series"]:
        rows.append([_("Cards over time"), entry["period"], entry["period"], "", "", entry["yellow"], entry["red"],
                     "", "", "", ""])
    span = "_".join(v for v in (figures["period"]["from"], figures["period"]["to"]) if v) or "all"
    return csv_response(f"dashboard_{span}.csv", header, rows)


def cases_csv(user: dict, filters: dict) -> Response:
    """Every case of a list (the same filters and visibility as the list), newest first."""
    y, known = yimen(), names()
    first = y.case_list(user, **filters, limit=500, offset=0)
    if first["total"] > EXPORT_MAX:
        from engine.errors import ValidationError

        raise ValidationError(f"the list holds {first['total']} cases; narrow it to at most {EXPORT_MAX} to export it",
                              limit=EXPORT_MAX, total=first["total"])
    items, offset = list(first["items"]), 500
    while offset < first["total"]:
        items += y.case_list(user, **filters, limit=500, offset=offset)["items"]
        offset += 500
    header = [_("Case number"), _("Item"), _("Status"), _("Department"), _("Applicant"), _("Submitted"),
              _("Accepted on"), _("Concluded on")]
    rows = [[c["number"], known["item"].get(c["item"], c["item"]), translate(c["status"]),
             known["department"].get(c["office"], c["office"] or ""), c["applicant"], local_time(c["submitted"]),
             local_time(c["accepted"]) if c["accepted"] else "", local_time(c["concluded"]) if c["concluded"] else ""]
            for c in items]
    return csv_response("cases.csv", header, rows)


def case_filters(args) -> dict:
    return {"status": args.get("status") or None, "item": args.get("item") or None,
            "number": args.get("number") or None, "applicant": args.get("applicant") or None,
            "id_no": args.get("id_no") or None, "submitted_from": args.get("submitted_from") or None,
            "submitted_to": args.get("submitted_to") or None}


@bp.get("/supervision/dashboard.csv")
@roles_required("supervisor")
def dashboard_export():
    try:
        return dashboard_csv(yimen().supervision_overview(**period_args(request.args)), names())
    except EngineError as exc:
        from . import refusal_text

        flash(refusal_text(exc), "error")
        return redirect(url_for("pages.supervision"))


@bp.get("/cases/export.csv")
@roles_required(*STAFF)
def cases_export():
    try:
        return cases_csv(current_user(), case_filters(request.args))
    except EngineError as exc:
        from . import refusal_text

        flash(refusal_text(exc), "error")
        return redirect(url_for("pages.supervision") if has_role(current_user(), "supervisor")
                        else url_for("pages.my_cases"))


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
    _department_scope()  # 403 for a reviewer without a department
    status, color = _choice("status", CARD_STATUSES), _choice("color", CARD_COLORS)
    page, size, offset = _page_args()
    listed = yimen().cards(current_user(), status=status, color=color, limit=size, offset=offset)
    return render_template("cards.html", cards=listed["items"], total=listed["total"], page=page,
                           pages=page_count(listed["total"]), status=status, color=color, statuses=CARD_STATUSES,
                           names=names())


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
    """Supervisors: every order; other staff: those addressed to them and to their department."""
    status = _choice("status", ORDER_STATUSES)
    y = yimen()
    page, size, offset = _page_args()
    listed = y.orders(current_user(), status=status, limit=size, offset=offset)
    case = request.args.get("case", "")
    about = visible_case(int(case)) if case.isdigit() else None  # from a case page's 督办: that case, by number
    from .staff import _staff_by_department

    return render_template("orders.html", orders=listed["items"], total=listed["total"], page=page,
                           pages=page_count(listed["total"]), status=status, statuses=ORDER_STATUSES,
                           departments=y.departments(), case=about, names=names(),
                           staff=_staff_by_department() if has_role(current_user(), "supervisor") else [])


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
    number = (f.get("case_number") or "").strip()
    if case_id is None and number:  # the case named by its number (办件编号), as people know it
        found = [c for c in yimen().case_list(current_user(), number=number, limit=2)["items"] if c["number"] == number]
        if not found:
            flash(_("No case has the number %(number)s: nothing was issued.", number=number), "error")
            return redirect(url_for("pages.orders_page"))
        case_id = found[0]["id"]
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
    page, size, offset = _page_args()
    listed = yimen().incident_list(current_user(), limit=size, offset=offset)
    return render_template("incidents.html", incidents=listed["items"], total=listed["total"], page=page,
                           pages=page_count(listed["total"]))


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
