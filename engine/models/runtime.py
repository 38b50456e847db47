"""Running instances and the indexed rows mirrored from their SpiffWorkflow state.

SpiffWorkflow's serialized state (without the spec) lives in
``ProcessInstance.state``. Everything people and the scheduler search for —
open human tasks, waiting timers, message/signal subscriptions, jobs and
incidents — is also written as plain rows so that an inbox or a due-timer
sweep is one indexed query and never deserializes a workflow.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class InstanceStatus:
    RUNNING = "running"
    COMPLETED = "completed"
    TERMINATED = "terminated"
    ALL = (RUNNING, COMPLETED, TERMINATED)


class ProcessInstance(Base):
    __tablename__ = "process_instance"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    # Read only when a command has no current workflow in memory (see engine/workflow_cache.py).
    state: Mapped[str] = mapped_column(Text, deferred=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    completed_elements: Mapped[list[Any]] = mapped_column(default=list)
    # What the derived rows currently say (open task ids, timers, subscriptions), so a step
    # that changes none of them skips those queries.
    mirror: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    definition = relationship("ProcessDefinition")


class TaskStatus:
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class HumanTask(Base):
    """A user task waiting for (or done by) a person.

    ``spiff_task_id`` links to the task in the workflow state; a step that is
    returned to (退回) or withdrawn (撤回) opens again with the same SpiffWorkflow
    task, so each opening gets its own row and ``id``.
    """

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_status_assignee", "status", "assignee"),
        Index("ix_human_task_status_due", "status", "due"),
        # The inbox's order (engine/lists.py): open steps due soonest first, then oldest.
        Index("ix_human_task_open_due", "due", "created_at", "id", postgresql_where=text("status = 'open'"),
              sqlite_where=text("status = 'open'")),
        # A reviewer's inbox: one department's open steps in the inbox's order.
        Index("ix_human_task_open_department", "department", "due", "created_at", "id",
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
        # A reviewer's case list: the cases with a step (open or closed) of their department.
        Index("ix_human_task_department_instance", "department", "instance_id"),
        # The inbox's card counts and card filter: the open steps past normal are few.
        Index("ix_human_task_open_card", "card", "assignee", postgresql_where=text("status = 'open' AND card > 0"),
              sqlite_where=text("status = 'open' AND card > 0")),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(500))
    name_en: Mapped[str | None] = mapped_column(String(500))  # the diagram's yimen.nameEn
    lane: Mapped[str | None] = mapped_column(String(200))
    assignee: Mapped[str | None] = mapped_column(String(100))
    candidate_users: Mapped[list[Any]] = mapped_column(default=list)
    candidate_groups: Mapped[list[Any]] = mapped_column(default=list)
    form_key: Mapped[str | None] = mapped_column(String(500))
    # The owner department (办理部门, ``engine.inbox.task_department``): the first candidate group that is a
    # department, else the case's office; written when the row opens (and again for the rows naming a
    # department created later), read by the department rule of the inbox and the case lists.
    department: Mapped[str | None] = mapped_column(String(100))
    due: Mapped[datetime | None]
    # The step's card (``Card.ORDER`` index: 0 normal ... 3 red): the graver of its own running clock and its
    # case's running case clock, kept by ``engine.case_clock`` whenever one of the case's clocks changes and
    # when the step opens; read by the inbox's card column, counts and filter.
    card: Mapped[int] = mapped_column(SmallInteger, default=0, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(100))
    # Delegation (委派): the owner hands the task to ``assignee`` and gets it back when they finish.
    owner: Mapped[str | None] = mapped_column(String(100))
    delegation: Mapped[str | None] = mapped_column(String(20))  # pending | resolved
    outcome: Mapped[str | None] = mapped_column(String(20))  # completed | returned | withdrawn | cancelled ...


class TaskCandidate(Base):
    """One candidate user or group of an open task, so inbox queries use an index."""

    __tablename__ = "task_candidate"
    __table_args__ = (Index("ix_task_candidate_kind_value", "kind", "value"),
                      Index("ix_task_candidate_task_kind_value", "task_id", "kind", "value"))

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # user | group
    value: Mapped[str] = mapped_column(String(100))


class Timer(Base):
    """A waiting BPMN timer and when it is due."""

    __tablename__ = "timer"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(index=True)


class EventSubscription(Base):
    """An instance waiting for a message or a signal by name."""

    __tablename__ = "event_subscription"
    __table_args__ = (Index("ix_event_subscription_kind_name", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # message | signal
    name: Mapped[str] = mapped_column(String(200))


class JobStatus:
    PENDING = "pending"      # waiting for its next attempt
    FAILED = "failed"        # out of retries: an incident is open


class Job(Base):
    """A service task whose handler failed and will be retried with backoff."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_status_next_run", "status", "next_run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    element_id: Mapped[str] = mapped_column(String(200))
    handler: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20))
    next_run_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class Incident(Base):
    """Something a person must look at and retry (a handler out of retries)."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    handler: Mapped[str | None] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
