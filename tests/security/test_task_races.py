"""Issue 13, item 2: the verbs that change a task row are serialised, on SQLite and PostgreSQL.

Two threads start together at a barrier and act on the same open task through
the engine facade, each in its own transaction. However their statements
interleave, exactly one of them may win; the other is refused (``conflict``
when it lost a race it could not see, ``invalid_state`` or
``permission_denied`` when it saw the winner's commit) and changed nothing:
the row, the audit trail and the instance agree with the winner alone.
"""
from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from engine.errors import EngineError
from engine.models import AuditEvent, HumanTask
from engine.service import Yimen

TRIALS = 50
DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="race" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="work" name="Work" camunda:candidateGroups="team">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
FIGURES: dict[str, Counter] = {}  # race -> outcome codes, printed with ``pytest -s``


@pytest.fixture
def engine(database_url, request):
    """A plain facade (no per-command cache clearing: the threads share it as web threads do)."""
    y = Yimen(database_url, pool_size=4)
    y.deploy([("race.bpmn", DIAGRAM)])
    for user in ("a", "b", "c", "d"):
        y.add_user(user, groups=["team"], roles=["window"])
    y.figures = FIGURES.setdefault(request.node.name, Counter())
    yield y
    y.close()
    print(f"\n{request.node.name}: {dict(y.figures)}")


def _open_task(y, assignee: str | None = None) -> str:
    instance = y.start("race")["instance"]
    (task,) = y.tasks(instance=instance)
    if assignee:
        y.claim(task["id"], user=assignee)
    return task["id"]


def _race(first, second, rng: random.Random) -> list[tuple[str, object]]:
    """Run both at once (after a barrier, one of them a few hundred microseconds late); their outcomes."""
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]
    delays = [0.0, rng.uniform(0, 0.003)]
    rng.shuffle(delays)

    def run(index, fn, delay):
        barrier.wait()
        if delay:
            threading.Event().wait(delay)
        try:
            outcomes[index] = ("won", fn())
        except EngineError as exc:
            outcomes[index] = (exc.code, exc)

    threads = [threading.Thread(target=run, args=(i, fn, d)) for i, (fn, d) in enumerate(zip((first, second), delays))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(o is not None for o in outcomes), outcomes
    return outcomes


def _row(y, task_id: str) -> HumanTask:
    with y.session() as s:
        return s.get(HumanTask, task_id)


def _actions(y, task_id: str) -> list[tuple[str, str]]:
    with y.session() as s:
        return [(e.action, e.actor) for e in s.scalars(select(AuditEvent).where(AuditEvent.task_id == task_id)
                                                        .order_by(AuditEvent.seq))]


def _one_winner(y, outcomes, allowed_losses=("conflict", "invalid_state", "permission_denied")) -> int:
    codes = [code for code, _ in outcomes]
    y.figures.update(codes)
    assert codes.count("won") == 1, outcomes
    (loss,) = [code for code in codes if code != "won"]
    assert loss in allowed_losses, outcomes
    return codes.index("won")


def test_two_claims_at_once_have_exactly_one_winner(engine):
    y, rng = engine, random.Random(13)
    for _ in range(TRIALS):
        task_id = _open_task(y)
        outcomes = _race(lambda: y.claim(task_id, user="a"), lambda: y.claim(task_id, user="b"), rng)
        winner = "ab"[_one_winner(y, outcomes)]
        assert _row(y, task_id).assignee == winner
        assert _actions(y, task_id) == [("task.claim", winner)]


def test_a_claim_racing_a_completion_cannot_both_succeed(engine):
    y, rng = engine, random.Random(14)
    for _ in range(TRIALS):
        task_id = _open_task(y)
        outcomes = _race(lambda: y.claim(task_id, user="a"), lambda: y.complete(task_id, user="b"), rng)
        claimed = _one_winner(y, outcomes) == 0
        row = _row(y, task_id)
        if claimed:
            assert (row.status, row.assignee, row.completed_by) == ("open", "a", None)
            assert _actions(y, task_id) == [("task.claim", "a")]
        else:
            assert (row.status, row.assignee, row.completed_by) == ("completed", None, "b")
            assert _actions(y, task_id) == [("task.complete", "b")]


def test_a_transfer_racing_a_claim_has_exactly_one_winner(engine):
    y, rng = engine, random.Random(15)
    for _ in range(TRIALS // 2):
        task_id = _open_task(y)
        outcomes = _race(lambda: y.transfer(task_id, "c", user="a"), lambda: y.claim(task_id, user="b"), rng)
        transferred = _one_winner(y, outcomes) == 0
        assert _row(y, task_id).assignee == ("c" if transferred else "b")
        assert len(_actions(y, task_id)) == 1


def test_two_delegations_at_once_have_exactly_one_winner(engine):
    y, rng = engine, random.Random(16)
    for _ in range(TRIALS // 2):
        task_id = _open_task(y, assignee="a")
        outcomes = _race(lambda: y.delegate(task_id, "c", user="a"), lambda: y.delegate(task_id, "d", user="a"), rng)
        delegate = "cd"[_one_winner(y, outcomes)]
        row = _row(y, task_id)
        assert (row.assignee, row.owner, row.delegation) == (delegate, "a", "pending")
        assert [a for a, _ in _actions(y, task_id)] == ["task.claim", "task.delegate"]


def test_a_delegation_racing_the_completion_has_exactly_one_winner(engine):
    y, rng = engine, random.Random(17)
    for _ in range(TRIALS // 2):
        task_id = _open_task(y, assignee="a")
        outcomes = _race(lambda: y.delegate(task_id, "c", user="a"), lambda: y.complete(task_id, user="a"), rng)
        delegated = _one_winner(y, outcomes) == 0
        row = _row(y, task_id)
        if delegated:
            assert (row.status, row.assignee, row.owner) == ("open", "c", "a")
        else:
            assert (row.status, row.assignee, row.owner, row.completed_by) == ("completed", "a", None, "a")
        assert [a for a, _ in _actions(y, task_id)] == ["task.claim", "task.delegate" if delegated else "task.complete"]


def test_an_unclaim_racing_a_transfer_by_an_administrator_leaves_one_story(engine):
    """The assignee gives the task back while an administrator hands it to c: whichever came second acts on
    what the first committed (both may succeed, in that order), never on what it read before."""
    y, rng = engine, random.Random(18)
    for _ in range(TRIALS // 2):
        task_id = _open_task(y, assignee="a")
        outcomes = _race(lambda: y.unclaim(task_id, user="a"), lambda: y.transfer(task_id, "c"), rng)
        codes = [code for code, _ in outcomes]
        y.figures.update(codes)
        actions = [a for a, _ in _actions(y, task_id)]
        assignee = _row(y, task_id).assignee
        if codes == ["won", "won"]:
            assert actions[1:] in (["task.unclaim", "task.transfer"], ["task.transfer", "task.unclaim"])
            assert assignee == ("c" if actions[-1] == "task.transfer" else None)
        else:
            assert codes.count("won") == 1 and set(codes) - {"won"} <= {"conflict", "invalid_state",
                                                                         "permission_denied"}, outcomes
            assert assignee == (None if codes[0] == "won" else "c") and len(actions) == 2
