"""否定备案: every negative outcome is filed with its reason for the supervision office to review.

Filed by themselves when they happen: 不予受理 (the case ends not accepted), 不予许可 (concluded, not
approved), a case terminated (returned: 退件, or 容缺 materials that never came), and a withdrawal the applicant
made at staff's suggestion (the withdrawal says so). The supervisor confirms the outcome, or reopens it: the
application is then handled again as a new case at the window, with the same applicant, form and materials,
and the filing names that case.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from . import cases as _cases  # noqa: F401  (its listeners set the case status first)
from . import lifecycle
from .cases import load_case, tell_applicant
from .context import Ctx, command
from .errors import InvalidState, PermissionDenied, ValidationError
from .models import ApprovalCase, CaseMaterial, CaseNotice, CaseOpinion
from .models.cases import CaseStatus
from .models.reform import FilingStatus, NegativeFiling

OUTCOMES = ("not_accepted", "not_approved", "withdrawn", "terminated")
MAX_NOTE = 2000


def file_case(ctx, case: ApprovalCase, outcome: str, reason: str | None) -> NegativeFiling | None:
    """File one negative outcome of a case (once per outcome) and tell the supervisors."""
    if ctx.session.scalars(select(NegativeFiling.id).where(NegativeFiling.case_id == case.id,
                                                           NegativeFiling.outcome == outcome)).first():
        return None
    row = NegativeFiling(case_id=case.id, department=case.office_code, outcome=outcome, reason=reason,
                         filed_at=ctx.now, filed_by=ctx.actor.id, status=FilingStatus.FILED)
    ctx.session.add(row)
    ctx.session.flush()
    from .commands.deadlines import supervisors
    from .notify import notify_user

    for user in supervisors(ctx.session):
        notify_user(ctx, user, f"否定备案 办件 {case.number}", reason or "-",
                    {"filing": row.id, "case": case.id, "kind": "negative_filing"}, instance_id=case.instance_id,
                    channels=("in_app",), kind="negative_filing",
                    params={"case_number": case.number, "reason": reason or "-"})
    return row


def _reason(session, case: ApprovalCase, decisions: tuple[str, ...]) -> str | None:
    return session.scalars(select(CaseOpinion.text).where(CaseOpinion.case_id == case.id,
                                                          CaseOpinion.decision.in_(decisions))
                           .order_by(CaseOpinion.id.desc())).first()


@lifecycle.listen("moved")
def file_at_end(ctx, running) -> None:
    case_id = (running.instance.mirror or {}).get("case")
    if not case_id or running.instance.status != "completed":
        return
    case = ctx.session.get(ApprovalCase, case_id)
    if case is None:
        return
    if case.status == CaseStatus.NOT_ACCEPTED:
        file_case(ctx, case, "not_accepted", _reason(ctx.session, case, ("not_accepted",)))
    elif case.status == CaseStatus.CONCLUDED and case.outcome == "not_approved":
        file_case(ctx, case, "not_approved", _reason(ctx.session, case, ("rejected",)))
    elif case.status == CaseStatus.TERMINATED:
        file_case(ctx, case, "terminated", (running.instance.data or {}).get("termination_reason"))


@lifecycle.listen("ended")
def file_when_stopped(ctx, running, reason: str | None = None, outcome: str | None = None) -> None:
    case_id = (running.instance.mirror or {}).get("case")
    case = ctx.session.get(ApprovalCase, case_id) if case_id else None
    if case is not None and case.status == CaseStatus.TERMINATED:
        file_case(ctx, case, "terminated", reason)


# --- reading -----------------------------------------------------------------------------

def filing_dict(f: NegativeFiling, number: str | None = None, item: str | None = None,
                applicant: str | None = None) -> dict[str, Any]:
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return {"id": f.id, "case": f.case_id, "number": number, "item": item, "applicant": applicant,
            "department": f.department, "outcome": f.outcome, "reason": f.reason, "filed_at": iso(f.filed_at),
            "filed_by": f.filed_by, "status": f.status, "decided_by": f.decided_by, "decided_at": iso(f.decided_at),
            "note": f.note, "reopened_case": f.reopened_case_id}


def filings(session, status: str | None = None, department: str | None = None, case_id: int | None = None,
            limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Filings newest first with their case's number, item and applicant; one query with its total."""
    stmt = (select(NegativeFiling, ApprovalCase.number, ApprovalCase.item_code, ApprovalCase.applicant_name,
                   func.count().over().label("total"))
            .join(ApprovalCase, ApprovalCase.id == NegativeFiling.case_id))
    if status:
        stmt = stmt.where(NegativeFiling.status == status)
    if department:
        stmt = stmt.where(NegativeFiling.department == department)
    if case_id is not None:
        stmt = stmt.where(NegativeFiling.case_id == case_id)
    rows = session.execute(stmt.order_by(NegativeFiling.filed_at.desc(), NegativeFiling.id.desc())
                           .limit(limit).offset(offset)).all()
    return {"items": [filing_dict(r[0], r[1], r[2], r[3]) for r in rows], "total": rows[0].total if rows else 0,
            "limit": limit, "offset": offset}


# --- verbs -------------------------------------------------------------------------------

def _filed(ctx: Ctx, filing_id: int, note: str | None, need_note: bool) -> NegativeFiling:
    from .commands.supervision import is_supervisor

    if not is_supervisor(ctx):
        raise PermissionDenied(f"user '{ctx.actor.id}' is not a supervisor and may not review a negative filing")
    note = (note or "").strip() or None
    if need_note and not note:
        raise ValidationError("reopening needs the reason the outcome does not stand", field="note")
    if note and len(note) > MAX_NOTE:
        raise ValidationError(f"the note is at most {MAX_NOTE} characters", field="note")
    row = ctx.session.scalars(select(NegativeFiling).where(NegativeFiling.id == filing_id).with_for_update()).first()
    if row is None:
        from .errors import NotFound

        raise NotFound(f"negative filing {filing_id} does not exist", what="filing")
    if row.status != FilingStatus.FILED:
        raise InvalidState(f"negative filing {filing_id} was already {row.status}", status=row.status)
    row.decided_by, row.decided_at, row.note = ctx.actor.id, ctx.now, note
    return row


@command("filing.confirm")
def confirm(ctx: Ctx, filing_id: int, note: str | None = None) -> dict:
    """The supervision office confirms the negative outcome (备案确认)."""
    row = _filed(ctx, filing_id, note, need_note=False)
    row.status = FilingStatus.CONFIRMED
    case = ctx.session.get(ApprovalCase, row.case_id)
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"filing": row.id, "case": case.number, "outcome": row.outcome, "note": row.note}
    return filing_dict(row, case.number, case.item_code, case.applicant_name)


@command("filing.reopen")
def reopen(ctx: Ctx, filing_id: int, note: str) -> dict:
    """The outcome does not stand: the application is handled again as a new case at the window."""
    from .commands.cases import submit

    row = _filed(ctx, filing_id, note, need_note=True)
    case = load_case(ctx.session, row.case_id)
    materials = []
    for m in ctx.session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case.id,
                                                            CaseMaterial.status == "received")):
        if m.stored_path and Path(m.stored_path).exists():
            materials.append({"name": m.name, "filename": m.filename or m.name,
                              "content": Path(m.stored_path).read_bytes()})
    applicant = {"name": case.applicant_name, "kind": case.applicant_kind, "id_no": case.applicant_id_no,
                 "user": case.applicant_user}
    agent = {"name": case.agent_name, "user": case.agent_user} if case.agent_name or case.agent_user else None
    # the application itself, as a new case (the same path as applying; this command writes the one event)
    again = submit.__wrapped__(ctx, item_code=case.item_code, applicant=applicant, materials=materials,
                               form=dict(case.form or {}), agent=agent)
    row.status, row.reopened_case_id = FilingStatus.REOPENED, again["case"]
    tell_applicant(ctx, case, "否定备案复查", f"经监察复查，办件 {case.number} 的处理结果不予维持，"
                   f"您的申请已重新办理，新办件编号 {again['number']}。理由：{row.note}",
                   {"case": case.id, "reopened": again["case"], "kind": "filing_reopened"},
                   kind="filing_reopened", params={"new_number": again["number"], "note": row.note})
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"filing": row.id, "case": case.number, "outcome": row.outcome, "note": row.note,
                      "reopened_case": again["number"]}
    return {**filing_dict(row, case.number, case.item_code, case.applicant_name), "reopened_number": again["number"]}


__all__ = ["file_case", "filings", "confirm", "reopen", "OUTCOMES", "CaseNotice"]
