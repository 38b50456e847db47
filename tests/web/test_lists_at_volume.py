"""Inboxes and case lists at volume: 2,500 open review steps over three departments sharing one candidate group.

The rows are copies of what the engine wrote for real cases (``bench.lists.build_volume``); what each
person should see is worked out row by row with the rule the task and case pages apply
(``inbox.can_see_task``, ``inbox.can_see_case``), and the lists, which say it in SQL, must agree:
the right total, every row on exactly one page, nothing of another department.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bench.lists import build_supervision, build_volume
from engine import clock, inbox
from engine.calendar import LOCAL
from engine.models import ApprovalCase, CarbonCopy, Department, HumanTask, Incident
from engine.models.deadlines import Card, DeadlineWatch, WatchKind
from engine.models.supervision import IssuedCard, SupervisionOrder

from .test_api import client
from .test_pages import signed_in

REVIEW_TASKS, WINDOW_CASES = 2_500, 150
STAFF = ("li", "zhou", "xia", "zhao", "wang", "sun")
READERS = (*STAFF, "zhang")


@pytest.fixture
def volume(app):
    y = app.extensions["yimen"]
    build_volume(y, REVIEW_TASKS, WINDOW_CASES)
    return y


def _open_tasks(y) -> dict:
    """Every open task with its case, owner and card, read row by row (the expectation's side)."""
    with y.session() as s:
        departments = set(s.scalars(select(Department.id)))
        cases = {c.instance_id: c for c in s.scalars(select(ApprovalCase))}
        watches = list(s.scalars(select(DeadlineWatch).where(DeadlineWatch.active.is_(True))))
        out = {}
        for row in s.scalars(select(HumanTask).where(HumanTask.status == "open")):
            case = cases.get(row.instance_id)
            states = [w.state for w in watches if w.task_id == row.id
                      or (case is not None and w.case_id == case.id and w.kind == WatchKind.CASE)]
            owner = inbox.task_department(row.candidate_groups, case.office_code if case else None, departments)
            assert row.department == owner, (row.id, row.candidate_groups, row.department)  # the column the rules read
            out[row.id] = {"row": row, "case": case, "owner": owner,
                           "card": max(states, key=Card.ORDER.index, default=Card.NORMAL)}
        s.expunge_all()
        return {"tasks": out, "departments": departments}


def _may_work(y, user, known) -> set[str]:
    with y.session() as s:
        return {t for t, v in known["tasks"].items()
                if inbox.can_see_task(s, user, v["row"])}


def _walk(fetch, size: int) -> tuple[list[str], set[int]]:
    """Every id over all pages, in order, and the totals each page reported."""
    ids, totals, offset = [], set(), 0
    while True:
        page = fetch(size, offset)
        totals.add(page["total"])
        ids += [item["id"] for item in page["items"]]
        if len(page["items"]) < size:
            return ids, totals
        offset += size


def test_each_inbox_holds_exactly_the_tasks_its_reader_may_work_on(volume, app):
    """Totals equal the rule's count, every task is on exactly one page, due soonest first, no other department's."""
    known = _open_tasks(volume)
    assert len(known["tasks"]) >= REVIEW_TASKS + WINDOW_CASES
    expected_sizes = {}
    for who in STAFF:
        user = volume.user(who)
        expected = _may_work(volume, user, known)
        ids, totals = _walk(lambda size, offset: volume.inbox(user, limit=size, offset=offset), 200)
        assert totals == {len(expected)}, who
        assert len(ids) == len(set(ids)), f"{who}: a task on two pages"
        assert set(ids) == expected, who
        rows = [known["tasks"][i]["row"] for i in ids]
        assert [(r.due is None, r.due, r.created_at, r.id) for r in rows] == sorted(
            (r.due is None, r.due, r.created_at, r.id) for r in rows), f"{who}: not due soonest first"
        if user["roles"] == ["reviewer"]:
            assert {known["tasks"][i]["owner"] for i in ids} <= {user["department"], None}, who
        expected_sizes[who] = len(expected)
    # Three departments' reviewers share the group 'reviewer': each sees its own share, none the lot.
    assert all(200 < expected_sizes[w] < REVIEW_TASKS for w in ("li", "zhou", "xia")), expected_sizes
    assert expected_sizes["sun"] == len(known["tasks"])
    assert expected_sizes["wang"] >= WINDOW_CASES

    # The API pages the same list, and the inbox page reports the same total.
    for who in ("zhou", "sun"):
        api = client(app, who)
        ids, totals = _walk(lambda size, offset: api.get(f"/api/tasks?limit={size}&offset={offset}").json, 500)
        assert totals == {expected_sizes[who]} and len(ids) == len(set(ids)) == expected_sizes[who]
    xia, expected = signed_in(app, "xia"), _may_work(volume, volume.user("xia"), known)
    seen, page = [], 1
    while True:
        html = xia.get(f"/inbox?page={page}").data.decode()
        assert f'data-total="{len(expected)}"' in html
        rows = re.findall(r'<tr data-task="([^"]+)"', html)
        seen += rows
        if 'data-page="%d"' % (page + 1) not in html:
            break
        page += 1
    assert len(seen) == len(set(seen)) and set(seen) == expected and page == -(-len(expected) // 50)
    for who in STAFF:
        shown = re.search(r'data-total="(\d+)"', signed_in(app, who).get("/inbox").data.decode()).group(1)
        assert int(shown) == client(app, who).get("/api/tasks").json["total"] == expected_sizes[who], who


def test_an_inbox_without_its_total_pages_the_same_tasks_and_says_when_there_are_more(volume, app):
    """``?total=false``: the same pages as with the total (the walk in order for the first 1,000 steps, then
    the counted query), ``has_more`` true until the last page, and no total; also under a scope and a card."""
    known = _open_tasks(volume)
    for who in ("li", "xia", "wang", "sun"):
        api, expected = client(app, who), _may_work(volume, volume.user(who), known)
        for query in ("", "&scope=group", "&card=red", "&item=330100-XK-001"):
            counted, offset, size = [], 0, 150
            while True:
                with_total = api.get(f"/api/tasks?limit={size}&offset={offset}{query}").json
                page = api.get(f"/api/tasks?limit={size}&offset={offset}&total=false{query}").json
                assert "total" not in page and page["items"] == with_total["items"], (who, query, offset)
                counted += [t["id"] for t in page["items"]]
                assert page["has_more"] == (offset + size < with_total["total"]), (who, query, offset)
                if not page["has_more"]:
                    break
                offset += size
            assert len(counted) == len(set(counted)) == with_total["total"], (who, query)
            if not query:
                assert set(counted) == expected, who
                assert who != "sun" or offset + size > 1000  # the supervisor's pages go past the walk's reach


def test_inbox_filters_and_counts_agree_with_the_rule(volume):
    """Scope, item, case status, card and due filters, the counts beside the links, a page past the end."""
    known = _open_tasks(volume)
    horizon = {"overdue": timedelta(0), "today": timedelta(days=1), "week": timedelta(days=7)}
    now = clock.now()
    for who in ("li", "sun"):
        user = volume.user(who)
        mine = {t: known["tasks"][t] for t in _may_work(volume, user, known)}
        listed = volume.inbox(user, limit=20, counts=True)
        assert listed["counts"] == {
            "all": len(mine), "mine": sum(v["row"].assignee == who for v in mine.values()),
            "group": sum(v["row"].assignee is None for v in mine.values()),
            "cards": {c: sum(v["card"] == c for v in mine.values()) for c in ("warning", "yellow", "red")}}
        for item in {v["case"].item_code for v in mine.values()}:
            want = {t for t, v in mine.items() if v["case"].item_code == item}
            got = volume.inbox(user, item=item, limit=500, counts=True)
            assert got["total"] == got["counts"]["all"] == len(want), (who, item)
        checks = {
            "scope=mine": ({"scope": "mine"}, lambda v: v["row"].assignee == who),
            "scope=group": ({"scope": "group"}, lambda v: v["row"].assignee is None),
            "status": ({"status": "submitted"}, lambda v: v["case"].status == "submitted"),
            **{f"card={c}": ({"card": c}, lambda v, c=c: v["card"] == c) for c in Card.ORDER},
            **{f"due={d}": ({"due": d}, lambda v, h=h: v["row"].due is not None and v["row"].due <= now + h)
               for d, h in horizon.items()},
        }
        for label, (filters, keep) in checks.items():
            want = {t for t, v in mine.items() if keep(v)}
            ids, totals = _walk(lambda size, offset: volume.inbox(user, limit=size, offset=offset, **filters), 300)
            assert totals == {len(want)} and len(ids) == len(want) and set(ids) == want, (who, label)
            with_counts = volume.inbox(user, limit=5, counts=True, **filters)
            assert with_counts["total"] == len(want) and with_counts["counts"] == listed["counts"], (who, label)
        beyond = volume.inbox(user, offset=len(mine) + 10, limit=10, counts=True, card="red")
        assert beyond["items"] == [] and beyond["counts"] == listed["counts"]
        assert beyond["total"] == sum(v["card"] == "red" for v in mine.values())
        for item in volume.inbox(user, limit=50)["items"]:
            v = known["tasks"][item["id"]]
            assert item["card"] == v["card"] and item["case"]["number"] == v["case"].number
            assert item["may_claim"] == (v["row"].assignee is None and (
                who in v["row"].candidate_users or bool(set(user["groups"]) & set(v["row"].candidate_groups))))


def test_inbox_counts_equal_the_visible_set_of_each_reader(volume):
    """The total and the counts beside the inbox's links (all, mine, group, each card) are the rule's visible set
    counted row by row, for the reviewers of three departments (read through their department), window staff
    (one holding a claimed step), the supervisor (every open step) and the applicant (none)."""
    for who in ("wang", "li"):  # a claimed step each, so 'mine' counts something for both kinds of reader
        unclaimed = volume.inbox(volume.user(who), scope="group", limit=1)["items"][0]
        volume.claim(unclaimed["id"], user=who)
    known = _open_tasks(volume)
    for who in READERS:
        user = volume.user(who)
        mine = [known["tasks"][t] for t in _may_work(volume, user, known)]
        expected = {"all": len(mine), "mine": sum(v["row"].assignee == who for v in mine),
                    "group": sum(v["row"].assignee is None for v in mine),
                    "cards": {c: sum(v["card"] == c for v in mine) for c in ("warning", "yellow", "red")}}
        listed = volume.inbox(user, limit=20, counts=True)
        assert listed["total"] == len(mine) and listed["counts"] == expected, (who, listed["counts"], expected)
        if who in ("wang", "li"):
            assert expected["mine"] > 0 and expected["group"] > 0, who
        if who in ("li", "wang", "sun"):
            assert all(expected["cards"].values()), (who, expected)  # every card is present, so each is checked
    assert volume.inbox(volume.user("sun"), counts=True)["total"] == len(known["tasks"])


def _cases(y) -> list:
    with y.session() as s:
        found = list(s.scalars(select(ApprovalCase)))
        s.expunge_all()
        return found


def _may_see(y, user, cases) -> list:
    """The cases ``can_see_case`` lets ``user`` read, its lookups read once for all of them."""
    with y.session() as s:
        departments = set(s.scalars(select(Department.id)))
        offices = dict(s.execute(select(ApprovalCase.instance_id, ApprovalCase.office_code)).all())
        steps: dict[int, list] = {}
        for row in s.scalars(select(HumanTask)):  # open and closed: each one's owner is the definition's
            assert row.department == inbox.task_department(row.candidate_groups, offices.get(row.instance_id),
                                                           departments), row.id
            steps.setdefault(row.instance_id, []).append(row)
        copied = set(s.scalars(select(CarbonCopy.instance_id).where(CarbonCopy.user_id == user["id"])))
        return [c for c in cases if inbox.can_see_case(s, user, c, steps.get(c.instance_id, []), copied)]


def test_each_case_list_holds_exactly_the_cases_its_reader_may_see(volume, app):
    """Reviewers: their office's cases, cases with a step of theirs (open or closed) and copies; window, all."""
    cases = _cases(volume)
    sizes = {}
    for who in READERS:
        user = volume.user(who)
        expected = {c.id for c in _may_see(volume, user, cases)}
        ids, totals = _walk(lambda size, offset: volume.case_list(user, limit=size, offset=offset), 250)
        assert totals == {len(expected)}, who
        assert len(ids) == len(set(ids)) and set(ids) == expected, who
        assert ids == sorted(ids, reverse=True), f"{who}: not newest first"
        sizes[who] = len(expected)
        offices = {c.office_code for c in cases if c.id in expected}
        if who in ("li", "zhou", "xia"):
            assert len(offices) > 1  # some through a step of theirs or a copy, not only their office's
    assert sizes["wang"] == sizes["sun"] == len(cases)
    assert all(sizes[w] < len(cases) for w in ("li", "zhou", "xia", "zhang"))
    for who in ("zhou", "zhang"):
        api = client(app, who)
        ids, totals = _walk(lambda size, offset: api.get(f"/api/cases?limit={size}&offset={offset}").json, 500)
        assert totals == {sizes[who]} and len(ids) == len(set(ids)) == sizes[who]
        shown = re.search(r'data-total="(\d+)"', signed_in(app, who).get("/my").data.decode()).group(1)
        assert int(shown) == sizes[who]
    second = signed_in(app, "zhang").get("/my?page=2").data.decode()
    assert len(re.findall(r'<tr data-case="', second)) == 50


def test_case_filters_agree_with_the_rule(volume, app):
    """Status, item, number, applicant name, ID number and submission dates, each with its correct total."""
    cases = _cases(volume)
    for who in ("li", "sun"):
        user = volume.user(who)
        mine = _may_see(volume, user, cases)
        day = datetime.fromisoformat("2026-02-10").date()
        local = {c.id: c.submitted_at.astimezone(LOCAL).date() for c in mine}
        checks = {
            "status": ({"status": "submitted"}, lambda c: c.status == "submitted"),
            "item": ({"item": "330100-XK-002"}, lambda c: c.item_code == "330100-XK-002"),
            "number": ({"number": "SJ-V-0001"}, lambda c: c.number.startswith("SJ-V-0001")),
            "applicant": ({"applicant": "申请人01"}, lambda c: c.applicant_name.startswith("申请人01")),
            "id_no": ({"id_no": "330100199001010042"}, lambda c: c.applicant_id_no == "330100199001010042"),
            "dates": ({"submitted_from": "2026-02-01", "submitted_to": day.isoformat()},
                      lambda c: "2026-02-01" <= local[c.id].isoformat() <= day.isoformat()),
        }
        for label, (filters, keep) in checks.items():
            want = {c.id for c in mine if keep(c)}
            assert want, label
            ids, totals = _walk(lambda size, offset: volume.case_list(user, limit=size, offset=offset, **filters), 400)
            assert totals == {len(want)} and set(ids) == want and len(ids) == len(want), (who, label)
        api = client(app, who).get("/api/cases?number=SJ-V-0001&limit=5").json
        assert api["total"] == sum(c.number.startswith("SJ-V-0001") for c in mine) and len(api["items"]) <= 5
    assert client(app, "sun").get("/api/cases?status=nonsense").status_code == 400
    assert client(app, "sun").get("/api/cases?submitted_from=yesterday").status_code == 400


# --- supervision lists: cards, orders, incidents, running clocks -------------------------------------------------

@pytest.fixture
def supervised(volume):
    build_supervision(volume)
    return volume


def _rows_of(y, model) -> list:
    with y.session() as s:
        found = list(s.scalars(select(model)))
        s.expunge_all()
        return found


def _privileged(user) -> bool:
    return bool(user.get("admin")) or bool({"supervisor", "admin"} & set(user["roles"]))


def test_supervision_lists_hold_exactly_what_their_reader_may_see(supervised, app):
    """Cards and clocks of one's department, orders addressed to one or one's department, incidents of one's
    department's cases; supervisors all. Each total right, each row on one page, no other department's."""
    y = supervised
    cards, orders = _rows_of(y, IssuedCard), _rows_of(y, SupervisionOrder)
    watches = [w for w in _rows_of(y, DeadlineWatch) if w.active]
    incidents = [i for i in _rows_of(y, Incident) if i.resolved_at is None]
    office = {c.instance_id: c.office_code for c in _cases(y)}
    assert len(cards) > 200 and len(orders) > 200 and len(incidents) > 100
    totals = {}
    for who in STAFF:
        user = y.user(who)
        everything, dept = _privileged(user), user.get("department")
        expected = {
            "cards": {c.id for c in cards if everything or (dept and c.department == dept)},
            "orders": {o.id for o in orders if everything or o.assignee == who or (dept and o.department == dept)},
            "incidents": {i.id for i in incidents if everything or (dept and office.get(i.instance_id) == dept)},
            "watches": {w.id for w in watches if everything or (dept and w.department == dept)},
        }
        fetch = {
            "cards": lambda size, offset: y.cards(user, limit=size, offset=offset),
            "orders": lambda size, offset: y.orders(user, limit=size, offset=offset),
            "incidents": lambda size, offset: y.incident_list(user, limit=size, offset=offset),
            "watches": lambda size, offset: y.watches(user, kind=None, limit=size, offset=offset),
        }
        for name, want in expected.items():
            ids, seen_totals = _walk(fetch[name], 97)
            assert seen_totals == {len(want)}, (who, name)
            assert len(ids) == len(set(ids)) and set(ids) == want, (who, name)
            totals[who, name] = len(want)
        if not everything:
            assert all(c["department"] == dept for c in y.cards(user, limit=500)["items"])
            assert all(w["department"] == dept for w in y.watches(user, kind=None, limit=500)["items"])
    for name in ("cards", "orders", "incidents", "watches"):
        assert all(totals["sun", name] > totals[w, name] for w in ("li", "zhou", "xia")), (name, totals)
    assert all(totals[w, "cards"] > 20 for w in ("li", "zhou", "xia"))  # three departments, each its share

    # Filters, in SQL, against the same rows.
    li = y.user("li")
    for filters, keep in (({"status": "appealed"}, lambda c: c.status == "appealed"),
                          ({"color": "red"}, lambda c: c.color == "red"),
                          ({"status": "issued", "color": "yellow"}, lambda c: c.status == "issued" and c.color == "yellow")):
        want = {c.id for c in cards if c.department == "SJ" and keep(c)}
        ids, seen = _walk(lambda size, offset: y.cards(li, limit=size, offset=offset, **filters), 50)
        assert seen == {len(want)} and set(ids) == want, filters
    now = clock.now()
    for filters, keep in (({"status": "open"}, lambda o: o.status == "open"),
                          ({"overdue": True}, lambda o: o.status == "open" and o.deadline < now),
                          ({"overdue": False}, lambda o: not (o.status == "open" and o.deadline < now))):
        want = {o.id for o in orders if (o.assignee == "li" or o.department == "SJ") and keep(o)}
        ids, seen = _walk(lambda size, offset: y.orders(li, limit=size, offset=offset, **filters), 50)
        assert seen == {len(want)} and set(ids) == want, filters
    red = {w.id for w in watches if w.department == "SJ" and w.state == "red" and w.kind == "case"}
    assert y.watches(department="SJ", state="red")["total"] == len(red)

    # The API pages the same lists; the pages show the same totals.
    for who in ("li", "zhou", "sun"):
        api = client(app, who)
        for name, path in (("cards", "/api/cards"), ("orders", "/api/orders")):
            ids, seen = _walk(lambda size, offset: api.get(f"{path}?limit={size}&offset={offset}").json, 500)
            assert seen == {totals[who, name]} and len(set(ids)) == len(ids) == totals[who, name], (who, name)
        page = signed_in(app, who)
        for name, path in (("cards", "/supervision/cards"), ("orders", "/supervision/orders")):
            shown = re.search(r'data-total="(\d+)"', page.get(path).data.decode()).group(1)
            assert int(shown) == totals[who, name], (who, name)
    sun = client(app, "sun")
    ids, seen = _walk(lambda size, offset: sun.get(f"/api/incidents?limit={size}&offset={offset}").json, 100)
    assert seen == {totals["sun", "incidents"]} and len(ids) == totals["sun", "incidents"]
    incidents_page = signed_in(app, "sun").get("/supervision/incidents?page=2").data.decode()
    assert f'data-total="{totals["sun", "incidents"]}"' in incidents_page
    assert client(app, "li").get("/api/supervision/watches?limit=500").json["total"] == len(
        [w for w in watches if w.department == "SJ" and w.kind == "case"])
    cards_page_2 = signed_in(app, "li").get("/supervision/cards?page=2").data.decode()
    assert len(re.findall(r'data-card-id="', cards_page_2)) == min(50, totals["li", "cards"] - 50)
