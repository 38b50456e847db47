"""The JSON API of 放权 (powers across levels, issue 16): the implementation list (事项实施清单) and regions.

Rows of ``LEVEL_ENDPOINTS`` join ``web.api.ENDPOINTS`` (and so the OpenAPI document). Changing the list is
for administrators: the engine command refuses anyone else.
"""
from __future__ import annotations

from flask import request

from engine.errors import ValidationError
from engine.levels import MODES

from .api import _STR, Endpoint, _body, _field, _obj, caller
from .app import yimen


def implementations():
    return {"items": yimen().implementations(request.args.get("item") or None, request.args.get("region") or None)}


def regions():
    return {"items": yimen().regions()}


def route():
    item = request.args.get("item")
    if not item:
        raise ValidationError("'item' is required", refusal="required", field="item")
    return yimen().route_preview(item, request.args.get("region") or None)


def set_implementation(code: str, region: str):
    data = _body()
    return yimen().set_implementation(code, region, _field(data, "mode", str), _field(data, "handler", str, False),
                                      _field(data, "note", str, False), user=caller()["id"])


def remove_implementation(code: str, region: str):
    return yimen().remove_implementation(code, region, user=caller()["id"])


def export_implementations():
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ValidationError("format is json or csv", refusal="one_of", field="format")
    return {"format": fmt, "content": yimen().export_implementations(fmt)}


def import_implementations():
    data = _body()
    return yimen().import_implementations(_field(data, "text", str), _field(data, "format", str, False, "json"),
                                          user=caller()["id"])


LEVEL_ENDPOINTS = [
    Endpoint("GET", "/levels", "the implementation list (事项实施清单): per item and region, the mode", implementations,
             query=["item", "region"]),
    Endpoint("GET", "/levels/regions", "the regions an applicant may choose: counties and development zones",
             regions),
    Endpoint("GET", "/levels/route", "where an application of an item from a region goes, and whose name its "
             "documents carry", route, query=["item", "region"]),
    Endpoint("GET", "/levels/export", "the implementation list as JSON or CSV text", export_implementations,
             query=["format"]),
    Endpoint("POST", "/levels/import", "replace the implementation list from JSON or CSV (administrators)",
             import_implementations, _obj(["text"], text=_STR, format={"type": "string", "enum": ["json", "csv"]})),
    Endpoint("PUT", "/levels/<code>/<region>", "set the mode of an item in a region (administrators)",
             set_implementation, _obj(["mode"], mode={"type": "string", "enum": list(MODES)}, handler=_STR,
                                      note=_STR)),
    Endpoint("DELETE", "/levels/<code>/<region>", "remove the entry of an item in a region (administrators)",
             remove_implementation),
]
