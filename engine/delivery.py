"""统一出件: how the result (decision and licence) reaches the applicant, and where it is on the way.

She chooses pickup at the window or post (with an address and a phone number
for the courier); the window records the dispatch (a tracking number for
post, "ready for pickup" otherwise), then delivered (the courier's
confirmation, or handed over at the window); she confirms she received it.
Each step is a notice to her (``engine.cases.issue_notice``). The verbs are
in ``engine.commands.delivery``.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

METHODS = ("pickup", "post")


def delivery_dict(d) -> dict[str, Any]:
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return {"method": d.method, "address": d.address, "recipient": d.recipient, "phone": d.phone,
            "status": d.status, "carrier": d.carrier, "tracking_no": d.tracking_no, "chosen_at": iso(d.chosen_at),
            "dispatched_at": iso(d.dispatched_at), "delivered_at": iso(d.delivered_at),
            "received_at": iso(d.received_at)}


def delivery_of_case(session, case_id: int) -> dict[str, Any] | None:
    from .models import Delivery

    row = session.scalars(select(Delivery).where(Delivery.case_id == case_id)).first()
    return delivery_dict(row) if row else None
