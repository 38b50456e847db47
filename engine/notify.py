"""Tell people something, in the same transaction as the change that causes it.

``notify_user`` writes an in-app notice (站内消息) and, when the person has an
e-mail address or a phone number and has not turned that channel off (their
notice preferences, ``notice_prefs``), an e-mail and an SMS (短信) into the
transactional outbox (``engine.outbox``), all in the command's own
transaction: a rolled-back command leaves nothing behind and sends nothing; a
committed one is delivered by the outbox dispatcher.

A notice carries its text (Chinese, what e-mail and SMS send) and, where the
caller gives them, a ``kind`` and its ``params``: the pages render those in the
reader's language (``web/notices.py``) and fall back to the stored text.

People choose e-mail and SMS per category of notice (``NOTICE_CATEGORIES``, grouped by ``kind``). The notices
the law requires to reach the applicant (``REQUIRED_KINDS``: 补正告知 with its deadline, 不予受理 and the
decision 准予 / 不予许可 with the appeal rights, 终止, 撤销) cannot be switched off entirely: the in-app notice
always stays, and when the person has turned both e-mail and SMS off for their category, they still go by SMS
(by e-mail where no phone number is on file).
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import select

from .errors import NotFound, PermissionDenied, ValidationError
from .models.identity import User
from .models.notifications import NoticePreference, Notification
from .outbox import enqueue


NOTIFY_CHANNELS = ("in_app", "email", "sms")
OUTSIDE_CHANNELS = ("email", "sms")

# The categories of notice a person chooses e-mail and SMS for, and the kinds of notice each holds. A notice
# without a kind, or of a kind not listed, belongs to "other".
NOTICE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "progress": ("receipt", "acceptance", "special_procedure", "extension", "dispatched", "delivered", "received",
                 "filing_reopened", "rectification_reply", "deadline_moved"),    # 办件进度
    "action": ("correction", "tolerance"),                                         # 需要您办理 (补正, 容缺补交)
    "decision": ("decision", "not_accepted", "terminated", "licence", "licence_revoked"),   # 决定与证照
    "tasks": ("new_task", "returned", "urged", "order", "order_answered", "carbon_copy", "rectification",
              "deadline_warning", "card", "overdue", "backup_overdue", "backup_absent", "bad_rating", "card_appeal",
              "card_appeal_decided", "enquiry", "enquiry_answered", "linkage_push", "supervision_feedback",
              "negative_filing"),  # 待办与督办
    "other": (),                                                                   # 其他通知
}
CATEGORY_OF = {kind: category for category, kinds in NOTICE_CATEGORIES.items() for kind in kinds}
# What the law requires to reach the applicant: never only in-app (see the module's docstring).
REQUIRED_KINDS = frozenset({"correction", "not_accepted", "decision", "terminated", "licence_revoked"})


def category_of(kind: str | None) -> str:
    return CATEGORY_OF.get(kind or "", "other")


def notify_user(ctx, user_id: str, subject: str, body: str, payload: dict[str, Any] | None = None,
                instance_id: int | None = None, channels: Iterable[str] = NOTIFY_CHANNELS, kind: str | None = None,
                params: dict[str, Any] | None = None) -> Notification | None:
    """Notify one person on each of ``channels`` they can be reached on; returns the in-app notice, if any.

    E-mail and SMS go only to an active user with an address / number on file who has not turned the
    channel off for the notice's category in their notice preferences; a notice the law requires
    (``REQUIRED_KINDS``) keeps one outside channel even then.
    """
    channels = tuple(channels)
    unknown = [c for c in channels if c not in NOTIFY_CHANNELS]
    if unknown:
        raise ValidationError(f"unknown notification channels {unknown}; channels are {', '.join(NOTIFY_CHANNELS)}")
    note = None
    if "in_app" in channels:
        note = Notification(user_id=user_id, subject=subject, body=body, payload=payload or {},
                            instance_id=instance_id, created_at=ctx.now, kind=kind,
                            params=params if kind else None)
        ctx.session.add(note)
    if "email" in channels or "sms" in channels:
        # the person and their notice preferences in one statement (a notice is sent on most verbs)
        found = ctx.session.execute(select(User, NoticePreference).outerjoin(
            NoticePreference, NoticePreference.user_id == User.id).where(User.id == user_id)).first()
        user = found[0] if found else None
        if user is not None and user.active:
            wanted = _wanted(found[1])[category_of(kind)]
            if kind in REQUIRED_KINDS and not any(wanted.values()):
                wanted = {"email": not user.phone, "sms": bool(user.phone)}
            extra = {**(payload or {}), "instance": instance_id} if instance_id is not None else dict(payload or {})
            if "email" in channels and user.email and wanted["email"]:
                enqueue(ctx, "email", user.email, subject, body, user_id=user_id, payload=extra)
            if "sms" in channels and user.phone and wanted["sms"]:
                enqueue(ctx, "sms", user.phone, subject, body, user_id=user_id, payload=extra)
    return note


def notifications(session, user_id: str, unread_only: bool = False) -> list[dict[str, Any]]:
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return [{"id": n.id, "subject": n.subject, "body": n.body, "instance": n.instance_id, "kind": n.kind,
             "params": n.params or {}, "created": n.created_at.isoformat(),
             "read": n.read_at.isoformat() if n.read_at else None}
            for n in session.scalars(stmt.order_by(Notification.id.desc()).limit(500))]


def mark_read(ctx, notification_id: int) -> None:
    note = ctx.session.get(Notification, notification_id)
    if note is None:
        raise NotFound(f"notification {notification_id} does not exist")
    if note.user_id != ctx.actor.id and not ctx.actor.is_admin:
        raise PermissionDenied("a notification can only be marked read by the person it was sent to")
    note.read_at = note.read_at or ctx.now


def prefs_of(session, user_id: str) -> dict[str, Any]:
    """The person's notice preferences: ``{"email", "sms", "categories": {category: {"email", "sms"}}}``.

    ``email`` / ``sms`` are true when the channel is on for every category (no row: everything on)."""
    categories = _wanted(session.get(NoticePreference, user_id))
    return {**{ch: all(c[ch] for c in categories.values()) for ch in OUTSIDE_CHANNELS}, "categories": categories}


def _wanted(row: NoticePreference | None) -> dict[str, dict[str, bool]]:
    """Per category, whether e-mail and SMS are on: its own choice, else the row's choice for every category."""
    default = {"email": True if row is None else bool(row.email), "sms": True if row is None else bool(row.sms)}
    own = (row.categories if row is not None else None) or {}
    return {category: {ch: bool((own.get(category) or {}).get(ch, default[ch])) for ch in OUTSIDE_CHANNELS}
            for category in NOTICE_CATEGORIES}


def notice_prefs(session, user_id: str) -> dict[str, Any]:
    """What the account page and ``GET /api/me/notice-preferences`` show: the choice and where it goes."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user '{user_id}' does not exist", user=user_id, what="user")
    return {"user": user_id, **prefs_of(session, user_id), "required": sorted(REQUIRED_KINDS),
            "email_address": user.email, "phone": user.phone}


def text_to_walk_in(ctx, phone: str | None, subject: str, body: str, payload: dict[str, Any] | None = None) -> bool:
    """An applicant with no account (a walk-in, 窗口代录) is told by SMS to the phone on her application."""
    phone = (phone or "").strip()
    if not phone:
        return False
    enqueue(ctx, "sms", phone, subject, body, payload=payload or {})
    return True
