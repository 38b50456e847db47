"""Written results of a case: the decision (决定书), the licence (证照), its delivery (出件), the commitment (承诺书).

* ``DocumentCounter`` — the last number used per office, year and series, so
  decision and licence numbers run per office and year (``SJ-JD-2026-00001``);
* ``Decision`` — the numbered 准予 / 不予行政许可决定书 of a case (Arts. 38, 39);
* ``Licence`` — the electronic licence: pending from an approval until the
  window issues it (制证, Art. 44: within 10 working days), issued, or revoked;
* ``Delivery`` — 统一出件: pickup at the window or post, with the dispatch,
  delivered and received confirmations;
* ``Commitment`` — a signed 告知承诺书, online or on paper (with its scan).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class DocumentCounter(Base):
    __tablename__ = "document_counter"

    office_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(String(20), primary_key=True)  # decision | licence
    last: Mapped[int] = mapped_column(default=0)


class Decision(Base):
    __tablename__ = "case_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), unique=True)
    number: Mapped[str] = mapped_column(String(80), unique=True)
    approved: Mapped[bool]
    office_code: Mapped[str] = mapped_column(String(40))
    office: Mapped[str | None] = mapped_column(String(200))
    entrusted: Mapped[str | None] = mapped_column(String(200))  # 委托下放: the entrusted organ (受委托机关)
    item_name: Mapped[str] = mapped_column(String(300))
    holder: Mapped[str] = mapped_column(String(200))
    holder_id_no: Mapped[str | None] = mapped_column(String(60))
    reasons: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(Text)
    appeal_rights: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(String(100))


class LicenceStatus:
    PENDING = "pending"    # approved, waiting for the window to issue it (制证)
    ISSUED = "issued"
    REVOKED = "revoked"    # e.g. a false commitment (告知承诺) found on verification
    ALL = (PENDING, ISSUED, REVOKED)


class Licence(Base):
    __tablename__ = "licence"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), unique=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("case_decision.id"))
    number: Mapped[str | None] = mapped_column(String(80), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    holder: Mapped[str] = mapped_column(String(200))
    holder_id_no: Mapped[str | None] = mapped_column(String(60))
    item_name: Mapped[str] = mapped_column(String(300))
    scope: Mapped[str | None] = mapped_column(Text)
    office_code: Mapped[str] = mapped_column(String(40))
    office: Mapped[str | None] = mapped_column(String(200))
    entrusted: Mapped[str | None] = mapped_column(String(200))  # 委托下放: the entrusted organ (受委托机关)
    due_at: Mapped[datetime]                       # Art. 44: 10 working days after the decision
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    issued_at: Mapped[datetime | None]
    issued_by: Mapped[str | None] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(Text)


class DeliveryStatus:
    CHOSEN = "chosen"          # the applicant chose how to receive the result
    DISPATCHED = "dispatched"  # posted, with a tracking number
    READY = "ready"            # waiting at the window for pickup
    DELIVERED = "delivered"    # the post reports it delivered / handed over at the window
    RECEIVED = "received"      # the applicant confirms she has it
    ALL = (CHOSEN, DISPATCHED, READY, DELIVERED, RECEIVED)


class Delivery(Base):
    __tablename__ = "case_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), unique=True)
    method: Mapped[str] = mapped_column(String(20))  # pickup | post
    address: Mapped[str | None] = mapped_column(String(500))
    recipient: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_no: Mapped[str | None] = mapped_column(String(100))
    chosen_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]
    dispatched_by: Mapped[str | None] = mapped_column(String(100))
    delivered_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Commitment(Base):
    __tablename__ = "case_commitment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), unique=True)
    mode: Mapped[str] = mapped_column(String(20))  # online | paper
    text_sha256: Mapped[str] = mapped_column(String(64))  # the text she read and signed
    signer_name: Mapped[str] = mapped_column(String(200))
    signed_by: Mapped[str] = mapped_column(String(100))  # her account, or the window staff who recorded paper
    signed_at: Mapped[datetime]
    scan_filename: Mapped[str | None] = mapped_column(String(255))
    scan_path: Mapped[str | None] = mapped_column(String(500))
    scan_sha256: Mapped[str | None] = mapped_column(String(64))
