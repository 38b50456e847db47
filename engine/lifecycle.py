"""What happened to a process instance, published by the runtime, heard by whoever cares (执行监听).

The runtime knows nothing of cases, clocks or supervision. After it writes an
instance it publishes what happened — ``moved`` (steps entered, left or
cancelled; the instance may have completed) or ``ended`` (terminated by a
verb) — and the modules that keep the case, its clock and supervision in step
subscribe, the way Camunda's execution listeners and Flowable's event
dispatcher work. So every verb that moves or ends an instance, the generic
``terminate`` included, keeps the case and its clock right by construction.

Subscribers are modules named in ``SUBSCRIBERS``; each registers its listeners
with ``@listen(event)`` when imported, and they are imported on the first
publish, so no listener can be missing because nobody imported its module.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

EVENTS = ("moved", "ended")
SUBSCRIBERS = ("engine.cases", "engine.linkage", "engine.negative_filing")
_listeners: dict[str, list[Callable[..., Any]]] = {event: [] for event in EVENTS}
_loaded = False


def listen(event: str):
    """Register ``fn(ctx, running, **details)`` for ``event``."""
    if event not in EVENTS:
        raise ValueError(f"unknown lifecycle event '{event}'; events are {', '.join(EVENTS)}")

    def register(fn):
        if fn not in _listeners[event]:
            _listeners[event].append(fn)
        return fn

    return register


def publish(ctx, event: str, running, **details: Any) -> None:
    """Tell every listener of ``event``, in the command's own transaction."""
    global _loaded
    if not _loaded:
        for name in SUBSCRIBERS:
            importlib.import_module(name)
        _loaded = True
    for fn in _listeners[event]:
        fn(ctx, running, **details)
