"""Supervision (督查): cards by department, due soon, appeals, orders, incidents, audit trails."""
from __future__ import annotations


from flask import render_template, request


from ..app import yimen
from ..auth import roles_required
from . import bp


# --- supervision (督查) --------------------------------------------------------------

@bp.get("/supervision")
@roles_required("supervisor")
def supervision():
    y = yimen()
    state = request.args.get("state") or None
    return render_template("supervision.html", overview=y.supervision_overview(),
                           watches=y.watches(state=state, limit=200)["items"], state=state,
                           due=y.due_within(2)["items"], cards=y.cards(limit=50)["items"])
