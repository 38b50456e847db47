"""The transactional outbox (发件箱): e-mail and SMS leave the system only after the change commits.

``enqueue(ctx, ...)`` adds a row in the command's own session, so a rolled-back
change leaves nothing to send and a committed one loses nothing.
``dispatch_due(session_factory)`` sends what is due.

How dispatchers share the work. A network send can take seconds (or a 30 s
timeout), so no database transaction stays open across it. Instead:

1. *claim* — one short transaction selects due pending rows with
   ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; on SQLite the transaction is
   ``BEGIN IMMEDIATE``, so claims queue behind each other), adds one to
   ``attempts`` and moves ``next_attempt_at`` a *lease* (5 minutes) ahead.
   Another dispatcher skips the locked rows, and once the claim commits the
   rows are no longer due, so no second live dispatcher can take them;
2. *send* — outside any transaction;
3. *settle* — one short transaction per message marks it ``sent``, or sets the
   next attempt with exponential backoff (1, 2, 4 ... minutes, capped), or
   ``failed`` after the last attempt or a permanent refusal (SMTP 5xx for the
   recipient or the content), keeping ``last_error``.

A dispatcher that dies between claim and settle leaves the row pending with a
lease that expires; then another dispatcher sends it again. So delivery is
exactly once between live dispatchers and at least once across crashes (the
e-mail ``Message-ID`` is stable per row, so a receiver can drop the twin). A
dispatcher stops starting new sends once half its lease is used, and hands
the rest of its batch back, so a slow server cannot make a lease run out
under a live dispatcher.

A channel that is not configured (no ``YIMEN_SMTP_HOST`` for e-mail) is not
claimed at all: its rows stay pending with no attempt spent and are counted as
``unconfigured``, so configuring SMTP later delivers them. Outbox bookkeeping
writes no audit events; the command that enqueued the message has its own.

Configuration (environment): ``YIMEN_SMTP_HOST``, ``YIMEN_SMTP_PORT`` (25, or
465 with ``YIMEN_SMTP_SSL=1``), ``YIMEN_SMTP_USER``, ``YIMEN_SMTP_PASSWORD``,
``YIMEN_SMTP_STARTTLS`` (0/1), ``YIMEN_SMTP_SSL`` (0/1),
``YIMEN_SMTP_TIMEOUT`` (seconds, 30), ``YIMEN_MAIL_FROM``;
``YIMEN_SMS_GATEWAY`` (``module:Class``, default ``LoggingSmsGateway``);
``YIMEN_OUTBOX_MAX_ATTEMPTS`` (8), ``YIMEN_OUTBOX_BACKOFF_SECONDS`` (60),
``YIMEN_OUTBOX_BACKOFF_CAP_SECONDS`` (3600), ``YIMEN_OUTBOX_LEASE_SECONDS`` (300).
"""
from __future__ import annotations

import functools
import importlib
import logging
import os
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Mapping, Protocol

from sqlalchemy import func, select, update

from . import clock
from .errors import ValidationError
from .models import OutboxMessage, OutboxStatus

log = logging.getLogger("yimen.outbox")

CHANNELS = ("email", "sms")
_ERROR_TEXT = 2000  # characters of an error kept in ``last_error``
_ERRORS_REPORTED = 50  # failures listed in one dispatch result


# --- writing -----------------------------------------------------------------------
def enqueue(ctx, channel: str, recipient: str, subject: str, body: str, user_id: str | None = None,
            payload: dict[str, Any] | None = None) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction; it is due at once."""
    if channel not in CHANNELS:
        raise ValidationError(f"unknown outbox channel '{channel}'; channels are {', '.join(CHANNELS)}")
    recipient = (recipient or "").strip()
    if not recipient or len(recipient) > 200:
        raise ValidationError("an outbox recipient of 1-200 characters is required")
    row = OutboxMessage(channel=channel, recipient=recipient, user_id=user_id, subject=subject[:300], body=body,
                        payload=payload or {}, status=OutboxStatus.PENDING, attempts=0,
                        next_attempt_at=ctx.now, created_at=ctx.now)
    ctx.session.add(row)
    return row


# --- channels ------------------------------------------------------------------------
@dataclass(frozen=True)
class Outgoing:
    """A claimed message as a plain value: sending needs no session."""

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    payload: dict[str, Any]
    attempt: int
    created_at: datetime


class Channel(Protocol):
    """Delivers one message; raises on failure (``PermanentFailure`` when retrying cannot help)."""

    def send(self, message: Outgoing) -> None: ...


class PermanentFailure(Exception):
    """The other side refused this very message (e.g. SMTP 550 for the mailbox): do not retry."""


def _flag(name: str) -> bool:
    return os.environ.get(name, "0").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class SmtpChannel:
    """E-mail (电子邮件) over SMTP with ``smtplib``; one connection per message."""

    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    use_ssl: bool = False
    sender: str = "yimen@localhost"
    timeout: float = 30.0

    @classmethod
    def from_env(cls) -> "SmtpChannel | None":
        """The configured server, or None when ``YIMEN_SMTP_HOST`` is unset (e-mail not configured)."""
        host = os.environ.get("YIMEN_SMTP_HOST", "").strip()
        if not host:
            return None
        use_ssl = _flag("YIMEN_SMTP_SSL")
        return cls(host=host, port=int(os.environ.get("YIMEN_SMTP_PORT") or (465 if use_ssl else 25)),
                   user=os.environ.get("YIMEN_SMTP_USER") or None,
                   password=os.environ.get("YIMEN_SMTP_PASSWORD") or None,
                   starttls=_flag("YIMEN_SMTP_STARTTLS"), use_ssl=use_ssl,
                   sender=os.environ.get("YIMEN_MAIL_FROM") or f"yimen@{host}",
                   timeout=float(os.environ.get("YIMEN_SMTP_TIMEOUT") or 30))

    def build(self, message: Outgoing) -> EmailMessage:
        """A UTF-8 message; the ``Message-ID`` is stable per outbox row so a resend can be recognised."""
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.recipient
        mail["Subject"] = " ".join(message.subject.split())  # a line break would end the header
        mail["Date"] = format_datetime(clock.now())
        domain = self.sender.rpartition("@")[2].strip(" >") or "localhost"
        mail["Message-ID"] = f"<yimen.outbox.{message.id}.{message.created_at:%Y%m%d%H%M%S}@{domain}>"
        mail["X-Yimen-Outbox-Id"] = str(message.id)
        mail.set_content(message.body, charset="utf-8", cte="base64")
        return mail

    def send(self, message: Outgoing) -> None:
        mail = self.build(message)
        if self.use_ssl:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=_tls_context())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.starttls and not self.use_ssl:
                smtp.starttls(context=_tls_context())
            if self.user:
                smtp.login(self.user, self.password or "")
            try:
                smtp.send_message(mail)
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                if codes and all(500 <= code < 600 for code in codes):
                    raise PermanentFailure(f"recipient refused: {_smtp_replies(exc.recipients)}") from exc
                raise
            except smtplib.SMTPDataError as exc:
                if 500 <= exc.smtp_code < 600:
                    raise PermanentFailure(f"message refused: {exc.smtp_code} {_decode(exc.smtp_error)}") from exc
                raise


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """Certificate-checking TLS; built once, as loading the system CA store is slow."""
    return ssl.create_default_context()


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _smtp_replies(recipients: dict) -> str:
    return "; ".join(f"{addr}: {code} {_decode(reply)}" for addr, (code, reply) in recipients.items())


class SmsGateway(Protocol):
    """短信网关: the extension point for a real SMS provider.

    Implement ``send_sms(phone, text)`` (raise on failure) in a class whose
    constructor takes no arguments (read your provider's keys from the
    environment), and name it in ``YIMEN_SMS_GATEWAY=package.module:Class``.
    """

    def send_sms(self, phone: str, text: str) -> None: ...


class LoggingSmsGateway:
    """The default gateway: writes each SMS to the ``yimen.sms`` log instead of sending it."""

    logger = logging.getLogger("yimen.sms")

    def send_sms(self, phone: str, text: str) -> None:
        self.logger.info("SMS to %s: %s", _mask(phone), text)


def _mask(phone: str) -> str:
    """138****5678: a log is no place for a whole phone number."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def load_sms_gateway(spec: str | None = None) -> SmsGateway:
    """The gateway named by ``YIMEN_SMS_GATEWAY`` (``module:Class``), default ``LoggingSmsGateway``."""
    spec = (spec if spec is not None else os.environ.get("YIMEN_SMS_GATEWAY", "")).strip()
    if not spec:
        return LoggingSmsGateway()
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"YIMEN_SMS_GATEWAY must look like 'package.module:Class', not '{spec}'")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory()


@dataclass
class SmsChannel:
    """SMS (短信) through a gateway: subject and body as one text."""

    gateway: SmsGateway

    def send(self, message: Outgoing) -> None:
        text = f"{message.subject}\n{message.body}" if message.body else message.subject
        self.gateway.send_sms(message.recipient, text)


def default_channels() -> tuple[dict[str, Channel | None], list[dict]]:
    """Channels from the environment, read at each dispatch; a broken setting is reported, not raised."""
    channels: dict[str, Channel | None] = {}
    problems: list[dict] = []
    for name, build in (("email", SmtpChannel.from_env), ("sms", lambda: SmsChannel(load_sms_gateway()))):
        try:
            channels[name] = build()
        except Exception as exc:  # noqa: BLE001 - one bad setting must not stop the other channel
            channels[name] = None
            problems.append({"code": "channel_misconfigured", "channel": name,
                             "message": f"{exc.__class__.__name__}: {exc}"})
    return channels, problems


# --- retry policy ----------------------------------------------------------------------
def max_attempts() -> int:
    return max(1, int(os.environ.get("YIMEN_OUTBOX_MAX_ATTEMPTS", "8")))


def backoff(attempt: int) -> timedelta:
    """Wait after the ``attempt``-th failure: base, 2x base, 4x base ... up to the cap."""
    base = max(1.0, float(os.environ.get("YIMEN_OUTBOX_BACKOFF_SECONDS", "60")))
    cap = max(base, float(os.environ.get("YIMEN_OUTBOX_BACKOFF_CAP_SECONDS", "3600")))
    return timedelta(seconds=min(cap, base * 2 ** max(0, min(attempt - 1, 30))))


def lease() -> timedelta:
    return timedelta(seconds=max(10.0, float(os.environ.get("YIMEN_OUTBOX_LEASE_SECONDS", "300"))))


# --- dispatching -----------------------------------------------------------------------
@dataclass
class _Tally:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[dict] = field(default_factory=list)

    def error(self, entry: dict) -> None:
        if len(self.errors) < _ERRORS_REPORTED:
            self.errors.append(entry)


def dispatch_due(session_factory, until: datetime | None = None, limit: int = 100,
                 channels: Mapping[str, Channel | None] | None = None) -> dict:
    """Send every message due up to ``until`` (default now); each is tried at most once per call.

    ``limit`` is the batch claimed per short transaction; batches repeat until
    nothing is due. ``channels`` maps a channel name to its sender (None or
    absent: not configured); by default they come from the environment.
    """
    lease(), max_attempts(), backoff(1)  # a broken setting fails here, before anything is claimed
    problems: list[dict] = []
    if channels is None:
        channels, problems = default_channels()
    ready = {name: ch for name, ch in channels.items() if ch is not None}
    until = until or clock.now()
    if until.tzinfo is None:
        until = until.replace(tzinfo=timezone.utc)
    tally = _Tally(errors=list(problems))
    unconfigured = _count_unconfigured(session_factory, sorted(ready), until)
    while ready:
        moment = max(until, clock.now())
        batch, lease_until = _claim(session_factory, sorted(ready), until, moment, max(1, limit))
        if not batch:
            break
        started = time.monotonic()
        for position, message in enumerate(batch):
            if position and time.monotonic() - started > lease().total_seconds() / 2:
                _release(session_factory, [m.id for m in batch[position:]], lease_until, moment)
                log.info("outbox: half the lease used; %d claimed messages handed back", len(batch) - position)
                break
            _deliver(session_factory, ready[message.channel], message, lease_until, moment, tally)
    return {"sent": tally.sent, "retried": tally.retried, "failed": tally.failed, "unconfigured": unconfigured,
            "errors": tally.errors}


def _due(names: list[str], until: datetime):
    return (OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= until,
            OutboxMessage.channel.in_(names))


def _count_unconfigured(session_factory, ready: list[str], until: datetime) -> int:
    with session_factory() as session:
        session.connection(execution_options={"yimen_read_only": True})
        stmt = select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= until,
            OutboxMessage.channel.not_in(ready))
        try:
            return int(session.scalar(stmt) or 0)
        finally:
            session.rollback()


def _claim(session_factory, names: list[str], until: datetime, moment: datetime,
           limit: int) -> tuple[list[Outgoing], datetime]:
    """Step 1: lock due rows nobody else holds, spend an attempt and take a lease, in one short transaction."""
    lease_until = moment + lease()
    with session_factory() as session:
        stmt = (select(OutboxMessage).where(*_due(names, until))
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
                .with_for_update(skip_locked=True))
        batch = []
        try:
            for row in session.scalars(stmt):
                row.attempts += 1
                row.next_attempt_at = lease_until
                batch.append(Outgoing(id=row.id, channel=row.channel, recipient=row.recipient, subject=row.subject,
                                      body=row.body, payload=dict(row.payload or {}), attempt=row.attempts,
                                      created_at=row.created_at))
            session.commit()
        except BaseException:
            session.rollback()
            raise
    return batch, lease_until


def _release(session_factory, ids: list[int], lease_until: datetime, moment: datetime) -> None:
    """Hand back claimed rows not sent yet: due again, the attempt not counted."""
    with session_factory() as session, session.begin():
        session.execute(update(OutboxMessage)
                        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.PENDING,
                               OutboxMessage.next_attempt_at == lease_until)
                        .values(next_attempt_at=moment, attempts=OutboxMessage.attempts - 1))


def _deliver(session_factory, channel: Channel, message: Outgoing, lease_until: datetime, moment: datetime,
             tally: _Tally) -> None:
    """Steps 2 and 3: send outside any transaction, then settle the row in its own short one."""
    error: str | None = None
    permanent = False
    try:
        channel.send(message)
    except PermanentFailure as exc:
        error, permanent = str(exc), True
    except Exception as exc:  # noqa: BLE001 - any failure of the far side is retried
        error = f"{exc.__class__.__name__}: {exc}"
    with session_factory() as session, session.begin():
        row = session.get(OutboxMessage, message.id, with_for_update=True)
        if row is None or row.status != OutboxStatus.PENDING:
            return
        if error is None:
            row.status, row.sent_at = OutboxStatus.SENT, clock.now()
            tally.sent += 1
            return
        if row.next_attempt_at != lease_until:
            return  # our lease ran out and another dispatcher holds the row now; it decides
        row.last_error = error[:_ERROR_TEXT]
        final = permanent or row.attempts >= max_attempts()
        if final:
            row.status = OutboxStatus.FAILED
            tally.failed += 1
        else:
            row.next_attempt_at = moment + backoff(row.attempts)
            tally.retried += 1
        tally.error({"id": message.id, "channel": message.channel, "attempt": row.attempts, "final": final,
                     "error": error[:500]})


# --- reading ---------------------------------------------------------------------------
def message_dict(row: OutboxMessage) -> dict[str, Any]:
    return {"id": row.id, "channel": row.channel, "recipient": row.recipient, "user": row.user_id,
            "subject": row.subject, "body": row.body, "payload": row.payload, "status": row.status,
            "attempts": row.attempts, "next_attempt": row.next_attempt_at.isoformat(), "last_error": row.last_error,
            "created": row.created_at.isoformat(), "sent": row.sent_at.isoformat() if row.sent_at else None}


def messages(session, status: str | None = None, limit: int = 100, user_id: str | None = None) -> list[dict]:
    """Outbox rows, newest first, e.g. ``messages(s, status="failed")`` to see what never went out."""
    if status is not None and status not in OutboxStatus.ALL:
        raise ValidationError(f"unknown outbox status '{status}'; statuses are {', '.join(OutboxStatus.ALL)}")
    stmt = select(OutboxMessage)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    if user_id is not None:
        stmt = stmt.where(OutboxMessage.user_id == user_id)
    limit = max(1, min(int(limit), 1000))
    return [message_dict(row) for row in session.scalars(stmt.order_by(OutboxMessage.id.desc()).limit(limit))]
