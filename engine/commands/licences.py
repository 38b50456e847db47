"""Licence verbs (证照): the window issues the licence of an approved case (制证, Art. 44)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from .. import case_clock
from ..cases import LOCAL, issue_notice, load_case
from ..context import Ctx, command
from ..documents import next_document_number
from ..errors import InvalidState, NotFound, PermissionDenied, ValidationError
from ..licences import licence_number, licence_of_case, licence_watch
from ..models import CaseMaterial, Licence
from ..models.documents import LicenceStatus

WINDOW_GROUP = "window"
DEFAULT_VALID_YEARS = 5
MAX_SCOPE = 2000


def may_act_for_window(ctx: Ctx, what: str, case_id: int) -> None:
    if not (ctx.actor.is_admin or WINDOW_GROUP in ctx.groups()):
        raise PermissionDenied(f"user '{ctx.actor.id}' is not window staff and may not {what}",
                               refusal="window_only", case_id=case_id)


@command("licence.issue")
def issue(ctx: Ctx, case_id: int, scope: str | None = None, valid_until: str | None = None) -> dict[str, Any]:
    """制证: give the approved case's licence its number, scope and validity; it can now be verified."""
    may_act_for_window(ctx, "issue licences", case_id)
    case = load_case(ctx.session, case_id)
    licence = ctx.session.scalars(select(Licence).where(Licence.case_id == case.id)).first()
    if licence is None:
        raise InvalidState(f"case {case.number} has no approval, so no licence to issue", refusal="no_licence",
                           case_id=case.id)
    if licence.status != LicenceStatus.PENDING:
        raise InvalidState(f"the licence of case {case.number} is already {licence.status}",
                           refusal="wrong_status", status=licence.status, case_id=case.id)
    missing = list(ctx.session.scalars(select(CaseMaterial.name).where(
        CaseMaterial.case_id == case.id, CaseMaterial.required.is_(True), CaseMaterial.status != "received")))
    if missing:  # 容缺: the certificate is issued only once the materials that could follow have arrived
        raise InvalidState(f"materials still missing: {', '.join(missing)}; the licence is issued once they arrive",
                           refusal="materials_missing", materials=missing, case_id=case.id)
    if scope is not None and len(scope) > MAX_SCOPE:
        raise ValidationError(f"the scope is at most {MAX_SCOPE} characters", field="scope", refusal="too_long",
                              limit=MAX_SCOPE)
    today = ctx.now.astimezone(LOCAL).date()
    if valid_until:
        try:
            until = date.fromisoformat(valid_until)
        except ValueError as exc:
            raise ValidationError("valid_until is a date YYYY-MM-DD", field="valid_until",
                                  refusal="not_a_date") from exc
        if until <= today:
            raise ValidationError("a licence is valid until a day after today", field="valid_until",
                                  refusal="in_the_past")
    else:
        try:  # five years, to the day before the anniversary (29 February counts from 28 February)
            until = today.replace(year=today.year + DEFAULT_VALID_YEARS) - timedelta(days=1)
        except ValueError:
            until = date(today.year + DEFAULT_VALID_YEARS, 2, 27)
    year, seq = next_document_number(ctx, licence.office_code, "licence")
    licence.number = licence_number(licence.office_code, year, seq)
    licence.status, licence.issued_at, licence.issued_by = LicenceStatus.ISSUED, ctx.now, ctx.actor.id
    licence.scope = (scope or "").strip() or licence.item_name
    licence.valid_from, licence.valid_until = today, until
    watch = licence_watch(ctx.session, case.id)
    if watch is not None:
        case_clock.stop(ctx, watch)
    notice = issue_notice(ctx, case, "licence", {"licence": licence.number, "item": licence.item_name,
                                                 "valid_until": until.isoformat(), "office": licence.office})
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"case": case.number, "licence": licence.number, "valid_until": until.isoformat(),
                      "notice": notice.number}
    return licence_of_case(ctx.session, case.id)


def view(session, case_id: int) -> dict[str, Any]:
    found = licence_of_case(session, case_id)
    if found is None:
        raise NotFound(f"case {case_id} has no licence", what="licence", case_id=case_id)
    return found
