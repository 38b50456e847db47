"""The reform mechanisms' rows: credit checks (信用), 审管联动, 好差评 rectification (整改), 否定备案.

Credit entries themselves stay in ``credit_record`` (``engine.models.cases.CreditRecord``), which the
false-commitment bar already reads; the migration ``0013_reform`` gives it a level, a source and an expiry.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class CreditLevel:
    GOOD = "good"              # 守信: opens 绿色通道, 容缺受理 and 告知承诺
    NORMAL = "normal"
    BAD = "bad"                # 失信: closes 容缺受理 and 告知承诺
    BLACKLIST = "blacklist"    # 失信联合惩戒: closes them as well, and is shown as such
    ORDER = (GOOD, NORMAL, BAD, BLACKLIST)   # in order of gravity
    CLOSING = (BAD, BLACKLIST)


class CreditCheck(Base):
    """The window's credit check (信用核查) at acceptance, kept in the case file: who looked, when, what it said."""

    __tablename__ = "credit_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), index=True)
    checked_by: Mapped[str] = mapped_column(String(100))
    checked_at: Mapped[datetime]
    level: Mapped[str] = mapped_column(String(20))
    entries: Mapped[list[Any]] = mapped_column(default=list)      # the active entries the level comes from
    opens: Mapped[dict[str, Any]] = mapped_column(default=dict)   # green_channel / tolerance / commitment: bool
    reason: Mapped[str | None] = mapped_column(Text)              # what staff are told when something is closed


class ReformItemSetting(Base):
    """Per service item: the 绿色通道 promised limit for applicants in good credit, the rectification limit."""

    __tablename__ = "reform_item_setting"

    item_code: Mapped[str] = mapped_column(String(100), primary_key=True)
    green_channel_days: Mapped[int | None]
    rectification_days: Mapped[int | None]


class ItemLinkage(Base):
    """One row of the 审管联动事项清单: an item, a supervising department, its liaisons and what is pushed."""

    __tablename__ = "item_linkage"
    __table_args__ = (UniqueConstraint("item_code", "department", name="uq_item_linkage_item_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_code: Mapped[str] = mapped_column(String(100), index=True)
    department: Mapped[str] = mapped_column(String(40), index=True)
    push_liaison: Mapped[str | None] = mapped_column(String(100))     # the approving side's person (推送联络人)
    receive_liaison: Mapped[str | None] = mapped_column(String(100))  # the supervising side's person (接收联络人)
    pushed: Mapped[str | None] = mapped_column(Text)                  # what is pushed (推送内容)


class LinkagePush(Base):
    """An approval record pushed to a supervising department; pushing is claiming (推送即认领)."""

    __tablename__ = "linkage_push"
    __table_args__ = (UniqueConstraint("case_id", "department", "stage", name="uq_linkage_push_case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(40), index=True)
    stage: Mapped[str] = mapped_column(String(20))          # acceptance | conclusion
    record: Mapped[dict[str, Any]] = mapped_column(default=dict)
    pushed_at: Mapped[datetime]
    pushed_by: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime]                            # = pushed_at: received (claimed) at once
    opened_at: Mapped[datetime | None]
    opened_by: Mapped[str | None] = mapped_column(String(100))


class SupervisionFeedback(Base):
    """What a supervising department reports back against a licence or case (only abnormal results need one)."""

    __tablename__ = "supervision_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), index=True)
    push_id: Mapped[int | None] = mapped_column(ForeignKey("linkage_push.id"))
    department: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20))           # inspection | measure | credit_finding
    content: Mapped[str] = mapped_column(Text)
    measures: Mapped[str | None] = mapped_column(Text)
    credit_record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_record.id"))
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(100))


class RectificationStatus:
    OPEN = "open"          # waiting for the department's reply
    REPLIED = "replied"    # the department verified, rectified or explained, and replied to the applicant
    CLOSED = "closed"      # the supervisor closed it after the return visit (回访)
    ALL = (OPEN, REPLIED, CLOSED)


class Rectification(Base):
    """整改: the follow-up of a bad rating (差评) by the responsible department, on the case clock's calendar."""

    __tablename__ = "rectification"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), unique=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("case_rating.id"))
    department: Mapped[str] = mapped_column(String(40), index=True)
    item_code: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), index=True)
    opened_at: Mapped[datetime]
    due: Mapped[datetime]
    working_days: Mapped[int]
    watch_id: Mapped[int | None] = mapped_column(ForeignKey("deadline_watch.id"))
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None]
    replied_by: Mapped[str | None] = mapped_column(String(100))
    on_time: Mapped[bool | None]
    visit_answer: Mapped[str | None] = mapped_column(Text)
    visit_satisfied: Mapped[bool | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(100))


class FilingStatus:
    FILED = "filed"          # waiting for the supervision office's review
    CONFIRMED = "confirmed"  # the negative outcome stands
    REOPENED = "reopened"    # it did not: the application is handled again as a new case
    ALL = (FILED, CONFIRMED, REOPENED)


class NegativeFiling(Base):
    """否定备案: a negative outcome (不予受理, 不予许可, returned or withdrawn at staff's suggestion) filed for review."""

    __tablename__ = "negative_filing"
    __table_args__ = (UniqueConstraint("case_id", "outcome", name="uq_negative_filing_case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), index=True)
    department: Mapped[str] = mapped_column(String(40), index=True)
    outcome: Mapped[str] = mapped_column(String(30))   # not_accepted | not_approved | withdrawn | terminated
    reason: Mapped[str | None] = mapped_column(Text)
    filed_at: Mapped[datetime]
    filed_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    reopened_case_id: Mapped[int | None] = mapped_column(ForeignKey("approval_case.id"))
