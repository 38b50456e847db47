"""The engine's error tree.

Every error has a stable string ``code`` that is part of the API (the web layer
maps codes to HTTP statuses; the CLI prints them). Add codes, never rename them.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict
from typing import Any


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "engine_error"

    def __init__(self, message: str, /, **details: Any):
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


class ValidationError(EngineError):
    code = "invalid_input"


@dataclass
class Problem:
    """One thing wrong (or worth a warning) in an uploaded diagram."""

    file: str
    element_id: str | None
    line: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
        if self.element_id:
            where += f" [{self.element_id}]"
        return f"{where}: {self.reason}"


class BpmnInvalid(EngineError):
    """A deployment was refused; ``problems`` lists every reason found."""

    code = "bpmn_invalid"

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        summary = "; ".join(str(p) for p in self.problems[:5])
        if len(self.problems) > 5:
            summary += f"; ... ({len(self.problems)} problems)"
        super().__init__(f"diagram refused: {summary}", problems=[p.to_dict() for p in self.problems])


class ExpressionError(EngineError):
    """An expression in a diagram cannot be compiled or evaluated."""

    code = "expression_error"


class PermissionDenied(EngineError):
    code = "permission_denied"


class NotFound(EngineError):
    code = "not_found"


class InvalidState(EngineError):
    code = "invalid_state"


class Conflict(EngineError):
    """Someone else changed the same thing first (optimistic lock lost)."""

    code = "conflict"


class HandlerFailed(EngineError):
    code = "handler_failed"


class CalendarMissing(EngineError):
    """A working-day computation reached a year nobody has entered."""

    code = "calendar_missing"


class DatabaseBusy(EngineError):
    """The database was busy (a lock held by another writer) past the wait: try again shortly."""

    code = "database_busy"
    retry_after = 1  # seconds a client should wait before trying again
