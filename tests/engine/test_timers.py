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
