"""Agents (代办): an agent acts for an applicant only under a recorded authorisation (委托书)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class AgentAuthorisation(Base):
    """One 委托书: who (by ID number) lets which agent act, for which items, until when, confirmed how."""

    __tablename__ = "agent_authorisation"
    __table_args__ = (Index("ix_agent_authorisation_lookup", "agent_user", "applicant_id_no", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_kind: Mapped[str] = mapped_column(String(20))  # person | organisation
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_id_no: Mapped[str] = mapped_column(String(60), index=True)  # 身份证号 or 统一社会信用代码
    applicant_user: Mapped[str | None] = mapped_column(String(100), index=True)  # set when she granted it online
    agent_user: Mapped[str] = mapped_column(String(100))
    scope: Mapped[list[Any]] = mapped_column(default=list)  # item codes; empty: every item
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    confirmed: Mapped[str] = mapped_column(String(20))  # online (the applicant herself) | paper (signed, scanned)
    recorded_by: Mapped[str] = mapped_column(String(100))
    scan_filename: Mapped[str | None] = mapped_column(String(255))
    scan_path: Mapped[str | None] = mapped_column(String(500))
    scan_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | revoked
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(100))


class VerifiedIdentity(Base):
    """实名认证: the identity an account holder proved in person at the window (ID card seen by staff)."""

    __tablename__ = "verified_identity"

    user_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # person | organisation (the account acts for it)
    name: Mapped[str] = mapped_column(String(200))
    id_no: Mapped[str] = mapped_column(String(60), index=True)
    verified_by: Mapped[str] = mapped_column(String(100))
    verified_at: Mapped[datetime]
