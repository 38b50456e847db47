"""Case helpers: numbers, materials on disk, notices, and following the process.

A case's status is read off the process: user tasks and end events may
carry the extension property ``yimen.caseStatus`` (e.g. ``under_review`` on a
review step, ``not_accepted`` on the refusal end event); when such a step
opens, or such an end event is reached, the case takes that status.
"""
from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from . import case_clock, lifecycle
from .db import instance_path
from .errors import NotFound, ValidationError
from .models import (
    ApprovalCase, CaseCounter, CaseMaterial, CaseNotice, CaseOpinion, CreditRecord, HumanTask, TaskStatus,
)
from .models.cases import CaseRating, CaseStatus

LOCAL = ZoneInfo("Asia/Shanghai")
STATUS_PROPERTY = "yimen.caseStatus"
OUTCOME_PROPERTY = "yimen.caseOutcome"    # e.g. "revoked" on the end event of a false commitment
CREDIT_PROPERTY = "yimen.credit"          # a credit record kind written when this end event is reached
MAX_MATERIAL_BYTES = 20 * 1024 * 1024

APPEAL_RIGHTS = (
    # the right to administrative reconsideration (60 days) or a lawsuit (six months)
    "如不服本决定，可在收到本决定书之日起六十日内依法申请行政复议，或者在六个月内依法向人民法院提起行政诉讼。"
)


def next_number(ctx, office_code: str) -> str:
    """``OFFICE-YYYYMMDD-NNNNN``: unique, readable, counted per office and local day."""
    from sqlalchemy.exc import IntegrityError

    day = ctx.now.astimezone(LOCAL).date()
    query = select(CaseCounter).where(CaseCounter.office_code == office_code,
                                      CaseCounter.day == day).with_for_update()
    counter = ctx.session.scalars(query).first()
    if counter is None:
        # The day's first case: two arriving together both find no row. Create it in a savepoint; the one
        # that loses the insert takes the winner's row (locked) instead of failing the application.
        try:
            with ctx.session.begin_nested():
                ctx.session.add(CaseCounter(office_code=office_code, day=day, last=0))
        except IntegrityError:
            pass
        counter = ctx.session.scalars(query.execution_options(populate_existing=True)).one()
    counter.last += 1
    ctx.session.flush()
    return f"{office_code}-{day:%Y%m%d}-{counter.last:05d}"


def notice_number(case: ApprovalCase, kind: str, seq: int) -> str:
    return f"{case.number}-{kind.upper()[:3]}{seq:02d}"


def issue_notice(ctx, case: ApprovalCase, kind: str, content: dict[str, Any]) -> CaseNotice:
    """A written notice to the applicant; it also reaches her (and her agent) as a message (engine.notify)."""
    seq = len(list(ctx.session.scalars(select(CaseNotice.id).where(CaseNotice.case_id == case.id)))) + 1
    notice = CaseNotice(case_id=case.id, kind=kind, number=notice_number(case, kind, seq),
                        content={"case_number": case.number, "date": ctx.now.astimezone(LOCAL).date().isoformat(),
                                 **content},
                        issued_at=ctx.now, issued_by=ctx.actor.id)
    ctx.session.add(notice)
    ctx.issued_notices[(case.id, kind)] = notice
    tell_applicant(ctx, case, NOTICE_TITLES.get(kind, "告知书"), notice_summary(kind, notice.content),
                   {"case": case.id, "notice": notice.number, "kind": kind}, kind=kind,
                   params={**notice.content, **_english_names(ctx, case, notice.content)})
    return notice


NOTICE_TITLES = {
    "acceptance": "受理通知书", "correction": "补正材料通知书", "not_accepted": "不予受理决定书",
    "tolerance": "容缺受理通知书", "special_procedure": "特别程序告知书", "extension": "延长办理期限告知书",
    "terminated": "终止办理告知书", "decision": "行政许可决定书",
    # the licence and the delivery of the result (engine.licences, engine.commands.delivery)
    "licence": "证照已制发", "licence_revoked": "撤销行政许可告知书", "dispatched": "出件通知",
    "delivered": "送达通知", "received": "签收确认",
}


def _day(value: Any) -> str:
    if not value:
        return "-"
    from datetime import datetime as _dt

    return _dt.fromisoformat(str(value)).astimezone(LOCAL).strftime("%Y-%m-%d")


def notice_summary(kind: str, c: dict[str, Any]) -> str:
    """What a notice says, in a sentence or two, for the message that carries it."""
    mark = "（暂定，节假日安排公布后可能调整）" if c.get("provisional") else ""
    if kind == "acceptance":
        text = f"您的申请已于 {c.get('accepted_on')} 受理。"
        if c.get("promised_due"):
            text += f"承诺办结日期 {_day(c['promised_due'])}，法定办结期限 {_day(c.get('legal_due'))}{mark}。"
        return text
    if kind == "correction":
        items = "；".join(f"{i}. {(p.get('material') + '：') if p.get('material') else ''}{p.get('problem')}"
                         for i, p in enumerate(c.get("problems") or [], start=1))
        return f"请一次性补正以下内容后重新提交：{items}。"
    if kind == "not_accepted":
        office = f"；请向 {c['competent_office']} 申请" if c.get("competent_office") else ""
        return f"您的申请不予受理，理由：{c.get('reason')}{office}。{c.get('appeal_rights', '')}"
    if kind == "tolerance":
        return (f"您的申请已容缺受理，请于 {_day(c.get('supplement_due'))}{mark} 前补交："
                f"{'、'.join(c.get('missing') or [])}。")
    if kind == "special_procedure":
        return (f"办件进入特别程序，预计需要 {c.get('expected_working_days')} 个工作日，所需时间不计入办理期限。"
                f"{c.get('reason') or ''}")
    if kind == "extension":
        return f"经负责人批准，办理期限延长 {c.get('working_days')} 个工作日，理由：{c.get('reason')}。"
    if kind == "terminated":
        return f"办件已终止：{c.get('reason')}。{c.get('appeal_rights', '')}"
    if kind == "decision":
        if c.get("decision") == "approved":
            return f"准予行政许可：{c.get('item')}（{c.get('office')}）。"
        return (f"不予行政许可：{c.get('item')}。理由：{c.get('reasons') or '-'}。依据：{c.get('legal_basis') or '-'}。"
                f"{c.get('appeal_rights', '')}")
    if kind == "licence":
        return f"您的证照已制发：{c.get('item')}，证照编号 {c.get('licence')}，有效期至 {c.get('valid_until')}。"
    if kind == "licence_revoked":
        return f"您的行政许可已被撤销（证照编号 {c.get('licence') or '-'}），理由：{c.get('reason')}。"
    if kind == "dispatched":
        if c.get("method") == "post":
            return f"办理结果已寄出：{c.get('carrier') or '快递'}，运单号 {c.get('tracking_no')}，寄往 {c.get('address')}。"
        return f"办理结果已备好，请到 {c.get('office') or '窗口'} 领取。"
    if kind == "delivered":
        return "办理结果已送达。" if c.get("method") == "post" else "办理结果已在窗口交付。"
    if kind == "received":
        return "您已确认签收办理结果。"
    return ""


def tell_applicant(ctx, case: ApprovalCase, subject: str, body: str, payload: dict[str, Any], kind: str | None = None,
                   params: dict[str, Any] | None = None) -> None:
    """Tell the applicant and her agent: in-app, and by e-mail and SMS as each of them chose (engine.notify).

    An applicant without an account (a walk-in, 窗口代录) is told by SMS to the phone on her application.
    ``kind`` and ``params`` let the pages say it in the reader's language (web/notices.py)."""
    from .notify import notify_user, text_to_walk_in

    title = f"办件 {case.number}：{subject}"
    params = {"case_number": case.number, **(params or {})} if kind else None
    for person in dict.fromkeys(p for p in (case.applicant_user, case.agent_user) if p):
        notify_user(ctx, person, title, body, payload, instance_id=case.instance_id, kind=kind, params=params)
    if not case.applicant_user:
        text_to_walk_in(ctx, (case.form or {}).get("phone"), title, body,
                        {**payload, "instance": case.instance_id, "walk_in": True})


def _english_names(ctx, case: ApprovalCase, content: dict[str, Any]) -> dict[str, Any]:
    """The English names a notice's parameters need to be read in the English pages (item, office)."""
    from .models import ServiceItem

    item = ctx.session.get(ServiceItem, case.item_code)
    extra: dict[str, Any] = {}
    if item is not None and getattr(item, "name_en", None):
        extra["item_en"] = item.name_en
    return extra


def _issue_decision(ctx, case: ApprovalCase, status: str) -> None:
    """Arts. 38-39: the decision is written — 准予 or 不予行政许可决定书, the latter with reasons and rights."""
    from .models import ServiceItem

    if ctx.session.scalars(select(CaseNotice.id).where(CaseNotice.case_id == case.id,
                                                       CaseNotice.kind == "decision")).first():
        return
    approved = status == CaseStatus.APPROVED or (status == CaseStatus.CONCLUDED and case.outcome == "approved")
    if status == CaseStatus.CONCLUDED and case.outcome not in ("approved", "not_approved"):
        return
    item = ctx.session.get(ServiceItem, case.item_code)
    content: dict[str, Any] = {"decision": "approved" if approved else "not_approved",
                               "item": item.name if item else case.item_code,
                               "office": item.competent_office if item else None,
                               "legal_basis": item.legal_basis if item else None}
    if not approved:
        reasons = ctx.session.scalars(select(CaseOpinion.text).where(
            CaseOpinion.case_id == case.id, CaseOpinion.decision == "rejected").order_by(CaseOpinion.id.desc())).first()
        content.update({"reasons": reasons, "appeal_rights": APPEAL_RIGHTS})
    from .documents import issue_decision

    written = issue_decision(ctx, case, approved, item, content.get("reasons"))
    content["decision_number"] = written.number
    content["office"] = written.office  # 放权: the authority the decision names (engine.documents.authority_of)
    if written.entrusted:
        content["entrusted_office_name"] = written.entrusted
    if not approved:
        content["appeal_rights"] = written.appeal_rights
    issue_notice(ctx, case, "decision", content)


def record_opinion(ctx, case: ApprovalCase, row: HumanTask | None, decision: str, text: str | None) -> None:
    ctx.session.add(CaseOpinion(case_id=case.id, task_id=row.id if row else None,
                                element_id=row.element_id if row else None, step=row.name if row else None,
                                user_id=ctx.actor.id, decision=decision, text=text, at=ctx.now))


_SAFE_NAME = re.compile(r"[^\w.\-]+", re.UNICODE)


def store_file(case_number: str, filename: str, content: bytes) -> tuple[str, str, int]:
    """Write an uploaded material under the instance folder; returns (path, sha256, size)."""
    if not isinstance(content, (bytes, bytearray)):
        raise ValidationError(f"material file '{filename}' must be bytes")
    if len(content) > MAX_MATERIAL_BYTES:
        raise ValidationError(f"material file '{filename}' is larger than {MAX_MATERIAL_BYTES // (1024 * 1024)} MB",
                              refusal="file_too_large", limit=MAX_MATERIAL_BYTES // (1024 * 1024), file=filename)
    digest = hashlib.sha256(content).hexdigest()
    safe = _SAFE_NAME.sub("_", Path(filename or "file").name)[:120] or "file"
    folder = instance_path() / "materials" / case_number
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest[:16]}-{safe}"
    if not path.exists():
        path.write_bytes(bytes(content))
    return str(path), digest, len(content)


def receive_material(ctx, case: ApprovalCase, material: CaseMaterial, filename: str, content: bytes) -> None:
    path, digest, size = store_file(case.number, filename, content)
    material.filename, material.stored_path, material.sha256, material.size = filename, path, digest, size
    material.status, material.received_at = "received", ctx.now


def load_case(session, case_id: int) -> ApprovalCase:
    case = session.get(ApprovalCase, case_id)
    if case is None:
        raise NotFound(f"case {case_id} does not exist", case_id=case_id, what="case")
    return case


def case_in_session(session, instance_id: int) -> ApprovalCase | None:
    """The case of ``instance_id`` if this transaction has it loaded already (no statement), else None."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, ApprovalCase) and obj.__dict__.get("instance_id") == instance_id:
            return obj
    return None


def case_of_instance(session, instance_id: int) -> ApprovalCase | None:
    """The case a process instance works for: its own instance, or a linked one (延期 request)."""
    case = case_in_session(session, instance_id)
    if case is not None:
        return case
    case = session.scalars(select(ApprovalCase).where(ApprovalCase.instance_id == instance_id)).first()
    if case is not None:
        return case
    from .models import ProcessInstance

    instance = session.get(ProcessInstance, instance_id)
    linked = (instance.mirror or {}).get("extension_of") if instance is not None else None
    return session.get(ApprovalCase, linked) if linked else None


def follow_extension(ctx, running) -> None:
    """When an extension (延期) request is decided, move the case's limit and tell the applicant why."""
    instance = running.instance
    case = ctx.session.get(ApprovalCase, (instance.mirror or {}).get("extension_of"))
    if case is None or instance.status != "completed":
        return
    data = instance.data or {}
    if data.get("approved") is True:
        case.extension_days = int(data.get("days") or 0)
        issue_notice(ctx, case, "extension", {"reason": data.get("reason"), "working_days": case.extension_days,
                                              "approved_by": ctx.actor.id})
        case_clock.follow(ctx, case)


def has_false_commitment(session, case: ApprovalCase) -> bool:
    clauses = []
    if case.applicant_id_no:
        clauses.append(CreditRecord.applicant_id_no == case.applicant_id_no)
    if case.applicant_user:
        clauses.append(CreditRecord.applicant_user == case.applicant_user)
    if not clauses:
        return False
    from sqlalchemy import or_

    return session.scalars(select(CreditRecord.id).where(CreditRecord.kind == "false_commitment",
                                                         or_(*clauses)).limit(1)).first() is not None


@lifecycle.listen("ended")
def follow_end(ctx, running, reason: str | None = None, outcome: str | None = None) -> None:
    """An instance was stopped by a verb: its case ends as that verb says (terminated by default), clock stopped."""
    case_id = (running.instance.mirror or {}).get("case")
    case = ctx.session.get(ApprovalCase, case_id) if case_id else None
    if case is None:
        return
    if case.status not in CaseStatus.FINAL:
        case.status = outcome if outcome in CaseStatus.FINAL else CaseStatus.TERMINATED
    case.concluded_at = case.concluded_at or ctx.now
    case_clock.follow(ctx, case)


@lifecycle.listen("moved")
def follow_process(ctx, running) -> None:
    """Set the case status from the step that just opened or the end event just reached."""
    instance = running.instance
    if not ((instance.mirror or {}).get("case") or (instance.mirror or {}).get("extension_of")):
        return
    if (instance.mirror or {}).get("extension_of"):
        follow_extension(ctx, running)
        return
    case_id = (instance.mirror or {}).get("case")
    if not case_id:
        return
    case = ctx.session.get(ApprovalCase, case_id)
    if case is None or case.status in (CaseStatus.WITHDRAWN, CaseStatus.TERMINATED):
        return
    meta = running.definition.meta
    status, open_steps = None, None
    if instance.status == "completed":
        last = instance.completed_elements[-1] if instance.completed_elements else None
        props = (meta.get(last) or {}).get("properties") or {}
        status = props.get(STATUS_PROPERTY) or CaseStatus.CONCLUDED
        data = instance.data or {}
        if status == CaseStatus.CONCLUDED:
            case.outcome = props.get(OUTCOME_PROPERTY) or ("approved" if data.get("approved") else "not_approved")
            if case.outcome == "revoked":  # 告知承诺 found false: the licence goes with the decision
                from .licences import revoke_for_case

                revoke_for_case(ctx, case, data.get("verification_note") or "承诺不实，依法撤销行政许可")
        if props.get(CREDIT_PROPERTY):
            ctx.session.add(CreditRecord(applicant_name=case.applicant_name, applicant_id_no=case.applicant_id_no,
                                         applicant_user=case.applicant_user, kind=props[CREDIT_PROPERTY],
                                         case_id=case.id, note=data.get("verification_note"), at=ctx.now))
        case.concluded_at = case.concluded_at or ctx.now
    else:
        open_steps = list(ctx.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                                      HumanTask.status == TaskStatus.OPEN)
                                              .order_by(HumanTask.created_at)))
        for row in open_steps:
            status = ((meta.get(row.element_id) or {}).get("properties") or {}).get(STATUS_PROPERTY)
            if status:
                break
    if status and status != case.status and status in (CaseStatus.APPROVED, CaseStatus.NOT_APPROVED,
                                                        CaseStatus.CONCLUDED):
        _issue_decision(ctx, case, status)
    if status and status != case.status:
        if status not in CaseStatus.ALL:
            raise ValidationError(f"diagram sets unknown case status '{status}'")
        case.status = status
    case_clock.follow(ctx, case, open_steps)  # the open steps just read: the clock needs them too


def case_dict(session, case: ApprovalCase) -> dict[str, Any]:
    from . import supervision

    materials = session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case.id).order_by(CaseMaterial.id))
    opinions = list(session.scalars(select(CaseOpinion).where(CaseOpinion.case_id == case.id).order_by(CaseOpinion.id)))
    notices = session.scalars(select(CaseNotice).where(CaseNotice.case_id == case.id).order_by(CaseNotice.id))
    iso = lambda v: v.isoformat() if isinstance(v, datetime) else v  # noqa: E731
    # names, never codes or user ids, for the pages: the item's, the office's, the materials' and the people's
    from .models import Department, User
    from .models.items import ServiceItem

    item, office = session.get(ServiceItem, case.item_code), session.get(Department, case.office_code)
    material_en = {m.get("name"): m.get("name_en") for m in ((item.materials if item else None) or [])
                   if isinstance(m, dict)}
    people = {u.id: u for u in session.scalars(select(User).where(User.id.in_({o.user_id for o in opinions})))}
    step_en = dict(session.execute(select(HumanTask.id, HumanTask.name_en).where(
        HumanTask.id.in_({o.task_id for o in opinions if o.task_id}), HumanTask.name_en.is_not(None))).all())
    people.setdefault("system", User(id="system", display_name="系统", display_name_en="System"))  # automatic steps
    return {
        "id": case.id, "number": case.number, "item": case.item_code, "instance": case.instance_id,
        "item_name": item.name if item else case.item_code, "item_name_en": item.name_en if item else None,
        "office_name": office.name if office else case.office_code, "office_name_en": office.name_en if office else None,
        # 互为受理: the competent office (the item's) and the office of the window that accepted the case
        "competent_office": case.office_code,
        "competent_office_name": case.authority_name or (item.competent_office if item else None)
        or (office.name if office else case.office_code),
        "competent_office_name_en": office.name_en if office else None,
        **_accepting(session, case),
        "route": _route(session, case),
        "status": case.status, "outcome": case.outcome,
        "applicant": {"kind": case.applicant_kind, "name": case.applicant_name, "id_no": case.applicant_id_no,
                      "user": case.applicant_user, "credit": case.applicant_credit},
        "agent": {"name": case.agent_name, "user": case.agent_user} if case.agent_name or case.agent_user else None,
        "submitted": iso(case.submitted_at), "accepted": iso(case.accepted_at), "concluded": iso(case.concluded_at),
        "form": case.form,
        "materials": [{"id": m.id, "name": m.name, "name_en": material_en.get(m.name), "required": m.required, "tolerable": m.tolerable, "status": m.status,
                       "filename": m.filename, "sha256": m.sha256, "size": m.size} for m in materials],
        "opinions": [{"step": o.step, "step_en": step_en.get(o.task_id), "element_id": o.element_id, "user": o.user_id,
                      "user_name": people[o.user_id].display_name or o.user_id if o.user_id in people else o.user_id,
                      "user_name_en": people[o.user_id].display_name_en if o.user_id in people else None,
                      "decision": o.decision,
                      "text": o.text, "at": iso(o.at)} for o in opinions],
        "notices": [{"kind": n.kind, "number": n.number, "content": n.content, "issued_at": iso(n.issued_at),
                     "issued_by": n.issued_by} for n in notices],
        "extension_days": case.extension_days,
        "clock": case_clock.clock_of_case(session, case.id),
        "special_procedures": supervision.procedures(session, case.id),
        "cards": supervision.cards(session, case_id=case.id)["items"],
        "rating": _rating(session, case.id),
        **_results(session, case),
    }


def _route(session, case: ApprovalCase) -> dict[str, Any] | None:
    """放权: the case's region and mode with the offices' names (``engine.levels``); None when not routed."""
    if case.region is None and case.route_mode is None:
        return None
    from .levels import route_of_case

    return route_of_case(session, case.id)


def _accepting(session, case: ApprovalCase) -> dict[str, Any]:
    from .models import Department

    office = session.get(Department, case.accepting_office) if case.accepting_office else None
    return {"accepting_office": case.accepting_office,
            "accepting_office_name": office.name if office else case.accepting_office,
            "accepting_office_name_en": office.name_en if office else None}


def _results(session, case: ApprovalCase) -> dict[str, Any]:
    """The written decision, the licence, the delivery, the commitment and the progress timeline."""
    from . import documents, licences
    from .commands import commitments
    from .delivery import delivery_of_case

    return {"decision": documents.decision_of_case(session, case.id),
            "licence": licences.licence_of_case(session, case.id), "delivery": delivery_of_case(session, case.id),
            "commitment": commitments.pending(session, case), "progress": documents.progress(session, case)}


def _rating(session, case_id: int) -> dict[str, Any] | None:
    rating = session.scalars(select(CaseRating).where(CaseRating.case_id == case_id)).first()
    if rating is None:
        return None
    return {"score": rating.score, "comment": rating.comment, "by": rating.rated_by, "at": rating.rated_at.isoformat()}
