"""Process designers (流程设计): upload diagrams, see each version drawn, bind processes to service items.

An upload is all or nothing: when anything is wrong, the page lists every
problem by file, element id and line, and nothing is stored (the engine's
deploy command guarantees it; this page only shows what it says).
"""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from markupsafe import Markup

from engine.errors import BpmnInvalid, EngineError, NotFound

from ..app import yimen
from ..auth import current_user, roles_required
from ..i18n import localized, problem_text
from ..security import attachment_headers
from . import act, bp, refusal_text

MAX_FILES = 20
DIAGRAM_VIEWERS = ("designer", "window", "reviewer", "supervisor")  # staff see the diagram of their tasks


@bp.get("/designer")
@roles_required("designer")
def designer():
    y = yimen()
    return render_template("designer.html", processes=y.process_versions(), items=y.items())


@bp.post("/designer/deploy")
@roles_required("designer")
def deploy():
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if not uploads:
        flash(gettext("Nothing was deployed: choose one or more BPMN or DMN files first."), "error")
        return redirect(url_for("pages.designer"))
    if len(uploads) > MAX_FILES:
        flash(gettext("Nothing was deployed: at most %(count)s files per deployment.", count=MAX_FILES), "error")
        return redirect(url_for("pages.designer"))
    y = yimen()
    try:
        result = y.deploy([(f.filename, f.read()) for f in uploads], user=current_user()["id"],
                          name=request.form.get("name") or None)
    except BpmnInvalid as exc:
        return render_template("designer.html", processes=y.process_versions(), items=y.items(),
                               problems=[dict(p.to_dict(), text=problem_text(p.to_dict())) for p in exc.problems],
                               uploaded=[f.filename for f in uploads]), 400
    except EngineError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for("pages.designer"))
    for warning in result.get("warnings") or []:
        if isinstance(warning, dict):
            where = Markup("<code>{}</code>").format(warning.get("file") or "")
            if warning.get("element_id"):
                where += Markup(" <code>{}</code>").format(warning["element_id"])
            flash(Markup("{}{}{}").format(where, gettext(": "), problem_text(warning)), "warning")
        else:
            flash(str(warning), "warning")
    deployed = result["deployed"]
    named = {p["key"]: p for p in y.process_versions()}  # the diagrams' names; the key only in 流程标识 fields
    flash(gettext("Deployed: %(processes)s", processes=gettext(", ").join(
        gettext("%(name)s (version %(n)s)", name=localized(named.get(d["key"])) or gettext("Untitled process"),
                n=d["version"]) for d in deployed)), "ok")
    return redirect(url_for("pages.process_version", definition_id=deployed[0]["id"]))


@bp.get("/designer/versions/<int:definition_id>")
@roles_required("designer")
def process_version(definition_id: int):
    y = yimen()
    try:
        definition = y.definition(definition_id)
    except NotFound:
        abort(404)
    versions = next((p["versions"] for p in y.process_versions() if p["key"] == definition["key"]), [])
    this = next((v for v in versions if v["id"] == definition_id), {})
    bound = [i for i in y.items() if i["process_key"] == definition["key"]]
    return render_template("designer_version.html", definition=definition, version=this, versions=versions,
                           items=bound)


@bp.get("/diagrams/<int:definition_id>.bpmn")
@roles_required(*DIAGRAM_VIEWERS)
def diagram(definition_id: int):
    """The BPMN XML as uploaded; bpmn-js fetches and draws it in the browser.

    Never rendered by the browser itself: a file may carry foreign content (refused at deploy
    since issue 13, but older deployments keep theirs), so it is an attachment in a sandbox.
    """
    try:
        content = yimen().diagram_xml(definition_id)
    except NotFound:
        abort(404)
    return Response(content, mimetype="application/xml", headers=attachment_headers(f"{definition_id}.bpmn"))


@bp.post("/designer/items/<code>/bind")
@roles_required("designer")
def bind_item(code: str):
    raw_version = (request.form.get("process_version") or "").strip()
    try:
        version = int(raw_version) if raw_version else None
    except ValueError:
        flash(gettext("Nothing was bound: the version is a whole number, or empty for the newest."), "error")
        return redirect(url_for("pages.designer"))
    act(yimen().bind_item, code, request.form.get("process_key", ""), version, user=current_user()["id"])
    return redirect(url_for("pages.designer"))
