"""The JSON API of the reform mechanisms (issue 16): credit, 审管联动, 好差评 rectification, 否定备案.

Rows of ``REFORM_ENDPOINTS`` join ``web.api.ENDPOINTS`` (and so the OpenAPI document). Each view checks
the coarse role and calls one facade method; the engine checks the right again on the loaded row.
"""
from __future__ import annotations

from typing import Any, Callable

from flask import request

from engine.errors import NotFound, ValidationError

from .api import _BOOL, _INT, _STR, Endpoint, _body, _case, _field, _obj, _page, _require, caller
from .app import yimen


def _scope() -> str | None:
    """None for supervisors and administrators (everything); a member of staff's own department otherwise."""
    user = caller()
    if user.get("admin") or "supervisor" in (user.get("roles") or []):
        return None
    if not user.get("department"):
        raise NotFound("you belong to no department")
    return user["department"]


def credit_entries():
    _require("window", "supervisor")
    limit, offset = _page()
    return yimen().credit_entries(request.args.get("search") or None, limit, offset)


def credit_profile(id_no: str):
    _require("window", "supervisor")
    return yimen().credit_profile(id_no)


def credit_import():
    data = _body()  # the engine refuses anyone but an administrator
    return yimen().import_credit_list(_field(data, "text", str), _field(data, "name", str, False),
                                      user=caller()["id"]), 201


def credit_check(case_id: int):
    _case(case_id)
    return yimen().credit_check(case_id, user=caller()["id"]), 201


def case_reform(case_id: int):
    _case(case_id)
    return yimen().reform_of_case(case_id)


def reform_settings(code: str):
    data = _body()
    return yimen().save_reform_settings(code, _field(data, "green_channel_days", int, False),
                                        _field(data, "rectification_days", int, False), user=caller()["id"])


def linkage_list():
    return {"items": yimen().linkage_list(request.args.get("item") or None)}


def linkage_export():
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ValidationError("format is json or csv")
    return {"format": fmt, "content": yimen().export_linkage(fmt)}


def linkage_import():
    data = _body()
    return yimen().import_linkage(_field(data, "text", str), _field(data, "format", str, False, "json"),
                                  user=caller()["id"])


def linkage_pushes():
    _require("reviewer", "supervisor")
    limit, offset = _page()
    opened = {"yes": True, "no": False}.get(request.args.get("opened", ""))
    return yimen().pushes(_scope(), opened, limit=limit, offset=offset)


def open_push(push_id: int):
    return yimen().open_push(push_id, user=caller()["id"])


def linkage_unopened():
    _require("supervisor")
    return {"items": yimen().unopened_pushes()}


def feedback(case_id: int):
    data = _body()
    return yimen().feed_back(case_id, _field(data, "kind", str), _field(data, "content", str),
                             _field(data, "measures", str, False), _field(data, "credit_level", str, False),
                             _field(data, "expires_on", str, False), user=caller()["id"]), 201


def rectifications():
    _require("reviewer", "supervisor")
    limit, offset = _page()
    return yimen().rectifications(_scope(), request.args.get("status") or None, limit=limit, offset=offset)


def rectification_verb(rectification_id: int, verb: str):
    data, y, me = _body(), yimen(), caller()["id"]
    verbs: dict[str, Callable[[], Any]] = {
        "reply": lambda: y.reply_rectification(rectification_id, _field(data, "reply", str), user=me),
        "close": lambda: y.close_rectification(rectification_id, _field(data, "visit_answer", str),
                                               _field(data, "satisfied", bool), user=me),
    }
    if verb not in verbs:
        raise NotFound(f"unknown rectification action '{verb}'")
    return verbs[verb]()


def rating_report():
    _require("supervisor")
    return yimen().rating_report()


def rating_summary():
    return yimen().rating_summary()


def filings():
    _require("supervisor")
    limit, offset = _page()
    return yimen().negative_filings(request.args.get("status") or None, request.args.get("department") or None,
                                    limit=limit, offset=offset)


def filing_verb(filing_id: int, verb: str):
    data, y, me = _body(), yimen(), caller()["id"]
    verbs: dict[str, Callable[[], Any]] = {
        "confirm": lambda: y.confirm_filing(filing_id, _field(data, "note", str, False), user=me),
        "reopen": lambda: y.reopen_filing(filing_id, _field(data, "note", str), user=me),
    }
    if verb not in verbs:
        raise NotFound(f"unknown filing action '{verb}'")
    return verbs[verb]()


REFORM_ENDPOINTS = [
    Endpoint("GET", "/credit", "credit entries on record, newest first (window staff, supervisors)", credit_entries,
             query=["search"], paged=True),
    Endpoint("GET", "/credit/<id_no>", "one applicant's credit level and entries, by ID number or unified social "
             "credit code", credit_profile),
    Endpoint("POST", "/credit/import", "import a credit list from CSV: id_no, name, subject_kind, level (good, bad, "
             "blacklist), reason, source, date, expires (administrators)", credit_import,
             _obj(["text"], text=_STR, name=_STR)),
    Endpoint("POST", "/cases/<int:case_id>/credit-check", "the window's credit check, kept in the case file",
             credit_check),
    Endpoint("GET", "/cases/<int:case_id>/reform", "the case's credit check, pushes, supervision feedback, "
             "rectification and negative filings", case_reform),
    Endpoint("PUT", "/items/<code>/reform-settings", "an item's green-channel promised limit and rectification "
             "limit in working days (administrators)", reform_settings,
             _obj([], green_channel_days=_INT, rectification_days=_INT)),
    Endpoint("GET", "/linkage", "the linkage list (审管联动事项清单)", linkage_list, query=["item"]),
    Endpoint("GET", "/linkage/export", "the linkage list as JSON or CSV text", linkage_export, query=["format"]),
    Endpoint("POST", "/linkage/import", "replace the linkage list from JSON or CSV (administrators)", linkage_import,
             _obj(["text"], text=_STR, format={"type": "string", "enum": ["json", "csv"]})),
    Endpoint("GET", "/linkage/pushes", "the supervision inbox: pushes to the caller's department (supervisors: all)",
             linkage_pushes, query=["opened"], paged=True),
    Endpoint("POST", "/linkage/pushes/<int:push_id>/open", "open a push (the supervising department)", open_push),
    Endpoint("GET", "/linkage/unopened", "pushed, not opened: by department and age (supervisors)",
             linkage_unopened),
    Endpoint("POST", "/cases/<int:case_id>/feedback", "a supervising department's feedback: inspection, measure or "
             "credit_finding", feedback,
             _obj(["kind", "content"], kind={"type": "string", "enum": ["inspection", "measure", "credit_finding"]},
                  content=_STR, measures=_STR, credit_level={"type": "string", "enum": ["bad", "blacklist"]},
                  expires_on={"type": "string", "format": "date"})),
    Endpoint("GET", "/rectifications", "rectifications of bad ratings (supervisors: all; staff: their department's)",
             rectifications, query=["status"], paged=True),
    Endpoint("POST", "/rectifications/<int:rectification_id>/<verb>", "reply (the department) or close after the "
             "return visit (supervisors)", rectification_verb,
             _obj([], reply=_STR, visit_answer=_STR, satisfied=_BOOL)),
    Endpoint("GET", "/ratings/report", "ratings, rectification rate and on-time rate by department and item "
             "(supervisors)", rating_report),
    Endpoint("GET", "/ratings/summary", "the 好差评 summary: counts per score, satisfaction and rectification rate",
             rating_summary),
    Endpoint("GET", "/filings", "negative outcomes filed for review (supervisors)", filings,
             query=["status", "department"], paged=True),
    Endpoint("POST", "/filings/<int:filing_id>/<verb>", "confirm or reopen a negative filing (supervisors)",
             filing_verb, _obj([], note=_STR)),
]
