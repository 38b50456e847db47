"""An audit trail nobody can rewrite unnoticed: the keyed chain, the witness's checkpoints, the covered rows.

Each finding of issue 12 is reproduced first (what the plain chain let through),
then shown caught. Every test runs with its own instance folder, so the key
file and the witness are the test's own.
"""
from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select, text, update

from engine import audit, scheduler
from engine.errors import ValidationError
from engine.migrate import upgrade
from engine.context import command
from engine.models import ApprovalCase, AuditEvent, AuditHead, CaseOpinion
from engine.service import Yimen
from tests.conftest import read
from tests.engine.test_cli import STANDARD, cli  # noqa: F401 - the CLI fixture

OTHER_KEY = "f" * 64
DEMO_MATERIALS = ("食品经营许可申请书", "营业执照", "食品安全管理制度")


@pytest.fixture(autouse=True)
def own_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("YIMEN_INSTANCE_PATH", str(tmp_path))
    for name in ("YIMEN_AUDIT_KEY", "YIMEN_AUDIT_OLD_KEYS", "YIMEN_AUDIT_WITNESS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _run_a_process(yimen):
    yimen.deploy([read("standard_approval.bpmn")])
    instance = yimen.start("standard_approval", {"applicant": "zhang"})["instance"]
    (task,) = yimen.tasks(instance=instance)
    yimen.complete(task["id"], {"acceptance": "accepted"})
    return instance


def _checkpoint(yimen):
    return yimen._read(audit.checkpoint)


def _verify(yimen, *witnesses):
    return yimen._read(audit.verify, list(witnesses) or None)


def _problems(result) -> list[str]:
    return [p["problem"] for p in result["problems"]]


def _events(yimen):
    with yimen.session() as s:
        return s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()


def _plain_rechain(yimen, from_seq: int, drop_key: bool) -> None:
    """What anyone could do with the published algorithm: recompute every hash from ``from_seq`` on."""
    with yimen.session() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        prev = events[from_seq - 2].hash if from_seq > 1 else audit.GENESIS
        for e in events[from_seq - 1:]:
            e.prev_hash = prev
            e.hash = audit._digest(e.seq, e.at.isoformat(), e.actor, e.action, e.instance_id, e.task_id, e.data, prev)
            if drop_key:
                e.key_id = None
            prev = e.hash
        head = s.get(AuditHead, 1)
        head.hash = prev
        s.commit()


# --- the keyed chain ----------------------------------------------------------------------------------------------

def test_every_event_is_signed_with_the_generated_key_file(yimen, own_instance):
    """No key anywhere: the first command generates instance/audit_keys (owner-only); every event names its key."""
    path = own_instance / "audit_keys"
    assert not path.exists()
    _run_a_process(yimen)
    keys = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    assert len(keys) == 1 and len(keys[0]) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kid = audit.key_id(keys[0])
    assert {e.key_id for e in _events(yimen)} == {kid}
    result = _verify(yimen)
    assert (result["ok"], result["events"], result["legacy_events"]) == (True, 3, 0)
    assert result["keys"] == {"source": str(path), "current": kid, "signed": {kid: 3}}


def test_an_edited_event_rechained_with_the_plain_algorithm_is_detected(yimen):
    """Finding: edit an event, recompute the chain with SHA-256 -> used to verify; now each re-hashed event fails."""
    _run_a_process(yimen)
    with yimen.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="mallory"))
        s.commit()
    _plain_rechain(yimen, 2, drop_key=False)
    result = _verify(yimen)
    assert not result["ok"]
    assert [(p["seq"], p["problem"]) for p in result["problems"]] == [
        (2, "content changed (signature mismatch)"), (3, "content changed (signature mismatch)")]


def test_events_rechained_as_unsigned_legacy_events_are_detected(yimen):
    """Passing the tail off as events from before the key (no key id) is refused after a signed event."""
    _run_a_process(yimen)
    _plain_rechain(yimen, 2, drop_key=True)
    result = _verify(yimen)
    assert not result["ok"]
    assert {p["seq"] for p in result["problems"]} == {2, 3}
    assert all("unsigned event after signed ones" in p for p in _problems(result))


def test_a_wholly_rechained_history_is_caught_by_the_checkpoint(yimen):
    """Re-chaining everything as legacy events leaves a consistent chain; the witness's checkpoint tells."""
    _run_a_process(yimen)
    assert _checkpoint(yimen)["written"]
    _plain_rechain(yimen, 1, drop_key=True)
    without_witness = _verify(yimen, os.devnull)
    assert without_witness["ok"] and without_witness["legacy_events"] == 3  # what the chain alone can say
    result = _verify(yimen)
    assert not result["ok"]
    assert _problems(result) == ["re-chained: event 3 differs from the checkpoint of " +
                                 result["checkpoints"]["last"]["at"]]


def test_a_wrong_audit_key_makes_verify_fail_clearly(yimen, own_instance, monkeypatch):
    """Another key in the file or the environment: verify names the key it lacks; nothing passes as checked."""
    _run_a_process(yimen)
    kid = _events(yimen)[0].key_id
    original = (own_instance / "audit_keys").read_text()
    (own_instance / "audit_keys").write_text(OTHER_KEY + "\n")
    result = _verify(yimen)
    assert not result["ok"]
    (problem,) = result["problems"]
    assert problem["key_id"] == kid and problem["seq"] == 1
    assert problem["problem"].startswith(f"3 event(s) signed with key {kid}, which this process does not have")
    assert "wrong or missing audit key" in problem["problem"]
    (own_instance / "audit_keys").write_text(original)
    monkeypatch.setenv("YIMEN_AUDIT_KEY", OTHER_KEY)
    result = _verify(yimen)
    assert not result["ok"] and "YIMEN_AUDIT_KEY" in result["problems"][0]["problem"]
    monkeypatch.setenv("YIMEN_AUDIT_OLD_KEYS", original.splitlines()[-1])
    assert _verify(yimen)["ok"]


def test_a_short_environment_key_is_refused(yimen, monkeypatch):
    """YIMEN_AUDIT_KEY must be a long random value: a command refuses to sign with 'secret'."""
    monkeypatch.setenv("YIMEN_AUDIT_KEY", "secret")
    with pytest.raises(RuntimeError, match="at least 32 characters"):
        yimen.deploy([read("standard_approval.bpmn")])
    assert _events(yimen) == []


def test_a_missing_key_file_is_generated_and_the_old_events_are_reported(yimen, own_instance):
    """The key file lost: the next command makes a new key; events of the lost one cannot be checked (restore it)."""
    _run_a_process(yimen)
    lost = (own_instance / "audit_keys").read_text()
    (own_instance / "audit_keys").unlink()
    yimen.start("standard_approval", {"applicant": "li"})
    assert (own_instance / "audit_keys").exists()
    result = _verify(yimen)
    assert not result["ok"] and len(result["problems"]) == 1
    assert result["problems"][0]["problem"].startswith("3 event(s) signed with key")
    new = (own_instance / "audit_keys").read_text().splitlines()[-1]
    (own_instance / "audit_keys").write_text(lost + new + "\n")  # the backup's keys back, the new one last
    assert _verify(yimen)["ok"]


def test_key_rotation_keeps_old_events_and_checkpoints_verifiable(yimen, own_instance):
    """rotate-key adds a key; the rotation is the first event the new key signs; old events still verify."""
    _run_a_process(yimen)
    _checkpoint(yimen)
    old = _events(yimen)[0].key_id
    rotated = yimen._run(None, audit.rotate)
    assert rotated["previous"] == old and rotated["key_id"] != old and rotated["keys"] == 2
    yimen.start("standard_approval", {"applicant": "li"})
    events = _events(yimen)
    assert [e.key_id for e in events] == [old] * 3 + [rotated["key_id"]] * 2
    assert events[3].action == "audit.rotate_key" and events[3].data == {"key_id": rotated["key_id"], "previous": old}
    assert _checkpoint(yimen)["checkpoint"]["key_id"] == rotated["key_id"]
    result = _verify(yimen)
    assert result["ok"] and result["keys"]["signed"] == {old: 3, rotated["key_id"]: 2}
    assert result["checkpoints"]["checked"] == 2


def test_rotation_is_for_administrators_and_not_for_an_environment_key(yimen, monkeypatch):
    """A named non-admin is refused; with YIMEN_AUDIT_KEY the answer says how to rotate it there."""
    yimen.add_user("li", groups=["reviewer"])
    with pytest.raises(Exception) as refused:
        yimen._run("li", audit.rotate)
    assert getattr(refused.value, "code", None) == "permission_denied"
    monkeypatch.setenv("YIMEN_AUDIT_KEY", OTHER_KEY)
    with pytest.raises(ValidationError, match="YIMEN_AUDIT_OLD_KEYS"):
        audit.rotate_key()


# --- the witness --------------------------------------------------------------------------------------------------

def test_truncation_with_the_head_moved_back_is_caught_by_the_checkpoint(yimen):
    """Finding: delete the newest events, move audit_head back -> the chain alone still verifies; the witness not."""
    _run_a_process(yimen)
    assert _checkpoint(yimen)["checkpoint"]["seq"] == 3
    with yimen.session() as s:
        second = s.scalars(select(AuditEvent).where(AuditEvent.seq == 2)).one()
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
        s.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=2, hash=second.hash))
        s.commit()
    assert _verify(yimen, os.devnull)["ok"]  # the finding, as the chain alone sees it
    result = _verify(yimen)
    assert not result["ok"]
    assert _problems(result) == [f"truncated: the checkpoint of {result['checkpoints']['last']['at']} records event 3, "
                                 "the chain ends at 2"]
    refused = _checkpoint(yimen)
    assert not refused["written"] and "behind the last checkpoint" in refused["problems"][0]["problem"]


def test_checkpoints_are_written_only_when_the_head_moved(yimen, own_instance):
    """The scheduler's job writes one signed line per head position; the witness is JSON lines."""
    _run_a_process(yimen)
    assert audit.scheduled_checkpoint(yimen.sessions) == {"checkpoint": 3, "errors": []}
    assert audit.scheduled_checkpoint(yimen.sessions) == {"checkpoint": 0, "errors": []}
    yimen.start("standard_approval", {"applicant": "li"})
    assert audit.scheduled_checkpoint(yimen.sessions)["checkpoint"] == 4
    lines = [json.loads(ln) for ln in (own_instance / "audit_witness.jsonl").read_text().splitlines()]
    assert [cp["seq"] for cp in lines] == [3, 4]
    assert set(lines[0]) == {"db", "seq", "hash", "at", "key_id", "mac"}
    assert lines[1]["hash"] == _events(yimen)[-1].hash
    jobs = {job.id: job for job in scheduler.build(yimen.sessions).get_jobs()}
    assert jobs["audit_checkpoint"].trigger.interval == timedelta(minutes=10)


def test_an_edited_or_foreign_checkpoint(yimen, own_instance, monkeypatch):
    """An edited witness line fails its signature; another database's checkpoints are counted, not applied."""
    _run_a_process(yimen)
    _checkpoint(yimen)
    path = own_instance / "audit_witness.jsonl"
    line = json.loads(path.read_text())
    foreign = {**line, "db": "sqlite:/elsewhere/yimen.db", "seq": 999}
    path.write_text(json.dumps({**line, "seq": 2}) + "\n" + json.dumps(foreign) + "\n")
    result = _verify(yimen)
    assert _problems(result) == ["checkpoint does not match its signature (edited or forged)"]
    assert result["checkpoints"]["other_databases"] == 1


def test_witness_path_from_the_environment(yimen, tmp_path, monkeypatch):
    """YIMEN_AUDIT_WITNESS puts the witness elsewhere (storage the database administrators cannot rewrite)."""
    elsewhere = tmp_path / "worm" / "yimen-witness.jsonl"
    monkeypatch.setenv("YIMEN_AUDIT_WITNESS", str(elsewhere))
    _run_a_process(yimen)
    assert _checkpoint(yimen)["file"] == str(elsewhere)
    assert _verify(yimen)["checkpoints"]["checked"] == 1


# --- the covered rows ---------------------------------------------------------------------------------------------

@pytest.fixture
def office(yimen, calendar_ready, departments):
    for name in ("standard_approval", "parallel_approval", "notify_commit", "extension"):
        yimen.deploy([read(f"{name}.bpmn")])
    yimen.import_items((read("items/demo_items.json")[1]).decode("utf-8"))
    for user, groups in (("wang", ["window"]), ("zhang", []), ("sun", ["supervision"]), ("li", ["reviewer"])):
        yimen.add_user(user, groups=groups)
    return yimen


def _accepted_case(office) -> int:
    case = office.submit("330100-XK-001", {"name": "张三", "user": "zhang"},
                         [{"name": n, "filename": f"{i}.pdf", "content": b"%PDF"} for i, n in enumerate(DEMO_MATERIALS)],
                         user="zhang")["case"]
    office.accept(case, "材料齐全，予以受理", user="wang")
    return case


def _sql(yimen, statement: str, **params) -> None:
    with yimen.session() as s:
        s.execute(text(statement), params)
        s.commit()


def _row_problems(result, table):
    return [p for p in result["problems"] if p.get("table") == table]


def test_a_case_row_is_written_into_the_event_that_wrote_it(office):
    """submit and accept carry the case's dates and status, the opinion and the notice in their events."""
    case = _accepted_case(office)
    accept = [e for e in _events(office) if e.action == "case.accept"][-1]
    tables = {(r["table"], r["id"]) for r in accept.covered["rows"]}
    assert ("approval_case", case) in tables
    assert {"case_opinion", "case_notice"} <= {t for t, _ in tables}
    row = next(r["row"] for r in accept.covered["rows"] if r["table"] == "approval_case")
    assert row["status"] == office.case(case)["status"] and row["accepted_at"] is not None
    result = _verify(office)
    assert result["ok"] and result["rows"]["checked"] >= 3 and result["rows"]["not_covered"] == 0


def test_an_opinion_edited_in_sql_is_reported(office):
    """Finding: an opinion's text and author changed in the database -> was invisible; now named with both values."""
    case = _accepted_case(office)
    with office.session() as s:
        opinion_id = s.execute(text("SELECT id FROM case_opinion WHERE case_id = :c"), {"c": case}).scalar()
    _sql(office, "UPDATE case_opinion SET text = '不予受理', user_id = 'mallory' WHERE id = :i", i=opinion_id)
    (problem,) = _verify(office)["problems"]  # the chain itself is intact: only the row check sees it
    assert problem["table"] == "case_opinion" and problem["id"] == opinion_id and problem["problem"] == "row differs from the audit trail"
    assert problem["columns"] == {"text": {"chain": "材料齐全，予以受理", "database": "不予受理"},
                                  "user_id": {"chain": "wang", "database": "mallory"}}


def test_a_case_date_edited_in_sql_is_reported(office):
    """Finding: a case's acceptance date moved back by a week in the database -> reported."""
    case = _accepted_case(office)
    accepted = datetime.fromisoformat(office.case(case)["accepted"])
    with office.session() as s:
        s.execute(update(ApprovalCase).where(ApprovalCase.id == case).values(accepted_at=accepted - timedelta(days=7)))
        s.commit()
    (problem,) = _verify(office)["problems"]
    assert (problem["table"], problem["id"]) == ("approval_case", case) and set(problem["columns"]) == {"accepted_at"}
    assert problem["columns"]["accepted_at"]["chain"] == accepted.astimezone(timezone.utc).isoformat()


def test_a_notice_edited_deleted_or_inserted_in_sql_is_reported(office):
    """A notice's content changed, one deleted, one inserted by hand: each reported."""
    case = _accepted_case(office)
    with office.session() as s:
        notice_id = s.execute(text("SELECT id FROM case_notice WHERE case_id = :c"), {"c": case}).scalar()
    _sql(office, "UPDATE case_notice SET issued_by = 'mallory' WHERE id = :i", i=notice_id)
    assert _row_problems(_verify(office), "case_notice")[0]["columns"] == {
        "issued_by": {"chain": "wang", "database": "mallory"}}
    _sql(office, "INSERT INTO case_notice (case_id, kind, number, content, issued_at, issued_by) "
                 "SELECT case_id, kind, 'FORGED-1', content, issued_at, 'wang' FROM case_notice WHERE id = :i",
         i=notice_id)
    _sql(office, "DELETE FROM case_notice WHERE id = :i", i=notice_id)
    found = {(p["table"], p["problem"]) for p in _verify(office)["problems"]}
    assert found == {("case_notice", "no audit event wrote this row"),
                     ("case_notice", "row recorded in the audit trail is missing")}


def test_a_card_edited_in_sql_is_reported(office):
    """A red card quietly withdrawn in the database is reported; the sweep's event holds the card."""
    case = _accepted_case(office)
    office.advance_deadlines(datetime.fromisoformat(office.case(case)["submitted"]) + timedelta(days=90))
    (card,) = office.case(case)["cards"]
    assert _verify(office)["ok"]
    _sql(office, "UPDATE issued_card SET status = 'withdrawn', decision_note = 'ok' WHERE id = :i", i=card["id"])
    (problem,) = _verify(office)["problems"]
    assert (problem["table"], problem["id"]) == ("issued_card", card["id"]) and set(problem["columns"]) == {"status", "decision_note"}


def test_a_credit_entry_edited_in_sql_is_reported(office):
    """告知承诺 found false writes a credit record; softening its kind in the database is reported."""
    applicant = {"name": "李四", "user": "zhang", "id_no": "330100199001010011"}
    case = office.submit("330100-XK-004", applicant, [{"name": "告知承诺书", "filename": "c.pdf",
                                                       "content": b"c"}], user="zhang")["case"]
    instance = office.case(case)["instance"]
    (sign,) = office.tasks(instance=instance)
    office.complete(sign["id"], {"committed": True}, user="zhang")
    (decide,) = office.tasks(instance=instance)
    office.decide(decide["id"], True, "当场准予", user="wang")
    (check,) = office.tasks(instance=instance)
    office.verify_commitment(check["id"], False, "现场与承诺不符", user="sun")
    assert _verify(office)["ok"]
    with office.session() as s:
        credit_id = s.execute(text("SELECT id FROM credit_record")).scalar()
    _sql(office, "UPDATE credit_record SET kind = 'note' WHERE id = :i", i=credit_id)
    (problem,) = _verify(office)["problems"]
    assert (problem["table"], problem["id"]) == ("credit_record", credit_id)
    assert problem["columns"] == {"kind": {"chain": "false_commitment", "database": "note"}}


def test_truncated_events_leave_their_rows_unexplained(office):
    """Even without a checkpoint, deleting the events that wrote a case shows: its rows have no event."""
    _accepted_case(office)
    events = _events(office)
    submit = next(e for e in events if e.action == "case.submit")
    with office.session() as s:
        before = s.scalars(select(AuditEvent).where(AuditEvent.seq == submit.seq - 1)).one()
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= submit.seq))
        s.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=before.seq, hash=before.hash))
        s.commit()
    result = _verify(office)
    assert not result["ok"]
    assert {p["table"] for p in result["problems"]} == {"approval_case", "case_opinion", "case_notice"}
    assert {p["problem"] for p in result["problems"]} == {"no audit event wrote this row"}


@command("test.savepoints")
def _opinions_in_savepoints(ctx, case_id: int) -> None:
    def opinion(text_):
        ctx.session.add(CaseOpinion(case_id=case_id, user_id="wang", decision="note", text=text_, at=ctx.now))
        ctx.session.flush()

    opinion("kept")
    try:
        with ctx.session.begin_nested():
            opinion("undone")
            ctx.session.get(ApprovalCase, case_id).extension_days = 99
            ctx.session.flush()
            raise RuntimeError("roll the savepoint back")
    except RuntimeError:
        pass
    with ctx.session.begin_nested():
        opinion("also kept")


def test_rows_written_around_savepoints_are_recorded_as_committed(office):
    """A savepoint ending keeps what the command wrote before; what a rolled-back savepoint wrote is not recorded."""
    case = _accepted_case(office)
    office._run(None, _opinions_in_savepoints, case_id=case)
    rows = _events(office)[-1].covered["rows"]
    assert sorted(r["row"]["text"] for r in rows if r["table"] == "case_opinion") == ["also kept", "kept"]
    assert all(r["row"]["extension_days"] == 0 for r in rows if r["table"] == "approval_case")
    assert _verify(office)["ok"]


# --- before the chain was keyed -----------------------------------------------------------------------------------

def test_events_from_before_the_migration_keep_verifying_and_are_counted(tmp_path):
    """A database at 0010 with plain-hashed events and a credit row: upgraded, it verifies and says what is legacy."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0010")
    service = Yimen(url)
    try:
        prev = audit.GENESIS
        with service.session() as s:
            for seq in (1, 2):
                at = datetime(2026, 1, 5, 2, seq, tzinfo=timezone.utc)
                digest = audit._digest(seq, at.isoformat(), "admin", "deploy", None, None, {"n": seq}, prev)
                s.execute(text("INSERT INTO audit_event (seq, at, actor, action, data, prev_hash, hash) "
                               "VALUES (:s, :at, 'admin', 'deploy', :d, :p, :h)"),
                          {"s": seq, "at": at.replace(tzinfo=None), "d": json.dumps({"n": seq}), "p": prev, "h": digest})
                prev = digest
            s.execute(text("UPDATE audit_head SET seq = 2, hash = :h WHERE id = 1"), {"h": prev})
            s.execute(text("INSERT INTO credit_record (applicant_name, kind, at) VALUES ('王五', 'note', :at)"),
                      {"at": datetime(2026, 1, 5)})
            s.commit()
        upgrade(url)
        before = _verify(service)
        assert before["ok"] and before["legacy_events"] == 2 and before["rows"]["not_covered"] == 1
        service.deploy([read("standard_approval.bpmn")])
        first_signed = _events(service)[-1]
        assert first_signed.covered["opening"] == {
            "legacy_events": 2, "covered_from": {"approval_case": 0, "case_opinion": 0, "case_notice": 0,
                                                 "issued_card": 0, "credit_record": 1}}
        with service.session() as s:
            assert s.get(AuditHead, 1).opening is None
        after = _verify(service)
        assert after["ok"] and after["legacy_events"] == 2 and after["events"] == 3
    finally:
        service.close()


# --- the command line ---------------------------------------------------------------------------------------------

def test_the_audit_commands(cli, tmp_path):  # noqa: F811 - the imported fixture
    """checkpoint, export (kept by the supervision office), verify --witness on that copy, rotate-key."""
    cli("deploy", STANDARD)
    written = cli("audit", "checkpoint")
    assert written["written"] and written["checkpoint"]["seq"] == 1
    assert cli("audit", "checkpoint")["reason"] == "the head has not moved"
    exported = cli("audit", "export")
    assert [cp["seq"] for cp in exported["checkpoints"]] == [1]
    copy = tmp_path / "supervision-copy.json"
    copy.write_text(json.dumps(exported, ensure_ascii=False))
    rotated = cli("audit", "rotate-key")
    assert rotated["keys"] == 2
    verified = cli("audit", "verify", "--witness", str(copy))
    assert verified["ok"] and verified["events"] == 2 and verified["checkpoints"]["checked"] == 1
    assert set(verified) >= {"ok", "events", "problems", "legacy_events", "rows", "checkpoints", "keys"}
    assert cli("audit", "verify", "--witness", str(tmp_path / "nope.json"), ok=False)["error"]["code"] == "audit_broken"
