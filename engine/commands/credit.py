"""Credit verbs: import a credit list (失信名单 / 守信名单), the window's credit check, per-item reform settings."""
from __future__ import annotations

from sqlalchemy import select

from .. import credit
from ..cases import load_case
from ..context import Ctx, command
from ..errors import PermissionDenied, ValidationError
from ..items import get_item
from ..models.reform import ReformItemSetting

WINDOW_GROUP = "window"
MAX_DAYS = 60


def _admin(ctx: Ctx, what: str) -> None:
    if not ctx.actor.is_admin:
        raise PermissionDenied(f"only an administrator may {what}")


@command("credit.import")
def import_list(ctx: Ctx, text: str, list_name: str | None = None) -> dict:
    """Enter a credit list from CSV (id_no, name, subject_kind, level, reason, source, date, expires): all or none."""
    _admin(ctx, "import a credit list")
    rows = credit.parse_csv(text)
    from datetime import datetime, time

    from ..cases import LOCAL

    name = (list_name or "").strip()[:100] or None
    for r in rows:
        at = datetime.combine(r["date"], time(12), LOCAL) if r["date"] else ctx.now
        credit.add_entry(ctx, name=r["name"], id_no=r["id_no"], user=None, subject_kind=r["subject_kind"],
                         kind="imported_list" if r["level"] != "good" else "good_record", level=r["level"],
                         reason=r["reason"], source=r["source"] or name or "imported list", expires_on=r["expires"],
                         at=at)
    levels: dict[str, int] = {}
    for r in rows:
        levels[r["level"]] = levels.get(r["level"], 0) + 1
    ctx.audit.data = {"list": name, "rows": len(rows), "levels": levels}
    return {"imported": len(rows), "levels": levels}


@command("case.credit_check")
def check_case(ctx: Ctx, case_id: int) -> dict:
    """The window looks up the applicant's credit; what it said is kept in the case file."""
    case = load_case(ctx.session, case_id)
    if not (ctx.actor.is_admin or WINDOW_GROUP in ctx.groups()):
        raise PermissionDenied(f"user '{ctx.actor.id}' is not window staff and may not run the credit check")
    check = credit.record_check(ctx, case, get_item(ctx.session, case.item_code))
    ctx.session.flush()
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"case": case.number, "level": check.level, "opens": check.opens, "reason": check.reason}
    return credit.check_dict(check)


@command("reform.item_settings")
def save_item_settings(ctx: Ctx, item_code: str, green_channel_days: int | None = None,
                       rectification_days: int | None = None) -> dict:
    """Per item: the 绿色通道 promised limit (shorter than the item's own) and the rectification limit (整改)."""
    _admin(ctx, "change an item's reform settings")
    item = get_item(ctx.session, item_code)
    problems = []
    for field, value in (("green_channel_days", green_channel_days), ("rectification_days", rectification_days)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS):
            problems.append(f"{field}: a whole number of working days, 0-{MAX_DAYS}")
    if isinstance(green_channel_days, int) and not isinstance(green_channel_days, bool) \
            and green_channel_days >= item.promised_limit_days > 0:
        problems.append(f"green_channel_days: shorter than the item's promised limit ({item.promised_limit_days})")
    if problems:
        raise ValidationError("; ".join(problems), problems=problems)
    row = ctx.session.get(ReformItemSetting, item_code) or ReformItemSetting(item_code=item_code)
    row.green_channel_days, row.rectification_days = green_channel_days, rectification_days
    ctx.session.add(row)
    ctx.audit.data = {"item": item_code, "green_channel_days": green_channel_days,
                      "rectification_days": rectification_days}
    return {"item": item_code, "green_channel_days": green_channel_days, "rectification_days": rectification_days}


def item_settings(session) -> list[dict]:
    return [{"item": r.item_code, "green_channel_days": r.green_channel_days,
             "rectification_days": r.rectification_days}
            for r in session.scalars(select(ReformItemSetting).order_by(ReformItemSetting.item_code))]
