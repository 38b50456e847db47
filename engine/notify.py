"""Tell people something, in the same transaction as the change that causes it.

Notices are in-app messages written with the command's own transaction, so a
rolled-back command leaves no notice behind. (E-mail and SMS delivery through
an outbox comes with the supervision work; they will be added here.)
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .errors import NotFound, PermissionDenied
from .models.notifications import Notification


def notify_user(ctx, user_id: str, subject: str, body: str, payload: dict[str, Any] | None = None,
                instance_id: int | None = None) -> Notification:
    note = Notification(user_id=user_id, subject=subject, body=body, payload=payload or {},
                        instance_id=instance_id, created_at=ctx.now)
    ctx.session.add(note)
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
