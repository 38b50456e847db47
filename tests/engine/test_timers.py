"""Timer rows, the timer sweep, the pinned clock, and concurrent sweeps."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from engine import clock

WAIT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="wait" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="one_hour">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="after"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="one_hour"/>
    <bpmn:sequenceFlow id="f2" sourceRef="one_hour" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def pinned_clock(monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", T0.isoformat())
    return T0


def test_yimen_now_pins_the_clock(pinned_clock):
    """YIMEN_NOW decides what time the engine thinks it is."""
    assert clock.now() == T0
    with clock.pinned(T0 + timedelta(days=1)):
        assert clock.now() == T0 + timedelta(days=1)


def test_timer_waits_until_due_and_fires_once(yimen, pinned_clock):
    """A PT1H timer is a row due at start + 1h; sweeping earlier fires nothing, later fires it once."""
    yimen.deploy([("wait.bpmn", WAIT)])
    instance = yimen.start("wait")["instance"]
    assert yimen.tasks(instance=instance) == []
    assert yimen.fire_timers(until=T0 + timedelta(minutes=59)) == {"fired": 0}
    assert yimen.fire_timers(until=T0 + timedelta(hours=1, seconds=1)) == {"fired": 1}
    assert yimen.fire_timers(until=T0 + timedelta(hours=2)) == {"fired": 0}
    assert [t["element_id"] for t in yimen.tasks(instance=instance)] == ["after"]
    assert yimen.show(instance)["completed_elements"] == ["start", "one_hour"]


def test_concurrent_sweeps_fire_each_timer_once(yimen, pinned_clock):
    """Four sweeps racing over 12 due timers fire 12 in total, each instance once."""
    yimen.deploy([("wait.bpmn", WAIT)])
    instances = [yimen.start("wait")["instance"] for _ in range(12)]
    totals: list[int] = []
    barrier = threading.Barrier(4)

    def sweep():
        barrier.wait()
        totals.append(yimen.fire_timers(until=T0 + timedelta(hours=2))["fired"])

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(totals) == 12
    for instance in instances:
        assert yimen.show(instance)["completed_elements"].count("one_hour") == 1
        assert len(yimen.tasks(instance=instance)) == 1
    assert yimen.verify_audit()["ok"]


def test_scheduler_fires_due_timers_in_the_background(yimen, pinned_clock, monkeypatch):
    """The APScheduler job sweeps on its own: once the clock passes the due time, the task opens."""
    import time

    from engine.scheduler import build

    yimen.deploy([("wait.bpmn", WAIT)])
    instance = yimen.start("wait")["instance"]
    monkeypatch.setenv("YIMEN_NOW", (T0 + timedelta(hours=2)).isoformat())
    scheduler = build(yimen.sessions, interval_seconds=0.2)
    scheduler.start()
    try:
        for _ in range(100):
            if yimen.tasks(instance=instance):
                break
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    assert [t["element_id"] for t in yimen.tasks(instance=instance)] == ["after"]


@pytest.mark.postgres
def test_several_scheduler_processes_fire_thousands_of_timers_each_once(database_url, pinned_clock, tmp_path):
    """Four separate OS processes sweep 2,000 due timers on PostgreSQL together: every timer fires exactly once."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    import sqlalchemy as sa

    from engine.service import Yimen

    if not database_url.startswith("postgresql"):
        pytest.skip("several writer processes at once: PostgreSQL")
    count = 2000
    y = Yimen(database_url)
    y.deploy([("wait.bpmn", WAIT)])
    definition_started = [y.start("wait")["instance"] for _ in range(count)]
    assert len(definition_started) == count
    y.close()
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, YIMEN_DATABASE_URL=database_url, YIMEN_INSTANCE_PATH=str(tmp_path))
    until = (T0 + timedelta(hours=2)).isoformat()
    procs = [subprocess.Popen([sys.executable, "-m", "engine.cli", "timers", "fire", "--until", until, "--json"],
                              cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    fired = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err
        fired.append(json.loads(out.strip().splitlines()[-1])["fired"])
    assert sum(fired) == count
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM timer")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM human_task WHERE status = 'open'")).scalar() == count
        per_instance = conn.execute(sa.text(
            "SELECT instance_id, count(*) FROM human_task GROUP BY instance_id HAVING count(*) <> 1")).fetchall()
        assert per_instance == []
    engine.dispose()


WORKDAY_WAIT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="workday_wait" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="two_working_days">
      <bpmn:timerEventDefinition><bpmn:timeDate>${workdays(2)}</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="after" camunda:dueDate="${workdays(1)}"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="two_working_days"/>
    <bpmn:sequenceFlow id="f2" sourceRef="two_working_days" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def test_timers_and_due_dates_in_working_days(yimen, monkeypatch):
    """${workdays(n)}: the end of the n-th working day on the holiday calendar (National Day 2025 here)."""
    monkeypatch.setenv("YIMEN_NOW", "2025-09-30T02:00:00+00:00")  # the eve of the holiday
    yimen.seed_calendar([2025])
    yimen.deploy([("workday_wait.bpmn", WORKDAY_WAIT)])
    instance = yimen.start("workday_wait")["instance"]
    # Oct 1-8 are off: 2 working days after Sep 30 end on Friday Oct 10, 23:59:59.999999 Beijing time.
    due = datetime(2025, 10, 10, 15, 59, 59, 999999, tzinfo=timezone.utc)
    assert yimen.fire_timers(until=due - timedelta(minutes=1))["fired"] == 0
    with clock.pinned(due + timedelta(seconds=1)):
        assert yimen.fire_timers()["fired"] == 1
        (task,) = yimen.tasks(instance=instance)
    # Its due date: one working day after Oct 11 (a make-up Saturday, itself worked) -> Monday Oct 13.
    assert task["due"] == datetime(2025, 10, 13, 15, 59, 59, 999999, tzinfo=timezone.utc).isoformat()


def test_working_day_timer_without_a_calendar_counts_the_year_provisionally(yimen, monkeypatch):
    """No year entered: ${workdays(2)} counts on the statutory holidays (no 调休) and goes on."""
    monkeypatch.setenv("YIMEN_NOW", "2025-09-30T02:00:00+00:00")
    yimen.deploy([("workday_wait.bpmn", WORKDAY_WAIT)])
    instance = yimen.start("workday_wait")["instance"]
    # Oct 1-3 (Wed-Fri, 国庆) and Monday Oct 6 (中秋) are the statutory days off: 2 working days after
    # Sep 30 end on Wednesday Oct 8.
    due = datetime(2025, 10, 8, 15, 59, 59, 999999, tzinfo=timezone.utc)
    assert yimen.fire_timers(until=due - timedelta(minutes=1))["fired"] == 0
    with clock.pinned(due + timedelta(seconds=1)):
        assert yimen.fire_timers()["fired"] == 1
    (task,) = yimen.tasks(instance=instance)
    assert task["due_provisional"] is True