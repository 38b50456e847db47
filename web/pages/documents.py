"""Documents of a case: the decision (决定书) and licence (证照) with print layouts and PDFs, the public
verification page (by number or QR code), the result's delivery (统一出件) and the 告知承诺 commitment page."""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext

from engine.documents import DECISION_TITLES, LICENCE_TITLE, decision_paragraphs, licence_fields
from engine.errors import EngineError, NotFound

from ..app import yimen
from ..auth import current_user, has_role, roles_required
from ..i18n import FIELDS, REFUSAL_TEXTS
from . import PAGE_SIZE, act, bp, page_count, page_number, refusal_text, visible_case

# Refusals of the verbs of this module, told like every other (web.i18n.refusal_message).
REFUSAL_TEXTS.update({
    "invalid_input:application_invalid": "The application was not taken: correct each problem listed below and "
                                         "send it again.",
    "invalid_input:signer_mismatch": "Sign the commitment with the applicant's name exactly as on the application.",
    "invalid_input:not_a_date": "Nothing was changed: %(field)s is a date (year-month-day).",
    "invalid_input:in_the_past": "Nothing was changed: %(field)s must be a day after today.",
    "invalid_input:not_a_choice": "Nothing was changed: %(field)s has a value that is not offered. Choose one of "
                                  "the values offered.",
    "invalid_state:no_licence": "This case has no approval, so there is no licence to issue.",
    "invalid_state:licence_pending": "Issue the licence first: the decision and the licence are delivered "
                                     "together.",
    "invalid_state:no_decision": "The case has no decision yet, so there is nothing to deliver.",
    "permission_denied:window_only": "Only window staff may do this.",
    "font_missing": "The PDF cannot be made: the server has no Chinese font. The administrator installs the font "
                    "package named in the set-up guide. The print view works meanwhile.",
})
FIELDS.update({"phone": "the phone number", "address": "the address", "tracking_no": "the tracking number",
               "signer_name": "the name signed", "scan": "the scan of the signed commitment",
               "agree": "the confirmation that you read the commitment", "valid_until": "the end of validity",
               "scope": "the scope", "method": "the way to receive the result", "kind": "the applicant kind"})

# Each problem of an application (engine.validation), as a sentence.
PROBLEMS = {
    "required": "%(field)s is required.",
    "id_card_format": "The ID number must have 18 characters: 17 digits and a digit or X.",
    "id_card_birth_date": "The ID number does not contain a valid date of birth.",
    "id_card_check_digit": "The ID number is wrong: its last character does not match (check digit).",
    "credit_code_format": "The unified social credit code must have 18 digits or capital letters "
                          "(without I, O, S, V, Z).",
    "credit_code_check_digit": "The unified social credit code is wrong: its last character does not match "
                               "(check digit).",
    "phone_format": "The phone number is not valid: give a mobile number of 11 digits or a landline with its "
                    "area code.",
    "material_missing": "The required material “%(material)s” is missing: attach it.",
}


def problem_lines(exc: EngineError) -> list[str]:
    """Every problem an application was refused for, each a sentence in the page language."""
    out = []
    for p in exc.details.get("problems") or []:
        if isinstance(p, dict) and p.get("refusal") in PROBLEMS:
            out.append(gettext(PROBLEMS[p["refusal"]], field=gettext(FIELDS.get(str(p.get("field")), "the entry")),
                               material=p.get("material", "")))
    return out


def flash_refusal(exc: EngineError) -> None:
    flash(refusal_text(exc), "error")
    for line in problem_lines(exc):
        flash(line, "error")


def _back(case_id: int):
    return redirect(url_for("pages.case_page", case_id=case_id))


def _pdf_response(content: bytes, name: str):
    response = make_response(content)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _verify_url(number: str) -> str:
    return url_for("pages.verify_licence", number=number, _external=True)


# --- the decision ----------------------------------------------------------------------

def _decision(case_id: int) -> dict:
    visible_case(case_id)
    try:
        return yimen().decision_document(case_id)
    except NotFound:
        abort(404)


@bp.get("/cases/<int:case_id>/decision")
@roles_required()
def decision_page(case_id: int):
    """The decision's print layout (打印)."""
    doc = _decision(case_id)
    return render_template("decision.html", doc=doc, paragraphs=decision_paragraphs(doc), case_id=case_id)


@bp.get("/cases/<int:case_id>/decision.pdf")
@roles_required()
def decision_pdf(case_id: int):
    from engine.documents import decision_pdf as draw

    doc = _decision(case_id)
    try:
        content = draw(doc)
    except EngineError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for("pages.decision_page", case_id=case_id))
    return _pdf_response(content, f"decision-{doc['id']}.pdf")


# --- the licence ---------------------------------------------------------------------------

def _licence(case_id: int) -> dict:
    case = visible_case(case_id)
    if not case.get("licence") or not case["licence"].get("number"):
        abort(404)
    return case["licence"]


@bp.get("/cases/<int:case_id>/licence")
@roles_required()
def licence_page(case_id: int):
    licence = _licence(case_id)
    return render_template("licence.html", licence=licence, fields=licence_fields(licence), case_id=case_id,
                           title=LICENCE_TITLE, verify_url=_verify_url(licence["number"]))


@bp.get("/cases/<int:case_id>/licence.pdf")
@roles_required()
def licence_pdf(case_id: int):
    from engine.documents import licence_pdf as draw

    licence = _licence(case_id)
    try:
        content = draw(licence, _verify_url(licence["number"]))
    except EngineError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for("pages.licence_page", case_id=case_id))
    return _pdf_response(content, f"licence-{licence['number']}.pdf")


@bp.get("/licences/pending")
@roles_required("window", "supervisor")
def pending_licences_page():
    """证照待制发: the licences waiting to be issued, soonest due first, with the clock of Art. 44."""
    from engine.licences import LIST_STATES

    state = request.args.get("state")
    state = state if state in LIST_STATES else None
    page = page_number(request.args.get("page"))
    listed = yimen().pending_licences(current_user(), state, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("licences_pending.html", rows=listed["items"], total=listed["total"], page=page,
                           pages=page_count(listed["total"]), state=state, states=LIST_STATES)


@bp.post("/cases/<int:case_id>/licence/issue")
@roles_required("window")
def issue_licence(case_id: int):
    """制证 at the window."""
    visible_case(case_id)
    f = request.form
    act(yimen().issue_licence, case_id, f.get("scope") or None, f.get("valid_until") or None,
        user=current_user()["id"], success="The licence is issued")
    return _back(case_id)


# --- public verification (no sign-in) ------------------------------------------------------

@bp.get("/verify")
def verify_form():
    """Anyone checks a licence by its number (the form), or arrives from its QR code."""
    number = (request.args.get("number") or "").strip()
    if number:
        return redirect(url_for("pages.verify_licence", number=number[:40]))
    return render_template("verify.html", licence=None, number="", asked=False)


@bp.get("/verify/<number>")
def verify_licence(number: str):
    try:
        licence = yimen().verify_licence(number)
    except NotFound:
        return render_template("verify.html", licence=None, number=number[:40], asked=True), 404
    return render_template("verify.html", licence=licence, number=licence["number"], asked=True,
                           fields=licence_fields(licence), title=LICENCE_TITLE)


@bp.get("/verify/<number>/qr.png")
def licence_qr(number: str):
    """The QR code of a licence's verification page (printed on the licence)."""
    from engine.documents import qr_png

    try:
        licence = yimen().verify_licence(number)
    except NotFound:
        abort(404)
    response = make_response(qr_png(_verify_url(licence["number"])))
    response.headers["Content-Type"] = "image/png"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


# --- delivery (统一出件) -------------------------------------------------------------------------

@bp.post("/cases/<int:case_id>/delivery/<verb>")
@roles_required()
def delivery_action(case_id: int, verb: str):
    visible_case(case_id)
    y, me, f = yimen(), current_user()["id"], request.form
    try:
        if verb == "choose":
            y.choose_delivery(case_id, f.get("method", ""), f.get("address") or None, f.get("recipient") or None,
                              f.get("phone") or None, user=me)
        elif verb == "dispatch":
            y.dispatch_result(case_id, f.get("tracking_no") or None, f.get("carrier") or None, user=me)
        elif verb == "delivered":
            y.confirm_delivered(case_id, user=me)
        elif verb == "received":
            y.confirm_received(case_id, user=me)
        else:
            abort(404)
        flash("Saved", "ok")
    except EngineError as exc:
        flash_refusal(exc)
    return _back(case_id)


# --- 告知承诺: the commitment page ---------------------------------------------------------------

@bp.route("/cases/<int:case_id>/commitment", methods=["GET", "POST"])
@roles_required()
def commitment_page(case_id: int):
    """She reads the commitment and signs it; window staff record a signed paper one with its scan."""
    case = visible_case(case_id)
    if not case.get("commitment"):
        abort(404)
    me = current_user()
    mine = me["id"] in (case["applicant"]["user"], (case.get("agent") or {}).get("user"))
    if request.method == "POST":
        f, y = request.form, yimen()
        try:
            if f.get("mode") == "paper":
                scan = request.files.get("scan")
                y.record_paper_commitment(case_id, f.get("signer_name", ""), scan.filename if scan else "",
                                          scan.read() if scan else b"", user=me["id"])
            else:
                y.sign_commitment(case_id, f.get("agree") == "yes", f.get("signer_name", ""), user=me["id"])
            flash("The commitment is signed", "ok")
            return _back(case_id)
        except EngineError as exc:
            flash_refusal(exc)
            return redirect(url_for("pages.commitment_page", case_id=case_id))
    return render_template("commitment.html", case=case, commitment=case["commitment"], mine=mine,
                           window=has_role(me, "window"))


__all__ = ["DECISION_TITLES", "problem_lines", "flash_refusal"]
