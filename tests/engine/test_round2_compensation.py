"""Issue 17, compensation beyond single steps: compensation event subprocesses, and the compensation of
each instance of a multi-instance step. Each in the three dialects on SQLite and PostgreSQL, through the
commands the CLI maps one to one (deploy, start, tasks, complete, show), asserting what Camunda's
CompensateEventTest asserts: which handlers run, how often, with which variables, and in which order."""
from __future__ import annotations

import pytest

from engine.errors import BpmnInvalid
from tests.conftest import DATA
from tests.engine.round2 import DIALECTS, complete, diagram, elements, in_dialect, open_elements, status


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


# --------------------------------------------------------------------------- compensation event subprocess

def _event_subprocess(text: str) -> str:
    """The XML of the compensation event subprocess 'undo_hearing' in the test diagram."""
    return text[text.index('      <bpmn:subProcess id="undo_hearing"'):
                text.index("    </bpmn:subProcess>\n    <bpmn:userTask")]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_compensated_subprocess_runs_its_compensation_event_subprocess(yimen, dialect):
    """Camunda's CompensateEventTest (compensation event subprocess): compensating the completed
    subprocess starts its compensation event subprocess; the throw inside it compensates the
    subprocess's completed steps (latest first), then the event subprocess goes on, then the process."""
    result = yimen.deploy([diagram("compensation_event_subprocess", dialect)])
    assert [w["element_id"] for w in result["warnings"]] == ["undo_hearing"]
    instance = yimen.start("r2_compensation_esp")["instance"]
    complete(yimen, instance, "book_room", {"room": "A-301"})
    complete(yimen, instance, "invite_experts", {"withdrawn": True})
    assert open_elements(yimen, instance) == ["uninvite_experts"]
    complete(yimen, instance, "uninvite_experts", {"invitations": "withdrawn"})
    assert open_elements(yimen, instance) == ["release_room"]
    complete(yimen, instance, "release_room", {"room": "released"})
    assert open_elements(yimen, instance) == ["inform_parties"]
    complete(yimen, instance, "inform_parties")
    assert open_elements(yimen, instance) == ["close_case"]
    complete(yimen, instance, "close_case")
    assert status(yimen, instance) == "completed"
    done = elements(yimen, instance)
    assert done.index("arrange_end") < done.index("uninvite_experts") < done.index("release_room") \
        < done.index("undo_steps") < done.index("inform_parties") < done.index("undo_all") < done.index("close_case")
    assert done.count("release_room") == 1 and done.count("uninvite_experts") == 1
    data = yimen.show(instance)["data"]
    assert data["invitations"] == "withdrawn" and data["room"] == "released"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_compensation_event_subprocess_runs_instead_of_the_step_handlers(yimen, dialect):
    """Without a throw inside it, the event subprocess is all the compensation there is: the handlers of
    the subprocess's steps do not run."""
    _, content = diagram("compensation_event_subprocess", dialect)
    text = content.decode().replace('sourceRef="undo_start" targetRef="undo_steps"',
                                    'sourceRef="undo_start" targetRef="inform_parties"')
    text = text.replace('<bpmn:sequenceFlow id="u2" sourceRef="undo_steps" targetRef="inform_parties" />', "")
    text = text.replace('<bpmn:intermediateThrowEvent id="undo_steps">\n          <bpmn:compensateEventDefinition />\n'
                        '        </bpmn:intermediateThrowEvent>', "")
    assert "undo_steps" not in text
    yimen.deploy([(f"esp_only_{dialect}.bpmn", text.encode())])
    instance = yimen.start("r2_compensation_esp")["instance"]
    complete(yimen, instance, "book_room")
    complete(yimen, instance, "invite_experts", {"withdrawn": True})
    assert open_elements(yimen, instance) == ["inform_parties"]
    complete(yimen, instance, "inform_parties")
    complete(yimen, instance, "close_case")
    assert status(yimen, instance) == "completed"
    assert not {"release_room", "uninvite_experts"} & set(elements(yimen, instance))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_subprocess_not_completed_is_not_compensated_by_its_event_subprocess(yimen, dialect):
    """Not withdrawn: nothing is compensated, the event subprocess never starts."""
    yimen.deploy([diagram("compensation_event_subprocess", dialect)])
    instance = yimen.start("r2_compensation_esp")["instance"]
    complete(yimen, instance, "book_room")
    complete(yimen, instance, "invite_experts", {"withdrawn": False})
    complete(yimen, instance, "hold_hearing")
    assert status(yimen, instance) == "completed"
    assert not {"inform_parties", "release_room", "uninvite_experts"} & set(elements(yimen, instance))


def test_a_compensation_event_subprocess_at_process_level_is_refused_with_element_and_line(yimen):
    """Camunda refuses it too: a compensation event subprocess belongs to an embedded subprocess."""
    text = (DATA / "round2" / "compensation_event_subprocess.bpmn").read_text(encoding="utf-8")
    inner = _event_subprocess(text)
    hold = '    <bpmn:userTask id="hold_hearing"'
    text = text.replace(inner, "").replace(hold, inner + hold)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if 'id="undo_start"' in row)
    with pytest.raises(BpmnInvalid) as refused:
        yimen.deploy([("esp_top.bpmn", text.encode())])
    assert ("undo_start", line) in {(p.element_id, p.line) for p in refused.value.problems}
    assert any("embedded subprocess" in p.reason for p in refused.value.problems)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_without_an_event_subprocess_the_subprocess_steps_are_compensated_from_outside(yimen, dialect):
    """Camunda's rule for a completed subprocess with no handler of its own: a throw in the parent scope
    compensates the subprocess's completed steps (latest first)."""
    text = (DATA / "round2" / "compensation_event_subprocess.bpmn").read_text(encoding="utf-8")
    inner = _event_subprocess(text)
    yimen.deploy([(f"no_esp_{dialect}.bpmn", in_dialect(text.replace(inner, ""), dialect).encode())])
    instance = yimen.start("r2_compensation_esp")["instance"]
    complete(yimen, instance, "book_room")
    complete(yimen, instance, "invite_experts", {"withdrawn": True})
    assert open_elements(yimen, instance) == ["uninvite_experts"]
    complete(yimen, instance, "uninvite_experts")
    assert open_elements(yimen, instance) == ["release_room"]
    complete(yimen, instance, "release_room", {"room": "released"})
    complete(yimen, instance, "close_case")
    assert status(yimen, instance) == "completed"
    assert yimen.show(instance)["data"]["room"] == "released"
    assert "inform_parties" not in elements(yimen, instance)


def test_a_compensation_event_subprocess_beside_a_compensation_boundary_is_refused(yimen):
    """A subprocess has one compensation handler: a boundary event's, or its event subprocess."""
    text = (DATA / "round2" / "compensation_event_subprocess.bpmn").read_text(encoding="utf-8")
    text = text.replace('    <bpmn:userTask id="hold_hearing"',
                        '    <bpmn:boundaryEvent id="on_undo_hearing" attachedToRef="arrange_hearing">\n'
                        '      <bpmn:compensateEventDefinition />\n    </bpmn:boundaryEvent>\n'
                        '    <bpmn:userTask id="cancel_hearing" isForCompensation="true" />\n'
                        '    <bpmn:association id="a_h" sourceRef="on_undo_hearing" targetRef="cancel_hearing" />\n'
                        '    <bpmn:userTask id="hold_hearing"')
    line = next(n for n, row in enumerate(text.splitlines(), 1) if 'id="undo_start"' in row)
    with pytest.raises(BpmnInvalid) as refused:
        yimen.deploy([("esp_and_boundary.bpmn", text.encode())])
    assert ("undo_start", line) in {(p.element_id, p.line) for p in refused.value.problems}
