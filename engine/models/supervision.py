"""Supervision (督查): cards issued for lateness, their appeals, and supervision orders (督办)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class CardStatus:
    PENDING = "pending"      # held for a supervisor's confirmation (by item configuration)
    ISSUED = "issued"
    APPEALED = "appealed"    # the department disputes it; a supervisor decides
    UPHELD = "upheld"        # appeal refused: the card stands
    WITHDRAWN = "withdrawn"  # appeal granted, or not confirmed
    ALL = (PENDING, ISSUED, APPEALED, UPHELD, WITHDRAWN)
    STANDING = (ISSUED, UPHELD)


class IssuedCard(Base):
    __tablename__ = "issued_card"
    __table_args__ = (Index("ix_issued_card_department_status", "department", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    watch_id: Mapped[int] = mapped_column(ForeignKey("deadline_watch.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("approval_case.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    color: Mapped[str] = mapped_column(String(10))  # yellow | red
    status: Mapped[str] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime]
    confirmed_by: Mapped[str | None] = mapped_column(String(100))
    appeal_reason: Mapped[str | None] = mapped_column(Text)
    appealed_by: Mapped[str | None] = mapped_column(String(100))
    appealed_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)


class SupervisionOrder(Base):
    """督办: a supervisor orders a department or a person to act on something by a deadline."""

    __tablename__ = "supervision_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("approval_case.id"), index=True)
    department: Mapped[str | None] = mapped_column(String(40), index=True)
    assignee: Mapped[str | None] = mapped_column(String(100), index=True)
    content: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | answered | closed
    issued_by: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime]
    reply: Mapped[str | None] = mapped_column(Text)
    replied_by: Mapped[str | None] = mapped_column(String(100))
    replied_at: Mapped[datetime | None]


class SpecialProcedure(Base):
    """特别程序 (hearing, testing, appraisal, expert review...): pauses the case clock while it runs."""

    __tablename__ = "special_procedure"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    expected_days: Mapped[int]
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(100))
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(100))
    result: Mapped[str | None] = mapped_column(Text)
