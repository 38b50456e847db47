"""首问负责: the first staff member an applicant meets records the enquiry, and it is routed to its office."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Enquiry(Base):
    """One enquiry (咨询): who asked what, who met them first, which office must answer, and the answer."""

    __tablename__ = "enquiry"
    __table_args__ = (Index("ix_enquiry_department_status", "department_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(40))  # a phone number the answer goes to by SMS
    question: Mapped[str] = mapped_column(Text)
    item_code: Mapped[str | None] = mapped_column(String(100))
    department_id: Mapped[str] = mapped_column(String(100))  # the office that must answer
    recorded_by: Mapped[str] = mapped_column(String(100), index=True)  # the first staff member met (首问责任人)
    recorded_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | answered
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[datetime | None]
