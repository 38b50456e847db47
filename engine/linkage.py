"""审管联动: approval linked to supervision (审批与监管分离).

The linkage list (审管联动事项清单) names, per service item, the supervising departments, the liaison who
pushes (approving side) and the one who receives (supervising side), and what is pushed. At acceptance and at
conclusion the approval record is pushed to each supervising department: a row in that department's
supervision inbox, received at once (推送即认领), and an in-app notice and an SMS through the outbox to its
receiving liaison. The department opens it; an unopened push shows in the "pushed, not opened" report. Its
feedback (inspection results, measures, credit findings) goes to the approving office, the case history and,
for a credit finding, the credit record.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import case as sql_case, func, select

from . import cases as _cases  # noqa: F401  (its listeners set the case status first)
from . import lifecycle
from .errors import ValidationError
from .models import ApprovalCase, CaseNotice, Department, ServiceItem, User
from .models.cases import CaseStatus
from .models.reform import ItemLinkage, LinkagePush, SupervisionFeedback

STAGES = ("acceptance", "conclusion")
FEEDBACK_KINDS = ("inspection", "measure", "credit_finding")
FIELDS = ("item_code", "department", "push_liaison", "receive_liaison", "pushed")
# the Chinese headings a CSV of the list may use for each column (engine.tabular)
HEADINGS = {"item_code": ("事项编码",), "department": ("监管部门",), "push_liaison": ("推送联络人",),
            "receive_liaison": ("接收联络人",), "pushed": ("推送内容",)}
AGE_BUCKETS = ((1, "within_1_day"), (3, "1_to_3_days"), (7, "3_to_7_days"))  # calendar days since the push


# --- the linkage list ------------------------------------------------------------------

def validate_rows(session, rows: list[Any]) -> list[dict[str, Any]]:
    """Rows of the list, checked against the catalogue, departments and users; every problem at once."""
    if not isinstance(rows, list) or not rows:
        raise ValidationError("the linkage list is a non-empty list of rows")
    items = set(session.scalars(select(ServiceItem.code)))
    departments = set(session.scalars(select(Department.id)))
    users = set(session.scalars(select(User.id)))
    problems, out, seen = [], [], set()
    for n, raw in enumerate(rows, start=1):
        if not isinstance(raw, dict):
            problems.append(f"row {n}: an object with {', '.join(FIELDS)}")
            continue
        r = {f: (str(raw.get(f)).strip() if raw.get(f) not in (None, "") else None) for f in FIELDS}
        unknown = sorted(set(raw) - set(FIELDS))
        if unknown:
            problems.append(f"row {n}: unknown fields {', '.join(unknown)}")
        if r["item_code"] not in items:
            problems.append(f"row {n}: item_code '{r['item_code']}' is not in the catalogue")
        if r["department"] not in departments:
            problems.append(f"row {n}: department '{r['department']}' is not a known department")
        for who in ("push_liaison", "receive_liaison"):
            if r[who] is not None and r[who] not in users:
                problems.append(f"row {n}: {who} '{r[who]}' is not a user")
        if r["pushed"] and len(r["pushed"]) > 2000:
            problems.append(f"row {n}: pushed is longer than 2000 characters")
        if (r["item_code"], r["department"]) in seen:
            problems.append(f"row {n}: item {r['item_code']} and department {r['department']} appear twice")
        seen.add((r["item_code"], r["department"]))
        out.append(r)
    if problems:
        raise ValidationError("the linkage list has problems: " + "; ".join(problems[:50]), problems=problems[:200])
    return out


def parse(text: str, fmt: str) -> list[Any]:
    from .tabular import read_rows

    return read_rows(text, fmt, "linkage list", HEADINGS)


def rows_dict(rows) -> list[dict[str, Any]]:
    return [{"id": r.id, "item_code": r.item_code, "department": r.department, "push_liaison": r.push_liaison,
             "receive_liaison": r.receive_liaison, "pushed": r.pushed} for r in rows]


def linkage_list(session, item_code: str | None = None) -> list[dict[str, Any]]:
    """The list with item and department names (one query), for the public page, the admin page and export."""
    stmt = (select(ItemLinkage, ServiceItem.name, Department.name)
            .join(ServiceItem, ServiceItem.code == ItemLinkage.item_code, isouter=True)
            .join(Department, Department.id == ItemLinkage.department, isouter=True))
    if item_code:
        stmt = stmt.where(ItemLinkage.item_code == item_code)
    rows = session.execute(stmt.order_by(ItemLinkage.item_code, ItemLinkage.department)).all()
    return [{**rows_dict([r[0]])[0], "item_name": r[1], "department_name": r[2]} for r in rows]


def export(session, fmt: str = "json") -> str:
    rows = [{f: r[f] for f in FIELDS} for r in linkage_list(session)]
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2)
    if fmt != "csv":
        raise ValidationError("format is json or csv")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


# --- pushing -----------------------------------------------------------------------------

def _stage_notice(stage: str) -> str:
    """The kind of notice whose number a push of ``stage`` carries."""
    return "decision" if stage == "conclusion" else "acceptance"


def approval_record(session, case: ApprovalCase, stage: str, notice: CaseNotice | None = None) -> dict[str, Any]:
    """What is pushed: the item, decision document, applicant and contact, address, licence.

    ``notice``: the stage's notice (受理通知书, 行政许可决定书) when the caller has it; else the latest is read.
    """
    item = session.get(ServiceItem, case.item_code)
    decision = notice or session.scalars(select(CaseNotice).where(
        CaseNotice.case_id == case.id, CaseNotice.kind == _stage_notice(stage)).order_by(CaseNotice.id.desc())).first()
    form = case.form or {}
    return {"case_number": case.number, "stage": stage, "item": case.item_code,
            "item_name": item.name if item else None, "item_name_en": item.name_en if item else None,
            "office": case.office_code,
            "status": case.status, "outcome": case.outcome,
            "document": decision.number if decision else None,
            "decision": (decision.content or {}).get("decision") if decision else None,
            "applicant": {"name": case.applicant_name, "kind": case.applicant_kind, "id_no": case.applicant_id_no},
            "contact": form.get("contact") or form.get("phone"), "address": form.get("address"),
            "licence": ((item.result or {}).get("name") if item else None) if case.outcome == "approved" else None,
            "accepted": case.accepted_at.isoformat() if case.accepted_at else None,
            "concluded": case.concluded_at.isoformat() if case.concluded_at else None}


def push_case(ctx, case: ApprovalCase, stage: str) -> list[LinkagePush]:
    """Push the approval record to each supervising department of the item (once per stage)."""
    from .notify import notify_user

    links = list(ctx.session.scalars(select(ItemLinkage).where(ItemLinkage.item_code == case.item_code)
                                     .order_by(ItemLinkage.department)))
    if not links:
        return []
    done = set(ctx.session.scalars(select(LinkagePush.department).where(LinkagePush.case_id == case.id,
                                                                        LinkagePush.stage == stage)))
    record = approval_record(ctx.session, case, stage, ctx.issued_notices.get((case.id, _stage_notice(stage))))
    pushed = []
    for link in links:
        if link.department in done:
            continue
        row = LinkagePush(case_id=case.id, item_code=case.item_code, department=link.department, stage=stage,
                          record={**record, "pushed": link.pushed}, pushed_at=ctx.now, pushed_by=ctx.actor.id,
                          received_at=ctx.now)
        ctx.session.add(row)
        ctx.session.flush()
        pushed.append(row)
        what = "受理" if stage == "acceptance" else "办结"
        text = (f"审管联动：{record['item_name'] or case.item_code} 办件 {case.number} 已{what}，"
                f"申请人 {case.applicant_name}，请登录监管收件箱查看。")
        if link.receive_liaison:
            notify_user(ctx, link.receive_liaison, f"审管联动推送 {case.number}", text,
                        {"push": row.id, "case": case.id, "kind": "linkage_push"}, channels=("in_app", "sms"),
                        kind="linkage_push", params={"case_number": case.number, "stage": stage,
                                                     "item": record["item_name"] or case.item_code,
                                                     "item_en": record.get("item_name_en"),
                                                     "applicant": case.applicant_name})
    return pushed


@lifecycle.listen("moved")
def push_at_conclusion(ctx, running) -> None:
    """A case that reached its conclusion (办结) is pushed to its supervising departments."""
    case_id = (running.instance.mirror or {}).get("case")
    if not case_id or running.instance.status != "completed":
        return
    case = ctx.session.get(ApprovalCase, case_id)
    if case is not None and case.status == CaseStatus.CONCLUDED and case.accepted_at is not None:
        push_case(ctx, case, "conclusion")


# --- reading -----------------------------------------------------------------------------

def push_dict(p: LinkagePush) -> dict[str, Any]:
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return {"id": p.id, "case": p.case_id, "item": p.item_code, "department": p.department, "stage": p.stage,
            "record": p.record, "pushed_at": iso(p.pushed_at), "pushed_by": p.pushed_by,
            "received_at": iso(p.received_at), "opened_at": iso(p.opened_at), "opened_by": p.opened_by,
            "opened": p.opened_at is not None}


def pushes(session, department: str | None = None, opened: bool | None = None, case_id: int | None = None,
           limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """A department's supervision inbox (None: every department), newest first; one query with its total."""
    stmt = select(LinkagePush, func.count().over().label("total"))
    if department is not None:
        stmt = stmt.where(LinkagePush.department == department)
    if opened is not None:
        stmt = stmt.where(LinkagePush.opened_at.is_not(None) if opened else LinkagePush.opened_at.is_(None))
    if case_id is not None:
        stmt = stmt.where(LinkagePush.case_id == case_id)
    rows = session.execute(stmt.order_by(LinkagePush.pushed_at.desc(), LinkagePush.id.desc())
                           .limit(limit).offset(offset)).all()
    return {"items": [push_dict(r[0]) for r in rows], "total": rows[0].total if rows else 0, "limit": limit,
            "offset": offset}


def unopened_report(session, now) -> list[dict[str, Any]]:
    """"Pushed, not opened" by department and age (calendar days since the push): one grouped query."""
    columns = [func.count().label("total"), func.min(LinkagePush.pushed_at).label("oldest")]
    lower = None
    for days, name in AGE_BUCKETS:
        since = now - timedelta(days=days)
        cond = LinkagePush.pushed_at >= since if lower is None else (LinkagePush.pushed_at >= since) & (
            LinkagePush.pushed_at < lower)
        columns.append(func.sum(sql_case((cond, 1), else_=0)).label(name))
        lower = since
    columns.append(func.sum(sql_case((LinkagePush.pushed_at < lower, 1), else_=0)).label("older"))
    rows = session.execute(select(LinkagePush.department, Department.name, *columns)
                           .join(Department, Department.id == LinkagePush.department, isouter=True)
                           .where(LinkagePush.opened_at.is_(None))
                           .group_by(LinkagePush.department, Department.name)
                           .order_by(LinkagePush.department)).all()
    names = [n for _, n in AGE_BUCKETS] + ["older"]
    return [{"department": r.department, "department_name": r.name, "total": r.total,
             "oldest": r.oldest.isoformat() if r.oldest else None, **{n: int(getattr(r, n) or 0) for n in names}}
            for r in rows]


def feedback_dict(f: SupervisionFeedback) -> dict[str, Any]:
    return {"id": f.id, "case": f.case_id, "push": f.push_id, "department": f.department, "kind": f.kind,
            "content": f.content, "measures": f.measures, "credit_record": f.credit_record_id,
            "at": f.at.isoformat(), "by": f.by}


def feedback(session, case_id: int | None = None, department: str | None = None, office: str | None = None,
             limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Feedback newest first: on one case, from one supervising department, or on one approving office's cases."""
    stmt = select(SupervisionFeedback, func.count().over().label("total"))
    if case_id is not None:
        stmt = stmt.where(SupervisionFeedback.case_id == case_id)
    if department is not None:
        stmt = stmt.where(SupervisionFeedback.department == department)
    if office is not None:
        stmt = stmt.join(ApprovalCase, ApprovalCase.id == SupervisionFeedback.case_id).where(
            ApprovalCase.office_code == office)
    rows = session.execute(stmt.order_by(SupervisionFeedback.at.desc(), SupervisionFeedback.id.desc())
                           .limit(limit).offset(offset)).all()
    return {"items": [feedback_dict(r[0]) for r in rows], "total": rows[0].total if rows else 0, "limit": limit,
            "offset": offset}
