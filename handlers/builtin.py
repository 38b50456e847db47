"""Handlers that ship with Yimen and that the shipped processes use."""
from __future__ import annotations

from typing import Any

from . import handler


@handler("noop")
def noop(data: dict[str, Any]) -> dict[str, Any]:
    """Does nothing; useful in diagrams under construction."""
    return {}


@handler("assign_case_number")
def assign_case_number(data: dict[str, Any]) -> dict[str, Any]:
    """Keeps an existing case number or derives a readable one from the business key."""
    if data.get("case_number"):
        return {}
    key = data.get("business_key") or data.get("application_id") or "CASE"
    return {"case_number": str(key)}


@handler("record_conclusion")
def record_conclusion(data: dict[str, Any]) -> dict[str, Any]:
    """Writes the final outcome (办结) of a standard approval into the case data."""
    if data.get("accepted") is False:
        outcome = "not_accepted"
    elif data.get("approved"):
        outcome = "approved"
    else:
        outcome = "not_approved"
    return {"outcome": outcome, "concluded": True}
