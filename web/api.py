"""The JSON API under ``/api/``: what the pages do, for other systems.

Authentication: ``Authorization: Bearer <token>`` (``POST /api/tokens``), or
the page session cookie; a cookie-authenticated call that changes something
must carry the ``X-CSRFToken`` header (the token pages embed). Errors are
``{"error": {"code", "message", "reason", "details"}}`` with the engine's stable codes: ``message`` in the
caller's language (``Accept-Language``), ``reason`` the engine's English message.
Lists are paginated: ``?limit=&offset=`` → ``{"items", "total", "limit", "offset"}``.

Every endpoint is one row of ``ENDPOINTS``; the OpenAPI document
(``/api/openapi.json``) is generated from the same rows, so it cannot miss one.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint, Response, g, jsonify, request, session
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from engine.errors import EngineError, NotFound, PermissionDenied, ValidationError

from .app import csrf, yimen

bp = Blueprint("api", __name__, url_prefix="/api")
MAX_ID = 2**31 - 1  # ids and offsets beyond a 32-bit integer cannot exist (and overflow the databases)
MAX_DAY_NAME = 100  # characters of a calendar day's name (calendar_day.name)
csrf.exempt(bp)

STATUS = {"invalid_input": 400, "bpmn_invalid": 400, "expression_error": 422, "permission_denied": 403,
          "not_found": 404, "invalid_state": 409, "conflict": 409, "calendar_missing": 409,
          "handler_failed": 409, "workflow_error": 409, "unauthenticated": 401, "database_busy": 503,
          "session_ended": 401, "token_expired": 401, "account_inactive": 401, "too_many_attempts": 429,
          "font_missing": 503}


def error(code: str, message: str, status: int | None = None, details: dict | None = None, reason: str | None = None):
    body = {"code": code, "message": message, "details": details or {}}
    if reason is not None:
        body["reason"] = reason
    return jsonify({"error": body}), status or STATUS.get(code, 400)


@bp.errorhandler(EngineError)
def _engine_error(exc: EngineError):
    """``message`` tells the refusal in the caller's language (``Accept-Language``: zh or en, English by default),
    built from the code and details; ``reason`` is the engine's English message, for logs."""
    from .i18n import problem_text, refusal_message

    details = {k: v for k, v in exc.details.items() if _jsonable(v)}
    if exc.code == "bpmn_invalid" and isinstance(details.get("problems"), list):
        # a refused deployment: each problem also told in the caller's language (``reason`` stays English)
        details["problems"] = [dict(p, message=problem_text(p, html=False)) if isinstance(p, dict) else p
                               for p in details["problems"]]
    response, status = error(exc.code, refusal_message(exc.code, exc.details, reason=exc.message),
                             details=details, reason=exc.message)
    if getattr(exc, "retry_after", None):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response, status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return error(exc.name.lower().replace(" ", "_"), exc.description or exc.name, exc.code)


def _jsonable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, list, dict, type(None)))


# --- who is calling -------------------------------------------------------------------

def caller() -> dict[str, Any]:
    return g.api_user


@bp.before_request
def _authenticate():
    if request.endpoint == "api.openapi":
        return None
    if any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in (request.view_args or {}).values()):
        return error("not_found", "no such id", 404)
    header = request.headers.get("Authorization", "")
    user = None
    if header.startswith("Bearer "):
        try:  # unknown or revoked, expired, or the account deactivated: each its own code, all 401
            user = yimen().token_user(header[7:].strip())
        except EngineError as exc:
            if exc.code not in ("unauthenticated", "token_expired", "account_inactive"):
                raise
            return error(exc.code, exc.message, 401, details={k: v for k, v in exc.details.items() if _jsonable(v)})
    elif session.get("user"):
        from .auth import session_check

        user, ended = session_check()
        if ended is not None:  # signed out, out of date or deactivated (see web.auth)
            return error("session_ended", ended.message, 401, details={"refusal": ended.details.get("refusal")})
        if user is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
            try:
                validate_csrf(request.headers.get("X-CSRFToken", ""))
            except (CSRFError, Exception):  # noqa: BLE001 - any CSRF failure is the same refusal
                return error("csrf_failed", "a signed-in browser call must send the X-CSRFToken header", 400)
    if user is None:
        return error("unauthenticated", "sign in or send 'Authorization: Bearer <token>'")
    g.api_user = user
    return None


def _require(*roles: str) -> None:
    user = caller()
    if user.get("admin") or set(roles) & set(user.get("roles") or []):
        return
    raise PermissionDenied(f"this needs one of the roles {', '.join(roles)}")


def _body() -> dict[str, Any]:
    from .inputs import json_body

    data = json_body()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationError("the request body must be a JSON object")
    return data


def _field(data: dict, name: str, kind: type | tuple, required: bool = True, default: Any = None) -> Any:
    if name not in data or data[name] is None:
        if required:
            raise ValidationError(f"'{name}' is required")
        return default
    value = data[name]
    if isinstance(value, bool) and kind in (int, (int,)):
        raise ValidationError(f"'{name}' must be {kind}")
    if not isinstance(value, kind):
        raise ValidationError(f"'{name}' has the wrong type")
    return value


def _page() -> tuple[int, int]:
    try:
        limit = int(request.args.get("limit", 50))
        offset = int(request.args.get("offset", 0))
    except ValueError as exc:
        raise ValidationError("limit and offset are whole numbers") from exc
    if not 1 <= limit <= 500 or not 0 <= offset <= MAX_ID:
        raise ValidationError(f"limit is 1-500 and offset 0-{MAX_ID}")
    return limit, offset


def _paged(items: list) -> dict:
    limit, offset = _page()
    return {"items": items[offset:offset + limit], "total": len(items), "limit": limit, "offset": offset}


def _task(task_id: str) -> dict:
    """The task if the caller may see it (NotFound otherwise, also for another department's)."""
    return yimen().visible_task(task_id, caller())


def _case(case_id: int) -> dict:
    return yimen().visible_case(case_id, caller())


def _materials(data: dict) -> list[dict]:
    materials = _field(data, "materials", list, required=False, default=[])
    out = []
    for entry in materials:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValidationError("each material is {name, filename, content_base64}")
        try:
            content = base64.b64decode(entry.get("content_base64") or "", validate=True)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise ValidationError(f"material '{entry['name']}': content_base64 is not base64") from exc
        out.append({"name": entry["name"], "filename": str(entry.get("filename") or entry["name"]),
                    "content": content})
    return out


# --- endpoints ---------------------------------------------------------------------------

@dataclass
class Endpoint:
    method: str
    path: str           # Flask rule
    summary: str
    view: Callable
    body: dict[str, Any] | None = None   # JSON schema of the request body
    query: list[str] = field(default_factory=list)
    paged: bool = False


def me():
    return caller()


def list_pending_licences():
    limit, offset = _page()
    return yimen().pending_licences(caller(), request.args.get("state") or None, limit=limit, offset=offset)


def list_staff():
    _require("window", "reviewer", "supervisor")
    return _paged(yimen().staff_directory(request.args.get("q") or None, request.args.get("department") or None))


def get_notice_prefs():
    return yimen().notice_prefs(caller()["id"])


def set_notice_prefs():
    """``{"email", "sms"}`` (every category, the form before per-category settings) and/or ``{"categories"}``;
    the command checks the values."""
    data = _body()
    unknown = sorted(set(data) - {"email", "sms", "categories"})
    if unknown:
        raise ValidationError(f"unknown fields {unknown}; give email, sms and/or categories", refusal="unknown_field")
    return yimen().set_notice_prefs(caller()["id"], data.get("email"), data.get("sms"), user=caller()["id"],
                                    categories=data.get("categories"))


def create_token():
    data = _body()
    return yimen().create_token(caller()["id"], _field(data, "name", str), user=caller()["id"],
                                expires_in_days=_field(data, "expires_in_days", int, False)), 201


def list_tokens():
    """The caller's tokens (never the secret): created, expires, last used, state."""
    return yimen().tokens(caller()["id"])


def set_user_active(user_id: str):
    data = _body()  # the engine refuses anyone but an administrator
    return yimen().set_user_active(user_id, _field(data, "active", bool), user=caller()["id"])



def revoke_token(token_id: int):
    return yimen().revoke_token(token_id, user=caller()["id"])


def list_items():
    return _paged(yimen().items())


def get_item(code: str):
    return yimen().item(code)


def deploy():
    _require("designer")
    files = [(f.filename or "upload.bpmn", f.read()) for f in request.files.getlist("files")]
    if not files:
        raise ValidationError("upload one or more BPMN/DMN files as multipart field 'files'")
    from .i18n import problem_text

    result = yimen().deploy(files, user=caller()["id"])
    result["warnings"] = [dict(w, message=problem_text(w, html=False)) for w in result.get("warnings") or []]
    return result, 201


def list_tasks():
    limit, offset = _page()
    args = request.args
    return yimen().inbox(caller(), scope=args.get("scope") or "all", item=args.get("item") or None,
                         status=args.get("status") or None, card=args.get("card") or None,
                         due=args.get("due") or None, limit=limit, offset=offset, total=_flag("total") is not False)


def get_task(task_id: str):
    return _task(task_id)


def task_verb(task_id: str, verb: str):
    y, me_id = yimen(), caller()["id"]
    with y.seen_by(caller(), task_id=task_id):  # the verb's command checks first that the caller may see the step
        data = _body()
        verbs: dict[str, Callable[[], Any]] = {
            "claim": lambda: y.claim(task_id, user=me_id),
            "unclaim": lambda: y.unclaim(task_id, user=me_id),
            "complete": lambda: y.complete(task_id, _field(data, "data", dict, False, {}), user=me_id),
            "decide": lambda: y.decide(task_id, _field(data, "approved", bool), _field(data, "opinion", str),
                                       user=me_id),
            "transfer": lambda: y.transfer(task_id, _field(data, "to", str), _field(data, "reason", str, False),
                                           user=me_id),
            "delegate": lambda: y.delegate(task_id, _field(data, "to", str), _field(data, "note", str, False),
                                           user=me_id),
            "return": lambda: y.return_to(task_id, _field(data, "to", str), _field(data, "reason", str), user=me_id),
            "withdraw": lambda: y.withdraw(task_id, user=me_id),
            "add-signer": lambda: y.add_signer(task_id, _field(data, "signer", str),
                                               _field(data, "position", str, False, "after"), user=me_id),
            "remove-signer": lambda: y.remove_signer(task_id, _field(data, "signer", str), user=me_id),
            "verify": lambda: y.verify_commitment(task_id, _field(data, "commitment_true", bool),
                                                  _field(data, "note", str), user=me_id),
        }
        if verb not in verbs:
            raise NotFound(f"unknown task action '{verb}'")
        return verbs[verb]()


def apply():
    data = _body()
    applicant = _field(data, "applicant", dict)
    agent = None
    if _field(data, "as_agent", bool, False, False):  # 代办: the caller applies for the named applicant
        agent = {"name": caller().get("name") or caller()["id"], "user": caller()["id"]}
        applicant = {k: v for k, v in applicant.items() if k != "user"}
    else:
        applicant = {**applicant, "user": caller()["id"]}
    result = yimen().submit(_field(data, "item", str), applicant, _materials(data),
                            _field(data, "form", dict, False, {}), agent=agent, user=caller()["id"],
                            idempotency_key=request.headers.get("Idempotency-Key"),
                            online=_field(data, "check", bool, False, False),
                            region=_field(data, "region", str, False))
    if result.pop("replayed", False):  # the same application sent again with its key: the first case
        return result, 200, {"Idempotent-Replayed": "true"}
    return result, 201


def list_authorisations():
    limit, offset = _page()
    args = request.args
    return yimen().authorisations(caller(), agent=args.get("agent") or None, id_no=args.get("id_no") or None,
                                  status=args.get("status") or None, limit=limit, offset=offset)


def authorise_agent():
    data = _body()
    scan = _field(data, "scan", dict, False)
    if scan is not None:
        try:
            content = base64.b64decode(scan.get("content_base64") or "", validate=True)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise ValidationError("scan: content_base64 is not base64", field="scan") from exc
        scan = {"filename": str(scan.get("filename") or "authorisation.pdf"), "content": content}
    return yimen().authorise_agent(_field(data, "agent", str), _field(data, "applicant", dict, False, {}),
                                   _field(data, "valid_until", str), _field(data, "scope", list, False),
                                   _field(data, "valid_from", str, False), scan, user=caller()["id"]), 201


def revoke_authorisation(authorisation_id: int):
    return yimen().revoke_authorisation(authorisation_id, user=caller()["id"])


def verify_identity(user_id: str):
    data = _body()
    return yimen().verify_identity(user_id, _field(data, "kind", str), _field(data, "name", str),
                                   _field(data, "id_no", str), user=caller()["id"])


def list_enquiries():
    limit, offset = _page()
    return yimen().enquiry_list(caller(), status=request.args.get("status") or None, limit=limit, offset=offset)


def record_enquiry():
    data = _body()
    return yimen().record_enquiry(_field(data, "applicant_name", str), _field(data, "question", str),
                                  _field(data, "item", str, False), _field(data, "department", str, False),
                                  _field(data, "contact", str, False), user=caller()["id"]), 201


def answer_enquiry(enquiry_id: int):
    return yimen().answer_enquiry(enquiry_id, _field(_body(), "answer", str), user=caller()["id"])


def agent_registry():
    return _paged(yimen().agent_registry())


def list_cases():
    limit, offset = _page()
    args = request.args
    return yimen().case_list(caller(), status=args.get("status") or None, item=args.get("item") or None,
                             number=args.get("number") or None, applicant=args.get("applicant") or None,
                             id_no=args.get("id_no") or None, submitted_from=args.get("submitted_from") or None,
                             submitted_to=args.get("submitted_to") or None, level=args.get("level") or None,
                             region=args.get("region") or None, limit=limit, offset=offset)


def get_case(case_id: int):
    return _case(case_id)


def case_verb(case_id: int, verb: str):
    y, me_id = yimen(), caller()["id"]
    with y.seen_by(caller(), case_id=case_id):  # the verb's command checks first that the caller may see the case
        data = _body()
        verbs: dict[str, Callable[[], Any]] = {
            "accept": lambda: y.accept(case_id, _field(data, "opinion", str, False), user=me_id),
            "not-accept": lambda: y.not_accept(case_id, _field(data, "reason", str),
                                               _field(data, "competent_office", str, False), user=me_id),
            "correction": lambda: y.request_correction(case_id, _field(data, "problems", list), user=me_id,
                                                       second_notice_reason=_field(data, "second_notice_reason", str,
                                                                                   False)),
            "tolerate": lambda: y.accept_with_missing(case_id, _field(data, "supplement_days", int, False),
                                                      _field(data, "opinion", str, False), user=me_id),
            "supplement": lambda: y.supplement(case_id, _materials(data), user=me_id),
            "resubmit": lambda: y.resubmit(case_id, _materials(data), _field(data, "note", str, False), user=me_id,
                                           applicant=_field(data, "applicant", dict, False),
                                           form=_field(data, "form", dict, False)),
            "issue-licence": lambda: y.issue_licence(case_id, _field(data, "scope", str, False),
                                                     _field(data, "valid_until", str, False), user=me_id),
            "delivery": lambda: y.choose_delivery(case_id, _field(data, "method", str),
                                                  _field(data, "address", str, False),
                                                  _field(data, "recipient", str, False),
                                                  _field(data, "phone", str, False), user=me_id),
            "dispatch": lambda: y.dispatch_result(case_id, _field(data, "tracking_no", str, False),
                                                  _field(data, "carrier", str, False), user=me_id),
            "delivered": lambda: y.confirm_delivered(case_id, user=me_id),
            "received": lambda: y.confirm_received(case_id, user=me_id),
            "sign-commitment": lambda: y.sign_commitment(case_id, _field(data, "agree", bool),
                                                         _field(data, "signer_name", str), user=me_id),
            "paper-commitment": lambda: _paper_commitment(case_id, data, me_id),
            "extend": lambda: y.request_extension(case_id, _field(data, "reason", str), user=me_id),
            "withdraw": lambda: y.withdraw_application(case_id, _field(data, "reason", str, False), user=me_id,
                                                       staff_suggested=_field(data, "staff_suggested", bool, False,
                                                                              False)),
            "terminate": lambda: y.terminate_case(case_id, _field(data, "reason", str), user=me_id),
            "special-procedure": lambda: y.start_special_procedure(
                case_id, _field(data, "kind", str), _field(data, "reason", str), _field(data, "expected_days", int),
                user=me_id),
            "end-special-procedure": lambda: y.end_special_procedure(case_id, _field(data, "result", str), user=me_id),
            "urge": lambda: y.urge(_case(case_id)["instance"], _field(data, "message", str, False), user=me_id),
            "copy": lambda: y.carbon_copy(_case(case_id)["instance"], _field(data, "users", list),
                                          _field(data, "note", str, False), user=me_id),
            "rate": lambda: y.rate_case(case_id, _field(data, "score", int), _field(data, "comment", str, False),
                                        user=me_id),
        }
        if verb not in verbs:
            raise NotFound(f"unknown case action '{verb}'")
        return verbs[verb]()


def _paper_commitment(case_id: int, data: dict, me_id: str):
    try:
        scan = base64.b64decode(_field(data, "scan_base64", str), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("scan_base64 is not base64", field="scan", refusal="required") from exc
    return yimen().record_paper_commitment(case_id, _field(data, "signer_name", str),
                                           _field(data, "filename", str, False, "commitment.pdf"), scan, user=me_id)


def get_decision(case_id: int):
    _case(case_id)
    return yimen().decision_document(case_id)


def get_decision_pdf(case_id: int):
    from flask import make_response

    from engine.documents import decision_pdf

    _case(case_id)
    response = make_response(decision_pdf(yimen().decision_document(case_id)))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="decision-{case_id}.pdf"'
    return response


def verify_licence(number: str):
    return yimen().verify_licence(number)


def _args(*names: str) -> dict:
    return {name: request.args.get(name) or None for name in names}


def _flag(name: str) -> bool | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if value not in ("true", "false"):
        raise ValidationError(f"{name} is true or false")
    return value == "true"


def supervision_watches():
    _require("supervisor", "reviewer")
    limit, offset = _page()
    return yimen().watches(caller(), **_args("department", "state", "item"), limit=limit, offset=offset)


def supervision_due():
    _require("supervisor", "reviewer")
    try:
        days = int(request.args.get("working_days", 2))
    except ValueError as exc:
        raise ValidationError("working_days is a whole number") from exc
    if not 0 <= days <= 60:
        raise ValidationError("working_days is 0-60")
    limit, offset = _page()
    return yimen().due_within(days, department=request.args.get("department") or None, limit=limit, offset=offset,
                              user=caller())


def _period() -> dict:
    args = _args("from", "to", "department", "item")
    return {"date_from": args["from"], "date_to": args["to"], "department": args["department"], "item": args["item"]}


def supervision_overview():
    _require("supervisor")
    return yimen().supervision_overview(**_period())


def supervision_overview_csv():
    _require("supervisor")
    from .pages.supervision import dashboard_csv, names

    return dashboard_csv(yimen().supervision_overview(**_period()), names())


def list_cases_csv():
    _require("supervisor", "reviewer", "window")
    from .pages.supervision import case_filters, cases_csv

    return cases_csv(caller(), case_filters(request.args))


def list_cards():
    _require("supervisor", "reviewer")
    limit, offset = _page()
    return yimen().cards(caller(), **_args("department", "status", "color", "item"),
                         issued_from=request.args.get("from") or None, issued_to=request.args.get("to") or None,
                         limit=limit, offset=offset)


def card_verb(card_id: int, verb: str):
    data, y, me_id = _body(), yimen(), caller()["id"]
    verbs: dict[str, Callable[[], Any]] = {
        "confirm": lambda: y.confirm_card(card_id, _field(data, "confirm", bool, False, True),
                                          _field(data, "note", str, False), user=me_id),
        "appeal": lambda: y.appeal_card(card_id, _field(data, "reason", str), user=me_id),
        "decide": lambda: y.decide_appeal(card_id, _field(data, "granted", bool), _field(data, "note", str),
                                          user=me_id),
    }
    if verb not in verbs:
        raise NotFound(f"unknown card action '{verb}'")
    return verbs[verb]()


def issue_order():
    data = _body()
    return yimen().issue_order(_field(data, "content", str), _field(data, "deadline_days", int),
                               case_id=_field(data, "case", int, False), department=_field(data, "department", str, False),
                               assignee=_field(data, "assignee", str, False), user=caller()["id"]), 201


def list_orders():
    _require("supervisor", "reviewer", "window")
    limit, offset = _page()
    return yimen().orders(caller(), **_args("department", "assignee", "status"), overdue=_flag("overdue"),
                          issued_from=request.args.get("from") or None, issued_to=request.args.get("to") or None,
                          limit=limit, offset=offset)


def order_verb(order_id: int, verb: str):
    data, y, me_id = _body(), yimen(), caller()["id"]
    verbs: dict[str, Callable[[], Any]] = {
        "answer": lambda: y.answer_order(order_id, _field(data, "reply", str), user=me_id),
        "close": lambda: y.close_order(order_id, user=me_id),
    }
    if verb not in verbs:
        raise NotFound(f"unknown order action '{verb}'")
    return verbs[verb]()


def list_processes():
    _require("designer", "supervisor")
    return _paged(yimen().process_versions())


def get_diagram(definition_id: int):
    _require("designer", "window", "reviewer", "supervisor")
    y = yimen()
    return {"definition": y.definition(definition_id),
            "bpmn": y.diagram_xml(definition_id).decode("utf-8", errors="replace")}


def bind_item(code: str):
    data = _body()
    return yimen().bind_item(code, _field(data, "process_key", str), _field(data, "process_version", int, False),
                             user=caller()["id"])


def case_marks(case_id: int):
    return yimen().instance_marks(_case(case_id)["instance"])


def case_audit(case_id: int):
    _require("supervisor")
    return _paged(yimen().audit_trail(_case(case_id)["instance"]))


def list_incidents():
    _require("supervisor")
    limit, offset = _page()
    return yimen().incident_list(caller(), **_args("handler", "department"),
                                 created_from=request.args.get("from") or None,
                                 created_to=request.args.get("to") or None, limit=limit, offset=offset)


def retry_incident(incident_id: int):
    _require("supervisor")
    return yimen().retry_incident(incident_id, user=caller()["id"])


def list_notifications():
    from .notices import notice_text

    notes = yimen().notifications(caller()["id"])
    for note in notes:  # in the language the caller asked for (Accept-Language); the stored text stays as it is
        note["title"], note["text"] = notice_text(note)
    return _paged(notes)


def calendar_overview():
    return yimen().calendar_overview()


def calendar_year(year: int):
    return yimen().calendar_year_view(year)


def calendar_import():
    data = _body()  # the engine refuses anyone but an administrator
    return yimen().import_calendar(_field(data, "text", str), _field(data, "format", str, False, "csv"),
                                   user=caller()["id"])


def calendar_set_day(day: str):
    data = _body()
    name = _field(data, "name", str, False)
    if name is not None and len(name) > MAX_DAY_NAME:  # the column's size; a longer one would fail in the database
        raise ValidationError(f"'name' is at most {MAX_DAY_NAME} characters")
    return yimen().set_calendar_day(day, _field(data, "kind", str), name, user=caller()["id"])


_STR = {"type": "string"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_MATERIALS = {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
    "name": _STR, "filename": _STR, "content_base64": {"type": "string", "format": "byte"}}}}


def _obj(required: list[str], **props) -> dict:
    return {"type": "object", "required": required, "properties": props}


ENDPOINTS = [
    Endpoint("GET", "/me", "the caller", me),
    Endpoint("GET", "/staff", "active staff by department and name, for choosing whom to copy (抄送) or hand a "
             "step to (staff only)", list_staff, query=["q", "department"], paged=True),
    Endpoint("GET", "/me/notice-preferences", "whether your notices also come by e-mail and by SMS (短信), per "
             "category of notice", get_notice_prefs),
    Endpoint("PUT", "/me/notice-preferences", "choose e-mail and SMS for all your notices or per category (the "
             "in-app notice always stays; notices the law requires keep one outside channel)", set_notice_prefs,
             {"type": "object", "properties": {"email": _BOOL, "sms": _BOOL, "categories": {
                 "type": "object", "additionalProperties": {"type": "object", "properties": {
                     "email": _BOOL, "sms": _BOOL}}}}}),
    Endpoint("POST", "/tokens", "create an API token for yourself (shown once)", create_token,
             _obj(["name"], name=_STR, expires_in_days={"type": "integer", "minimum": 1, "maximum": 365})),
    Endpoint("GET", "/tokens", "your API tokens: created, expires, last used (never the secret)", list_tokens),
    Endpoint("POST", "/users/<user_id>/active", "deactivate (停用) or reactivate an account (administrators)",
             set_user_active, _obj(["active"], active=_BOOL)),
    Endpoint("DELETE", "/tokens/<int:token_id>", "revoke a token", revoke_token),
    Endpoint("GET", "/items", "the service-item catalogue", list_items, paged=True),
    Endpoint("GET", "/items/<code>", "one service item (its service guide)", get_item),
    Endpoint("POST", "/items/<code>/bind", "bind an item to a deployed process (designers)", bind_item,
             _obj(["process_key"], process_key=_STR, process_version=_INT)),
    Endpoint("GET", "/processes", "deployed processes, their versions and the cases running on each", list_processes,
             paged=True),
    Endpoint("GET", "/processes/versions/<int:definition_id>/diagram", "the BPMN XML of a version, as uploaded",
             get_diagram),
    Endpoint("POST", "/deployments", "deploy BPMN/DMN files (multipart field 'files'; designers)", deploy),
    Endpoint("GET", "/tasks", "open tasks the caller may see, due soonest first", list_tasks,
             query=["scope", "item", "status", "card", "due", "total"], paged=True),
    Endpoint("GET", "/tasks/<task_id>", "one open task", get_task),
    Endpoint("POST", "/tasks/<task_id>/<verb>", "claim, unclaim, complete, decide, transfer, delegate, return, "
             "withdraw, add-signer, remove-signer, verify", task_verb,
             _obj([], data={"type": "object"}, approved=_BOOL, opinion=_STR, to=_STR, reason=_STR, note=_STR,
                  signer=_STR, position={"type": "string", "enum": ["before", "after"]}, commitment_true=_BOOL)),
    Endpoint("POST", "/cases", "apply for a service item (as_agent: for the named applicant, under her "
             "authorisation)", apply,
             _obj(["item", "applicant"], item=_STR, applicant=_obj(["name"], name=_STR, kind=_STR, id_no=_STR),
                  materials=_MATERIALS, form={"type": "object"}, as_agent=_BOOL, check=_BOOL, region=_STR)),
    Endpoint("GET", "/authorisations", "agent authorisations (委托书) the caller may see, newest first",
             list_authorisations, query=["agent", "id_no", "status"], paged=True),
    Endpoint("POST", "/authorisations", "grant an agent authorisation online (verified account), or record a "
             "signed paper one with its scan (window staff)", authorise_agent,
             _obj(["agent", "valid_until"], agent=_STR, valid_until=_STR, valid_from=_STR,
                  scope={"type": "array", "items": _STR},
                  applicant=_obj(["name", "id_no"], name=_STR, kind=_STR, id_no=_STR),
                  scan=_obj(["content_base64"], filename=_STR, content_base64={"type": "string", "format": "byte"}))),
    Endpoint("POST", "/authorisations/<int:authorisation_id>/revoke", "revoke an agent authorisation",
             revoke_authorisation),
    Endpoint("POST", "/users/<user_id>/identity", "record the identity verified in person (实名认证; window staff)",
             verify_identity, _obj(["kind", "name", "id_no"], kind=_STR, name=_STR, id_no=_STR)),
    Endpoint("GET", "/agents", "the centre's 代办 agents with their cases and ratings", agent_registry,
             paged=True),
    Endpoint("GET", "/enquiries", "first-contact enquiries (首问负责) the caller may see, open first", list_enquiries,
             query=["status"], paged=True),
    Endpoint("POST", "/enquiries", "record an enquiry as the first staff member met; it is routed to the item's "
             "office", record_enquiry, _obj(["applicant_name", "question"], applicant_name=_STR, question=_STR,
                                             item=_STR, department=_STR, contact=_STR)),
    Endpoint("POST", "/enquiries/<int:enquiry_id>/answer", "answer an enquiry routed to your office", answer_enquiry,
             _obj(["answer"], answer=_STR)),
    Endpoint("GET", "/cases", "cases the caller may see, newest first", list_cases,
             query=["status", "item", "number", "applicant", "id_no", "submitted_from", "submitted_to", "level",
                    "region"], paged=True),
    Endpoint("GET", "/cases/<int:case_id>", "one case with materials, opinions, notices and its clock", get_case),
    Endpoint("POST", "/cases/<int:case_id>/<verb>", "accept, not-accept, correction, tolerate, supplement, resubmit, extend, "
             "withdraw, terminate, special-procedure, end-special-procedure, urge, copy (抄送), rate, issue-licence (制证), "
             "delivery (choose pickup or post), dispatch, delivered, received, sign-commitment, paper-commitment",
             case_verb,
             _obj([], users={"type": "array", "items": _STR}, second_notice_reason=_STR, score={"type": "integer", "minimum": 1, "maximum": 5}, comment=_STR, note=_STR, opinion=_STR, reason=_STR, competent_office=_STR, supplement_days=_INT, kind=_STR,
                  expected_days=_INT, result=_STR, message=_STR, materials=_MATERIALS,
                  problems={"type": "array", "items": _obj(["problem"], problem=_STR, material=_STR)},
                  applicant={"type": "object"}, form={"type": "object"}, scope=_STR, valid_until=_STR,
                  method={"type": "string", "enum": ["pickup", "post"]}, address=_STR, recipient=_STR, phone=_STR,
                  tracking_no=_STR, carrier=_STR, agree=_BOOL, signer_name=_STR, filename=_STR,
                  scan_base64={"type": "string", "format": "byte"})),
    Endpoint("GET", "/cases/<int:case_id>/decision", "the case's written decision (准予/不予行政许可决定书)",
             get_decision),
    Endpoint("GET", "/cases/<int:case_id>/decision.pdf", "the decision as a PDF (application/pdf)", get_decision_pdf),
    Endpoint("GET", "/licences/pending", "证照待制发: licences waiting to be issued with their 10-working-day clock "
             "(due, warning, state), soonest due first (window staff, supervisors)", list_pending_licences,
             query=["state"], paged=True),
    Endpoint("GET", "/licences/<number>", "verify a licence by its number: status, holder, scope, validity, office",
             verify_licence),
    Endpoint("GET", "/cases/<int:case_id>/marks", "completed, active, overdue and failed steps of its diagram",
             case_marks),
    Endpoint("GET", "/cases/<int:case_id>/audit", "the case's audit trail (supervisors)", case_audit, paged=True),
    Endpoint("GET", "/supervision/watches", "running clocks by department and state (reviewers: their department's)",
             supervision_watches, query=["department", "state", "item"], paged=True),
    Endpoint("GET", "/supervision/due", "everything due within N working days (reviewers: their department's)",
             supervision_due, query=["working_days", "department"], paged=True),
    Endpoint("GET", "/supervision/overview", "the dashboard over a period (from, to: YYYY-MM-DD): counts by "
             "department, item and card state, on-time rates, average working days, cards over time",
             supervision_overview, query=["from", "to", "department", "item"]),
    Endpoint("GET", "/supervision/overview.csv", "the dashboard's figures as CSV (UTF-8 with BOM)",
             supervision_overview_csv, query=["from", "to", "department", "item"]),
    Endpoint("GET", "/cases.csv", "the case list as CSV (UTF-8 with BOM; the filters of GET /cases)", list_cases_csv,
             query=["status", "item", "number", "applicant", "id_no", "submitted_from", "submitted_to"]),
    Endpoint("GET", "/cards", "cards, newest first (supervisors: all; reviewers: their department's)", list_cards,
             query=["status", "color", "department", "item", "from", "to"], paged=True),
    Endpoint("POST", "/cards/<int:card_id>/<verb>", "confirm, appeal or decide an appeal", card_verb,
             _obj([], confirm=_BOOL, note=_STR, reason=_STR, granted=_BOOL)),
    Endpoint("POST", "/orders", "issue a supervision order (督办)", issue_order,
             _obj(["content", "deadline_days"], content=_STR, deadline_days=_INT, case=_INT, department=_STR,
                  assignee=_STR)),
    Endpoint("GET", "/orders", "supervision orders, newest first (supervisors: all; staff: theirs and their "
             "department's)", list_orders, query=["status", "overdue", "department", "assignee", "from", "to"],
             paged=True),
    Endpoint("POST", "/orders/<int:order_id>/<verb>", "answer or close a supervision order", order_verb,
             _obj([], reply=_STR)),
    Endpoint("GET", "/incidents", "open incidents, oldest first (supervisors)", list_incidents,
             query=["handler", "department", "from", "to"], paged=True),
    Endpoint("POST", "/incidents/<int:incident_id>/retry", "retry a failed service task", retry_incident),
    Endpoint("GET", "/notifications", "the caller's in-app notices", list_notifications, paged=True),
    Endpoint("GET", "/calendar", "the working-day calendar's years, official or provisional (暂定)",
             calendar_overview),
    Endpoint("GET", "/calendar/<int:year>", "one year day by day: kind (holiday, workday, normal), name, working",
             calendar_year),
    Endpoint("POST", "/calendar/import", "enter whole years from a CSV or JSON file and recompute the deadlines "
             "they move (administrators)", calendar_import,
             _obj(["text"], text=_STR, format={"type": "string", "enum": ["csv", "json"]})),
    Endpoint("PUT", "/calendar/days/<day>", "mark one day holiday, make-up working day or normal and recompute "
             "(administrators)", calendar_set_day,
             _obj(["kind"], kind={"type": "string", "enum": ["holiday", "workday", "normal"]},
                  name={"type": "string", "maxLength": MAX_DAY_NAME})),
]


def _wrap(endpoint: Endpoint):
    def view(**kwargs):
        result = endpoint.view(**kwargs)
        if isinstance(result, Response):  # a file (the decision's PDF)
            return result
        status, headers = 200, {}
        if isinstance(result, tuple):
            result, status, *more = result
            headers = more[0] if more else {}
        return jsonify(result), status, headers
    view.__name__ = f"{endpoint.view.__name__}_{endpoint.method.lower()}"
    return view


from .api_reform import REFORM_ENDPOINTS  # noqa: E402  (credit, 审管联动, rectification, filings: issue 16)
from .api_levels import LEVEL_ENDPOINTS  # noqa: E402  (放权: the implementation list, issue 16)
from .api_bundles import BUNDLE_ENDPOINTS  # noqa: E402  (一件事 / 一链办理: issue 16)

ENDPOINTS += REFORM_ENDPOINTS + LEVEL_ENDPOINTS + BUNDLE_ENDPOINTS

for _endpoint in ENDPOINTS:
    bp.add_url_rule(_endpoint.path, view_func=_wrap(_endpoint), methods=[_endpoint.method])


@bp.get("/openapi.json")
def openapi():
    from .openapi import document

    return jsonify(document(ENDPOINTS))

