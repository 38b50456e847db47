"""Bundle verbs (一件事 / 一链办理): define a bundle; apply for it once; accept, refuse or correct it once;
deliver its results together (统一出件).

Each verb is one transaction: the bundle's verb runs the ordinary case verb (``engine.commands.cases``,
``engine.commands.delivery``) for every member case, with the checks and the audit event of each, and writes
its own event; a refusal of any member refuses the whole bundle and nothing is changed.
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from .. import submissions
from ..bundles import acting_for_bundle, application_dict, bundle_dict, get_bundle, item_levels
from ..cases import next_number
from ..context import Ctx, command
from ..errors import InvalidState, NotFound, PermissionDenied, ValidationError
from ..items import get_item
from ..models import ApprovalCase, CaseMaterial, Decision
from ..models.bundles import Bundle, BundleApplication, BundleMember, BundleStatus
from ..models.cases import CaseStatus
from . import cases as case_cmd
from . import delivery as delivery_cmd
from .items import _allowed as _may_edit_catalogue

BUNDLE_OFFICE = "YJS"  # 一件事: the numbers of bundle applications are counted apart from the offices' cases
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MAX_NAME = 300


# --- definitions -----------------------------------------------------------------------------

@command("bundle.save")
def save_bundle(ctx: Ctx, code: str, name: str, items: list[str], name_en: str | None = None,
                shared_materials: list[str] | None = None, cross_level: bool = False, enabled: bool = True) -> dict:
    """Define (or change) a bundle: at least two distinct member items; shared materials are materials of at least
    two members. Members of different levels are refused unless ``cross_level`` says the modes allow it."""
    _may_edit_catalogue(ctx)
    if not isinstance(code, str) or not CODE.match(code):
        raise ValidationError("a bundle code is 1-100 letters, digits, '.', '_' or '-'", refusal="required",
                              field="code")
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError("a bundle needs a Chinese name", refusal="required", field="name")
    if len(name) > MAX_NAME or len(name_en or "") > MAX_NAME:
        raise ValidationError(f"a bundle's name is at most {MAX_NAME} characters", refusal="too_long", field="name",
                              limit=MAX_NAME)
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValidationError("items is a list of item codes", refusal="required", field="items")
    codes = list(dict.fromkeys(items))
    if len(codes) < 2:
        raise ValidationError("a bundle has at least two different member items", refusal="bundle_too_small",
                              field="items")
    rows = [get_item(ctx.session, c) for c in codes]
    levels = [{"code": r.code, "name": r.name, "name_en": r.name_en, "level": r.level} for r in rows]  # their own
    if len({entry["level"] for entry in levels}) > 1 and cross_level is not True:
        raise ValidationError("the member items are handled at different levels: "
                              + ", ".join(f"{e['name']} ({e['level']})" for e in levels)
                              + "; mark the bundle cross-level only where the items' implementation modes allow it",
                              refusal="bundle_levels_differ", items=levels)
    shared = list(dict.fromkeys(shared_materials or []))
    if not all(isinstance(s, str) for s in shared):
        raise ValidationError("shared materials are material names", field="shared_materials")
    for material in shared:
        holders = [r.code for r in rows if any(m.get("name") == material for m in r.materials or [])]
        if len(holders) < 2:
            raise ValidationError(f"'{material}' is not a material of two member items, so it cannot be shared",
                                  refusal="not_shared", materials=[material])
    row = ctx.session.get(Bundle, code)
    before = bundle_dict(ctx.session, row) if row is not None else None
    if row is None:
        row = Bundle(code=code)
        ctx.session.add(row)
    row.name, row.name_en = name, (name_en or "").strip() or None
    row.items, row.shared_materials = codes, shared
    row.cross_level, row.enabled = cross_level is True, enabled is not False
    row.updated_at, row.updated_by = ctx.now, ctx.actor.id
    ctx.session.flush()
    ctx.audit.data = {"bundle": code, "items": codes, "shared_materials": shared, "cross_level": row.cross_level,
                      "enabled": row.enabled, "before": before and before["item_codes"]}
    return bundle_dict(ctx.session, row)


# --- the application -------------------------------------------------------------------------

@command("bundle.apply")
def apply(ctx: Ctx, bundle_code: str, applicant: dict[str, Any], materials: list[dict[str, Any]] | None = None,
          form: dict[str, Any] | None = None, agent: dict[str, Any] | None = None,
          idempotency_key: str | None = None, online: bool = False, region: str | None = None) -> dict:
    """One application for every member item: each member is submitted as an ordinary case (the submission
    command itself, with all its checks, routed by the applicant's ``region``: 放权), a material shared by
    several members is uploaded once and given to each; after routing, the members must be handled at one
    level, else nothing is made."""
    row = get_bundle(ctx.session, bundle_code)
    reserved = None
    if idempotency_key is not None:
        reserved, earlier = submissions.reserve(ctx, submissions.check_key(idempotency_key),
                                                submissions.fingerprint(f"bundle:{bundle_code}", applicant, agent,
                                                                        form, materials, region))
        if earlier is not None:
            application = ctx.session.scalars(select(BundleApplication).join(
                BundleMember, BundleMember.application_id == BundleApplication.id).where(
                BundleMember.case_id == earlier)).first()
            ctx.audit.data = {"bundle_application": application.number, "replayed": True}
            return {**_answer(ctx, application), "replayed": True}
    if not row.enabled:
        raise InvalidState(f"bundle {bundle_code} is not open for applications", refusal="item_closed")
    if materials is not None and not isinstance(materials, list):
        raise ValidationError("materials must be a list", field="materials")
    items = [get_item(ctx.session, code) for code in row.items]
    known = {m["name"] for item in items for m in item.materials or []}
    given: dict[str, dict] = {}
    for entry in materials or []:
        name = entry.get("name") if isinstance(entry, dict) else None
        if name not in known:
            raise ValidationError(f"'{name}' is not a material of bundle {bundle_code}", refusal="not_a_material",
                                  materials=[str(name)])
        if name in given:
            raise ValidationError(f"material '{name}' is given twice", refusal="material_twice", materials=[name])
        given[name] = entry
    if not isinstance(applicant, dict) or not str(applicant.get("name") or "").strip():
        raise ValidationError("the applicant needs a name", refusal="required", field="applicant_name")
    application = BundleApplication(number=next_number(ctx, BUNDLE_OFFICE), bundle_code=row.code,
                                    applicant_name=str(applicant["name"]).strip()[:200],
                                    applicant_user=applicant.get("user"), agent_user=(agent or {}).get("user"),
                                    status=BundleStatus.SUBMITTED, submitted_at=ctx.now)
    ctx.session.add(application)
    ctx.session.flush()
    cases = []
    for position, item in enumerate(items):
        names = {m["name"] for m in item.materials or []}
        mine = [given[name] for name in given if name in names]
        made = case_cmd.submit(ctx, item_code=item.code, applicant=dict(applicant), materials=mine,
                               form=dict(form or {}), agent=agent, online=online, region=region)
        ctx.session.add(BundleMember(application_id=application.id, case_id=made["case"], item_code=item.code,
                                     position=position))
        member = ctx.session.get(ApprovalCase, made["case"])
        member.in_bundle = True  # the inbox and accept read this flag, not the membership row
        cases.append(member)
    levels = item_levels(ctx.session, items, cases)
    if len({entry["level"] for entry in levels}) > 1 and not row.cross_level:
        raise InvalidState("the member items would be handled at different levels: "
                           + ", ".join(f"{e['name']} ({e['level']})" for e in levels)
                           + "; apply for them one by one", refusal="bundle_levels_mixed", items=levels)
    ctx.session.flush()
    submissions.bind(ctx, reserved, cases[0].id)
    ctx.audit.instance_id = None
    ctx.audit.data = {"bundle_application": application.number, "bundle": row.code,
                      "cases": [c.number for c in cases], "materials": sorted(given)}
    return _answer(ctx, application)


def _answer(ctx: Ctx, application: BundleApplication) -> dict:
    shown = application_dict(ctx.session, application)
    return {"application": application.id, "number": application.number, "status": application.status,
            "cases": [m["case"] for m in shown["members"]], "numbers": [m["number"] for m in shown["members"]]}


def _application(ctx: Ctx, application_id: int) -> BundleApplication:
    row = ctx.session.get(BundleApplication, application_id) if isinstance(application_id, int) else None
    if row is None:
        raise NotFound(f"bundle application {application_id} does not exist", what="bundle_application")
    return row


def _members(ctx: Ctx, row: BundleApplication) -> list[ApprovalCase]:
    return list(ctx.session.scalars(select(ApprovalCase).join(BundleMember, BundleMember.case_id == ApprovalCase.id)
                                    .where(BundleMember.application_id == row.id).order_by(BundleMember.position)))


def _open_members(ctx: Ctx, row: BundleApplication) -> list[ApprovalCase]:
    """The members still to decide on: a member the applicant withdrew (撤回申请) is left out; all withdrawn, none."""
    members = [c for c in _members(ctx, row) if c.status != CaseStatus.WITHDRAWN]
    if not members:
        raise InvalidState(f"every member of bundle application {row.number} was withdrawn", refusal="wrong_status",
                           status=CaseStatus.WITHDRAWN)
    return members


def _waiting(row: BundleApplication) -> None:
    if row.status not in (BundleStatus.SUBMITTED, BundleStatus.CORRECTION_REQUESTED):
        raise InvalidState(f"bundle application {row.number} is {row.status}", refusal="wrong_status",
                           status=row.status)


# --- one acceptance --------------------------------------------------------------------------

@command("bundle.accept")
def accept(ctx: Ctx, application_id: int, opinion: str | None = None) -> dict:
    """受理 once: every member case is accepted in this transaction (each starts its own clock)."""
    row = _application(ctx, application_id)
    _waiting(row)
    members = _open_members(ctx, row)
    with acting_for_bundle():
        for case in members:
            case_cmd.accept(ctx, case_id=case.id, opinion=opinion)
    row.status, row.accepted_at = BundleStatus.ACCEPTED, ctx.now
    ctx.audit.instance_id, ctx.audit.task_id = None, None
    ctx.audit.data = {"bundle_application": row.number, "cases": [c.number for c in members]}
    return _answer(ctx, row)


@command("bundle.not_accept")
def not_accept(ctx: Ctx, application_id: int, reason: str, competent_office: str | None = None) -> dict:
    """不予受理 for the bundle: every member gets the written refusal with the reason."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("not accepting (不予受理) needs the reason", refusal="required", field="reason")
    row = _application(ctx, application_id)
    _waiting(row)
    members = _open_members(ctx, row)
    with acting_for_bundle():
        for case in members:
            case_cmd.not_accept(ctx, case_id=case.id, reason=reason, competent_office=competent_office)
    row.status = BundleStatus.NOT_ACCEPTED
    ctx.audit.instance_id, ctx.audit.task_id = None, None
    ctx.audit.data = {"bundle_application": row.number, "reason": reason, "cases": [c.number for c in members]}
    return _answer(ctx, row)


@command("bundle.request_correction")
def request_correction(ctx: Ctx, application_id: int, problems: list[dict[str, str]],
                       second_notice_reason: str | None = None) -> dict:
    """补正 for the bundle, told at once: a problem naming a material goes to every member that takes it, one
    naming an item to that member, any other to all; a member with a required material missing gets it listed.
    Members with nothing to correct wait; the bundle is accepted once the corrected members are back."""
    if not problems or not all(isinstance(p, dict) and str(p.get("problem") or "").strip() for p in problems):
        raise ValidationError("a correction notice lists at least one problem, each with a 'problem' text",
                              refusal="required", field="problems")
    row = _application(ctx, application_id)
    _waiting(row)
    members = _members(ctx, row)
    given = {p.get("material") for p in problems if p.get("material")}
    names_of = {case.id: {m.name: m for m in ctx.session.scalars(
        select(CaseMaterial).where(CaseMaterial.case_id == case.id))} for case in members}
    unknown = sorted(str(m) for m in given if not any(m in names for names in names_of.values()))
    if unknown:
        raise ValidationError(f"not a material of this bundle: {', '.join(unknown)}", refusal="not_a_material",
                              materials=unknown)
    told = []
    with acting_for_bundle():
        for case in members:
            materials = names_of[case.id]
            mine = [dict(p) for p in problems if (p.get("material") in materials) or (
                not p.get("material") and p.get("item") in (None, "", case.item_code))]
            missing = [m for m in materials.values() if m.required and m.status != "received"]
            if not mine and missing:
                mine = [{"material": m.name, "problem": case_cmd.MISSING_PROBLEM} for m in missing]
            if not mine:
                continue
            if case.status != CaseStatus.SUBMITTED:
                continue  # already waiting for the applicant's correction
            for p in mine:
                p.pop("item", None)
            case_cmd.request_correction(ctx, case_id=case.id, problems=mine,
                                        second_notice_reason=second_notice_reason)
            told.append(case.number)
    if not told:
        raise InvalidState(f"no member of bundle application {row.number} is waiting for acceptance with these "
                           "problems", refusal="wrong_status", status=row.status)
    row.status = BundleStatus.CORRECTION_REQUESTED
    ctx.audit.instance_id, ctx.audit.task_id = None, None
    ctx.audit.data = {"bundle_application": row.number, "cases": told, "problems": problems}
    return {**_answer(ctx, row), "corrected": told}


# --- one delivery ----------------------------------------------------------------------------

def _concluded(ctx: Ctx, row: BundleApplication) -> list[ApprovalCase]:
    members = _members(ctx, row)
    open_ = [c for c in members if c.status not in CaseStatus.FINAL]
    if open_:
        raise InvalidState(f"bundle application {row.number} has members still open: "
                           + ", ".join(c.number for c in open_) + "; the results leave together (统一出件)",
                           refusal="bundle_not_concluded", cases=[c.number for c in open_])
    return members


def _with_decision(ctx: Ctx, members: list[ApprovalCase]) -> list[ApprovalCase]:
    decided = [c for c in members
               if ctx.session.scalars(select(Decision.id).where(Decision.case_id == c.id)).first() is not None]
    if not decided:
        raise InvalidState("no member of the bundle has a decision to deliver", refusal="no_decision")
    return decided


def _applicant_or_window(ctx: Ctx, row: BundleApplication) -> None:
    if ctx.actor.is_admin or ctx.actor.id in (row.applicant_user, row.agent_user) or "window" in ctx.groups():
        return
    raise PermissionDenied(f"user '{ctx.actor.id}' is neither the applicant, her agent nor window staff",
                           refusal="not_applicant")


@command("bundle.choose_delivery")
def choose_delivery(ctx: Ctx, application_id: int, method: str, address: str | None = None,
                    recipient: str | None = None, phone: str | None = None) -> dict:
    """How she wants the bundle's results, once for all of them (pickup or post)."""
    row = _application(ctx, application_id)
    _applicant_or_window(ctx, row)
    with acting_for_bundle():
        for case in _members(ctx, row):
            if case.status in (CaseStatus.NOT_ACCEPTED, CaseStatus.WITHDRAWN):
                continue
            delivery_cmd.choose(ctx, case_id=case.id, method=method, address=address, recipient=recipient,
                                phone=phone)
    ctx.audit.instance_id = None
    ctx.audit.data = {"bundle_application": row.number, "method": method}
    return _answer(ctx, row)


@command("bundle.dispatch")
def dispatch(ctx: Ctx, application_id: int, tracking_no: str | None = None, carrier: str | None = None) -> dict:
    """统一出件: once every member has concluded, all the results (decisions, licences) leave together."""
    row = _application(ctx, application_id)
    delivery_cmd.may_act_for_window(ctx, "dispatch results", None)
    if row.status not in (BundleStatus.ACCEPTED,):
        raise InvalidState(f"bundle application {row.number} is {row.status}", refusal="wrong_status",
                           status=row.status)
    decided = _with_decision(ctx, _concluded(ctx, row))
    with acting_for_bundle():
        for case in decided:
            delivery_cmd.dispatch(ctx, case_id=case.id, tracking_no=tracking_no, carrier=carrier)
    row.status, row.dispatched_at = BundleStatus.DISPATCHED, ctx.now
    ctx.audit.instance_id, ctx.audit.task_id = None, None
    ctx.audit.data = {"bundle_application": row.number, "cases": [c.number for c in decided],
                      "tracking_no": tracking_no}
    return _answer(ctx, row)


@command("bundle.delivered")
def delivered(ctx: Ctx, application_id: int) -> dict:
    """The courier delivered the bundle's results, or the window handed them over together."""
    row = _application(ctx, application_id)
    delivery_cmd.may_act_for_window(ctx, "confirm deliveries", None)
    if row.status != BundleStatus.DISPATCHED:
        raise InvalidState(f"bundle application {row.number} is {row.status}", refusal="wrong_status",
                           status=row.status)
    decided = _with_decision(ctx, _members(ctx, row))
    with acting_for_bundle():
        for case in decided:
            delivery_cmd.delivered(ctx, case_id=case.id)
    row.status, row.delivered_at = BundleStatus.DELIVERED, ctx.now
    ctx.audit.instance_id, ctx.audit.task_id = None, None
    ctx.audit.data = {"bundle_application": row.number, "cases": [c.number for c in decided]}
    return _answer(ctx, row)


@command("bundle.received")
def received(ctx: Ctx, application_id: int) -> dict:
    """She confirms she has the bundle's results (签收), once for all."""
    row = _application(ctx, application_id)
    if not ctx.actor.is_admin and ctx.actor.id not in (row.applicant_user, row.agent_user):
        raise PermissionDenied(f"user '{ctx.actor.id}' is neither the applicant nor her agent",
                               refusal="not_applicant")
    if row.status not in (BundleStatus.DISPATCHED, BundleStatus.DELIVERED):
        raise InvalidState(f"bundle application {row.number} is {row.status}", refusal="wrong_status",
                           status=row.status)
    decided = _with_decision(ctx, _members(ctx, row))
    with acting_for_bundle():
        for case in decided:
            delivery_cmd.received(ctx, case_id=case.id)
    row.status, row.received_at = BundleStatus.RECEIVED, ctx.now
    row.delivered_at = row.delivered_at or ctx.now
    ctx.audit.instance_id, ctx.audit.task_id = None, None
    ctx.audit.data = {"bundle_application": row.number, "cases": [c.number for c in decided]}
    return _answer(ctx, row)
