"""The hash-chained audit trail: append within a command, verify from the CLI.

Each event's hash covers its content and the previous event's hash, so a
changed event breaks its own hash and a deleted one breaks the chain (and the
sequence numbers). The single ``audit_head`` row is locked while appending so
concurrent commands extend the chain in turn.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from .models import AuditEvent, AuditHead

GENESIS = "0" * 64

# Built once: this runs in every command, and a prebuilt Core statement on the
# table skips both statement construction and the ORM's bulk-insert machinery.
_HEAD = AuditHead.__table__
_READ_HEAD = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
_INSERT_EVENT = insert(AuditEvent.__table__)
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))


def _digest(seq: int, at: str, actor: str, action: str, instance_id, task_id, data, prev_hash: str) -> str:
    payload = json.dumps(
        [seq, at, actor, action, instance_id, task_id, data, prev_hash],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _canonical(data: Any) -> Any:
    return json.loads(json.dumps(data, ensure_ascii=False, default=str, sort_keys=True))


def append_event(ctx, action: str, instance_id: int | None, task_id: str | None, data: dict) -> str:
    """Append one event; returns its hash. Plain statements (no ORM bookkeeping): this runs in every command."""
    session: Session = ctx.session
    session.flush()  # the command's own row changes first, then the chain head: one lock order for everyone
    conn = session.connection()
    head = conn.execute(_READ_HEAD).first()
    if head is None:
        raise RuntimeError("the audit chain head is missing; run 'yimen db upgrade'")
    seq = head.seq + 1
    data = _canonical(data or {})
    digest = _digest(seq, ctx.now.isoformat(), ctx.actor.id, action, instance_id, task_id, data, head.hash)
    conn.execute(_INSERT_EVENT, {"seq": seq, "at": ctx.now, "actor": ctx.actor.id, "action": action,
                                 "instance_id": instance_id, "task_id": task_id, "data": data,
                                 "prev_hash": head.hash, "hash": digest})
    conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": digest})
    return digest


def verify(session: Session) -> dict[str, Any]:
    """Walk the chain; report the first broken link and what is wrong with it."""
    problems: list[dict[str, Any]] = []
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).yield_per(1000):
        count += 1
        if event.seq != expected_seq:
            problems.append({"seq": expected_seq, "problem": f"event {expected_seq} is missing (next is {event.seq})"})
        if event.prev_hash != prev_hash:
            problems.append({"seq": event.seq, "problem": "previous-hash link broken"})
        recomputed = _digest(event.seq, event.at.isoformat(), event.actor, event.action, event.instance_id,
                             event.task_id, event.data, event.prev_hash)
        if recomputed != event.hash:
            problems.append({"seq": event.seq, "problem": "content changed (hash mismatch)"})
        prev_hash = event.hash
        expected_seq = event.seq + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        problems.append({"seq": head.seq, "problem": "events at the end of the chain were deleted"})
    return {"ok": not problems, "events": count, "problems": problems}


def events_of_instance(session: Session, instance_id: int, limit: int = 1000) -> list[dict[str, Any]]:
    """One instance's events in order: the audit trail a supervisor reads for a case."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                           .order_by(AuditEvent.seq).limit(limit))
    return [{"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "task": e.task_id,
             "data": e.data, "hash": e.hash} for e in rows]


def diff(before: dict, after: dict) -> dict[str, Any]:
    """Keys that changed between two data dicts, with old and new values."""
    changed = {}
    for key in sorted(set(before) | set(after)):
        if before.get(key, ...) != after.get(key, ...):
            changed[key] = {"old": before.get(key), "new": after.get(key)}
    return changed
