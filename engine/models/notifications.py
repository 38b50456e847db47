"""In-app notices (站内消息) for people: reminders (催办), copies (抄送), and the like."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Notification(Base):
    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    instance_id: Mapped[int | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
