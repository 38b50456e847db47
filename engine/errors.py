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

import re
from dataclasses import dataclass, asdict, field
from typing import Any, Callable


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


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def phrase(template: str, /, **params: Any) -> dict[str, Any]:
    """A part of a problem's sentence that is itself a sentence to translate (``{template, params}``).

    A problem's params may hold one where the English text depends on a case (``decision 'd1', rule 3``);
    ``fill`` renders it with the same ``translate``.
    """
    return {"template": template, "params": params}


def fill(template: str, params: dict[str, Any], translate: Callable[[str], str] | None = None,
         literal: Callable[[str], str] | None = None, value: Callable[[str], str] | None = None) -> str:
    """``template`` with each ``{name}`` replaced by ``params[name]``: only known names, no attribute access or
    format specs (the templates are ours, the values come from the diagram). ``translate`` maps a template to the
    page's language (nested ``phrase`` values included); ``literal`` and ``value`` render the template's own text
    and a value (the web escapes the one and puts the other in ``<code>``)."""
    translate = translate or (lambda text: text)
    literal = literal or (lambda text: text)
    value = value or (lambda text: text)
    out, at = [], 0
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1)
        if name not in params:
            continue
        out.append(literal(template[at:match.start()]))
        param = params[name]
        if isinstance(param, dict) and "template" in param:
            out.append(fill(translate(param["template"]), param.get("params") or {}, translate, literal, value))
        else:
            out.append(value(str(param)))
        at = match.end()
    out.append(literal(template[at:]))
    return "".join(out)


@dataclass
class Problem:
    """One thing wrong (or worth a warning) in an uploaded diagram.

    ``template`` is our English sentence with ``{name}`` placeholders and ``params`` the values (ids, names
    and expressions from the diagram, numbers); ``reason`` is the sentence filled in, in English, for the CLI,
    logs and the API's ``message``. The web translates ``template`` and fills it (``web.i18n.problem_text``).
    Every site passes a literal template, never an f-string (``tests/engine/test_problem_templates.py``).
    """

    file: str
    element_id: str | None
    line: int | None
    reason: str = ""
    template: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.template:
            self.template = self.reason
        if not self.reason:
            self.reason = fill(self.template, self.params)

    @classmethod
    def of(cls, file: str, element_id: str | None, line: int | None, template: str, /, **params: Any) -> "Problem":
        """A problem from a template and its values (the English ``reason`` is filled in)."""
        return cls(file, element_id, line, template=template, params=params)

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
