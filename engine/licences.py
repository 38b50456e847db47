"""The licence (证照, Art. 44): opened by an approval, issued by the window (制证), revoked by a false commitment.

An approval opens a *pending* licence with its own clock: a ``DeadlineWatch``
of kind ``licence`` that warns, then cards, like the case clock, if the
licence is not issued within 10 working days of the decision. Window staff
issue it (``engine.commands.licences.issue``) with its scope and validity; it
gets its number (per office and year) and becomes an electronic record anyone
can verify by number or QR code. When 告知承诺 verification finds the
commitment false, the case's ``revoked`` end event revokes it
(``revoke_for_case``, called from ``engine.cases.follow_process``) and the
verification page says so.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .errors import NotFound

ISSUE_DAYS = 10      # Art. 44
WARNING_DAYS = 2


def licence_number(office_code: str, year: int, seq: int) -> str:
    """``SJ-XK-2026-000001`` (许可): letters, digits and hyphens, easy to type into the verification page."""
    return f"{office_code}-XK-{year}-{seq:06d}"


def open_licence(ctx, case, decision, item) -> Any:
    from . import case_clock
    from .models import Licence
    from .models.documents import LicenceStatus
    from .models.deadlines import WatchKind

    from .documents import authority_of

    authority, office, entrusted = authority_of(ctx.session, case, item)  # 放权: whose name the licence carries
    watch = case_clock.new_watch(kind=WatchKind.LICENCE, case_id=case.id, instance_id=case.instance_id,
                                 department=case.office_code, item_code=case.item_code, started_at=ctx.now,
                                 promised_days=ISSUE_DAYS, legal_days=ISSUE_DAYS, warning_days=WARNING_DAYS,
                                 escalation=["card"])
    case_clock.schedule(case_clock.working_calendar(ctx), watch)
    ctx.session.add(watch)
    licence = Licence(case_id=case.id, decision_id=decision.id, status=LicenceStatus.PENDING,
                      holder=case.applicant_name, holder_id_no=case.applicant_id_no,
                      item_name=item.name if item else case.item_code, office_code=authority,
                      office=office, entrusted=entrusted, due_at=watch.promised_due)
    ctx.session.add(licence)
    return licence


def licence_watch(session, case_id: int):
    from .models.deadlines import DeadlineWatch, WatchKind

    return session.scalars(select(DeadlineWatch).where(DeadlineWatch.case_id == case_id,
                                                       DeadlineWatch.kind == WatchKind.LICENCE)).first()


def revoke_for_case(ctx, case, reason: str) -> bool:
    """Revoke the case's licence (issued or still pending); True when there was one to revoke."""
    from . import case_clock
    from .models import Licence
    from .models.documents import LicenceStatus

    licence = ctx.session.scalars(select(Licence).where(Licence.case_id == case.id)).first()
    if licence is None or licence.status == LicenceStatus.REVOKED:
        return False
    licence.status, licence.revoked_at, licence.revoked_reason = LicenceStatus.REVOKED, ctx.now, reason
    watch = licence_watch(ctx.session, case.id)
    if watch is not None:
        case_clock.stop(ctx, watch)
    from .cases import issue_notice

    issue_notice(ctx, case, "licence_revoked", {"licence": licence.number, "reason": reason})
    return True


def licence_dict(licence, decision_number: str | None = None) -> dict[str, Any]:
    from .documents import LOCAL

    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return {"id": licence.id, "case": licence.case_id, "number": licence.number, "status": licence.status,
            "holder": licence.holder, "holder_id_no": licence.holder_id_no, "item": licence.item_name,
            "scope": licence.scope, "office": licence.office, "entrusted": licence.entrusted, "due": iso(licence.due_at),
            "valid_from": iso(licence.valid_from), "valid_until": iso(licence.valid_until),
            "issued_at": iso(licence.issued_at),
            "issued_on": licence.issued_at.astimezone(LOCAL).strftime("%Y年%m月%d日") if licence.issued_at else None,
            "revoked_at": iso(licence.revoked_at), "revoked_reason": licence.revoked_reason,
            "decision_number": decision_number}


def licence_of_case(session, case_id: int) -> dict[str, Any] | None:
    from .models import Decision, Licence

    row = session.scalars(select(Licence).where(Licence.case_id == case_id)).first()
    if row is None:
        return None
    return licence_dict(row, session.get(Decision, row.decision_id).number)


def verify(session, number: str) -> dict[str, Any]:
    """What the public verification page shows of a licence: only an issued or revoked one, by its number."""
    from .models import Decision, Licence
    from .models.documents import LicenceStatus

    text = (number or "").strip().upper()
    row = session.scalars(select(Licence).where(Licence.number == text)).first() if text else None
    if row is None or row.status == LicenceStatus.PENDING:
        raise NotFound(f"no licence numbered '{text[:40]}'", what="licence")
    shown = licence_dict(row, session.get(Decision, row.decision_id).number)
    # The public sees whether it is genuine and valid, never the holder's ID number.
    shown.pop("holder_id_no")
    shown.pop("case")
    shown["masked_id_no"] = _mask(row.holder_id_no)
    return shown


def _mask(id_no: str | None) -> str | None:
    if not id_no:
        return None
    return id_no[:3] + "*" * max(len(id_no) - 7, 0) + id_no[-4:] if len(id_no) > 7 else "*" * len(id_no)


LIST_STATES = ("normal", "warning", "yellow", "red")  # the licence clock's states (engine.models.deadlines.Card)


def pending_licences(session, user: dict[str, Any], state: str | None = None, limit: int = 50,
                     offset: int = 0) -> dict[str, Any]:
    """证照待制发: the approved cases whose licence is not issued yet, with the 10-working-day clock of Art. 44.

    One statement (``engine.lists.page_of``): each pending licence with its case, the item's names, the
    office, and the licence clock (due date, warning date, state), soonest due first, paged with the total.
    For the staff who issue licences (window staff) and supervisors; ``state`` keeps one clock state.
    """
    from .errors import PermissionDenied, ValidationError
    from .lists import page_of
    from .models import ApprovalCase, Decision, Department, Licence, ServiceItem
    from .models.deadlines import DeadlineWatch, WatchKind
    from .models.documents import LicenceStatus

    groups, roles = set(user.get("groups") or []), set(user.get("roles") or [])
    if not (user.get("admin") or "window" in groups or "window" in roles or "supervisor" in roles):
        raise PermissionDenied(f"user '{user.get('id')}' neither issues licences nor supervises",
                               refusal="window_only")
    if state is not None and state not in LIST_STATES:
        raise ValidationError(f"unknown clock state '{state}'; states are {', '.join(LIST_STATES)}",
                              refusal="not_a_choice", field="state")
    watch = DeadlineWatch
    source = (Licence.__table__.join(ApprovalCase, ApprovalCase.id == Licence.case_id)
              .join(Decision, Decision.id == Licence.decision_id)
              .outerjoin(watch, (watch.case_id == Licence.case_id) & (watch.kind == WatchKind.LICENCE))
              .outerjoin(ServiceItem, ServiceItem.code == ApprovalCase.item_code)
              .outerjoin(Department, Department.id == Licence.office_code))
    where = [Licence.status == LicenceStatus.PENDING]
    if state is not None:
        where.append(watch.state == state)
    columns = [Licence.id.label("licence"), Licence.case_id.label("case"), ApprovalCase.number.label("number"),
               Licence.holder.label("holder"), Licence.item_name.label("item_name"),
               ServiceItem.name_en.label("item_name_en"), Licence.office_code.label("office"),
               Department.name.label("office_name"), Department.name_en.label("office_name_en"),
               Decision.issued_at.label("decided"), Licence.due_at.label("due"),
               watch.warning_at.label("warning_at"), watch.state.label("state")]

    def item(row) -> dict[str, Any]:
        out = dict(row._mapping)
        out.pop("n_total", None)
        for key in ("decided", "due", "warning_at"):
            out[key] = out[key].isoformat() if out[key] else None
        out["state"] = out["state"] or "normal"
        return out

    return page_of(session, columns, source, where, [Licence.due_at, Licence.id], limit, offset, item)
