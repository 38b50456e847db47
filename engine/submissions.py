"""Idempotent applications: the same submission sent twice makes one case.

A caller may name a submission with a key (``Idempotency-Key`` on ``POST /api/cases``; the apply page sends the
one-time token of the form it showed). The first use of a key reserves it before the case is made; a repeat with
the same application answers with that case, a repeat with a different application is refused. Two submissions
racing with one key are serialised by the key's unique row: on PostgreSQL the second insert waits for the first
transaction and then finds its case; on SQLite writers queue anyway (``BEGIN IMMEDIATE``).
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .errors import Conflict, ValidationError
from .models import SubmissionKey

MAX_KEY = 200


def check_key(key: Any) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
        raise ValidationError(f"an Idempotency-Key is 1 to {MAX_KEY} visible characters", field="Idempotency-Key")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        raise ValidationError("an Idempotency-Key may not contain control characters", field="Idempotency-Key")
    return key


def fingerprint(item_code: str, applicant: Any, agent: Any, form: Any, materials: Any, region: Any = None) -> str:
    """What makes two submissions the same application: its fields and the digests of its files."""
    files = [[m.get("name"), m.get("filename"), hashlib.sha256(m.get("content") or b"").hexdigest()]
             for m in materials or [] if isinstance(m, dict)]
    body = {"item": item_code, "applicant": applicant, "agent": agent, "form": form, "materials": files}
    if region is not None:  # 放权: the same application from another region is another application
        body["region"] = region
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def reserve(ctx, key: str, digest: str) -> tuple[SubmissionKey | None, int | None]:
    """``(row, None)``: ``key`` is reserved for this caller's new case (bind the row to it); ``(None, case_id)``:
    the key was used before for this very application, which made that case."""
    key_hash = hashlib.sha256(f"{ctx.actor.id}\0{key}".encode()).hexdigest()
    query = select(SubmissionKey).where(SubmissionKey.key_hash == key_hash)
    row = ctx.session.scalars(query).first()
    if row is None:
        row = SubmissionKey(key_hash=key_hash, fingerprint=digest, created_at=ctx.now)
        try:
            with ctx.session.begin_nested():
                ctx.session.add(row)
            return row, None
        except IntegrityError:  # a twin submission holds the key: it has committed by now, or rolled back
            row = ctx.session.scalars(query.execution_options(populate_existing=True)).first()
            if row is None:
                raise Conflict("a submission with the same Idempotency-Key was running at the same time; "
                               "send it again") from None
    if row.fingerprint != digest:
        raise Conflict("this Idempotency-Key was already used for a different application; "
                       "use a new key for a new application")
    return None, row.case_id


def bind(ctx, row: SubmissionKey | None, case_id: int) -> None:
    if row is not None:
        row.case_id = case_id
