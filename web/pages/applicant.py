"""The applicant's side: service guides, applying, my cases, notices, supplements and ratings."""
from __future__ import annotations


from flask import abort, flash, redirect, render_template, request, url_for

from engine import inbox
from engine.errors import EngineError

from ..app import yimen
from ..auth import current_user, roles_required
from . import bp


# --- applicants ---------------------------------------------------------------------

@bp.get("/my")
@roles_required()
def my_cases():
    with yimen().session() as s:
        cases = [{"id": c.id, "number": c.number, "item": c.item_code, "status": c.status,
                  "submitted": c.submitted_at} for c in inbox.visible_cases(s, current_user())]
    return render_template("my_cases.html", cases=cases, items=yimen().items())


@bp.route("/apply/<code>", methods=["GET", "POST"])
@roles_required()
def apply(code: str):
    try:
        item = yimen().item(code)
    except EngineError:
        abort(404)
    if request.method == "POST":
        me = current_user()
        materials = []
        for index, material in enumerate(item["materials"]):
            upload = request.files.get(f"material_{index}")
            if upload and upload.filename:
                materials.append({"name": material["name"], "filename": upload.filename, "content": upload.read()})
        applicant = {"name": request.form.get("name") or me["name"], "kind": request.form.get("kind", "person"),
                     "user": me["id"], "id_no": request.form.get("id_no") or None}
        try:
            result = yimen().submit(code, applicant, materials, {"note": request.form.get("note", "")},
                                    user=me["id"])
        except EngineError as exc:
            flash(f"{exc.code}: {exc}", "error")
            return render_template("apply.html", item=item), 400
        flash(f"{result['number']}", "ok")
        return redirect(url_for("pages.case_page", case_id=result["case"]))
    return render_template("apply.html", item=item)


@bp.get("/notifications")
@roles_required()
def notifications():
    return render_template("notifications.html", notes=yimen().notifications(current_user()["id"]))
