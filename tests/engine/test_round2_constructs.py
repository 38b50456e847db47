"""Issue 17, constructs Yimen did not run yet: link events, standard loops, transactions with cancel,
conditional events. Each in the three dialects on SQLite and PostgreSQL, through the commands the CLI
maps one to one (deploy, start, tasks, complete, message, show)."""
from __future__ import annotations

import pytest

from engine.errors import BpmnInvalid
from tests.engine.round2 import DIALECTS, complete, diagram, elements, open_elements, status


@pytest.mark.parametrize("dialect", DIALECTS)
def test_link_events_join_the_throw_to_its_catch_and_the_receive_task_waits(yimen, dialect):
    """A link throw continues at the catch of the same name; the receive task after it waits for its message."""
    result = yimen.deploy([diagram("link_events", dialect)])
    assert [w["element_id"] for w in result["warnings"]] == ["go_to_archive"]
    instance = yimen.start("r2_link", business_key="LK-1")["instance"]
    complete(yimen, instance, "register")
    assert open_elements(yimen, instance) == [] and status(yimen, instance) == "running"
    assert elements(yimen, instance) == ["start", "register", "go_to_archive", "from_register"]
    assert yimen.message("receipt", business_key="LK-1") == {"delivered": [instance]}
    complete(yimen, instance, "archive")
    assert status(yimen, instance) == "completed"
    assert elements(yimen, instance)[-3:] == ["wait_receipt", "archive", "end"]


def test_a_link_throw_without_its_catch_is_refused_with_element_and_line(yimen):
    _, content = diagram("link_events")
    text = content.decode().replace('<bpmn:linkEventDefinition name="archive" />\n    </bpmn:intermediateCatchEvent>',
                                    '<bpmn:linkEventDefinition name="elsewhere" />\n    </bpmn:intermediateCatchEvent>')
    with pytest.raises(BpmnInvalid) as refused:
        yimen.deploy([("link.bpmn", text.encode())])
    assert ("go_to_archive", 6) in {(p.element_id, p.line) for p in refused.value.problems}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_standard_loop_repeats_while_its_condition_holds_up_to_its_maximum(yimen, dialect):
    """loopCondition ${!accepted}: again until accepted (here the 2nd time); testBefore with a false
    condition: the step never opens."""
    yimen.deploy([diagram("standard_loop", dialect)])
    instance = yimen.start("r2_loop", data={"accepted": False, "pending": False})["instance"]
    complete(yimen, instance, "revise", {"accepted": False})
    complete(yimen, instance, "revise", {"accepted": True})
    assert status(yimen, instance) == "completed"
    assert elements(yimen, instance) == ["start", "revise", "revise", "end"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_standard_loop_stops_at_loop_maximum_and_test_before_loops_while_true(yimen, dialect):
    yimen.deploy([diagram("standard_loop", dialect)])
    instance = yimen.start("r2_loop", data={"accepted": False, "pending": True})["instance"]
    for _ in range(3):  # loopMaximum="3": never accepted, three times
        complete(yimen, instance, "revise", {"accepted": False})
    assert open_elements(yimen, instance) == ["check"]
    complete(yimen, instance, "check", {"pending": True})
    complete(yimen, instance, "check", {"pending": False})
    assert status(yimen, instance) == "completed"
    assert elements(yimen, instance) == ["start", "revise", "revise", "revise", "check", "check", "end"]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("declined, expected", [(True, ["tell_declined"]), (False, ["issue"])])
def test_transaction_cancel_end_takes_the_cancel_boundary(yimen, dialect, declined, expected):
    """A cancel end event inside a transaction ends it and leaves by the cancel boundary event."""
    yimen.deploy([diagram("transaction", dialect)])
    instance = yimen.start("r2_transaction")["instance"]
    complete(yimen, instance, "pay", {"declined": declined})
    assert open_elements(yimen, instance) == expected
    done = elements(yimen, instance)
    assert ("on_cancel" in done) is declined and ("payment_cancelled" in done) is declined


@pytest.mark.parametrize("dialect", DIALECTS)
def test_conditional_events_fire_when_another_branch_changes_the_variables(yimen, dialect):
    """Boundary ${urgent}, intermediate catch ${docsComplete} and a non-interrupting event subprocess
    ${complaints > 2}: each fires when a step on another branch sets its variables, once."""
    yimen.deploy([diagram("conditional_events", dialect)])
    instance = yimen.start("r2_conditional", data={"urgent": False, "docsComplete": False,
                                                   "complaints": 0})["instance"]
    assert open_elements(yimen, instance) == ["collect", "review", "triage"]
    complete(yimen, instance, "triage", {"urgent": True, "complaints": 3})
    assert open_elements(yimen, instance) == ["answer_complaints", "collect", "fast_track"]  # review interrupted
    complete(yimen, instance, "collect", {"docsComplete": True})
    assert open_elements(yimen, instance) == ["answer_complaints", "archive", "fast_track"]
    complete(yimen, instance, "fast_track")
    complete(yimen, instance, "archive")
    assert open_elements(yimen, instance) == ["answer_complaints"]  # complaints stayed > 2: no second one
    complete(yimen, instance, "answer_complaints")
    assert status(yimen, instance) == "completed"
    done = elements(yimen, instance)
    assert done.count("escalate_start") == 1 and "review" not in done
    assert done.index("when_urgent") < done.index("fast_track") and done.index("until_complete") < done.index("archive")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_compensation_runs_the_handlers_of_completed_steps_latest_first(yimen, dialect):
    """Intermediate compensation throw: refund (charged last) then release; the unreached step 'publish'
    has nothing to compensate; then the flow goes on (SpiffWorkflow 3.2 has no compensation)."""
    yimen.deploy([diagram("compensation", dialect)])
    instance = yimen.start("r2_compensation")["instance"]
    complete(yimen, instance, "reserve_slot")
    complete(yimen, instance, "charge_fee", {"withdrawn": True})
    assert open_elements(yimen, instance) == ["refund_fee"]
    complete(yimen, instance, "refund_fee", {"refunded": 30})
    assert open_elements(yimen, instance) == ["release_slot"]
    complete(yimen, instance, "release_slot")
    assert open_elements(yimen, instance) == ["notify"]
    assert yimen.show(instance)["data"]["refunded"] == 30
    complete(yimen, instance, "notify")
    assert status(yimen, instance) == "completed"
    assert elements(yimen, instance) == ["start", "reserve_slot", "charge_fee", "withdrawn_gw", "refund_fee",
                                         "release_slot", "undo_all", "notify", "end_undone"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_compensation_end_event_with_activity_ref_undoes_that_step_only(yimen, dialect):
    """An end event compensating activityRef="reserve_slot": only release_slot runs, then the process ends."""
    _, content = diagram("compensation", dialect)
    text = content.decode().replace(
        '<bpmn:endEvent id="end_undone" />',
        '<bpmn:endEvent id="end_undone"><bpmn:compensateEventDefinition activityRef="reserve_slot" /></bpmn:endEvent>'
    ).replace('<bpmn:intermediateThrowEvent id="undo_all">\n      <bpmn:compensateEventDefinition />',
              '<bpmn:intermediateThrowEvent id="undo_all">')
    yimen.deploy([(f"compensation_end_{dialect}.bpmn", text.encode())])
    instance = yimen.start("r2_compensation")["instance"]
    complete(yimen, instance, "reserve_slot")
    complete(yimen, instance, "charge_fee", {"withdrawn": True})
    complete(yimen, instance, "notify")
    assert open_elements(yimen, instance) == ["release_slot"]
    complete(yimen, instance, "release_slot")
    assert status(yimen, instance) == "completed"
    assert "refund_fee" not in elements(yimen, instance)


def test_compensation_boundary_without_handler_is_refused_with_element_and_line(yimen):
    _, content = diagram("compensation")
    text = content.decode().replace(
        '<bpmn:association id="a2" associationDirection="One" sourceRef="on_undo_charge" targetRef="refund_fee" />', "")
    with pytest.raises(BpmnInvalid) as refused:
        yimen.deploy([("no_handler.bpmn", text.encode())])
    assert ("on_undo_charge", 11) in {(p.element_id, p.line) for p in refused.value.problems}
