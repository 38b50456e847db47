"""BPMN behaviour beyond user tasks: events, gateways, subprocesses, ending, handlers.

Diagrams are Camunda Modeler files in ``tests/data/dialects/features/``; the
process id of ``<name>.bpmn`` is given per test. Every test runs on SQLite and
PostgreSQL and every step reloads the instance from storage (see conftest).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import handlers
from engine.errors import BpmnInvalid, InvalidState, NotFound, PermissionDenied
from tests.conftest import read

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", T0.isoformat())
    monkeypatch.delenv("YIMEN_HANDLER_ATTEMPTS", raising=False)
    monkeypatch.delenv("YIMEN_HANDLER_BACKOFF_SECONDS", raising=False)
    return T0


def deploy(yimen, *names: str) -> dict:
    return yimen.deploy([read(f"dialects/features/{name}.bpmn") for name in names])


def open_elements(yimen, instance: int) -> list[str]:
    return sorted(t["element_id"] for t in yimen.tasks(instance=instance))


def task_of(yimen, instance: int, element: str) -> dict:
    rows = [t for t in yimen.tasks(instance=instance) if t["element_id"] == element]
    assert len(rows) == 1, yimen.tasks(instance=instance)
    return rows[0]


def elements(yimen, instance: int) -> list[str]:
    return yimen.show(instance)["completed_elements"]


def status(yimen, instance: int) -> str:
    return yimen.show(instance)["status"]


# --- messages -------------------------------------------------------------------------------------------

def test_message_correlated_by_instance_moves_only_that_instance(yimen):
    """A message given an instance id reaches that instance; its payload becomes case data."""
    deploy(yimen, "message_catch")
    first = yimen.start("feat_message_catch", business_key="SQ-001")["instance"]
    second = yimen.start("feat_message_catch", business_key="SQ-002")["instance"]
    assert yimen.message("payment_received", data={"paid": 120}, instance=second) == {"delivered": [second]}
    assert open_elements(yimen, second) == ["confirm"]
    assert yimen.show(second)["data"]["paid"] == 120
    assert elements(yimen, second) == ["start", "wait_payment"]
    assert open_elements(yimen, first) == []
    assert elements(yimen, first) == ["start"]


def test_message_correlated_by_business_key_moves_only_that_instance(yimen):
    """A message given a business key reaches the instance started with that key."""
    deploy(yimen, "message_catch")
    first = yimen.start("feat_message_catch", business_key="SQ-001")["instance"]
    second = yimen.start("feat_message_catch", business_key="SQ-002")["instance"]
    assert yimen.message("payment_received", data={"paid": 80}, business_key="SQ-001") == {"delivered": [first]}
    assert open_elements(yimen, first) == ["confirm"]
    assert open_elements(yimen, second) == []
    with pytest.raises(NotFound):
        yimen.message("payment_received", business_key="SQ-001")  # it no longer waits
    with pytest.raises(NotFound):
        yimen.message("payment_received", business_key="SQ-404")


def test_message_nobody_waits_for_raises_not_found(yimen):
    """A message no running instance waits for is refused with NotFound."""
    deploy(yimen, "message_catch")
    with pytest.raises(NotFound):
        yimen.message("payment_received")
    instance = yimen.start("feat_message_catch")["instance"]
    with pytest.raises(NotFound):
        yimen.message("no_such_message", instance=instance)
    assert elements(yimen, instance) == ["start"]


def test_message_without_correlation_and_two_waiting_instances_is_ambiguous(yimen):
    """Two instances waiting and neither instance id nor business key given: InvalidState, nobody moves."""
    deploy(yimen, "message_catch")
    first = yimen.start("feat_message_catch")["instance"]
    second = yimen.start("feat_message_catch")["instance"]
    with pytest.raises(InvalidState):
        yimen.message("payment_received", data={"paid": 1})
    assert open_elements(yimen, first) == open_elements(yimen, second) == []


def test_receive_task_waits_for_its_message(yimen):
    """A receive task holds the instance until its message arrives, then the process goes on."""
    deploy(yimen, "receive_task")
    instance = yimen.start("feat_receive_task", business_key="SQ-7")["instance"]
    assert status(yimen, instance) == "running"
    assert yimen.tasks(instance=instance) == []
    assert yimen.message("documents_received", data={"pages": 12}, business_key="SQ-7") == {"delivered": [instance]}
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    assert shown["data"]["pages"] == 12
    assert shown["completed_elements"] == ["start", "receive_docs", "end"]


# --- signals --------------------------------------------------------------------------------------------

def test_signal_broadcast_reaches_every_waiting_instance(yimen):
    """A signal reaches all instances waiting for it, and each gets the payload."""
    deploy(yimen, "signal_catch")
    first = yimen.start("feat_signal_catch")["instance"]
    second = yimen.start("feat_signal_catch")["instance"]
    result = yimen.signal("policy_changed", data={"policy": "2026-07"})
    assert sorted(result["delivered"]) == [first, second]
    for instance in (first, second):
        shown = yimen.show(instance)
        assert shown["status"] == "completed"
        assert shown["data"]["policy"] == "2026-07"
        assert shown["completed_elements"] == ["start", "wait_policy", "end"]


def test_signal_nobody_waits_for_is_delivered_to_nobody(yimen):
    """A signal is a broadcast: with no listener it succeeds and reaches nobody."""
    deploy(yimen, "signal_catch")
    assert yimen.signal("policy_changed") == {"delivered": []}
    instance = yimen.start("feat_signal_catch")["instance"]
    assert yimen.signal("another_signal") == {"delivered": []}
    assert status(yimen, instance) == "running"


# --- errors and escalations ------------------------------------------------------------------------------------

def test_error_end_event_is_caught_by_boundary_on_subprocess(yimen):
    """An error end event inside a subprocess leaves it through the error boundary event."""
    deploy(yimen, "error_boundary")
    instance = yimen.start("feat_error_boundary")["instance"]
    yimen.complete(task_of(yimen, instance, "verify")["id"], data={"valid": False})
    assert open_elements(yimen, instance) == ["rework"]
    done = elements(yimen, instance)
    assert done[:5] == ["start", "verify_start", "verify", "gw_valid", "invalid_end"]
    assert done.index("invalid_end") < done.index("on_invalid")
    assert "verify_end" not in done and "issue" not in done
    yimen.complete(task_of(yimen, instance, "rework")["id"])
    assert status(yimen, instance) == "completed"
    assert elements(yimen, instance)[-2:] == ["rework", "end_rework"]


def test_subprocess_without_error_takes_the_normal_flow(yimen):
    """When the subprocess ends normally the error boundary is not taken."""
    deploy(yimen, "error_boundary")
    instance = yimen.start("feat_error_boundary")["instance"]
    yimen.complete(task_of(yimen, instance, "verify")["id"], data={"valid": True})
    assert open_elements(yimen, instance) == ["issue"]
    yimen.complete(task_of(yimen, instance, "issue")["id"])
    done = elements(yimen, instance)
    assert status(yimen, instance) == "completed"
    assert done == ["start", "verify_start", "verify", "gw_valid", "verify_end", "verify_sub", "issue", "end_issued"]


def test_escalation_caught_by_non_interrupting_boundary_keeps_subprocess_running(yimen):
    """An escalation thrown in a subprocess starts the boundary path while the subprocess goes on."""
    deploy(yimen, "escalation")
    instance = yimen.start("feat_escalation", data={"urgent": True})["instance"]
    assert open_elements(yimen, instance) == ["inform_lead", "work"]
    assert "raise" in elements(yimen, instance)
    yimen.complete(task_of(yimen, instance, "inform_lead")["id"])
    assert open_elements(yimen, instance) == ["work"]
    yimen.complete(task_of(yimen, instance, "work")["id"])
    done = elements(yimen, instance)
    assert status(yimen, instance) == "completed"
    assert done.index("inform_lead") < done.index("end_informed")
    assert done.index("work") < done.index("handle_sub") < done.index("end")


def test_no_escalation_leaves_the_boundary_path_untaken(yimen):
    """Without an escalation only the subprocess' own work opens."""
    deploy(yimen, "escalation")
    instance = yimen.start("feat_escalation", data={"urgent": False})["instance"]
    assert open_elements(yimen, instance) == ["work"]
    yimen.complete(task_of(yimen, instance, "work")["id"])
    done = elements(yimen, instance)
    assert status(yimen, instance) == "completed"
    assert "inform_lead" not in done and "raise" not in done


# --- timer boundary events --------------------------------------------------------------------------------------

def test_interrupting_timer_boundary_cancels_task_and_takes_timer_path(yimen, pinned_clock):
    """An interrupting PT2H boundary timer cancels the overdue task and opens the hand-over task."""
    deploy(yimen, "timer_interrupting")
    instance = yimen.start("feat_timer_interrupting")["instance"]
    review = task_of(yimen, instance, "review")
    assert yimen.fire_timers(until=pinned_clock + timedelta(hours=1, minutes=59))["fired"] == 0
    assert open_elements(yimen, instance) == ["review"]
    assert yimen.fire_timers(until=pinned_clock + timedelta(hours=2, seconds=1))["fired"] == 1
    assert open_elements(yimen, instance) == ["escalate"]
    with pytest.raises(InvalidState):
        yimen.complete(review["id"])
    yimen.complete(task_of(yimen, instance, "escalate")["id"])
    done = elements(yimen, instance)
    assert status(yimen, instance) == "completed"
    assert "review" not in done and "end_reviewed" not in done
    assert done[-3:] == ["overdue", "escalate", "end_escalate"]


def test_interrupting_timer_boundary_is_dropped_when_task_finishes_first(yimen, pinned_clock):
    """Completing the task before its boundary timer is due removes the timer."""
    deploy(yimen, "timer_interrupting")
    instance = yimen.start("feat_timer_interrupting")["instance"]
    yimen.complete(task_of(yimen, instance, "review")["id"])
    assert status(yimen, instance) == "completed"
    assert yimen.fire_timers(until=pinned_clock + timedelta(days=1))["fired"] == 0
    assert elements(yimen, instance) == ["start", "review", "end_reviewed"]


def test_non_interrupting_timer_boundary_keeps_task_and_adds_reminder(yimen, pinned_clock):
    """A non-interrupting PT1H boundary timer opens a reminder task and leaves the reviewed task open."""
    deploy(yimen, "timer_non_interrupting")
    instance = yimen.start("feat_timer_non_interrupting")["instance"]
    review = task_of(yimen, instance, "review")
    assert yimen.fire_timers(until=pinned_clock + timedelta(minutes=30))["fired"] == 0
    assert yimen.fire_timers(until=pinned_clock + timedelta(hours=1, seconds=1))["fired"] == 1
    assert open_elements(yimen, instance) == ["remind", "review"]
    assert task_of(yimen, instance, "review")["id"] == review["id"]
    assert yimen.fire_timers(until=pinned_clock + timedelta(days=1))["fired"] == 0  # fires once
    yimen.complete(task_of(yimen, instance, "remind")["id"])
    assert status(yimen, instance) == "running"
    yimen.complete(review["id"])
    done = elements(yimen, instance)
    assert status(yimen, instance) == "completed"
    assert done.index("remind") < done.index("end_remind") < done.index("review") < done.index("end_reviewed")


# --- subprocesses -------------------------------------------------------------------------------------------------

def test_call_activity_runs_the_called_process_and_returns(yimen):
    """A call activity runs the process with the called key (deployed with it); data flows in and back."""
    result = deploy(yimen, "call_parent", "call_child")
    assert sorted(d["key"] for d in result["deployed"]) == ["feat_call_child", "feat_call_parent"]
    instance = yimen.start("feat_call_parent")["instance"]
    yimen.complete(task_of(yimen, instance, "prepare")["id"], data={"applicant": "张三"})
    child_task = task_of(yimen, instance, "child_review")
    assert child_task["candidate_groups"] == ["reviewer"]
    yimen.complete(child_task["id"], data={"joint_opinion": "同意"})
    assert open_elements(yimen, instance) == ["finish"]
    assert yimen.show(instance)["data"]["joint_opinion"] == "同意"
    yimen.complete(task_of(yimen, instance, "finish")["id"])
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    assert shown["data"]["applicant"] == "张三"
    assert shown["completed_elements"] == [
        "start", "prepare", "child_start", "child_review", "child_end", "call_check", "finish", "end"]


def test_call_activity_callee_missing_from_upload_is_refused(yimen):
    """Deploying a caller without the called process is refused as bpmn_invalid."""
    with pytest.raises(BpmnInvalid) as caught:
        deploy(yimen, "call_parent")
    assert any(p.element_id == "call_check" for p in caught.value.problems)


def test_embedded_subprocess_runs_its_steps_in_order(yimen):
    """An embedded subprocess runs its own start, tasks and end before the flow after it."""
    deploy(yimen, "embedded_subprocess")
    instance = yimen.start("feat_embedded")["instance"]
    assert open_elements(yimen, instance) == ["visit"]
    yimen.complete(task_of(yimen, instance, "visit")["id"], data={"site_ok": True})
    assert open_elements(yimen, instance) == ["report"]
    yimen.complete(task_of(yimen, instance, "report")["id"])
    assert open_elements(yimen, instance) == ["decide"]
    yimen.complete(task_of(yimen, instance, "decide")["id"])
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    assert shown["data"]["site_ok"] is True
    assert shown["completed_elements"] == [
        "start", "inspect_start", "visit", "report", "inspect_end", "inspect_sub", "decide", "end"]


def waiting_rows(yimen, instance: int) -> dict[str, list]:
    """What the instance waits for, as rows: timers (element, due) and subscriptions (element, kind, name)."""
    from sqlalchemy import select

    from engine.models import EventSubscription, Timer

    with yimen.session() as s:
        timers = s.scalars(select(Timer).where(Timer.instance_id == instance)).all()
        subs = s.scalars(select(EventSubscription).where(EventSubscription.instance_id == instance)).all()
        return {"timers": sorted((t.element_id, t.due_at.replace(tzinfo=timezone.utc) if t.due_at.tzinfo is None
                                  else t.due_at) for t in timers),
                "subscriptions": sorted((e.element_id, e.kind, e.name) for e in subs)}


def task_status(yimen, task_id: str) -> str:
    from engine.models import HumanTask

    with yimen.session() as s:
        return s.get(HumanTask, task_id).status


def test_message_event_subprocess_interrupts_the_main_flow(yimen):
    """A message-started interrupting event subprocess cancels the open task and runs instead."""
    deploy(yimen, "event_subprocess")
    instance = yimen.start("feat_event_subprocess", business_key="SQ-9")["instance"]
    work = task_of(yimen, instance, "work")
    assert waiting_rows(yimen, instance)["subscriptions"] == [("withdraw_start", "message", "withdraw_application")]
    assert yimen.message("withdraw_application", data={"reason": "不再需要"}, business_key="SQ-9") == {
        "delivered": [instance]}
    assert open_elements(yimen, instance) == ["record_withdrawal"]
    assert task_status(yimen, work["id"]) == "cancelled"
    assert waiting_rows(yimen, instance) == {"timers": [], "subscriptions": []}
    with pytest.raises(InvalidState):
        yimen.complete(work["id"])
    yimen.complete(task_of(yimen, instance, "record_withdrawal")["id"])
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    assert shown["data"]["reason"] == "不再需要"
    assert "work" not in shown["completed_elements"] and "end" not in shown["completed_elements"]
    assert shown["completed_elements"] == ["start", "withdraw_start", "record_withdrawal", "withdrawn_end"]


def test_event_subprocess_not_triggered_lets_the_main_flow_finish(yimen):
    """Without its message the event subprocess never runs and stops listening when the process ends."""
    deploy(yimen, "event_subprocess")
    instance = yimen.start("feat_event_subprocess")["instance"]
    yimen.complete(task_of(yimen, instance, "work")["id"])
    assert status(yimen, instance) == "completed"
    assert elements(yimen, instance) == ["start", "work", "end"]
    assert waiting_rows(yimen, instance) == {"timers": [], "subscriptions": []}
    with pytest.raises(NotFound):
        yimen.message("withdraw_application", instance=instance)


def test_event_subprocess_message_reaches_only_the_instance_with_that_business_key(yimen):
    """Two instances listen for the same message; the business key picks one, the other goes on unchanged."""
    deploy(yimen, "event_subprocess")
    first = yimen.start("feat_event_subprocess", business_key="SQ-1")["instance"]
    second = yimen.start("feat_event_subprocess", business_key="SQ-2")["instance"]
    with pytest.raises(InvalidState):
        yimen.message("withdraw_application")  # both wait: ambiguous
    assert yimen.message("withdraw_application", business_key="SQ-2") == {"delivered": [second]}
    assert open_elements(yimen, first) == ["work"]
    assert open_elements(yimen, second) == ["record_withdrawal"]
    with pytest.raises(NotFound):
        yimen.message("withdraw_application", business_key="SQ-2")  # an interrupting start triggers once
    yimen.complete(task_of(yimen, first, "work")["id"])
    assert status(yimen, first) == "completed"
    assert status(yimen, second) == "running"


def test_non_interrupting_message_event_subprocess_runs_beside_the_main_flow(yimen):
    """A non-interrupting start keeps the main task open, opens the subprocess task, and listens again."""
    deploy(yimen, "event_subprocess_non_interrupting")
    instance = yimen.start("feat_event_subprocess_non_interrupting", business_key="SQ-3")["instance"]
    work = task_of(yimen, instance, "work")
    yimen.message("supplement_received", data={"pages": 3}, business_key="SQ-3")
    assert open_elements(yimen, instance) == ["file_supplement", "work"]
    assert task_of(yimen, instance, "work")["id"] == work["id"]
    assert waiting_rows(yimen, instance)["subscriptions"] == [
        ("supplement_start", "message", "supplement_received")]
    yimen.message("supplement_received", data={"pages": 5}, business_key="SQ-3")
    assert open_elements(yimen, instance) == ["file_supplement", "file_supplement", "work"]
    for row in [t for t in yimen.tasks(instance=instance) if t["element_id"] == "file_supplement"]:
        yimen.complete(row["id"])
    assert status(yimen, instance) == "running"
    yimen.complete(work["id"])
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    assert waiting_rows(yimen, instance) == {"timers": [], "subscriptions": []}
    done = shown["completed_elements"]
    assert done.count("supplement_start") == 2 and done.count("supplement_end") == 2
    assert done.index("supplement_start") < done.index("file_supplement") < done.index("supplement_end")
    assert done[-2:] == ["work", "end"]


def test_main_flow_ending_waits_for_a_running_non_interrupting_event_subprocess(yimen):
    """The process completes only when the event subprocess it started has ended too."""
    deploy(yimen, "event_subprocess_non_interrupting")
    instance = yimen.start("feat_event_subprocess_non_interrupting")["instance"]
    yimen.message("supplement_received", instance=instance)
    yimen.complete(task_of(yimen, instance, "work")["id"])
    assert status(yimen, instance) == "running"
    assert open_elements(yimen, instance) == ["file_supplement"]
    yimen.message("supplement_received", instance=instance)  # the scope still listens while it runs
    assert open_elements(yimen, instance) == ["file_supplement", "file_supplement"]
    for row in yimen.tasks(instance=instance):
        yimen.complete(row["id"])
    assert status(yimen, instance) == "completed"
    assert waiting_rows(yimen, instance) == {"timers": [], "subscriptions": []}
    with pytest.raises(NotFound):
        yimen.message("supplement_received", instance=instance)


def test_timer_event_subprocesses_remind_then_take_over(yimen, pinned_clock):
    """A PT1H non-interrupting timer opens a reminder beside the task; a PT3H interrupting one takes over."""
    deploy(yimen, "event_subprocess_timer")
    instance = yimen.start("feat_event_subprocess_timer", data={"applicant": "张三"})["instance"]
    work = task_of(yimen, instance, "work")
    assert waiting_rows(yimen, instance)["timers"] == [
        ("remind_start", pinned_clock + timedelta(hours=1)), ("takeover_start", pinned_clock + timedelta(hours=3))]
    assert yimen.fire_timers(until=pinned_clock + timedelta(minutes=59))["fired"] == 0
    assert yimen.fire_timers(until=pinned_clock + timedelta(hours=1, seconds=1))["fired"] == 1
    assert open_elements(yimen, instance) == ["remind", "work"]
    assert waiting_rows(yimen, instance)["timers"] == [("takeover_start", pinned_clock + timedelta(hours=3))]
    assert yimen.fire_timers(until=pinned_clock + timedelta(hours=2))["fired"] == 0  # a duration fires once
    assert yimen.fire_timers(until=pinned_clock + timedelta(hours=3, seconds=1))["fired"] == 1
    assert open_elements(yimen, instance) == ["takeover"]
    assert task_status(yimen, work["id"]) == "cancelled"
    assert waiting_rows(yimen, instance) == {"timers": [], "subscriptions": []}
    yimen.complete(task_of(yimen, instance, "takeover")["id"], data={"taken_over": True})
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    assert (shown["data"]["applicant"], shown["data"]["taken_over"]) == ("张三", True)
    assert "work" not in shown["completed_elements"] and "remind" not in shown["completed_elements"]
    assert shown["completed_elements"] == ["start", "remind_start", "takeover_start", "takeover", "takeover_end"]


def test_timer_event_subprocesses_are_dropped_when_the_task_is_done_in_time(yimen, pinned_clock):
    """Completing the task first ends the process and removes both timer rows; nothing fires later."""
    deploy(yimen, "event_subprocess_timer")
    instance = yimen.start("feat_event_subprocess_timer")["instance"]
    yimen.complete(task_of(yimen, instance, "work")["id"])
    assert status(yimen, instance) == "completed"
    assert waiting_rows(yimen, instance) == {"timers": [], "subscriptions": []}
    assert yimen.fire_timers(until=pinned_clock + timedelta(days=1))["fired"] == 0
    assert elements(yimen, instance) == ["start", "work", "end"]


def test_timer_cycle_event_subprocess_fires_once_per_cycle(yimen, pinned_clock):
    """R2/PT24H non-interrupting: the event subprocess runs after one day and after two, then no more."""
    deploy(yimen, "event_subprocess_cycle")
    instance = yimen.start("feat_event_subprocess_cycle")["instance"]
    day = timedelta(days=1)
    assert waiting_rows(yimen, instance)["timers"] == [("nag_start", pinned_clock + day)]
    assert yimen.fire_timers(until=pinned_clock + day + timedelta(seconds=1))["fired"] == 1
    assert waiting_rows(yimen, instance)["timers"] == [("nag_start", pinned_clock + 2 * day)]
    assert yimen.fire_timers(until=pinned_clock + 2 * day + timedelta(seconds=1))["fired"] == 1
    assert waiting_rows(yimen, instance)["timers"] == []
    assert yimen.fire_timers(until=pinned_clock + 5 * day)["fired"] == 0
    assert open_elements(yimen, instance) == ["work"]
    yimen.complete(task_of(yimen, instance, "work")["id"])
    assert status(yimen, instance) == "completed"
    assert elements(yimen, instance) == ["start", "nag_start", "nag_end", "nag_start", "nag_end", "work", "end"]


def test_signal_event_subprocess_interrupts_every_waiting_instance(yimen):
    """A signal starts the interrupting event subprocess of each instance waiting for it."""
    deploy(yimen, "event_subprocess_signal")
    first = yimen.start("feat_event_subprocess_signal")["instance"]
    second = yimen.start("feat_event_subprocess_signal")["instance"]
    yimen.complete(task_of(yimen, second, "work")["id"])  # finished first: no longer listens
    third = yimen.start("feat_event_subprocess_signal")["instance"]
    assert waiting_rows(yimen, first)["subscriptions"] == [("suspend_start", "signal", "policy_suspended")]
    assert sorted(yimen.signal("policy_suspended", data={"policy": "2026-07"})["delivered"]) == [first, third]
    for instance in (first, third):
        assert open_elements(yimen, instance) == ["notify_applicant"]
    assert yimen.signal("policy_suspended") == {"delivered": []}
    yimen.complete(task_of(yimen, first, "notify_applicant")["id"])
    assert elements(yimen, first) == ["start", "suspend_start", "notify_applicant", "suspend_end"]
    assert status(yimen, first) == "completed"
    assert yimen.show(first)["data"]["policy"] == "2026-07"
    assert elements(yimen, second) == ["start", "work", "end"]


def test_error_thrown_in_a_subprocess_starts_the_error_event_subprocess(yimen):
    """An error end event inside an embedded subprocess (no boundary) starts the process' error event subprocess."""
    deploy(yimen, "event_subprocess_error")
    instance = yimen.start("feat_event_subprocess_error")["instance"]
    assert waiting_rows(yimen, instance) == {"timers": [], "subscriptions": []}  # errors need no row
    yimen.complete(task_of(yimen, instance, "verify")["id"], data={"valid": False})
    assert open_elements(yimen, instance) == ["rework"]
    yimen.complete(task_of(yimen, instance, "rework")["id"])
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    assert shown["data"]["valid"] is False
    assert "issue" not in shown["completed_elements"] and "end" not in shown["completed_elements"]
    assert shown["completed_elements"][-4:] == ["invalid_end", "invalid_start", "rework", "rework_end"]


def test_error_event_subprocess_stays_unused_without_an_error(yimen):
    """Without an error the main flow runs to its end and the error event subprocess never starts."""
    deploy(yimen, "event_subprocess_error")
    instance = yimen.start("feat_event_subprocess_error")["instance"]
    yimen.complete(task_of(yimen, instance, "verify")["id"], data={"valid": True})
    assert open_elements(yimen, instance) == ["issue"]
    yimen.complete(task_of(yimen, instance, "issue")["id"])
    assert status(yimen, instance) == "completed"
    assert elements(yimen, instance) == [
        "start", "verify_start", "verify", "gw_valid", "verify_end", "verify_sub", "issue", "end"]


@pytest.mark.parametrize("urgent", [True, False])
def test_escalation_starts_a_non_interrupting_event_subprocess_beside_the_flow(yimen, urgent):
    """An escalation thrown by the main flow opens the head's task beside it; without one nothing starts."""
    deploy(yimen, "event_subprocess_escalation")
    instance = yimen.start("feat_event_subprocess_escalation")["instance"]
    yimen.complete(task_of(yimen, instance, "prepare")["id"], data={"urgent": urgent})
    assert open_elements(yimen, instance) == (["finish", "inform_head"] if urgent else ["finish"])
    yimen.complete(task_of(yimen, instance, "finish")["id"])
    if urgent:
        assert status(yimen, instance) == "running"
        yimen.complete(task_of(yimen, instance, "inform_head")["id"])
    assert status(yimen, instance) == "completed"
    done = elements(yimen, instance)
    if urgent:
        assert done.index("raise") < done.index("inform_start") < done.index("inform_head")
        assert done[-4:] == ["finish", "end", "inform_head", "inform_end"]
    else:
        assert "inform_start" not in done and done[-2:] == ["finish", "end"]


def test_event_subprocess_inside_an_embedded_subprocess_interrupts_only_that_subprocess(yimen):
    """The message cancels the visit and runs the event subprocess; then the embedded subprocess ends and the
    process goes on after it."""
    deploy(yimen, "event_subprocess_nested")
    instance = yimen.start("feat_event_subprocess_nested", business_key="SQ-5")["instance"]
    visit = task_of(yimen, instance, "visit")
    assert waiting_rows(yimen, instance)["subscriptions"] == [
        ("visit_cancelled_start", "message", "visit_cancelled")]
    yimen.message("visit_cancelled", data={"why": "申请人不在"}, business_key="SQ-5")
    assert open_elements(yimen, instance) == ["note_cancel"]
    assert task_status(yimen, visit["id"]) == "cancelled"
    yimen.complete(task_of(yimen, instance, "note_cancel")["id"])
    assert open_elements(yimen, instance) == ["decide"]
    assert yimen.show(instance)["data"]["why"] == "申请人不在"
    yimen.complete(task_of(yimen, instance, "decide")["id"])
    assert status(yimen, instance) == "completed"
    assert elements(yimen, instance) == ["start", "inspect_start", "visit_cancelled_start", "note_cancel",
                                         "visit_cancelled_end", "inspect_sub", "decide", "end"]


def test_event_subprocess_inside_an_embedded_subprocess_stops_listening_when_it_ends(yimen):
    """Once the embedded subprocess is done, its event subprocess' message is no longer awaited."""
    deploy(yimen, "event_subprocess_nested")
    instance = yimen.start("feat_event_subprocess_nested")["instance"]
    yimen.complete(task_of(yimen, instance, "visit")["id"])
    assert open_elements(yimen, instance) == ["decide"]
    assert waiting_rows(yimen, instance) == {"timers": [], "subscriptions": []}
    with pytest.raises(NotFound):
        yimen.message("visit_cancelled", instance=instance)
    yimen.complete(task_of(yimen, instance, "decide")["id"])
    assert elements(yimen, instance) == ["start", "inspect_start", "visit", "inspect_end", "inspect_sub", "decide",
                                         "end"]


def test_two_instances_share_one_cached_spec_and_only_one_is_interrupted(database_url):
    """With the parsed spec kept in memory (no reload between steps), triggering one instance changes
    nothing for the other, nor for an instance started after a fresh parse."""
    from engine import definitions
    from engine.service import Yimen

    def shape(service, definition_id):
        """Every task spec of the cached version with what it connects to."""
        with service.session() as s:
            loaded = definitions.load(s, definition_id)
            return {(spec.name, name): (type(task).__name__, tuple(task._inputs), tuple(task._outputs))
                    for spec in (loaded.spec, *loaded.subprocess_specs.values())
                    for name, task in spec.task_specs.items()}

    definitions.clear_cache()
    service = Yimen(database_url)
    try:
        definition_id = deploy(service, "event_subprocess")["deployed"][0]["id"]
        before = shape(service, definition_id)
        triggered = service.start("feat_event_subprocess", business_key="A")["instance"]
        quiet = service.start("feat_event_subprocess", business_key="B")["instance"]
        service.message("withdraw_application", business_key="A")
        assert shape(service, definition_id) == before  # the shared spec is untouched by the run
        definitions.clear_cache()  # a fresh parse for the rest; both instances were started before it
        assert shape(service, definition_id) == before
        later = service.start("feat_event_subprocess", business_key="C")["instance"]
        service.complete(task_of(service, quiet, "work")["id"])
        assert status(service, quiet) == "completed"
        assert elements(service, quiet) == ["start", "work", "end"]
        service.complete(task_of(service, triggered, "record_withdrawal")["id"])
        assert elements(service, triggered) == ["start", "withdraw_start", "record_withdrawal", "withdrawn_end"]
        assert service.message("withdraw_application", business_key="C") == {"delivered": [later]}
        service.complete(task_of(service, later, "record_withdrawal")["id"])
        assert status(service, later) == "completed"
    finally:
        service.close()
        definitions.clear_cache()


def test_event_subprocess_that_cannot_start_is_refused_at_deploy(yimen):
    """No start event, a start event without an event definition, or a flow into it: refused, naming the element."""
    body = """<bpmn:message id="m" name="stop"/>
<bpmn:process id="bad_evsub" isExecutable="true">
  <bpmn:startEvent id="s"/><bpmn:userTask id="t"/><bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  <bpmn:sequenceFlow id="f3" sourceRef="t" targetRef="wired"/>
  <bpmn:subProcess id="no_start" triggeredByEvent="true"><bpmn:endEvent id="ne"/></bpmn:subProcess>
  <bpmn:subProcess id="plain_start" triggeredByEvent="true">
    <bpmn:startEvent id="ps"/><bpmn:endEvent id="pe"/><bpmn:sequenceFlow id="g1" sourceRef="ps" targetRef="pe"/>
  </bpmn:subProcess>
  <bpmn:subProcess id="wired" triggeredByEvent="true">
    <bpmn:startEvent id="ws"><bpmn:messageEventDefinition messageRef="m"/></bpmn:startEvent>
    <bpmn:endEvent id="we"/><bpmn:sequenceFlow id="g2" sourceRef="ws" targetRef="we"/>
  </bpmn:subProcess>
</bpmn:process>"""
    xml = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" '
           f'targetNamespace="http://bpmn.io/schema/bpmn">{body}</bpmn:definitions>')
    with pytest.raises(BpmnInvalid) as caught:
        yimen.deploy([("bad_evsub.bpmn", xml.encode())])
    reasons = {p.element_id: p.reason for p in caught.value.problems}
    assert "event subprocess 'no_start' needs exactly one start event" in reasons["no_start"]
    assert "start event 'ps' of event subprocess 'plain_start' has no event definition" in reasons["ps"]
    assert "event subprocess 'wired' has incoming or outgoing sequence flows (f3)" in reasons["wired"]


# --- gateways -------------------------------------------------------------------------------------------------

def test_event_based_gateway_message_arrives_first(yimen, pinned_clock):
    """Event-based gateway: the message wins, the timer is dropped."""
    deploy(yimen, "event_gateway")
    instance = yimen.start("feat_event_gateway", business_key="BZ-1")["instance"]
    assert yimen.message("materials_corrected", business_key="BZ-1") == {"delivered": [instance]}
    assert open_elements(yimen, instance) == ["recheck"]
    assert yimen.fire_timers(until=pinned_clock + timedelta(days=6))["fired"] == 0
    yimen.complete(task_of(yimen, instance, "recheck")["id"])
    done = elements(yimen, instance)
    assert status(yimen, instance) == "completed"
    assert "deadline" not in done and "end_expired" not in done
    assert done[-3:] == ["corrected", "recheck", "end_rechecked"]


def test_event_based_gateway_timer_fires_first(yimen, pinned_clock):
    """Event-based gateway: the P5D timer wins, and the message is no longer awaited."""
    deploy(yimen, "event_gateway")
    instance = yimen.start("feat_event_gateway", business_key="BZ-2")["instance"]
    assert yimen.fire_timers(until=pinned_clock + timedelta(days=4))["fired"] == 0
    assert yimen.fire_timers(until=pinned_clock + timedelta(days=5, seconds=1))["fired"] == 1
    done = elements(yimen, instance)
    assert status(yimen, instance) == "completed"
    assert "corrected" not in done
    assert done[-2:] == ["deadline", "end_expired"]
    with pytest.raises(NotFound):
        yimen.message("materials_corrected", business_key="BZ-2")


def test_inclusive_gateway_takes_true_branches_and_joins_them(yimen):
    """Inclusive split takes the two true branches of three; the join waits for both, not the third."""
    deploy(yimen, "inclusive_gateway")
    instance = yimen.start("feat_inclusive", data={"needs_legal": True, "needs_finance": False,
                                                   "needs_tech": True})["instance"]
    assert open_elements(yimen, instance) == ["legal", "tech"]
    yimen.complete(task_of(yimen, instance, "tech")["id"])
    assert open_elements(yimen, instance) == ["legal"]
    yimen.complete(task_of(yimen, instance, "legal")["id"])
    assert open_elements(yimen, instance) == ["conclude"]
    yimen.complete(task_of(yimen, instance, "conclude")["id"])
    done = elements(yimen, instance)
    assert status(yimen, instance) == "completed"
    assert "finance" not in done
    assert done.count("join") == 1
    assert done.index("tech") < done.index("legal") < done.index("join") < done.index("conclude")


def test_parallel_gateway_waits_for_both_branches(yimen):
    """Parallel fork opens both checks; the join continues only after both are done."""
    deploy(yimen, "parallel_gateway")
    instance = yimen.start("feat_parallel")["instance"]
    assert open_elements(yimen, instance) == ["check_identity", "check_materials"]
    yimen.complete(task_of(yimen, instance, "check_materials")["id"], data={"materials_ok": True})
    assert open_elements(yimen, instance) == ["check_identity"]
    yimen.complete(task_of(yimen, instance, "check_identity")["id"], data={"identity_ok": True})
    assert open_elements(yimen, instance) == ["decide"]
    yimen.complete(task_of(yimen, instance, "decide")["id"])
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    assert shown["data"]["materials_ok"] is True and shown["data"]["identity_ok"] is True
    assert shown["completed_elements"] == [
        "start", "fork", "check_materials", "check_identity", "join", "decide", "end"]


# --- ending ----------------------------------------------------------------------------------------------------

def test_terminate_end_event_ends_instance_and_cancels_other_tasks(yimen):
    """Reaching a terminate end event completes the instance and cancels the parallel branch's task."""
    deploy(yimen, "terminate_end")
    instance = yimen.start("feat_terminate_end")["instance"]
    assert open_elements(yimen, instance) == ["long_review", "veto_check"]
    long_review = task_of(yimen, instance, "long_review")
    yimen.complete(task_of(yimen, instance, "veto_check")["id"], data={"veto": True})
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    assert shown["open_tasks"] == []
    assert "long_review" not in shown["completed_elements"]
    assert shown["completed_elements"][-2:] == ["veto_check", "vetoed"]
    with pytest.raises(InvalidState):
        yimen.complete(long_review["id"])


def test_terminate_command_cancels_tasks_and_refuses_later_work(yimen):
    """yimen.terminate() ends a running instance: tasks cancelled, status terminated, no more completions."""
    deploy(yimen, "parallel_gateway")
    instance = yimen.start("feat_parallel")["instance"]
    task = task_of(yimen, instance, "check_identity")
    with pytest.raises(PermissionDenied):
        yimen.terminate(instance, reason="申请人撤回", user="li")
    assert yimen.terminate(instance, reason="申请人撤回") == {"instance": instance, "status": "terminated"}
    shown = yimen.show(instance)
    assert shown["status"] == "terminated"
    assert shown["open_tasks"] == [] and yimen.tasks(instance=instance) == []
    assert shown["end_reason"] == "申请人撤回"
    with pytest.raises(InvalidState):
        yimen.complete(task["id"])
    with pytest.raises(InvalidState):
        yimen.terminate(instance, reason="again")


# --- service tasks and handlers ---------------------------------------------------------------------------------

def test_service_task_handler_result_is_merged_into_case_data(yimen, register):
    """A handler gets a copy of the data; what it returns is merged and the process goes on."""
    seen = []

    def compute_fee(data):
        seen.append(dict(data))
        data["area"] = "mutated copy"  # must not leak back
        return {"fee": data["area_m2"] * 2}

    register("feat_compute_fee", compute_fee)
    deploy(yimen, "service_task")
    instance = yimen.start("feat_service_task", data={"area_m2": 150})["instance"]
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    assert shown["data"]["fee"] == 300 and shown["data"]["area_m2"] == 150
    assert "area" not in shown["data"]
    assert seen == [{"area_m2": 150}]
    assert shown["completed_elements"] == ["start", "compute_fee", "end"]
    assert shown["incidents"] == []


def test_failing_handler_retries_with_backoff_then_incident_then_retry_completes(yimen, register, pinned_clock):
    """A failing handler is retried after 30s and 60s, then opens an incident; retry_incident after a fix completes."""
    attempts = []
    broken = {"on": True}

    def compute_fee(data):
        attempts.append(data["area_m2"])
        if broken["on"]:
            raise ConnectionError("fee service unavailable")
        return {"fee": 42}

    register("feat_compute_fee", compute_fee)
    deploy(yimen, "service_task")
    instance = yimen.start("feat_service_task", data={"area_m2": 21})["instance"]
    assert len(attempts) == 1
    assert status(yimen, instance) == "running" and yimen.incidents(instance=instance) == []

    assert yimen.run_jobs(until=pinned_clock + timedelta(seconds=29))["ran"] == 0  # first backoff: 30s
    assert yimen.run_jobs(until=pinned_clock + timedelta(seconds=31))["ran"] == 1
    assert len(attempts) == 2 and yimen.incidents(instance=instance) == []
    assert yimen.run_jobs(until=pinned_clock + timedelta(seconds=31 + 59))["ran"] == 0  # then 60s
    assert yimen.run_jobs(until=pinned_clock + timedelta(seconds=31 + 61))["ran"] == 1
    assert len(attempts) == 3

    incidents = yimen.show(instance)["incidents"]
    assert len(incidents) == 1
    assert incidents[0]["element_id"] == "compute_fee" and incidents[0]["handler"] == "feat_compute_fee"
    assert "ConnectionError" in incidents[0]["message"]
    assert yimen.run_jobs(until=pinned_clock + timedelta(days=1))["ran"] == 0  # no more automatic retries
    assert status(yimen, instance) == "running"

    broken["on"] = False
    assert yimen.retry_incident(incidents[0]["id"]) == {"incident": incidents[0]["id"], "ok": True}
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    assert shown["data"]["fee"] == 42
    assert shown["incidents"] == []
    assert shown["completed_elements"] == ["start", "compute_fee", "end"]
    with pytest.raises(InvalidState):
        yimen.retry_incident(incidents[0]["id"])


def test_unregistered_handler_ends_in_an_incident_until_registered(yimen, register, pinned_clock):
    """A service task naming an unregistered handler fails its attempts into an incident; registering it fixes it."""
    deploy(yimen, "service_unregistered")
    instance = yimen.start("feat_service_unregistered")["instance"]
    assert status(yimen, instance) == "running"
    yimen.run_jobs(until=pinned_clock + timedelta(seconds=31))
    yimen.run_jobs(until=pinned_clock + timedelta(seconds=92))
    incidents = yimen.show(instance)["incidents"]
    assert len(incidents) == 1
    assert incidents[0]["element_id"] == "push_to_archive"
    assert incidents[0]["handler"] == "featArchiveNobodyRegistered"

    register("featArchiveNobodyRegistered", lambda data: {"archived": True})
    assert yimen.retry_incident(incidents[0]["id"])["ok"] is True
    shown = yimen.show(instance)
    assert shown["status"] == "completed" and shown["data"]["archived"] is True
    assert shown["completed_elements"] == ["start", "push_to_archive", "end"]


def test_called_process_keeps_its_own_step_settings_when_ids_repeat_the_callers(yimen):
    """Both diagrams of one upload have a step 'prepare': after a reload the called one still has its own group."""
    parent, child = (read(f"dialects/features/{name}.bpmn") for name in ("call_parent", "call_child"))
    child_xml = child[1].replace(b'id="child_review"', b'id="prepare"').replace(b'targetRef="child_review"',
                                                                                 b'targetRef="prepare"')
    child_xml = child_xml.replace(b'sourceRef="child_review"', b'sourceRef="prepare"')
    yimen.deploy([parent, (child[0], child_xml)])
    instance = yimen.start("feat_call_parent")["instance"]
    first = task_of(yimen, instance, "prepare")
    assert first["candidate_groups"] == ["window"] and first["name"] == "准备 Prepare"
    yimen.complete(first["id"])
    called = task_of(yimen, instance, "prepare")  # the called process' step, opened after a reload
    assert called["candidate_groups"] == ["reviewer"] and called["name"] == "部门会审 Department review"
