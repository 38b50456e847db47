"""Commands: one function, one transaction, one audit event.

``run_command(session_factory, actor, fn, **kw)`` opens a session, runs the
command with a ``Ctx`` (session, actor, the time), commits, or rolls back and
re-raises. Commands are declared with ``@command("action.name")``; the
decorator writes the audit event from what the command put in ``ctx.audit``.
A lost optimistic lock (``StaleDataError``) becomes ``Conflict``.
"""
from __future__ import annotations

import contextvars
import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import clock
from .errors import Conflict, EngineError
from .limits import Budget


@dataclass(frozen=True)
class Actor:
    """Who runs a command. ``groups`` are filled from memberships when needed."""

    id: str
    is_admin: bool | None = False  # None: not known yet, read from the user table by run_command
    is_system: bool = False

    @classmethod
    def admin(cls, user_id: str = "admin") -> "Actor":
        return cls(user_id, is_admin=True)

    @classmethod
    def system(cls) -> "Actor":
        return cls("system", is_admin=True, is_system=True)


@dataclass
class AuditNote:
    instance_id: int | None = None
    task_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Ctx:
    session: Session
    actor: Actor
    now: datetime
    audit: AuditNote = field(default_factory=AuditNote)
    after_commit: list[Callable[[], Any]] = field(default_factory=list)
    delivered: list[int] = field(default_factory=list)  # instances reached by messages/signals in this command
    # instance id -> (instance row, workflow, state text written from it): offered to the workflow cache on commit
    kept_workflows: dict[int, tuple] = field(default_factory=dict)
    # what the command has spent (engine steps, new tasks, timers, time): bounded, see engine.limits
    budget: Budget = field(default_factory=Budget)
    # while a command reopens steps itself (退回), the "new task" notices wait here: it tells those people why
    held_task_notices: list[tuple] | None = None
    # (case id, kind) -> the notice this command issued (the latest of its kind), for whoever passes it on
    issued_notices: dict[tuple[int, str], Any] = field(default_factory=dict)
    _groups: frozenset[str] | None = None
    _department: tuple[str | None] | None = None  # (the actor's department,) once known

    def department(self) -> str | None:
        """The actor's department (its account's), read with its rights when the command began."""
        if self._department is None:
            from .models import User

            user = self.session.get(User, self.actor.id)
            self._department = (user.department_id if user is not None else None,)
        return self._department[0]

    def groups(self) -> frozenset[str]:
        """The actor's groups, read once per command."""
        if self._groups is None:
            rows = self.session.connection().execute(_statements()["groups"], {"user_id": self.actor.id}).scalars()
            self._groups = frozenset(rows)
        return self._groups


def _identify(session: Session, actor: Actor) -> tuple[Actor, frozenset[str] | None, tuple[str | None] | None]:
    """The actor with its admin flag, and its groups and department when they came with it (one query for a
    named user).

    A named user's rights are read in the command's own transaction (``is_admin=None`` = look them up).
    A deactivated account runs nothing.
    """
    if actor.is_admin is not None:
        return actor, None, None
    rows = session.connection().execute(_statements()["who"], {"user_id": actor.id}).all()
    if rows and not rows[0].active:
        from .errors import PermissionDenied

        raise PermissionDenied(f"user '{actor.id}' is deactivated", refusal="account_inactive")
    is_admin = bool(rows and rows[0].is_admin)
    return (Actor(actor.id, is_admin=is_admin), frozenset(r.group_id for r in rows if r.group_id is not None),
            (rows[0].department_id if rows else None,))


@functools.cache
def _statements() -> dict[str, Any]:
    """Who-is-this lookups run in every command: built once, as plain Core statements."""
    from .models import Membership, User

    users, memberships = User.__table__, Membership.__table__
    return {
        "who": select(users.c.is_admin, users.c.active, users.c.department_id, memberships.c.group_id)
        .select_from(users.outerjoin(memberships, memberships.c.user_id == users.c.id))
        .where(users.c.id == bindparam("user_id")),
        "groups": select(memberships.c.group_id).where(memberships.c.user_id == bindparam("user_id")),
    }


class FirstCommandCheck:
    """A check of the caller's (the reader's) right to see what a verb acts on, run by the first command
    started while it is pending (``pending_check``), in that command's transaction, before the command.

    The verb then reads what it checked from the same snapshot (and from the session, without reading it
    again), and nothing can change between the check and the verb. A verb refused before it reached a
    command (a malformed body) has the check run on its own (``settle``): an invisible case or step is
    still not found, whatever else was wrong.
    """

    def __init__(self, check: Callable[[Session], None]):
        self.check, self.done = check, False

    def run(self, session: Session) -> None:
        if not self.done:
            self.done = True
            self.check(session)

    def settle(self, read: Callable[[Callable[[Session], None]], Any]) -> None:
        """Run the check on its own, through ``read`` (a read transaction), if no command has run it."""
        if not self.done:
            read(self.run)


_pending_check: contextvars.ContextVar[FirstCommandCheck | None] = contextvars.ContextVar("yimen_pending_check",
                                                                                           default=None)


def pending_check(check: FirstCommandCheck):
    """Make ``check`` the one the next command runs first (returns the token to reset it with)."""
    return _pending_check.set(check)


def clear_check(token) -> None:
    _pending_check.reset(token)


def run_command(session_factory: Callable[[], Session], actor: Actor, fn, /, **kwargs):
    """Run one command in its own transaction."""
    from .db import KEEP_LOADED

    session = session_factory()
    session.info[KEEP_LOADED] = []  # the rows the command loads stay in its identity map until it ends
    try:
        try:
            who, groups, department = _identify(session, actor)
            check = _pending_check.get()
            if check is not None:
                check.run(session)
        except OperationalError as exc:  # the first statement opens the transaction: a busy database shows here
            session.rollback()
            raise busy_or_raise(exc) from exc
        except BaseException:
            session.rollback()
            raise
        ctx = Ctx(session=session, actor=who, now=clock.now(), _groups=groups, _department=department)
        from . import calendar
        from .case_clock import working_calendar

        bound = calendar.bind(lambda: working_calendar(ctx))
        try:
            result = fn(ctx, **kwargs)
            session.commit()
            for hook in ctx.after_commit:
                hook()
            return result
        except StaleDataError as exc:
            session.rollback()
            raise Conflict("someone else changed this first; reload and try again") from exc
        except IntegrityError as exc:
            session.rollback()
            raise Conflict(f"conflicting concurrent change: {exc.orig}") from exc
        except OperationalError as exc:
            session.rollback()
            raise busy_or_raise(exc) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            calendar.unbind(bound)
    finally:
        session.info.pop(KEEP_LOADED, None)
        session.close()


def busy_or_raise(exc: OperationalError) -> Exception:
    """The engine error a database refusal means: busy (try again later), a lost race, or the error itself."""
    from .errors import DatabaseBusy

    text = str(exc.orig).lower()
    if "database is locked" in text or "lock timeout" in text or "canceling statement due to lock" in text:
        return DatabaseBusy(f"the database is busy, try again in a moment: {exc.orig}")
    if "could not serialize" in text or "deadlock" in text:
        return Conflict(f"concurrent change, try again: {exc.orig}")
    return exc


def command(action: str):
    """Mark a function as an engine command that writes one audit event named ``action``."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(ctx: Ctx, **kwargs):
            result = fn(ctx, **kwargs)
            from .audit import append_event

            append_event(ctx, action, ctx.audit.instance_id, ctx.audit.task_id, ctx.audit.data)
            return result

        wrapper.action = action
        return wrapper

    return decorate


def query(fn):
    """Mark a read-only function; it runs in a transaction that is committed empty."""
    fn.is_query = True
    return fn


__all__ = ["Actor", "Ctx", "run_command", "command", "query", "EngineError"]
