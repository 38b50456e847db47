"""Powers across levels (放权): the implementation list (事项实施清单) and the one routing rule.

A service item belongs to its own office (``service_item.office_code``, usually a city office). The
implementation list says, per item and region, how it is exercised there. A region is a county, district or
development zone, named by its department (``department.id`` of level ``county`` or ``zone``); the applicant
chooses it with the application. Modes (``engine.models.levels.Mode``):

* ``direct`` (直接放权): the region's office handles and decides it, in its own name;
* ``entrusted`` (委托下放): the region's office handles and decides it in the name of the item's office
  (the city); documents name the city as the authority and the county as 受委托机关;
* ``review_report`` (受理审核权下放 / 审核转报): the region's office accepts and reviews it (its review is
  binding); the item's office (the city) approves it in the conclude step, without a second review;
* ``taken_back`` (权限上收): the item's office handles it; any window may still accept it (互为受理);
* ``zone`` (赋权): a development zone's office exercises it, in its own name.

``route`` is the one place that decides; ``engine.commands.cases.submit`` calls it and keeps the answer on
the case (``region``, ``route_mode``, ``office_code``, ``authority_office``/``authority_name``,
``entrusted_office``, ``approving_office``) and in the process data (``route``; ``approving_office`` makes
the standard process's conclude step belong to that office: its candidate group is the office's id).
Without a region, or without a row for the item and region, the item's own office handles it as before.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select

from .errors import NotFound, ValidationError
from .models import Department, ServiceItem
from .models.levels import ItemImplementation, Mode

MODES = Mode.ALL
REGION_LEVELS = ("county", "zone")
FIELDS = ("item_code", "region", "mode", "handler", "note")
# the Chinese headings a CSV of the list may use for each column (engine.tabular)
HEADINGS = {"item_code": ("事项编码",), "region": ("所在区域",), "mode": ("实施方式",), "handler": ("承办机关",),
            "note": ("备注",)}
MAX_NOTE = 2000
# 审核转报 needs a process whose conclude step reads ``approving_office`` (its candidate group): the shipped one
REVIEW_REPORT_PROCESSES = ("standard_approval",)


@dataclass
class Route:
    """Where a case of an item goes for an applicant of a region, and whose name its documents carry."""

    region: str | None
    mode: str | None              # None: no entry (the item's own office, as before 放权)
    office_code: str              # the handling office: case numbers, the department visibility rule
    authority_office: str         # the office in whose name the decision and licence are made
    authority_name: str | None
    entrusted_office: str | None = None   # 委托下放: the county deciding in the authority's name
    entrusted_name: str | None = None
    approving_office: str | None = None   # 审核转报: the office whose staff conclude (approve)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def region_department(session, region: str | None) -> Department:
    """The department naming a region (a county or a development zone), or a refusal naming the field."""
    dept = session.get(Department, region) if isinstance(region, str) and region else None
    if dept is None or dept.level not in REGION_LEVELS:
        raise ValidationError(f"region '{str(region)[:40]}' is not a county or development zone department",
                              refusal="unknown_region", field="region")
    return dept


def route(session, item: ServiceItem, region: str | None) -> Route:
    """The route of a new case of ``item`` for an applicant of ``region`` (a department id, or None)."""
    own = item.office_code or "YM"
    if not region:
        return Route(None, None, own, own, item.competent_office)
    region_department(session, region)
    entry = session.scalars(select(ItemImplementation).where(ItemImplementation.item_code == item.code,
                                                             ItemImplementation.region == region)).first()
    if entry is None or entry.mode == Mode.TAKEN_BACK:
        return Route(region, entry.mode if entry else None, own, own, item.competent_office)
    handler = entry.handler or entry.region
    handler_name = _name(session, handler)
    if entry.mode in (Mode.DIRECT, Mode.ZONE):
        return Route(region, entry.mode, handler, handler, handler_name)
    if entry.mode == Mode.ENTRUSTED:
        return Route(region, entry.mode, handler, own, item.competent_office, entrusted_office=handler,
                     entrusted_name=handler_name)
    return Route(region, entry.mode, handler, own, item.competent_office, approving_office=own)  # review_report


def _name(session, department_id: str | None) -> str | None:
    dept = session.get(Department, department_id) if department_id else None
    return dept.name if dept else None


# --- the implementation list ----------------------------------------------------------------

def check_entry(session, raw: Any, where: str = "") -> dict[str, Any]:
    """One row of the list checked against the catalogue and the departments; every problem at once."""
    if not isinstance(raw, dict):
        raise ValidationError(f"{where}an entry is an object with {', '.join(FIELDS)}", refusal="required",
                              field="entry")
    r = {f: (str(raw.get(f)).strip() if raw.get(f) not in (None, "") else None) for f in FIELDS}
    r["mode"] = Mode.WORDS.get(r["mode"], r["mode"])
    problems: list[tuple[str, str, str]] = []  # (message, refusal, field)
    unknown = sorted(str(k) for k in set(raw) - set(FIELDS))
    if unknown:
        problems.append((f"unknown fields {', '.join(unknown)}", "unknown_field", "entry"))
    item = session.get(ServiceItem, r["item_code"]) if r["item_code"] else None
    if item is None:
        problems.append((f"item_code '{str(r['item_code'])[:100]}' is not in the catalogue", "unknown_item", "item"))
    region = session.get(Department, r["region"]) if r["region"] else None
    if region is None or region.level not in REGION_LEVELS:
        problems.append((f"region '{str(r['region'])[:40]}' is not a county or development zone department",
                         "unknown_region", "region"))
    if r["mode"] not in MODES:
        problems.append((f"mode is one of {', '.join(MODES)}", "one_of", "mode"))
    elif r["mode"] == Mode.ZONE and region is not None and region.level != "zone":
        problems.append(("mode zone (赋权) is for a development zone region", "zone_mode", "mode"))
    if r["handler"] is not None:
        handler = session.get(Department, r["handler"])
        if handler is None or handler.level not in REGION_LEVELS:
            problems.append((f"handler '{r['handler'][:40]}' is not a county or development zone department",
                             "unknown_handler", "handler"))
    if r["note"] and len(r["note"]) > MAX_NOTE:
        problems.append((f"note is longer than {MAX_NOTE} characters", "too_long", "note"))
    if item is not None and r["mode"] in (Mode.ENTRUSTED, Mode.REVIEW_REPORT, Mode.TAKEN_BACK):
        own = session.get(Department, item.office_code)
        if own is None:
            problems.append((f"item {item.code}'s office '{item.office_code}' is not a department, so it cannot "
                             "entrust, approve or take back", "no_item_office", "item"))
    if item is not None and r["mode"] == Mode.REVIEW_REPORT and item.process_key not in REVIEW_REPORT_PROCESSES:
        problems.append((f"review_report needs the item on a process whose conclude step goes to the approving "
                         f"office ({', '.join(REVIEW_REPORT_PROCESSES)}), not '{item.process_key}'",
                         "review_report_process", "mode"))
    if problems:
        first = problems[0]
        raise ValidationError(where + "; ".join(p[0] for p in problems), refusal=first[1], field=first[2],
                              problems=[p[0] for p in problems], limit=MAX_NOTE)
    return r


def parse(text: str, fmt: str) -> list[Any]:
    from .tabular import read_rows

    return read_rows(text, fmt, "implementation list", HEADINGS, refusal="bad_file")


def check_rows(session, rows: list[Any]) -> list[dict[str, Any]]:
    if not isinstance(rows, list) or not rows:
        raise ValidationError("the implementation list is a non-empty list of rows", refusal="bad_file")
    out, problems, seen = [], [], set()
    for n, raw in enumerate(rows, start=1):
        try:
            r = check_entry(session, raw, f"row {n}: ")
        except ValidationError as exc:
            problems.append(exc.message)
            continue
        if (r["item_code"], r["region"]) in seen:
            problems.append(f"row {n}: item {r['item_code']} and region {r['region']} appear twice")
        seen.add((r["item_code"], r["region"]))
        out.append(r)
    if problems:
        raise ValidationError("the implementation list has problems: " + "; ".join(problems[:50]),
                              refusal="bad_file", problems=problems[:200])
    return out


def entry_dict(row: ItemImplementation) -> dict[str, Any]:
    return {"id": row.id, "item_code": row.item_code, "region": row.region, "mode": row.mode,
            "handler": row.handler, "note": row.note, "updated_at": row.updated_at.isoformat(),
            "updated_by": row.updated_by}


def entries(session, item_code: str | None = None, region: str | None = None) -> list[dict[str, Any]]:
    """The list with the names the pages show (item, region, handling office, the item's own office): one query."""
    region_dept, handler_dept, own_dept = (Department.__table__.alias(n) for n in ("r", "h", "o"))
    stmt = (select(ItemImplementation, ServiceItem.name, ServiceItem.office_code, ServiceItem.competent_office,
                   region_dept.c.name, region_dept.c.level, handler_dept.c.name)
            .join(ServiceItem, ServiceItem.code == ItemImplementation.item_code)
            .join(region_dept, region_dept.c.id == ItemImplementation.region)
            .outerjoin(handler_dept, handler_dept.c.id == ItemImplementation.handler))
    if item_code:
        stmt = stmt.where(ItemImplementation.item_code == item_code)
    if region:
        stmt = stmt.where(ItemImplementation.region == region)
    out = []
    for row, item_name, office, competent, region_name, region_level, handler_name in session.execute(
            stmt.order_by(ItemImplementation.item_code, ItemImplementation.region)):
        out.append({**entry_dict(row), "item_name": item_name, "item_office": office,
                    "item_office_name": competent, "region_name": region_name, "region_level": region_level,
                    "handler_name": handler_name or region_name})
    return out


def regions(session) -> list[dict[str, Any]]:
    """The regions an applicant may choose: county and development-zone departments, with their parent."""
    rows = session.scalars(select(Department).where(Department.level.in_(REGION_LEVELS)).order_by(Department.id))
    return [{"id": d.id, "name": d.name, "name_en": d.name_en, "level": d.level, "parent": d.parent_id}
            for d in rows]


def export(session, fmt: str = "json") -> str:
    rows = [{f: r[f] for f in FIELDS} for r in entries(session)]
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2)
    if fmt != "csv":
        raise ValidationError("format is json or csv", refusal="one_of", field="format")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def route_of_case(session, case_id: int) -> dict[str, Any]:
    """A case's route as stored, with the offices' names (the case page, the approving office's step)."""
    from .models import ApprovalCase

    case = session.get(ApprovalCase, case_id)
    if case is None:
        raise NotFound(f"case {case_id} does not exist", what="case")
    return {"region": case.region, "region_name": _name(session, case.region), "mode": case.route_mode,
            "office": case.office_code, "office_name": _name(session, case.office_code),
            "authority_office": case.authority_office, "authority_name": case.authority_name,
            "entrusted_office": case.entrusted_office, "entrusted_name": _name(session, case.entrusted_office),
            "approving_office": case.approving_office, "approving_name": _name(session, case.approving_office)}
