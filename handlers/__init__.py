"""Service-task handlers, found by name.

A handler is a plain function ``fn(data: dict) -> dict | None`` registered with
``@handler("name")``. It gets a copy of the case data and returns the values
to merge back; it never sees a database session. Raising fails the attempt:
the engine retries with backoff and then opens an incident.

Diagrams name handlers with the extension property ``yimen.handler``, or the
way Camunda / Flowable / Activiti do (``topic``, ``delegateExpression``,
``class`` — a dotted class name is tried in full, then by its last part).
"""
from __future__ import annotations

import importlib
import os
from typing import Any, Callable

Handler = Callable[[dict[str, Any]], dict[str, Any] | None]
_REGISTRY: dict[str, Handler] = {}


def handler(name: str):
    def register(fn: Handler) -> Handler:
        _REGISTRY[name] = fn
        return fn

    return register


def register(name: str, fn: Handler) -> None:
    _REGISTRY[name] = fn


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def find(name: str | None) -> Handler | None:
    if not name:
        return None
    _load_builtin()
    if name in _REGISTRY:
        return _REGISTRY[name]
    short = name.rsplit(".", 1)[-1]
    if short in _REGISTRY:
        return _REGISTRY[short]
    lowered = short[:1].lower() + short[1:]
    return _REGISTRY.get(lowered)


def names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


_loaded = False


def _load_builtin() -> None:
    """Import the shipped handlers and any modules named in ``YIMEN_HANDLER_MODULES`` (comma-separated)."""
    global _loaded
    if not _loaded:
        _loaded = True
        importlib.import_module("handlers.builtin")
        for module in filter(None, (m.strip() for m in os.environ.get("YIMEN_HANDLER_MODULES", "").split(","))):
            importlib.import_module(module)
