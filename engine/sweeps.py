"""Background sweeps: fire due timers, retry due handler jobs, advance due deadline watches, send the outbox.

The database says what is due. Each round is one command that claims one due
row with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has one writer
anyway) and handles that row's instance, so any number of processes can
sweep together and each timer fires once: a process that reaches an
instance another one just moved loses the optimistic lock and looks again.
"""
from __future__ import annotations

import logging
from datetime import datetime

from . import clock, outbox
from .commands.deadlines import advance_next_watch
from .commands.timers import NothingDue, fire_next_timers, record_sweep_failure, retry_next_job
from .context import Actor, run_command
from .errors import Conflict, DatabaseBusy, EngineError

log = logging.getLogger("yimen.sweeps")


def _record_failure(session_factory, fn, error: dict) -> None:
    """A failure for one instance never passes silently: it is logged and becomes an incident (异常)."""
    instance_id = (error.get("details") or {}).get("instance_id")
    log.error("%s failed for instance %s: %s: %s", fn.action, instance_id, error.get("code"), error.get("message"))
    try:
        run_command(session_factory, Actor.system(), record_sweep_failure, sweep=fn.action, error=error)
    except Exception:  # noqa: BLE001 - the log line above is what is left when even this fails
        log.exception("could not record the incident of %s for instance %s", fn.action, instance_id)


def _sweep(session_factory, fn, until: datetime | None, actor: Actor | None, max_rounds: int = 1_000_000):
    until = until or clock.now()
    actor = actor or Actor.system()
    skip: set[int] = set()
    results, errors = [], []
    for _ in range(max_rounds):
        try:
            with clock.pinned(max(until, clock.now())):
                result = run_command(session_factory, actor, fn, until=until, skip=set(skip))
        except NothingDue:
            break
        except Conflict:
            continue
        except DatabaseBusy:
            break  # another writer holds the database: the next round goes on where this one stopped
        except EngineError as exc:
            errors.append(exc.to_dict())
            instance_id = exc.details.get("instance_id")
            if instance_id is None:
                log.error("%s failed: %s: %s", fn.action, exc.code, exc)
                break
            _record_failure(session_factory, fn, exc.to_dict())
            skip.add(instance_id)
            continue
        results.append(result)
        if not result.get("fired", result.get("ok")):
            skip.add(result["instance"])
    return results, errors


def fire_due_timers(session_factory, until: datetime | None = None, actor: Actor | None = None) -> dict:
    """Fire every timer due up to ``until`` (default: now); returns how many fired."""
    results, errors = _sweep(session_factory, fire_next_timers, until, actor)
    out = {"fired": sum(r["fired"] for r in results)}
    if errors:
        out["errors"] = errors
    return out


def run_due_jobs(session_factory, until: datetime | None = None, actor: Actor | None = None) -> dict:
    """Retry every service-task handler whose backoff has passed."""
    results, errors = _sweep(session_factory, retry_next_job, until, actor)
    out = {"ran": len(results), "succeeded": sum(1 for r in results if r["ok"])}
    if errors:
        out["errors"] = errors
    return out


def advance_deadlines(session_factory, until: datetime | None = None, actor: Actor | None = None) -> dict:
    """Move every watch whose next state is due: warnings, yellow and red cards, escalation, Art. 32."""
    results, errors = _sweep(session_factory, advance_next_watch, until, actor)
    out = {"advanced": len(results), "changed": sum(1 for r in results if r.get("actions") is not None
                                                    or r.get("deemed_accepted"))}
    if errors:
        out["errors"] = errors
    return out


def dispatch_outbox(session_factory, until: datetime | None = None) -> dict:
    """Send the e-mail and SMS due in the outbox (发件箱); see ``engine.outbox`` for how rows are claimed."""
    out = outbox.dispatch_due(session_factory, until)
    if not out["errors"]:
        del out["errors"]
    return out
