"""Checks on what an applicant types before the application is taken (申请前校验).

* the 18-digit resident identity card number (居民身份证号码, GB 11643-1999):
  six digits of the address code, the birth date ``YYYYMMDD``, a three-digit
  sequence and a check character (ISO 7064 MOD 11-2, ``X`` for ten);
* the unified social credit code of an organisation (统一社会信用代码,
  GB 32100-2015): 18 characters of ``0-9`` and the capitals without I, O, S,
  V and Z, the last one a MOD 31 check character;
* a mainland phone number: a mobile (11 digits from 13-19) or a landline with
  its area code (``0571-88889999``).

``application_problems`` lists *every* problem of an application at once, as
``{"field", "refusal"}`` (and ``"material"`` for a missing file): the engine
refuses with all of them in one ``ValidationError`` and the pages translate
each (``web/pages/applicant.py``).
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Iterable

from . import clock

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")


def id_card_check_char(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def id_card_problem(value: str) -> str | None:
    """Why ``value`` is not a valid 18-digit identity card number, or None."""
    text = (value or "").strip().upper()
    if len(text) != 18 or not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        return "id_card_format"
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return "id_card_birth_date"
    if born.year < 1900 or born > clock.now().date():
        return "id_card_birth_date"
    if id_card_check_char(text[:17]) != text[17]:
        return "id_card_check_digit"
    return None


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters."""
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS))
    return _CREDIT_CHARS[(31 - total % 31) % 31]


def credit_code_problem(value: str) -> str | None:
    """Why ``value`` is not a valid unified social credit code, or None."""
    text = (value or "").strip().upper()
    if len(text) != 18 or any(c not in _CREDIT_CHARS for c in text):
        return "credit_code_format"
    if credit_code_check_char(text[:17]) != text[17]:
        return "credit_code_check_digit"
    return None


def phone_problem(value: str) -> str | None:
    text = re.sub(r"[\s]", "", value or "")
    if _MOBILE.fullmatch(text) or _LANDLINE.fullmatch(text):
        return None
    return "phone_format"


def application_problems(applicant: dict[str, Any], materials_given: Iterable[str],
                         item_materials: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Every problem of an online application (网上申报), in the order of the form."""
    problems: list[dict[str, str]] = []
    if not str(applicant.get("name") or "").strip():
        problems.append({"field": "applicant_name", "refusal": "required"})
    kind = applicant.get("kind", "person")
    id_no = str(applicant.get("id_no") or "").strip()
    if not id_no:
        problems.append({"field": "id_no", "refusal": "required"})
    else:
        found = id_card_problem(id_no) if kind == "person" else credit_code_problem(id_no)
        if found:
            problems.append({"field": "id_no", "refusal": found})
    phone = str(applicant.get("phone") or "").strip()
    if phone and phone_problem(phone):
        problems.append({"field": "phone", "refusal": "phone_format"})
    given = set(materials_given)
    for spec in item_materials:
        if spec.get("required", True) and not spec.get("tolerable") and spec["name"] not in given:
            problems.append({"field": "materials", "refusal": "material_missing", "material": spec["name"]})
    return problems


def identity_problems(applicant: dict[str, Any]) -> list[dict[str, str]]:
    """The ID-number and phone problems alone (a correction, 补正, may change them)."""
    return [p for p in application_problems(applicant, (), []) if p["field"] in ("id_no", "phone")
            and not (p["field"] == "id_no" and p["refusal"] == "required")]


def refuse_invalid(applicant: Any, materials: list[dict[str, Any]] | None,
                   item_materials: list[dict[str, Any]]) -> None:
    """Refuse an online application with every problem it has (``details['problems']``), or return."""
    from .errors import ValidationError

    if not isinstance(applicant, dict):
        applicant = {}
    given = [m.get("name") for m in materials or [] if isinstance(m, dict) and m.get("content")]
    problems = application_problems(applicant, given, item_materials)
    if problems:
        raise ValidationError("the application has problems: " + "; ".join(
            f"{p['field']}: {p['refusal']}" + (f" ({p['material']})" if p.get("material") else "")
            for p in problems), refusal="application_invalid", problems=problems)


CORRECTABLE = ("name", "kind", "id_no", "phone")


def apply_corrections(ctx, case, applicant: dict[str, Any] | None, form: dict[str, Any] | None) -> list[str]:
    """补正: change the fields she corrected (applicant name, kind, ID number, phone; form fields); the names changed.

    A new ID number is checked like an online application's, and the credit record follows it.
    """
    from .errors import ValidationError

    changed: list[str] = []
    applicant = {k: v for k, v in (applicant or {}).items() if k in CORRECTABLE and v is not None}
    if applicant:
        kind = applicant.get("kind", case.applicant_kind)
        if kind not in ("person", "organisation"):
            raise ValidationError("applicant kind must be 'person' or 'organisation'", field="kind",
                                  refusal="not_a_choice")
        merged = {"name": applicant.get("name", case.applicant_name), "kind": kind,
                  "id_no": applicant.get("id_no", case.applicant_id_no), "phone": applicant.get("phone")}
        problems = [p for p in application_problems(merged, (), [])
                    if p["field"] != "id_no" or "id_no" in applicant or "kind" in applicant]
        if problems:
            raise ValidationError("the corrected application has problems: " + "; ".join(
                f"{p['field']}: {p['refusal']}" for p in problems), refusal="application_invalid",
                problems=problems)
        for field, column in (("name", "applicant_name"), ("kind", "applicant_kind"), ("id_no", "applicant_id_no")):
            value = str(merged[field]).strip() if merged[field] is not None else None
            if field in applicant and value != getattr(case, column):
                setattr(case, column, value)
                changed.append(field)
        if "phone" in applicant and str(applicant["phone"]).strip() != str((case.form or {}).get("phone") or ""):
            case.form = {**(case.form or {}), "phone": str(applicant["phone"]).strip()}
            changed.append("phone")
        if "id_no" in changed:
            from .cases import has_false_commitment

            if has_false_commitment(ctx.session, case):
                case.applicant_credit = "bad"
    if form:
        from .assignment import check_data

        form = check_data(form)
        updated = {**(case.form or {}), **form}
        if updated != case.form:
            changed += [f"form.{k}" for k in form if (case.form or {}).get(k) != form[k]]
            case.form = updated
    return changed
