"""Server-rendered pages, one module per kind of user: account, staff, cases, supervision, applicant, designer.

Every action is a POST form with a CSRF token that calls one ``Yimen``
command; an engine refusal comes back as a flash message, never a 500.
Visibility follows ``engine.inbox``: a task or case the user may not see is
"not found", whatever its id.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, render_template, request
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError, NotFound

from ..app import yimen
from ..i18n import language, refusal_message
from ..auth import current_user, has_role

bp = Blueprint("pages", __name__)


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {"me": current_user(), "has_role": has_role, "viewer_installed": _viewer_installed}


def _viewer_installed() -> bool:
    """bpmn-js is copied into static/vendor by scripts/vendor.sh; without it pages link the XML instead."""
    return (Path(current_app.static_folder) / "vendor" / "bpmn-js" / "bpmn-navigated-viewer.production.min.js").exists()


@bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    """HTML for pages, the API's JSON error shape under /api/ (also for routing errors like 404 and 405)."""
    if request.path.startswith("/api/"):
        from ..api import error

        return error(exc.name.lower().replace(" ", "_"), exc.description or exc.name, exc.code)
    if exc.code in (403, 404):
        return render_template("message.html", title="Forbidden" if exc.code == 403 else "Not found"), exc.code
    return exc


def material_names() -> dict[str, str]:
    """Material names as the page shows them: the English pages show a material's English name where it has one."""
    if language() != "en":
        return {}
    return {m["name"]: m["name_en"] for item in yimen().items() for m in item.get("materials") or []
            if m.get("name_en")}


def refusal_text(exc: EngineError) -> str:
    """What a page tells about an engine refusal: a sentence in the page language built from the code and the
    details (``web.i18n.refusal_message``), never the code, an id or the engine's English message."""
    return refusal_message(exc.code, exc.details, material_names(), exc.message)


def act(fn, *args, success: str = "Done", **kwargs):
    """Run one engine command; its refusal becomes a flash message with the engine's reason."""
    try:
        fn(*args, **kwargs)
        flash(success, "ok")
        return True
    except EngineError as exc:
        flash(refusal_text(exc), "error")
        return False




PAGE_SIZE = 50  # rows on a page of the inbox and of case lists
MAX_PAGE = 2**31 // PAGE_SIZE  # beyond it the offset would overflow the databases' integers


def page_number(text: str | None) -> int:
    """``?page=N`` (from 1); anything else is the first page."""
    try:
        return min(max(int(text or 1), 1), MAX_PAGE)
    except ValueError:
        return 1


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def visible_case(case_id: int) -> dict:
    """The case as the current user may see it, or 404 (also for cases of other departments)."""
    try:
        return yimen().visible_case(case_id, current_user())
    except NotFound:
        abort(404)


from . import reform  # noqa: E402,F401  (issue 16: credit, 审管联动, rectification, negative filings)
from . import levels  # noqa: E402,F401  (issue 16: 放权, the implementation list)
from . import bundles  # noqa: E402,F401  (issue 16: 一件事 / 一链办理)
from . import account, admin, agents, applicant, cases, designer, documents, staff, supervision  # noqa: E402,F401  (registers the routes)
