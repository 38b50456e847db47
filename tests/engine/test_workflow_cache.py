"""The in-memory workflow cache never hides what the database says.

These tests use a plain ``Yimen`` (the ``yimen`` fixture forgets everything
between commands, so it never reaches the cache).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine import audit, definitions, state, workflow_cache
from engine.errors import Conflict, InvalidState
from engine.service import Yimen
from tests.conftest import read

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def service(database_url):
    definitions.clear_cache()
    yimen = Yimen(database_url)
    yimen.deploy([read("standard_approval.bpmn")])
    for user, group in (("wang", "window"), ("chen", "window"), ("li", "reviewer"), ("zhao", "approver")):
        yimen.add_user(user, groups=[group])
    yield yimen
    yimen.close()
    definitions.clear_cache()


@pytest.fixture
def loads(monkeypatch):
    """Counts how often stored state is parsed (a cache miss)."""
    calls = []
    real = state.load

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(state, "load", counting)
    return calls


def only_task(service, instance):
    (task,) = service.tasks(instance=instance)
    return task


def test_a_process_runs_to_the_end_from_the_cache(service, loads):
    """After start, each step takes the committed workflow from memory; the outcome is the stored one."""
    instance = service.start("standard_approval", {"applicant": "zhang"})["instance"]
    for element, data, user in (("accept", {"acceptance": "accepted"}, "wang"), ("review", {"opinion": "ok"}, "li"),
                                ("conclude", {"approved": True}, "zhao")):
        task = only_task(service, instance)
        assert task["element_id"] == element
        service.complete(task["id"], data, user=user)
    assert loads == []
    shown = service.show(instance)
    assert shown["status"] == "completed" and shown["data"]["outcome"] == "approved"
    assert shown["completed_elements"] == ["submitted", "accept", "acceptance_decision", "review", "conclude",
                                           "materials_check", "record_conclusion", "concluded"]
    assert workflow_cache.size() == 0  # a finished instance is not kept


def test_a_rolled_back_command_leaves_nothing_in_memory(service, loads, monkeypatch):
    """The workflow moved before the transaction failed: the next command must start from the stored state."""
    instance = service.start("standard_approval", {"applicant": "zhang"})["instance"]
    task = only_task(service, instance)
    real_append = audit.append_event

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "append_event", broken)
    with pytest.raises(RuntimeError):
        service.complete(task["id"], {"acceptance": "accepted"}, user="wang")
    monkeypatch.setattr(audit, "append_event", real_append)
    assert workflow_cache.size() == 0
    assert only_task(service, instance)["id"] == task["id"]  # still at 'accept'

    loads.clear()
    service.complete(task["id"], {"acceptance": "correction"}, user="wang")
    assert loads == [1]  # parsed from the database, not the half-moved workflow
    assert service.show(instance)["data"]["acceptance"] == "correction"


def test_a_change_made_by_another_process_is_seen(service, database_url, tmp_path):
    """Another OS process completes a step: this process' cached workflow is stale and is not used."""
    instance = service.start("standard_approval", {"applicant": "zhang"})["instance"]
    accept = only_task(service, instance)
    assert workflow_cache.size() == 1
    env = dict(os.environ, YIMEN_DATABASE_URL=database_url, YIMEN_INSTANCE_PATH=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "complete", accept["id"], "--user", "wang",
                           "--data", json.dumps({"acceptance": "accepted"}), "--json"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    review = only_task(service, instance)
    assert review["element_id"] == "review"
    service.complete(review["id"], {"opinion": "ok"}, user="li")
    assert only_task(service, instance)["element_id"] == "conclude"
    assert "accept" in service.show(instance)["completed_elements"]
    with pytest.raises(InvalidState):
        service.complete(accept["id"], {"acceptance": "accepted"}, user="wang")


def test_two_people_completing_one_task_from_the_cache_one_wins(service):
    """One thread takes the cached workflow, the other parses the state: still exactly one wins."""
    instance = service.start("standard_approval", {"applicant": "zhang"})["instance"]
    task = only_task(service, instance)
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(user):
        barrier.wait()
        try:
            service.complete(task["id"], {"acceptance": "accepted"}, user=user)
            outcomes.append("won")
        except (Conflict, InvalidState):
            outcomes.append("lost")

    threads = [threading.Thread(target=attempt, args=(u,)) for u in ("wang", "chen")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost", "won"]
    assert only_task(service, instance)["element_id"] == "review"
    assert service.verify_audit()["ok"] is True


def test_the_cache_can_be_turned_off(service, loads, monkeypatch):
    monkeypatch.setenv("YIMEN_WORKFLOW_CACHE", "0")
    instance = service.start("standard_approval", {"applicant": "zhang"})["instance"]
    service.complete(only_task(service, instance)["id"], {"acceptance": "accepted"}, user="wang")
    assert workflow_cache.size() == 0 and loads == [1]


def test_the_least_recently_used_instances_go_first(service, loads, monkeypatch):
    monkeypatch.setenv("YIMEN_WORKFLOW_CACHE", "2")
    first, second, third = (service.start("standard_approval", {"applicant": "zhang"})["instance"] for _ in range(3))
    assert workflow_cache.size() == 2 and loads == []
    service.complete(only_task(service, first)["id"], {"acceptance": "accepted"}, user="wang")
    assert loads == [1]  # the first was pushed out by the third
    service.complete(only_task(service, third)["id"], {"acceptance": "accepted"}, user="wang")
    assert loads == [1]
