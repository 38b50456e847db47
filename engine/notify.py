"""Tell people something, in the same transaction as the change that causes it.

``notify_user`` writes an in-app notice (站内消息) and, when the person has an
e-mail address or a phone number, an e-mail and an SMS (短信) into the
transactional outbox (``engine.outbox``), all in the command's own
transaction: a rolled-back command leaves nothing behind and sends nothing; a
committed one is delivered by the outbox dispatcher.
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import select

from .errors import NotFound, PermissionDenied, ValidationError
from .models.identity import User
from .models.notifications import Notification
from .outbox import enqueue


NOTIFY_CHANNELS = ("in_app", "email", "sms")


def notify_user(ctx, user_id: str, subject: str, body: str, payload: dict[str, Any] | None = None,
                instance_id: int | None = None, channels: Iterable[str] = NOTIFY_CHANNELS) -> Notification | None:
    """Notify one person on each of ``channels`` they can be reached on; returns the in-app notice, if any.

    E-mail and SMS go only to an active user with an address / number on file.
    """
    channels = tuple(channels)
    unknown = [c for c in channels if c not in NOTIFY_CHANNELS]
    if unknown:
        raise ValidationError(f"unknown notification channels {unknown}; channels are {', '.join(NOTIFY_CHANNELS)}")
    note = None
    if "in_app" in channels:
        note = Notification(user_id=user_id, subject=subject, body=body, payload=payload or {},
                            instance_id=instance_id, created_at=ctx.now)
        ctx.session.add(note)
    if "email" in channels or "sms" in channels:
        user = ctx.session.get(User, user_id)
        if user is not None and user.active:
            extra = {**(payload or {}), "instance": instance_id} if instance_id is not None else dict(payload or {})
            if "email" in channels and user.email:
                enqueue(ctx, "email", user.email, subject, body, user_id=user_id, payload=extra)
            if "sms" in channels and user.phone:
                enqueue(ctx, "sms", user.phone, subject, body, user_id=user_id, payload=extra)
    return note


def notifications(session, user_id: str, unread_only: bool = False) -> list[dict[str, Any]]:
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return [{"id": n.id, "subject": n.subject, "body": n.body, "instance": n.instance_id,
             "created": n.created_at.isoformat(), "read": n.read_at.isoformat() if n.read_at else None}
            for n in session.scalars(stmt.order_by(Notification.id.desc()).limit(500))]


def mark_read(ctx, notification_id: int) -> None:
    note = ctx.session.get(Notification, notification_id)
    if note is None:
        raise NotFound(f"notification {notification_id} does not exist")
    if note.user_id != ctx.actor.id and not ctx.actor.is_admin:
        raise PermissionDenied("a notification can only be marked read by the person it was sent to")
    note.read_at = note.read_at or ctx.now
