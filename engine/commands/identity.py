"""People and departments: accounts, roles, group memberships, passwords, API tokens and sign-in.

Administrators manage these. Passwords and tokens are stored only as hashes
(werkzeug's salted scrypt for passwords, SHA-256 for random tokens).

Sessions (登录会话) end for real: a browser session carries the account's
``session_version`` and a random id. Signing out records the id in
``ended_session``; a password, role, group or department change, deactivation
and "sign out everywhere" bump the version, so every older session is refused
on its next request. Inactive accounts are refused everywhere: sessions,
tokens (deactivation also revokes them) and commands run as them
(``engine.context``).

API tokens may expire (at most ``MAX_TOKEN_DAYS`` ahead); their last use is
recorded at most once a minute (``TOKEN_TOUCH_EVERY``).

Sign-in throttling (登录限制): failed sign-ins are counted per account and per
client address in ``sign_in_throttle``. From the ``ACCOUNT_FREE_FAILURES``-th
failure of an account (``ADDRESS_FREE_FAILURES``-th of an address, across
accounts) every further failure locks it out for twice as long as the last
(``FIRST_LOCKOUT`` doubling up to ``MAX_LOCKOUT``); a lock-out is an audit
event (``auth.lockout``). While locked, sign-ins are refused without looking
at the password. A success resets the account's counter (not the address's).
Counters are forgotten after ``FORGET_AFTER`` without failures. The password
is checked while the two counter rows are locked, so attempts running in
parallel cannot get more guesses than attempts made one after another.
"""
from __future__ import annotations

import functools
import hashlib
import math
import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, delete, exists, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..context import Ctx, command
from ..errors import EngineError, NotFound, PermissionDenied, ValidationError
from ..models import ApiToken, Department, Membership, User
from ..models.identity import ROLES, EndedSession, SignInThrottle
from ..models.items import LEVELS

MIN_PASSWORD = 8
MAX_TOKEN_DAYS = 365
TOKEN_TOUCH_EVERY = timedelta(minutes=1)
ACCOUNT_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 20  # many people may share one address (an office behind one gateway)
FIRST_LOCKOUT = timedelta(minutes=1)
MAX_LOCKOUT = timedelta(hours=1)
FORGET_AFTER = timedelta(days=1)
MAX_KEY = 100  # characters of an account name or address kept for counting


class SessionEnded(EngineError):
    """A browser session that was signed out, is older than the account's last change, or whose account is gone."""

    code = "session_ended"


class Unauthenticated(EngineError):
    code = "unauthenticated"


class TokenExpired(EngineError):
    code = "token_expired"


class AccountInactive(EngineError):
    code = "account_inactive"


class SignInThrottled(EngineError):
    """Too many failed sign-ins for this account or from this address: try again at ``details['until']``."""

    code = "too_many_attempts"

    def __init__(self, message: str, /, until: datetime, now: datetime, **details):
        super().__init__(message, until=until.isoformat(), **details)
        self.retry_after = max(1, math.ceil((until - now).total_seconds()))
        self.details["retry_after"] = self.retry_after


def _admin_only(ctx: Ctx, what: str) -> None:
    if not ctx.actor.is_admin:
        raise PermissionDenied(f"user '{ctx.actor.id}' may not manage {what}")


@command("department.save")
def save_department(ctx: Ctx, department_id: str, name: str, level: str, parent: str | None = None,
                    name_en: str | None = None) -> dict:
    """A department (部门): its Chinese name (primary) and, optionally, its English one."""
    _admin_only(ctx, "departments")
    if not department_id or len(department_id) > 40:
        raise ValidationError("a department id of 1-40 characters is required")
    if not name:
        raise ValidationError("a department needs a name")
    if level not in LEVELS:
        raise ValidationError(f"level must be one of {', '.join(LEVELS)}, not '{level}'")
    if parent is not None and (parent == department_id or ctx.session.get(Department, parent) is None):
        raise ValidationError(f"parent department '{parent}' does not exist")
    row = ctx.session.get(Department, department_id)
    created = row is None
    if created:
        row = Department(id=department_id)
        ctx.session.add(row)
    row.name, row.level, row.parent_id = name, level, parent
    row.name_en = (name_en or "").strip() or None
    ctx.audit.data = {"department": department_id, "name": name, "name_en": row.name_en, "level": level,
                      "parent": parent}
    if created:  # steps already naming a group of this id now belong to it (办理部门, human_task.department)
        from ..inbox import refresh_departments

        ctx.session.flush()
        ctx.audit.data["steps_moved"] = refresh_departments(ctx.session, department_id)
    return {"department": department_id, "name": name, "level": level, "parent": parent}


@command("user.save")
def add_user(ctx: Ctx, user_id: str, groups: list[str], admin: bool = False, display_name: str | None = None,
             roles: list[str] | None = None, department: str | None = None, email: str | None = None,
             phone: str | None = None, password: str | None = None, display_name_en: str | None = None) -> dict:
    _admin_only(ctx, "users")
    if not user_id or not isinstance(user_id, str) or len(user_id) > 100:
        raise ValidationError("a user id of 1-100 characters is required")
    if any(not g or not isinstance(g, str) for g in groups):
        raise ValidationError("group names must be non-empty strings")
    roles = sorted(set(roles or []))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValidationError(f"unknown roles {unknown}; roles are {', '.join(ROLES)}")
    if department is not None and ctx.session.get(Department, department) is None:
        raise ValidationError(f"department '{department}' does not exist")
    if email is not None and (email.count("@") != 1 or len(email) > 200):
        raise ValidationError(f"'{email}' is not an e-mail address")
    if password is not None and len(password) < MIN_PASSWORD:
        raise ValidationError(f"a password needs at least {MIN_PASSWORD} characters")
    user = ctx.session.get(User, user_id)
    before = None
    if user is None:
        user = User(id=user_id, session_version=0)
        ctx.session.add(user)
    else:
        before = _rights(ctx.session, user)
    user.is_admin = bool(admin) or "admin" in roles
    if admin and "admin" not in roles:
        roles.append("admin")
    user.display_name = display_name
    user.display_name_en = (display_name_en or "").strip() or None
    user.roles = roles
    user.department_id = department
    user.email, user.phone = email, phone
    if password is not None:
        user.password_hash = generate_password_hash(password)
    ctx.session.flush()
    ctx.session.execute(delete(Membership).where(Membership.user_id == user_id))
    for group in sorted(set(groups)):
        ctx.session.add(Membership(user_id=user_id, group_id=group))
    ended = before is not None and (password is not None or before != (user.is_admin, sorted(roles), department,
                                                                           sorted(set(groups))))
    if ended:
        _end_sessions(user)
    result = {"user": user_id, "groups": sorted(set(groups)), "admin": user.is_admin, "roles": roles,
              "department": department}
    ctx.audit.data = {**result, "password_changed": password is not None, "sessions_ended": ended}
    return result


def _rights(session, user: User) -> tuple:
    """What a session's rights depend on: admin flag, roles, department and groups."""
    groups = sorted(session.scalars(select(Membership.group_id).where(Membership.user_id == user.id)))
    return (user.is_admin, sorted(user.roles or []), user.department_id, groups)


def _end_sessions(user: User) -> None:
    user.session_version = (user.session_version or 0) + 1


def _user(ctx: Ctx, user_id: str) -> User:
    user = ctx.session.get(User, user_id)
    if user is None:
        raise NotFound(f"user '{user_id}' does not exist", what="user")
    return user


@command("user.active")
def set_active(ctx: Ctx, user_id: str, active: bool) -> dict:
    """Deactivate (停用) or reactivate an account. Deactivation ends its sessions and revokes its API tokens."""
    _admin_only(ctx, "users")
    if not isinstance(active, bool):
        raise ValidationError("'active' must be true or false", field="active")
    user = _user(ctx, user_id)
    if not active and user_id == ctx.actor.id:
        raise ValidationError("you cannot deactivate your own account", field="active")
    revoked = 0
    if not active:
        rows = ctx.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)))
        for row in rows:
            row.revoked_at = ctx.now
            revoked += 1
        if user.active:
            _end_sessions(user)
    user.active = active
    ctx.audit.data = {"user": user_id, "active": active, "tokens_revoked": revoked}
    return {"user": user_id, "active": active, "tokens_revoked": revoked}


@command("user.backup")
def set_backup(ctx: Ctx, user_id: str, backup: str | None, absent: bool = False) -> dict:
    """AB角: the backup person (B) who takes over ``user_id``'s (A's) steps while A is away (不在岗).

    Marking A away hands A's open steps to B (each one B could work; a step B may not see stays with A and
    is listed as kept). While A is away a step the diagram assigns to A opens for B, and B becomes a
    candidate wherever A is one (``substitutes``). Back at work, new steps go to A again; the steps B took
    stay with B (转办 hands them back). The escalation ``reassign_backup`` uses the same backup.
    """
    from ..inbox import receiver_problem
    from ..models import HumanTask, TaskStatus

    _admin_only(ctx, "users")
    if not isinstance(absent, bool):
        raise ValidationError("'absent' must be true or false", field="absent")
    user = ctx.session.get(User, user_id)
    if user is None:
        raise NotFound(f"user '{user_id}' does not exist", what="user")
    if isinstance(backup, str):
        backup = backup.strip() or None
    if backup is not None:
        if not isinstance(backup, str):
            raise ValidationError("the backup person is a user id", field="backup")
        if backup == user_id:
            raise ValidationError("a person cannot be their own backup", field="backup", refusal="own_backup")
        other = ctx.session.get(User, backup)
        if other is None:
            raise NotFound(f"user '{backup}' does not exist", what="user", field="backup")
        if not other.active:
            raise ValidationError(f"user '{backup}' is deactivated", field="backup", refusal="account_inactive")
        if not ({"window", "reviewer", "supervisor", "admin"} & set(other.roles or []) or other.is_admin):
            raise ValidationError(f"'{backup}' is not a member of staff", field="backup", refusal="not_staff")
        if absent and other.absent:
            raise ValidationError(f"the backup '{backup}' is away too", field="backup", refusal="backup_absent")
    if absent and backup is None:
        raise ValidationError("a person who is away needs a backup to take their steps", field="backup",
                              refusal="required")
    moved, kept = [], []
    if absent:
        rows = ctx.session.scalars(select(HumanTask).where(HumanTask.assignee == user_id,
                                                           HumanTask.status == TaskStatus.OPEN)
                                   .order_by(HumanTask.created_at, HumanTask.id))
        for row in rows:
            if receiver_problem(ctx.session, row, backup) is None:
                row.assignee = backup
                moved.append(row.id)
            else:
                kept.append(row.id)
        if moved:
            from ..notify import notify_user

            notify_user(ctx, backup, "AB角：代办任务",
                        f"{user.display_name or user_id}不在岗，其 {len(moved)} 项待办已转给您。",
                        {"tasks": moved, "from": user_id}, channels=("in_app",), kind="backup_absent",
                        params={"from": user.display_name or user_id, "count": len(moved)})
    before = {"backup": user.backup_user_id, "absent": bool(user.absent)}
    user.backup_user_id, user.absent = backup, absent
    result = {"user": user_id, "backup": backup, "absent": absent, "moved": moved, "kept": kept}
    ctx.audit.data = {**result, "before": before}
    return result


def substitutes(session, user_ids: list[str]) -> dict[str, str]:
    """Of ``user_ids``, those away (不在岗) with a backup: id -> the backup who takes their new steps."""
    wanted = [u for u in user_ids if u]
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.backup_user_id).where(
        User.id.in_(wanted), User.absent.is_(True), User.backup_user_id.is_not(None)))
    return {r.id: r.backup_user_id for r in rows}


@command("user.sign_out_everywhere")
def sign_out_everywhere(ctx: Ctx, user_id: str) -> dict:
    """End every session of an account (people do it for themselves, administrators for anyone)."""
    if ctx.actor.id != user_id:
        _admin_only(ctx, "other people's sessions")
    user = _user(ctx, user_id)
    _end_sessions(user)
    ctx.audit.data = {"user": user_id}
    return {"user": user_id, "session_version": user.session_version}


@command("user.sign_out")
def end_session(ctx: Ctx, session_id: str, until: datetime) -> dict:
    """Sign one browser session out: its id is refused until ``until`` (when its cookie would expire anyway)."""
    if not session_id or not isinstance(session_id, str):
        raise ValidationError("a session id is required", field="session")
    digest = token_hash(session_id)
    if ctx.session.get(EndedSession, digest) is None:
        ctx.session.add(EndedSession(sid_hash=digest, user_id=ctx.actor.id, until=until))
    ctx.session.execute(delete(EndedSession).where(EndedSession.until < ctx.now))
    ctx.audit.data = {"user": ctx.actor.id}
    return {"user": ctx.actor.id}


@command("user.password")
def set_password(ctx: Ctx, user_id: str, password: str) -> dict:
    """Administrators set anyone's password; people set their own."""
    if ctx.actor.id != user_id:
        _admin_only(ctx, "other people's passwords")
    user = ctx.session.get(User, user_id)
    if user is None:
        raise NotFound(f"user '{user_id}' does not exist")
    if not password or not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationError(f"a password needs at least {MIN_PASSWORD} characters", field="password",
                              limit=MIN_PASSWORD)
    user.password_hash = generate_password_hash(password)
    _end_sessions(user)
    ctx.audit.data = {"user": user_id}
    return {"user": user_id, "session_version": user.session_version}


@command("token.create")
def create_token(ctx: Ctx, user_id: str, name: str, expires_in_days: int | None = None) -> dict:
    """A bearer token for the JSON API; the plain token is returned once and never stored.

    ``expires_in_days`` (1 to ``MAX_TOKEN_DAYS``) makes it expire; without it the token lasts until revoked.
    """
    if ctx.actor.id != user_id:
        _admin_only(ctx, "other people's tokens")
    user = ctx.session.get(User, user_id)
    if user is None:
        raise NotFound(f"user '{user_id}' does not exist")
    if not user.active:
        raise ValidationError(f"user '{user_id}' is deactivated", refusal="account_inactive")
    if not name or not isinstance(name, str) or len(name) > 100:
        raise ValidationError("a token needs a name of 1-100 characters", field="name", limit=100)
    if expires_in_days is not None and (isinstance(expires_in_days, bool) or not isinstance(expires_in_days, int)
                                        or not 1 <= expires_in_days <= MAX_TOKEN_DAYS):
        raise ValidationError(f"a token expires in 1 to {MAX_TOKEN_DAYS} days", field="expires_in_days",
                              limit=MAX_TOKEN_DAYS)
    expires = ctx.now + timedelta(days=expires_in_days) if expires_in_days else None
    plain = "ym_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user_id, name=name, token_hash=token_hash(plain), created_at=ctx.now, expires_at=expires)
    ctx.session.add(row)
    ctx.session.flush()
    ctx.audit.data = {"user": user_id, "token": row.id, "name": name, "expires": _iso(expires)}
    return {"id": row.id, "user": user_id, "name": name, "token": plain, "expires": _iso(expires)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@command("token.revoke")
def revoke_token(ctx: Ctx, token_id: int) -> dict:
    row = ctx.session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"token {token_id} does not exist")
    if ctx.actor.id != row.user_id:
        _admin_only(ctx, "other people's tokens")
    row.revoked_at = row.revoked_at or ctx.now
    ctx.audit.data = {"user": row.user_id, "token": row.id}
    return {"id": row.id, "revoked": row.revoked_at.isoformat()}


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def token_hash(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


# --- reads (no command: they change nothing) ----------------------------------------

def authenticate(session, user_id: str, password: str) -> User | None:
    """The active user with this password, or None (same answer for unknown user and wrong password)."""
    user = session.get(User, user_id) if user_id and isinstance(user_id, str) else None
    if user is None or not user.active or not user.password_hash:
        check_password_hash(_dummy_hash(), password or "")  # spend similar time either way
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


def user_for_token(session, plain: str, now: datetime | None = None) -> User | None:
    try:
        return token_user(session, plain, now)[0]
    except EngineError:
        return None


def token_user(session, plain: str, now: datetime | None = None) -> tuple[User, ApiToken, list[str]]:
    """The user of an open, unexpired token of an active account with their groups, or the refusal saying which
    it is not. One statement: the token, its account and the account's groups (one row per group)."""
    from .. import clock

    now = now or clock.now()
    rows = session.execute(_token_statement(), {"token_hash": token_hash(plain or "")}).all()
    if not rows:
        raise Unauthenticated("the bearer token is unknown or revoked")
    row, user = rows[0][0], rows[0][1]
    if row.expires_at is not None and row.expires_at <= now:
        raise TokenExpired(f"the bearer token expired at {row.expires_at.isoformat()}", expired=row.expires_at.isoformat())
    if user is None or not user.active:
        raise AccountInactive("the token's account is deactivated")
    return user, row, [group for _, _, group in rows if group is not None]


@functools.cache
def _token_statement():
    """Every API request starts here: built once (building the statement cost as much as running it)."""
    return (select(ApiToken, User, Membership.group_id)
            .outerjoin(User, User.id == ApiToken.user_id).outerjoin(Membership, Membership.user_id == User.id)
            .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
            .order_by(Membership.group_id))


def needs_touch(row: ApiToken, now: datetime) -> bool:
    return row.last_used_at is None or now - row.last_used_at >= TOKEN_TOUCH_EVERY


def touch_token(connection, token_id: int, now: datetime) -> None:
    """Record a token's use, unless another request did within the last minute (one conditional statement)."""
    connection.execute(update(ApiToken).where(
        ApiToken.id == token_id,
        or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOKEN_TOUCH_EVERY),
    ).values(last_used_at=now))


def tokens(session, user_id: str, now: datetime) -> list[dict]:
    """A user's API tokens, newest first, with their state (active / expired / revoked)."""
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                           .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    out = []
    for row in rows:
        state = ("revoked" if row.revoked_at else
                 "expired" if row.expires_at is not None and row.expires_at <= now else "active")
        out.append({"id": row.id, "name": row.name, "created": _iso(row.created_at), "expires": _iso(row.expires_at),
                    "last_used": _iso(row.last_used_at), "revoked": _iso(row.revoked_at), "state": state})
    return out


def session_user(session, user_id: str, version: int | None, session_id: str | None) -> User:
    """The account of a browser session that is still valid, or ``SessionEnded`` saying why not."""
    if not session_id or not isinstance(version, int):
        raise SessionEnded("this session predates session checks; sign in again", refusal="stale")
    signed_out = exists().where(EndedSession.sid_hash == token_hash(session_id))
    found = session.execute(select(User, signed_out.label("signed_out")).where(User.id == user_id)).first()
    if found is None:
        raise SessionEnded(f"user '{user_id}' does not exist", refusal="unknown")
    user, ended = found
    if not user.active:
        raise SessionEnded("the account is deactivated", refusal="inactive")
    if ended:
        raise SessionEnded("this session was signed out", refusal="signed_out")
    if user.session_version != version:
        raise SessionEnded("the account changed since this session began; sign in again", refusal="stale")
    return user


# --- sign-in throttling (登录限制) ---------------------------------------------------------

def _keys(account: str, address: str) -> list[tuple[str, str]]:
    return [("account", (account or "")[:MAX_KEY]), ("address", (address or "unknown")[:MAX_KEY])]


def lockout_for(failures: int, free: int) -> timedelta | None:
    """How long ``failures`` failed sign-ins lock out: none below ``free``, then doubling from the first lock-out."""
    if failures < free:
        return None
    return min(FIRST_LOCKOUT * 2 ** min(failures - free, 32), MAX_LOCKOUT)


def _locked_until(rows, now: datetime) -> datetime | None:
    until = [r.locked_until for r in rows if r.locked_until is not None and r.locked_until > now]
    return max(until) if until else None


def _throttled(until: datetime, now: datetime, rows) -> SignInThrottled:
    kinds = sorted(r.kind for r in rows if r.locked_until is not None and r.locked_until > now)
    return SignInThrottled(f"too many failed sign-ins; try again after {until.isoformat()}", until=until, now=now,
                           locked=kinds)


def sign_in_wait(session, account: str, address: str, now: datetime) -> None:
    """Refuse at once (``SignInThrottled``) if the account or the address is locked out; a read, no lock taken."""
    rows = list(session.scalars(select(SignInThrottle).where(
        or_(*(and_(SignInThrottle.kind == kind, SignInThrottle.key == key) for kind, key in _keys(account, address))))))
    until = _locked_until(rows, now)
    if until is not None:
        raise _throttled(until, now, rows)


def sign_in(ctx: Ctx, account: str, password: str, address: str) -> dict:
    """Check a password under the account's and the address's counters; count a failure, reset on success.

    Run with the system actor; it writes an audit event only when a failure starts a lock-out.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = ctx.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    keys = _keys(account, address)
    for kind, key in keys:  # the rows to lock exist first, so parallel attempts queue on them
        ctx.session.execute(insert(SignInThrottle).values(kind=kind, key=key, failures=0, last_failure_at=ctx.now)
                            .on_conflict_do_nothing(index_elements=["kind", "key"]))
    rows = []
    for kind, key in keys:  # always account, then address: one lock order for everyone
        rows.append(ctx.session.scalars(select(SignInThrottle).where(SignInThrottle.kind == kind,
                                                                     SignInThrottle.key == key)
                                        .with_for_update().execution_options(populate_existing=True)).one())
    until = _locked_until(rows, ctx.now)
    if until is not None:
        raise _throttled(until, ctx.now, rows)
    user = authenticate(ctx.session, account, password)
    account_row, address_row = rows
    if user is not None:
        ctx.session.delete(account_row)
        if address_row.failures == 0:
            ctx.session.delete(address_row)
        ctx.session.flush()
        return {"user": user_dict(ctx.session, user), "session_version": user.session_version}
    locks = []
    for row, free in ((account_row, ACCOUNT_FREE_FAILURES), (address_row, ADDRESS_FREE_FAILURES)):
        if row.failures and ctx.now - row.last_failure_at > FORGET_AFTER:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = ctx.now
        span = lockout_for(row.failures, free)
        if span is not None:
            row.locked_until = ctx.now + span
            locks.append({"kind": row.kind, "key": row.key, "failures": row.failures,
                          "until": row.locked_until.isoformat(), "seconds": int(span.total_seconds())})
    ctx.session.execute(delete(SignInThrottle).where(
        SignInThrottle.last_failure_at < ctx.now - FORGET_AFTER,
        or_(SignInThrottle.locked_until.is_(None), SignInThrottle.locked_until < ctx.now)))
    if locks:
        from ..audit import append_event

        append_event(ctx, "auth.lockout", None, None, {"account": keys[0][1], "address": keys[1][1], "locks": locks})
    return {"user": None, "locks": locks}


def user_dict(session, user: User, groups: list[str] | None = None) -> dict:
    """The account as the engine hands it out; ``groups`` when the caller has already read them."""
    if groups is None:
        groups = list(session.scalars(select(Membership.group_id).where(Membership.user_id == user.id)))
    groups = sorted(groups)
    return {"id": user.id, "name": user.display_name or user.id, "name_en": user.display_name_en,
            "roles": list(user.roles or []),
            "department": user.department_id, "groups": groups, "admin": user.is_admin,
            "email": user.email, "phone": user.phone, "active": user.active, "backup": user.backup_user_id,
            "absent": bool(user.absent)}


def users(session) -> list[dict]:
    """Every account with its roles, groups, department and AB backup, in two queries (administration)."""
    memberships: dict[str, list[str]] = {}
    for user_id, group in session.execute(select(Membership.user_id, Membership.group_id)
                                          .order_by(Membership.user_id, Membership.group_id)):
        memberships.setdefault(user_id, []).append(group)
    return [{"id": u.id, "name": u.display_name or u.id, "name_en": u.display_name_en,
             "roles": list(u.roles or []), "department": u.department_id, "groups": memberships.get(u.id, []),
             "admin": u.is_admin, "email": u.email, "phone": u.phone, "active": u.active,
             "backup": u.backup_user_id, "absent": bool(u.absent)}
            for u in session.scalars(select(User).order_by(User.id))]


def user_names(session, user_ids: list[str]) -> dict[str, dict]:
    """id -> the person's Chinese name (the id when none is set) and English name, for the given ids."""
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.display_name, User.display_name_en).where(User.id.in_(user_ids)))
    return {r.id: {"name": r.display_name or r.id, "name_en": r.display_name_en} for r in rows}


MAX_DIRECTORY = 500  # people one staff directory answer lists


def staff_directory(session, search: str | None = None, department: str | None = None) -> list[dict]:
    """Active members of staff by department and name, for pickers (抄送): one query.

    ``search`` matches the Chinese or English name (or the account); ``department`` keeps one department's.
    Applicants and agents are never listed (staff are the people with a staff role, engine.inbox.STAFF_ROLES).
    """
    from ..inbox import STAFF_ROLES

    stmt = (select(User.id, User.display_name, User.display_name_en, User.roles, User.is_admin, User.department_id,
                   Department.name, Department.name_en)
            .outerjoin(Department, Department.id == User.department_id).where(User.active.is_(True)))
    if department:
        stmt = stmt.where(User.department_id == department)
    text = (search or "").strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(User.display_name.ilike(pattern, escape="\\"),
                              User.display_name_en.ilike(pattern, escape="\\"), User.id.ilike(pattern, escape="\\")))
    stmt = stmt.order_by(Department.name, User.display_name, User.id).limit(MAX_DIRECTORY * 2)
    out = []
    for row in session.execute(stmt):
        if not (row.is_admin or STAFF_ROLES & set(row.roles or [])):
            continue
        out.append({"id": row.id, "name": row.display_name or row.id, "name_en": row.display_name_en,
                    "department": row.department_id, "department_name": row[6], "department_name_en": row[7]})
    return out[:MAX_DIRECTORY]


def is_staff(session, user_id: str) -> bool | None:
    """True for an active member of staff, False for anyone else with an account, None for no account."""
    from ..inbox import STAFF_ROLES

    user = session.get(User, user_id)
    if user is None:
        return None
    return bool(user.active and (user.is_admin or STAFF_ROLES & set(user.roles or [])))


def departments(session) -> list[dict]:
    return [{"id": d.id, "name": d.name, "name_en": d.name_en, "level": d.level, "parent": d.parent_id}
            for d in session.scalars(select(Department).order_by(Department.id))]
