"""Agent authorisations (代办委托书): granted online by the applicant, recorded from paper by the window, revoked."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ..agents import MAX_VALIDITY_DAYS, as_dict, normalise_id
from ..context import Ctx, command
from ..errors import NotFound, PermissionDenied, ValidationError
from ..models import AgentAuthorisation, ServiceItem, User, VerifiedIdentity

WINDOW_GROUP = "window"


def _local_today(ctx: Ctx) -> date:
    from ..cases import LOCAL

    return ctx.now.astimezone(LOCAL).date()


def _date(value: Any, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"{field} must be a date (YYYY-MM-DD)", refusal="not_a_date", field=field) from None


def _identity(kind: Any, name: Any, id_no: Any, name_field: str) -> tuple[str, str, str]:
    """A person's or organisation's kind, name and ID number (GB 11643 / GB 32100 check digits), or a refusal."""
    from ..validation import credit_code_problem, id_card_problem

    kind = kind or "person"
    if kind not in ("person", "organisation"):
        raise ValidationError("kind must be 'person' or 'organisation'", refusal="one_of", field="kind")
    name, id_no = str(name or "").strip(), normalise_id(id_no)
    if not name or len(name) > 200:
        raise ValidationError("a name of up to 200 characters is required", refusal="required", field=name_field)
    problem = id_card_problem(id_no) if kind == "person" else credit_code_problem(id_no)
    if problem:
        raise ValidationError(f"'{id_no[:40]}' is not a valid {'ID number' if kind == 'person' else 'credit code'}",
                              refusal=problem, field="id_no")
    return kind, name, id_no


@command("agent.authorise")
def authorise(ctx: Ctx, agent: str, applicant: dict[str, Any], valid_until: Any, scope: list[str] | None = None,
              valid_from: Any = None, scan: dict[str, Any] | None = None) -> dict:
    """Record a 委托书. Without ``scan`` the signed-in applicant grants it herself (confirmed online) in the name
    of the identity the window verified for her account (实名认证; ``applicant`` is then ignored but for nothing);
    with the scan of the signed paper, window staff record it for a walk-in applicant (confirmed on paper)."""
    from ..cases import store_file

    if scan is None:
        verified = ctx.session.get(VerifiedIdentity, ctx.actor.id)
        if verified is None:
            raise PermissionDenied("granting an authorisation online needs an account whose identity the window has "
                                   "verified (实名认证); otherwise sign a paper authorisation at the window",
                                   refusal="identity_not_verified")
        applicant = {"kind": verified.kind, "name": verified.name, "id_no": verified.id_no}
    if not isinstance(applicant, dict):
        raise ValidationError("the applicant is a name, a kind and an ID number", refusal="required", field="applicant")
    kind, name, id_no = _identity(applicant.get("kind"), applicant.get("name"), applicant.get("id_no"),
                                  "applicant_name")
    if scan is None:
        confirmed, applicant_user = "online", ctx.actor.id
    else:
        if not (ctx.actor.is_admin or WINDOW_GROUP in ctx.groups()):
            raise PermissionDenied("only window staff record a paper authorisation (委托书)", refusal="needs_role")
        if not isinstance(scan, dict) or not scan.get("content"):
            raise ValidationError("a paper authorisation is recorded with the scan of the signed paper",
                                  refusal="required", field="scan")
        confirmed, applicant_user = "paper", None
    target = ctx.session.get(User, agent) if isinstance(agent, str) else None
    if target is None or not target.active:
        raise NotFound(f"agent '{agent}' is not an active user", what="user", refusal="no_such_agent")
    if agent == applicant_user:
        raise ValidationError("an applicant does not authorise herself", refusal="one_of", field="agent")
    today = _local_today(ctx)
    start = _date(valid_from, "valid_from") if valid_from else today
    until = _date(valid_until, "valid_until")
    if start < today or until < start or (until - start).days > MAX_VALIDITY_DAYS:
        raise ValidationError(f"an authorisation runs from today or later, for at most {MAX_VALIDITY_DAYS} days",
                              refusal="out_of_range", field="valid_until", limit=MAX_VALIDITY_DAYS)
    codes = list(dict.fromkeys(scope or []))
    if any(not isinstance(c, str) for c in codes) or len(codes) > 100:
        raise ValidationError("the scope is a list of up to 100 item codes", refusal="one_of", field="scope")
    unknown = [c for c in codes if ctx.session.get(ServiceItem, c) is None]
    if unknown:
        raise NotFound(f"service item(s) {unknown[:5]} do not exist", what="item", items=unknown[:5])
    row = AgentAuthorisation(applicant_kind=kind, applicant_name=name, applicant_id_no=id_no,
                             applicant_user=applicant_user, agent_user=agent, scope=codes, valid_from=start,
                             valid_until=until, confirmed=confirmed, recorded_by=ctx.actor.id, status="active",
                             created_at=ctx.now)
    if scan is not None:
        path, digest, _ = store_file("authorisations", str(scan.get("filename") or "authorisation.pdf"),
                                     scan["content"])
        row.scan_filename, row.scan_path, row.scan_sha256 = str(scan.get("filename") or "authorisation.pdf")[:255], \
            path, digest
    ctx.session.add(row)
    ctx.session.flush()
    ctx.audit.data = {"authorisation": row.id, "agent": agent, "applicant": name, "confirmed": confirmed,
                      "scope": codes, "valid_until": until.isoformat()}
    return as_dict(row, today)


@command("agent.revoke")
def revoke(ctx: Ctx, authorisation_id: int) -> dict:
    """The applicant who granted it, window staff or an administrator ends an authorisation now."""
    row = ctx.session.get(AgentAuthorisation, authorisation_id) if isinstance(authorisation_id, int) else None
    if row is None:
        raise NotFound(f"authorisation {authorisation_id} does not exist", what="authorisation")
    if not (ctx.actor.is_admin or WINDOW_GROUP in ctx.groups() or row.applicant_user == ctx.actor.id):
        raise PermissionDenied("only the applicant who granted it or the window may revoke an authorisation",
                               refusal="not_applicant")
    if row.status != "active":
        from ..errors import InvalidState

        raise InvalidState(f"authorisation {row.id} is already {row.status}", refusal="wrong_status",
                           status=row.status)
    row.status, row.revoked_at, row.revoked_by = "revoked", ctx.now, ctx.actor.id
    ctx.audit.data = {"authorisation": row.id, "agent": row.agent_user}
    return as_dict(row, _local_today(ctx))


@command("identity.verify")
def verify_identity(ctx: Ctx, user_id: str, kind: str, name: str, id_no: str) -> dict:
    """实名认证: window staff saw the account holder's ID card (or the organisation's licence) in person."""
    if not (ctx.actor.is_admin or WINDOW_GROUP in ctx.groups()):
        raise PermissionDenied("only window staff verify an identity (实名认证)", refusal="needs_role")
    user = ctx.session.get(User, user_id) if isinstance(user_id, str) else None
    if user is None:
        raise NotFound(f"user '{user_id}' does not exist", what="user")
    kind, name, id_no = _identity(kind, name, id_no, "name")
    row = ctx.session.get(VerifiedIdentity, user_id) or VerifiedIdentity(user_id=user_id)
    row.kind, row.name, row.id_no, row.verified_by, row.verified_at = kind, name, id_no, ctx.actor.id, ctx.now
    ctx.session.add(row)
    ctx.audit.data = {"user": user_id, "kind": kind, "name": name}
    return {"user": user_id, "kind": kind, "name": name, "id_no": id_no, "verified_by": ctx.actor.id,
            "verified_at": ctx.now.isoformat()}


def until_default(today: date) -> date:
    """The validity a form proposes: one year."""
    return today + timedelta(days=365)
