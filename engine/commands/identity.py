"""People and departments: accounts, roles, group memberships, passwords and API tokens.

Administrators manage these. Passwords and tokens are stored only as hashes
(werkzeug's salted scrypt for passwords, SHA-256 for random tokens).
"""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import delete, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..context import Ctx, command
from ..errors import NotFound, PermissionDenied, ValidationError
from ..models import ApiToken, Department, Membership, User
from ..models.identity import ROLES
from ..models.items import LEVELS

MIN_PASSWORD = 8


def _admin_only(ctx: Ctx, what: str) -> None:
    if not ctx.actor.is_admin:
        raise PermissionDenied(f"user '{ctx.actor.id}' may not manage {what}")


@command("department.save")
def save_department(ctx: Ctx, department_id: str, name: str, level: str, parent: str | None = None) -> dict:
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
    if row is None:
        row = Department(id=department_id)
        ctx.session.add(row)
    row.name, row.level, row.parent_id = name, level, parent
    ctx.audit.data = {"department": department_id, "name": name, "level": level, "parent": parent}
    return {"department": department_id, "name": name, "level": level, "parent": parent}


@command("user.save")
def add_user(ctx: Ctx, user_id: str, groups: list[str], admin: bool = False, display_name: str | None = None,
             roles: list[str] | None = None, department: str | None = None, email: str | None = None,
             phone: str | None = None, password: str | None = None) -> dict:
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
    if user is None:
        user = User(id=user_id)
        ctx.session.add(user)
    user.is_admin = bool(admin) or "admin" in roles
    if admin and "admin" not in roles:
        roles.append("admin")
    user.display_name = display_name
    user.roles = roles
    user.department_id = department
    user.email, user.phone = email, phone
    if password is not None:
        user.password_hash = generate_password_hash(password)
    ctx.session.flush()
    ctx.session.execute(delete(Membership).where(Membership.user_id == user_id))
    for group in sorted(set(groups)):
        ctx.session.add(Membership(user_id=user_id, group_id=group))
    result = {"user": user_id, "groups": sorted(set(groups)), "admin": user.is_admin, "roles": roles,
              "department": department}
    ctx.audit.data = {**result, "password_changed": password is not None}
    return result


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
                        {"tasks": moved, "from": user_id}, channels=("in_app",))
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


@command("user.password")
def set_password(ctx: Ctx, user_id: str, password: str) -> dict:
    """Administrators set anyone's password; people set their own."""
    if ctx.actor.id != user_id:
        _admin_only(ctx, "other people's passwords")
    user = ctx.session.get(User, user_id)
    if user is None:
        raise NotFound(f"user '{user_id}' does not exist")
    if not password or len(password) < MIN_PASSWORD:
        raise ValidationError(f"a password needs at least {MIN_PASSWORD} characters")
    user.password_hash = generate_password_hash(password)
    ctx.audit.data = {"user": user_id}
    return {"user": user_id}


@command("token.create")
def create_token(ctx: Ctx, user_id: str, name: str) -> dict:
    """A bearer token for the JSON API; the plain token is returned once and never stored."""
    if ctx.actor.id != user_id:
        _admin_only(ctx, "other people's tokens")
    if ctx.session.get(User, user_id) is None:
        raise NotFound(f"user '{user_id}' does not exist")
    if not name or len(name) > 100:
        raise ValidationError("a token needs a name of 1-100 characters")
    plain = "ym_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user_id, name=name, token_hash=token_hash(plain), created_at=ctx.now)
    ctx.session.add(row)
    ctx.session.flush()
    ctx.audit.data = {"user": user_id, "token": row.id, "name": name}
    return {"id": row.id, "user": user_id, "name": name, "token": plain}


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


def token_hash(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


# --- reads (no command: they change nothing) ----------------------------------------

def authenticate(session, user_id: str, password: str) -> User | None:
    """The active user with this password, or None (same answer for unknown user and wrong password)."""
    user = session.get(User, user_id) if user_id else None
    if user is None or not user.active or not user.password_hash:
        check_password_hash(generate_password_hash("x"), password or "")  # spend similar time either way
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


def user_for_token(session, plain: str) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(plain or ""),
                                                ApiToken.revoked_at.is_(None)))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def user_dict(session, user: User) -> dict:
    groups = sorted(session.scalars(select(Membership.group_id).where(Membership.user_id == user.id)))
    return {"id": user.id, "name": user.display_name or user.id, "roles": list(user.roles or []),
            "department": user.department_id, "groups": groups, "admin": user.is_admin,
            "email": user.email, "phone": user.phone, "active": user.active, "backup": user.backup_user_id,
            "absent": bool(user.absent)}


def users(session) -> list[dict]:
    """Every account with its roles, groups, department and AB backup, in two queries (administration)."""
    memberships: dict[str, list[str]] = {}
    for user_id, group in session.execute(select(Membership.user_id, Membership.group_id)
                                          .order_by(Membership.user_id, Membership.group_id)):
        memberships.setdefault(user_id, []).append(group)
    return [{"id": u.id, "name": u.display_name or u.id,
             "roles": list(u.roles or []), "department": u.department_id, "groups": memberships.get(u.id, []),
             "admin": u.is_admin, "email": u.email, "phone": u.phone, "active": u.active,
             "backup": u.backup_user_id, "absent": bool(u.absent)}
            for u in session.scalars(select(User).order_by(User.id))]


def departments(session) -> list[dict]:
    return [{"id": d.id, "name": d.name, "level": d.level, "parent": d.parent_id}
            for d in session.scalars(select(Department).order_by(Department.id))]
