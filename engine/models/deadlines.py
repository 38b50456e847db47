"""Deadline watches: one row per running clock (a case, a step, an acceptance window).

A watch holds the moments at which its state changes (warning, promised
limit, legal limit) and ``next_change_at``, the earliest of those still
ahead. The sweep reads only watches whose ``next_change_at`` has passed, so
its cost follows what is due, not what is open; supervisors' questions
("all red cases of department X", "everything due within 2 working days")
are single indexed queries.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class WatchKind:
    CASE = "case"              # the case's decision limit, from acceptance (受理) to decision
    STEP = "step"              # one user step's own limit
    ACCEPTANCE = "acceptance"  # Art. 32: decide on acceptance within 5 working days of receipt
    RECTIFICATION = "rectification"  # 整改: a bad rating's follow-up by the responsible department (engine.rectification)
    SUPPLEMENT = "supplement"  # 容缺: the missing materials are due by then (the diagram's timer acts on it)
    LICENCE = "licence"        # Art. 44: the licence is issued within 10 working days of the decision
    ALL = (CASE, STEP, ACCEPTANCE, SUPPLEMENT, LICENCE)


class Card:
    """The states of a watch, in order of gravity."""

    NORMAL = "normal"
    WARNING = "warning"   # 预警: fewer than the warning days left before the promised limit
    YELLOW = "yellow"     # 黄牌: promised limit passed
    RED = "red"           # 红牌: legal limit passed
    ORDER = (NORMAL, WARNING, YELLOW, RED)


class DeadlineWatch(Base):
    __tablename__ = "deadline_watch"
    __table_args__ = (
        Index("ix_deadline_watch_next_change", "next_change_at"),
        Index("ix_deadline_watch_department_state", "department", "state", "active"),
        Index("ix_deadline_watch_active_due", "active", "promised_due"),
        # The card beside each inbox row: the step's clock and the case clock.
        Index("ix_deadline_watch_task_active", "task_id", "active", "state"),
        Index("ix_deadline_watch_case_kind_active", "case_id", "kind", "active", "state"),
        # Counting and filtering inbox rows by card: the running clocks past normal.
        Index("ix_deadline_watch_carded", "active", "state", "kind", "task_id", "case_id", "instance_id"),
        # The supervision overview's running clocks by department, item and state, from the index alone.
        Index("ix_deadline_watch_running_tally", "kind", "active", "department", "item_code", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("approval_case.id"), index=True)
    instance_id: Mapped[int] = mapped_column(index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    element_id: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(40))
    item_code: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime]
    promised_days: Mapped[int]
    legal_days: Mapped[int | None]
    extension_days: Mapped[int] = mapped_column(default=0)
    warning_days: Mapped[int] = mapped_column(default=0)
    paused_days: Mapped[int] = mapped_column(default=0)
    paused_since: Mapped[datetime | None]
    pause_reason: Mapped[str | None] = mapped_column(String(40))
    warning_at: Mapped[datetime | None]
    promised_due: Mapped[datetime]
    legal_due: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(20), default=Card.NORMAL)
    active: Mapped[bool] = mapped_column(default=True)
    stopped_at: Mapped[datetime | None]
    next_change_at: Mapped[datetime | None]
    escalation: Mapped[list[Any]] = mapped_column(default=list)
    card_mode: Mapped[str] = mapped_column(String(20), default="auto")  # auto | confirm
