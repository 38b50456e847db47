"""Bundles (一件事 / 一链办理): related service items applied for once, accepted once and delivered once.

A ``Bundle`` is the definition an administrator keeps in the catalogue: its member items and the materials
they share (uploaded once for all of them). A ``BundleApplication`` is one applicant's one application for a
bundle; each member item is an ordinary case (``approval_case``) with its own process and working-day clock,
tied to the application by a ``BundleMember`` row.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class BundleStatus:
    SUBMITTED = "submitted"            # waiting for the window's one acceptance decision
    ACCEPTED = "accepted"              # every member accepted in one transaction
    NOT_ACCEPTED = "not_accepted"      # 不予受理 for the bundle: every member not accepted
    CORRECTION_REQUESTED = "correction_requested"  # 补正 for the bundle; accepted once the members are back
    DISPATCHED = "dispatched"          # 统一出件: every member's result sent together
    DELIVERED = "delivered"
    RECEIVED = "received"
    ALL = (SUBMITTED, ACCEPTED, NOT_ACCEPTED, CORRECTION_REQUESTED, DISPATCHED, DELIVERED, RECEIVED)


class Bundle(Base):
    __tablename__ = "bundle"

    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))             # the Chinese name, primary
    name_en: Mapped[str | None] = mapped_column(String(300))   # the English name, optional
    items: Mapped[list[Any]] = mapped_column(default=list)     # member item codes, in order
    shared_materials: Mapped[list[Any]] = mapped_column(default=list)  # material names uploaded once for all
    cross_level: Mapped[bool] = mapped_column(default=False)   # the administrator allows members of other levels
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))


class BundleApplication(Base):
    __tablename__ = "bundle_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    bundle_code: Mapped[str] = mapped_column(ForeignKey("bundle.code"), index=True)
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_user: Mapped[str | None] = mapped_column(String(100), index=True)
    agent_user: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    submitted_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class BundleMember(Base):
    __tablename__ = "bundle_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("bundle_application.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), unique=True)
    item_code: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)
