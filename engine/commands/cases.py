"""Case verbs: apply, and the window's decisions — accept (受理), not accept (不予受理),
request correction (补正), accept with missing materials (容缺受理) — plus opinions
on review steps, supplements, the applicant's withdrawal and termination.

Window verbs act on the case's open acceptance task (form key
``yimen:accept``) and complete it with the data the diagram branches on
(``acceptance``: accepted | not_accepted | correction).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .. import case_clock, definitions, runtime, validation, submissions
from ..assignment import check_data, may_work_on, refuse
from ..cases import (
    APPEAL_RIGHTS, LOCAL, case_dict, case_of_instance, tell_applicant, has_false_commitment, issue_notice, load_case, next_number, receive_material,
    record_opinion,
)
from ..context import Ctx, command
from ..errors import InvalidState, NotFound, PermissionDenied, ValidationError
from ..models import ApprovalCase, CaseMaterial, CaseNotice, HumanTask, InstanceStatus, ProcessInstance, TaskStatus
from ..models.cases import CaseStatus

ACCEPT_FORM = "yimen:accept"
CORRECTION_FORM = "yimen:correction"  # the applicant's step after a correction notice (补正)
COMMITMENT_PROCESS = "notify_commit"
EXTENSION_PROCESS = "extension"
SUPPLEMENTED = "materials_supplemented"  # the message a diagram waits for until 容缺 materials arrive
MAX_SUPPLEMENT_DAYS = 20


def _item(ctx: Ctx, code: str):
    from ..items import get_item

    return get_item(ctx.session, code)


def _item_materials(item) -> dict[str, dict]:
    return {m["name"]: m for m in (item.materials or [])}


@command("case.submit")
def submit(ctx: Ctx, item_code: str, applicant: dict[str, Any], materials: list[dict[str, Any]] | None = None,
           form: dict[str, Any] | None = None, agent: dict[str, Any] | None = None,
           idempotency_key: str | None = None, online: bool = False, region: str | None = None) -> dict:
    """An application (申请) for a service item: the case, its materials, and the started process.

    ``online`` (网上申报: the applicant's own page) checks the whole application first — ID or credit code check
    digits, phone, every required material that may not follow — and refuses with every problem at once
    (``engine.validation``).

    With ``idempotency_key``, a repeat of the same application by the same caller answers with the first case
    (``replayed``) instead of making a second one (``engine.submissions``).

    ``region`` (放权): the applicant's county or development zone, by its department; ``engine.levels.route``
    decides the handling office, the authority named on the documents and, for 审核转报, the approving office."""
    form = check_data(form)
    _check_sizes(applicant, agent, form, materials)
    reserved = None
    if idempotency_key is not None:
        reserved, earlier = submissions.reserve(ctx, submissions.check_key(idempotency_key),
                                                submissions.fingerprint(item_code, applicant, agent, form, materials,
                                                                        region))
        if earlier is not None:
            case = ctx.session.get(ApprovalCase, earlier)
            ctx.audit.instance_id = case.instance_id
            ctx.audit.data = {"case": case.number, "replayed": True}
            return {"case": case.id, "number": case.number, "instance": case.instance_id, "status": case.status,
                    "replayed": True}
    phone = str((applicant or {}).get("phone") or "").strip() if isinstance(applicant, dict) else ""
    if phone and not form.get("phone"):
        form = {**form, "phone": phone}  # the phone on the application: a walk-in applicant is told by SMS there
    item = _item(ctx, item_code)
    if not item.enabled:
        raise InvalidState(f"service item {item_code} is not open for applications", refusal="item_closed")
    if not isinstance(applicant, dict) or not str(applicant.get("name") or "").strip():
        raise ValidationError("the applicant needs a name", refusal="required", field="applicant_name")
    if online:
        validation.refuse_invalid(applicant, materials, item.materials or [])
    kind = applicant.get("kind", "person")
    if kind not in ("person", "organisation"):
        raise ValidationError("applicant kind must be 'person' or 'organisation'")
    authorisation = None
    if agent and agent.get("user"):
        # 代办: only under the applicant's recorded authorisation (委托书) for this item, in force today
        from ..agents import authorisation_for

        authorisation = authorisation_for(ctx.session, agent["user"], applicant.get("id_no"), item_code,
                                          ctx.now.astimezone(LOCAL).date())
    known = _item_materials(item)
    given: dict[str, dict] = {}
    for entry in materials or []:
        name = entry.get("name")
        if name not in known:
            raise ValidationError(f"'{name}' is not a material of item {item_code}; expected one of {sorted(known)}",
                                  refusal="not_a_material", materials=[str(name)])
        if name in given:
            raise ValidationError(f"material '{name}' is given twice", refusal="material_twice", materials=[name])
        given[name] = entry
    from .. import levels

    way = levels.route(ctx.session, item, region)  # 放权: where the case goes and whose name its documents carry
    number = next_number(ctx, way.office_code)
    definition = definitions.latest(ctx.session, item.process_key, item.process_version)
    # "applicant" is whoever follows the case online: the applicant's account, else their agent's (代办员)
    data = {**form, "case_number": number, "item_code": item_code,
            "applicant": applicant.get("user") or (agent or {}).get("user"), "applicant_name": applicant["name"]}
    if getattr(item, "departments", None):
        # 并联审批: the departments that review and what a rejection by one of them means
        data["departments"] = list(item.departments)
        data["department_rejection"] = getattr(item, "department_rejection", None) or "reject_case"
    if item.verification_days:
        # 告知承诺: the diagram dates the post-approval verification (核查) from this
        data["verification_days"] = item.verification_days
    if agent and agent.get("user"):
        data["agent"] = agent["user"]
    if way.region is not None:
        data["route"] = way.as_dict()
    if way.approving_office:
        data["approving_office"] = way.approving_office  # 审核转报: the conclude step belongs to that office
    # The case exists before the process starts so the first step can already set its status.
    running = runtime.start_deferred(ctx, definition.id, data, business_key=number)
    case = ApprovalCase(number=number, item_code=item_code, instance_id=running.instance.id,
                        office_code=way.office_code, region=way.region, route_mode=way.mode,
                        authority_office=way.authority_office, authority_name=way.authority_name,
                        entrusted_office=way.entrusted_office, approving_office=way.approving_office,
                        applicant_kind=kind, applicant_name=applicant["name"],
                        applicant_id_no=applicant.get("id_no"), applicant_user=applicant.get("user"),
                        applicant_credit=_credit(ctx, applicant, agent),
                        agent_name=(agent or {}).get("name"), agent_user=(agent or {}).get("user"),
                        status=CaseStatus.SUBMITTED, submitted_at=ctx.now, form=form)
    ctx.session.add(case)
    ctx.session.flush()
    submissions.bind(ctx, reserved, case.id)
    if definition.key == COMMITMENT_PROCESS and kind == "person" and not str(applicant.get("id_no") or "").strip():
        raise ValidationError("notify-and-commit (告知承诺) needs the applicant's ID number: the commitment and the "
                              "credit check are tied to it", refusal="required", field="id_no")
    if definition.key == COMMITMENT_PROCESS and (case.applicant_credit in ("bad", "blacklist")
                                                 or has_false_commitment(ctx.session, case)):
        raise InvalidState("applicants with bad credit or an earlier false commitment cannot use notify-and-commit "
                           "(告知承诺); apply through the standard procedure", refusal="bad_credit")
    for name, spec in known.items():
        material = CaseMaterial(case_id=case.id, name=name, required=bool(spec.get("required", True)),
                                tolerable=bool(spec.get("tolerable", False)), status="missing")
        ctx.session.add(material)
        if name in given:
            receive_material(ctx, case, material, given[name].get("filename") or name, given[name].get("content", b""))
    running.instance.mirror = {**(running.instance.mirror or {}), "case": case.id}
    runtime.advance(ctx, running)
    tell_applicant(ctx, case, "收件回执", f"已收到您的申请（{item.name}），办件编号 {number}。"
                   "窗口将在 5 个工作日内作出受理、不予受理或一次性告知补正的决定。",
                   {"case": case.id, "kind": "receipt"}, kind="receipt",
                   params={"item": item.name, "item_en": getattr(item, "name_en", None)})
    ctx.audit.instance_id = running.instance.id
    ctx.audit.data = {"case": number, "item": item_code, "applicant": applicant["name"],
                      "materials": sorted(given)}
    if way.region is not None:
        ctx.audit.data["route"] = {"region": way.region, "mode": way.mode, "office": way.office_code}
    if authorisation is not None:
        ctx.audit.data["authorisation"] = authorisation.id
    return {"case": case.id, "number": number, "instance": running.instance.id, "status": case.status}


# Bounds on what an application may carry (an applicant's data must not fill the database or the pages).
MAX_NAME = 200          # characters of a name (applicant, agent, material file)
MAX_ID_NO = 60
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_KEYS = 200
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILES = 50


def _check_sizes(applicant: Any, agent: Any, form: dict[str, Any], materials: Any) -> None:
    import json

    problems = []
    for who, person in (("applicant", applicant), ("agent", agent)):
        if isinstance(person, dict):
            if len(str(person.get("name") or "")) > MAX_NAME:
                problems.append(f"the {who}'s name is longer than {MAX_NAME} characters")
            if len(str(person.get("id_no") or "")) > MAX_ID_NO:
                problems.append(f"the {who}'s ID number is longer than {MAX_ID_NO} characters")
    if len(form) > MAX_FORM_KEYS:
        problems.append(f"the form has more than {MAX_FORM_KEYS} fields")
    elif len(json.dumps(form, ensure_ascii=False, default=str).encode("utf-8")) > MAX_FORM_BYTES:
        problems.append(f"the form is larger than {MAX_FORM_BYTES // 1024} KB")
    if materials is not None and not isinstance(materials, list):
        problems.append("materials must be a list")
    elif materials:
        if len(materials) > MAX_FILES:
            problems.append(f"more than {MAX_FILES} files")
        for entry in materials:
            if not isinstance(entry, dict):
                problems.append("each material is an object with a name, a file name and its content")
                break
            if len(str(entry.get("filename") or "")) > MAX_NAME:
                problems.append(f"a file name is longer than {MAX_NAME} characters")
            if len(entry.get("content") or b"") > MAX_FILE_BYTES:
                problems.append(f"file '{str(entry.get('filename'))[:60]}' is larger than "
                                f"{MAX_FILE_BYTES // (1024 * 1024)} MB")
    if problems:
        raise ValidationError("the application is too large: " + "; ".join(problems), problems=problems)


CREDIT_ORDER = ("good", "normal", "bad")


def _credit(ctx: Ctx, applicant: dict[str, Any], agent: dict[str, Any] | None) -> str:
    """The applicant's credit (信用) at submission: the records decide, never the request body alone.

    A false commitment on record (by ID number, the applicant's or the agent's account) makes it bad; a
    declared level can only make it worse, except that window staff (who checked the credit system) may
    record a good one.
    """
    from sqlalchemy import or_

    from ..models import CreditRecord

    declared = applicant.get("credit", "normal")
    if declared not in CREDIT_ORDER:
        raise ValidationError(f"credit must be one of {', '.join(CREDIT_ORDER)}")
    if declared == "good" and not (ctx.actor.is_admin or WINDOW_GROUP in ctx.groups()):
        declared = "normal"
    from .. import credit

    # The records (engine.credit) are the source; a declaration can only make the level worse (issue 16).
    recorded = credit.level_of(credit.entries_of(ctx.session, applicant.get("id_no"), (
        applicant.get("user"), (agent or {}).get("user")), credit.today(ctx)))
    return credit.worse(recorded, declared) if declared == "bad" else recorded


def _window_task(ctx: Ctx, case: ApprovalCase) -> HumanTask:
    from ..bundles import refuse_member_verb

    refuse_member_verb(ctx.session, case, "decide on its acceptance")  # 一件事: the bundle is accepted once
    row = ctx.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == case.instance_id, HumanTask.status == TaskStatus.OPEN,
        HumanTask.form_key == ACCEPT_FORM)).first()
    if row is None:
        raise InvalidState(f"case {case.number} is not waiting for an acceptance decision (status {case.status})",
                           refusal="wrong_status", status=case.status)
    if not may_work_on(ctx.actor, ctx.groups(), row.assignee, row.candidate_users, row.candidate_groups):
        raise refuse(ctx.actor, "decide on acceptance", row.id)
    if row.delegation == "pending":
        raise InvalidState(f"the acceptance step of case {case.number} is delegated to '{row.assignee}': the "
                           f"delegate gives an opinion (decide), and '{row.owner}' decides on acceptance",
                           task_id=row.id, refusal="delegated")
    return row


def _complete(ctx: Ctx, row: HumanTask, data: dict[str, Any]) -> dict[str, Any]:
    """The window's and the applicant's steps finish on the one engine path (``engine.completion``)."""
    from ..completion import finish_step

    return finish_step(ctx, row, data)


@command("case.accept")
def accept(ctx: Ctx, case_id: int, opinion: str | None = None) -> dict:
    case = load_case(ctx.session, case_id)
    row = _window_task(ctx, case)
    missing = [m.name for m in _materials(ctx, case) if m.required and m.status != "received"]
    if missing:
        raise InvalidState(f"required materials are missing: {', '.join(missing)}; request a correction (补正) "
                           "or accept with missing materials (容缺受理) if the item allows it", missing=missing,
                           refusal="materials_missing", materials=missing)
    return accept_case(ctx, case, row, opinion, ctx.now, "accepted")


def accept_case(ctx: Ctx, case: ApprovalCase, row: HumanTask, opinion: str | None, as_of, decision: str) -> dict:
    """Accept as of a moment: now at the window, or the receipt day when the law deems it accepted (Art. 32)."""
    from .. import credit, linkage

    # Nothing read here depends on the case's new acceptance date, office or credit: one UPDATE of the case
    # carries them (with autoflush each would go out before the next read, a version bump each).
    with ctx.session.no_autoflush:
        case.accepted_at = as_of
        item = _item(ctx, case.item_code)
        green = credit.at_acceptance(ctx, case, item)  # the window's credit check, kept in the case file
        told = {"office": item.competent_office, "item": item.name, **_accepting_office(ctx, case, item),
                "accepted_on": as_of.astimezone(LOCAL).date().isoformat(), **_limits_told(ctx, item, as_of, green)}
    notice = issue_notice(ctx, case, "acceptance", told)
    record_opinion(ctx, case, row, decision, opinion)
    _complete(ctx, row, {"acceptance": "accepted"})
    credit.after_acceptance(ctx, case, green)
    linkage.push_case(ctx, case, "acceptance")  # 审管联动
    ctx.audit.instance_id, ctx.audit.task_id = case.instance_id, row.id
    ctx.audit.data = {"case": case.number, "notice": notice.number}
    return {"case": case.id, "status": case.status, "notice": notice.number}


def _accepting_office(ctx: Ctx, case: ApprovalCase, item) -> dict[str, Any]:
    """互为受理: any window accepts any item; the case keeps the accepting window's office (the acting user's
    department; none when the law deems the case accepted) and the notice names it beside the competent office."""
    from ..models import Department

    case.accepting_office = ctx.department()
    office = ctx.session.get(Department, case.accepting_office) if case.accepting_office else None
    out = {"competent_office_code": item.office_code or case.office_code, "accepting_office": case.accepting_office,
           "accepting_office_name": office.name if office else None,
           "accepting_office_name_en": office.name_en if office else None}
    if case.route_mode:  # 放权: the notice names the authority, the handling office and any entrusted organ
        from ..documents import authority_of

        authority, name, entrusted = authority_of(ctx.session, case, item)
        handling = ctx.session.get(Department, case.office_code)
        out.update({"office": name, "competent_office_code": authority, "route_mode": case.route_mode,
                    "handling_office_name": handling.name if handling else None, "entrusted_office_name": entrusted})
    return out


def _limits_told(ctx: Ctx, item, as_of, green_days: int | None = None) -> dict[str, Any]:
    """What the acceptance notice tells of the time limits: the working days and the dates they end on.

    A date counted through a year whose official schedule is not entered yet is marked provisional (暂定).
    """
    cal = case_clock.working_calendar(ctx)
    out: dict[str, Any] = {"promised_days": item.promised_limit_days, "legal_days": item.legal_limit_days}
    if green_days is not None:  # 绿色通道: good credit, the item's shorter promised limit
        out.update({"promised_days": green_days, "green_channel": True})
    promised = cal.deadline(as_of, out["promised_days"])
    out["promised_due"] = promised.isoformat()
    provisional = cal.is_provisional(promised, as_of)
    if item.legal_limit_days is not None:
        legal = cal.deadline(as_of, item.legal_limit_days)
        out["legal_due"] = legal.isoformat()
        provisional = provisional or cal.is_provisional(legal, as_of)
    out["provisional"] = provisional
    return out


@command("case.not_accept")
def not_accept(ctx: Ctx, case_id: int, reason: str, competent_office: str | None = None) -> dict:
    if not reason or not reason.strip():
        raise ValidationError("not accepting (不予受理) needs the reason", refusal="required", field="reason")
    case = load_case(ctx.session, case_id)
    row = _window_task(ctx, case)
    content = {"reason": reason, "appeal_rights": APPEAL_RIGHTS}
    if competent_office:
        content["competent_office"] = competent_office
    notice = issue_notice(ctx, case, "not_accepted", content)
    record_opinion(ctx, case, row, "not_accepted", reason)
    _complete(ctx, row, {"acceptance": "not_accepted", "not_accepted_reason": reason})
    ctx.audit.instance_id, ctx.audit.task_id = case.instance_id, row.id
    ctx.audit.data = {"case": case.number, "reason": reason, "notice": notice.number}
    return {"case": case.id, "status": case.status, "notice": notice.number}


def _materials(ctx: Ctx, case: ApprovalCase) -> list[CaseMaterial]:
    return list(ctx.session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case.id)
                                    .order_by(CaseMaterial.id)))


@command("case.request_correction")
def request_correction(ctx: Ctx, case_id: int, problems: list[dict[str, str]],
                       second_notice_reason: str | None = None) -> dict:
    """补正: one notice listing everything missing or wrong (一次性告知); the case waits for the applicant.

    The notice always lists every required material still missing (the engine adds any the staff left out),
    so nothing can be asked for later that was missing now. A second notice on the same case needs the reason
    the first could not have named it (for example a material the resubmission itself introduced); the reason
    is part of the notice and of the case's opinions, for the supervisor to see.
    """
    if not problems or not all(isinstance(p, dict) and str(p.get("problem") or "").strip() for p in problems):
        raise ValidationError("a correction notice lists at least one problem, each with a 'problem' text",
                              refusal="required", field="problems")
    case = load_case(ctx.session, case_id)
    row = _window_task(ctx, case)
    materials = _materials(ctx, case)
    names = {m.name for m in materials}
    for p in problems:
        if p.get("material") and p["material"] not in names:
            raise ValidationError(f"'{p['material']}' is not a material of this case", refusal="not_a_material",
                                  materials=[str(p['material'])])
    earlier = ctx.session.scalars(select(CaseNotice.number).where(CaseNotice.case_id == case.id,
                                                                  CaseNotice.kind == "correction")).first()
    reason = (second_notice_reason or "").strip()
    if earlier and not reason:
        raise InvalidState(f"case {case.number} already had its one-time correction notice ({earlier}); a second "
                           "one needs the reason the first could not have named these problems "
                           "(second_notice_reason)", notice=earlier, refusal="correction_already_sent")
    problems = [dict(p) for p in problems]
    listed = {p.get("material") for p in problems} | {
        m.name for m in materials for p in problems if m.name in str(p.get("problem"))}
    for m in materials:
        if m.required and m.status != "received" and m.name not in listed:
            problems.append({"material": m.name, "problem": MISSING_PROBLEM, "added": "missing_required"})
    content: dict[str, Any] = {"problems": problems}
    if earlier:
        content.update({"second_notice_reason": reason, "first_notice": earlier})
    notice = issue_notice(ctx, case, "correction", content)
    opinion = "; ".join(f"{p.get('material') + ': ' if p.get('material') else ''}{p['problem']}" for p in problems)
    record_opinion(ctx, case, row, "correction", opinion + (f" (second notice: {reason})" if earlier else ""))
    _complete(ctx, row, {"acceptance": "correction", "correction_items": problems})
    ctx.audit.instance_id, ctx.audit.task_id = case.instance_id, row.id
    ctx.audit.data = {"case": case.number, "problems": problems, "notice": notice.number,
                      "second_notice_reason": reason or None}
    return {"case": case.id, "status": case.status, "notice": notice.number, "problems": problems}


MISSING_PROBLEM = "缺少此项必需材料，请补交"  # required material missing: please hand it in


@command("case.accept_with_missing")
def accept_with_missing(ctx: Ctx, case_id: int, supplement_days: int | None = None,
                        opinion: str | None = None) -> dict:
    """容缺受理: accept although tolerable (non-key) materials are missing; they must follow in time."""
    case = load_case(ctx.session, case_id)
    row = _window_task(ctx, case)
    item = _item(ctx, case.item_code)
    if not item.tolerance_allowed:
        raise InvalidState(f"item {item.code} does not allow acceptance with missing materials (容缺受理)",
                           refusal="tolerance_not_allowed")
    from .. import credit

    credit.gate(ctx, case, item, "tolerance")  # the credit check, kept in the case file; closed for bad credit
    if case.applicant_credit == "bad":
        raise InvalidState("applicants with bad credit cannot be accepted with missing materials", refusal="bad_credit")
    missing = [m for m in _materials(ctx, case) if m.required and m.status != "received"]
    if not missing:
        raise InvalidState("no material is missing; accept the case normally", refusal="nothing_missing")
    intolerable = [m.name for m in missing if not m.tolerable]
    if intolerable:
        raise InvalidState(f"these missing materials may not be supplied later: {', '.join(intolerable)}",
                           materials=intolerable, refusal="intolerable_missing")
    days = supplement_days if supplement_days is not None else (item.supplement_days or MAX_SUPPLEMENT_DAYS)
    if not isinstance(days, int) or not 1 <= days <= MAX_SUPPLEMENT_DAYS:
        raise ValidationError(f"the supplement period is 1-{MAX_SUPPLEMENT_DAYS} working days", refusal="one_of",
                              field="supplement_days", limit=MAX_SUPPLEMENT_DAYS)
    due = case_clock.start_supplement(ctx, case, days).promised_due
    case.accepted_at = ctx.now
    names = [m.name for m in missing]
    notice = issue_notice(ctx, case, "tolerance", {"office": item.competent_office, "missing": names,
                                                   **_accepting_office(ctx, case, item),
                                                   "supplement_due": due.isoformat(), "working_days": days,
                                                   "provisional": case_clock.working_calendar(ctx).is_provisional(
                                                       due, ctx.now)})
    record_opinion(ctx, case, row, "accepted_with_missing", opinion)
    from .. import linkage

    linkage.push_case(ctx, case, "acceptance")  # 审管联动
    _complete(ctx, row, {"acceptance": "accepted", "tolerance": True, "missing_materials": names,
                         "materials_complete": False, "supplement_due": due.isoformat()})
    ctx.audit.instance_id, ctx.audit.task_id = case.instance_id, row.id
    ctx.audit.data = {"case": case.number, "missing": names, "supplement_due": due.isoformat()}
    return {"case": case.id, "status": case.status, "notice": notice.number, "supplement_due": due.isoformat()}


@command("case.supplement")
def supplement(ctx: Ctx, case_id: int, materials: list[dict[str, Any]]) -> dict:
    """The applicant hands in materials that were missing (补正 or 容缺 supplements)."""
    case = load_case(ctx.session, case_id)
    if not ctx.actor.is_admin and ctx.actor.id not in (case.applicant_user, case.agent_user):
        raise PermissionDenied(f"user '{ctx.actor.id}' is neither the applicant nor their agent", refusal="not_applicant")
    if case.status in CaseStatus.FINAL:
        raise InvalidState(f"case {case.number} is {case.status}", refusal="wrong_status", status=case.status)
    by_name = {m.name: m for m in _materials(ctx, case)}
    if not materials:
        raise ValidationError("no materials given", refusal="required", field="materials")
    for entry in materials:
        material = by_name.get(entry.get("name"))
        if material is None:
            raise ValidationError(f"'{entry.get('name')}' is not a material of this case", refusal="not_a_material",
                                  materials=[str(entry.get('name'))])
        receive_material(ctx, case, material, entry.get("filename") or material.name, entry.get("content", b""))
    complete = all(m.status == "received" for m in by_name.values() if m.required)
    delivered = False
    if complete and case.instance_id in runtime.waiting(ctx, "message", SUPPLEMENTED, instance_id=case.instance_id):
        runtime.deliver(ctx, case.instance_id, "message", SUPPLEMENTED, {"materials_complete": True})
        delivered = True
    elif complete:
        running = runtime.load(ctx, case.instance_id)
        for task in runtime.live_tasks(running.workflow):
            task.data["materials_complete"] = True
        runtime.advance(ctx, running)
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"case": case.number, "materials": [m.get("name") for m in materials], "complete": complete}
    return {"case": case.id, "complete": complete, "delivered": delivered, "status": case.status}


@command("case.resubmit")
def resubmit(ctx: Ctx, case_id: int, materials: list[dict[str, Any]] | None = None, note: str | None = None,
             applicant: dict[str, Any] | None = None, form: dict[str, Any] | None = None) -> dict:
    """The applicant answers a correction notice (补正): corrected files and fields (name, kind, ID number, phone,
    the form), then the case goes back to the window with her note (an opinion the window's task page shows)."""
    case = load_case(ctx.session, case_id)
    if not ctx.actor.is_admin and ctx.actor.id not in (case.applicant_user, case.agent_user):
        raise PermissionDenied(f"user '{ctx.actor.id}' is neither the applicant nor their agent", refusal="not_applicant")
    row = ctx.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == case.instance_id, HumanTask.status == TaskStatus.OPEN,
        HumanTask.form_key == CORRECTION_FORM)).first()
    if row is None:
        raise InvalidState(f"case {case.number} is not waiting for a correction (status {case.status})",
                           refusal="wrong_status", status=case.status)
    by_name = {m.name: m for m in _materials(ctx, case)}
    for entry in materials or []:
        material = by_name.get(entry.get("name"))
        if material is None:
            raise ValidationError(f"'{entry.get('name')}' is not a material of this case", refusal="not_a_material",
                                  materials=[str(entry.get('name'))])
        receive_material(ctx, case, material, entry.get("filename") or material.name, entry.get("content", b""))
    corrected = validation.apply_corrections(ctx, case, applicant, form)
    if not materials and not corrected and not (note or "").strip():
        raise ValidationError("a resubmission needs corrected materials or a note saying what was corrected",
                              refusal="required", field="note")
    names = [m.get("name") for m in materials or []]
    record_opinion(ctx, case, row, "resubmitted", (note or "").strip() or None)
    _complete(ctx, row, {"resubmitted": True, "corrected_materials": names, "correction_note": note or ""})
    ctx.audit.instance_id, ctx.audit.task_id = case.instance_id, row.id
    ctx.audit.data = {"case": case.number, "materials": names, "note": note or "", "corrected": corrected}
    return {"case": case.id, "status": case.status, "corrected": corrected}


@command("case.decide")
def decide(ctx: Ctx, task_id: str, approved: bool, opinion: str) -> dict:
    """Approve or reject at a review step, with the written opinion (审批意见) kept on the case."""
    if not isinstance(approved, bool):
        raise ValidationError("approved must be true or false")
    if not opinion or not opinion.strip():
        raise ValidationError("a decision needs an opinion", refusal="required", field="opinion")
    from ..completion import finish_step
    from .tasks import load_open_task

    row = load_open_task(ctx, task_id)
    if row.form_key in (ACCEPT_FORM, CORRECTION_FORM) and row.delegation != "pending":
        raise InvalidState(f"step '{row.element_id}' is decided with the window's verbs (accept, not accept, "
                           "correction, accept with missing materials) or the applicant's resubmission",
                           task_id=task_id)
    case = case_of_instance(ctx.session, row.instance_id)
    if case is None:
        raise InvalidState(f"task {task_id} does not belong to a case")
    if not may_work_on(ctx.actor, ctx.groups(), row.assignee, row.candidate_users, row.candidate_groups):
        raise refuse(ctx.actor, "decide it", task_id)
    result = finish_step(ctx, row, {"approved": approved, "opinion": opinion}, case=case,
                         decision="approved" if approved else "rejected", opinion=opinion)
    ctx.audit.instance_id, ctx.audit.task_id = row.instance_id, task_id
    ctx.audit.data = {"case": case.number, "approved": approved, "opinion": opinion}
    out = {"case": case.id, "status": case.status}
    if "returned_to" in result:
        ctx.audit.data.update({"delegation": "resolved", "owner": row.owner})
        out["returned_to"] = result["returned_to"]
    return out


@command("case.verify")
def verify_commitment(ctx: Ctx, task_id: str, commitment_true: bool, note: str) -> dict:
    """核查: the supervising department reports whether the commitment was true."""
    if not isinstance(commitment_true, bool):
        raise ValidationError("commitment_true must be true or false")
    if not note or not note.strip():
        raise ValidationError("a verification needs a note of what was checked", refusal="required", field="note")
    row = ctx.session.get(HumanTask, task_id)
    if row is None or row.status != TaskStatus.OPEN or row.form_key != "yimen:verification":
        raise InvalidState(f"task {task_id} is not an open verification (核查) task", refusal="task_closed")
    if not may_work_on(ctx.actor, ctx.groups(), row.assignee, row.candidate_users, row.candidate_groups):
        raise refuse(ctx.actor, "verify it", task_id)
    from ..completion import finish_step

    case = case_of_instance(ctx.session, row.instance_id)
    finish_step(ctx, row, {"commitment_true": commitment_true, "verification_note": note}, case=case,
                decision="commitment_true" if commitment_true else "commitment_false", opinion=note)
    ctx.audit.instance_id, ctx.audit.task_id = row.instance_id, task_id
    ctx.audit.data = {"case": case.number, "commitment_true": commitment_true, "note": note}
    return {"case": case.id, "status": case.status, "outcome": case.outcome}


WINDOW_GROUP = "window"


def _may_request_extension(ctx: Ctx, case: ApprovalCase) -> None:
    """延期 is asked for by the people handling the case (its open steps' holders) or the window; nobody else."""
    from .notices import current_handlers

    if ctx.actor.is_admin or WINDOW_GROUP in ctx.groups():
        return
    if ctx.actor.id in (case.applicant_user, case.agent_user) or ctx.actor.id not in current_handlers(
            ctx, case.instance_id):
        raise PermissionDenied(f"user '{ctx.actor.id}' is not handling case {case.number} and may not ask for "
                               "its extension (延期)", case_id=case.id, refusal="not_handling")


@command("case.request_extension")
def request_extension(ctx: Ctx, case_id: int, reason: str) -> dict:
    """延期: ask the head of the office for 10 more working days (15 for joint handling)."""
    if not reason or not reason.strip():
        raise ValidationError("an extension request needs a reason (it is told to the applicant)", refusal="required",
                              field="reason")
    case = load_case(ctx.session, case_id)
    _may_request_extension(ctx, case)
    if case.accepted_at is None or case.status in CaseStatus.FINAL:
        raise InvalidState(f"case {case.number} is {case.status}; only an accepted, open case can be extended",
                           refusal="wrong_status", status=case.status)
    if case.extension_days:
        raise InvalidState(f"case {case.number} was already extended once", refusal="already_extended")
    pending = ctx.session.scalars(select(HumanTask.id).join(
        ProcessInstance, ProcessInstance.id == HumanTask.instance_id).where(
        ProcessInstance.business_key == f"{case.number}-EXT", HumanTask.status == TaskStatus.OPEN)).first()
    if pending:
        raise InvalidState(f"an extension request for case {case.number} is already waiting for approval",
                           refusal="extension_waiting")
    item = _item(ctx, case.item_code)
    days = 15 if getattr(item, "joint_handling", False) else 10
    definition = definitions.latest(ctx.session, EXTENSION_PROCESS)
    running = runtime.start_deferred(ctx, definition.id, {"case_number": case.number, "reason": reason, "days": days},
                                     business_key=f"{case.number}-EXT")
    running.instance.mirror = {"extension_of": case.id}
    runtime.advance(ctx, running)
    ctx.audit.instance_id = running.instance.id
    ctx.audit.data = {"case": case.number, "reason": reason, "days": days}
    return {"case": case.id, "instance": running.instance.id, "days": days}


@command("case.withdraw")
def withdraw_application(ctx: Ctx, case_id: int, reason: str | None = None, staff_suggested: bool = False) -> dict:
    """The applicant (or agent) withdraws the application before it is accepted.

    A withdrawal at staff's suggestion (``staff_suggested``) is a negative outcome filed for review (否定备案)."""
    case = load_case(ctx.session, case_id)
    if not ctx.actor.is_admin and ctx.actor.id not in (case.applicant_user, case.agent_user):
        raise PermissionDenied(f"user '{ctx.actor.id}' is neither the applicant nor their agent", refusal="not_applicant")
    if case.status not in (CaseStatus.SUBMITTED, CaseStatus.CORRECTION_REQUESTED) or case.accepted_at:
        raise InvalidState(f"case {case.number} is {case.status}; an application can be withdrawn only before "
                           "it is accepted", refusal="wrong_status", status=case.status)
    _end(ctx, case, CaseStatus.WITHDRAWN, reason or "withdrawn by the applicant")
    if staff_suggested is True:
        from ..negative_filing import file_case

        file_case(ctx, case, "withdrawn", reason or "withdrawn at staff's suggestion")
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"case": case.number, "reason": reason}
    return {"case": case.id, "status": case.status}


@command("case.terminate")
def terminate(ctx: Ctx, case_id: int, reason: str) -> dict:
    if not ctx.actor.is_admin:
        raise PermissionDenied(f"user '{ctx.actor.id}' may not terminate cases")
    if not reason or not reason.strip():
        raise ValidationError("terminating a case needs a reason", refusal="required", field="reason")
    case = load_case(ctx.session, case_id)
    if case.status in CaseStatus.FINAL:
        raise InvalidState(f"case {case.number} is already {case.status}", refusal="wrong_status", status=case.status)
    _end(ctx, case, CaseStatus.TERMINATED, reason)
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"case": case.number, "reason": reason}
    return {"case": case.id, "status": case.status}


def _end(ctx: Ctx, case: ApprovalCase, status: str, reason: str) -> None:
    runtime.end_instance(ctx, runtime.load(ctx, case.instance_id), reason, outcome=status)


def view(ctx_session, case_id: int) -> dict:
    return case_dict(ctx_session, load_case(ctx_session, case_id))
