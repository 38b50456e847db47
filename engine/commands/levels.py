"""放权 verbs: set or remove an entry of the implementation list (事项实施清单), or replace the list from a file.

Administrators only; each is one transaction with its audit event. ``engine.levels`` checks the rows.
"""
from __future__ import annotations

from sqlalchemy import delete, select

from .. import levels
from ..context import Ctx, command
from ..errors import NotFound, PermissionDenied
from ..models.levels import ItemImplementation


def _admin(ctx: Ctx) -> None:
    if not ctx.actor.is_admin:
        raise PermissionDenied("only an administrator may change the implementation list (事项实施清单)")


@command("levels.set")
def set_entry(ctx: Ctx, item_code: str, region: str, mode: str, handler: str | None = None,
              note: str | None = None) -> dict:
    """Create or replace the entry of ``item_code`` in ``region``."""
    _admin(ctx)
    r = levels.check_entry(ctx.session, {"item_code": item_code, "region": region, "mode": mode,
                                         "handler": handler, "note": note})
    row = ctx.session.scalars(select(ItemImplementation).where(ItemImplementation.item_code == r["item_code"],
                                                               ItemImplementation.region == r["region"])).first()
    before = levels.entry_dict(row) if row is not None else None
    if row is None:
        row = ItemImplementation(item_code=r["item_code"], region=r["region"])
        ctx.session.add(row)
    row.mode, row.handler, row.note = r["mode"], r["handler"], r["note"]
    row.updated_at, row.updated_by = ctx.now, ctx.actor.id
    ctx.session.flush()
    ctx.audit.data = {**r, "before": {k: before[k] for k in levels.FIELDS} if before else None}
    return levels.entry_dict(row)


@command("levels.remove")
def remove_entry(ctx: Ctx, item_code: str, region: str) -> dict:
    _admin(ctx)
    row = ctx.session.scalars(select(ItemImplementation).where(ItemImplementation.item_code == item_code,
                                                               ItemImplementation.region == region)).first()
    if row is None:
        raise NotFound(f"no implementation entry for item '{str(item_code)[:100]}' in region '{str(region)[:40]}'",
                       what="implementation")
    removed = levels.entry_dict(row)
    ctx.session.delete(row)
    ctx.audit.data = {k: removed[k] for k in levels.FIELDS}
    return {"removed": True, "item_code": item_code, "region": region}


@command("levels.import")
def import_list(ctx: Ctx, text: str, fmt: str = "json") -> dict:
    """Replace the whole list from JSON or CSV (``item_code, region, mode, handler, note``): all rows or none."""
    _admin(ctx)
    rows = levels.check_rows(ctx.session, levels.parse(text, fmt))
    ctx.session.execute(delete(ItemImplementation))
    for r in rows:
        ctx.session.add(ItemImplementation(**r, updated_at=ctx.now, updated_by=ctx.actor.id))
    ctx.audit.data = {"rows": len(rows), "items": sorted({r["item_code"] for r in rows})}
    return {"imported": len(rows)}
