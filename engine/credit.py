"""Credit (信用): an applicant's entries, the level they make, and what that level opens at the window.

An applicant is a person by ID number or an organisation by 统一社会信用代码 (both kept as the case's
``applicant_id_no``); entries written before an ID number was known are also found by the applicant's account
(the false-commitment bar, issue 13). Each entry (``credit_record``) has a level — good (守信), bad (失信) or
blacklist (失信联合惩戒) — a source, a date, a reason and an expiry; the level of an applicant is the gravest of
their entries that have not expired, normal when there is none. The applicant's own declaration is never the
source: it can only make the level worse.

What the level opens (``opens``): good credit opens 绿色通道 (the item's shorter promised limit, when one is
configured); 容缺受理 and 告知承诺 are open to good and normal credit; bad credit and 失信联合惩戒 close
them, and the reason (the entries) is told to staff. The window's check at acceptance is kept in the case
file (``CreditCheck``: who looked, when, what it said).
"""
from __future__ import annotations

from datetime import date
from typing import Any, Iterable

from sqlalchemy import or_, select

from .errors import ValidationError
from .models import ApprovalCase, CreditRecord
from .models.reform import CreditCheck, CreditLevel, ReformItemSetting

FALSE_COMMITMENT = "false_commitment"  # 承诺不实 on record: 告知承诺 is closed to the applicant (cases.has_false_commitment)
KINDS = {"false_commitment": "虚假承诺", "supervision_finding": "监管发现", "imported_list": "导入名单",
         "good_record": "守信记录"}
ENTRY_LEVELS = (CreditLevel.GOOD, CreditLevel.BAD, CreditLevel.BLACKLIST)
MAX_IMPORT_ROWS = 10_000
CSV_COLUMNS = ("id_no", "name", "subject_kind", "level", "reason", "source", "date", "expires")
# A credit list's header may name each column by its code or by the Chinese heading of the national credit
# platform's lists; level and subject kind may be written in Chinese too.
CSV_HEADINGS = {"id_no": ("证件号码", "统一社会信用代码", "身份证号码"), "name": ("名称", "姓名", "主体名称"),
                "subject_kind": ("主体类型",), "level": ("信用等级",), "reason": ("原因", "认定原因"),
                "source": ("来源", "认定机关"), "date": ("认定日期", "日期"), "expires": ("到期日", "有效期至")}
LEVEL_WORDS = {CreditLevel.GOOD: CreditLevel.GOOD, CreditLevel.BAD: CreditLevel.BAD,
               CreditLevel.BLACKLIST: CreditLevel.BLACKLIST, "守信": CreditLevel.GOOD, "失信": CreditLevel.BAD,
               "严重失信": CreditLevel.BLACKLIST, "失信联合惩戒": CreditLevel.BLACKLIST}
SUBJECT_WORDS = {"person": "person", "organisation": "organisation", "自然人": "person", "个人": "person",
                 "法人": "organisation", "法人或其他组织": "organisation", "组织": "organisation"}


def today(ctx) -> date:
    from .cases import LOCAL

    return ctx.now.astimezone(LOCAL).date()


def _clauses(id_no: str | None, users: Iterable[str | None]) -> list:
    clauses = [CreditRecord.applicant_id_no == str(id_no).strip()] if id_no and str(id_no).strip() else []
    clauses += [CreditRecord.applicant_user == u for u in dict.fromkeys(users) if u]
    return clauses


def entries_of(session, id_no: str | None, users: Iterable[str | None] = (), on: date | None = None,
               active_only: bool = True) -> list[CreditRecord]:
    """The applicant's entries, newest first (only those not expired on ``on`` when ``active_only``)."""
    clauses = _clauses(id_no, users)
    if not clauses:
        return []
    stmt = select(CreditRecord).where(or_(*clauses))
    if active_only and on is not None:
        stmt = stmt.where(or_(CreditRecord.expires_on.is_(None), CreditRecord.expires_on >= on))
    return list(session.scalars(stmt.order_by(CreditRecord.at.desc(), CreditRecord.id.desc())))


def level_of(entries: Iterable[CreditRecord]) -> str:
    levels = {e.level or CreditLevel.BAD for e in entries}
    for level in (CreditLevel.BLACKLIST, CreditLevel.BAD, CreditLevel.GOOD):
        if level in levels:
            return level
    return CreditLevel.NORMAL


def worse(a: str, b: str) -> str:
    return max(a, b, key=CreditLevel.ORDER.index)


def entry_dict(e: CreditRecord) -> dict[str, Any]:
    return {"id": e.id, "name": e.applicant_name, "id_no": e.applicant_id_no, "user": e.applicant_user,
            "subject_kind": e.subject_kind, "kind": e.kind, "level": e.level or CreditLevel.BAD, "source": e.source,
            "reason": e.note, "case": e.case_id, "at": e.at.isoformat(),
            "expires_on": e.expires_on.isoformat() if e.expires_on else None, "recorded_by": e.recorded_by}


def settings(session, item_code: str) -> ReformItemSetting | None:
    return session.get(ReformItemSetting, item_code)


def opens(session, case: ApprovalCase, item, level: str, entries: list[CreditRecord],
          false_commitment: bool) -> tuple[dict, str | None]:
    """What the level opens for this case's item, and the reason told to staff when something is closed.

    ``false_commitment``: a false commitment (承诺不实) is on record for the applicant, expired or not
    (``cases.has_false_commitment``'s rule): 告知承诺 stays closed to her.
    """
    closed = level in CreditLevel.CLOSING
    setting = settings(session, case.item_code)
    out = {"green_channel": level == CreditLevel.GOOD and bool(setting and setting.green_channel_days),
           "green_channel_days": setting.green_channel_days if setting else None,
           "tolerance": bool(getattr(item, "tolerance_allowed", False)) and not closed,
           "commitment": not closed and not false_commitment}
    reason = None
    if closed:
        reason = "; ".join(f"{KINDS.get(e.kind, e.kind)}: {e.note or '-'} ({e.source or '-'}, "
                           f"{e.at.date().isoformat()})" for e in entries if (e.level or "bad") in CreditLevel.CLOSING)
    return out, reason


def record_check(ctx, case: ApprovalCase, item) -> CreditCheck:
    """The window's credit check, kept in the case file; the case's credit follows the records."""
    on = today(ctx)
    every = entries_of(ctx.session, case.applicant_id_no, (case.applicant_user,), on, active_only=False)
    entries = [e for e in every if e.expires_on is None or e.expires_on >= on]  # entries_of's active rule
    level = level_of(entries)
    if case.applicant_credit in CreditLevel.CLOSING:  # a worse level declared at submission stays
        level = worse(level, case.applicant_credit)
    flags, reason = opens(ctx.session, case, item, level, entries,
                          any(e.kind == FALSE_COMMITMENT for e in every))
    check = CreditCheck(case_id=case.id, checked_by=ctx.actor.id, checked_at=ctx.now, level=level,
                        entries=[entry_dict(e) for e in entries], opens=flags, reason=reason)
    ctx.session.add(check)
    case.applicant_credit = level
    return check


def latest_check(session, case_id: int) -> CreditCheck | None:
    return session.scalars(select(CreditCheck).where(CreditCheck.case_id == case_id)
                           .order_by(CreditCheck.id.desc())).first()


def check_dict(c: CreditCheck | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"id": c.id, "by": c.checked_by, "at": c.checked_at.isoformat(), "level": c.level, "entries": c.entries,
            "opens": c.opens, "reason": c.reason}


def apply_green_channel(ctx, case: ApprovalCase, days: int) -> None:
    """绿色通道: the case watch runs on the item's shorter promised limit."""
    from . import case_clock
    from .models.deadlines import DeadlineWatch, WatchKind

    for watch in ctx.session.scalars(select(DeadlineWatch).where(
            DeadlineWatch.case_id == case.id, DeadlineWatch.kind == WatchKind.CASE, DeadlineWatch.active.is_(True))):
        if days < watch.promised_days:
            watch.promised_days = days
            watch.warning_days = min(watch.warning_days, days)
            case_clock.reschedule(ctx, watch)


# --- entries written by commands ---------------------------------------------------------

def add_entry(ctx, *, name: str, id_no: str | None, user: str | None, subject_kind: str | None, kind: str,
              level: str, reason: str | None, source: str | None, case_id: int | None = None,
              expires_on: date | None = None, at=None) -> CreditRecord:
    if level not in ENTRY_LEVELS:
        raise ValidationError(f"a credit entry's level is one of {', '.join(ENTRY_LEVELS)}")
    row = CreditRecord(applicant_name=name, applicant_id_no=(id_no or None), applicant_user=user,
                       subject_kind=subject_kind, kind=kind, level=level, note=reason, source=source,
                       case_id=case_id, expires_on=expires_on, recorded_by=ctx.actor.id, at=at or ctx.now)
    ctx.session.add(row)
    return row


def _date(text: str, field: str, problems: list[str], line: int) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(f"line {line}: {field} '{text[:20]}' is not a date (YYYY-MM-DD)")
        return None


def parse_csv(text: str) -> list[dict[str, Any]]:
    """The rows of a credit list (CSV with a header naming ``CSV_COLUMNS``); every problem is reported at once."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("the credit list is empty")
    from .tabular import csv_reader

    reader = csv_reader(text, CSV_HEADINGS)
    header = list(reader.fieldnames)
    missing = [c for c in ("id_no", "name", "level", "reason") if c not in header]
    if missing:
        raise ValidationError(f"the credit list needs the columns {', '.join(CSV_COLUMNS)}; missing: "
                              f"{', '.join(missing)}", missing=missing)
    rows, problems = [], []
    for line, raw in enumerate(reader, start=2):
        if line - 1 > MAX_IMPORT_ROWS:
            raise ValidationError(f"the credit list has more than {MAX_IMPORT_ROWS} rows")
        r = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        if not any(r.values()):
            continue
        if not r.get("id_no") or len(r["id_no"]) > 60:
            problems.append(f"line {line}: id_no (ID number or unified social credit code, up to 60) is required")
        if not r.get("name") or len(r["name"]) > 200:
            problems.append(f"line {line}: name (up to 200 characters) is required")
        r["level"] = LEVEL_WORDS.get(r.get("level", ""), r.get("level"))
        if r.get("level") not in ENTRY_LEVELS:
            problems.append(f"line {line}: level must be one of {', '.join(ENTRY_LEVELS)}")
        if not r.get("reason"):
            problems.append(f"line {line}: reason is required")
        kind = SUBJECT_WORDS.get(r.get("subject_kind", ""), r.get("subject_kind")) or ("organisation" if len(r.get("id_no", "")) == 18 and
                                         not r.get("id_no", "")[:17].isdigit() else "person")
        if kind not in ("person", "organisation"):
            problems.append(f"line {line}: subject_kind is person or organisation")
        on = _date(r.get("date", ""), "date", problems, line)
        expires = _date(r.get("expires", ""), "expires", problems, line)
        if len(r.get("source", "")) > 200:
            problems.append(f"line {line}: source is longer than 200 characters")
        rows.append({"id_no": r.get("id_no"), "name": r.get("name"), "subject_kind": kind, "level": r.get("level"),
                     "reason": r.get("reason"), "source": r.get("source") or None, "date": on, "expires": expires})
    if problems:
        raise ValidationError("the credit list has problems: " + "; ".join(problems[:50]), problems=problems[:200])
    if not rows:
        raise ValidationError("the credit list has no rows")
    return rows


def subjects(session, search: str | None = None, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """The entries on record (newest first), optionally for one ID number / code or name prefix; one query."""
    from sqlalchemy import func

    stmt = select(CreditRecord, func.count().over().label("total"))
    if search:
        stmt = stmt.where(or_(CreditRecord.applicant_id_no == search.strip(),
                              CreditRecord.applicant_name.like(search.strip().replace("%", "") + "%")))
    rows = session.execute(stmt.order_by(CreditRecord.at.desc(), CreditRecord.id.desc())
                           .limit(limit).offset(offset)).all()
    return {"items": [entry_dict(r[0]) for r in rows], "total": rows[0].total if rows else 0,
            "limit": limit, "offset": offset}


def profile(session, id_no: str, on: date) -> dict[str, Any]:
    """One applicant's credit: the level today and every entry (expired ones marked)."""
    everything = entries_of(session, id_no, (), on, active_only=False)
    active = [e for e in everything if e.expires_on is None or e.expires_on >= on]
    return {"id_no": id_no, "level": level_of(active),
            "entries": [{**entry_dict(e), "expired": e not in active} for e in everything]}


# --- at the window ----------------------------------------------------------------------

def at_acceptance(ctx, case: ApprovalCase, item) -> int | None:
    """Record the window's check; the 绿色通道 promised limit when good credit opens it, else None."""
    check = record_check(ctx, case, item)
    return check.opens.get("green_channel_days") if check.opens.get("green_channel") else None


def after_acceptance(ctx, case: ApprovalCase, green_days: int | None) -> None:
    if green_days is not None:
        apply_green_channel(ctx, case, green_days)


def gate(ctx, case: ApprovalCase, item, route: str) -> CreditCheck:
    """Record the check and refuse ``route`` (tolerance | commitment) when the credit closes it, saying why."""
    from .errors import InvalidState

    check = record_check(ctx, case, item)
    if check.level in CreditLevel.CLOSING and not check.opens.get(route):
        label = {"tolerance": "容缺受理 (acceptance with missing materials)",
                 "commitment": "告知承诺 (notify-and-commit)"}[route]
        raise InvalidState(f"the applicant's credit is {check.level}: {label} is closed; reason: {check.reason}",
                           refusal="bad_credit", level=check.level, reason=check.reason)
    return check
