"""代办 pages: authorisations (委托书) and the centre's agent registry.

An applicant grants an agent an authorisation from her verified account and revokes it; window staff verify an
account's identity in person (实名认证), record a walk-in applicant's signed paper authorisation with its scan,
and see every authorisation; window staff and supervisors see the centre's 代办 agents with their cases and
ratings. Each action is one engine command (``engine.commands.agents``).
"""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext

from ..app import yimen
from ..auth import current_user, has_role, roles_required
from . import PAGE_SIZE, act, bp, page_count, page_number


def _scope() -> list[str]:
    return [code for code in request.form.getlist("scope") if code]


@bp.get("/authorisations")
@roles_required()
def authorisations_page():
    me = current_user()
    page = page_number(request.args.get("page"))
    listed = yimen().authorisations(me, id_no=request.args.get("id_no") or None, limit=PAGE_SIZE,
                                    offset=(page - 1) * PAGE_SIZE)
    return render_template("authorisations.html", rows=listed["items"], total=listed["total"], page=page,
                           pages=page_count(listed["total"]), items=yimen().items(),
                           window=has_role(me, "window"))


@bp.post("/authorisations")
@roles_required()
def grant_authorisation():
    act(yimen().authorise_agent, request.form.get("agent", "").strip(), {}, request.form.get("valid_until", ""),
        _scope(), user=current_user()["id"], success=gettext("The authorisation was granted."))
    return redirect(url_for("pages.authorisations_page"))


@bp.post("/authorisations/paper")
@roles_required("window")
def record_paper_authorisation():
    upload = request.files.get("scan")
    scan = {"filename": upload.filename, "content": upload.read()} if upload and upload.filename else {}
    applicant = {"name": request.form.get("applicant_name", ""), "kind": request.form.get("kind", "person"),
                 "id_no": request.form.get("id_no", "")}
    act(yimen().authorise_agent, request.form.get("agent", "").strip(), applicant,
        request.form.get("valid_until", ""), _scope(), scan=scan, user=current_user()["id"],
        success=gettext("The paper authorisation was recorded."))
    return redirect(url_for("pages.authorisations_page"))


@bp.post("/authorisations/<int:authorisation_id>/revoke")
@roles_required()
def revoke_authorisation_page(authorisation_id: int):
    act(yimen().revoke_authorisation, authorisation_id, user=current_user()["id"],
        success=gettext("The authorisation was revoked."))
    return redirect(url_for("pages.authorisations_page"))


@bp.post("/identity/verify")
@roles_required("window")
def verify_identity_page():
    act(yimen().verify_identity, request.form.get("user", "").strip(), request.form.get("kind", "person"),
        request.form.get("name", ""), request.form.get("id_no", ""), user=current_user()["id"],
        success=gettext("The identity was verified."))
    return redirect(url_for("pages.authorisations_page"))


@bp.get("/agents")
@roles_required("window", "supervisor")
def agents_page():
    return render_template("agents.html", agents=yimen().agent_registry())


# --- 首问负责: first-contact enquiries ------------------------------------------------------------------------

@bp.get("/enquiries")
@roles_required("window", "reviewer", "supervisor")
def enquiries_page():
    page = page_number(request.args.get("page"))
    listed = yimen().enquiry_list(current_user(), limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("enquiries.html", rows=listed["items"], total=listed["total"], page=page,
                           pages=page_count(listed["total"]), items=yimen().items(),
                           departments=yimen().departments())


@bp.post("/enquiries")
@roles_required("window", "reviewer", "supervisor")
def record_enquiry_page():
    act(yimen().record_enquiry, request.form.get("applicant_name", ""), request.form.get("question", ""),
        request.form.get("item") or None, request.form.get("department") or None,
        request.form.get("contact") or None, user=current_user()["id"],
        success=gettext("The enquiry was recorded and passed to the office responsible."))
    return redirect(url_for("pages.enquiries_page"))


@bp.post("/enquiries/<int:enquiry_id>/answer")
@roles_required("window", "reviewer", "supervisor")
def answer_enquiry_page(enquiry_id: int):
    act(yimen().answer_enquiry, enquiry_id, request.form.get("answer", ""), user=current_user()["id"],
        success=gettext("The answer was recorded and sent."))
    return redirect(url_for("pages.enquiries_page"))
