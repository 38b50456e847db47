"""Service items: validation (every problem at once), lookup, JSON and CSV exchange."""
from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy.orm import Session

from .errors import NotFound, ValidationError
from .models.items import ITEM_TYPES, LEVELS, ServiceItem

REQUIRED = ("code", "name", "item_type", "legal_basis", "competent_office", "office_code", "level",
            "legal_limit_days", "promised_limit_days", "process_key")
DEFAULTS: dict[str, Any] = {
    "name_en": None, "acceptance_conditions": None, "materials": [], "warning_days": None, "special_procedures": [], "fees": [],
    "result": {}, "place_hours": None, "consultation": None, "complaint": None, "online_depth": 0, "visits": 1,
    "process_version": None, "joint_handling": False, "departments": [], "department_rejection": "reject_case",
    "commitment_allowed": False, "verification_days": None, "tolerance_allowed": False, "supplement_days": None,
    "card_mode": "auto", "enabled": True,
}
FIELDS = REQUIRED + tuple(DEFAULTS)
LIST_FIELDS = ("materials", "special_procedures", "fees", "departments")
PROCEDURE_KINDS = ("hearing", "testing", "appraisal", "expert_review", "inspection", "quarantine", "tender",
                   "auction", "other")
MAX_SUPPLEMENT_DAYS = 20


def _int(value, field, problems, minimum=0):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        problems.append(f"{field}: must be a whole number >= {minimum}")
        return False
    return True


def validate_item(data: dict[str, Any]) -> dict[str, Any]:
    """The item with defaults filled in; ``ValidationError`` lists every problem found."""
    if not isinstance(data, dict):
        raise ValidationError("a service item must be a JSON object")
    problems: list[str] = []
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        problems.append(f"unknown fields: {', '.join(unknown)}")
    item = {**DEFAULTS, **{k: v for k, v in data.items() if k in FIELDS}}
    for field in REQUIRED:
        if item.get(field) in (None, ""):
            problems.append(f"{field}: required")
    if item.get("item_type") and item["item_type"] not in ITEM_TYPES:
        problems.append(f"item_type: one of {', '.join(ITEM_TYPES)}")
    if item.get("level") and item["level"] not in LEVELS:
        problems.append(f"level: one of {', '.join(LEVELS)}")
    legal_ok = item.get("legal_limit_days") is not None and _int(item["legal_limit_days"], "legal_limit_days",
                                                                   problems)
    promised_ok = item.get("promised_limit_days") is not None and _int(item["promised_limit_days"],
                                                                         "promised_limit_days", problems)
    if legal_ok and promised_ok and item["promised_limit_days"] > item["legal_limit_days"]:
        problems.append("promised_limit_days: cannot exceed the legal limit")
    for field in ("warning_days", "verification_days", "supplement_days", "process_version"):
        if item.get(field) is not None:
            _int(item[field], field, problems, minimum=1 if field != "warning_days" else 0)
    for field in LIST_FIELDS:
        if not isinstance(item.get(field), list):
            problems.append(f"{field}: must be a list")
            item[field] = []
    names = set()
    materials = []
    for index, m in enumerate(item["materials"]):
        where = f"materials[{index}]"
        if not isinstance(m, dict) or not str(m.get("name") or "").strip():
            problems.append(f"{where}: needs a name")
            continue
        if m["name"] in names:
            problems.append(f"{where}: material '{m['name']}' is listed twice")
        names.add(m["name"])
        material = {"name": m["name"], "name_en": m.get("name_en"), "form": m.get("form", "original"), "copies": m.get("copies", 1),
                    "required": bool(m.get("required", True)), "tolerable": bool(m.get("tolerable", False)),
                    "key": bool(m.get("key", False)), "blank_form": m.get("blank_form")}
        if material["form"] not in ("original", "copy", "either"):
            problems.append(f"{where}: form is original, copy or either")
        if material["key"] and material["tolerable"]:
            problems.append(f"{where}: a key material cannot be tolerable-missing (容缺)")
        materials.append(material)
    item["materials"] = materials
    for index, p in enumerate(item["special_procedures"]):
        if not isinstance(p, dict) or p.get("kind") not in PROCEDURE_KINDS:
            problems.append(f"special_procedures[{index}]: kind is one of {', '.join(PROCEDURE_KINDS)}")
    if item["tolerance_allowed"]:
        if not any(m["tolerable"] for m in materials):
            problems.append("tolerance_allowed: no material is marked tolerable")
        days = item.get("supplement_days")
        if days is not None and isinstance(days, int) and days > MAX_SUPPLEMENT_DAYS:
            problems.append(f"supplement_days: at most {MAX_SUPPLEMENT_DAYS} working days")
        if (isinstance(days, int) and promised_ok and item["promised_limit_days"]
                and days >= item["promised_limit_days"]):
            problems.append("supplement_days: must end before the promised limit")
    if item["commitment_allowed"] and not item.get("verification_days"):
        problems.append("verification_days: required when notify-and-commit (告知承诺) is allowed")
    if item["card_mode"] not in ("auto", "confirm"):
        problems.append("card_mode: auto (cards issued at once) or confirm (held for a supervisor)")
    if item["department_rejection"] not in ("reject_case", "conclude_with_rest"):
        problems.append("department_rejection: reject_case or conclude_with_rest")
    if problems:
        raise ValidationError(f"service item {data.get('code') or '?'} is invalid: " + "; ".join(problems),
                              problems=problems)
    return item


def get_item(session: Session, code: str) -> ServiceItem:
    item = session.get(ServiceItem, code) if isinstance(code, str) else None
    if item is None:
        raise NotFound(f"service item '{code}' does not exist", item=code, what="item")
    return item


def item_dict(item: ServiceItem) -> dict[str, Any]:
    out = {field: getattr(item, field) for field in FIELDS}
    out["item_type_name"] = ITEM_TYPES.get(item.item_type)
    return out


def export_json(items: list[ServiceItem]) -> str:
    return json.dumps([{k: v for k, v in item_dict(i).items() if k != "item_type_name"} for i in items],
                      ensure_ascii=False, indent=2)


def parse_json(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    if isinstance(data, dict):
        data = data.get("items", [data])
    if not isinstance(data, list):
        raise ValidationError("expected a list of service items")
    return data


def export_csv(items: list[ServiceItem]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(FIELDS))
    writer.writeheader()
    for item in items:
        row = item_dict(item)
        writer.writerow({f: json.dumps(row[f], ensure_ascii=False) if isinstance(row[f], (list, dict, bool))
                         or row[f] is None else row[f] for f in FIELDS})
    return buffer.getvalue()


def parse_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    out = []
    for line, row in enumerate(reader, start=2):
        item: dict[str, Any] = {}
        for field, value in row.items():
            if field is None:
                raise ValidationError(f"CSV line {line}: more cells than columns")
            if value is None or value == "":
                continue
            if field in ("legal_limit_days", "promised_limit_days", "online_depth", "visits"):
                try:
                    item[field] = int(value)
                except ValueError as exc:
                    raise ValidationError(f"CSV line {line}: {field} is not a number") from exc
                continue
            try:
                item[field] = json.loads(value) if value[:1] in "[{" or value in ("true", "false", "null") \
                    or (value.isdigit() and field not in ("code", "office_code")) else value
            except json.JSONDecodeError as exc:
                raise ValidationError(f"CSV line {line}: {field} is not valid JSON") from exc
        out.append(item)
    return out
