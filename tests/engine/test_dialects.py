"""Camunda, Flowable and Activiti diagrams run the same way.

Every test here is parametrized over the three dialects; the diagrams live in
``tests/data/dialects/<dialect>/`` and use the same element ids, so one test
body checks the same behaviour for each modeling tool's way of saying it
(``camunda:assignee`` / ``flowable:assignee`` / ``activiti:assignee`` ...).
The process id of ``<dialect>/<name>.bpmn`` is ``<dialect>_<name>``.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import handlers
from engine.errors import NotFound, PermissionDenied
from engine.models import ProcessDefinition
from tests.conftest import read

DIALECTS = ["camunda", "flowable", "activiti"]
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # 09:00 in Beijing


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", T0.isoformat())
    return T0


@pytest.fixture(params=DIALECTS)
def dialect(request) -> str:
    return request.param


@pytest.fixture
def notify_handler():
    calls: list[dict] = []

    def notify(data):
        calls.append(data)
        return {"notified": True}

    handlers.register("dialect_notify", notify)
    try:
        yield calls
    finally:
        handlers.unregister("dialect_notify")


# --- helpers -----------------------------------------------------------------------------------------

def deploy(yimen, dialect: str, name: str) -> dict:
    return yimen.deploy([read(f"dialects/{dialect}/{name}.bpmn")])


def start(yimen, dialect: str, name: str, data: dict | None = None, **kwargs) -> int:
    deploy(yimen, dialect, name)
    return yimen.start(f"{dialect}_{name}", data=data or {}, **kwargs)["instance"]


def open_tasks(yimen, instance: int, element: str | None = None) -> list[dict]:
    rows = yimen.tasks(instance=instance)
    return [r for r in rows if element is None or r["element_id"] == element]


def only_task(yimen, instance: int, element: str | None = None) -> dict:
    rows = open_tasks(yimen, instance, element)
    assert len(rows) == 1, rows
    return rows[0]


def elements(yimen, instance: int) -> list[str]:
    return yimen.show(instance)["completed_elements"]


def instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


REVIEW_DUE = "2026-03-10T17:00:00+08:00"


def start_assignment(yimen, dialect: str, user: str = "li", data: dict | None = None) -> int:
    return start(yimen, dialect, "assignment", {"due": REVIEW_DUE, **(data or {})}, user=user)


# --- assignment ---------------------------------------------------------------------------------------

def test_assignee_expression_resolves_initiator_from_data(yimen, dialect):
    """assignee="${initiator}" assigns the first task to the user named by the initiator variable."""
    instance = start_assignment(yimen, dialect, user="li", data={"initiator": "li"})
    task = only_task(yimen, instance)
    assert (task["element_id"], task["assignee"]) == ("accept", "li")
    assert [t["element_id"] for t in yimen.tasks(user="li")] == ["accept"]
    assert yimen.tasks(user="wang") == []


def test_start_event_initiator_sets_variable_to_starting_user(yimen, dialect):
    """The start event's initiator attribute stores the starting user in 'initiator' (no data needed)."""
    instance = start(yimen, dialect, "assignment", {"due": REVIEW_DUE}, user="zhao")
    assert only_task(yimen, instance)["assignee"] == "zhao"


def test_candidate_users_and_groups_reach_their_inboxes(yimen, dialect):
    """candidateUsers="a,b" and candidateGroups="window,reviewer" put the task in those inboxes only."""
    yimen.add_user("zhou", groups=["reviewer"])
    yimen.add_user("qian", groups=["window"])
    yimen.add_user("sun", groups=["finance"])
    instance = start_assignment(yimen, dialect, data={"initiator": "li"})
    yimen.complete(only_task(yimen, instance)["id"], user="li")
    review = only_task(yimen, instance)
    assert review["element_id"] == "review"
    assert review["assignee"] is None
    assert review["candidate_users"] == ["a", "b"]
    assert review["candidate_groups"] == ["window", "reviewer"]
    for user in ("a", "b", "zhou", "qian"):
        assert [t["id"] for t in yimen.tasks(user=user)] == [review["id"]], user
    assert yimen.tasks(user="sun") == []
    assert [t["id"] for t in yimen.tasks(group="reviewer")] == [review["id"]]
    with pytest.raises(PermissionDenied):
        yimen.claim(review["id"], user="sun")
    yimen.claim(review["id"], user="b")
    assert only_task(yimen, instance)["assignee"] == "b"
    assert yimen.tasks(user="a") == []
    yimen.unclaim(review["id"], user="b")
    assert only_task(yimen, instance)["assignee"] is None


def test_lanes_name_the_task_rows(yimen, dialect):
    """A user task's row carries the name of the lane whose flowNodeRef lists it."""
    instance = start_assignment(yimen, dialect, data={"initiator": "li"})
    assert only_task(yimen, instance)["lane"] == "窗口 Window"
    yimen.complete(only_task(yimen, instance)["id"], user="li")
    assert only_task(yimen, instance)["lane"] == "审查科 Review"


def test_form_key_is_copied_to_the_task_row(yimen, dialect):
    """formKey becomes the task row's form_key."""
    instance = start_assignment(yimen, dialect, data={"initiator": "li"})
    assert only_task(yimen, instance)["form_key"] == "forms/accept"
    yimen.complete(only_task(yimen, instance)["id"], user="li")
    assert only_task(yimen, instance)["form_key"] == "forms/review"


def test_due_date_from_duration_and_from_expression(yimen, dialect, pinned_clock):
    """dueDate="P3D" is three days after the task opens; dueDate="${due}" is the ISO instant in 'due'."""
    instance = start_assignment(yimen, dialect, data={"initiator": "li"})
    assert instant(only_task(yimen, instance)["due"]) == pinned_clock + timedelta(days=3)
    yimen.complete(only_task(yimen, instance)["id"], user="li")
    assert instant(only_task(yimen, instance)["due"]) == instant(REVIEW_DUE)


def test_extension_properties_are_kept_and_name_the_service_handler(yimen, dialect, notify_handler):
    """Extension properties land in the element metadata; 'yimen.handler' picks the service task's handler."""
    result = deploy(yimen, dialect, "assignment")
    definition_id = result["deployed"][0]["id"]
    with yimen.session() as session:
        meta = session.get(ProcessDefinition, definition_id).element_meta
    assert meta["accept"]["properties"] == {"sla": "3 working days", "category": "intake"}
    assert meta["notify"]["handler"] == "dialect_notify"

    instance = yimen.start(f"{dialect}_assignment", data={"initiator": "li", "due": REVIEW_DUE}, user="li")["instance"]
    yimen.complete(only_task(yimen, instance)["id"], user="li")
    yimen.complete(only_task(yimen, instance)["id"], user="a")
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    assert shown["data"]["notified"] is True
    assert len(notify_handler) == 1 and notify_handler[0]["initiator"] == "li"
    assert shown["completed_elements"][-3:] == ["review", "notify", "done"]


def test_potential_owner_and_human_performer_formal_expressions(yimen):
    """<potentialOwner> 'user(li), group(reviewer)' makes candidates; <humanPerformer> 'user(zhang)' assigns."""
    yimen.add_user("zhou", groups=["reviewer"])
    yimen.deploy([read("dialects/standard/performers.bpmn")])
    instance = yimen.start("standard_performers")["instance"]
    check = only_task(yimen, instance)
    assert check["element_id"] == "check"
    assert (check["assignee"], check["candidate_users"], check["candidate_groups"]) == (None, ["li"], ["reviewer"])
    assert [t["id"] for t in yimen.tasks(user="li")] == [check["id"]]
    assert [t["id"] for t in yimen.tasks(user="zhou")] == [check["id"]]
    assert yimen.tasks(user="zhang") == []
    yimen.complete(check["id"], user="zhou")
    sign = only_task(yimen, instance)
    assert (sign["element_id"], sign["assignee"]) == ("sign", "zhang")
    with pytest.raises(PermissionDenied):
        yimen.complete(sign["id"], user="li")
    yimen.complete(sign["id"], user="zhang")
    assert yimen.show(instance)["status"] == "completed"


# --- JUEL conditions ------------------------------------------------------------------------------------

@pytest.mark.parametrize("amount, step", [(20000, "director"), (10001, "director"), (10000, "clerk"), (500, "clerk")])
def test_amount_condition_chooses_approval_level(yimen, dialect, amount, step):
    """'${amount > 10000}' sends large amounts to the director; the default flow takes the rest."""
    instance = start(yimen, dialect, "gateways", {"amount": amount})
    assert only_task(yimen, instance)["element_id"] == step
    assert elements(yimen, instance) == ["start", "gw_amount"]


@pytest.mark.parametrize("approved, rejected, x, end", [
    (True, False, "a", "end_a"),
    (True, False, "b", "end_other"),
    (True, True, "a", "end_other"),
    (False, False, "a", "end_rejected"),
])
def test_juel_conditions_choose_the_end(yimen, dialect, approved, rejected, x, end):
    """'${approved}', '#{!approved}' and '${!rejected && x == 'a'}' each route to their branch."""
    instance = start(yimen, dialect, "gateways", {"amount": 100})
    yimen.complete(only_task(yimen, instance)["id"], data={"approved": approved, "rejected": rejected, "x": x})
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    expected = ["start", "gw_amount", "clerk", "gw_merge", "gw_approved"]
    expected += ["gw_check", end] if approved else [end]
    assert shown["completed_elements"] == expected


# --- multi-instance ----------------------------------------------------------------------------------------

REVIEWERS = ["zhang", "li", "wang"]


def test_parallel_multi_instance_opens_one_assigned_task_per_reviewer(yimen, dialect):
    """collection="${reviewers}" elementVariable="reviewer" opens a task per reviewer, assigned '${reviewer}'."""
    instance = start(yimen, dialect, "mi_parallel", {"reviewers": REVIEWERS})
    rows = open_tasks(yimen, instance, "review")
    assert sorted(r["assignee"] for r in rows) == sorted(REVIEWERS)
    for user in ("wang", "zhang"):
        yimen.complete(next(r["id"] for r in rows if r["assignee"] == user), user=user)
        assert open_tasks(yimen, instance, "archive") == []
    yimen.complete(next(r["id"] for r in rows if r["assignee"] == "li"), user="li")
    assert only_task(yimen, instance)["element_id"] == "archive"


def test_multi_instance_step_is_listed_once_per_completed_instance(yimen, dialect):
    """completed_elements lists a multi-instance step once per completed instance (3 reviewers -> 3 times)."""
    instance = start(yimen, dialect, "mi_parallel", {"reviewers": REVIEWERS})
    for row in open_tasks(yimen, instance, "review"):
        yimen.complete(row["id"], user=row["assignee"])
    assert elements(yimen, instance) == ["start", "review", "review", "review"]


def test_sequential_multi_instance_assigns_reviewers_one_at_a_time_in_order(yimen, dialect):
    """isSequential="true" opens one task at a time, for the reviewers in collection order."""
    instance = start(yimen, dialect, "mi_sequential", {"reviewers": REVIEWERS})
    seen = []
    for _ in REVIEWERS:
        task = only_task(yimen, instance)
        assert task["element_id"] == "review"
        seen.append(task["assignee"])
        yimen.complete(task["id"], user=task["assignee"])
    assert seen == REVIEWERS
    assert only_task(yimen, instance)["element_id"] == "archive"


def test_completion_condition_ends_parallel_multi_instance_after_two_of_three(yimen, dialect):
    """'${nrOfCompletedInstances >= 2}' ends a 3-reviewer step after two completions; the third task goes away."""
    instance = start(yimen, dialect, "mi_completion", {"reviewers": REVIEWERS})
    rows = {r["assignee"]: r for r in open_tasks(yimen, instance, "review")}
    assert sorted(rows) == sorted(REVIEWERS)
    yimen.complete(rows["li"]["id"], user="li")
    assert len(open_tasks(yimen, instance, "review")) == 2
    yimen.complete(rows["wang"]["id"], user="wang")
    assert open_tasks(yimen, instance, "review") == []
    assert only_task(yimen, instance)["element_id"] == "archive"


def test_loop_cardinality_expression_with_nr_of_instances_condition(yimen, dialect):
    """loopCardinality '${n}' opens n tasks; '${nrOfCompletedInstances == nrOfInstances - 1}' ends one short."""
    yimen.add_user("zhou", groups=["reviewer"])
    instance = start(yimen, dialect, "mi_cardinality", {"n": 3})
    rows = open_tasks(yimen, instance, "review")
    assert len(rows) == 3
    assert all(r["candidate_groups"] == ["reviewer"] and r["assignee"] is None for r in rows)
    yimen.complete(rows[0]["id"], user="zhou")
    assert len(open_tasks(yimen, instance, "review")) == 2
    yimen.complete(rows[1]["id"], user="zhou")
    assert open_tasks(yimen, instance, "review") == []
    assert only_task(yimen, instance)["element_id"] == "archive"


def test_loop_counter_in_completion_condition_stops_sequential_after_second(yimen, dialect):
    """'${loopCounter >= 1}' ends a sequential step once the second reviewer (loopCounter 1) is done."""
    instance = start(yimen, dialect, "mi_loop_counter", {"reviewers": REVIEWERS})
    for user in ("zhang", "li"):
        task = only_task(yimen, instance)
        assert (task["element_id"], task["assignee"]) == ("review", user)
        yimen.complete(task["id"], user=user)
    assert only_task(yimen, instance)["element_id"] == "archive"


# --- timers -------------------------------------------------------------------------------------------------

def test_duration_timer_fires_after_five_minutes(yimen, dialect, pinned_clock):
    """A plain 'PT5M' intermediate timer waits five minutes, then the next task opens."""
    instance = start(yimen, dialect, "timer_duration")
    assert open_tasks(yimen, instance) == []
    assert yimen.fire_timers(until=pinned_clock + timedelta(minutes=4, seconds=59))["fired"] == 0
    assert yimen.fire_timers(until=pinned_clock + timedelta(minutes=5, seconds=1))["fired"] == 1
    assert only_task(yimen, instance)["element_id"] == "handle"
    assert elements(yimen, instance) == ["start", "wait"]


def test_date_timer_fires_at_the_fixed_instant(yimen, dialect):
    """timeDate '2026-03-05T09:00:00+08:00' fires at that instant, not before."""
    due = datetime(2026, 3, 5, 1, 0, tzinfo=timezone.utc)
    instance = start(yimen, dialect, "timer_date")
    assert yimen.fire_timers(until=due - timedelta(minutes=1))["fired"] == 0
    assert open_tasks(yimen, instance) == []
    assert yimen.fire_timers(until=due + timedelta(seconds=1))["fired"] == 1
    assert only_task(yimen, instance)["element_id"] == "handle"


def test_expression_timer_takes_duration_from_data(yimen, dialect, pinned_clock):
    """timeDuration '${timeout}' with timeout='PT10M' waits ten minutes."""
    instance = start(yimen, dialect, "timer_expression", {"timeout": "PT10M"})
    assert yimen.fire_timers(until=pinned_clock + timedelta(minutes=9))["fired"] == 0
    assert yimen.fire_timers(until=pinned_clock + timedelta(minutes=10, seconds=1))["fired"] == 1
    assert only_task(yimen, instance)["element_id"] == "handle"


def test_cycle_timer_on_non_interrupting_boundary_fires_three_times(yimen, dialect, pinned_clock):
    """'R3/PT1H' on a non-interrupting boundary fires hourly, three times, and the task stays open."""
    instance = start(yimen, dialect, "timer_cycle")
    task = only_task(yimen, instance)
    assert yimen.fire_timers(until=pinned_clock + timedelta(minutes=59))["fired"] == 0
    assert yimen.fire_timers(until=pinned_clock + timedelta(hours=1, seconds=1))["fired"] == 1
    assert elements(yimen, instance).count("reminded") == 1
    assert only_task(yimen, instance)["id"] == task["id"]
    yimen.fire_timers(until=pinned_clock + timedelta(hours=2, seconds=1))
    assert elements(yimen, instance).count("reminded") == 2
    yimen.fire_timers(until=pinned_clock + timedelta(hours=10))
    assert elements(yimen, instance).count("reminded") == 3
    assert only_task(yimen, instance)["id"] == task["id"]
    yimen.complete(task["id"])
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    done = shown["completed_elements"]
    assert done.count("reminded") == 3
    assert done.index("reminded") < done.index("handle") < done.index("end")


def test_cycle_timer_boundary_is_listed_each_time_it_fires(yimen, dialect, pinned_clock):
    """Each firing of an 'R3/PT1H' boundary timer appears in completed_elements before the path it starts."""
    instance = start(yimen, dialect, "timer_cycle")
    yimen.fire_timers(until=pinned_clock + timedelta(hours=1, seconds=1))
    assert elements(yimen, instance) == ["start", "remind", "reminded"]


# --- event subprocesses -------------------------------------------------------------------------------------

def test_event_subprocesses_remind_then_withdraw(yimen, dialect, pinned_clock):
    """A non-interrupting PT2H event subprocess opens a reminder beside the review; the withdrawal message
    (an interrupting event subprocess) cancels both and opens the closing task for the same clerk."""
    instance = start(yimen, dialect, "event_subprocess", {"clerk": "li"}, business_key="SQ-42")
    review = only_task(yimen, instance)
    assert review["assignee"] == "li"
    assert yimen.fire_timers(until=pinned_clock + timedelta(hours=2, seconds=1))["fired"] == 1
    assert sorted(t["element_id"] for t in open_tasks(yimen, instance)) == ["remind", "work"]
    assert only_task(yimen, instance, "remind")["candidate_groups"] == ["supervisor"]
    yimen.message("application_withdrawn", data={"withdrawn": True}, business_key="SQ-42")
    close = only_task(yimen, instance)
    assert (close["element_id"], close["assignee"]) == ("close", "li")
    yimen.complete(close["id"])
    shown = yimen.show(instance)
    assert shown["status"] == "completed" and shown["data"]["withdrawn"] is True
    assert shown["completed_elements"] == ["start", "remind_start", "withdraw_start", "close", "withdraw_end"]


def test_event_subprocesses_unused_when_the_review_is_done_first(yimen, dialect, pinned_clock):
    """Finishing the review ends the process; the timer and the subscription are gone."""
    instance = start(yimen, dialect, "event_subprocess", {"clerk": "li"})
    yimen.complete(only_task(yimen, instance)["id"])
    assert elements(yimen, instance) == ["start", "work", "end"]
    assert yimen.fire_timers(until=pinned_clock + timedelta(days=1))["fired"] == 0
    with pytest.raises(NotFound):
        yimen.message("application_withdrawn", instance=instance)
    assert yimen.show(instance)["status"] == "completed"


# --- tolerances ----------------------------------------------------------------------------------------------

def _run_flow_without_id(yimen, key):
    instance = yimen.start(key)["instance"]
    assert yimen.show(instance)["status"] == "running"
    yimen.complete(only_task(yimen, instance, "fill")["id"])
    assert elements(yimen, instance) == ["start", "fill", "end"]


def _run_error_ref(yimen, key):
    failing = yimen.start(key)["instance"]
    yimen.complete(only_task(yimen, failing, "check")["id"], data={"ok": False})
    assert only_task(yimen, failing)["element_id"] == "rework"
    assert "err_end" in elements(yimen, failing)
    passing = yimen.start(key)["instance"]
    yimen.complete(only_task(yimen, passing, "check")["id"], data={"ok": True})
    shown = yimen.show(passing)
    assert shown["status"] == "completed"
    assert shown["completed_elements"][-1] == "end_ok"
    assert "rework" not in shown["completed_elements"]


def _run_not_executable(yimen, key):
    instance = yimen.start(key)["instance"]
    yimen.complete(only_task(yimen, instance, "fill")["id"])
    assert yimen.show(instance)["status"] == "completed"


def _run_plain_task(yimen, key):
    instance = yimen.start(key)["instance"]
    assert elements(yimen, instance) == ["start", "prepare"]
    yimen.complete(only_task(yimen, instance, "sign")["id"])
    assert yimen.show(instance)["status"] == "completed"


def _run_data_store(yimen, key):
    instance = yimen.start(key)["instance"]
    yimen.complete(only_task(yimen, instance, "register")["id"], data={"archived_as": "DA-2026-001"})
    shown = yimen.show(instance)
    assert shown["status"] == "completed"
    assert shown["data"]["archived_as"] == "DA-2026-001"


TOLERANCES = {
    "tol_flow_without_id": _run_flow_without_id,
    "tol_error_ref": _run_error_ref,
    "tol_not_executable": _run_not_executable,
    "tol_plain_task": _run_plain_task,
    "tol_data_store": _run_data_store,
}


def _warned_elements(dialect: str, tolerance: str) -> set[str]:
    """Element ids a warning must name (at least one of them)."""
    return {
        "tol_flow_without_id": set(),  # generated ids; checked separately
        "tol_error_ref": {"err_end", "rejected"},
        "tol_not_executable": {f"{dialect}_tol_not_executable"},
        "tol_plain_task": {"prepare"},
        "tol_data_store": {"DataStore_archive", "DataStoreReference_archive", "dataStoreReference_archive"},
    }[tolerance]


@pytest.mark.parametrize("tolerance", list(TOLERANCES))
def test_tolerated_diagram_deploys_with_a_warning(yimen, dialect, tolerance):
    """A tolerated modeling quirk deploys, with a warning naming its file, element and line."""
    filename, _ = read(f"dialects/{dialect}/{tolerance}.bpmn")
    result = deploy(yimen, dialect, tolerance)
    assert [d["key"] for d in result["deployed"]] == [f"{dialect}_{tolerance}"]
    warnings = result["warnings"]
    assert warnings, "expected at least one warning"
    assert all(w["file"] == filename and w["line"] for w in warnings)
    if tolerance == "tol_flow_without_id":
        assert len([w for w in warnings if w["element_id"]]) == 2
    else:
        assert {w["element_id"] for w in warnings} & _warned_elements(dialect, tolerance)


@pytest.mark.parametrize("tolerance", list(TOLERANCES))
def test_tolerated_diagram_runs_as_drawn(yimen, dialect, tolerance):
    """A diagram deployed under a tolerance runs as drawn (no flow lost, no step skipped)."""
    deploy(yimen, dialect, tolerance)
    TOLERANCES[tolerance](yimen, f"{dialect}_{tolerance}")
