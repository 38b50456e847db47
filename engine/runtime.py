"""Drive one process instance: load it, let SpiffWorkflow run, run handlers,
mirror tasks / timers / subscriptions into rows, and save it.

Every command that moves an instance goes load -> change -> ``advance`` ->
commit. ``advance`` is the only place that writes the SpiffWorkflow state and
the rows derived from it, so they cannot drift apart.
"""
from __future__ import annotations

import copy
import functools
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition, TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

import handlers as handler_registry

from . import assignment, clock, definitions, lifecycle, state, workflow_cache
from .bpmn.event_subprocess import EventSubprocessTask
from .bpmn.specs import HandlerTask
from .case_clock import case_card
from .context import Ctx
from .errors import EngineError, InvalidState, NotFound
from .models import (
    EventSubscription, HumanTask, Incident, InstanceStatus, Job, JobStatus, ProcessInstance, TaskCandidate,
    TaskStatus, Timer,
)
from .script_engine import script_engine

clock.install_in_spiff()


def max_attempts() -> int:
    return max(1, int(os.environ.get("YIMEN_HANDLER_ATTEMPTS", "3")))


def backoff(attempt: int) -> timedelta:
    """Wait before attempt ``attempt + 1``: base * 2^(attempt-1) seconds."""
    base = float(os.environ.get("YIMEN_HANDLER_BACKOFF_SECONDS", "30"))
    return timedelta(seconds=base * (2 ** max(0, attempt - 1)))


class WorkflowError(EngineError):
    """SpiffWorkflow refused to move (a bad condition, a missing variable...)."""

    code = "workflow_error"


@dataclass
class Running:
    instance: ProcessInstance
    workflow: BpmnWorkflow
    definition: definitions.LoadedDefinition
    events: list[dict[str, Any]] = field(default_factory=list)
    new: bool = False  # created by this command: it has no rows yet


# --- loading and starting ---------------------------------------------------------------------------

# Prebuilt: every command that moves an instance starts here (about half the cost of ``session.get``).
_INSTANCE_BY_ID = select(ProcessInstance).where(ProcessInstance.id == bindparam("instance_id"))


def load(ctx: Ctx, instance_id: int, *, must_run: bool = True) -> Running:
    instance = ctx.session.execute(_INSTANCE_BY_ID, {"instance_id": instance_id}).scalar_one_or_none()
    if instance is None:
        raise NotFound(f"instance {instance_id} does not exist", instance_id=instance_id)
    if must_run and instance.status != InstanceStatus.RUNNING:
        raise InvalidState(f"instance {instance_id} is {instance.status}", instance_id=instance_id)
    loaded = definitions.load(ctx.session, instance.definition_id)
    workflow = workflow_cache.take(instance.id, instance.version, loaded.spec)
    if workflow is None:
        workflow = state.load(instance.state, loaded.spec, loaded.subprocess_specs,
                              script_engine(loaded.allow_scripts))
    return Running(instance, workflow, loaded)


def start(ctx: Ctx, definition_id: int, data: dict[str, Any], business_key: str | None) -> Running:
    running = start_deferred(ctx, definition_id, data, business_key)
    advance(ctx, running)
    return running


def start_deferred(ctx: Ctx, definition_id: int, data: dict[str, Any], business_key: str | None) -> Running:
    """Create the instance row and workflow without running it (the caller advances it)."""
    loaded = definitions.load(ctx.session, definition_id)
    workflow = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=script_engine(loaded.allow_scripts))
    data = dict(data)
    for meta in loaded.meta.values():
        # camunda:initiator / flowable:initiator on the start event names the variable that holds the starter
        if meta.get("type") == "startEvent" and meta.get("initiator") and meta.get("process_id") == loaded.key:
            data.setdefault(meta["initiator"], ctx.actor.id)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(copy.deepcopy(data))
    values = dict(definition_id=loaded.id, key=loaded.key, business_key=business_key, status=InstanceStatus.RUNNING,
                  state="{}", data=dict(data), completed_elements=[], mirror={}, started_by=ctx.actor.id,
                  started_at=ctx.now, updated_at=ctx.now, ended_at=None, end_reason=None, version=1)
    # A plain INSERT, then the ORM object joins the session as if loaded (no unit-of-work flush per start).
    inserted = ctx.session.connection().execute(_ROW_STATEMENTS["insert_instance"], values)
    instance = ProcessInstance(id=inserted.inserted_primary_key[0], **values)
    make_transient_to_detached(instance)
    ctx.session.add(instance)
    return Running(instance, workflow, loaded, new=True)


def live_tasks(workflow: BpmnWorkflow):
    """Tasks not finished yet: data set on them flows on to the steps that follow."""
    return [t for t in _all_tasks(workflow) if not t.has_state(TaskState.FINISHED_MASK)]


def spiff_task(running: Running, task_id: str):
    try:
        task = running.workflow.get_task_from_id(UUID(task_id))
    except Exception:  # noqa: BLE001 - Spiff raises its own not-found error
        task = None
    if task is None:
        raise NotFound(f"task {task_id} is not part of instance {running.instance.id}", task_id=task_id)
    return task


# --- moving -----------------------------------------------------------------------------------------

def advance(ctx: Ctx, running: Running) -> None:
    """Run everything that can run without a person, then write state and rows."""
    workflow = running.workflow
    jobs: set[str] | None = None  # tasks with a retry job: the scheduler runs those, not this command
    attempted: set[str] = set()
    ctx.budget.watch(workflow)
    try:
        for _ in range(10_000):
            _engine_steps(workflow, ctx.budget)
            _collect_thrown_events(running)
            progressed = False
            for task in _started_handler_tasks(workflow):
                if jobs is None:
                    ctx.session.flush()  # jobs this command added or removed count too
                    jobs = set(ctx.session.connection().execute(_ROW_STATEMENTS["job_tasks"],
                                                                {"instance_id": running.instance.id}).scalars())
                task_id = str(task.id)
                if task_id in attempted or task_id in jobs:
                    continue
                attempted.add(task_id)
                if run_handler(ctx, running, task, None):
                    progressed = True
            if not progressed:
                break
        ctx.budget.check_growth(workflow)
    except SpiffWorkflowException as exc:
        raise WorkflowError(_spiff_message(exc), instance_id=running.instance.id) from exc
    save(ctx, running)
    _pass_on_thrown(ctx, running)


class _NoLongerReady(Exception):
    """A task SpiffWorkflow listed as ready was cancelled before its turn."""


def _still_ready(task) -> None:
    if task.state != TaskState.READY:
        raise _NoLongerReady()


def _engine_steps(workflow: BpmnWorkflow, budget) -> None:
    """``do_engine_steps``, minus running tasks cancelled meanwhile.

    SpiffWorkflow lists the ready tasks, then runs each; when an interrupting event
    (an event subprocess, a boundary event) cancels tasks of that list, it would still
    run them. Stop before such a task and list again. Every element run counts against the command's
    budget (``engine.limits``): a loop without a wait state ends in a refusal, not a hang.
    """
    def before(task) -> None:
        _still_ready(task)
        budget.step(task)

    for _ in range(10_000):
        try:
            workflow.do_engine_steps(will_complete_task=before)
            return
        except _NoLongerReady:
            continue


# --- messages and signals between instances -------------------------------------------------------

MAX_DELIVERIES = 1000


def waiting(ctx: Ctx, kind: str, name: str, instance_id: int | None = None,
            business_key: str | None = None) -> list[int]:
    """Running instances subscribed to a message or signal (optionally narrowed by id or business key)."""
    stmt = (select(EventSubscription.instance_id)
            .join(ProcessInstance, ProcessInstance.id == EventSubscription.instance_id)
            .where(EventSubscription.kind == kind, EventSubscription.name == name,
                   ProcessInstance.status == InstanceStatus.RUNNING))
    if instance_id is not None:
        stmt = stmt.where(EventSubscription.instance_id == instance_id)
    if business_key is not None:
        stmt = stmt.where(ProcessInstance.business_key == business_key)
    return sorted(set(ctx.session.scalars(stmt)))


def deliver(ctx: Ctx, instance_id: int, kind: str, name: str, payload: dict[str, Any]) -> None:
    """Let one instance catch a message or signal, then run it on."""
    if len(ctx.delivered) >= MAX_DELIVERIES:
        raise InvalidState(f"events cascade through more than {MAX_DELIVERIES} instances; refusing to go on")
    running = load(ctx, instance_id)
    definition = MessageEventDefinition(name) if kind == "message" else SignalEventDefinition(name)
    running.workflow.catch(BpmnEvent(definition, payload=dict(payload)))
    ctx.delivered.append(instance_id)
    advance(ctx, running)


def _pass_on_thrown(ctx: Ctx, running: Running) -> None:
    """Deliver what this instance threw to the other instances waiting for it (same transaction).

    A signal reaches every waiting instance; a thrown message reaches one waiting
    instance with the thrower's business key (a message needs a correlation).
    """
    for event in running.events:
        if "throw" not in event or event.get("passed_on"):
            continue
        event["passed_on"] = True
        kind, name = event["throw"], event["name"]
        payload = event.get("payload") if isinstance(event.get("payload"), dict) else {}
        payload = {k: v for k, v in payload.items() if not str(k).startswith("_")}
        targets = [i for i in waiting(ctx, kind, name) if i != running.instance.id]
        if kind == "message":
            key = running.instance.business_key
            targets = [i for i in waiting(ctx, kind, name, business_key=key) if i != running.instance.id][:1] \
                if key is not None else []
        event["delivered_to"] = targets
        for target in targets:
            deliver(ctx, target, kind, name, payload)


def _spiff_message(exc: Exception) -> str:
    text = str(exc)
    task = getattr(exc, "task", None)
    if task is not None and getattr(task.task_spec, "bpmn_id", None):
        text = f"{text} (at element '{task.task_spec.bpmn_id}')"
    return text


def _started_handler_tasks(workflow: BpmnWorkflow):
    return [t for t in _all_tasks(workflow) if t.state == TaskState.STARTED and isinstance(t.task_spec, HandlerTask)]


def _all_tasks(workflow: BpmnWorkflow):
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def run_handler(ctx: Ctx, running: Running, task, job: Job | None) -> bool:
    """Call the task's handler once; on success complete the task, else record the failure."""
    meta = getattr(task.task_spec, "yimen_meta", None) or {}
    name = meta.get("handler")
    fn = handler_registry.find(name)
    try:
        if fn is None:
            raise LookupError(f"no handler named '{name}' is registered")
        result = fn(copy.deepcopy(task.data))
        if result is not None and not isinstance(result, dict):
            raise TypeError(f"handler '{name}' returned {type(result).__name__}, not a dict")
    except Exception as exc:  # noqa: BLE001 - any handler failure is recorded, never propagated
        _record_failure(ctx, running, task, name, exc, job)
        return False
    task.data.update(result or {})
    task.complete()
    if job is not None:
        ctx.session.delete(job)
    running.events.append({"handler": name, "element": task.task_spec.bpmn_id, "ok": True})
    return True


def _record_failure(ctx: Ctx, running: Running, task, name: str | None, exc: Exception, job: Job | None) -> None:
    if job is None:
        job = Job(instance_id=running.instance.id, task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                  handler=name, attempts=0, status=JobStatus.PENDING)
        ctx.session.add(job)
    job.attempts += 1
    job.last_error = f"{exc.__class__.__name__}: {exc}"
    running.events.append({"handler": name, "element": task.task_spec.bpmn_id, "ok": False, "error": job.last_error,
                           "attempt": job.attempts})
    if job.attempts >= max_attempts():
        job.status = JobStatus.FAILED
        job.next_run_at = None
        ctx.session.add(Incident(instance_id=running.instance.id, task_id=str(task.id), element_id=job.element_id,
                                 handler=name, message=job.last_error, created_at=ctx.now))
    else:
        job.status = JobStatus.PENDING
        job.next_run_at = ctx.now + backoff(job.attempts)


def _collect_thrown_events(running: Running) -> None:
    for event in running.workflow.get_events():
        definition = event.event_definition
        kind = "signal" if isinstance(definition, SignalEventDefinition) else (
            "message" if isinstance(definition, MessageEventDefinition) else None)
        if kind is not None:
            running.events.append({"throw": kind, "name": definition.name, "payload": event.payload})


# --- saving and mirroring -----------------------------------------------------------------------------

def save(ctx: Ctx, running: Running) -> None:
    workflow, instance = running.workflow, running.instance
    mirror = dict(instance.mirror or {})
    _sync_human_tasks(ctx, running, mirror)
    _sync_waiting(ctx, running, mirror)
    status, ended_at = instance.status, instance.ended_at
    if workflow.is_completed() and status == InstanceStatus.RUNNING:
        status, ended_at = InstanceStatus.COMPLETED, ctx.now
    _write_instance(ctx, instance, {
        "status": status, "ended_at": ended_at, "mirror": mirror, "data": visible_data(workflow),
        "completed_elements": completed_elements(workflow, mirror.get("cycle_firings")),
        "state": state.dump(workflow), "updated_at": ctx.now,
    })
    _keep_after_commit(ctx, running)
    lifecycle.publish(ctx, "moved", running)


def _write_instance(ctx: Ctx, instance: ProcessInstance, values: dict[str, Any]) -> None:
    """UPDATE the instance row now, guarded by its version (optimistic lock), as one plain statement.

    This runs at the end of every command that moves an instance; the ORM's unit
    of work would cost several times the statement. The ORM object is told the
    new values as committed, so it neither writes them again nor loses them;
    changes other code made to other columns still go out with the next flush.
    """
    new_version = instance.version + 1
    result = ctx.session.connection().execute(_ROW_STATEMENTS["update_instance"], {
        **values, "row_id": instance.id, "old_version": instance.version, "new_version": new_version})
    if result.rowcount != 1:
        raise StaleDataError(f"process instance {instance.id} was changed by someone else (version "
                             f"{instance.version} is gone)")
    for key, value in values.items():
        set_committed_value(instance, key, value)
    set_committed_value(instance, "version", new_version)


def _keep_after_commit(ctx: Ctx, running: Running) -> None:
    """Offer the workflow to the cache once the state just dumped from it is committed (the latest save wins)."""
    first = running.instance.id not in ctx.kept_workflows
    ctx.kept_workflows[running.instance.id] = (running.instance, running.workflow, running.instance.state)
    if first:
        ctx.after_commit.append(functools.partial(_offer_to_cache, ctx, running.instance.id))


def _offer_to_cache(ctx: Ctx, instance_id: int) -> None:
    instance, workflow, written = ctx.kept_workflows[instance_id]
    # Only if nothing rewrote the state after that save, and the instance can still move.
    if instance.state is written and instance.status == InstanceStatus.RUNNING:
        workflow_cache.keep(instance_id, instance.version, workflow)


def visible_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    data = dict(workflow.data)
    if workflow.last_task is not None:
        data.update(workflow.last_task.data)
    return {k: v for k, v in data.items() if not str(k).startswith("_") and k != "data_objects"}


def completed_elements(workflow: BpmnWorkflow, cycle_firings: list | None = None) -> list[str]:
    """Element ids of completed tasks in the order they completed (a loop or a
    multi-instance step appears once per instance, not again for its wrapper;
    a repeating timer appears once per firing; an event subprocess appears as its
    own elements, from its start event on)."""
    done = [(t.last_state_change, t.task_spec.bpmn_id) for t in _all_tasks(workflow)
            if t.state == TaskState.COMPLETED and getattr(t.task_spec, "bpmn_id", None)
            and not isinstance(t.task_spec, (LoopTask, EventSubprocessTask))]
    done += [(at, element) for at, element in cycle_firings or []]
    done.sort(key=lambda pair: pair[0])
    return [element for _, element in done]


def _sync_human_tasks(ctx: Ctx, running: Running, mirror: dict) -> None:
    """Open a row for each newly ready user task; close rows whose task is done or gone.

    ``mirror["tasks"]`` maps the open SpiffWorkflow task ids to their row ids, so a
    step that changes nothing, or changes only known rows, needs no query.
    """
    workflow, instance = running.workflow, running.instance
    ready = {str(t.id): t for t in _all_tasks(workflow) if t.state == TaskState.READY and t.task_spec.manual}
    known = mirror.get("tasks")
    if not isinstance(known, dict):
        known = {} if running.new else {r.spiff_task_id: r.id for r in open_rows(ctx, instance.id)}
    if set(ready) == set(known):
        mirror["tasks"] = known
        return
    for spiff_id, row_id in known.items():
        if spiff_id in ready:
            continue
        row = ctx.session.get(HumanTask, row_id)
        if row is None or row.status != TaskStatus.OPEN:
            continue
        try:
            task = workflow.get_task_from_id(UUID(spiff_id))
        except Exception:  # noqa: BLE001
            task = None
        done = task is not None and task.state == TaskState.COMPLETED
        _close_row(ctx, row, TaskStatus.COMPLETED if done else TaskStatus.CANCELLED,
                   row.outcome or ("completed" if done else "cancelled"))
    opened = {spiff_id: row_id for spiff_id, row_id in known.items() if spiff_id in ready}
    for spiff_id, task in ready.items():
        if spiff_id not in opened:
            opened[spiff_id] = _open_task(ctx, instance, task)
    mirror["tasks"] = opened


def _close_row(ctx: Ctx, row: HumanTask, status: str, outcome: str) -> None:
    """Close a task row and drop its candidates: two plain statements, the ORM object told as committed."""
    values = {"status": status, "outcome": outcome, "completed_at": row.completed_at or ctx.now,
              "completed_by": row.completed_by}
    conn = ctx.session.connection()
    conn.execute(_ROW_STATEMENTS["close_task"], {**values, "row_id": row.id})
    conn.execute(_ROW_STATEMENTS["delete_candidates"], {"row_id": row.id})
    for key, value in values.items():
        set_committed_value(row, key, value)


def open_rows(ctx: Ctx, instance_id: int) -> list[HumanTask]:
    return list(ctx.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                            HumanTask.status == TaskStatus.OPEN)))


def _open_task(ctx: Ctx, instance: ProcessInstance, task) -> str:
    """Insert the row (and its candidate rows) for a task that became ready; returns the row id."""
    meta = getattr(task.task_spec, "yimen_meta", None) or {}
    from collections import ChainMap

    from .script_engine import multi_instance_variables

    data = ChainMap(multi_instance_variables(task), task.data)
    assignees = assignment.resolve_names(meta.get("assignee"), data)
    users = assignment.resolve_names(meta.get("candidate_users"), data)
    groups = assignment.resolve_names(meta.get("candidate_groups"), data)
    if assignees or users:  # AB角: a person away (不在岗) is stood in for by their backup
        from .commands.identity import substitutes

        away = substitutes(ctx.session, assignees[:1] + users)
        if away:
            assignees = [away.get(a, a) for a in assignees]
            users = list(dict.fromkeys(users + [away[u] for u in users if u in away]))
    row_id = str(uuid4())
    from .inbox import step_department

    department = step_department(ctx.session, instance, groups)  # 办理部门, read by the department rule
    conn = ctx.session.connection()
    # Plain inserts: a new row needs none of the ORM's change tracking in this command.
    conn.execute(_ROW_STATEMENTS["insert_task"], {
        "id": row_id, "spiff_task_id": str(task.id), "instance_id": instance.id, "element_id": task.task_spec.bpmn_id,
        "name": meta.get("name") or getattr(task.task_spec, "bpmn_name", None) or task.task_spec.bpmn_id,
        "name_en": (meta.get("properties") or {}).get("yimen.nameEn"),
        "lane": meta.get("lane") or getattr(task.task_spec, "lane", None),
        "assignee": assignees[0] if assignees else None, "candidate_users": users, "candidate_groups": groups,
        "department": department, "form_key": meta.get("form_key"), "due": assignment.resolve_due(meta.get("due_date"), data, ctx.now),
        "status": TaskStatus.OPEN, "created_at": ctx.now, "card_instance": instance.id,
    })
    candidates = [{"task_id": row_id, "kind": "user", "value": user} for user in users]
    candidates += [{"task_id": row_id, "kind": "group", "value": group} for group in groups]
    if candidates:
        conn.execute(_ROW_STATEMENTS["insert_candidates"], candidates)
    _tell_new_task(ctx, instance, row_id, meta.get("name") or getattr(task.task_spec, "bpmn_name", None)
                   or task.task_spec.bpmn_id, list(dict.fromkeys(assignees[:1] + users)),
                   (meta.get("properties") or {}).get("yimen.nameEn"))
    return row_id


def _tell_new_task(ctx: Ctx, instance: ProcessInstance, row_id: str, name: str, people: list[str],
                   name_en: str | None = None) -> None:
    """A step put in someone's own hands (assignee or named candidate) is a notice to them (站内消息); a step
    for a group waits in the group's inbox, counted there, without a message to every member."""
    if ctx.held_task_notices is not None:
        ctx.held_task_notices.append((instance, row_id, name, people, name_en))
        return
    tell_staff(ctx, instance, people, "new_task", name, name_en, {"task": row_id})


STAFF_NOTICES = {
    # kind: (subject, body); {step} is the step's name, {where} the case number, {by} who, {text} the reason
    "new_task": ("新待办：{step}", "“{step}”{where}已到您的待办，请及时办理。"),
    "returned": ("退回：{step}", "“{step}”{where}已退回给您，请重新办理。退回理由：{text}"),
}


def tell_staff(ctx: Ctx, instance: ProcessInstance, people: list[str], kind: str, step: str,
               step_en: str | None = None, extra: dict | None = None, text: str | None = None) -> None:
    """Tell staff, in-app, of a step of theirs: new in their queue (新待办) or returned to them (退回); urges
    (催办/督办) are told by ``engine.commands.notices.tell_urged``. The notice keeps its kind and parameters so the pages say it in the reader's language; the
    actor is not told of their own doing."""
    if not people:
        return
    from .notify import notify_user

    subject, body = STAFF_NOTICES[kind]
    where = f"（办件 {instance.business_key}）" if instance.business_key else ""
    params = {"step": step, "step_en": step_en, "case_number": instance.business_key, "text": text or ""}
    for person in dict.fromkeys(people):
        if person != ctx.actor.id:
            notify_user(ctx, person, subject.format(step=step), body.format(step=step, where=where, text=text or ""),
                        {"kind": kind, **(extra or {})}, instance_id=instance.id, channels=("in_app",), kind=kind,
                        params=params)


_ROW_STATEMENTS = {
    # a step opens with its case clock's card (its own clock, started later, moves it: case_clock)
    "insert_task": HumanTask.__table__.insert().values(card=case_card(bindparam("card_instance"))),
    "insert_candidates": TaskCandidate.__table__.insert(),
    "delete_candidates": TaskCandidate.__table__.delete().where(
        TaskCandidate.__table__.c.task_id == bindparam("row_id")),
    "insert_instance": ProcessInstance.__table__.insert(),
    "close_task": HumanTask.__table__.update().where(HumanTask.__table__.c.id == bindparam("row_id")).values(
        status=bindparam("status"), outcome=bindparam("outcome"), completed_at=bindparam("completed_at"),
        completed_by=bindparam("completed_by")),
    "update_instance": ProcessInstance.__table__.update().where(
        ProcessInstance.__table__.c.id == bindparam("row_id"),
        ProcessInstance.__table__.c.version == bindparam("old_version"),
    ).values(status=bindparam("status"), ended_at=bindparam("ended_at"), mirror=bindparam("mirror"),
             data=bindparam("data"), completed_elements=bindparam("completed_elements"), state=bindparam("state"),
             updated_at=bindparam("updated_at"), version=bindparam("new_version")),
    "job_tasks": select(Job.__table__.c.task_id).where(Job.__table__.c.instance_id == bindparam("instance_id")),
}


def _definitions_of(event_definition):
    if isinstance(event_definition, MultipleEventDefinition):
        return list(event_definition.event_definitions)
    return [event_definition]


def cycle_positions(workflow: BpmnWorkflow) -> dict[str, Any]:
    """Where each waiting repeating timer is in its cycle (to tell afterwards which ones fired)."""
    out = {}
    for task in workflow.event_manager.tasks.values():
        if isinstance(task.task_spec, EventSubprocessTask):
            continue  # each firing starts the event subprocess, whose start event is listed
        for definition in _definitions_of(task.task_spec.event_definition):
            if isinstance(definition, CycleTimerEventDefinition):
                value = task.internal_data.get("event_value")
                out[str(task.id)] = (task.task_spec.bpmn_id, value.get("cycles") if isinstance(value, dict) else None)
    return out


def record_cycle_firings(running: Running, before: dict[str, Any]) -> None:
    """A repeating timer stays waiting when it fires; note each firing for ``completed_elements``."""
    import time

    after = cycle_positions(running.workflow)
    firings = list((running.instance.mirror or {}).get("cycle_firings", []))
    for task_id, (element, cycles) in before.items():
        now_cycles = after.get(task_id, (element, None))[1]
        if cycles is not None and now_cycles != cycles:
            count = (cycles - now_cycles) if isinstance(now_cycles, int) and cycles > now_cycles else 1
            firings += [[time.time(), element]] * count
    if firings:
        running.instance.mirror = {**(running.instance.mirror or {}), "cycle_firings": firings}


def timer_due(task, definition) -> datetime | None:
    value = task.internal_data.get("event_value")
    if value is None:
        return None
    try:
        if isinstance(definition, CycleTimerEventDefinition) or isinstance(value, dict):
            return clock.parse_instant(value["next"]) if isinstance(value, dict) and value.get("next") else None
        if isinstance(value, str):
            parsed = TimerEventDefinition.parse_time_or_duration(value)
            if isinstance(parsed, datetime):
                return parsed.astimezone(clock.now().tzinfo)
        if isinstance(value, datetime):
            return value
    except Exception:  # noqa: BLE001 - an unparseable value simply has no row; Spiff reports it
        return None
    return None


def waiting_element(task) -> str:
    """The element a waiting task waits at (an event subprocess waits at its start event)."""
    spec = task.task_spec
    return getattr(spec, "start_id", None) or spec.bpmn_id or spec.name


def _sync_waiting(ctx: Ctx, running: Running, mirror: dict) -> None:
    workflow, instance = running.workflow, running.instance
    want_timers: dict[str, tuple[str, datetime]] = {}
    want_subs: set[tuple[str, str, str, str]] = set()
    for task in list(workflow.event_manager.tasks.values()):
        if task.state != TaskState.WAITING:
            continue
        for definition in _definitions_of(task.task_spec.event_definition):
            element = waiting_element(task)
            if isinstance(definition, TimerEventDefinition):
                due = timer_due(task, definition)
                if due is not None:
                    current = want_timers.get(str(task.id))
                    if current is None or due < current[1]:
                        want_timers[str(task.id)] = (element, due)
            elif isinstance(definition, MessageEventDefinition):
                want_subs.add((str(task.id), element, "message", definition.name))
            elif isinstance(definition, SignalEventDefinition):
                want_subs.add((str(task.id), element, "signal", definition.name))
    summary = {
        "timers": sorted([task_id, element, due.isoformat()] for task_id, (element, due) in want_timers.items()),
        "subscriptions": sorted(list(key) for key in want_subs),
    }
    if summary == {"timers": mirror.get("timers", []), "subscriptions": mirror.get("subscriptions", [])}:
        return
    mirror.update(summary)
    existing = {t.task_id: t for t in ctx.session.scalars(select(Timer).where(Timer.instance_id == instance.id))}
    for task_id, row in existing.items():
        if task_id not in want_timers:
            ctx.session.delete(row)
        elif row.due_at != want_timers[task_id][1]:
            row.due_at = want_timers[task_id][1]
    ctx.budget.arm_timers(len(set(want_timers) - set(existing)))
    for task_id, (element, due) in want_timers.items():
        if task_id not in existing:
            ctx.session.add(Timer(instance_id=instance.id, task_id=task_id, element_id=element, due_at=due))
    subs = {(s.task_id, s.element_id, s.kind, s.name): s for s in ctx.session.scalars(
        select(EventSubscription).where(EventSubscription.instance_id == instance.id))}
    for key, row in subs.items():
        if key not in want_subs:
            ctx.session.delete(row)
    for key in want_subs - set(subs):
        task_id, element, kind, name = key
        ctx.session.add(EventSubscription(instance_id=instance.id, task_id=task_id, element_id=element, kind=kind,
                                          name=name))


def end_instance(ctx: Ctx, running: Running, reason: str, outcome: str | None = None) -> None:
    """Stop an instance for good (terminate, withdraw...): cancel it, close its rows, publish ``ended``.

    ``outcome`` is what the ending means to whoever listens (for a case: withdrawn or terminated).
    """
    running.workflow.cancel()
    clear_rows(ctx, running.instance)
    instance = running.instance
    instance.status = InstanceStatus.TERMINATED
    instance.ended_at = ctx.now
    instance.end_reason = reason
    instance.state = state.dump(running.workflow)
    instance.updated_at = ctx.now
    lifecycle.publish(ctx, "ended", running, reason=reason, outcome=outcome)


def clear_rows(ctx: Ctx, instance: ProcessInstance, reason_status: str = TaskStatus.CANCELLED) -> None:
    """Close everything an ended instance still had open."""
    instance.mirror = {k: v for k, v in (instance.mirror or {}).items() if k in ("case", "cycle_firings")}
    for row in ctx.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                           HumanTask.status == TaskStatus.OPEN)):
        row.status = reason_status
        row.outcome = row.outcome or "cancelled"
        row.completed_at = ctx.now
        ctx.session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == row.id))
    ctx.session.execute(delete(Timer).where(Timer.instance_id == instance.id))
    ctx.session.execute(delete(EventSubscription).where(EventSubscription.instance_id == instance.id))
    ctx.session.execute(delete(Job).where(Job.instance_id == instance.id))
