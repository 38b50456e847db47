"""One normalisation for everything a request brings in: query arguments, form fields and JSON bodies.

Refused with ``invalid_input`` (a 400 with the reason), before any view or engine command runs:

* NUL characters and lone surrogates in any text (PostgreSQL cannot store them; they break file headers);
* a JSON body that is not valid JSON (never silently read as ``{}``), nested deeper than ``MAX_DEPTH``,
  carrying ``NaN`` or ``Infinity``, or with more than ``MAX_KEYS`` keys in one object;
* a text longer than ``MAX_TEXT`` characters in a query argument or form field.

The API reads its body through ``json_body()`` (parsed once, here); pages read ``request.form`` as usual,
already checked.
"""
from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, abort, g, request

from engine.errors import ValidationError

MAX_DEPTH = 32
MAX_KEYS = 2_000
MAX_TEXT = 100_000
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def _refuse(message: str):
    if request.path.startswith("/api/"):
        if request.blueprint != "api":  # no API route matched: answer here, in the API's error shape
            from .api import error

            response, status = error(ValidationError.code, message, 400)
            response.status_code = status
            abort(response)
        raise ValidationError(message)
    abort(400, description=message)


def _check_text(value: str | None, where: str) -> None:
    if isinstance(value, str) and _BAD_TEXT.search(value):
        _refuse(f"{where} contains a NUL character or a lone surrogate, which cannot be stored")


def _depth(raw: str) -> int:
    """The deepest nesting of arrays and objects, counted without parsing (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in raw:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _walk(value: Any, where: str) -> None:
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, dict):
        if len(value) > MAX_KEYS:
            _refuse(f"{where} has more than {MAX_KEYS} keys")
        for key, item in value.items():
            _check_text(key, where)
            _walk(item, f"{where}.{key}" if len(where) < 200 else where)
    elif isinstance(value, list):
        for item in value:
            _walk(item, where)


def _no_constant(name: str):
    _refuse(f"the JSON body contains {name}, which is not a number JSON allows")


def json_body() -> Any:
    """The request's JSON body, checked (``None`` when the request has no body)."""
    if "yimen_json" in g:
        return g.yimen_json
    raw = request.get_data(cache=True)
    if not raw or not raw.strip():
        g.yimen_json = None
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        _refuse("the request body is not UTF-8 text")
    if _depth(text) > MAX_DEPTH:
        _refuse(f"the JSON body is nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (json.JSONDecodeError, RecursionError) as exc:
        _refuse(f"the request body is not valid JSON: {getattr(exc, 'msg', exc)}")
    _walk(value, "the body")
    g.yimen_json = value
    return value


def _check_request() -> None:
    for name, value in request.args.items(multi=True):
        _check_text(name, "a query argument")
        _check_text(value, f"query argument '{str(name or '')[:40]}'")
        if isinstance(value, str) and len(value) > MAX_TEXT:
            _refuse(f"query argument '{str(name or '')[:40]}' is longer than {MAX_TEXT} characters")
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            _check_text(name, "a form field")
            _check_text(value, f"form field '{str(name or '')[:40]}'")
            if isinstance(value, str) and len(value) > MAX_TEXT:
                _refuse(f"form field '{str(name or '')[:40]}' is longer than {MAX_TEXT} characters")
        for upload in request.files.values():
            if upload.filename:
                _check_text(upload.filename, "a file name")
    if request.path.startswith("/api/") and request.method in ("POST", "PUT", "PATCH") and request.is_json:
        json_body()


def init_app(app: Flask) -> None:
    app.before_request(_check_request)
