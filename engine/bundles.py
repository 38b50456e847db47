"""Bundles (一件事 / 一链办理): what an application for several related items looks like, and who sees it.

The verbs are in ``engine.commands.bundles``. A bundle application's member cases are ordinary cases; the
window's acceptance verbs and the dispatch of a result refuse a member case on its own
(``refuse_member_verb``): it is accepted, refused or corrected with its bundle, and its result leaves with the
others (统一出件). The bundle verbs run the case verbs for every member inside ``acting_for_bundle()``.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import or_, select

from .errors import InvalidState, NotFound
from .models import ApprovalCase, Delivery, Department, ServiceItem
from .models.bundles import Bundle, BundleApplication, BundleMember, BundleStatus
from .models.cases import CaseStatus

_for_bundle: ContextVar[bool] = ContextVar("yimen_for_bundle", default=False)
WAITING = (BundleStatus.SUBMITTED, BundleStatus.CORRECTION_REQUESTED)


@contextmanager
def acting_for_bundle():
    """The case verbs run inside are the bundle's own, for each of its members."""
    token = _for_bundle.set(True)
    try:
        yield
    finally:
        _for_bundle.reset(token)


def refuse_member_verb(session, case: ApprovalCase, verb: str) -> None:
    """A member case is accepted, refused, corrected and dispatched with its bundle, never on its own."""
    if _for_bundle.get() or not case.in_bundle:
        return
    application = application_of_case_row(session, case.id)
    if application is not None:
        raise InvalidState(f"case {case.number} is part of bundle application {application.number}: {verb} it "
                           "with its bundle", refusal="bundle_member", bundle_application=application.id,
                           bundle_number=application.number)


def after_member_accepted(ctx, case: ApprovalCase) -> None:
    """A member deemed accepted by law (Art. 32, no decision in 5 working days): once every member is accepted, so
    is the bundle, as of the earliest of them."""
    if not case.in_bundle:
        return
    row = application_of_case_row(ctx.session, case.id)
    if row is None or row.status not in WAITING:
        return
    members = [c for c in _member_cases(ctx.session, row.id) if c.status != CaseStatus.WITHDRAWN]
    if members and all(c.accepted_at is not None for c in members):
        row.status, row.accepted_at = BundleStatus.ACCEPTED, min(c.accepted_at for c in members)


def application_of_case_row(session, case_id: int) -> BundleApplication | None:
    return session.scalars(select(BundleApplication).join(
        BundleMember, BundleMember.application_id == BundleApplication.id).where(
        BundleMember.case_id == case_id)).first()


def item_levels(session, items: list[ServiceItem], cases: list[ApprovalCase] | None = None) -> list[dict[str, Any]]:
    """Each item with the level it is handled at: the level of its case's office (after routing), else of the
    item's own office, else the item's catalogue level."""
    out = []
    for index, item in enumerate(items):
        office = cases[index].office_code if cases is not None else item.office_code
        department = session.get(Department, office) if office else None
        out.append({"code": item.code, "name": item.name, "name_en": item.name_en,
                    "level": department.level if department is not None else item.level})
    return out


def get_bundle(session, code: str) -> Bundle:
    row = session.get(Bundle, code) if isinstance(code, str) else None
    if row is None:
        raise NotFound(f"bundle '{code}' does not exist", what="bundle")
    return row


def bundle_dict(session, row: Bundle) -> dict[str, Any]:
    items = []
    for code in row.items or []:
        item = session.get(ServiceItem, code)
        if item is None:
            continue
        items.append({"code": item.code, "name": item.name, "name_en": item.name_en, "level": item.level,
                      "office_code": item.office_code, "materials": list(item.materials or []),
                      "promised_limit_days": item.promised_limit_days, "legal_limit_days": item.legal_limit_days,
                      "enabled": item.enabled})
    return {"code": row.code, "name": row.name, "name_en": row.name_en, "items": items,
            "item_codes": list(row.items or []), "shared_materials": list(row.shared_materials or []),
            "cross_level": row.cross_level, "enabled": row.enabled,
            "updated_at": row.updated_at.isoformat(), "updated_by": row.updated_by}


def bundles(session, enabled_only: bool = False) -> list[dict[str, Any]]:
    query = select(Bundle).order_by(Bundle.code)
    if enabled_only:
        query = query.where(Bundle.enabled.is_(True))
    return [bundle_dict(session, row) for row in session.scalars(query)]


def bundle(session, code: str) -> dict[str, Any]:
    return bundle_dict(session, get_bundle(session, code))


def materials_of(session, row: Bundle) -> list[dict[str, Any]]:
    """The bundle's materials, each once: the shared ones first (uploaded once for every member that needs
    them), then each member's own; each names the member items that take it."""
    seen: dict[str, dict[str, Any]] = {}
    for code in row.items or []:
        item = session.get(ServiceItem, code)
        for material in (item.materials if item is not None else None) or []:
            entry = seen.setdefault(material["name"], {**material, "items": [], "shared": False})
            entry["items"].append(code)
            entry["required"] = bool(entry.get("required", True)) or bool(material.get("required", True))
    for name in row.shared_materials or []:
        if name in seen:
            seen[name]["shared"] = True
    return sorted(seen.values(), key=lambda m: (not m["shared"], len(m["items"]) == 1))


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def application_dict(session, row: BundleApplication) -> dict[str, Any]:
    definition = session.get(Bundle, row.bundle_code)
    members = []
    query = (select(BundleMember, ApprovalCase).join(ApprovalCase, ApprovalCase.id == BundleMember.case_id)
             .where(BundleMember.application_id == row.id).order_by(BundleMember.position))
    for member, case in session.execute(query):
        item = session.get(ServiceItem, case.item_code)
        delivery = session.scalars(select(Delivery).where(Delivery.case_id == case.id)).first()
        members.append({"case": case.id, "number": case.number, "item": case.item_code,
                        "item_name": item.name if item else case.item_code, "item_name_en": item.name_en if item else None,
                        "status": case.status, "outcome": case.outcome, "office_code": case.office_code,
                        "accepted_at": _iso(case.accepted_at), "concluded_at": _iso(case.concluded_at),
                        "delivery": delivery.status if delivery else None,
                        "delivery_method": delivery.method if delivery else None})
    concluded = bool(members) and all(m["status"] in CaseStatus.FINAL for m in members)
    return {"id": row.id, "number": row.number, "bundle": row.bundle_code,
            "bundle_name": definition.name if definition else row.bundle_code,
            "bundle_name_en": definition.name_en if definition else None,
            "status": row.status, "applicant_name": row.applicant_name, "applicant_user": row.applicant_user,
            "agent_user": row.agent_user, "submitted_at": _iso(row.submitted_at), "accepted_at": _iso(row.accepted_at),
            "dispatched_at": _iso(row.dispatched_at), "delivered_at": _iso(row.delivered_at),
            "received_at": _iso(row.received_at), "members": members, "concluded": concluded,
            "waiting_for_acceptance": row.status in WAITING and any(m["status"] == CaseStatus.SUBMITTED for m in members)
            and all(m["status"] in (CaseStatus.SUBMITTED, CaseStatus.WITHDRAWN) for m in members)}


def _member_cases(session, application_id: int) -> list[ApprovalCase]:
    return list(session.scalars(select(ApprovalCase).join(BundleMember, BundleMember.case_id == ApprovalCase.id)
                                .where(BundleMember.application_id == application_id)
                                .order_by(BundleMember.position)))


def can_see_application(session, user: dict[str, Any], row: BundleApplication | None) -> bool:
    """Whoever may see one of its member cases (``engine.inbox.can_see_case``) may see the application."""
    from .inbox import can_see_case

    if row is None:
        return False
    return any(can_see_case(session, user, case) for case in _member_cases(session, row.id))


def visible_application(session, application_id: int, user: dict[str, Any]) -> dict[str, Any]:
    row = session.get(BundleApplication, application_id)
    if not can_see_application(session, user, row):
        raise NotFound(f"bundle application {application_id} does not exist", what="bundle_application")
    return application_dict(session, row)


def application_of_case(session, case_id: int) -> dict[str, Any] | None:
    """The bundle application a case is a member of, for its case page; None for a case on its own."""
    row = application_of_case_row(session, case_id)
    return application_dict(session, row) if row is not None else None


def applications(session, user: dict[str, Any], waiting: bool = False, limit: int = 50,
                 offset: int = 0) -> dict[str, Any]:
    """Bundle applications ``user`` may see, newest first; ``waiting``: those waiting for the window's
    acceptance decision (the window's inbox shows each once). The applicant sees her own (or her agent's)."""
    from sqlalchemy import exists, func

    roles = set(user.get("roles") or [])
    where = []
    if waiting:
        where.append(BundleApplication.status.in_(WAITING))
    if not (user.get("admin") or roles & {"window", "supervisor"}):
        # her own (or as agent); a reviewer also those with a member case of her department
        mine = [BundleApplication.applicant_user == user["id"], BundleApplication.agent_user == user["id"]]
        if "reviewer" in roles and user.get("department"):
            mine.append(exists().where(BundleMember.application_id == BundleApplication.id,
                                       ApprovalCase.id == BundleMember.case_id,
                                       ApprovalCase.office_code == user["department"]))
        where.append(or_(*mine))
    total = session.scalar(select(func.count()).select_from(BundleApplication).where(*where))
    query = (select(BundleApplication).where(*where)
             .order_by(BundleApplication.submitted_at.desc(), BundleApplication.id.desc()).limit(limit).offset(offset))
    return {"items": [application_dict(session, row) for row in session.scalars(query)], "total": total,
            "limit": limit, "offset": offset}


__all__ = ["acting_for_bundle", "refuse_member_verb", "bundles", "bundle", "application_dict", "applications",
           "visible_application", "application_of_case", "materials_of", "item_levels"]
