"""Fire the due timers of one instance, and retry failed service-task handlers."""
from __future__ import annotations

import contextlib
from datetime import datetime

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from .. import runtime
from ..context import Ctx, command
from ..errors import EngineError, InvalidState, NotFound, PermissionDenied
from ..runtime import WorkflowError
from ..models import Incident, InstanceStatus, Job, JobStatus, ProcessInstance, Timer


class NothingDue(Exception):
    """Raised inside a sweep command when there is nothing (left) to claim; rolls back quietly."""


def claim_due(ctx: Ctx, model, due_column, until: datetime, skip: set[int], *extra):
    """Lock one due row nobody else holds (``FOR UPDATE SKIP LOCKED``) for this transaction."""
    stmt = select(model).where(due_column <= until, *extra)
    if skip:
        stmt = stmt.where(model.instance_id.not_in(skip))
    row = ctx.session.scalars(stmt.order_by(due_column).limit(1).with_for_update(skip_locked=True)).first()
    if row is None:
        raise NothingDue()
    return row


@command("timer.fire")
def fire_next_timers(ctx: Ctx, until: datetime, skip: set[int]) -> dict:
    """Claim one due timer and fire every timer of its instance due up to ``until``.

    The caller pins the clock to ``until`` so SpiffWorkflow sees the same time.
    """
    claimed = claim_due(ctx, Timer, Timer.due_at, until, skip)
    instance_id = claimed.instance_id
    with _blame(instance_id):
        return _fire(ctx, instance_id, until)


@contextlib.contextmanager
def _blame(instance_id: int):
    """Any failure while handling a claimed instance names it, so a sweep can skip it and go on."""
    try:
        yield
    except EngineError as exc:
        exc.details.setdefault("instance_id", instance_id)
        raise
    except NothingDue:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. a SpiffWorkflow error from a broken diagram
        raise WorkflowError(f"{exc.__class__.__name__}: {exc}", instance_id=instance_id) from exc


def _fire(ctx: Ctx, instance_id: int, until: datetime) -> dict:
    due = {t.task_id: t.due_at for t in ctx.session.scalars(
        select(Timer).where(Timer.instance_id == instance_id, Timer.due_at <= until))}
    running = runtime.load(ctx, instance_id)
    cycles = runtime.cycle_positions(running.workflow)
    running.workflow.refresh_timers()
    runtime.record_cycle_firings(running, cycles)
    runtime.advance(ctx, running)
    after = {t.task_id: t.due_at for t in ctx.session.scalars(select(Timer).where(Timer.instance_id == instance_id))}
    fired = [task_id for task_id, due_at in due.items() if after.get(task_id) != due_at]
    elements = []
    for task_id in fired:
        try:
            elements.append(runtime.waiting_element(runtime.spiff_task(running, task_id)))
        except NotFound:
            elements.append(None)
    ctx.audit.instance_id = instance_id
    ctx.audit.data = {"until": until.isoformat(), "fired": elements, "handlers": running.events}
    return {"instance": instance_id, "fired": len(fired), "elements": elements}


def _retry_job(ctx: Ctx, job: Job) -> bool:
    running = runtime.load(ctx, job.instance_id)
    try:
        task = runtime.spiff_task(running, job.task_id)
    except NotFound:
        task = None
    if task is None or task.state != TaskState.STARTED:
        ctx.session.delete(job)
        return False
    ok = runtime.run_handler(ctx, running, task, job)
    runtime.advance(ctx, running)
    ctx.audit.instance_id, ctx.audit.task_id = job.instance_id, job.task_id
    ctx.audit.data = {"handler": job.handler, "attempt": job.attempts, "ok": ok, "handlers": running.events}
    return ok


@command("job.retry")
def retry_next_job(ctx: Ctx, until: datetime, skip: set[int]) -> dict:
    """Claim one job whose backoff has passed and run its handler again."""
    job = claim_due(ctx, Job, Job.next_run_at, until, skip, Job.status == JobStatus.PENDING)
    instance_id = job.instance_id
    with _blame(instance_id):
        return {"instance": instance_id, "job": job.id, "ok": _retry_job(ctx, job)}


SUPERVISION_GROUP = "supervision"  # supervisors watch incidents on their dashboard and may retry them

# Sweeps whose failure for one instance opens an incident (the handler column names the sweep).
SWEEP_LABELS = {"clock.advance": "办件计时推进", "timer.fire": "定时器触发", "job.retry": "处理程序重试"}
REASONS_ZH = {
    "calendar_missing": "工作日历无法计算 {year} 年的工作日，请管理员在“工作日历”页录入该年度的节假日安排",
    "expression_error": "流程图中的表达式无法求值，请流程设计人员检查该环节的表达式",
    "workflow_error": "流程运行出错，请流程设计人员检查该流程图",
    "invalid_input": "数据不符合要求",
    "invalid_state": "办件状态不允许此操作",
    "not_found": "所需的数据不存在",
    "handler_failed": "处理程序执行失败",
}


def reason_zh(error: dict) -> str:
    """A Chinese sentence for an engine error (code and details), for incidents people read."""
    template = REASONS_ZH.get(error.get("code"), "系统处理出错")
    try:
        return template.format(**(error.get("details") or {}))
    except (KeyError, IndexError):
        return REASONS_ZH.get(error.get("code"), "系统处理出错").split("{")[0].rstrip("，")


@command("sweep.incident")
def record_sweep_failure(ctx: Ctx, sweep: str, error: dict) -> dict:
    """A sweep failed for one instance: open an incident supervisors see (once while it stays open)."""
    details = error.get("details") or {}
    instance_id = details["instance_id"]
    if ctx.session.get(ProcessInstance, instance_id) is None:
        return {"incident": None}
    open_one = ctx.session.scalars(select(Incident).where(
        Incident.instance_id == instance_id, Incident.handler == sweep, Incident.resolved_at.is_(None))).first()
    message = f"{SWEEP_LABELS.get(sweep, sweep)}失败：{reason_zh(error)}。技术信息：{error.get('message')}"
    if open_one is not None:
        open_one.message = message
        incident = open_one
    else:
        incident = Incident(instance_id=instance_id, task_id=str(details.get("task_id") or ""),
                            element_id=str(details.get("element_id") or sweep), handler=sweep, message=message,
                            created_at=ctx.now)
        ctx.session.add(incident)
        ctx.session.flush()
    ctx.audit.instance_id = instance_id
    ctx.audit.data = {"incident": incident.id, "sweep": sweep, "error": error}
    return {"incident": incident.id, "new": open_one is None}


@command("incident.retry")
def retry_incident(ctx: Ctx, incident_id: int) -> dict:
    if not ctx.actor.is_admin and SUPERVISION_GROUP not in ctx.groups():
        raise PermissionDenied(f"user '{ctx.actor.id}' may not retry incidents (administrators and supervision)")
    incident = ctx.session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"incident {incident_id} does not exist", incident_id=incident_id)
    if incident.resolved_at is not None:
        raise InvalidState(f"incident {incident_id} is already resolved", incident_id=incident_id)
    instance = ctx.session.get(ProcessInstance, incident.instance_id)
    if instance.status != InstanceStatus.RUNNING:
        raise InvalidState(f"instance {instance.id} is {instance.status}")
    incident.resolved_at = ctx.now
    incident.resolved_by = ctx.actor.id
    if incident.handler in SWEEP_LABELS and incident.handler != "job.retry":
        # The due row is still due: the sweep tries it again at its next round (a new incident if it fails again).
        ctx.audit.instance_id = incident.instance_id
        ctx.audit.data = {"incident": incident_id, "sweep": incident.handler}
        return {"incident": incident_id, "ok": True, "retried_by": "next sweep"}
    job = ctx.session.scalars(select(Job).where(Job.task_id == incident.task_id)).first()
    if job is None:
        raise InvalidState(f"incident {incident_id} has no failed job to retry")
    job.status = JobStatus.PENDING
    job.attempts = runtime.max_attempts() - 1  # one more try; failing again opens a new incident
    ok = _retry_job(ctx, job)
    ctx.audit.data["incident"] = incident_id
    return {"incident": incident_id, "ok": ok}
