"""The applicant's side: service guides, applying, my cases, notices, supplements and ratings."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from engine.errors import EngineError

from ..app import yimen
from ..auth import current_user, roles_required
from . import PAGE_SIZE, act, bp, page_count, page_number, refusal_text, visible_case


# --- applicants ---------------------------------------------------------------------

@bp.get("/my")
@roles_required()
def my_cases():
    """The cases I may see, newest first, a page at a time; each says what I still have to do on it."""
    page = page_number(request.args.get("page"))
    listed = yimen().case_list(current_user(), limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("my_cases.html", cases=listed["items"], total=listed["total"], page=page,
                           pages=page_count(listed["total"]),
                           items=yimen().items(), bundles=yimen().bundles(enabled_only=True),
                           applications=yimen().bundle_applications(current_user(), limit=PAGE_SIZE)["items"])


def uploaded_materials(listed: list[dict]) -> list[dict]:
    """The files handed in on an apply form: field ``material_<i>`` is the ``i``-th listed material."""
    files = []
    for index, material in enumerate(listed):
        upload = request.files.get(f"material_{index}")
        if upload and upload.filename:
            files.append({"name": material["name"], "filename": upload.filename, "content": upload.read()})
    return files


def applicant_from_form(me: dict) -> tuple[dict, dict | None, dict]:
    """Who applies, from the fields of ``_applicant_fields.html``: the applicant, the agent (代办: the signed-in
    user acting for the named applicant) or None, and the application's form (note, phone)."""
    phone = (request.form.get("phone") or "").strip()
    applicant = {"name": request.form.get("name") or me["name"], "kind": request.form.get("kind", "person"),
                 "id_no": (request.form.get("id_no") or "").strip() or None, "phone": phone or None}
    agent = None
    if request.form.get("as_agent") == "yes":
        agent = {"name": me["name"], "user": me["id"]}
    else:
        applicant["user"] = me["id"]
    return applicant, agent, {"note": request.form.get("note", ""), **({"phone": phone} if phone else {})}


@bp.route("/apply/<code>", methods=["GET", "POST"])
@roles_required()
def apply(code: str):
    try:
        item = yimen().item(code)
    except EngineError:
        abort(404)
    if request.method == "POST":
        me = current_user()
        materials = uploaded_materials(item["materials"])
        applicant, agent, form = applicant_from_form(me)
        try:
            # the form's one-time token names this submission: a double click or a resent form makes one case
            result = yimen().submit(code, applicant, materials, form, agent=agent, user=me["id"],
                                    idempotency_key=request.form.get("submit_token") or None,
                                    online=True,  # checked in full: every problem listed at once
                                    region=request.form.get("region") or None)  # 放权: the applicant's region
        except EngineError as exc:
            from .documents import flash_refusal

            flash_refusal(exc)
            return render_template("apply.html", item=item, submit_token=submit_token(),
                                   regions=yimen().regions()), 400
        flash(gettext("Application submitted: case number %(number)s. Follow it on this page.",
                      number=result["number"]), "ok")
        return redirect(url_for("pages.case_page", case_id=result["case"]))
    return render_template("apply.html", item=item, submit_token=submit_token(), regions=yimen().regions())


def submit_token() -> str:
    """The apply form's one-time token: a new visit to the form is a new application, a resent form is not.
    A refused form keeps its token (nothing was made with it)."""
    import secrets

    return request.form.get("submit_token") or secrets.token_urlsafe(18)


@bp.get("/notifications")
@roles_required()
def notifications():
    return render_template("notifications.html", notes=yimen().notifications(current_user()["id"]))


# --- after applying: corrections, supplements, ratings -------------------------------------

def _uploaded(case: dict) -> list[dict]:
    """Files sent for the case's materials (field ``material_<id>``), as the engine takes them."""
    out = []
    for material in case["materials"]:
        upload = request.files.get(f"material_{material['id']}")
        if upload and upload.filename:
            out.append({"name": material["name"], "filename": upload.filename, "content": upload.read()})
    return out


@bp.post("/cases/<int:case_id>/resubmit")
@roles_required()
def resubmit(case_id: int):
    """补正: the corrected application goes back to the window."""
    from .documents import flash_refusal

    case = visible_case(case_id)
    f, given = request.form, case["applicant"]
    current = {"name": given["name"], "kind": given["kind"], "id_no": given["id_no"] or "",
               "phone": (case.get("form") or {}).get("phone", "")}
    corrected = {k: f[f"applicant_{k}"].strip() for k in current
                 if f"applicant_{k}" in f and f[f"applicant_{k}"].strip() != str(current[k] or "")}
    try:
        yimen().resubmit(case_id, _uploaded(case), f.get("note") or None, user=current_user()["id"],
                         applicant=corrected or None)
        flash("Resubmitted", "ok")
    except EngineError as exc:
        flash_refusal(exc)
    return redirect(url_for("pages.case_page", case_id=case_id))


@bp.post("/cases/<int:case_id>/withdraw-application")
@roles_required()
def withdraw_application(case_id: int):
    """撤回申请 before acceptance; at staff's suggestion it is filed for the supervision office's review (否定备案)."""
    visible_case(case_id)
    act(yimen().withdraw_application, case_id, (request.form.get("reason") or "").strip() or None,
        user=current_user()["id"], staff_suggested=request.form.get("staff_suggested") == "yes",
        success="Application withdrawn")
    return redirect(url_for("pages.case_page", case_id=case_id))


@bp.post("/cases/<int:case_id>/supplement")
@roles_required()
def supplement(case_id: int):
    """容缺: the materials that were allowed to follow."""
    case = visible_case(case_id)
    materials = _uploaded(case)
    if not materials:
        flash("Choose the files to hand in", "error")
    else:
        act(yimen().supplement, case_id, materials, user=current_user()["id"], success="Materials received")
    return redirect(url_for("pages.case_page", case_id=case_id))


@bp.post("/cases/<int:case_id>/rate")
@roles_required()
def rate(case_id: int):
    """好差评: the applicant's rating once the case has ended."""
    visible_case(case_id)
    try:
        score = int(request.form.get("score", ""))
    except ValueError:
        flash("invalid_input: choose a score from 1 to 5", "error")
        return redirect(url_for("pages.case_page", case_id=case_id))
    act(yimen().rate_case, case_id, score, request.form.get("comment") or None, user=current_user()["id"],
        success="Thank you for your rating")
    return redirect(url_for("pages.case_page", case_id=case_id))
