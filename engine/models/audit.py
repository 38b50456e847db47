"""Append-only, hash-chained audit events, and the business rows the chain covers.

``AuditHead`` is a single row holding the latest hash; a command locks it
before appending, so concurrent commands extend the chain one after another
instead of forking it.

``COVERED`` names the tables whose rows record a decision and the columns
that make up that record. A session listener notes every such row a flush
inserts, changes (in a covered column) or deletes; ``engine.audit.append_event``
then writes the rows' content into the event, so the chain says what each
opinion, notice, case date, card and credit entry was when a command wrote it.
Rows written with plain Core statements are not seen: write covered tables
through the ORM.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100), index=True)
    instance_id: Mapped[int | None] = mapped_column(index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The id of the key whose HMAC ``hash`` is; None for events written before the chain was keyed (plain SHA-256).
    key_id: Mapped[str | None] = mapped_column(String(16))
    # {"rows": [{"table", "id", "row"}], "opening": {...}}: the covered rows this event wrote; None if none.
    covered: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AuditHead(Base):
    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64))
    # Set by the migration that keyed the chain on a database with history ({"legacy_events", "covered_from"});
    # the next event carries it into the chain and clears it.
    opening: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# table -> the columns of its decision record (the primary key is always "id")
COVERED: dict[str, tuple[str, ...]] = {
    "approval_case": ("number", "status", "outcome", "submitted_at", "accepted_at", "concluded_at",
                      "extension_days"),
    "case_opinion": ("case_id", "task_id", "element_id", "step", "user_id", "decision", "text", "at"),
    "case_notice": ("case_id", "kind", "number", "content", "issued_at", "issued_by"),
    "issued_card": ("watch_id", "case_id", "task_id", "color", "status", "department", "reason", "issued_at",
                    "confirmed_by", "appeal_reason", "appealed_by", "appealed_at", "decided_by", "decided_at",
                    "decision_note"),
    "credit_record": ("applicant_name", "applicant_id_no", "applicant_user", "kind", "case_id", "note", "at"),
}

WRITTEN_ROWS = "yimen_audit_rows"  # session.info key: {(table, id): row object}


@event.listens_for(Session, "after_flush")
def _note_covered_rows(session: Session, _flush_context) -> None:
    """Remember the covered rows this flush wrote (the new/dirty/deleted lists still show what was flushed)."""
    noted = None
    for obj in session.new:
        if getattr(obj, "__tablename__", None) in COVERED:
            noted = noted if noted is not None else session.info.setdefault(WRITTEN_ROWS, {})
            noted[(obj.__tablename__, obj.id)] = obj
    for obj in session.dirty:
        columns = COVERED.get(getattr(obj, "__tablename__", None))
        if columns is None:
            continue
        attrs = inspect(obj).attrs
        if any(attrs[c].history.has_changes() for c in columns):
            noted = noted if noted is not None else session.info.setdefault(WRITTEN_ROWS, {})
            noted[(obj.__tablename__, obj.id)] = obj
    for obj in session.deleted:
        if getattr(obj, "__tablename__", None) in COVERED:
            noted = noted if noted is not None else session.info.setdefault(WRITTEN_ROWS, {})
            noted[(obj.__tablename__, obj.id)] = obj


@event.listens_for(Session, "after_transaction_end")
def _forget_covered_rows(session: Session, transaction) -> None:
    """The command's transaction is over (a savepoint ending is not: what it undid shows in the rows' state)."""
    if transaction.parent is None:
        session.info.pop(WRITTEN_ROWS, None)
