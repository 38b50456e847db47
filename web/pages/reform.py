"""Pages of the reform mechanisms (issue 16): credit (信用), 审管联动, 好差评 rectification (整改), 否定备案.

* ``/credit`` — window staff and supervisors look up an applicant; administrators import a list and set an
  item's 绿色通道 and rectification limits. The window's check on a case is a button on the case.
* ``/linkage`` — the public linkage list (审管联动事项清单); administrators import and export it.
  ``/linkage/inbox`` — a supervising department's inbox of pushes, opened one by one, with feedback;
  supervisors see the "pushed, not opened" report.
* ``/rectifications`` — the department replies, the supervisor closes after the return visit; supervisors see
  ratings, rectification and on-time rates. ``/ratings`` is the public 好差评 summary.
* ``/filings`` — the supervision office confirms or reopens each negative outcome.

Every action is one engine command; a refusal is a flash message and changes nothing.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from engine.errors import EngineError, NotFound

from ..app import yimen
from ..auth import current_user, has_role, roles_required
from ..i18n import file_columns, language
from . import bp, refusal_text

MAX_FILE_BYTES = 2 * 1024 * 1024
FEEDBACK_KINDS = ("inspection", "measure", "credit_finding")
RECT_STATUSES = ("open", "replied", "closed")
FILING_STATUSES = ("filed", "confirmed", "reopened")


@bp.app_template_global()
def reform_of_case(case_id: int) -> dict:
    """What the case page shows of the reform mechanisms (credit check, pushes, feedback, rectification)."""
    return yimen().reform_of_case(case_id)


def _run(fn, *args, ok: str, refused: str, **kwargs) -> bool:
    """One command: a translated sentence on success; on refusal, the translated sentence and the reason."""
    try:
        fn(*args, **kwargs)
    except EngineError as exc:
        problems = exc.details.get("problems") or []
        flash(gettext(refused) + " " + ("；".join(problems[:10]) if problems else refusal_text(exc)), "error")
        return False
    flash(gettext(ok), "ok")
    return True


def _text_upload(field: str = "file") -> str | None:
    upload = request.files.get(field)
    if upload is not None and upload.filename:
        content = upload.read(MAX_FILE_BYTES + 1)
        if len(content) > MAX_FILE_BYTES:
            return None
        try:
            return content.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                return content.decode("gb18030")
            except UnicodeDecodeError:
                return None
    return request.form.get("text") or None


def _me() -> dict:
    return current_user()


def _scope() -> str | None:
    """None for supervisors (everything); the member of staff's own department otherwise (403 without one)."""
    me = _me()
    if has_role(me, "supervisor"):
        return None
    if not me.get("department"):
        abort(403)
    return me["department"]


def _int_or_none(name: str) -> int | None:
    value = (request.form.get(name) or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return -1  # refused by the engine with the allowed range


# --- credit ------------------------------------------------------------------------------

@bp.get("/credit")
@roles_required("window", "supervisor")
def credit_page():
    y = yimen()
    id_no = (request.args.get("id_no") or "").strip()
    profile = y.credit_profile(id_no) if id_no else None
    return render_template("credit.html", profile=profile, id_no=id_no, entries=y.credit_entries(limit=100)["items"],
                           settings=y.reform_settings(), items=y.items(), file_words=_credit_file_words())


def _credit_file_words() -> dict[str, str]:
    """How a credit list's columns, levels and subject kinds are written, in the words of the page's language
    (``engine.credit`` accepts the codes and the Chinese headings alike)."""
    from engine.credit import CSV_COLUMNS, CSV_HEADINGS

    columns = file_columns(CSV_COLUMNS, CSV_HEADINGS)
    if language() == "zh":
        return {"columns": columns, "levels": "守信 / 失信 / 严重失信", "kinds": "自然人 / 法人"}
    return {"columns": columns, "levels": "good / bad / blacklist", "kinds": "person / organisation"}


@bp.post("/credit/import")
@roles_required("admin")
def credit_import():
    text = _text_upload()
    if not text:
        flash(gettext("Choose a credit list (a UTF-8 CSV file of at most 2 MB)."), "error")
    else:
        _run(yimen().import_credit_list, text, request.form.get("name") or None, user=_me()["id"],
             ok="The credit list was imported.", refused="The credit list was refused and nothing was changed:")
    return redirect(url_for("pages.credit_page"))


@bp.post("/credit/settings")
@roles_required("admin")
def credit_settings():
    _run(yimen().save_reform_settings, request.form.get("item", ""), _int_or_none("green_channel_days"),
         _int_or_none("rectification_days"), user=_me()["id"], ok="The item's settings were saved.",
         refused="The settings were refused and nothing was changed:")
    return redirect(url_for("pages.credit_page"))


@bp.post("/cases/<int:case_id>/credit-check")
@roles_required("window")
def credit_check(case_id: int):
    _run(yimen().credit_check, case_id, user=_me()["id"], ok="The credit check is recorded in the case file.",
         refused="The credit check was refused:")
    return _back_to_case(case_id)


def _back_to_case(case_id: int) -> Response:
    task = request.form.get("task", "")
    if task:
        return redirect(url_for("pages.task_page", task_id=task))
    return redirect(url_for("pages.case_page", case_id=case_id))


# --- 审管联动 ------------------------------------------------------------------------------

@bp.get("/linkage")
def linkage_page():
    """The linkage list is public (公开): anyone may see which department supervises what."""
    item = request.args.get("item") or None  # the service guide links to its item's rows
    from engine.linkage import FIELDS, HEADINGS

    return render_template("linkage.html", rows=yimen().linkage_list(item), item=item,
                           columns=file_columns(FIELDS, HEADINGS))


@bp.get("/linkage/export")
def linkage_export():
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "json"):
        abort(404)
    body = yimen().export_linkage(fmt)
    return Response(body, mimetype="text/csv" if fmt == "csv" else "application/json",
                    headers={"Content-Disposition": f"attachment; filename=linkage.{fmt}"})


@bp.post("/linkage/import")
@roles_required("admin")
def linkage_import():
    text = _text_upload()
    upload = request.files.get("file")
    fmt = "json" if (upload is not None and (upload.filename or "").lower().endswith(".json")) else "csv"
    if not text:
        flash(gettext("Choose a linkage list (a UTF-8 CSV or JSON file of at most 2 MB)."), "error")
    else:
        _run(yimen().import_linkage, text, request.form.get("format") or fmt, user=_me()["id"],
             ok="The linkage list was imported.", refused="The linkage list was refused and nothing was changed:")
    return redirect(url_for("pages.linkage_page"))


@bp.get("/linkage/inbox")
@roles_required("reviewer", "supervisor")
def linkage_inbox():
    y = yimen()
    scope = _scope()
    opened = {"yes": True, "no": False}.get(request.args.get("opened", ""))
    return render_template("linkage_inbox.html", pushes=y.pushes(scope, opened, limit=200)["items"],
                           report=y.unopened_pushes() if has_role(_me(), "supervisor") else None,
                           feedback=y.supervision_feedback(department=scope, limit=50)["items"] if scope else
                           y.supervision_feedback(limit=50)["items"], opened=request.args.get("opened", ""))


def _visible_push(push_id: int) -> dict:
    try:
        push = yimen().push(push_id)
    except NotFound:
        abort(404)
    scope = _scope()
    if scope is not None and push["department"] != scope:
        abort(404)
    return push


@bp.post("/linkage/pushes/<int:push_id>/open")
@roles_required("reviewer", "supervisor")
def open_push(push_id: int):
    _visible_push(push_id)
    try:
        yimen().open_push(push_id, user=_me()["id"])
    except EngineError as exc:
        flash(gettext("The push could not be opened:") + " " + refusal_text(exc), "error")
        return redirect(url_for("pages.linkage_inbox"))
    return redirect(url_for("pages.push_page", push_id=push_id))


@bp.get("/linkage/pushes/<int:push_id>")
@roles_required("reviewer", "supervisor")
def push_page(push_id: int):
    push = _visible_push(push_id)
    y = yimen()
    return render_template("linkage_push.html", push=push, kinds=FEEDBACK_KINDS,
                           feedback=y.supervision_feedback(case_id=push["case"])["items"])


@bp.post("/linkage/pushes/<int:push_id>/feedback")
@roles_required("reviewer", "supervisor")
def push_feedback(push_id: int):
    push = _visible_push(push_id)
    form = request.form
    _run(yimen().feed_back, push["case"], form.get("kind", ""), form.get("content", ""),
         form.get("measures") or None, form.get("credit_level") or None, form.get("expires_on") or None,
         user=_me()["id"], ok="The feedback was sent to the approving office.",
         refused="The feedback was refused and nothing was changed:")
    return redirect(url_for("pages.push_page", push_id=push_id))


# --- 好差评 rectification -------------------------------------------------------------------

@bp.get("/rectifications")
@roles_required("reviewer", "supervisor")
def rectifications_page():
    y = yimen()
    status = request.args.get("status") if request.args.get("status") in RECT_STATUSES else None
    return render_template("rectifications.html", rows=y.rectifications(_scope(), status, limit=200)["items"],
                           status=status, statuses=RECT_STATUSES,
                           report=y.rating_report() if has_role(_me(), "supervisor") else None)


@bp.post("/rectifications/<int:rectification_id>/<verb>")
@roles_required("reviewer", "supervisor")
def rectification_action(rectification_id: int, verb: str):
    y, me, form = yimen(), _me()["id"], request.form
    if verb == "reply":
        _run(y.reply_rectification, rectification_id, form.get("reply", ""), user=me,
             ok="The reply was sent to the applicant.", refused="The reply was refused and nothing was changed:")
    elif verb == "close":
        satisfied = {"yes": True, "no": False}.get(form.get("satisfied", ""))
        _run(y.close_rectification, rectification_id, form.get("visit_answer", ""), satisfied, user=me,
             ok="The rectification is closed.", refused="Closing was refused and nothing was changed:")
    else:
        abort(404)
    return redirect(url_for("pages.rectifications_page"))


@bp.get("/ratings")
def ratings_page():
    """The public 好差评 summary: counts per score and rates, nothing personal."""
    return render_template("rectification_summary.html", summary=yimen().rating_summary())


# --- 否定备案 -----------------------------------------------------------------------------------

@bp.get("/filings")
@roles_required("supervisor")
def filings_page():
    status = request.args.get("status") if request.args.get("status") in FILING_STATUSES else None
    return render_template("filings.html", rows=yimen().negative_filings(status, limit=200)["items"],
                           status=status, statuses=FILING_STATUSES)


@bp.post("/filings/<int:filing_id>/<verb>")
@roles_required("supervisor")
def filing_action(filing_id: int, verb: str):
    y, me, note = yimen(), _me()["id"], request.form.get("note") or None
    if verb == "confirm":
        _run(y.confirm_filing, filing_id, note, user=me, ok="The negative outcome is confirmed.",
             refused="Confirming was refused and nothing was changed:")
    elif verb == "reopen":
        _run(y.reopen_filing, filing_id, note or "", user=me,
             ok="The application is handled again as a new case.",
             refused="Reopening was refused and nothing was changed:")
    else:
        abort(404)
    return redirect(url_for("pages.filings_page"))
