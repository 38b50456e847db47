"""The audit trail: a keyed hash chain, the business rows it covers, and signed checkpoints outside the database.

Each event's hash is an HMAC-SHA256, with a secret kept outside the database,
over its content, the covered rows it wrote and the previous event's hash: a
changed event breaks its own hash, a deleted one breaks the chain, and
nobody without the key can recompute the chain after an edit. Events
written before the chain was keyed (``key_id`` None) keep their plain
SHA-256 and verify as such; ``verify`` counts them.

The key is ``YIMEN_AUDIT_KEY`` (old keys, still read, in
``YIMEN_AUDIT_OLD_KEYS``, comma-separated), or else the file ``audit_keys``
in the instance folder, generated on first use, one key per line with the
newest last (``rotate_key`` adds one). An event records the id of the key
that signed it: the first 16 hex digits of the key's SHA-256.

Deleting the newest events and moving ``audit_head`` back needs no key, so
``checkpoint`` appends ``(seq, head hash, time)``, signed, to an append-only
JSON-lines witness file (``YIMEN_AUDIT_WITNESS``, default
``audit_witness.jsonl`` in the instance folder); the scheduler does it every
ten minutes when the head moved. ``verify`` compares the chain with every
checkpoint: a head below one is a truncation, a different hash at its
sequence number a re-chained history.

The rows recording decisions (``engine.models.audit.COVERED``) are written
into the event of the command that wrote them; ``verify`` rebuilds each
row's last recorded content from the chain and reports rows that differ,
were deleted, or that no event wrote.

The single ``audit_head`` row is locked while appending so concurrent
commands extend the chain in turn.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy import bindparam, insert, inspect, select, update
from sqlalchemy.orm import Session

from . import clock
from .context import command
from .db import instance_path
from .errors import PermissionDenied, ValidationError
from .models import AuditEvent, AuditHead, Base
from .models.audit import COVERED, WRITTEN_ROWS

try:  # POSIX: processes appending to one witness or key file take turns
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

GENESIS = "0" * 64
KEY_FILE = "audit_keys"
WITNESS_FILE = "audit_witness.jsonl"
MIN_KEY_LENGTH = 32

# Built once: this runs in every command, and a prebuilt Core statement on the
# table skips both statement construction and the ORM's bulk-insert machinery.
_HEAD = AuditHead.__table__
_EVENTS = AuditEvent.__table__
_READ_HEAD = select(_HEAD.c.seq, _HEAD.c.hash, _HEAD.c.opening).where(_HEAD.c.id == 1).with_for_update()
_INSERT_EVENT = insert(_EVENTS)
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
_MOVE_HEAD_OPENED = update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("new_seq"), hash=bindparam("new_hash"),
                                                                 opening=None)
_CHAIN = select(_EVENTS.c.seq, _EVENTS.c.at, _EVENTS.c.actor, _EVENTS.c.action, _EVENTS.c.instance_id,
                _EVENTS.c.task_id, _EVENTS.c.data, _EVENTS.c.prev_hash, _EVENTS.c.hash, _EVENTS.c.key_id,
                _EVENTS.c.covered).order_by(_EVENTS.c.seq)


# --- keys ---------------------------------------------------------------------------------------------------------

def key_id(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """The keys this process can check with; ``current`` signs new events and checkpoints."""

    source: str  # "YIMEN_AUDIT_KEY" or the key file's path
    keys: dict[str, bytes] = field(default_factory=dict)
    current: str | None = None

    def sign(self, payload: str, with_key: str | None = None) -> str:
        return hmac.new(self.keys[with_key or self.current], payload.encode("utf-8"), hashlib.sha256).hexdigest()


def key_file() -> Path:
    return _key_file(os.environ.get("YIMEN_INSTANCE_PATH"), os.getcwd())


@functools.lru_cache(maxsize=16)
def _key_file(_configured: str | None, _cwd: str) -> Path:
    """Resolved once per instance folder setting: every command looks the key file up."""
    return instance_path() / KEY_FILE


def witness_path() -> Path:
    configured = os.environ.get("YIMEN_AUDIT_WITNESS")
    return Path(configured).resolve() if configured else instance_path() / WITNESS_FILE


_cached: tuple[tuple, Keyring] | None = None


def keyring(create: bool = False) -> Keyring:
    """The audit keys: ``YIMEN_AUDIT_KEY`` (+ ``YIMEN_AUDIT_OLD_KEYS``), else the key file (generated if ``create``).

    Cached per process until the environment or the file changes, so a rotation
    by another process is picked up by the next command.
    """
    global _cached
    env = os.environ.get("YIMEN_AUDIT_KEY")
    if env:
        token: tuple = ("env", env, os.environ.get("YIMEN_AUDIT_OLD_KEYS", ""))
    else:
        path = key_file()
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if not create:
                return Keyring(str(path))
            _generate_key_file(path)
            st = os.stat(path)
        token = ("file", str(path), st.st_mtime_ns, st.st_size)
    if _cached is not None and _cached[0] == token:
        return _cached[1]
    ring = _env_keyring(env) if env else _file_keyring(Path(token[1]), create)
    _cached = (token, ring)
    return ring


def _env_keyring(current: str) -> Keyring:
    current = current.strip()
    if len(current) < MIN_KEY_LENGTH:
        raise RuntimeError(f"YIMEN_AUDIT_KEY must be at least {MIN_KEY_LENGTH} characters (a long random value)")
    secrets_ = [k.strip() for k in os.environ.get("YIMEN_AUDIT_OLD_KEYS", "").split(",") if k.strip()] + [current]
    return Keyring("YIMEN_AUDIT_KEY", {key_id(k): k.encode("utf-8") for k in secrets_}, key_id(current))


def _file_keyring(path: Path, wait: bool) -> Keyring:
    for _ in range(40 if wait else 1):  # a file another process is generating right now may be empty for a moment
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        found = [ln for ln in lines if ln and not ln.startswith("#")]
        if found:
            return Keyring(str(path), {key_id(k): k.encode("utf-8") for k in found}, key_id(found[-1]))
        time.sleep(0.05)
    if wait:
        raise RuntimeError(f"the audit key file {path} holds no key; restore it from its backup")
    return Keyring(str(path))


_KEY_FILE_HEADER = ("# Yimen audit keys, one per line, oldest first; the last one signs new events.\n"
                    "# Keep a backup: without these keys the audit trail cannot be verified.\n")


def _generate_key_file(path: Path) -> None:
    """Create the key file once (O_EXCL: of processes starting together, one writes it, the others read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise RuntimeError(f"cannot create the audit key file {path} ({exc.strerror}); "
                           "set YIMEN_AUDIT_KEY or make the instance folder writable") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(_KEY_FILE_HEADER + secrets.token_hex(32) + "\n")
        out.flush()
        os.fsync(out.fileno())


@contextmanager
def _locked(path: Path, mode: str) -> Iterator[Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def rotate_key() -> dict[str, Any]:
    """Add a new current key to the key file; the old ones stay for checking what they signed."""
    if os.environ.get("YIMEN_AUDIT_KEY"):
        raise ValidationError("the audit key comes from YIMEN_AUDIT_KEY: put the new key there and add the old one "
                              "to YIMEN_AUDIT_OLD_KEYS (comma-separated), the same in every process")
    path = key_file()
    previous = keyring(create=True).current
    new = secrets.token_hex(32)
    with _locked(path, "a") as out:
        out.write(new + "\n")
        out.flush()
        os.fsync(out.fileno())
    ring = keyring()
    return {"key_id": ring.current, "previous": previous, "keys": len(ring.keys), "file": str(path)}


@command("audit.rotate_key")
def rotate(ctx) -> dict[str, Any]:
    """Rotate the key file's key (administrators); the event recording it is the first the new key signs."""
    if not ctx.actor.is_admin:
        raise PermissionDenied("only an administrator may rotate the audit key")
    result = rotate_key()
    ctx.audit.data = {"key_id": result["key_id"], "previous": result["previous"]}
    return result


# --- digests and covered rows -------------------------------------------------------------------------------------

def _payload(*parts) -> str:
    return json.dumps(list(parts), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _digest(seq: int, at: str, actor: str, action: str, instance_id, task_id, data, prev_hash: str) -> str:
    """The plain SHA-256 of events written before the chain was keyed."""
    payload = _payload(seq, at, actor, action, instance_id, task_id, data, prev_hash)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _event_payload(seq, at, actor, action, instance_id, task_id, data, prev_hash, key, covered) -> str:
    return _payload(seq, at, actor, action, instance_id, task_id, data, prev_hash, key, covered)


def _canonical(data: Any) -> Any:
    return json.loads(json.dumps(data, ensure_ascii=False, default=str, sort_keys=True))


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _written_rows(session: Session) -> list[dict[str, Any]] | None:
    """The covered rows the command wrote since the last event, with their content now."""
    noted = session.info.pop(WRITTEN_ROWS, None)
    if not noted:
        return None
    rows = []
    for (table, row_id), obj in sorted(noted.items(), key=lambda item: (item[0][0], item[0][1])):
        state = inspect(obj)
        if state.transient:  # inserted in a savepoint that was rolled back: never written
            continue
        if state.deleted or state.was_deleted:
            rows.append({"table": table, "id": row_id, "row": None})
        else:
            rows.append({"table": table, "id": row_id, "row": {c: _value(getattr(obj, c)) for c in COVERED[table]}})
    return rows or None


def append_event(ctx, action: str, instance_id: int | None, task_id: str | None, data: dict) -> str:
    """Append one event; returns its hash. Plain statements (no ORM bookkeeping): this runs in every command."""
    session: Session = ctx.session
    session.flush()  # the command's own row changes first, then the chain head: one lock order for everyone
    rows = _written_rows(session)
    ring = keyring(create=True)
    conn = session.connection()
    head = conn.execute(_READ_HEAD).first()
    if head is None:
        raise RuntimeError("the audit chain head is missing; run 'yimen db upgrade'")
    seq = head.seq + 1
    data = _canonical(data or {})
    covered = None
    if rows or head.opening is not None:
        covered = {"rows": rows} if rows else {}
        if head.opening is not None:
            covered["opening"] = head.opening
        covered = _canonical(covered)
    at = ctx.now.isoformat()
    digest = ring.sign(_event_payload(seq, at, ctx.actor.id, action, instance_id, task_id, data, head.hash,
                                      ring.current, covered))
    conn.execute(_INSERT_EVENT, {"seq": seq, "at": ctx.now, "actor": ctx.actor.id, "action": action,
                                 "instance_id": instance_id, "task_id": task_id, "data": data,
                                 "prev_hash": head.hash, "hash": digest, "key_id": ring.current,
                                 "covered": covered})
    conn.execute(_MOVE_HEAD if head.opening is None else _MOVE_HEAD_OPENED, {"new_seq": seq, "new_hash": digest})
    return digest


# --- walking the chain --------------------------------------------------------------------------------------------

@dataclass
class _Walk:
    """What one pass over (part of) the chain found."""

    events: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    legacy: int = 0
    first_signed: int | None = None
    signed_by: dict[str, int] = field(default_factory=dict)
    unknown_keys: dict[str, list[int]] = field(default_factory=dict)  # key id -> [count, first seq]
    hashes: dict[int, str] = field(default_factory=dict)              # at the checkpoints' sequence numbers
    rows: dict[tuple[str, int], dict | None] = field(default_factory=dict)
    opening: dict | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)


def _walk(session: Session, ring: Keyring, after: int = 0, prev_hash: str = GENESIS, signed_before: bool = False,
          want: set[int] | frozenset = frozenset(), collect_rows: bool = False) -> _Walk:
    walk = _Walk(last_seq=after, last_hash=prev_hash)
    expected = after + 1
    seen_signed = signed_before
    stmt = _CHAIN.where(_EVENTS.c.seq > after).execution_options(yield_per=1000)
    for e in session.execute(stmt):
        walk.events += 1
        problems = walk.problems
        if e.seq != expected:
            problems.append({"seq": expected, "problem": f"event {expected} is missing (next is {e.seq})"})
        if e.prev_hash != walk.last_hash:
            problems.append({"seq": e.seq, "problem": "previous-hash link broken"})
        at = e.at.isoformat()
        if e.key_id is None:
            if seen_signed:
                problems.append({"seq": e.seq, "problem": "unsigned event after signed ones (written with the plain "
                                                          "algorithm: forged or re-chained)"})
            else:
                walk.legacy += 1
            if _digest(e.seq, at, e.actor, e.action, e.instance_id, e.task_id, e.data, e.prev_hash) != e.hash:
                problems.append({"seq": e.seq, "problem": "content changed (hash mismatch)"})
        else:
            if not seen_signed:
                walk.first_signed = e.seq
            seen_signed = True
            walk.signed_by[e.key_id] = walk.signed_by.get(e.key_id, 0) + 1
            if e.key_id not in ring.keys:
                walk.unknown_keys.setdefault(e.key_id, [0, e.seq])[0] += 1
            else:
                payload = _event_payload(e.seq, at, e.actor, e.action, e.instance_id, e.task_id, e.data, e.prev_hash,
                                         e.key_id, e.covered)
                if not hmac.compare_digest(ring.sign(payload, e.key_id), e.hash):
                    problems.append({"seq": e.seq, "problem": "content changed (signature mismatch)"})
            if e.covered:
                if collect_rows:
                    for row in e.covered.get("rows") or ():
                        walk.rows[(row["table"], row["id"])] = row["row"]
                if "opening" in e.covered:
                    if walk.opening is None and e.seq == walk.first_signed:
                        walk.opening = e.covered["opening"]
                    else:
                        problems.append({"seq": e.seq, "problem": "an opening record (legacy events, rows covered "
                                                                  "from) after the chain was keyed"})
        if e.seq in want:
            walk.hashes[e.seq] = e.hash
        walk.last_hash = e.hash
        walk.last_seq = e.seq
        expected = e.seq + 1
    for kid, (count, first) in walk.unknown_keys.items():
        walk.problems.append({"seq": first, "key_id": kid,
                              "problem": f"{count} event(s) signed with key {kid}, which this process does not have "
                                         f"(keys from {ring.source}): wrong or missing audit key"})
    return walk


def _head(session: Session):
    return session.execute(select(_HEAD.c.seq, _HEAD.c.hash, _HEAD.c.opening).where(_HEAD.c.id == 1)).first()


# --- the witness --------------------------------------------------------------------------------------------------

def _db_label(session: Session) -> str:
    """Which database a checkpoint is about (one witness file may serve several: tests, staging)."""
    url = session.get_bind().url
    if url.get_backend_name() == "sqlite":
        name = url.database or ":memory:"
        return "sqlite:" + (name if name == ":memory:" else str(Path(name).resolve()))
    return f"{url.get_backend_name()}:{url.database}"


def _checkpoint_payload(cp: dict) -> str:
    return _payload(cp.get("db"), cp.get("seq"), cp.get("hash"), cp.get("at"), cp.get("key_id"))


def read_checkpoints(path: Path) -> tuple[list[dict], list[dict]]:
    """The checkpoints in a witness file (JSON lines) or an export of one (a JSON document); and the unreadable lines."""
    text = path.read_text(encoding="utf-8")
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict) and isinstance(whole.get("checkpoints"), list):
        entries = [(i + 1, cp) for i, cp in enumerate(whole["checkpoints"])]
    else:
        entries = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                entries.append((number, json.loads(line)))
            except ValueError:
                entries.append((number, None))
    good, bad = [], []
    for number, cp in entries:
        if (isinstance(cp, dict) and isinstance(cp.get("seq"), int) and isinstance(cp.get("hash"), str)
                and isinstance(cp.get("mac"), str)):
            good.append({**cp, "line": number})
        else:
            bad.append({"file": str(path), "line": number, "problem": "unreadable checkpoint line"})
    return good, bad


def _last_checkpoint(handle, label: str) -> dict | None:
    """This database's newest checkpoint: looked for in the file's tail first (it grows by a line every 10 minutes)."""
    size = handle.seek(0, os.SEEK_END)
    for start in ((max(0, size - 65536), 0) if size > 65536 else (0,)):
        handle.seek(start)
        lines = handle.read().splitlines()[1 if start else 0:]  # the first line of a tail may be cut
        for line in reversed(lines):
            try:
                cp = json.loads(line)
            except ValueError:
                continue
            if isinstance(cp, dict) and cp.get("db") == label and isinstance(cp.get("seq"), int):
                return cp
    return None


def checkpoint(session: Session, path: str | Path | None = None) -> dict[str, Any]:
    """Append a signed (seq, head hash, time) to the witness if the head moved and the new events check out."""
    ring = keyring(create=True)
    label = _db_label(session)
    target = Path(path) if path else witness_path()
    head = _head(session)
    if head is None:
        raise RuntimeError("the audit chain head is missing; run 'yimen db upgrade'")
    with _locked(target, "a+b") as handle:
        last = _last_checkpoint(handle, label)
        if head.seq == 0:
            return {"written": False, "reason": "the chain is empty", "file": str(target)}
        if last and last["seq"] == head.seq and last["hash"] == head.hash:
            return {"written": False, "reason": "the head has not moved", "checkpoint": last, "file": str(target)}
        problems = _check_since(session, ring, last, head)
        if problems:
            return {"written": False, "problems": problems, "file": str(target)}
        cp = {"db": label, "seq": head.seq, "hash": head.hash, "at": clock.now().isoformat(), "key_id": ring.current}
        cp["mac"] = ring.sign(_checkpoint_payload(cp))
        handle.write((json.dumps(cp, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    return {"written": True, "checkpoint": cp, "file": str(target)}


def _check_since(session: Session, ring: Keyring, last: dict | None, head) -> list[dict[str, Any]]:
    """Before extending the witness: the chain still holds the last checkpoint, and what follows it is sound."""
    after, prev, signed = 0, GENESIS, False
    if last is not None:
        if head.seq < last["seq"]:
            return [{"seq": head.seq, "problem": f"the chain head (seq {head.seq}) is behind the last checkpoint "
                                                 f"(seq {last['seq']} at {last.get('at')}): events were deleted"}]
        at_last = session.execute(select(_EVENTS.c.hash, _EVENTS.c.key_id)
                                  .where(_EVENTS.c.seq == last["seq"])).first()
        if at_last is None or at_last.hash != last["hash"]:
            return [{"seq": last["seq"], "problem": f"event {last['seq']} differs from the checkpoint of "
                                                    f"{last.get('at')}: the history was re-chained"}]
        after, prev, signed = last["seq"], last["hash"], at_last.key_id is not None
    walk = _walk(session, ring, after, prev, signed)
    problems = walk.problems
    if walk.last_seq != head.seq or walk.last_hash != head.hash:
        problems.append({"seq": head.seq, "problem": "the chain head does not match the newest event"})
    return problems


def scheduled_checkpoint(session_factory: Callable[[], Session]) -> dict[str, Any]:
    """The scheduler's job: a checkpoint when the head moved; problems are logged, nothing is written then."""
    with session_factory() as session:
        session.connection(execution_options={"yimen_read_only": True})
        try:
            result = checkpoint(session)
        finally:
            session.rollback()
    return {"checkpoint": result["checkpoint"]["seq"] if result["written"] else 0,
            "errors": [p["problem"] for p in result.get("problems", [])]}


def export(session: Session, path: str | Path | None = None) -> dict[str, Any]:
    """This database's checkpoints, for the supervision office to keep (``verify --witness`` reads the copy)."""
    target = Path(path) if path else witness_path()
    label = _db_label(session)
    good, bad = read_checkpoints(target) if target.exists() else ([], [])
    kept = [{k: v for k, v in cp.items() if k != "line"} for cp in good if cp.get("db") == label]
    return {"file": str(target), "db": label, "checkpoints": kept, "unreadable": len(bad)}


# --- verify -------------------------------------------------------------------------------------------------------

def verify(session: Session, witnesses: list[str | Path] | None = None) -> dict[str, Any]:
    """Walk the chain; check it against the witness's checkpoints and the covered rows against the chain."""
    ring = keyring()
    label = _db_label(session)
    warnings: list[str] = []
    checkpoints, cp_problems, others = _checkpoints(ring, label, witnesses, warnings)
    walk = _walk(session, ring, want={cp["seq"] for cp in checkpoints}, collect_rows=True)
    problems = walk.problems
    head = _head(session)
    if head is not None and (head.seq != walk.last_seq or head.hash != walk.last_hash):
        problems.append({"seq": head.seq, "problem": "events at the end of the chain were deleted"})
    problems += cp_problems
    for cp in checkpoints:
        if cp["seq"] > walk.last_seq:
            problems.append({"seq": cp["seq"], "problem": f"truncated: the checkpoint of {cp.get('at')} records event "
                                                          f"{cp['seq']}, the chain ends at {walk.last_seq}"})
        elif walk.hashes.get(cp["seq"]) != cp["hash"]:
            problems.append({"seq": cp["seq"], "problem": f"re-chained: event {cp['seq']} differs from the checkpoint "
                                                          f"of {cp.get('at')}"})
    opening = walk.opening
    if opening is not None:
        if opening.get("legacy_events") != walk.legacy:
            problems.append({"seq": walk.first_signed, "problem": f"{walk.legacy} unsigned events precede the signed "
                                                                  f"ones, the opening record says "
                                                                  f"{opening.get('legacy_events')}"})
    elif walk.legacy and walk.first_signed is not None:
        problems.append({"seq": walk.first_signed, "problem": f"{walk.legacy} unsigned events precede the signed ones "
                                                              "without an opening record"})
    elif walk.first_signed is None and head is not None and head.opening is not None:
        opening = head.opening  # keyed by the migration, no command since
    covered_from = (opening or {}).get("covered_from") or {}
    checked, not_covered = _check_rows(session, walk.rows, covered_from, problems)
    if walk.events and not checkpoints:
        warnings.append("no checkpoint of this database in the witness yet: deleting the newest events would go "
                        "unnoticed (run 'yimen audit checkpoint')")
    return {"ok": not problems, "events": walk.events, "problems": problems, "legacy_events": walk.legacy,
            "keys": {"source": ring.source, "current": ring.current, "signed": walk.signed_by},
            "checkpoints": {"checked": len(checkpoints), "other_databases": others,
                            "last": {"seq": checkpoints[-1]["seq"], "at": checkpoints[-1].get("at")}
                            if checkpoints else None},
            "rows": {"checked": checked, "not_covered": not_covered}, "warnings": warnings}


def _checkpoints(ring: Keyring, label: str, witnesses, warnings: list[str]) -> tuple[list[dict], list[dict], int]:
    """This database's checkpoints whose signature holds, the problems with the others, and how many are foreign."""
    paths = [Path(w) for w in witnesses] if witnesses else [witness_path()]
    good: list[dict] = []
    problems: list[dict] = []
    others = 0
    for path in paths:
        if not path.exists():
            if witnesses:
                problems.append({"file": str(path), "problem": "witness file not found"})
            continue
        found, bad = read_checkpoints(path)
        problems += bad
        highest = 0
        for cp in found:
            if cp.get("db") != label:
                others += 1
                continue
            where = {"file": str(path), "line": cp["line"], "seq": cp["seq"]}
            if cp.get("key_id") not in ring.keys:
                problems.append({**where, "problem": f"checkpoint signed with key {cp.get('key_id')}, which this "
                                                     f"process does not have (keys from {ring.source})"})
                continue
            if not hmac.compare_digest(ring.sign(_checkpoint_payload(cp), cp["key_id"]), cp["mac"]):
                problems.append({**where, "problem": "checkpoint does not match its signature (edited or forged)"})
                continue
            if cp["seq"] < highest:
                problems.append({**where, "problem": f"checkpoint goes back from seq {highest} to {cp['seq']}: "
                                                     "written after events were deleted"})
            highest = max(highest, cp["seq"])
            good.append(cp)
    good.sort(key=lambda cp: (cp["seq"], cp.get("at") or ""))
    return good, problems, others


def _check_rows(session: Session, recorded: dict, covered_from: dict, problems: list[dict]) -> tuple[int, int]:
    """Every covered row as the chain last wrote it; rows written before the chain covered rows are counted."""
    checked = not_covered = 0
    tables = Base.metadata.tables
    for name, columns in COVERED.items():
        table = tables[name]
        baseline = int(covered_from.get(name) or 0)
        stmt = select(table.c.id, *(table.c[c] for c in columns)).order_by(table.c.id).execution_options(yield_per=1000)
        for db_row in session.execute(stmt):
            key = (name, db_row.id)
            current = _canonical({c: _value(v) for c, v in zip(columns, db_row[1:])})
            if key not in recorded:
                if db_row.id > baseline:
                    problems.append({"table": name, "id": db_row.id, "problem": "no audit event wrote this row"})
                else:
                    not_covered += 1
                continue
            checked += 1
            expected = recorded.pop(key)
            if expected is None:
                problems.append({"table": name, "id": db_row.id, "problem": "row deleted by a command is back"})
                continue
            changed = {c: {"chain": expected.get(c), "database": current.get(c)}
                       for c in columns if expected.get(c) != current.get(c)}
            if changed:
                problems.append({"table": name, "id": db_row.id, "problem": "row differs from the audit trail",
                                 "columns": changed})
    for (name, row_id), expected in sorted(recorded.items()):
        if expected is not None:
            problems.append({"table": name, "id": row_id, "problem": "row recorded in the audit trail is missing"})
    return checked, not_covered


# --- reading ------------------------------------------------------------------------------------------------------

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
