"""The staff inbox and the task page with the step's verbs."""
from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from engine import forms
from engine.errors import EngineError, NotFound
from engine.lists import CARDS, CASE_STATUSES, DUE_FILTERS, SCOPES as INBOX_SCOPES

from ..app import yimen
from ..auth import current_user, has_role, roles_required
from ..i18n import localized
from ..security import same_site_referrer
from . import PAGE_SIZE, act, bp, page_count, page_number, refusal_text, visible_case


@bp.get("/inbox")
@roles_required("window", "reviewer", "supervisor")
def inbox_page():
    """My tasks (assigned to me) and my groups' tasks (unclaimed), with filters, counts and pages."""
    me = current_user()
    args = request.args
    item = args.get("item") or None
    scope = args.get("scope") if args.get("scope") in INBOX_SCOPES else "all"
    status = args.get("status") if args.get("status") in CASE_STATUSES else None
    card = args.get("card") if args.get("card") in CARDS else None
    due = args.get("due") if args.get("due") in DUE_FILTERS else None
    page = page_number(args.get("page"))
    listed = yimen().inbox(me, scope=scope, item=item, status=status, card=card, due=due, limit=PAGE_SIZE,
                           offset=(page - 1) * PAGE_SIZE, counts=True)
    waiting = yimen().bundle_applications(me, waiting=True, limit=PAGE_SIZE)["items"] if has_role(me, "window") else []
    return render_template("inbox.html", tasks=listed["items"], counts=listed["counts"], total=listed["total"],
                           bundles=[a for a in waiting if a["waiting_for_acceptance"]],
                           page=page, pages=page_count(listed["total"]), items=yimen().items(), item=item,
                           scope=scope, status=status, card=card, due=due, statuses=CASE_STATUSES)


def _visible_task(task_id: str) -> tuple[dict, dict | None]:
    me = current_user()
    try:
        task = yimen().visible_task(task_id, me)
    except NotFound:
        abort(404)
    return task, (yimen().case(task["case_id"]) if task["case_id"] else None)


def _int(text: str | None) -> int | None:
    """A whole number from a form field, or None (the engine then says what it needs)."""
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def _staff_by_department() -> list[tuple[str, list[dict]]]:
    """The staff directory grouped by department, in the engine's order, for the 抄送 picker."""
    groups: dict[str, list[dict]] = {}
    labels: dict[str, str] = {}
    for person in yimen().staff_directory():
        key = person["department"] or ""
        labels[key] = localized(person, "department_name") or gettext("No department")
        groups.setdefault(key, []).append(person)
    return [(labels[key], people) for key, people in groups.items()]


@bp.get("/tasks/<task_id>")
@roles_required("window", "reviewer", "supervisor")
def task_page(task_id: str):
    task, case = _visible_task(task_id)
    marks = yimen().instance_marks(task["instance"])
    earlier = {}  # user steps the case has passed: the places a return (退回) may go to
    for opinion in (case or {}).get("opinions", []):
        if opinion.get("element_id") and opinion["element_id"] != task["element_id"]:
            earlier[opinion["element_id"]] = localized(opinion, "step")
    return render_template("task.html", task=task, case=case, marks=marks, return_targets=earlier,
                           staff=_staff_by_department(),
                           extension=yimen().extension_request(task_id))


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
        act(y.request_correction, case["id"], problems, user=me,
            second_notice_reason=f.get("second_notice_reason") or None)
    elif action == "tolerate" and case:
        act(y.accept_with_missing, case["id"], _int(f.get("supplement_days")), f.get("opinion") or None, user=me)
    elif action == "extension" and y.extension_request(task_id):  # 延期: the head of office decides the request
        approved = f.get("approved") == "yes"
        act(y.decide, task_id, approved, f.get("opinion", ""), user=me,
            success=gettext("The extension was approved: the applicant is told the new time limit and the reason.")
            if approved else gettext("The extension was refused: the time limit stays."))
    elif action == "decide":
        act(y.decide, task_id, f.get("approved") == "yes", f.get("opinion", ""), user=me)
    elif action == "transfer":
        act(y.transfer, task_id, f.get("to", ""), f.get("reason") or None, user=me)
    elif action == "delegate":
        act(y.delegate, task_id, f.get("to", ""), f.get("note") or None, user=me)
    elif action == "return":
        act(y.return_to, task_id, f.get("target", ""), f.get("reason", ""), user=me)
    elif action == "add-signer":
        act(y.add_signer, task_id, f.get("signer", ""), f.get("position", "after"), user=me)
    elif action == "remove-signer":
        act(y.remove_signer, task_id, f.get("signer", ""), user=me)
    elif action == "withdraw":
        act(y.withdraw, task_id, user=me, success="Withdrawn: the step is yours again")
        reopened = [t for t in y.tasks(instance=task["instance"]) if t["element_id"] == task["element_id"]]
        return redirect(url_for("pages.task_page", task_id=reopened[0]["id"]) if reopened
                        else url_for("pages.case_page", case_id=case["id"]) if case else url_for("pages.inbox_page"))
    elif action == "urge":
        act(y.urge, task["instance"], f.get("message") or None, user=me)
    elif action == "cc":
        act(y.carbon_copy, task["instance"], f.getlist("users"), f.get("note") or None, user=me)
    elif action == "special" and case:
        act(y.start_special_procedure, case["id"], f.get("kind", ""), f.get("reason", ""),
            _int(f.get("expected_days")) or 0, user=me)
    elif action == "complete" and task["fields"]:
        try:
            data = forms.coerce(task["fields"], f.to_dict())
        except EngineError as exc:
            flash(refusal_text(exc), "error")
            return redirect(url_for("pages.task_page", task_id=task_id))
        act(y.complete, task_id, data, user=me)
    elif action == "complete":
        try:
            data = json.loads(f.get("data") or "{}")
        except json.JSONDecodeError as exc:
            flash(f"invalid_input: not valid JSON: {exc.msg}", "error")
            return redirect(url_for("pages.task_page", task_id=task_id))
        act(y.complete, task_id, data, user=me)
    else:
        abort(404)
    if f.get("next") == "inbox":
        return redirect(url_for("pages.inbox_page"))
    # Back to the task only while this user may still see it (after 转办/委派 it is someone else's).
    return redirect(url_for("pages.task_page", task_id=task_id) if y.can_see_task(task_id, current_user())
                    else url_for("pages.inbox_page"))


@bp.post("/cases/<int:case_id>/end-special")
@roles_required("reviewer", "supervisor")
def end_special(case_id: int):
    visible_case(case_id)
    act(yimen().end_special_procedure, case_id, request.form.get("result", ""), user=current_user()["id"])
    return redirect(same_site_referrer(request.referrer, request.host) or url_for("pages.case_page", case_id=case_id))
