"""Issue 14: a step's owner department (办理部门, ``human_task.department``) and a case's bundle flag
(一件事, ``approval_case.in_bundle``), the columns the inbox's department rule and accept read.

Through the API on SQLite and PostgreSQL: the owner is ``inbox.task_department`` after each way a step comes to
one (a parallel review per department group, a county office by the implementation list, the city's department
for a reviewed-and-reported conclusion, a department created after the step), the inbox's totals are the steps
the rule lets each reader see, and the migration's backfill writes what the engine writes.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import select

from engine import inbox
from engine.migrate import downgrade, upgrade
from engine.models import ApprovalCase, Department, HumanTask

from .test_api import client
from .test_bundles import BUNDLE, _apply as _apply_bundle, _define, _fire_item
from .test_levels import HEALTH, _apply, _decide

JOINT = "330100-XK-003"  # 并联审批: office SP, reviewed by SJ, XF and HB at once


def _steps(y) -> dict[str, HumanTask]:
    with y.session() as s:
        rows = {r.id: r for r in s.scalars(select(HumanTask))}
        s.expunge_all()
        return rows


def _owners(y) -> dict[str, str | None]:
    """Every step's owner as the definition computes it now (its groups, its case's office, the departments)."""
    with y.session() as s:
        departments = set(s.scalars(select(Department.id)))
        offices = dict(s.execute(select(ApprovalCase.instance_id, ApprovalCase.office_code)).all())
        return {r.id: inbox.task_department(r.candidate_groups, offices.get(r.instance_id), departments)
                for r in s.scalars(select(HumanTask))}


def _open_of(y, case: int) -> dict[str, HumanTask]:
    instance = y.case(case)["instance"]
    return {r.element_id + ":" + ",".join(r.candidate_groups or []): r for r in _steps(y).values()
            if r.instance_id == instance and r.status == "open"}


def _inbox_ids(app, who: str) -> tuple[set[str], int]:
    listed = client(app, who).get("/api/tasks?limit=500").json
    return {t["id"] for t in listed["items"]}, listed["total"]


def test_each_step_keeps_the_department_it_belongs_to_and_the_inbox_reads_it(app, database_url):
    y = app.extensions["yimen"]
    # 并联审批: one review per department group, each that department's
    joint = client(app, "zhang").post("/api/cases", json={"item": JOINT, "applicant": {"name": "张三"}, "materials": [
        {"name": "联合申请表", "filename": "a.pdf", "content_base64": "JVBERg=="}]}).json["case"]
    assert client(app, "wang").post(f"/api/cases/{joint}/accept", json={"opinion": "齐全"}).status_code == 200
    reviews = {r.candidate_groups[0]: r for r in _open_of(y, joint).values()}
    assert {g: r.department for g, r in reviews.items()} == {"SJ": "SJ", "XF": "XF", "HB": "HB"}
    fire, _ = _inbox_ids(app, "xu")  # the fire service's reviewer: its own review, not the other two
    assert reviews["XF"].id in fire and not {reviews["SJ"].id, reviews["HB"].id} & fire

    # 放权: a case routed to 西城区 is reviewed there; its 审核转报 conclusion belongs to the city's health commission
    county = _apply(app, HEALTH, "XCQ")
    assert client(app, "lin").post(f"/api/cases/{county}/accept", json={"opinion": "齐全"}).status_code == 200
    (review,) = _open_of(y, county).values()
    assert review.department == "XCQ"
    _decide(app, "gao", county, "经审核，符合条件")
    (conclude,) = _open_of(y, county).values()
    assert (conclude.candidate_groups, conclude.department) == (["WJ"], "WJ")
    assert _steps(y)[review.id].department == "XCQ"  # a closed step keeps its owner (the case lists read it)

    # A department created later with the id of a step's group: the step is that department's from then on
    food = _apply(app)
    assert client(app, "wang").post(f"/api/cases/{food}/accept", json={"opinion": "齐全"}).status_code == 200
    (market,) = _open_of(y, food).values()
    assert (market.candidate_groups, market.department) == (["reviewer"], "SJ")
    assert market.id in _inbox_ids(app, "li")[0]
    y.save_department("reviewer", "审查组", "city", "ZJ")
    assert _steps(y)[market.id].department == "reviewer"
    assert market.id not in _inbox_ids(app, "li")[0]  # li (SJ) is in the group, but it is no longer SJ's step
    assert _steps(y)[review.id].department == "reviewer"  # closed steps naming the group move too (case lists)
    assert _steps(y)[conclude.id].department == "WJ"  # a step naming other groups only keeps its owner

    # 一件事: the members are flagged when the bundle submits them; their own acceptance steps stay out of the inbox
    _fire_item(y)
    assert _define(app).status_code in (200, 201)
    bundled = _apply_bundle(app)
    assert bundled.status_code == 201, bundled.json
    members = bundled.json["cases"]
    with y.session() as s:
        assert all(s.get(ApprovalCase, m).in_bundle for m in members)
        assert not s.get(ApprovalCase, joint).in_bundle
    window, total = _inbox_ids(app, "wang")
    assert total == len(window) and not {r.id for m in members for r in _open_of(y, m).values()} & window

    # Every step's column is the definition's, and each inbox's total is the set the rule lets its reader see
    assert {i: r.department for i, r in _steps(y).items()} == _owners(y)
    rows = [r for r in _steps(y).values() if r.status == "open"]
    for who in ("li", "xu", "he", "gao", "qin", "wang", "sun"):
        user = y.user(who)
        with y.session() as s:
            expected = {r.id for r in rows if inbox.can_see_task(s, user, r)}
            bundles = {r.id for r in rows if r.form_key == "yimen:accept" and r.instance_id in
                       {s.get(ApprovalCase, m).instance_id for m in members}}
        shown, total = _inbox_ids(app, who)
        assert shown == expected - bundles and total == len(shown), who
        counted = y.inbox(user, counts=True)
        assert counted["total"] == counted["counts"]["all"] == len(shown), who

    # The migration's backfill writes the same owners and flags as the engine did
    written = {i: r.department for i, r in _steps(y).items()}
    y.db.dispose()
    downgrade(database_url, "0016")
    upgrade(database_url)
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        backfilled = dict(conn.execute(sa.text("SELECT id, department FROM human_task")).all())
        flagged = set(conn.execute(sa.text("SELECT id FROM approval_case WHERE in_bundle")).scalars())
    engine.dispose()
    assert backfilled == written and flagged == set(members)
