"""Periodic background work, triggered by APScheduler.

APScheduler only says *when* to look; the database says *what* is due, and
every sweep claims its rows with locks (see ``engine.sweeps``). So the jobs
can run inside ``yimen serve`` or in any number of ``yimen scheduler``
processes against one database.
"""
from __future__ import annotations

import logging
import signal
import threading

from apscheduler.schedulers.background import BackgroundScheduler

from . import audit, sweeps

log = logging.getLogger("yimen.scheduler")
AUDIT_CHECKPOINT_SECONDS = 600  # a signed checkpoint of the audit chain to the witness file, when the head moved


def _guarded(name, fn, session_factory):
    def run():
        try:
            result = fn(session_factory)
            if any(v for k, v in result.items() if k != "errors"):
                log.info("%s: %s", name, result)
            for error in result.get("errors", []):
                log.warning("%s: %s", name, error)
        except Exception:  # noqa: BLE001 - a failing sweep must not kill the scheduler
            log.exception("%s failed", name)

    return run


def build(session_factory, interval_seconds: float = 10.0) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(_guarded("timers", sweeps.fire_due_timers, session_factory), "interval",
                      seconds=interval_seconds, id="fire_due_timers", max_instances=1, coalesce=True)
    scheduler.add_job(_guarded("jobs", sweeps.run_due_jobs, session_factory), "interval",
                      seconds=interval_seconds, id="run_due_jobs", max_instances=1, coalesce=True)
    scheduler.add_job(_guarded("deadlines", sweeps.advance_deadlines, session_factory), "interval",
                      seconds=interval_seconds, id="advance_deadlines", max_instances=1, coalesce=True)
    scheduler.add_job(_guarded("outbox", sweeps.dispatch_outbox, session_factory), "interval",
                      seconds=interval_seconds, id="dispatch_outbox", max_instances=1, coalesce=True)
    scheduler.add_job(_guarded("audit", audit.scheduled_checkpoint, session_factory), "interval",
                      seconds=AUDIT_CHECKPOINT_SECONDS, id="audit_checkpoint", max_instances=1, coalesce=True)
    return scheduler


def run_forever(session_factory, interval_seconds: float = 10.0) -> None:
    """Run the periodic jobs until SIGINT/SIGTERM (the ``yimen scheduler`` command)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scheduler = build(session_factory, interval_seconds)
    scheduler.start()
    log.info("scheduler running every %ss", interval_seconds)
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
