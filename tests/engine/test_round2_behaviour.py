"""Issue 17, diagrams that ran but wrongly: what Camunda, Flowable and Activiti do with them.

Each test runs its diagram in the three dialects on SQLite and PostgreSQL, step by step
through the commands the CLI maps one to one (deploy, start, tasks, complete, timers fire,
jobs, show), and asserts what the upstream engines' own tests assert.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.runtime import WorkflowError
from tests.engine.round2 import DIALECTS, complete, diagram, elements, open_elements, status

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", T0.isoformat())
    monkeypatch.setenv("YIMEN_HANDLER_ATTEMPTS", "1")
    return T0


@pytest.mark.parametrize("dialect", DIALECTS)
def test_manual_task_passes_through(yimen, dialect):
    """A manualTask is done outside the engine: Camunda and Flowable do not wait at it."""
    yimen.deploy([diagram("manual_task", dialect)])
    instance = yimen.start("r2_manual")["instance"]
    assert open_elements(yimen, instance) == ["review"]
    assert elements(yimen, instance) == ["start", "post_notice"]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("value, fires_at", [
    ("2026-03-05T09:00:00+08:00", datetime(2026, 3, 5, 1, 0, tzinfo=timezone.utc)),
    ("2026-03-05T09:00:00", datetime(2026, 3, 5, 1, 0, tzinfo=timezone.utc)),  # no offset: Beijing time
    ("2026-03-05 09:00", datetime(2026, 3, 5, 1, 0, tzinfo=timezone.utc)),
    ("2026-03-05", datetime(2026, 3, 4, 16, 0, tzinfo=timezone.utc)),  # a date: its midnight in Beijing
])
def test_time_date_from_a_string_variable_waits_for_that_instant(yimen, dialect, value, fires_at):
    """timeDate '${hearingDate}' over a text variable waits until that instant, not less, not more."""
    yimen.deploy([diagram("timer_date_expression", dialect)])
    instance = yimen.start("r2_timer_date", data={"hearingDate": value})["instance"]
    assert open_elements(yimen, instance) == []
    assert yimen.fire_timers(until=fires_at - timedelta(seconds=1))["fired"] == 0
    assert open_elements(yimen, instance) == []
    assert yimen.fire_timers(until=fires_at + timedelta(seconds=1))["fired"] == 1
    assert open_elements(yimen, instance) == ["handle"]
    assert elements(yimen, instance) == ["start", "wait"]


def test_time_date_that_is_no_instant_is_refused_naming_the_step(yimen):
    """A value that is not a date and time stops the command with the element named; nothing is started."""
    yimen.deploy([diagram("timer_date_expression")])
    with pytest.raises(WorkflowError) as refused:
        yimen.start("r2_timer_date", data={"hearingDate": "next Monday"})
    assert "wait" in str(refused.value) and "next Monday" in str(refused.value)
    with pytest.raises(WorkflowError):
        yimen.start("r2_timer_date", data={"hearingDate": ""})


@pytest.mark.parametrize("dialect", DIALECTS)
def test_reminder_tasks_of_a_timer_cycle_outlive_the_task(yimen, dialect, pinned_clock):
    """Non-interrupting R2/PT1H on a user task: two reminder tasks; completing the task leaves both open,
    and the process ends when they are done (Camunda: the tokens the cycle started are independent)."""
    yimen.deploy([diagram("timer_reminders", dialect)])
    instance = yimen.start("r2_reminders")["instance"]
    assert yimen.fire_timers(until=pinned_clock + timedelta(hours=1, seconds=1))["fired"] == 1
    assert open_elements(yimen, instance) == ["handle", "remind"]
    assert yimen.fire_timers(until=pinned_clock + timedelta(hours=2, seconds=1))["fired"] == 1
    assert open_elements(yimen, instance) == ["handle", "remind", "remind"]
    complete(yimen, instance, "handle")
    assert open_elements(yimen, instance) == ["remind", "remind"]
    assert status(yimen, instance) == "running"
    assert yimen.fire_timers(until=pinned_clock + timedelta(hours=9))["fired"] == 0  # the cycle stopped
    for task in yimen.tasks(instance=instance):
        yimen.complete(task["id"])
    assert status(yimen, instance) == "completed"
    assert elements(yimen, instance) == ["start", "every_hour", "every_hour", "handle", "end",
                                         "remind", "reminder_done", "remind", "reminder_done"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_bean_methods_resolve_through_the_handler_registry(yimen, dialect, register):
    """${feeService.compute(amount, 'standard')} with resultVariable, an assignee from a bean and
    #{archiveService.store(execution)}: each calls the handler registered under 'bean.method'."""
    calls = []
    register("feeService.compute", lambda amount, kind: calls.append(("fee", amount, kind)) or amount // 10)
    register("assigneeService.pick", lambda department: calls.append(("pick", department)) or f"head_{department}")
    register("archiveService.store", lambda execution: calls.append(("store", execution["fee"])) or "ignored")
    result = yimen.deploy([diagram("bean_methods", dialect)])
    assert result["warnings"] == []
    instance = yimen.start("r2_beans", data={"amount": 500, "department": "tax"})["instance"]
    task = yimen.tasks(instance=instance)[0]
    assert (task["element_id"], task["assignee"]) == ("review", "head_tax")
    assert yimen.show(instance)["data"]["fee"] == 50
    yimen.complete(task["id"])
    shown = yimen.show(instance)
    assert shown["status"] == "completed" and "ignored" not in shown["data"].values()
    assert calls == [("fee", 500, "standard"), ("pick", "tax"), ("store", 50)]
    assert elements(yimen, instance) == ["start", "compute_fee", "review", "archive", "end"]


def test_unregistered_bean_warns_at_deploy_and_is_an_incident_at_run_time(yimen, register, pinned_clock):
    """Never a silent skip: the deployment says which bean has no handler; the step stops in an incident
    naming it; registering the handler and retrying finishes the step."""
    register("feeService.compute", lambda amount, kind: 1)
    register("assigneeService.pick", lambda department: "wang")
    warnings = yimen.deploy([diagram("bean_methods")])["warnings"]
    assert [(w["element_id"], w["line"]) for w in warnings] == [("archive", 7)]
    assert "archiveService.store" in warnings[0]["reason"]
    instance = yimen.start("r2_beans", data={"amount": 5, "department": "tax"})["instance"]
    complete(yimen, instance, "review")
    incidents = yimen.show(instance)["incidents"]
    assert len(incidents) == 1 and incidents[0]["element_id"] == "archive"
    assert "archiveService.store" in incidents[0]["message"]
    assert status(yimen, instance) == "running"
    register("archiveService.store", lambda execution: None)
    assert yimen.retry_incident(incidents[0]["id"])["ok"] is True
    assert status(yimen, instance) == "completed"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_call_activity_maps_only_the_variables_named(yimen, dialect):
    """in source/target and sourceExpression: the called process sees person and doubled, not secret;
    out source/target and sourceExpression: the caller gets checkResult and scorePlusOne, not the rest;
    the business key is the caller's (a message by business key reaches the called process)."""
    yimen.deploy([diagram("call_mappings", dialect)])
    instance = yimen.start("r2_call_mapped", data={"applicant": "zhang", "amount": 100, "secret": "s"},
                           business_key="BK-1")["instance"]
    task = yimen.tasks(instance=instance)[0]
    assert (task["element_id"], task["assignee"]) == ("check", "zhang")
    yimen.complete(task["id"], data={"verdict": "ok", "score": 4, "junk": 1})
    assert yimen.message("docs", business_key="BK-1") == {"delivered": [instance]}
    assert open_elements(yimen, instance) == ["after"]
    data = yimen.show(instance)["data"]
    assert data == {"applicant": "zhang", "amount": 100, "secret": "s", "checkResult": "ok", "scorePlusOne": 5}
    assert elements(yimen, instance) == ["start", "child_start", "sees", "check", "wait_docs", "child_end",
                                         "call_check"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_call_activity_variables_all_passes_everything_both_ways(yimen, dialect):
    """variables="all" (local="true") in and out, plus a sourceExpression: all data goes in and comes back."""
    yimen.deploy([diagram("call_mappings", dialect)])
    instance = yimen.start("r2_call_all", data={"amount": 100, "secret": "leader"}, business_key="BK-2")["instance"]
    task = yimen.tasks(instance=instance)[0]
    assert (task["element_id"], task["candidate_groups"]) == ("check_all", ["leader"])
    yimen.complete(task["id"], data={"verdict": "ok", "junk": 1})
    yimen.message("docs", business_key="BK-2")
    assert open_elements(yimen, instance) == ["all_after"]
    assert yimen.show(instance)["data"] == {"amount": 100, "secret": "leader", "doubled": 200, "verdict": "ok",
                                            "junk": 1}


def visits(yimen, instance: int) -> dict[str, str]:
    return {t["assignee"]: t["id"] for t in yimen.tasks(instance=instance) if t["element_id"] == "visit"}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", ["mi_error", "mi_call_error"])
def test_error_from_one_instance_of_a_parallel_multi_instance_reaches_the_boundary(yimen, dialect, name):
    """One site of three ends in an error: the boundary catches it, the other instances are cancelled
    (SpiffWorkflow: 'A task with id … was not found')."""
    yimen.deploy([diagram(name, dialect)])
    key = f"r2_{name}"
    instance = yimen.start(key, data={"sites": ["a", "b", "c"]})["instance"]
    assert sorted(visits(yimen, instance)) == ["a", "b", "c"]
    yimen.complete(visits(yimen, instance)["a"], data={"result": "fine"})
    yimen.complete(visits(yimen, instance)["b"], data={"result": "violation"})
    assert open_elements(yimen, instance) == ["sanction"]
    complete(yimen, instance, "sanction")
    assert status(yimen, instance) == "completed"
    done = elements(yimen, instance)
    assert done[-3:] == ["on_violation", "sanction", "sanctioned"]
    assert "violation_end" in done and "conclude" not in done


@pytest.mark.parametrize("dialect", DIALECTS)
def test_multi_instance_without_error_takes_the_normal_flow(yimen, dialect):
    """No instance throws: the step ends when all three are done and the boundary path stays unused."""
    yimen.deploy([diagram("mi_call_error", dialect)])
    instance = yimen.start("r2_mi_call_error", data={"sites": ["a", "b", "c"]})["instance"]
    for site in ("a", "b", "c"):
        yimen.complete(visits(yimen, instance)[site], data={"result": "fine"})
    assert open_elements(yimen, instance) == ["conclude"]
    assert "on_violation" not in elements(yimen, instance)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_non_interrupting_escalation_from_each_instance_opens_one_task_each(yimen, dialect):
    """Each of three instances escalates: three 'note_minor' tasks (SpiffWorkflow opened one); the
    multi-instance step goes on and ends normally; the process ends when all tasks are done."""
    yimen.deploy([diagram("mi_error", dialect)])
    instance = yimen.start("r2_mi_error", data={"sites": ["a", "b", "c"]})["instance"]
    for done, site in enumerate(("a", "b", "c"), start=1):
        yimen.complete(visits(yimen, instance)[site], data={"result": "minor"})
        assert [e for e in open_elements(yimen, instance) if e == "note_minor"] == ["note_minor"] * done
    assert open_elements(yimen, instance) == ["conclude", "note_minor", "note_minor", "note_minor"]
    for task in yimen.tasks(instance=instance):
        yimen.complete(task["id"])
    assert status(yimen, instance) == "completed"
    done = elements(yimen, instance)
    assert done.count("on_minor") == 3 and done.count("noted") == 3 and done.count("end") == 1
