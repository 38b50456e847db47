"""告知承诺 verbs: the applicant signs the commitment online, or the window records her signed paper one.

The commitment step of the notify-and-commit process (form key
``yimen:commitment``) waits for the applicant. She reads the commitment text
(``commitment_text``: the item's conditions and what a false commitment
costs) and signs it with her name on her case's commitment page; a walk-in
applicant signs on paper and window staff record it with the scan. Either
way the text's checksum, the signer and the moment are kept (``Commitment``)
and the step completes with ``committed``.
"""
from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from ..cases import load_case, store_file
from ..context import Ctx, command
from ..errors import InvalidState, PermissionDenied, ValidationError
from ..models import Commitment, HumanTask, ServiceItem, TaskStatus
from .licences import may_act_for_window

COMMITMENT_FORM = "yimen:commitment"


def commitment_text(item_name: str, conditions: str | None, applicant: str) -> str:
    return (f"承诺人{applicant}就申请“{item_name}”郑重承诺：\n"
            f"一、本人（本单位）已知晓行政机关告知的全部许可条件：{conditions or '详见办事指南'}；\n"
            "二、本人（本单位）符合上述条件，所填写的信息和提交的材料真实、准确、完整；\n"
            "三、本人（本单位）愿意接受行政机关的事后核查；\n"
            "四、如有虚假承诺，愿意承担相应法律责任，行政机关可依法撤销行政许可，并将失信信息记入信用记录。")


def _open_step(ctx: Ctx, case) -> HumanTask:
    row = ctx.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == case.instance_id, HumanTask.status == TaskStatus.OPEN,
        HumanTask.form_key == COMMITMENT_FORM)).first()
    if row is None:
        raise InvalidState(f"case {case.number} is not waiting for a commitment (status {case.status})",
                           refusal="wrong_status", status=case.status, case_id=case.id)
    return row


def _text_of(ctx: Ctx, case) -> str:
    item = ctx.session.get(ServiceItem, case.item_code)
    return commitment_text(item.name if item else case.item_code, getattr(item, "acceptance_conditions", None),
                           case.applicant_name)


def pending(session, case) -> dict[str, Any] | None:
    """The commitment she is asked to sign (text and whether it is waiting), or None for another process."""
    row = session.scalars(select(HumanTask.id).where(
        HumanTask.instance_id == case.instance_id, HumanTask.status == TaskStatus.OPEN,
        HumanTask.form_key == COMMITMENT_FORM)).first()
    signed = session.scalars(select(Commitment).where(Commitment.case_id == case.id)).first()
    if row is None and signed is None:
        return None
    item = session.get(ServiceItem, case.item_code)
    text = commitment_text(item.name if item else case.item_code, getattr(item, "acceptance_conditions", None),
                           case.applicant_name)
    out: dict[str, Any] = {"text": text, "waiting": row is not None, "signed": None}
    if signed is not None:
        out["signed"] = {"mode": signed.mode, "signer_name": signed.signer_name, "at": signed.signed_at.isoformat(),
                         "scan": signed.scan_filename}
    return out


def _finish(ctx: Ctx, case, row: HumanTask, commitment: Commitment) -> dict[str, Any]:
    from ..completion import finish_step

    ctx.session.add(commitment)
    finish_step(ctx, row, {"committed": True, "commitment_mode": commitment.mode}, case=case,
                decision="committed", opinion=f"{commitment.signer_name}（{commitment.mode}）")
    ctx.audit.instance_id, ctx.audit.task_id = case.instance_id, row.id
    ctx.audit.data = {"case": case.number, "mode": commitment.mode, "signer": commitment.signer_name,
                      "text_sha256": commitment.text_sha256, "scan_sha256": commitment.scan_sha256}
    return {"case": case.id, "status": case.status, "mode": commitment.mode}


def _signer(name: str | None, case) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError("the commitment is signed with the applicant's name", field="signer_name",
                              refusal="required")
    if name != case.applicant_name.strip():
        raise ValidationError("the name signed must be the applicant's name on the application",
                              field="signer_name", refusal="signer_mismatch")
    return name


@command("commitment.sign")
def sign(ctx: Ctx, case_id: int, agree: bool, signer_name: str) -> dict[str, Any]:
    """She read the commitment and signs it online with her name."""
    case = load_case(ctx.session, case_id)
    if not ctx.actor.is_admin and ctx.actor.id not in (case.applicant_user, case.agent_user):
        raise PermissionDenied(f"user '{ctx.actor.id}' is neither the applicant nor her agent",
                               refusal="not_applicant", case_id=case.id)
    row = _open_step(ctx, case)
    if agree is not True:
        raise ValidationError("tick that you have read and accept the commitment", field="agree",
                              refusal="required")
    name = _signer(signer_name, case)
    text = _text_of(ctx, case)
    commitment = Commitment(case_id=case.id, mode="online", text_sha256=hashlib.sha256(text.encode()).hexdigest(),
                            signer_name=name, signed_by=ctx.actor.id, signed_at=ctx.now)
    return _finish(ctx, case, row, commitment)


@command("commitment.record_paper")
def record_paper(ctx: Ctx, case_id: int, signer_name: str, filename: str, content: bytes) -> dict[str, Any]:
    """Window staff record the paper commitment a walk-in applicant signed, with its scan."""
    may_act_for_window(ctx, "record paper commitments", case_id)
    case = load_case(ctx.session, case_id)
    row = _open_step(ctx, case)
    name = _signer(signer_name, case)
    if not content:
        raise ValidationError("attach the scan of the signed commitment", field="scan", refusal="required")
    path, digest, _ = store_file(case.number, filename or "commitment.pdf", content)
    text = _text_of(ctx, case)
    commitment = Commitment(case_id=case.id, mode="paper", text_sha256=hashlib.sha256(text.encode()).hexdigest(),
                            signer_name=name, signed_by=ctx.actor.id, signed_at=ctx.now,
                            scan_filename=(filename or "commitment.pdf")[:255], scan_path=path, scan_sha256=digest)
    return _finish(ctx, case, row, commitment)
