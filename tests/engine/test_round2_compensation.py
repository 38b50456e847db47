"""Issue 17, compensation beyond single steps: compensation event subprocesses, and the compensation of
each instance of a multi-instance step. Each in the three dialects on SQLite and PostgreSQL, through the
commands the CLI maps one to one (deploy, start, tasks, complete, show), asserting what Camunda's
CompensateEventTest asserts: which handlers run, how often, with which variables, and in which order."""
from __future__ import annotations

import pytest

from engine.errors import BpmnInvalid
from tests.engine.round2 import DIALECTS, complete, diagram, elements, open_elements, status


def _tasks(yimen, instance: int) -> list[tuple[str, str | None]]:
    return sorted((t["element_id"], t["assignee"]) for t in yimen.tasks(instance=instance))


def _mi(dialect: str, sequential: bool) -> tuple[str, bytes]:
    name, content = diagram("compensation_mi", dialect)
    if sequential:
        content = content.replace(b'<bpmn:multiInstanceLoopCharacteristics ',
                                  b'<bpmn:multiInstanceLoopCharacteristics isSequential="true" ')
    return (name.replace(".bpmn", "_seq.bpmn") if sequential else name), content


def _book(yimen, instance: int, room: str) -> None:
    task = next(t for t in yimen.tasks(instance=instance) if t["element_id"] == "book_room" and t["assignee"] == room)
    yimen.complete(task["id"], data={"booking": f"B-{room}"})


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("sequential", [False, True], ids=["parallel", "sequential"])
def test_each_completed_instance_is_compensated_once_with_its_own_variables(yimen, dialect, sequential):
    """Three rooms, the completion condition stops after two: the handler runs twice (once per completed
    instance, the latest first, each seeing its instance's room and booking), never for the third."""
    yimen.deploy([_mi(dialect, sequential)])
    instance = yimen.start("r2_compensation_mi", data={"rooms": ["r1", "r2", "r3"], "enough": 2,
                                                       "cancelled": True})["instance"]
    expected_open = [("book_room", "r1")] if sequential else [("book_room", r) for r in ("r1", "r2", "r3")]
    assert _tasks(yimen, instance) == expected_open
    _book(yimen, instance, "r1" if sequential else "r3")
    _book(yimen, instance, "r2")
    assert open_elements(yimen, instance) == ["confirm"]  # the completion condition cancelled the third
    complete(yimen, instance, "confirm")
    assert _tasks(yimen, instance) == [("release_room", "r2")]
    released = yimen.tasks(instance=instance)[0]
    yimen.complete(released["id"], data={"released": ["r2"]})
    first = "r1" if sequential else "r3"
    assert _tasks(yimen, instance) == [("release_room", first)]
    complete(yimen, instance, "release_room", {"released": ["r2", first]})
    assert status(yimen, instance) == "completed"
    assert elements(yimen, instance).count("release_room") == 2
    data = yimen.show(instance)["data"]
    assert data["released"] == ["r2", first]
    # the instances' own variables stayed with their handlers: the case keeps what it had before the throw
    assert (data["room"], data["booking"]) == ("r2", "B-r2")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_multi_instance_step_not_reached_has_nothing_to_compensate(yimen, dialect):
    """An empty collection: no instance completed, the throw finds nothing and the process ends."""
    yimen.deploy([_mi(dialect, False)])
    instance = yimen.start("r2_compensation_mi", data={"rooms": [], "enough": 1, "cancelled": True})["instance"]
    complete(yimen, instance, "confirm")
    assert status(yimen, instance) == "completed"
    assert "release_room" not in elements(yimen, instance)
