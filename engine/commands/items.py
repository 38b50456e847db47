"""Maintain the service-item catalogue (administrators or the catalogue-admin group)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .. import definitions
from ..audit import diff
from ..context import Ctx, command
from ..errors import PermissionDenied, ValidationError
from ..items import item_dict, parse_csv, parse_json, validate_item
from ..models.items import ServiceItem

CATALOGUE_GROUP = "catalogue-admin"


def _allowed(ctx: Ctx) -> None:
    if not ctx.actor.is_admin and CATALOGUE_GROUP not in ctx.groups():
        raise PermissionDenied(f"user '{ctx.actor.id}' may not change the service-item catalogue")


def _store(ctx: Ctx, item: dict[str, Any]) -> dict[str, Any]:
    definitions.latest(ctx.session, item["process_key"], item.get("process_version"))  # must be deployed
    row = ctx.session.get(ServiceItem, item["code"])
    before = {k: v for k, v in item_dict(row).items() if k != "item_type_name"} if row is not None else {}
    if row is None:
        row = ServiceItem(code=item["code"], updated_at=ctx.now, updated_by=ctx.actor.id, **{
            k: v for k, v in item.items() if k != "code"})
        ctx.session.add(row)
    else:
        for key, value in item.items():
            setattr(row, key, value)
        row.updated_at, row.updated_by = ctx.now, ctx.actor.id
    return diff(before, item)


def _unknown_offices(ctx: Ctx, item: dict[str, Any]) -> list[str]:
    """The item's office and reviewing departments must be departments Yimen knows (else a joint case would
    wait for a group nobody is in)."""
    from ..models import Department

    wanted = [item["office_code"], *item.get("departments", [])]
    known = set(ctx.session.scalars(select(Department.id).where(Department.id.in_(wanted))))
    return [f"{'office_code' if i == 0 else 'departments'}: '{code}' is not a known department"
            for i, code in enumerate(wanted) if code not in known]


@command("item.save")
def save_item(ctx: Ctx, item: dict[str, Any]) -> dict:
    _allowed(ctx)
    item = validate_item(item)
    unknown = _unknown_offices(ctx, item)
    if unknown:
        raise ValidationError(f"service item {item['code']} is invalid: " + "; ".join(unknown), problems=unknown)
    changes = _store(ctx, item)
    ctx.audit.data = {"item": item["code"], "changes": changes}
    return {"item": item["code"]}


@command("item.import")
def import_items(ctx: Ctx, text: str, fmt: str = "json") -> dict:
    """All or nothing: one bad item refuses the whole file, listing every problem."""
    _allowed(ctx)
    if fmt not in ("json", "csv"):
        raise ValidationError("format must be json or csv")
    raw = parse_json(text) if fmt == "json" else parse_csv(text)
    problems, items = [], []
    for index, entry in enumerate(raw):
        try:
            item = validate_item(entry)
            unknown = _unknown_offices(ctx, item)
            if unknown:
                raise ValidationError("unknown departments", problems=unknown)
            items.append(item)
        except ValidationError as exc:
            problems.append({"index": index, "code": (entry or {}).get("code") if isinstance(entry, dict) else None,
                             "problems": exc.details.get("problems", [exc.message])})
    codes = [i["code"] for i in items]
    if len(codes) != len(set(codes)):
        problems.append({"problems": ["an item code appears twice in the file"]})
    if problems:
        raise ValidationError(f"{len(problems)} of {len(raw)} items are invalid; nothing was imported",
                              problems=problems)
    for item in items:
        _store(ctx, item)
    ctx.audit.data = {"imported": codes}
    return {"imported": codes}


@command("item.enable")
def set_enabled(ctx: Ctx, code: str, enabled: bool) -> dict:
    _allowed(ctx)
    from ..items import get_item

    row = get_item(ctx.session, code)
    row.enabled = bool(enabled)
    ctx.audit.data = {"item": code, "enabled": bool(enabled)}
    return {"item": code, "enabled": bool(enabled)}


@command("item.bind")
def bind_process(ctx: Ctx, code: str, process_key: str, process_version: int | None = None) -> dict:
    """Point an item at a deployed process (a pinned version, or ``None`` for the newest).

    Process designers may do this as well as catalogue administrators: binding is
    how a new diagram reaches applicants. Running cases keep their own version.
    """
    from ..commands.deploy import DESIGNER_GROUP
    from ..items import get_item

    if not ctx.actor.is_admin and not {CATALOGUE_GROUP, DESIGNER_GROUP} & set(ctx.groups()):
        raise PermissionDenied(f"user '{ctx.actor.id}' may not bind processes to service items")
    if process_version is not None and (not isinstance(process_version, int) or process_version < 1):
        raise ValidationError("process_version must be a positive whole number or empty for the newest")
    row = get_item(ctx.session, code)
    definition = definitions.latest(ctx.session, process_key, process_version)  # must be deployed
    before = {"process_key": row.process_key, "process_version": row.process_version}
    row.process_key, row.process_version = process_key, process_version
    row.updated_at, row.updated_by = ctx.now, ctx.actor.id
    ctx.audit.data = {"item": code, "changes": diff(before, {"process_key": process_key,
                                                             "process_version": process_version})}
    return {"item": code, "process_key": process_key, "process_version": process_version,
            "definition": definition.id}
