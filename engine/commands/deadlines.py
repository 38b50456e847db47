"""Advance deadline watches whose moment has come: warnings, cards, escalation, Art. 32.

The sweep claims one due watch at a time (``FOR UPDATE SKIP LOCKED``, see
``engine.commands.timers.claim_due``), so several scheduler processes can run
it together and each warning, card and escalation happens once.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from .. import case_clock
from ..cases import LOCAL
from ..context import Ctx, command
from ..models import ApprovalCase, HumanTask, Membership, TaskStatus, User
from ..models.cases import CaseStatus
from ..models.deadlines import Card, DeadlineWatch, WatchKind
from ..models.supervision import CardStatus, IssuedCard
from ..notify import notify_user
from .timers import NothingDue, _blame, claim_due

SUPERVISOR_GROUP = "supervisor"


@command("clock.advance")
def advance_next_watch(ctx: Ctx, until: datetime, skip: set[int]) -> dict:
    """Claim one due watch and move it to the state its deadlines say."""
    watch = claim_due(ctx, DeadlineWatch, DeadlineWatch.next_change_at, until, skip,
                      DeadlineWatch.active.is_(True))
    with _blame(watch.instance_id):
        ctx.audit.instance_id, ctx.audit.task_id = watch.instance_id, watch.task_id
        if watch.kind == WatchKind.ACCEPTANCE:
            return _deemed_accepted(ctx, watch)
        if watch.kind == WatchKind.SUPPLEMENT:
            return _supplement_overdue(ctx, watch)
        return _advance(ctx, watch, until)


def _supplement_overdue(ctx: Ctx, watch: DeadlineWatch) -> dict:
    """容缺: the missing materials did not arrive by their deadline: the case ends, wherever it stands.

    (The diagram's own timer does the same once the decision is made; this is for a deadline that passes while
    the case is still under review.)
    """
    from .. import runtime
    from ..cases import APPEAL_RIGHTS, issue_notice
    from ..models import CaseMaterial

    case = ctx.session.get(ApprovalCase, watch.case_id)
    case_clock.stop(ctx, watch)
    missing = [m.name for m in ctx.session.scalars(select(CaseMaterial).where(
        CaseMaterial.case_id == case.id, CaseMaterial.required.is_(True), CaseMaterial.status != "received"))]
    if case.status in CaseStatus.FINAL or not missing:
        ctx.audit.data = {"watch": watch.id, "case": case.number, "terminated": False}
        return {"ok": True, "instance": watch.instance_id, "watch": watch.id, "terminated": False}
    reason = f"容缺受理后逾期未补齐材料：{'、'.join(missing)}"  # materials still missing after the supplement deadline
    runtime.end_instance(ctx, runtime.load(ctx, case.instance_id), reason, outcome=CaseStatus.TERMINATED)
    issue_notice(ctx, case, "terminated", {"reason": reason, "missing": missing,
                                           "supplement_due": watch.promised_due.isoformat(),
                                           "appeal_rights": APPEAL_RIGHTS})
    ctx.audit.data = {"watch": watch.id, "case": case.number, "terminated": True, "missing": missing}
    return {"ok": True, "instance": watch.instance_id, "watch": watch.id, "terminated": True}


def _advance(ctx: Ctx, watch: DeadlineWatch, until: datetime) -> dict:
    before = watch.state
    after = case_clock.state_at(watch, until)
    if Card.ORDER.index(after) <= Card.ORDER.index(before):
        watch.next_change_at = case_clock.next_change(watch)
        ctx.audit.data = {"watch": watch.id, "state": before, "changed": False}
        return {"ok": True, "instance": watch.instance_id, "watch": watch.id, "state": before}
    watch.state = after
    watch.next_change_at = case_clock.next_change(watch)
    case = ctx.session.get(ApprovalCase, watch.case_id) if watch.case_id else None
    # told to people in Chinese, by names (the step's, never its element id)
    what = f"办件 {case.number}" if case else f"流程实例 {watch.instance_id}"
    # what the notices say, as parameters too, so the English pages can say it (web/notices.py)
    about = {"case_number": case.number if case else None, "instance": watch.instance_id, "step": None,
             "step_en": None, "rectification": watch.kind == WatchKind.RECTIFICATION}
    if watch.kind == WatchKind.STEP:
        step = ctx.session.get(HumanTask, watch.task_id) if watch.task_id else None
        about["step"] = (step.name if step else None) or watch.element_id
        about["step_en"] = step.name_en if step else None
        what += f"「{about['step']}」环节"
    if watch.kind == WatchKind.RECTIFICATION:
        what += "差评整改"
    actions: list[str] = []
    if after == Card.WARNING:
        _tell_handlers(ctx, watch, case, f"预警：{what}将于 {_local(watch.promised_due)} 到期",
                       {**about, "due": _local(watch.promised_due)})
        actions.append("warned")
    if after in (Card.YELLOW, Card.RED) and (watch.kind == WatchKind.CASE or "card" in (watch.escalation or [])):
        card = _issue_card(ctx, watch, after, what, about)
        actions.append(f"card:{card.status}")
    if after == Card.YELLOW and watch.kind == WatchKind.STEP:
        actions += _escalate(ctx, watch, case, what, about)
    ctx.audit.data = {"watch": watch.id, "kind": watch.kind, "from": before, "to": after, "actions": actions,
                      "case": case.number if case else None}
    return {"ok": True, "instance": watch.instance_id, "watch": watch.id, "state": after, "actions": actions}


def _local(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _issue_card(ctx: Ctx, watch: DeadlineWatch, color: str, what: str, about: dict) -> IssuedCard:
    limit = "法定时限" if color == Card.RED else "承诺时限"  # legal or promised limit
    due = _card_due(watch, color)
    status = CardStatus.PENDING if watch.card_mode == "confirm" else CardStatus.ISSUED
    card = IssuedCard(watch_id=watch.id, case_id=watch.case_id, task_id=watch.task_id, color=color, status=status,
                      department=watch.department, reason=f"{what}已超过{limit}（{_local(due)}）",
                      issued_at=ctx.now)
    ctx.session.add(card)
    ctx.session.flush()
    params = {**about, "color": color, "due": _local(due), "limit": _card_limit(color),
              "pending": status == CardStatus.PENDING}
    for user in supervisors(ctx.session):
        notify_user(ctx, user, card_subject(color, what), card.reason, {"card": card.id, "status": status},
                    instance_id=watch.instance_id, kind="card", params=params)
    if status == CardStatus.ISSUED:
        tell_card_issued(ctx, card, params)
    return card


CARD_LABELS = {Card.YELLOW: "黄牌", Card.RED: "红牌"}


def _card_due(watch: DeadlineWatch, color: str) -> datetime | None:
    """A red card is for the legal limit, a yellow one for the promised limit."""
    return watch.legal_due if color == Card.RED else watch.promised_due


def _card_limit(color: str) -> str:
    return "legal" if color == Card.RED else "promised"


def card_subject(color: str, what: str) -> str:
    return f"{CARD_LABELS.get(color, color)}：{what}"


def card_params(ctx: Ctx, card: IssuedCard) -> dict:
    """The parameters a card's notice keeps (for the English pages) when only the card is at hand."""
    case = ctx.session.get(ApprovalCase, card.case_id) if card.case_id else None
    step = ctx.session.get(HumanTask, card.task_id) if card.task_id else None
    watch = ctx.session.get(DeadlineWatch, card.watch_id) if card.watch_id else None
    due = _card_due(watch, card.color) if watch else None
    return {"case_number": case.number if case else None, "step": step.name if step else None,
            "step_en": step.name_en if step else None, "color": card.color, "reason": card.reason,
            "due": _local(due) if due else None, "limit": _card_limit(card.color),
            "rectification": bool(watch and watch.kind == WatchKind.RECTIFICATION),
            "instance": watch.instance_id if watch else None}


def tell_card_issued(ctx: Ctx, card: IssuedCard, params: dict) -> None:
    """A card issued (at once, or confirmed by a supervisor) is told to the responsible department's staff."""
    what = f"办件 {params['case_number']}" if params.get("case_number") else f"第 {card.id} 号"
    if params.get("step"):
        what += f"「{params['step']}」环节"
    for user in department_staff(ctx.session, card.department):
        notify_user(ctx, user, card_subject(card.color, what), card.reason, {"card": card.id},
                    instance_id=params.get("instance"), kind="card", params={**params, "pending": False})


def _escalate(ctx: Ctx, watch: DeadlineWatch, case: ApprovalCase | None, what: str, about: dict) -> list[str]:
    """The step's escalation actions (yimen.escalation), run once when it becomes overdue."""
    done: list[str] = []
    row = ctx.session.get(HumanTask, watch.task_id) if watch.task_id else None
    if row is None or row.status != TaskStatus.OPEN:
        return done
    for action in watch.escalation or []:
        if action == "notify_supervisor":
            for user in supervisors(ctx.session):
                notify_user(ctx, user, f"超期：{what}", f"{what}已超过承诺时限（{_local(watch.promised_due)}）",
                            {"task": row.id}, instance_id=row.instance_id, kind="overdue",
                            params={**about, "due": _local(watch.promised_due)})
            done.append(action)
        elif action == "reassign_backup" and row.assignee:
            from ..inbox import receiver_problem

            holder = ctx.session.get(User, row.assignee)
            if holder is not None and holder.backup_user_id and not receiver_problem(ctx.session, row,
                                                                                        holder.backup_user_id):
                previous, row.assignee = row.assignee, holder.backup_user_id
                before = holder.display_name or previous
                notify_user(ctx, row.assignee, f"AB岗代办：{what}", f"{what}已超期，已由{before}转给您办理。",
                            {"task": row.id}, instance_id=row.instance_id, kind="backup_overdue",
                            params={**about, "from": before})
                done.append(f"{action}:{previous}->{row.assignee}")
        elif action in ("auto_approve", "auto_reject") and case is not None:
            from ..completion import finish_step

            approved = action == "auto_approve"
            opinion = f"系统自动{'通过' if approved else '不予通过'}：超过步骤时限"  # automatic decision: limit passed
            finish_step(ctx, row, {"approved": approved, "opinion": opinion}, case=case,
                        decision="approved" if approved else "rejected", opinion=opinion)
            done.append(action)
            break
    return done


def _deemed_accepted(ctx: Ctx, watch: DeadlineWatch) -> dict:
    """Art. 32: no acceptance decision and no correction notice in 5 working days → accepted as of receipt."""
    from .cases import ACCEPT_FORM, accept_case

    case = ctx.session.get(ApprovalCase, watch.case_id)
    row = ctx.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == case.instance_id, HumanTask.status == TaskStatus.OPEN,
        HumanTask.form_key == ACCEPT_FORM)).first()
    case_clock.stop(ctx, watch)
    if case.status != CaseStatus.SUBMITTED or row is None:
        ctx.audit.data = {"watch": watch.id, "case": case.number, "deemed_accepted": False}
        return {"ok": True, "instance": watch.instance_id, "watch": watch.id, "deemed_accepted": False}
    # deemed accepted as of receipt: no decision within 5 working days (Art. 32)
    accept_case(ctx, case, row, "依《行政许可法》第三十二条，逾期未作出受理决定，自收到申请之日起即为受理",
                watch.started_at, "deemed_accepted")
    from ..bundles import after_member_accepted

    after_member_accepted(ctx, case)  # 一件事: the bundle is accepted once all its members are
    ctx.audit.data = {"watch": watch.id, "case": case.number, "deemed_accepted": True,
                      "as_of": watch.started_at.isoformat()}
    return {"ok": True, "instance": watch.instance_id, "watch": watch.id, "deemed_accepted": True}


def _tell_handlers(ctx: Ctx, watch: DeadlineWatch, case: ApprovalCase | None, text: str, params: dict) -> None:
    from .notices import current_handlers

    row = ctx.session.get(HumanTask, watch.task_id) if watch.task_id else None
    people = current_handlers(ctx, watch.instance_id)
    if watch.kind == WatchKind.RECTIFICATION:  # 整改 is the responsible department's
        people = department_staff(ctx.session, watch.department)
    if watch.kind == WatchKind.LICENCE:  # 制证 is the window's: its staff are warned
        people = sorted(set(ctx.session.scalars(select(Membership.user_id).where(Membership.group_id == "window"))))
    if row is not None:  # a step's warning goes to that step's people only
        people = [row.assignee] if row.assignee else [p for p in people if p in (row.candidate_users or [])
                                                      or _in_groups(ctx, p, row.candidate_groups)]
    for user in people:
        notify_user(ctx, user, text, text, {"watch": watch.id}, instance_id=watch.instance_id,
                    kind="deadline_warning", params=params)


def _in_groups(ctx: Ctx, user: str, groups) -> bool:
    return bool(groups) and ctx.session.scalars(select(Membership.id).where(
        Membership.user_id == user, Membership.group_id.in_(list(groups))).limit(1)).first() is not None


def supervisors(session) -> list[str]:
    return sorted(set(session.scalars(select(Membership.user_id).where(Membership.group_id == SUPERVISOR_GROUP))))


def department_staff(session, department: str | None) -> list[str]:
    if not department:
        return []
    return sorted(session.scalars(select(User.id).where(User.department_id == department, User.active.is_(True))))


__all__ = ["advance_next_watch", "NothingDue"]
