"""The lists people page through: the staff inbox and case lists, in SQL.

Visibility is the rule of ``engine.inbox`` (``can_see_task``, ``can_see_case``) written as SQL, so a
page and its total come from the database however many rows there are. The inbox is one statement: one
page of ids in order (``limit``/``offset``; within the first ``WALK_LIMIT`` steps by walking the open
steps in order with per-row checks), that page's columns (the case, the card, the provisional mark,
whether the user may claim) by joins and correlated subqueries, and the total and the inbox's counts as
plain aggregates over the visible rows in a one-row subquery the page joins. A case list is one page
query and one count.
Set-based forms (the candidate set) keep the cost one pass over the visible rows, however they are
filtered or whichever page is asked for. A step's card is a column of its row (``human_task.card``, kept by
``engine.case_clock.cards_follow_clocks`` whenever a clock of its case changes), so counting cards reads
no clock.

The department rule reads each step's owner department (``human_task.department``, written when the step
opens: ``engine.inbox.task_department``), for open steps in the inbox and for open and closed ones in the
case rule. Candidates are read two ways, both from what the step was opened with: set-based from the indexed
``task_candidate`` rows (which open steps have), for a count over every open step; per row from the step's
own lists (``candidate_users``, ``candidate_groups``, what ``can_see_task`` reads), for a page walked in order
and for a reviewer's count, which starts from their department's steps.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (Integer, and_, case, cast, exists, extract, false, func, literal_column, not_, or_, select,
                        true)

from . import clock
from .calendar import LOCAL
from .errors import ValidationError
from .inbox import _privileged
from .models import ApprovalCase, CarbonCopy, Department, HumanTask, TaskCandidate, TaskStatus
from .models.calendar import CalendarYear
from .models.cases import CaseMaterial, CaseRating, CaseStatus
from .models.deadlines import Card
from .models.items import ServiceItem

MAX_LIMIT = 500
WALK_LIMIT = 1000  # a page without a total is read by walking the open steps in order up to this far
SCOPES = ("all", "mine", "group")
CARDS = Card.ORDER
CASE_STATUSES = CaseStatus.ALL
DUE_FILTERS = {"overdue": timedelta(0), "today": timedelta(days=1), "week": timedelta(days=7)}

_T, _C, _TC = HumanTask.__table__, ApprovalCase.__table__, TaskCandidate.__table__
_D, _Y = Department.__table__, CalendarYear.__table__
_I = ServiceItem.__table__  # the item's names (Chinese and English) shown on every row


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise ValidationError(f"limit must be 1..{MAX_LIMIT} and offset >= 0")


def _dialect(session) -> str:
    return session.get_bind().dialect.name


def _greatest(dialect: str, a, b):
    """SQL: the greater of two values (PostgreSQL's GREATEST, SQLite's two-argument MAX)."""
    return func.greatest(a, b) if dialect == "postgresql" else func.max(a, b)


def _local_year(dialect: str, column):
    """The calendar year of a UTC moment in Beijing time (no daylight saving since 1991)."""
    if dialect == "postgresql":
        return cast(extract("year", func.timezone(str(LOCAL), column)), Integer)
    return cast(func.strftime("%Y", column, "+8 hours"), Integer)


def _names(user_id: str, groups: list[str]):
    """A candidate row naming ``user_id`` or one of ``groups``."""
    return or_(and_(_TC.c.kind == "user", _TC.c.value == user_id),
               and_(_TC.c.kind == "group", _TC.c.value.in_(groups)) if groups else false())


def _on_row(dialect: str, column, values: list[str]):
    """Per row: the step's own JSON list ``column`` (``candidate_users`` or ``candidate_groups``, written with its
    ``task_candidate`` rows when the step opens and never changed) names one of ``values``, read from the row
    itself: no index lookup per step."""
    if not values:
        return false()
    if dialect == "postgresql":
        array = case((func.json_typeof(column) == "array", column), else_=literal_column("'[]'::json"))
        elements = func.json_array_elements_text(array).table_valued("value")
    else:
        array = case((func.json_type(column) == "array", column), else_="[]")
        elements = func.json_each(array).table_valued("value")
    return exists().select_from(elements).where(elements.c.value.in_(values))


def _is_candidate(user_id: str, groups: list[str], task):
    """Per row (for the rows of one page): ``user_id`` is a candidate user or in a candidate group."""
    return exists().where(_TC.c.task_id == task.c.id, _names(user_id, groups))


def _candidate_tasks(user_id: str, groups: list[str]):
    """The ids of the open tasks ``user_id`` is a candidate for: one set the database builds once."""
    return select(_TC.c.task_id).where(_names(user_id, groups))


def _department_rule(user: dict[str, Any]) -> bool:
    """Whether ``user`` sees only their department's steps (a reviewer without the window role)."""
    roles = set(user.get("roles") or [])
    return not _privileged(user) and "reviewer" in roles and "window" not in roles


def _task_visibility(user: dict[str, Any], joined, dialect: str, per_row: bool = False):
    """``inbox.can_see_task`` for open tasks: the FROM clause to use and the WHERE clause.

    Set-based (the candidate set of ``task_candidate`` rows built once per query) for a query that reads
    every open step, as the total of a reader without a department does; ``per_row`` (the candidates read
    from the step row's own lists) for a page that walks the open steps in order and stops after one
    page, and for the total of a reviewer, whose department's steps are read first (a shared group such
    as ``reviewer`` names most open steps: hashing its candidate rows cost more than the department's
    steps checked one by one).
    """
    if _privileged(user):
        return joined, true()
    me, groups = user["id"], sorted(set(user.get("groups") or []))
    if per_row:  # from the row (an EXISTS on task_candidate would be planned as a hash of the whole set)
        candidate = or_(_on_row(dialect, _T.c.candidate_users, [me]), _on_row(dialect, _T.c.candidate_groups, groups))
    else:
        candidate = _T.c.id.in_(_candidate_tasks(me, groups))
    rule = or_(_T.c.assignee == me, and_(_T.c.assignee.is_(None), candidate))
    if _department_rule(user):
        # A reviewer sees only their department's steps (the step's owner, ``human_task.department``) and those
        # of no owner.
        department = user.get("department")
        owned = _T.c.department.is_(None)
        rule = and_(rule, owned if department is None else or_(_T.c.department == department, owned))
    return joined, rule


_MEMBER = _C.alias("member")  # built once: an alias of the wide case table costs more to build than to run
_ACCEPT_FORM = "yimen:accept"


def _bundle_members():
    """The instances of the cases that are bundle members (few rows, on ix_approval_case_in_bundle)."""
    return select(_MEMBER.c.instance_id).where(_MEMBER.c.in_bundle == true())


def _not_a_bundle_acceptance():
    """一件事: a bundle member's acceptance step is decided with its bundle, which the inbox shows once
    (``engine.bundles.applications``), so the members' own acceptance steps are left out."""
    return or_(_T.c.form_key.is_(None), _T.c.form_key != _ACCEPT_FORM, _T.c.instance_id.not_in(_bundle_members()))


def _every_open_step_counts(me: str):
    """The inbox's total and counts for a reader who sees every open step (a supervisor, an administrator):
    each a count the database answers from an index (the open steps; the assigned ones; the few carded ones,
    ``ix_human_task_open_card``) instead of one pass over every open step. The bundle members' acceptance
    steps, which the inbox leaves out, are few: counted apart and taken off."""
    bundled = and_(_T.c.form_key == _ACCEPT_FORM, _T.c.instance_id.in_(_bundle_members()))  # the rule's converse

    def n(*where):
        return select(func.count()).select_from(_T).where(_T.c.status == TaskStatus.OPEN, *where).scalar_subquery()

    # each count once (the database would count again for every use of one), combined by ``_combined``
    return select(n().label("p_open"), n(bundled).label("p_bundled"),
                  n(_T.c.assignee.is_not(None)).label("p_assigned"),
                  n(_T.c.assignee.is_not(None), bundled).label("p_assigned_bundled"),
                  n(_T.c.assignee == me, _not_a_bundle_acceptance()).label("n_mine"),
                  *(n(_T.c.card == i, _T.c.card > 0, _not_a_bundle_acceptance()).label(f"n_{c}")
                    for i, c in enumerate(Card.ORDER) if i)).subquery("sums")


def _combined(totals) -> dict[str, Any]:
    """The total and counts from ``_every_open_step_counts``'s parts (other readers' come as they are)."""
    totals = dict(totals)
    if "p_open" in totals:
        every = int(totals["p_open"] or 0) - int(totals["p_bundled"] or 0)
        assigned = int(totals["p_assigned"] or 0) - int(totals["p_assigned_bundled"] or 0)
        totals.update({"n_total": every, "n_all": every, "n_group": every - assigned})
    return totals


def inbox(session, user: dict[str, Any], scope: str = "all", item: str | None = None, status: str | None = None,
          card: str | None = None, due: str | None = None, limit: int = 50, offset: int = 0,
          counts: bool = False, total: bool = True) -> dict[str, Any]:
    """One page of the open tasks ``user`` may see and work on, due soonest first (no due date last), then oldest.

    Filters: ``scope`` (all, ``mine``: assigned to me, ``group``: unclaimed), ``item`` and ``status`` of the
    case, ``card`` (the worse of the step's and the case's clock), ``due`` (overdue, today, week).
    ``counts=True`` adds what the inbox's links show: all, mine, group and each card, under the item filter
    alone. Each item is ``queries.task_dict`` with ``case``, ``card`` and ``may_claim``.

    Without a card filter and within the first ``WALK_LIMIT`` steps, the page is read by walking the open
    steps in order (``ix_human_task_open_due``), checking each one, and stopping after ``offset + limit + 1``
    visible steps: its cost follows the page asked for, not the number of steps the reader may see. A card
    filter (a few steps in many) or a later page is read from the visible set. The total (and the counts)
    are one aggregate pass over the visible rows; ``total=False`` (without ``counts``) leaves it out and
    answers ``has_more`` instead.
    """
    _check_page(limit, offset)
    if scope not in SCOPES:
        raise ValidationError(f"scope is one of {', '.join(SCOPES)}")
    if card is not None and card not in Card.ORDER:
        raise ValidationError(f"card is one of {', '.join(Card.ORDER)}")
    if due is not None and due not in DUE_FILTERS:
        raise ValidationError(f"due is one of {', '.join(DUE_FILTERS)}")
    dialect, me = _dialect(session), user["id"]
    # A page without a card filter within the first WALK_LIMIT steps is read by walking the open steps in order
    # with per-row checks; the total and the counts, when asked for, by one aggregate over the visible set.
    walk = not card and offset + limit <= WALK_LIMIT
    # the steps alone (the rule reads the step's own department); their cases only to filter by item or status
    base = _T.outerjoin(_C, _C.c.instance_id == _T.c.instance_id) if item or status else _T

    def visible_of(per_row: bool):
        joined, rule = _task_visibility(user, base, dialect, per_row=per_row)
        return joined, [_T.c.status == TaskStatus.OPEN, rule, _not_a_bundle_acceptance(),
                        *([_C.c.item_code == item] if item else [])]

    # the total and counts: a reviewer's from their department's steps checked one by one, others' set-based
    joined, visible = visible_of(per_row=_department_rule(user))
    rank = _T.c.card  # the step's card, kept on its row by the case clock (engine.case_clock.cards_follow_clocks)
    narrow = []
    if scope == "mine":
        narrow.append(_T.c.assignee == me)
    elif scope == "group":
        narrow.append(_T.c.assignee.is_(None))
    if status:
        narrow.append(_C.c.status == status)
    if card:  # the few carded open steps, from ix_human_task_open_card (a card filter is never walked)
        narrow.append(rank == Card.ORDER.index(card))
        if card != Card.NORMAL:
            narrow.append(rank > 0)  # the index's own condition, so the planner may use it
    if due:
        narrow.append(and_(_T.c.due.is_not(None), _T.c.due <= clock.now() + DUE_FILTERS[due]))
    in_view = and_(*narrow) if narrow else true()

    def tally(condition):
        return func.sum(case((condition, 1), else_=0))

    # The page: ``limit + 1`` ids in order after ``offset`` (the one past the page says whether there are more).
    page_from, page_where = visible_of(per_row=True) if walk else (joined, visible)
    page = (select(_T.c.id.label("page_id"), _T.c.due.label("page_due"), _T.c.created_at.label("page_created"))
            .select_from(page_from).where(*page_where, *narrow)
            .order_by(_T.c.due.asc().nulls_last(), _T.c.created_at, _T.c.id).limit(limit + 1).offset(offset)
            .subquery("page"))
    # The total and the counts: plain aggregates over the visible rows, in the same statement (one row, which
    # the page's rows join, so a page past the end still carries them).
    if counts and _privileged(user) and not item and not narrow:
        sums = _every_open_step_counts(me)
    elif counts:
        sums = (select(tally(in_view).label("n_total"), func.count().label("n_all"),
                       tally(_T.c.assignee == me).label("n_mine"), tally(_T.c.assignee.is_(None)).label("n_group"),
                       *(tally(rank == i).label(f"n_{c}") for i, c in enumerate(Card.ORDER) if i))
                .select_from(joined).where(*visible).subquery("sums"))
    elif total:
        sums = (select(func.count().label("n_total")).select_from(joined)
                .where(*visible, *narrow).subquery("sums"))
    else:
        sums = None
    rows_of_page = (_T.join(page, page.c.page_id == _T.c.id).outerjoin(_C, _C.c.instance_id == _T.c.instance_id)
                    .outerjoin(_I, _I.c.code == _C.c.item_code))
    provisional = and_(_T.c.due.is_not(None), not_(exists().where(_Y.c.year == _local_year(dialect, _T.c.due))))
    may_claim = and_(_T.c.assignee.is_(None),
                     true() if user.get("admin") else _is_candidate(me, sorted(set(user.get("groups") or [])), _T))
    stmt = (select(_T, _C.c.id.label("case_id"), _C.c.number.label("case_number"),
                   _C.c.item_code.label("case_item"), _C.c.status.label("case_status"),
                   _I.c.name.label("case_item_name"), _I.c.name_en.label("case_item_name_en"),
                   _C.c.applicant_name.label("case_applicant"),
                   rank.label("card_rank"),
                   case((provisional, True), else_=False).label("provisional"),
                   case((may_claim, True), else_=False).label("may_claim"),
                   *(sums.c if sums is not None else ()))
            .select_from(sums.outerjoin(rows_of_page, true()) if sums is not None else rows_of_page)
            .order_by(page.c.page_due.asc().nulls_last(), page.c.page_created, page.c.page_id))
    found = list(session.execute(stmt))
    totals = _combined(found[0]._mapping) if found and sums is not None else {}
    found = [row for row in found if row.id is not None]
    more = len(found) > limit  # the page read one step past itself
    found = found[:limit]
    out = {"items": [_task_item(row) for row in found], "limit": limit, "offset": offset}
    if not total and not counts:
        out["has_more"] = more
        return out
    out["total"] = int(totals["n_total"] or 0)
    if counts:
        out["counts"] = {"all": int(totals["n_all"] or 0), "mine": int(totals["n_mine"] or 0),
                         "group": int(totals["n_group"] or 0),
                         "cards": {c: int(totals[f"n_{c}"] or 0) for c in Card.ORDER[1:]}}
    return out


def _task_item(row) -> dict[str, Any]:
    return {"due_provisional": bool(row.provisional),
            "id": row.id, "instance": row.instance_id, "element_id": row.element_id, "name": row.name,
            "name_en": row.name_en, "lane": row.lane, "assignee": row.assignee, "candidate_users": list(row.candidate_users or []),
            "candidate_groups": list(row.candidate_groups or []), "due": row.due.isoformat() if row.due else None,
            "form_key": row.form_key, "status": row.status, "created": row.created_at.isoformat(),
            "case": {"id": row.case_id, "number": row.case_number, "item": row.case_item, "status": row.case_status,
                     "item_name": row.case_item_name, "item_name_en": row.case_item_name_en,
                     "applicant": row.case_applicant} if row.case_id is not None else None,
            "card": Card.ORDER[int(row.card_rank or 0)], "may_claim": bool(row.may_claim)}


# --- cases ------------------------------------------------------------------------------

def _case_visibility(dialect: str, user: dict[str, Any]):
    """``inbox.can_see_case`` as a WHERE clause on ``approval_case``."""
    if _privileged(user):
        return true()
    roles = set(user.get("roles") or [])
    if "window" in roles:
        return true()  # 一窗受理: the window accepts for every department
    me = user["id"]
    copied = CarbonCopy.__table__
    rule = [_C.c.applicant_user == me, _C.c.agent_user == me,
            _C.c.instance_id.in_(select(copied.c.instance_id).where(copied.c.user_id == me))]
    department = user.get("department")
    if "reviewer" in roles and department is not None:
        rule += [_C.c.office_code == department, _C.c.instance_id.in_(_steps_of(department))]
    return or_(*rule)


def _steps_of(department: str):
    """The instances with a step (open or closed) of ``department`` (``ix_human_task_department_instance``)."""
    steps = _T.alias("step")
    return select(steps.c.instance_id).where(steps.c.department == department)


def _local_start(day: date | datetime | str) -> datetime:
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError as exc:
            raise ValidationError(f"'{day}' is not a date (YYYY-MM-DD)") from exc
    if isinstance(day, datetime):
        return day
    return datetime.combine(day, time.min, tzinfo=LOCAL)


def in_period(column, date_from: date | datetime | str | None, date_to: date | datetime | str | None) -> list:
    """WHERE clauses keeping ``column`` within local dates ``date_from``..``date_to`` (both included).

    A date is included whole; a moment (datetime) is the first or the last one included.
    """
    where = []
    if date_from:
        where.append(column >= _local_start(date_from))
    if date_to:
        end = _local_start(date_to)
        where.append(column <= end if isinstance(date_to, datetime) else column < end + timedelta(days=1))
    return where


def page_of(session, columns: list, source, where: list, order: list, limit: int, offset: int,
            item=lambda row: dict(row._mapping)) -> dict[str, Any]:
    """One page of ``source`` rows (``columns``, ``where``, ``order``) with the total, in one statement.

    The total rides on the page's rows as a window count; only a page past the end, which has no row to
    carry it, costs a second (count) query. ``source`` joins only to-one rows, so each row is one entry.
    """
    _check_page(limit, offset)
    stmt = (select(*columns, func.count().over().label("n_total")).select_from(source).where(*where)
            .order_by(*order).limit(limit).offset(offset))
    found = list(session.execute(stmt))
    if found:
        total = found[0].n_total
    elif offset == 0:
        total = 0
    else:
        total = session.scalar(select(func.count()).select_from(source).where(*where))
    return {"items": [item(row) for row in found], "total": int(total or 0), "limit": limit, "offset": offset}


def _prefix(column, text: str):
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(escaped + "%", escape="\\")


def cases(session, user: dict[str, Any], status: str | None = None, item: str | None = None,
          number: str | None = None, applicant: str | None = None, id_no: str | None = None,
          submitted_from: date | datetime | str | None = None, submitted_to: date | datetime | str | None = None,
          level: str | None = None, region: str | None = None,
          limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """One page of the cases ``user`` may see, newest first, with a correct total.

    放权 filters (the supervisor's view by level): ``level`` (province, city, county, zone: the level of the
    handling office) and ``region`` (the applicant's region, a county or zone department id).

    Filters: ``status``, ``item``, ``number`` (the whole number or its beginning), ``applicant`` (the
    beginning of the name), ``id_no`` (exactly), ``submitted_from`` / ``submitted_to`` (local dates, both
    included). Each item carries ``to_do``: what the applicant still has to do (correct, supplement, rate).
    """
    _check_page(limit, offset)
    if status is not None and status not in CaseStatus.ALL:
        raise ValidationError(f"status is one of {', '.join(CaseStatus.ALL)}")
    dialect = _dialect(session)
    where = [_case_visibility(dialect, user)]
    if status:
        where.append(_C.c.status == status)
    if item:
        where.append(_C.c.item_code == item)
    if number:
        where.append(_prefix(_C.c.number, number))
    if applicant:
        where.append(_prefix(_C.c.applicant_name, applicant))
    if id_no:
        where.append(_C.c.applicant_id_no == id_no)
    where += in_period(_C.c.submitted_at, submitted_from, submitted_to)  # dates included whole
    if level:
        from .models.items import LEVELS

        if level not in LEVELS:
            raise ValidationError(f"level is one of {', '.join(LEVELS)}", refusal="one_of", field="level")
        where.append(_C.c.office_code.in_(select(_D.c.id).where(_D.c.level == level)))
    if region:
        where.append(_C.c.region == region)

    page = select(_C.c.id.label("page_id")).where(*where).order_by(_C.c.id.desc()).limit(limit).offset(offset) \
        .subquery("page")
    me = user["id"]
    materials, ratings = CaseMaterial.__table__, CaseRating.__table__
    rated = exists().where(ratings.c.case_id == _C.c.id)
    missing = exists().where(materials.c.case_id == _C.c.id, materials.c.status == "missing",
                             materials.c.required.is_(True))
    todo = case(
        (_C.c.status == CaseStatus.CORRECTION_REQUESTED, "correct"),
        (_C.c.status.in_(CaseStatus.FINAL), case((rated, None), else_="rate")),
        (and_(_C.c.accepted_at.is_not(None), missing), "supplement"),
        else_=None)
    to_do = case((or_(_C.c.applicant_user == me, _C.c.agent_user == me), todo), else_=None)  # only on my own
    stmt = (select(_C.c.id, _C.c.number, _C.c.item_code, _C.c.status, _C.c.office_code, _C.c.applicant_name,
                   _C.c.region, _C.c.route_mode, _D.c.level.label("office_level"),
                   _C.c.submitted_at, _C.c.accepted_at, _C.c.concluded_at, _C.c.instance_id, to_do.label("to_do"),
                   _I.c.name.label("item_name"), _I.c.name_en.label("item_name_en"),
                   _D.c.name.label("office_name"), _D.c.name_en.label("office_name_en"))
            .select_from(_C.join(page, page.c.page_id == _C.c.id).outerjoin(_I, _I.c.code == _C.c.item_code)
                         .outerjoin(_D, _D.c.id == _C.c.office_code)).order_by(_C.c.id.desc()))
    items = [{"id": r.id, "number": r.number, "item": r.item_code, "status": r.status, "office": r.office_code,
              "office_level": r.office_level, "region": r.region, "route_mode": r.route_mode,
              "item_name": r.item_name, "item_name_en": r.item_name_en, "office_name": r.office_name,
              "office_name_en": r.office_name_en,
              "applicant": r.applicant_name, "instance": r.instance_id, "submitted": r.submitted_at.isoformat(),
              "accepted": r.accepted_at.isoformat() if r.accepted_at else None,
              "concluded": r.concluded_at.isoformat() if r.concluded_at else None, "to_do": r.to_do}
             for r in session.execute(stmt)]
    total = session.scalar(select(func.count()).select_from(_C).where(*where))
    return {"items": items, "total": int(total), "limit": limit, "offset": offset}
