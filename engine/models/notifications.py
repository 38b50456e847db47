"""In-app notices (站内消息) for people: reminders (催办), copies (抄送), and the like."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
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
    # What the notice says as a kind and its parameters (engine.notify), so a page renders it in the reader's
    # language; rows written before 0015 have neither and are shown by their stored subject and body.
    kind: Mapped[str | None] = mapped_column(String(40))
    params: Mapped[dict[str, Any] | None]


class NoticePreference(Base):
    """How a person wants notices besides the in-app one: by e-mail, by SMS (短信), both or neither, per
    category of notice (``engine.notify.NOTICE_CATEGORIES``: 办件进度, 需要您办理, 决定与证照, 待办与督办, 其他通知).

    No row: both, wherever an address or number is on file. ``email`` and ``sms`` are the choice for every
    category without one of its own in ``categories`` (``{"progress": {"email": false, "sms": true}, ...}``).
    """

    __tablename__ = "notice_pref"

    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[bool] = mapped_column(default=True)
    sms: Mapped[bool] = mapped_column(default=True)
    categories: Mapped[dict[str, Any] | None]
    updated_at: Mapped[datetime]
