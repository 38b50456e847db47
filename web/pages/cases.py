"""The case page, shared by staff, supervisors and the applicant (each sees only their own)."""
from __future__ import annotations


from flask import render_template


from ..auth import roles_required
from . import bp, visible_case


# --- cases (staff, supervisors and applicants) ----------------------------------------

@bp.get("/cases/<int:case_id>")
@roles_required()
def case_page(case_id: int):
    return render_template("case.html", case=visible_case(case_id))
