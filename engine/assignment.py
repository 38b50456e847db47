"""Who may work on a human task, and when it is due.

The diagram's raw assignment (literal names or expressions, from any dialect
— see ``engine.bpmn.metadata``) is evaluated against the task's data when
the task opens. The permission rule is the usual one: an assigned task
belongs to its assignee; an unassigned one to its candidate users and the
members of its candidate groups; administrators may act on any.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from . import expressions
from .clock import parse_instant
from .errors import ExpressionError, PermissionDenied, ValidationError


def _is_expression(text: str) -> bool:
    return "${" in text or "#{" in text


def _names(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple, set)):
        out: list[str] = []
        for item in value:
            out.extend(_names(item))
        return out
    return [part.strip() for part in str(value).split(",") if part.strip()]


def resolve_names(raw: Iterable[str] | str | None, data: Mapping[str, Any]) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    out: list[str] = []
    for entry in raw:
        value = expressions.evaluate(entry, data) if _is_expression(entry) else entry
        for name in _names(value):
            if name not in out:
                out.append(name)
    return out


def resolve_due(raw: str | None, data: Mapping[str, Any], now: datetime) -> datetime | None:
    """A due date: an ISO datetime/date, an ISO duration from now, or an expression giving either."""
    if not raw:
        return None
    value = expressions.evaluate(raw, data) if _is_expression(raw) else raw.strip()
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    text = str(value).strip()
    try:
        if text.upper().startswith("P"):
            parsed = TimerEventDefinition.parse_iso_duration(text)
            return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
        return parse_instant(text)
    except Exception as exc:  # noqa: BLE001
        raise ExpressionError(f"due date '{raw}' gave '{text}', which is neither an ISO date nor a duration") from exc


def may_work_on(actor, groups: frozenset[str], assignee: str | None, users: list[str], group_names: list[str]) -> bool:
    if actor.is_admin:
        return True
    if assignee:
        return actor.id == assignee
    return actor.id in users or bool(groups.intersection(group_names))


def may_claim(actor, groups: frozenset[str], users: list[str], group_names: list[str]) -> bool:
    if actor.is_admin:
        return True
    return actor.id in users or bool(groups.intersection(group_names))


def check_data(data: Any) -> dict[str, Any]:
    """Data given to a command: a JSON object whose keys are plain names (``_`` is reserved)."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidationError("data must be a JSON object")
    for key in data:
        if not isinstance(key, str) or not key or key.startswith("_"):
            raise ValidationError(f"data key '{key}' is not allowed (keys starting with '_' are reserved)")
    return data


def refuse(actor, what: str, task_id: str) -> PermissionDenied:
    return PermissionDenied(f"user '{actor.id}' is neither the assignee nor a candidate of task {task_id}; cannot {what}",
                            task_id=task_id, refusal="not_your_task")


__all__ = ["resolve_names", "resolve_due", "may_work_on", "may_claim", "check_data", "timedelta"]
