"""The case page, shared by staff, supervisors and the applicant (each sees only their own), and its files."""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import abort, redirect, render_template, request, send_file, url_for
from flask_babel import gettext

from engine.errors import NotFound

from ..app import yimen
from ..auth import current_user, roles_required
from ..security import attachment_headers
from . import act, bp, visible_case


@bp.get("/cases/<int:case_id>")
@roles_required()
def case_page(case_id: int):
    case = visible_case(case_id)
    withdrawable = yimen().withdrawable(case["instance"], current_user()["id"])
    return render_template("case.html", case=case, withdrawable=withdrawable,
                           bundle=yimen().bundle_of_case(case_id))  # 一件事: the bundle it is part of, if any


@bp.post("/cases/<int:case_id>/urge")
@roles_required("supervisor")
def urge_case(case_id: int):
    """催办 from the case page (supervisors): everyone holding one of its open steps is told."""
    case = visible_case(case_id)
    act(yimen().urge, case["instance"], (request.form.get("message") or "").strip() or None,
        user=current_user()["id"], success=gettext("The people handling the case were urged."))
    return redirect(url_for("pages.case_page", case_id=case_id))


@bp.get("/cases/<int:case_id>/materials/<int:material_id>")
@roles_required()
def material_file(case_id: int, material_id: int):
    """A submitted file, for whoever may see the case; refused if it changed on disk since it was received."""
    visible_case(case_id)
    try:
        material = yimen().material_file(case_id, material_id)
    except NotFound:
        abort(404)
    path, digest, filename = Path(material["path"]), material["sha256"], material["filename"]
    if not path.is_file():
        abort(404)
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != digest:
        abort(409, description="the stored file no longer matches the checksum taken when it was received")
    # Whatever the applicant named it (page.html, image.svg), it downloads and never renders in our origin.
    response = send_file(path, mimetype="application/octet-stream", as_attachment=True, download_name=filename)
    response.headers.update(attachment_headers())
    return response
