"""The staff inbox and the task page with the step's verbs."""
from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from engine import inbox
from engine.models import ApprovalCase, HumanTask

from ..app import yimen
from ..auth import current_user, roles_required
from . import act, bp, visible_case


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
        act(y.claim, task_id, user=me)
    elif action == "unclaim":
        act(y.unclaim, task_id, user=me)
    elif action == "accept" and case:
        act(y.accept, case["id"], f.get("opinion") or None, user=me)
    elif action == "not-accept" and case:
        act(y.not_accept, case["id"], f.get("reason", ""), f.get("competent_office") or None, user=me)
    elif action == "correction" and case:
        problems = [{"problem": line.strip()} for line in f.get("problems", "").splitlines() if line.strip()]
        act(y.request_correction, case["id"], problems, user=me)
    elif action == "decide":
        act(y.decide, task_id, f.get("approved") == "yes", f.get("opinion", ""), user=me)
    elif action == "transfer":
        act(y.transfer, task_id, f.get("to", ""), f.get("reason") or None, user=me)
    elif action == "special" and case:
        try:
            days = int(f.get("expected_days", ""))
        except ValueError:
            days = 0
        act(y.start_special_procedure, case["id"], f.get("kind", ""), f.get("reason", ""), days, user=me)
    elif action == "complete":
        try:
            data = json.loads(f.get("data") or "{}")
        except json.JSONDecodeError as exc:
            flash(f"invalid_input: not valid JSON: {exc.msg}", "error")
            return redirect(url_for("pages.task_page", task_id=task_id))
        act(y.complete, task_id, data, user=me)
    else:
        abort(404)
    still_open = [t for t in y.tasks(instance=task["instance"]) if t["id"] == task_id]
    return redirect(url_for("pages.task_page", task_id=task_id) if still_open else url_for("pages.inbox_page"))


@bp.post("/cases/<int:case_id>/end-special")
@roles_required("reviewer", "supervisor")
def end_special(case_id: int):
    visible_case(case_id)
    act(yimen().end_special_procedure, case_id, request.form.get("result", ""), user=current_user()["id"])
    return redirect(request.referrer or url_for("pages.case_page", case_id=case_id))
