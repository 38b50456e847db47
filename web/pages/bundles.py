"""Bundles (一件事 / 一链办理) on the pages: the applicant applies for a bundle once; the window accepts, refuses
or corrects it once and delivers its results together; administrators define bundles.

* ``/apply/bundle/<code>`` — the bundle's guide (its member items, the materials each once) and the application;
* ``/bundle-applications/<id>`` — one application with its member cases, the window's one acceptance decision
  and the one delivery (统一出件), the applicant's choice of delivery and her receipt;
* ``/admin/bundles`` — the bundles of the catalogue, defined and changed by administrators.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from engine.errors import EngineError, NotFound

from ..app import yimen
from ..auth import current_user, roles_required
from . import bp, refusal_text
from .applicant import applicant_from_form, submit_token, uploaded_materials


def _bundle(code: str) -> dict:
    try:
        return yimen().bundle(code)
    except EngineError:
        abort(404)


@bp.route("/apply/bundle/<code>", methods=["GET", "POST"])
@roles_required()
def apply_bundle(code: str):
    """One application for every member item: shared materials are uploaded once."""
    bundle = _bundle(code)
    materials = yimen().bundle_materials(code)
    if request.method == "POST":
        from .documents import flash_refusal

        me = current_user()
        files = uploaded_materials(materials)
        applicant, agent, form = applicant_from_form(me)
        try:
            result = yimen().apply_bundle(code, applicant, files, form, agent=agent, user=me["id"],
                                          idempotency_key=request.form.get("submit_token") or None, online=True,
                                          region=request.form.get("region") or None)  # 放权: the applicant's region
        except EngineError as exc:
            flash_refusal(exc)
            return render_template("bundle_apply.html", bundle=bundle, materials=materials,
                                   submit_token=submit_token(), regions=yimen().regions()), 400
        flash(gettext("Bundle application submitted: number %(number)s. Follow it on this page.",
                      number=result["number"]), "ok")
        return redirect(url_for("pages.bundle_application_page", application_id=result["application"]))
    return render_template("bundle_apply.html", bundle=bundle, materials=materials, submit_token=submit_token(),
                           regions=yimen().regions())


def _application(application_id: int) -> dict:
    try:
        return yimen().bundle_application(application_id, current_user())
    except NotFound:
        abort(404)


@bp.get("/bundle-applications/<int:application_id>")
@roles_required()
def bundle_application_page(application_id: int):
    return render_template("bundle_application.html", application=_application(application_id))


def _problems(text: str) -> list[dict]:
    """One problem a line; ``材料名：问题`` (or ``name: problem``) names the material it is about."""
    out = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        for mark in ("：", ":"):
            if mark in line:
                material, problem = (part.strip() for part in line.split(mark, 1))
                out.append({"material": material, "problem": problem or line})
                break
        else:
            out.append({"problem": line})
    return out


@bp.post("/bundle-applications/<int:application_id>/<verb>")
@roles_required()
def bundle_application_action(application_id: int, verb: str):
    _application(application_id)
    f = request.form
    arguments = {
        "accept": lambda: ("accept", {"opinion": f.get("opinion") or None}, "Accepted"),
        "not-accept": lambda: ("not_accept", {"reason": f.get("reason") or ""}, "Not accepted"),
        "correction": lambda: ("request_correction", {"problems": _problems(f.get("problems", ""))},
                               "Correction notice sent"),
        "delivery": lambda: ("choose_delivery", {"method": f.get("method") or "", "address": f.get("address"),
                                                 "recipient": f.get("recipient"), "phone": f.get("phone")},
                             "Delivery chosen"),
        "dispatch": lambda: ("dispatch", {"tracking_no": f.get("tracking_no") or None,
                                          "carrier": f.get("carrier") or None}, "Dispatched"),
        "delivered": lambda: ("delivered", {}, "Delivered"),
        "received": lambda: ("received", {}, "Received"),
    }
    if verb not in arguments:
        abort(404)
    name, kwargs, success = arguments[verb]()
    try:
        yimen().bundle_verb(name, application_id, user=current_user()["id"], **kwargs)
        flash(success, "ok")
    except EngineError as exc:
        flash(refusal_text(exc), "error")
    return redirect(url_for("pages.bundle_application_page", application_id=application_id))


# --- administrators ----------------------------------------------------------------------------

@bp.route("/admin/bundles", methods=["GET", "POST"])
@roles_required("admin")
def admin_bundles():
    """The bundles of the catalogue; the form defines a new one or changes one (its code)."""
    y = yimen()
    if request.method == "POST":
        f = request.form
        try:
            y.save_bundle((f.get("code") or "").strip(), f.get("name") or "", f.getlist("items"),
                          f.get("name_en") or None, f.getlist("shared_materials"),
                          cross_level=f.get("cross_level") == "yes", enabled=f.get("enabled") == "yes",
                          user=current_user()["id"])
            flash("Bundle saved", "ok")
            return redirect(url_for("pages.admin_bundles"))
        except EngineError as exc:
            flash(refusal_text(exc), "error")
    bundles = y.bundles()
    chosen = next((b for b in bundles if b["code"] == request.args.get("edit")), None)
    items = y.items()
    materials = sorted({m["name"]: m for i in items for m in i.get("materials") or []}.values(),
                       key=lambda m: m["name"])
    return render_template("admin_bundles.html", bundles=bundles, chosen=chosen, items=items,
                           materials=materials), 200 if request.method == "GET" else 400
