"""放权 pages (powers across levels, issue 16).

* ``/levels`` — the public implementation list (事项实施清单): per item and region, the mode; anyone may read it
  and download it as CSV or JSON.
* ``/admin/levels`` — administrators set or remove an entry and replace the list from a file.
* ``/supervision/levels`` — supervisors see cases by the level of the handling office and by region.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from werkzeug.wrappers import Response

from engine.errors import EngineError
from engine.levels import MODES

from ..app import yimen
from ..auth import current_user, roles_required
from . import PAGE_SIZE, bp, page_count, page_number, refusal_text

MODE_LABELS = {"direct": lazy_gettext("Direct (the county exercises it)"),
               "entrusted": lazy_gettext("Entrusted (decided in the city's name)"),
               "review_report": lazy_gettext("Reviewed and reported (the city approves)"),
               "taken_back": lazy_gettext("Taken back (the city handles it)"),
               "zone": lazy_gettext("Development zone (empowered)")}
CASE_LEVELS = ("city", "county", "zone", "province")


@bp.app_context_processor
def _level_globals() -> dict:
    from .admin import LEVEL_LABELS

    return {"mode_labels": MODE_LABELS, "level_labels": LEVEL_LABELS}


@bp.get("/levels")
def levels_page():
    """The implementation list is public (公开): anyone may see where an item is handled in their region."""
    return render_template("levels.html", rows=yimen().implementations(), admin=False)


@bp.get("/levels/export")
def levels_export():
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "json"):
        abort(404)
    body = yimen().export_implementations(fmt)
    return Response(("\ufeff" if fmt == "csv" else "") + body,
                    mimetype="text/csv" if fmt == "csv" else "application/json",
                    headers={"Content-Disposition": f"attachment; filename=implementation.{fmt}"})


@bp.get("/admin/levels")
@roles_required("admin")
def admin_levels():
    y = yimen()
    return render_template("levels.html", rows=y.implementations(), admin=True, items=y.items(),
                           regions=y.regions(), modes=MODES)


def _act(fn, *args, ok: str, **kwargs) -> None:
    try:
        fn(*args, user=current_user()["id"], **kwargs)
    except EngineError as exc:
        problems = exc.details.get("problems") or []
        flash(gettext("Nothing was changed:") + " " + refusal_text(exc)
              + (" （" + "；".join(problems[:5]) + "）" if problems and exc.details.get("refusal") == "bad_file" else ""),
              "error")
        return
    flash(ok, "ok")


@bp.post("/admin/levels")
@roles_required("admin")
def admin_levels_save():
    f = request.form
    _act(yimen().set_implementation, f.get("item", ""), f.get("region", ""), f.get("mode", ""),
         f.get("handler") or None, (f.get("note") or "").strip() or None, ok=gettext("The entry was saved."))
    return redirect(url_for("pages.admin_levels"))


@bp.post("/admin/levels/remove")
@roles_required("admin")
def admin_levels_remove():
    _act(yimen().remove_implementation, request.form.get("item", ""), request.form.get("region", ""),
         ok=gettext("The entry was removed."))
    return redirect(url_for("pages.admin_levels"))


@bp.post("/admin/levels/import")
@roles_required("admin")
def admin_levels_import():
    from .reform import _text_upload

    text = _text_upload()
    upload = request.files.get("file")
    fmt = "json" if (upload is not None and (upload.filename or "").lower().endswith(".json")) else "csv"
    if not text:
        flash(gettext("Choose an implementation list (a UTF-8 CSV or JSON file of at most 2 MB)."), "error")
    else:
        _act(yimen().import_implementations, text, fmt, ok=gettext("The implementation list was imported."))
    return redirect(url_for("pages.admin_levels"))


@bp.get("/supervision/levels")
@roles_required("supervisor")
def level_cases():
    """Cases by level (and region): the supervisor's view across city, counties and development zones."""
    y = yimen()
    level = request.args.get("level") if request.args.get("level") in CASE_LEVELS else None
    regions = y.regions()
    region = request.args.get("region") if request.args.get("region") in {r["id"] for r in regions} else None
    page = page_number(request.args.get("page"))
    listed = y.case_list(current_user(), level=level, region=region, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("level_cases.html", cases=listed["items"], total=listed["total"], level=level,
                           region=region, regions=regions, levels=CASE_LEVELS, page=page,
                           pages=page_count(listed["total"]), region_names={r["id"]: r for r in regions})
