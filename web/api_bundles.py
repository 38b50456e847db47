"""The JSON API of bundles (一件事 / 一链办理, issue 16): the catalogue of bundles, one application for all the
members, its one acceptance and its one delivery.

Rows of ``BUNDLE_ENDPOINTS`` join ``web.api.ENDPOINTS`` (and so the OpenAPI document). Each view calls one facade
method; the engine checks the right on the loaded rows (the window's verbs on every member case).
"""
from __future__ import annotations

from flask import request

from engine.errors import NotFound

from .api import _BOOL, _MATERIALS, _STR, Endpoint, _body, _field, _materials, _obj, _page, caller
from .app import yimen

_STRINGS = {"type": "array", "items": _STR}


def list_bundles():
    limit, offset = _page()
    items = yimen().bundles()
    return {"items": items[offset:offset + limit], "total": len(items), "limit": limit, "offset": offset}


def get_bundle(code: str):
    return {**yimen().bundle(code), "materials": yimen().bundle_materials(code)}


def save_bundle(code: str):
    data = _body()  # the engine refuses anyone who may not change the catalogue
    return yimen().save_bundle(code, _field(data, "name", str), _field(data, "items", list),
                               _field(data, "name_en", str, False), _field(data, "shared_materials", list, False),
                               _field(data, "cross_level", bool, False, False), _field(data, "enabled", bool, False, True),
                               user=caller()["id"])


def apply_bundle():
    """Like ``POST /api/cases``, for every member item at once (``Idempotency-Key`` makes a repeat answer with
    the first application)."""
    data = _body()
    applicant = _field(data, "applicant", dict)
    agent = None
    if _field(data, "as_agent", bool, False, False):
        agent = {"name": caller().get("name") or caller()["id"], "user": caller()["id"]}
        applicant = {k: v for k, v in applicant.items() if k != "user"}
    else:
        applicant = {**applicant, "user": caller()["id"]}
    result = yimen().apply_bundle(_field(data, "bundle", str), applicant, _materials(data),
                                  _field(data, "form", dict, False, {}), agent=agent, user=caller()["id"],
                                  idempotency_key=request.headers.get("Idempotency-Key"),
                                  online=_field(data, "check", bool, False, False),
                                  region=_field(data, "region", str, False))
    if result.pop("replayed", False):
        return result, 200, {"Idempotent-Replayed": "true"}
    return result, 201


def list_applications():
    limit, offset = _page()
    return yimen().bundle_applications(caller(), waiting=request.args.get("waiting") == "yes", limit=limit,
                                       offset=offset)


def get_application(application_id: int):
    return yimen().bundle_application(application_id, caller())


_VERBS = {"accept": "accept", "not-accept": "not_accept", "correction": "request_correction",
          "delivery": "choose_delivery", "dispatch": "dispatch", "delivered": "delivered", "received": "received"}


def application_verb(application_id: int, verb: str):
    if verb not in _VERBS:
        raise NotFound(f"unknown bundle action '{verb}'")
    yimen().bundle_application(application_id, caller())  # NotFound for an application the caller may not see
    data = _body()
    kwargs = {
        "accept": lambda: {"opinion": _field(data, "opinion", str, False)},
        "not-accept": lambda: {"reason": _field(data, "reason", str),
                               "competent_office": _field(data, "competent_office", str, False)},
        "correction": lambda: {"problems": _field(data, "problems", list),
                               "second_notice_reason": _field(data, "second_notice_reason", str, False)},
        "delivery": lambda: {"method": _field(data, "method", str), "address": _field(data, "address", str, False),
                             "recipient": _field(data, "recipient", str, False),
                             "phone": _field(data, "phone", str, False)},
        "dispatch": lambda: {"tracking_no": _field(data, "tracking_no", str, False),
                             "carrier": _field(data, "carrier", str, False)},
        "delivered": dict, "received": dict,
    }[verb]()
    return yimen().bundle_verb(_VERBS[verb], application_id, user=caller()["id"], **kwargs)


BUNDLE_ENDPOINTS = [
    Endpoint("GET", "/bundles", "the bundles (一件事): member items, shared materials, cross-level flag",
             list_bundles, paged=True),
    Endpoint("GET", "/bundles/<code>", "one bundle with its materials, each once (shared ones first)", get_bundle),
    Endpoint("PUT", "/bundles/<code>", "define or change a bundle (catalogue administrators)", save_bundle,
             _obj(["name", "items"], name=_STR, name_en=_STR, items=_STRINGS, shared_materials=_STRINGS,
                  cross_level=_BOOL, enabled=_BOOL)),
    Endpoint("POST", "/bundle-applications", "apply for a bundle: one application makes a case per member item "
             "(Idempotency-Key; as_agent: for the named applicant)", apply_bundle,
             _obj(["bundle", "applicant"], bundle=_STR, applicant=_obj(["name"], name=_STR, kind=_STR, id_no=_STR),
                  materials=_MATERIALS, form={"type": "object"}, as_agent=_BOOL, check=_BOOL, region=_STR)),
    Endpoint("GET", "/bundle-applications", "bundle applications the caller may see, newest first (waiting=yes: "
             "waiting for the window's acceptance)", list_applications, query=["waiting"], paged=True),
    Endpoint("GET", "/bundle-applications/<int:application_id>", "one bundle application with its member cases",
             get_application),
    Endpoint("POST", "/bundle-applications/<int:application_id>/<verb>", "accept, not-accept, correction (once for "
             "every member), delivery (choose pickup or post), dispatch, delivered, received (统一出件)",
             application_verb,
             _obj([], opinion=_STR, reason=_STR, competent_office=_STR, second_notice_reason=_STR,
                  problems={"type": "array", "items": _obj(["problem"], problem=_STR, material=_STR, item=_STR)},
                  method={"type": "string", "enum": ["pickup", "post"]}, address=_STR, recipient=_STR,
                  phone=_STR, tracking_no=_STR, carrier=_STR)),
]
