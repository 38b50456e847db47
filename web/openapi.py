"""The OpenAPI 3 document of ``/api/``, generated from the endpoint table in ``web.api``."""
from __future__ import annotations

import re
from typing import Any

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"},
                   "message": {"type": "string", "description": "the refusal in the caller's language "
                                                                  "(Accept-Language: zh or en)"},
                   "reason": {"type": "string", "description": "the engine's English message, for logs"},
                   "details": {"type": "object"}}}}}
_PARAM = re.compile(r"<(?:(int):)?(\w+)>")


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for kind, name in _PARAM.findall(rule):
        params.append({"name": name, "in": "path", "required": True,
                       "schema": {"type": "integer"} if kind == "int" else {"type": "string"}})
    return "/api" + _PARAM.sub(lambda m: "{" + m.group(2) + "}", rule), params


def document(endpoints) -> dict[str, Any]:
    paths: dict[str, dict] = {}
    for e in endpoints:
        path, params = _path(e.path)
        params += [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in e.query]
        if e.paged:
            params += [{"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                       {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}}]
        op: dict[str, Any] = {
            "summary": e.summary, "operationId": f"{e.method.lower()}_{e.view.__name__}",
            "parameters": params,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {}}}},
                "201": {"description": "Created", "content": {"application/json": {"schema": {}}}},
                **{code: {"description": text, "content": {"application/json": {"schema": ERROR}}}
                   for code, text in (("400", "invalid input"), ("401", "not signed in"), ("403", "not allowed"),
                                      ("404", "not found (or not visible to the caller)"),
                                      ("409", "not in a state that allows it, or a concurrent change"),
                                      ("422", "an expression failed"))},
            },
        }
        if e.body is not None:
            op["requestBody"] = {"required": False, "content": {"application/json": {"schema": e.body}}}
        if e.path == "/deployments":
            op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "properties": {"files": {"type": "array", "items": {
                    "type": "string", "format": "binary"}}}}}}}
        paths.setdefault(path, {})[e.method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "Yimen (一门) API", "version": "1",
                 "description": "Bearer tokens (POST /api/tokens) or the page session with an X-CSRFToken header."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }
