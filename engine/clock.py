"""The one place Yimen reads the time.

``YIMEN_NOW`` (ISO 8601) pins the clock for tests and simulations; ``pinned()``
moves it inside a block (the timer sweep uses it to fire timers "as of" a
moment). SpiffWorkflow's timer events read ``datetime.now`` in their own
module; ``install_in_spiff()`` points that name at this clock so BPMN timers
and Yimen's rows always agree on what time it is.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
from datetime import datetime, timezone

_override: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("yimen_now", default=None)


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant; a naive value is taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    pinned_value = _override.get()
    if pinned_value is not None:
        return pinned_value
    env = os.environ.get("YIMEN_NOW")
    if env:
        return parse_instant(env)
    return datetime.now(timezone.utc)


@contextlib.contextmanager
def pinned(moment: datetime):
    """Run a block as if the time were ``moment``."""
    token = _override.set(moment.astimezone(timezone.utc))
    try:
        yield
    finally:
        _override.reset(token)


class _ClockDatetime(datetime):
    """``datetime`` whose ``now()`` asks Yimen's clock (used inside SpiffWorkflow)."""

    @classmethod
    def now(cls, tz=None):  # noqa: D401 - same signature as datetime.now
        current = now()
        return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)


def install_in_spiff() -> None:
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _ClockDatetime
