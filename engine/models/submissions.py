"""Submission keys: a repeated application (a double click, a client's retry) answers with the first case."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class SubmissionKey(Base):
    """One ``Idempotency-Key`` (or apply-form token) of one caller, and the case its first use created."""

    __tablename__ = "submission_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    # sha256 of the caller and the key they sent: keys of different callers never meet
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # sha256 of the application itself: the same key with a different application is refused
    fingerprint: Mapped[str] = mapped_column(String(64))
    # set once the case exists; the row is written first so that a second submission with the key waits for it
    case_id: Mapped[int | None] = mapped_column(ForeignKey("approval_case.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
