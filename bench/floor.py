"""The floor: SpiffWorkflow plus the rows Yimen writes, through the bare DB-API driver.

``bench/engine.py`` asks whether persisting costs Yimen no more than a JSON
round trip costs SpiffWorkflow. This variant answers what persisting costs at
all: it runs the same cases with the same SpiffWorkflow work, and in one
transaction per start / completion writes what Yimen writes for it, with hand
written SQL on the driver (``sqlite3`` or ``psycopg``), no SQLAlchemy, no
permission or form logic, no handler registry:

* start: the instance row, the first task row and its candidate, the state
  (``engine.state.dump``, the same spec-less snapshot Yimen stores), one
  hash-chained audit event (head locked, event inserted, head moved);
* per step: the inbox query (its own transaction, as ``Yimen.tasks``), then
  the actor and group lookup, the task row and the instance row loaded, the
  task row closed and its candidates dropped, the next task row and candidate
  inserted, the instance row written under its version, one audit event.

The workflow object stays in memory between steps (as Yimen's workflow cache
keeps it). Whatever this reaches is the most any implementation storing
these rows durably, one transaction per command, could reach on this
machine and database; the gap between it and Yimen is the price of Yimen's
layers (SQLAlchemy, the command framework, the general runtime).
"""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import datetime, timezone
from typing import Callable

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine import state

INBOX = ("SELECT * FROM human_task WHERE status = 'open' AND instance_id = %s "
         "ORDER BY created_at, id LIMIT 1000 OFFSET 0")
WHO = ("SELECT u.is_admin, m.group_id FROM app_user u LEFT JOIN membership m ON m.user_id = u.id "
       "WHERE u.id = %s")
TASK = "SELECT * FROM human_task WHERE id = %s"
INSTANCE = "SELECT id, version, status, data, mirror FROM process_instance WHERE id = %s"
NEW_INSTANCE = ("INSERT INTO process_instance (definition_id, key, business_key, status, state, data, "
                "completed_elements, mirror, started_by, started_at, updated_at, version) "
                "VALUES (%s, %s, NULL, 'running', '{}', %s, '[]', '{}', %s, %s, %s, 1)")
NEW_TASK = ("INSERT INTO human_task (id, spiff_task_id, instance_id, element_id, name, lane, assignee, "
            "candidate_users, candidate_groups, form_key, due, status, created_at) "
            "VALUES (%s, %s, %s, %s, %s, NULL, NULL, '[]', %s, NULL, NULL, 'open', %s)")
NEW_CANDIDATE = "INSERT INTO task_candidate (task_id, kind, value) VALUES (%s, 'group', %s)"
CLOSE_TASK = ("UPDATE human_task SET status = 'completed', outcome = 'completed', completed_at = %s, "
              "completed_by = %s WHERE id = %s")
DROP_CANDIDATES = "DELETE FROM task_candidate WHERE task_id = %s"
WRITE_INSTANCE = ("UPDATE process_instance SET status = %s, state = %s, data = %s, completed_elements = %s, "
                  "mirror = %s, updated_at = %s, version = %s WHERE id = %s AND version = %s")
HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1"
HEAD_LOCKED = HEAD + " FOR UPDATE"
NEW_EVENT = ("INSERT INTO audit_event (seq, at, actor, action, instance_id, task_id, data, prev_hash, hash) "
             "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)")
MOVE_HEAD = "UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1"


class Floor:
    """One database connection; ``postgres`` picks the SQL dialect details (locking, parameters)."""

    def __init__(self, connection, postgres: bool, definition_id: int, spec,
                 steps, start_data: dict, engine_steps: Callable[[BpmnWorkflow], None],
                 groups: dict[str, str]):
        """``steps``: (element, data, user) per completion; ``groups``: the candidate group of each element."""
        self.db, self.postgres = connection, postgres
        self.definition_id, self.spec, self.steps, self.start_data = definition_id, spec, steps, start_data
        self.engine_steps, self.groups = engine_steps, groups

    # --- the driver, one statement at a time --------------------------------------------------------

    def _sql(self, text: str) -> str:
        return text if self.postgres else text.replace("%s", "?")

    def run(self, cur, text: str, params: tuple = ()):
        cur.execute(self._sql(text), params)
        return cur

    def begin(self, cur) -> None:
        if not self.postgres:
            cur.execute("BEGIN IMMEDIATE")  # psycopg opens the transaction itself

    def commit(self, cur) -> None:
        if self.postgres:
            self.db.commit()
        else:
            cur.execute("COMMIT")

    def read(self, cur, text: str, params: tuple) -> list:
        """A query in its own read transaction, rolled back (as ``Yimen.tasks`` does)."""
        if not self.postgres:
            cur.execute("BEGIN")
        rows = self.run(cur, text, params).fetchall()
        if self.postgres:
            self.db.rollback()
        else:
            cur.execute("ROLLBACK")
        return rows

    def now(self):
        value = datetime.now(timezone.utc)
        return value if self.postgres else value.replace(tzinfo=None).isoformat(sep=" ")

    # --- the rows -----------------------------------------------------------------------------------

    def audit(self, cur, actor: str, action: str, instance_id: int, task_id: str | None, data: dict) -> None:
        seq, prev = self.run(cur, HEAD_LOCKED if self.postgres else HEAD).fetchone()
        seq += 1
        at = self.now()
        payload = json.dumps([seq, str(at), actor, action, instance_id, task_id, data, prev], sort_keys=True,
                             ensure_ascii=False, separators=(",", ":"), default=str)
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        self.run(cur, NEW_EVENT, (seq, at, actor, action, instance_id, task_id,
                                  json.dumps(data, ensure_ascii=False), prev, digest))
        self.run(cur, MOVE_HEAD, (seq, digest))

    def open_task(self, cur, instance_id: int, task) -> str:
        row_id = str(uuid.uuid4())
        group = self.groups[task.task_spec.bpmn_id]
        self.run(cur, NEW_TASK, (row_id, str(task.id), instance_id, task.task_spec.bpmn_id,
                                 task.task_spec.bpmn_name or task.task_spec.bpmn_id, json.dumps([group]), self.now()))
        self.run(cur, NEW_CANDIDATE, (row_id, group))
        return row_id

    def write_instance(self, cur, instance_id: int, version: int, workflow: BpmnWorkflow) -> int:
        data = dict(workflow.last_task.data) if workflow.last_task is not None else {}
        done = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)
                if getattr(t.task_spec, "bpmn_id", None)]
        status = "completed" if workflow.is_completed() else "running"
        hit = self.run(cur, WRITE_INSTANCE, (status, state.dump(workflow), json.dumps(data, default=str),
                                             json.dumps(done), json.dumps({}), self.now(), version + 1,
                                             instance_id, version)).rowcount
        if hit != 1:
            raise RuntimeError(f"instance {instance_id}: version {version} is gone")
        return version + 1

    # --- a case ---------------------------------------------------------------------------------------

    def case(self) -> None:
        cur = self.db.cursor()
        self.begin(cur)
        workflow = BpmnWorkflow(self.spec)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(self.start_data)
        self.engine_steps(workflow)
        instance_id = self.run(cur, NEW_INSTANCE + (" RETURNING id" if self.postgres else ""), (
            self.definition_id, "standard_approval", json.dumps(self.start_data), "zhang", self.now(),
            self.now()))
        instance_id = cur.fetchone()[0] if self.postgres else cur.lastrowid
        (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
        row_id = self.open_task(cur, instance_id, task)
        version = self.write_instance(cur, instance_id, 1, workflow)
        self.audit(cur, "zhang", "instance.start", instance_id, None, {"data": self.start_data})
        self.commit(cur)
        for element, data, user in self.steps:
            inbox = self.read(cur, INBOX, (instance_id,))
            if len(inbox) != 1:
                raise RuntimeError(f"instance {instance_id}: {len(inbox)} open tasks")
            self.begin(cur)
            self.run(cur, WHO, (user,)).fetchall()
            self.run(cur, TASK, (row_id,)).fetchone()
            self.run(cur, INSTANCE, (instance_id,)).fetchone()
            (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
            if task.task_spec.bpmn_id != element:
                raise RuntimeError(f"expected '{element}', found '{task.task_spec.bpmn_id}'")
            before = dict(task.data)
            task.data.update(data)
            task.run()
            self.engine_steps(workflow)
            self.run(cur, CLOSE_TASK, (self.now(), user, row_id))
            self.run(cur, DROP_CANDIDATES, (row_id,))
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            if ready:
                row_id = self.open_task(cur, instance_id, ready[0])
            version = self.write_instance(cur, instance_id, version, workflow)
            diff = {k: {"old": before.get(k), "new": v} for k, v in task.data.items() if before.get(k) != v}
            self.audit(cur, user, "task.complete", instance_id, row_id, {"element": element, "diff": diff})
            self.commit(cur)
        if not workflow.is_completed() or workflow.last_task.data.get("outcome") != "approved":
            raise RuntimeError("floor case did not conclude approved")

    def cases(self, count: int) -> None:
        for _ in range(count):
            self.case()


def timed_cases(floor: Floor, count: int) -> float:
    floor.case()  # warm-up
    began = time.perf_counter()
    floor.cases(count)
    return time.perf_counter() - began
