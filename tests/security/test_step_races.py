"""Issue 13, item 2 (continued): return, withdraw and the signer verbs race correctly with completion.

They change the process itself (its task tree), not only a task row: each reads the instance at its version and
writes it back conditionally, so of two verbs on one case exactly one wins and the other is refused having
changed nothing; the tasks, the audit trail and the instance agree with the winner alone.
"""
from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from engine.models import AuditEvent, HumanTask
from engine.service import Yimen
from tests.security.test_task_races import FIGURES, _one_winner, _race

TRIALS = 15
DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="steps" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="first" name="First" camunda:candidateGroups="team"/>
    <bpmn:userTask id="second" name="Second" camunda:candidateGroups="team"/>
    <bpmn:userTask id="sign" name="Sign" camunda:assignee="${signer}">
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="${signers}" camunda:elementVariable="signer"/>
    </bpmn:userTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="first"/>
    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="second"/>
    <bpmn:sequenceFlow id="f3" sourceRef="second" targetRef="sign"/>
    <bpmn:sequenceFlow id="f4" sourceRef="sign" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def engine(database_url, request):
    y = Yimen(database_url, pool_size=4)
    y.deploy([("steps.bpmn", DIAGRAM)])
    for user in ("a", "b", "c", "d"):
        y.add_user(user, groups=["team"], roles=["reviewer"])
    y.figures = FIGURES.setdefault(request.node.name, __import__("collections").Counter())
    yield y
    y.close()
    print(f"\n{request.node.name}: {dict(y.figures)}")


def _at(y, element: str, signers=("c", "d")) -> tuple[int, dict]:
    """A new instance whose open step is ``element``: its earlier steps completed by ``a``."""
    instance = y.start("steps", {"signers": list(signers)})["instance"]
    for step in ("first", "second", "sign"):
        (task,) = [t for t in y.tasks(instance=instance) if t["element_id"] == step][:1] or [None]
        if step == element:
            return instance, task
        y.complete(task["id"], user="a")
    raise AssertionError(element)


def _open(y, instance: int) -> list[tuple[str, str | None]]:
    return sorted((t["element_id"], t.get("assignee")) for t in y.tasks(instance=instance))


def _actions(y, instance: int) -> list[str]:
    with y.session() as s:
        return [e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance)
                                            .order_by(AuditEvent.seq))]


def _statuses(y, instance: int) -> list[tuple[str, str, str | None]]:
    with y.session() as s:
        return sorted((r.element_id, r.status, r.outcome) for r in s.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance)))


def test_a_return_racing_the_completion_of_the_same_step_has_one_winner(engine):
    y, rng = engine, random.Random(21)
    for _ in range(TRIALS):
        instance, second = _at(y, "second")
        outcomes = _race(lambda: y.return_to(second["id"], "first", "材料需补充", user="b"),
                         lambda: y.complete(second["id"], user="b"), rng)
        returned = _one_winner(y, outcomes) == 0
        actions = _actions(y, instance)
        if returned:
            assert [e for e, _ in _open(y, instance)] == ["first"] and "task.complete" not in actions[-1:]
            assert actions[-1] == "task.return"
        else:
            assert sorted(e for e, _ in _open(y, instance)) == ["sign", "sign"] and actions[-1] == "task.complete"
        assert actions.count("task.return") + actions[2:].count("task.complete") == 1


def test_two_returns_at_once_reopen_the_step_once(engine):
    y, rng = engine, random.Random(22)
    for _ in range(TRIALS):
        instance, second = _at(y, "second")
        outcomes = _race(lambda: y.return_to(second["id"], "first", "一", user="b"),
                         lambda: y.return_to(second["id"], "first", "二", user="c"), rng)
        _one_winner(y, outcomes)
        assert [e for e, _ in _open(y, instance)] == ["first"]
        assert _actions(y, instance).count("task.return") == 1


def test_a_withdraw_racing_the_next_steps_completion_has_one_winner(engine):
    y, rng = engine, random.Random(23)
    for _ in range(TRIALS):
        instance, second = _at(y, "second")
        with y.session() as s:
            first_id = s.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance,
                                                            HumanTask.element_id == "first")).one()
        outcomes = _race(lambda: y.withdraw(first_id, user="a"), lambda: y.complete(second["id"], user="b"), rng)
        withdrew = _one_winner(y, outcomes) == 0
        opened = sorted(e for e, _ in _open(y, instance))
        actions = _actions(y, instance)
        if withdrew:
            assert opened == ["first"] and actions[-1] == "task.withdraw"
        else:
            assert opened == ["sign", "sign"] and actions[-1] == "task.complete"
        assert ("task.withdraw" in actions) == withdrew


def test_adding_a_signer_racing_a_signers_completion_keeps_one_story(engine):
    """c finishes their signature while b adds a: whichever wins, the other acted on what it committed or was
    refused; the step never loses a signer nor counts one twice."""
    y, rng = engine, random.Random(24)
    for _ in range(TRIALS):
        instance, _ = _at(y, "sign")
        sign_c = next(t for t in y.tasks(instance=instance) if t["assignee"] == "c")
        outcomes = _race(lambda: y.add_signer(sign_c["id"], "a", "after"),  # an administrator adds a
                         lambda: y.complete(sign_c["id"], user="c"), rng)
        codes = [code for code, _ in outcomes]
        y.figures.update(codes)
        assert "won" in codes and set(codes) <= {"won", "conflict", "invalid_state", "permission_denied",
                                                 "not_found"}, outcomes
        actions = _actions(y, instance)
        added = "task.add_signer" in actions
        assert added == (codes[0] == "won")
        assert actions.count("task.complete") == 2 + (codes[1] == "won")
        open_signers = len(y.tasks(instance=instance))
        assert open_signers == 2 + added - (codes[1] == "won"), (outcomes, _statuses(y, instance))
