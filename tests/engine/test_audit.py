"""The keyed hash-chained audit trail: one event per command, tampering detected (more in test_audit_tamper)."""
from __future__ import annotations

from sqlalchemy import delete, select, update

from engine.models import AuditEvent
from tests.conftest import read


def _run_a_case(yimen):
    yimen.deploy([read("standard_approval.bpmn")])
    instance = yimen.start("standard_approval", {"applicant": "zhang"})["instance"]
    task = yimen.tasks(instance=instance)[0]
    yimen.complete(task["id"], {"acceptance": "accepted"})
    return instance


def test_every_command_writes_one_chained_event(yimen):
    """deploy, start, complete -> three events with actor, action and the data diff; chain verifies."""
    instance = _run_a_case(yimen)
    with yimen.session() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.action for e in events] == ["deploy", "instance.start", "task.complete"]
    complete = events[-1]
    assert complete.instance_id == instance and complete.actor == "admin"
    assert complete.data["diff"]["acceptance"] == {"old": None, "new": "accepted"}
    assert events[1].prev_hash == events[0].hash
    result = yimen.verify_audit()
    assert (result["ok"], result["events"], result["problems"], result["legacy_events"]) == (True, 3, [], 0)
    assert all(e.key_id == result["keys"]["current"] for e in events)  # signed with the audit key


def test_a_changed_event_is_detected(yimen):
    """Editing an event's data breaks its hash."""
    _run_a_case(yimen)
    with yimen.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="mallory"))
        s.commit()
    result = yimen.verify_audit()
    assert not result["ok"] and result["problems"][0]["seq"] == 2


def test_a_deleted_event_is_detected(yimen):
    """Deleting an event in the middle (or at the end) breaks the chain."""
    _run_a_case(yimen)
    with yimen.session() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
        s.commit()
    assert not yimen.verify_audit()["ok"]


def test_a_deleted_last_event_is_detected(yimen):
    """Deleting the newest event is caught by the chain head."""
    _run_a_case(yimen)
    with yimen.session() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
        s.commit()
    assert not yimen.verify_audit()["ok"]


def test_a_refused_command_writes_no_event(yimen):
    """A failing command rolls back its audit event with everything else."""
    _run_a_case(yimen)
    try:
        yimen.start("no_such_process")
    except Exception:  # noqa: BLE001
        pass
    assert yimen.verify_audit()["events"] == 3
