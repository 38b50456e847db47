"""Urge (催办) the people working on a case, and carbon-copy (抄送) it to others.

Both leave the system as notifications through the transactional outbox
(``engine.notify``), written in the same transaction as the audit event.
"""
from __future__ import annotations

from sqlalchemy import select

from ..context import Ctx, command
from ..errors import InvalidState, NotFound, PermissionDenied, ValidationError
from ..models import CarbonCopy, HumanTask, Membership, NoticePreference, ProcessInstance, TaskStatus, User


def _instance(ctx: Ctx, instance_id: int) -> ProcessInstance:
    instance = ctx.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"instance {instance_id} does not exist", instance_id=instance_id)
    return instance


def open_steps(ctx: Ctx, instance_id: int) -> list[HumanTask]:
    return list(ctx.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                            HumanTask.status == TaskStatus.OPEN)
                                    .order_by(HumanTask.created_at)))


def handlers_of(ctx: Ctx, row: HumanTask) -> list[str]:
    """Who holds one open step: its assignee, or (unclaimed) its candidate users and group members."""
    names = [row.assignee] if row.assignee else list(row.candidate_users or [])
    if not row.assignee and row.candidate_groups:
        names += list(ctx.session.scalars(select(Membership.user_id).where(
            Membership.group_id.in_(row.candidate_groups))))
    return list(dict.fromkeys(n for n in names if n))


def current_handlers(ctx: Ctx, instance_id: int) -> list[str]:
    """The assignees of the open tasks, or (for unclaimed ones) their candidate users and group members."""
    people: list[str] = []
    for row in open_steps(ctx, instance_id):
        people += [n for n in handlers_of(ctx, row) if n not in people]
    return people


@command("case.urge")
def urge(ctx: Ctx, instance_id: int, message: str | None = None) -> dict:
    """催办: remind everyone currently holding the case."""
    instance = _instance(ctx, instance_id)
    if instance.status != "running":
        raise InvalidState(f"instance {instance_id} is {instance.status}; there is nobody to urge")
    if not ctx.actor.is_admin and "supervisor" not in ctx.groups() and ctx.actor.id != instance.started_by:
        raise PermissionDenied(f"user '{ctx.actor.id}' may not urge this case", refusal="not_handling")
    people = current_handlers(ctx, instance_id)
    tell_urged(ctx, instance, message or "请尽快办理。", channels=("in_app", "email", "sms"))
    ctx.audit.instance_id = instance_id
    ctx.audit.data = {"urged": people, "message": message}
    return {"instance": instance_id, "urged": people}


def tell_urged(ctx: Ctx, instance: ProcessInstance, text: str, skip: tuple[str, ...] = (),
               channels: tuple[str, ...] = ("in_app",), extra: dict | None = None) -> list[str]:
    """催办 / 督办 of a case: everyone holding one of its open steps is told, once, naming their step.

    The notice keeps the kind ``urged`` with the step's names, so the pages say it in the reader's language.
    Returns who was told; the actor and the people in ``skip`` (told otherwise) are not."""
    from ..notify import notify_user

    number = instance.business_key or str(instance.id)
    told: list[str] = []
    for row in open_steps(ctx, instance.id):
        for person in handlers_of(ctx, row):
            if person in told or person in skip or person == ctx.actor.id:
                continue
            told.append(person)
            notify_user(ctx, person, f"催办：办件 {number}", text, {"kind": "urged", "task": row.id, **(extra or {})},
                        instance_id=instance.id, channels=channels, kind="urged",
                        params={"step": row.name, "step_en": row.name_en, "case_number": number, "text": text})
    return told


def _name_en(ctx: Ctx, user_id: str) -> str | None:
    user = ctx.session.get(User, user_id)
    return user.display_name_en if user is not None else None


@command("case.carbon_copy")
def carbon_copy(ctx: Ctx, instance_id: int, users: list[str], note: str | None = None) -> dict:
    """抄送: give other users read access to the case and tell them."""
    instance = _instance(ctx, instance_id)
    if not users:
        raise ValidationError("name at least one user to copy", refusal="required", field="users")
    handlers = current_handlers(ctx, instance_id)
    if not ctx.actor.is_admin and ctx.actor.id not in handlers:
        raise PermissionDenied(f"user '{ctx.actor.id}' is not working on this case and may not copy it",
                               refusal="not_handling")
    from .identity import is_staff

    users = list(dict.fromkeys(u.strip() for u in users if isinstance(u, str) and u.strip()))
    if not users:
        raise ValidationError("name at least one user to copy", refusal="required", field="users")
    for user in users:
        staff = is_staff(ctx.session, user)
        if staff is None:
            raise NotFound(f"user '{user}' does not exist", user=user, what="user", refusal="unknown_user")
        if not staff:
            raise ValidationError(f"'{user}' is not an active member of staff; a case is copied to staff only",
                                  user=user, refusal="not_staff", field="users")
    added = []
    names = {u.id: u.display_name or u.id for u in ctx.session.scalars(select(User).where(
        User.id.in_(users + [ctx.actor.id])))}
    for user in users:
        exists = ctx.session.scalars(select(CarbonCopy).where(CarbonCopy.instance_id == instance_id,
                                                              CarbonCopy.user_id == user)).first()
        if exists is None:
            ctx.session.add(CarbonCopy(instance_id=instance_id, user_id=user, by=ctx.actor.id, at=ctx.now, note=note))
            added.append(user)
            number = instance.business_key or str(instance.id)
            by = names.get(ctx.actor.id, ctx.actor.id)
            from ..notify import notify_user

            notify_user(ctx, user, f"抄送：办件 {number}", note or f"{by} 将此办件抄送给您。",
                        {"kind": "carbon_copy"}, instance_id=instance_id, kind="carbon_copy",
                        params={"case_number": number, "by": by, "by_en": _name_en(ctx, ctx.actor.id),
                                "note": note or ""})
    ctx.audit.instance_id = instance_id
    ctx.audit.data = {"copied_to": added, "note": note}
    return {"instance": instance_id, "copied_to": added}


@command("user.notice_prefs")
def set_notice_prefs(ctx: Ctx, user_id: str, email: bool | None = None, sms: bool | None = None,
                     categories: dict | None = None) -> dict:
    """Choose whether notices also come by e-mail and by SMS (短信), for all of them or per category of notice
    (``engine.notify.NOTICE_CATEGORIES``); the in-app notice always stays.

    ``email`` / ``sms`` set that channel for every category; ``categories`` (``{"progress": {"email": false}}``)
    then sets single categories. A notice the law requires keeps one outside channel whatever is chosen
    (``engine.notify.REQUIRED_KINDS``). People choose for themselves; administrators may set anyone's.
    """
    from ..notify import NOTICE_CATEGORIES, OUTSIDE_CHANNELS, _wanted

    if ctx.actor.id != user_id and not ctx.actor.is_admin:
        raise PermissionDenied(f"user '{ctx.actor.id}' may not change the notice preferences of '{user_id}'",
                               refusal="not_yours")
    for name, value in (("email", email), ("sms", sms)):
        if value is not None and not isinstance(value, bool):
            raise ValidationError(f"'{name}' must be true or false", refusal="notice_choice", field=name)
    if categories is not None and not isinstance(categories, dict):
        raise ValidationError("'categories' must map a category of notice to its choice of e-mail and SMS",
                              refusal="notice_choice", field="categories")
    for category, choice in (categories or {}).items():
        if category not in NOTICE_CATEGORIES:
            raise ValidationError(f"'{category}' is not a category of notice; the categories are "
                                  f"{', '.join(NOTICE_CATEGORIES)}", refusal="notice_category", field="categories",
                                  category=str(category)[:40])
        if not isinstance(choice, dict) or any(ch not in OUTSIDE_CHANNELS or not isinstance(v, bool)
                                               for ch, v in choice.items()):
            raise ValidationError(f"the choice for '{category}' must be {{\"email\": true or false, \"sms\": true or "
                                  f"false}}", refusal="notice_choice", field="categories", category=category)
    if email is None and sms is None and not categories:
        raise ValidationError("choose e-mail and SMS for all notices or for a category", refusal="required",
                              field="categories")
    if ctx.session.get(User, user_id) is None:
        raise NotFound(f"user '{user_id}' does not exist", user=user_id, what="user")
    row = ctx.session.get(NoticePreference, user_id)
    before = None if row is None else _wanted(row)
    chosen = _wanted(row)
    for name, value in (("email", email), ("sms", sms)):
        if value is not None:
            for category in chosen.values():
                category[name] = value
    for category, choice in (categories or {}).items():
        chosen[category].update(choice)
    if row is None:
        row = NoticePreference(user_id=user_id, email=True, sms=True, updated_at=ctx.now)
        ctx.session.add(row)
    if email is not None:
        row.email = email
    if sms is not None:
        row.sms = sms
    row.categories, row.updated_at = chosen, ctx.now
    result = {"user": user_id, **{ch: all(c[ch] for c in chosen.values()) for ch in OUTSIDE_CHANNELS},
              "categories": chosen}
    ctx.audit.data = {"user": user_id, "before": before, "after": chosen}
    return result
