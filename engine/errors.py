"""The engine's error tree.

Every error has a stable string ``code`` that is part of the API (the web layer
maps codes to HTTP statuses; the CLI prints them). Add codes, never rename them.

The message is English, for the CLI, logs and developers; it may quote ids.
People read a translated sentence the web layer builds from the code and the
structured ``details`` (``web/i18n.py``), so a refusal someone can act on says
what it is about in details of these common kinds (all optional):

``refusal``
    a stable sub-code inside the code naming the kind of refusal, e.g.
    ``materials_missing``, ``required``, ``too_long``, ``wrong_status``,
    ``not_your_task`` (``REFUSALS`` lists them); add kinds, never rename them;
``field``
    the input field at fault (``applicant_name``, ``reason``, ``opinion``...);
``limit``
    the bound that was passed (characters, working days, files...);
``materials``
    material names (the Chinese names of the item's catalogue);
``status``
    the current status of the case or step that made the verb impossible;
``what``
    the kind of thing not found or refused (``case``, ``task``, ``user``,
    ``item``, ``card``, ``order``, ``notification``...);
``year``
    a calendar year (``calendar_missing``).

Ids (``task_id``, ``case_id``...) may ride along for API clients; pages never
show them.
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

    @property
    def refusal(self) -> str | None:
        """The sub-code of the refusal (``details['refusal']``), if the raiser named one."""
        value = self.details.get("refusal")
        return value if isinstance(value, str) else None

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


# The sub-codes (``details['refusal']``) raisers use, by code; the web layer has a sentence for each.
REFUSALS = {
    "invalid_input": ("required", "too_long", "not_a_material", "material_twice", "one_of", "file_too_large"),
    "permission_denied": ("not_your_task", "not_applicant", "not_handling", "receiver_not_entitled"),
    "invalid_state": ("materials_missing", "wrong_status", "task_closed", "already_claimed", "not_claimed",
                      "delegated", "already_assigned", "special_procedure_running", "correction_already_sent",
                      "item_closed", "tolerance_not_allowed", "intolerable_missing", "nothing_missing", "bad_credit",
                      "already_extended", "extension_waiting", "already_rated", "not_rated_yet", "not_passed",
                      "bundle_member", "bundle_levels_mixed", "bundle_not_concluded"),
}
REFUSALS["invalid_input"] += ("bundle_levels_differ", "bundle_too_small", "not_shared")  # 一件事 (bundles)


class DatabaseBusy(EngineError):
    """The database was busy (a lock held by another writer) past the wait: try again shortly."""

    code = "database_busy"
    retry_after = 1  # seconds a client should wait before trying again
