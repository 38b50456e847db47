"""Claim, unclaim, complete: inboxes, permissions, bad input and races."""
from __future__ import annotations

import threading

import pytest

from engine.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationError
from tests.conftest import read


@pytest.fixture
def case(yimen):
    yimen.deploy([read("standard_approval.bpmn")])
    yimen.add_user("wang", groups=["window"])
    yimen.add_user("chen", groups=["window"])
    yimen.add_user("li", groups=["reviewer"])
    instance = yimen.start("standard_approval", {"applicant": "zhang"}, business_key="T-1")["instance"]
    return yimen, instance, yimen.tasks(instance=instance)[0]


def test_inbox_lists_group_tasks_for_members_only(case):
    """A window member sees the accept task in their inbox; a reviewer does not."""
    yimen, _, task = case
    assert [t["id"] for t in yimen.tasks(user="wang")] == [task["id"]]
    assert yimen.tasks(user="li") == []
    assert [t["id"] for t in yimen.tasks(group="window")] == [task["id"]]


def test_claim_takes_the_task_out_of_other_members_inboxes(case):
    """After wang claims, chen (same group) no longer sees it and cannot complete it."""
    yimen, _, task = case
    yimen.claim(task["id"], user="wang")
    assert yimen.tasks(user="chen") == []
    assert yimen.tasks(user="wang")[0]["assignee"] == "wang"
    with pytest.raises(PermissionDenied):
        yimen.complete(task["id"], {"acceptance": "accepted"}, user="chen")
    with pytest.raises(InvalidState):
        yimen.claim(task["id"], user="chen")


def test_unclaim_returns_the_task_to_the_group(case):
    """Unclaiming clears the assignee; only the assignee (or an admin) may unclaim."""
    yimen, _, task = case
    yimen.claim(task["id"], user="wang")
    with pytest.raises(PermissionDenied):
        yimen.unclaim(task["id"], user="chen")
    yimen.unclaim(task["id"], user="wang")
    assert yimen.tasks(instance=task["instance"])[0]["assignee"] is None
    with pytest.raises(InvalidState):
        yimen.unclaim(task["id"], user="wang")


def test_unknown_task_is_not_found(case):
    """Acting on a task id that does not exist is not_found."""
    yimen, _, _ = case
    with pytest.raises(NotFound):
        yimen.complete("00000000-0000-0000-0000-000000000000", {})
    with pytest.raises(NotFound):
        yimen.claim("nope", user="wang")


def test_bad_data_is_refused_and_changes_nothing(case):
    """Data must be an object with plain keys; a refusal leaves the task open."""
    yimen, instance, task = case
    with pytest.raises(ValidationError):
        yimen.complete(task["id"], ["not", "an", "object"])
    with pytest.raises(ValidationError):
        yimen.complete(task["id"], {"__class__": 1})
    assert yimen.tasks(instance=instance)[0]["id"] == task["id"]


def test_unknown_process_key_is_not_found(case):
    """Starting a process that was never deployed is not_found."""
    yimen, _, _ = case
    with pytest.raises(NotFound):
        yimen.start("no_such_process")


def test_two_people_completing_one_task_at_once_one_wins(case):
    """Two concurrent completes of the same task: exactly one succeeds, the other is refused."""
    yimen, instance, task = case
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(user):
        barrier.wait()
        try:
            yimen.complete(task["id"], {"acceptance": "accepted", "by": user}, user=user)
            outcomes.append("ok")
        except (Conflict, InvalidState) as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(u,)) for u in ("wang", "chen")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes)[0] in ("conflict", "database_busy", "invalid_state") and outcomes.count("ok") == 1
    shown = yimen.show(instance)
    assert shown["completed_elements"].count("accept") == 1
    assert [t["element_id"] for t in shown["open_tasks"]] == ["review"]
    assert yimen.verify_audit()["ok"]


def test_terminated_instance_refuses_work(case):
    """Terminating cancels open tasks; completing one afterwards is invalid_state."""
    yimen, instance, task = case
    with pytest.raises(ValidationError):
        yimen.terminate(instance, reason="  ")
    yimen.terminate(instance, reason="applicant withdrew")
    shown = yimen.show(instance)
    assert (shown["status"], shown["end_reason"], shown["open_tasks"]) == ("terminated", "applicant withdrew", [])
    with pytest.raises(InvalidState):
        yimen.complete(task["id"], {"acceptance": "accepted"})
    with pytest.raises(InvalidState):
        yimen.terminate(instance, reason="again")


def test_only_admins_terminate(case):
    """A staff member may not terminate an instance."""
    yimen, instance, _ = case
    with pytest.raises(PermissionDenied):
        yimen.terminate(instance, reason="x", user="wang")
