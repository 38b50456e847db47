"""Users and group memberships (enough for task assignment; roles come with the web layer)."""
from __future__ import annotations

from sqlalchemy import delete

from ..context import Ctx, command
from ..errors import PermissionDenied, ValidationError
from ..models import Membership, User


@command("user.save")
def add_user(ctx: Ctx, user_id: str, groups: list[str], admin: bool = False, display_name: str | None = None) -> dict:
    if not ctx.actor.is_admin:
        raise PermissionDenied(f"user '{ctx.actor.id}' may not manage users")
    if not user_id or not isinstance(user_id, str) or len(user_id) > 100:
        raise ValidationError("a user id of 1-100 characters is required")
    if any(not g or not isinstance(g, str) for g in groups):
        raise ValidationError("group names must be non-empty strings")
    user = ctx.session.get(User, user_id)
    if user is None:
        user = User(id=user_id)
        ctx.session.add(user)
    user.is_admin = bool(admin)
    user.display_name = display_name
    ctx.session.flush()
    ctx.session.execute(delete(Membership).where(Membership.user_id == user_id))
    for group in sorted(set(groups)):
        ctx.session.add(Membership(user_id=user_id, group_id=group))
    ctx.audit.data = {"user": user_id, "groups": sorted(set(groups)), "admin": bool(admin)}
    return {"user": user_id, "groups": sorted(set(groups)), "admin": bool(admin)}
