"""Cases (办件): an application for a service item, wrapping one process instance.

A case carries what the process does not: its readable number, the
applicant and agent, the materials received, the opinions given at each step
and the written notices (acceptance, refusal, correction...). Its status
follows the process (see ``engine.cases.follow_process``), never ad-hoc writes.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class CaseStatus:
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    NOT_ACCEPTED = "not_accepted"
    CORRECTION_REQUESTED = "correction_requested"
    UNDER_REVIEW = "under_review"
    SPECIAL_PROCEDURE = "special_procedure"
    APPROVED = "approved"
    NOT_APPROVED = "not_approved"
    CONCLUDED = "concluded"
    WITHDRAWN = "withdrawn"
    TERMINATED = "terminated"
    ALL = (SUBMITTED, ACCEPTED, NOT_ACCEPTED, CORRECTION_REQUESTED, UNDER_REVIEW, SPECIAL_PROCEDURE, APPROVED,
           NOT_APPROVED, CONCLUDED, WITHDRAWN, TERMINATED)
    FINAL = (NOT_ACCEPTED, CONCLUDED, WITHDRAWN, TERMINATED)


class ApprovalCase(Base):
    __tablename__ = "approval_case"
    # Case lists and search (engine/lists.py); on PostgreSQL the migration adds prefix indexes on the number
    # and the applicant's name.
    __table_args__ = (
        Index("ix_approval_case_office_code", "office_code"),
        Index("ix_approval_case_applicant_id_no", "applicant_id_no"),
        Index("ix_approval_case_submitted_at", "submitted_at"),
        # 一件事: the few bundle members, whose own acceptance steps the inbox leaves out
        Index("ix_approval_case_in_bundle", "instance_id", postgresql_where=text("in_bundle"),
              sqlite_where=text("in_bundle = 1")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    item_code: Mapped[str] = mapped_column(String(100), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    office_code: Mapped[str] = mapped_column(String(40))
    applicant_kind: Mapped[str] = mapped_column(String(20))  # person | organisation
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_id_no: Mapped[str | None] = mapped_column(String(60))
    applicant_user: Mapped[str | None] = mapped_column(String(100), index=True)
    applicant_credit: Mapped[str] = mapped_column(String(20), default="normal")  # good | normal | bad
    agent_name: Mapped[str | None] = mapped_column(String(200))
    agent_user: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    outcome: Mapped[str | None] = mapped_column(String(20))
    submitted_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepting_office: Mapped[str | None] = mapped_column(String(40))  # 互为受理: the accepting window's office
    # 放权 (engine.levels): the applicant's region, the implementation mode that routed the case there, the
    # authority named on its documents, the entrusted organ (委托下放) and the approving office (审核转报)
    region: Mapped[str | None] = mapped_column(String(40), index=True)
    route_mode: Mapped[str | None] = mapped_column(String(20))
    authority_office: Mapped[str | None] = mapped_column(String(40))
    authority_name: Mapped[str | None] = mapped_column(String(300))
    entrusted_office: Mapped[str | None] = mapped_column(String(40))
    approving_office: Mapped[str | None] = mapped_column(String(40))
    concluded_at: Mapped[datetime | None]
    form: Mapped[dict[str, Any]] = mapped_column(default=dict)
    extension_days: Mapped[int] = mapped_column(default=0)
    # 一件事: a member of a bundle application (``bundle_member``), accepted with its bundle, not on its own
    in_bundle: Mapped[bool] = mapped_column(default=False, server_default=false())
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class CaseMaterial(Base):
    """A material of a case: required or tolerable-missing, received (file on disk) or missing."""

    __tablename__ = "case_material"
    __table_args__ = (UniqueConstraint("case_id", "name", name="uq_case_material_case_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(default=True)
    tolerable: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20))  # received | missing
    filename: Mapped[str | None] = mapped_column(String(255))
    stored_path: Mapped[str | None] = mapped_column(String(500))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None]
    received_at: Mapped[datetime | None]


class CaseOpinion(Base):
    """Who decided what at which step, with their written opinion (审批意见)."""

    __tablename__ = "case_opinion"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    step: Mapped[str | None] = mapped_column(String(500))
    user_id: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(40))
    text: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class CaseNotice(Base):
    """A written notice given to the applicant (受理通知书, 不予受理决定书, 补正告知书...)."""

    __tablename__ = "case_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(80), unique=True)
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    issued_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(String(100))


class CaseCounter(Base):
    """The last sequence number used per office and day, for readable case numbers."""

    __tablename__ = "case_counter"

    office_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class CreditRecord(Base):
    """An entry of an applicant's credit (信用): a false commitment under 告知承诺, a supervision finding, a list."""

    __tablename__ = "credit_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_id_no: Mapped[str | None] = mapped_column(String(60), index=True)
    applicant_user: Mapped[str | None] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # false_commitment | supervision_finding | imported_list | ...
    case_id: Mapped[int | None] = mapped_column(ForeignKey("approval_case.id"))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
    # The entry's weight and life (engine.credit): good | bad | blacklist (失信联合惩戒), who reported it, until when.
    subject_kind: Mapped[str | None] = mapped_column(String(20))  # person (ID number) | organisation (统一社会信用代码)
    level: Mapped[str] = mapped_column(String(20), default="bad", server_default="bad")
    source: Mapped[str | None] = mapped_column(String(200))
    expires_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str | None] = mapped_column(String(100))


class CarbonCopy(Base):
    """抄送: a user given read access to an instance (and a notice about it)."""

    __tablename__ = "carbon_copy"
    __table_args__ = (UniqueConstraint("instance_id", "user_id", name="uq_carbon_copy_instance_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(100), index=True)
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)


class CaseRating(Base):
    """The applicant's rating of a concluded case (好差评): 1 (very bad) to 5 (very good)."""

    __tablename__ = "case_rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), unique=True)
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    rated_by: Mapped[str] = mapped_column(String(100))
    rated_at: Mapped[datetime]
