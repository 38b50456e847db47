"""Service-task handlers, found by name.

A handler is a plain function ``fn(data: dict) -> dict | None`` registered with
``@handler("name")``. It gets a copy of the case data and returns the values
to merge back; it never sees a database session. Raising fails the attempt:
the engine retries with backoff and then opens an incident.

Diagrams name handlers with the extension property ``yimen.handler``, or the
way Camunda / Flowable / Activiti do (``topic``, ``delegateExpression``,
``class`` — a dotted class name is tried in full, then by its last part).

Bean-method expressions (``camunda:expression="${invoiceService.approve(amount)}"``,
``flowable:expression``, or a bean call inside any expression such as an assignee)
call the handler registered under the bean method's name, ``invoiceService.approve``,
with the evaluated arguments (``fn(*args)``; its return value is the call's value).
A service task's ``resultVariable`` receives that value.
"""
from __future__ import annotations

import importlib
import os
import re
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


# a service task's expression, as engine.bpmn.normalize writes it: "${bean.method(args)} -> resultVariable"
EXPRESSION_HANDLER = re.compile(r"^\s*([$#]\{.*\})\s*(?:->\s*([A-Za-z_][A-Za-z0-9_]*))?\s*$", re.S)


def find(name: str | None) -> Handler | None:
    if not name:
        return None
    _load_builtin()
    expression = EXPRESSION_HANDLER.match(name)
    if expression:
        return _expression_handler(expression.group(1), expression.group(2))
    if name in _REGISTRY:
        return _REGISTRY[name]
    short = name.rsplit(".", 1)[-1]
    if short in _REGISTRY:
        return _REGISTRY[short]
    lowered = short[:1].lower() + short[1:]
    return _REGISTRY.get(lowered)


def find_bean(name: str) -> Callable[..., Any] | None:
    """The handler registered under a bean method's full name (``service.method``), exactly."""
    _load_builtin()
    return _REGISTRY.get(name)


def _expression_handler(expression: str, result_variable: str | None) -> Handler:
    """A service task whose work is an expression: evaluate it (bean calls reach their handlers)."""
    def run(data: dict[str, Any]) -> dict[str, Any] | None:
        from engine import expressions

        value = expressions.evaluate(expression, data)
        return {result_variable: value} if result_variable else None
    return run


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
