"""Server-rendered pages: sign-in, the staff inbox and task page, supervision, the applicant's side.

Every action is a POST form with a CSRF token that calls one ``Yimen``
command; an engine refusal comes back as a flash message, never a 500.
Visibility follows ``engine.inbox``: a task or case the user may not see is
"not found", whatever its id.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from engine import inbox
from engine.errors import EngineError
from engine.models import ApprovalCase, HumanTask

from .app import yimen
from .auth import current_user, has_role, login, logout, roles_required

bp = Blueprint("pages", __name__)


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {"me": current_user(), "has_role": has_role}


@bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    """HTML for pages, the API's JSON error shape under /api/ (also for routing errors like 404 and 405)."""
    if request.path.startswith("/api/"):
        from .api import error

        return error(exc.name.lower().replace(" ", "_"), exc.description or exc.name, exc.code)
    if exc.code in (403, 404):
        return render_template("message.html", title="Forbidden" if exc.code == 403 else "Not found"), exc.code
    return exc


def _act(fn, *args, success: str = "Done", **kwargs):
    """Run one engine command; its refusal becomes a flash message with the engine's reason."""
    try:
        fn(*args, **kwargs)
        flash(success, "ok")
        return True
    except EngineError as exc:
        flash(f"{exc.code}: {exc}", "error")
        return False


# --- account ----------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"], endpoint="login")
def login_page():
    if request.method == "POST":
        user = yimen().authenticate(request.form.get("user", ""), request.form.get("password", ""))
        if user is None:
            flash("Wrong user or password", "error")
            return render_template("login.html"), 401
        login(user["id"])
        target = request.args.get("next") or ""
        return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("pages.home"))
    return render_template("login.html")



@bp.post("/logout")
def logout_page():
    logout()
    return redirect(url_for("pages.login"))


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in ("zh", "en"):
        session["lang"] = code
    target = request.referrer or url_for("pages.home")
    return redirect(target)


@bp.get("/")
@roles_required()
def home():
    me = current_user()
    if has_role(me, "supervisor"):
        return redirect(url_for("pages.supervision"))
    if has_role(me, "window", "reviewer"):
        return redirect(url_for("pages.inbox_page"))
    return redirect(url_for("pages.my_cases"))


# --- staff ------------------------------------------------------------------------

@bp.get("/inbox")
@roles_required("window", "reviewer", "supervisor")
def inbox_page():
    me = current_user()
    item = request.args.get("item") or None
    with yimen().session() as s:
        tasks = inbox.visible_tasks(s, me, item=item)
    return render_template("inbox.html", tasks=tasks, items=yimen().items(), item=item)


def _visible_task(task_id: str) -> tuple[dict, dict | None]:
    me = current_user()
    with yimen().session() as s:
        row = s.get(HumanTask, task_id)
        if row is None or not inbox.can_see_task(s, me, row):
            abort(404)
        case = s.scalars(select(ApprovalCase).where(ApprovalCase.instance_id == row.instance_id)).first()
        task = {"id": row.id, "name": row.name, "element_id": row.element_id, "form_key": row.form_key,
                "assignee": row.assignee, "status": row.status, "due": row.due, "instance": row.instance_id,
                "candidate_groups": row.candidate_groups}
        return task, (yimen().case(case.id) if case else None)


@bp.get("/tasks/<task_id>")
@roles_required("window", "reviewer", "supervisor")
def task_page(task_id: str):
    task, case = _visible_task(task_id)
    return render_template("task.html", task=task, case=case)


@bp.post("/tasks/<task_id>/<action>")
@roles_required("window", "reviewer", "supervisor")
def task_action(task_id: str, action: str):
    task, case = _visible_task(task_id)
    me, y, f = current_user()["id"], yimen(), request.form
    if action == "claim":
        _act(y.claim, task_id, user=me)
    elif action == "unclaim":
        _act(y.unclaim, task_id, user=me)
    elif action == "accept" and case:
        _act(y.accept, case["id"], f.get("opinion") or None, user=me)
    elif action == "not-accept" and case:
        _act(y.not_accept, case["id"], f.get("reason", ""), f.get("competent_office") or None, user=me)
    elif action == "correction" and case:
        problems = [{"problem": line.strip()} for line in f.get("problems", "").splitlines() if line.strip()]
        _act(y.request_correction, case["id"], problems, user=me)
    elif action == "decide":
        _act(y.decide, task_id, f.get("approved") == "yes", f.get("opinion", ""), user=me)
    elif action == "transfer":
        _act(y.transfer, task_id, f.get("to", ""), f.get("reason") or None, user=me)
    elif action == "special" and case:
        try:
            days = int(f.get("expected_days", ""))
        except ValueError:
            days = 0
        _act(y.start_special_procedure, case["id"], f.get("kind", ""), f.get("reason", ""), days, user=me)
    elif action == "complete":
        try:
            data = json.loads(f.get("data") or "{}")
        except json.JSONDecodeError as exc:
            flash(f"invalid_input: not valid JSON: {exc.msg}", "error")
            return redirect(url_for("pages.task_page", task_id=task_id))
        _act(y.complete, task_id, data, user=me)
    else:
        abort(404)
    still_open = [t for t in y.tasks(instance=task["instance"]) if t["id"] == task_id]
    return redirect(url_for("pages.task_page", task_id=task_id) if still_open else url_for("pages.inbox_page"))


@bp.post("/cases/<int:case_id>/end-special")
@roles_required("reviewer", "supervisor")
def end_special(case_id: int):
    _case_or_404(case_id)
    _act(yimen().end_special_procedure, case_id, request.form.get("result", ""), user=current_user()["id"])
    return redirect(request.referrer or url_for("pages.case_page", case_id=case_id))


# --- cases (staff, supervisors and applicants) ----------------------------------------

def _case_or_404(case_id: int) -> dict:
    with yimen().session() as s:
        if not inbox.can_see_case(s, current_user(), s.get(ApprovalCase, case_id)):
            abort(404)
    return yimen().case(case_id)


@bp.get("/cases/<int:case_id>")
@roles_required()
def case_page(case_id: int):
    return render_template("case.html", case=_case_or_404(case_id))


# --- supervision (督查) --------------------------------------------------------------

@bp.get("/supervision")
@roles_required("supervisor")
def supervision():
    y = yimen()
    state = request.args.get("state") or None
    return render_template("supervision.html", overview=y.supervision_overview(),
                           watches=y.watches(state=state, limit=200)["items"], state=state,
                           due=y.due_within(2)["items"], cards=y.cards(limit=50)["items"])


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
