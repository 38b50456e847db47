"""Random sequences of verbs by random people over the shipped processes, with the invariants checked after each.

Issue 12 asks for one property test: whatever staff, applicants and outsiders try, in whatever order,

* no step is finished by someone not entitled to it (its assignee, else a candidate; administrators);
* a delegated step finished by its delegate goes back to its owner, open;
* every case's clock stops when its instance ends;
* an applicant never holds a review or conclusion step of her own case;
* the audit chain verifies.

Runs on SQLite (a copy of one demo database per example) to keep the example count useful.
"""
from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import demo
from engine.errors import EngineError
from engine.migrate import upgrade
from engine.models import ApprovalCase, HumanTask, ProcessInstance, TaskStatus
from engine.models.deadlines import DeadlineWatch, WatchKind
from engine.service import Yimen

USERS = ["admin", "wang", "li", "zhao", "zhou", "xu", "he", "head", "sun", "zhang", "nobody"]
ITEMS = {"330100-XK-001": ["食品经营许可申请书", "营业执照",
                           "食品安全管理制度"],
         "330100-XK-002": None, "330100-XK-003": ["联合申请表"]}
VERBS = ["submit", "claim", "unclaim", "complete", "approve", "reject", "transfer", "delegate", "withdraw",
         "return", "accept", "correction", "tolerate", "extend", "terminate_instance", "withdraw_application"]
APPLICANT_FORBIDDEN = ("review", "conclude", "dept_review", "joint_review", "head_approval", "verification")

# "entitled" stands for a person who may work the picked step (its assignee or a candidate), drawn often so
# that sequences get deep into the processes; "peer" for another member of the step's groups.
action = st.tuples(st.sampled_from(VERBS), st.sampled_from(USERS + ["entitled"] * 8), st.integers(0, 20),
                   st.sampled_from(USERS + ["peer"] * 4))


def _resolve(yimen, who: str, task: dict | None, pick: int) -> str:
    if who not in ("entitled", "peer"):
        return who
    if task is None:
        return "wang"
    from engine.models import Membership

    with yimen.session() as s:
        members = sorted({m for (m,) in s.query(Membership.user_id).filter(Membership.group_id.in_(task["groups"]))})
    people = ([task["assignee"]] if task["assignee"] and who == "entitled" else []) + task["users"] + members
    people = [p for p in people if who == "entitled" or p != task["assignee"]]
    return people[pick % len(people)] if people else "admin"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("props") / "demo.db"
    upgrade(f"sqlite:///{path}")
    yimen = Yimen(f"sqlite:///{path}")
    demo.install(yimen)
    yimen.close()
    return path


def _open_tasks(yimen) -> list[dict]:
    with yimen.session() as s:
        rows = s.query(HumanTask).filter(HumanTask.status == TaskStatus.OPEN).order_by(HumanTask.created_at,
                                                                                       HumanTask.id).all()
        return [{"id": r.id, "instance": r.instance_id, "element": r.element_id, "assignee": r.assignee,
                 "users": list(r.candidate_users or []), "groups": list(r.candidate_groups or []),
                 "delegation": r.delegation, "owner": r.owner, "form_key": r.form_key} for r in rows]


def _groups(yimen, user: str) -> set[str]:
    try:
        return set(yimen.user(user)["groups"])
    except EngineError:
        return set()


def _entitled(yimen, user: str, task: dict) -> bool:
    if user == "admin":
        return True
    if task["assignee"]:
        return task["assignee"] == user
    return user in task["users"] or bool(_groups(yimen, user) & set(task["groups"]))


def _act(yimen, verb, user, pick, other, tasks, cases):
    task = tasks[pick % len(tasks)] if tasks else None
    case = cases[pick % len(cases)] if cases else None
    if verb == "submit":
        code = list(ITEMS)[pick % len(ITEMS)]
        materials = ITEMS[code] or [m["name"] for m in yimen.item(code)["materials"]]
        given_materials = materials if pick % 3 else materials[:1]
        return yimen.submit(code, {"name": "张三", "user": "zhang", "id_no": "330106199001011234"},
                            [{"name": n, "filename": "a.pdf", "content": b"%PDF"} for n in given_materials],
                            user="zhang" if pick % 4 else user)
    if verb in ("accept", "correction", "tolerate", "extend", "withdraw_application") and case is None:
        return None
    if verb == "accept":
        return yimen.accept(case, user=user)
    if verb == "correction":
        return yimen.request_correction(case, [{"problem": "请补正"}], user=user)
    if verb == "tolerate":
        return yimen.accept_with_missing(case, user=user)
    if verb == "extend":
        return yimen.request_extension(case, "需要专家评审", user=user)
    if verb == "withdraw_application":
        return yimen.withdraw_application(case, user=user)
    if task is None:
        return None
    if verb == "claim":
        return yimen.claim(task["id"], user=user)
    if verb == "unclaim":
        return yimen.unclaim(task["id"], user=user)
    if verb in ("complete", "approve", "reject"):
        if verb == "complete":
            return yimen.complete(task["id"], {"approved": True, "acceptance": "accepted", "committed": True},
                                  user=user)
        return yimen.decide(task["id"], verb == "approve", "意见", user=user)
    if verb == "transfer":
        return yimen.transfer(task["id"], other, user=user)
    if verb == "delegate":
        return yimen.delegate(task["id"], other, user=user)
    if verb == "withdraw":
        with yimen.session() as s:
            done = s.query(HumanTask.id).filter(HumanTask.status == TaskStatus.COMPLETED).order_by(
                HumanTask.completed_at.desc()).first()
        return yimen.withdraw(done[0], user=user) if done else None
    if verb == "return":
        return yimen.return_to(task["id"], "accept", "请重新审查", user=user)
    if verb == "terminate_instance":
        return yimen.terminate(task["instance"], "录入错误", user=user)
    raise AssertionError(verb)


def _check(yimen, verb, user, before: list[dict], pick: int) -> None:
    with yimen.session() as s:
        # a case whose instance ended has no running clock
        for case, status in s.query(ApprovalCase, ProcessInstance.status).join(
                ProcessInstance, ProcessInstance.id == ApprovalCase.instance_id):
            if status != "running":
                # ... but for the clocks that start with the decision: the licence's 10 working days (Art. 44),
                # only after an approval, and a bad rating's rectification
                active = [w.kind for w in s.query(DeadlineWatch).filter(DeadlineWatch.case_id == case.id,
                                                                         DeadlineWatch.active.is_(True))]
                after = {WatchKind.LICENCE} if case.outcome == "approved" else set()
                assert set(active) <= after | {WatchKind.RECTIFICATION}, (case.number, status, case.status, active)
        # the applicant never holds a review or conclusion step of her own case
        for row in s.query(HumanTask).filter(HumanTask.status == TaskStatus.OPEN):
            case = s.query(ApprovalCase).filter(ApprovalCase.instance_id == row.instance_id).first()
            if case is not None and row.element_id in APPLICANT_FORBIDDEN and row.assignee:
                assert row.assignee not in (case.applicant_user, case.agent_user), (row.element_id, row.assignee)
        # whoever finished a step was entitled to it; a delegate's finishing handed it back
        if verb in ("complete", "approve", "reject") and before:
            task = before[pick % len(before)]
            row = s.get(HumanTask, task["id"])
            if row.status == TaskStatus.COMPLETED and row.completed_by == user:
                assert _entitled(yimen, user, task), (user, task)
                assert task["delegation"] != "pending", "a delegated step was completed by its delegate"
            if task["delegation"] == "pending" and row.status == TaskStatus.OPEN and row.delegation == "resolved":
                assert row.assignee == task["owner"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(actions=st.lists(action, min_size=4, max_size=24))
def test_random_verbs_keep_the_invariants(template, tmp_path_factory, monkeypatch, actions):
    monkeypatch.setenv("YIMEN_NOW", "2026-03-02T02:00:00+00:00")
    path = tmp_path_factory.mktemp("example") / "y.db"
    shutil.copy(template, path)
    yimen = Yimen(f"sqlite:///{path}")
    try:
        for verb, user, pick, other in [("submit", "zhang", 1, "wang"), *actions]:
            tasks = _open_tasks(yimen)
            with yimen.session() as s:
                cases = [c for (c,) in s.query(ApprovalCase.id).order_by(ApprovalCase.id)]
            task = tasks[pick % len(tasks)] if tasks else None
            user, other = _resolve(yimen, user, task, pick), _resolve(yimen, other, task, pick + 1)
            try:
                _act(yimen, verb, user, pick, other, tasks, cases)
            except EngineError:
                pass  # a refusal is a fine answer; the invariants must hold either way
            _check(yimen, verb, user, tasks, pick)
        assert yimen.verify_audit()["ok"]
    finally:
        yimen.close()
