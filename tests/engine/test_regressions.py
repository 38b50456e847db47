"""Behaviour found broken while documenting the engine, pinned so it stays fixed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.errors import BpmnInvalid

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
"""


def diagram(body: str) -> bytes:
    return (HEAD + body + "\n</bpmn:definitions>\n").encode()


ADHOC = diagram("""<bpmn:process id="adhoc" isExecutable="true">
  <bpmn:startEvent id="s"/><bpmn:adHocSubProcess id="a"><bpmn:task id="t"/>
  <bpmn:completionCondition>__import__('os').system('true')</bpmn:completionCondition></bpmn:adHocSubProcess>
  <bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/><bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="e"/>
</bpmn:process>""")

CORRELATION = diagram("""<bpmn:message id="m" name="m"/>
<bpmn:correlationProperty id="cp" name="cp">
  <bpmn:correlationPropertyRetrievalExpression messageRef="m">
    <bpmn:messagePath>__import__('os').system('true')</bpmn:messagePath>
  </bpmn:correlationPropertyRetrievalExpression>
</bpmn:correlationProperty>
<bpmn:process id="corr" isExecutable="true">
  <bpmn:startEvent id="s"/><bpmn:userTask id="t"/><bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
</bpmn:process>""")


@pytest.mark.parametrize("content", [ADHOC, CORRELATION], ids=["ad-hoc", "correlation"])
def test_constructs_spiffworkflow_would_eval_are_refused(yimen, content):
    """Ad hoc subprocesses and correlation properties would bypass the restricted evaluator: refused."""
    with pytest.raises(BpmnInvalid) as err:
        yimen.deploy([("x.bpmn", content)])
    assert "not supported" in str(err.value)


def _mi(mode: str, sequential: bool = False) -> bytes:
    return diagram(f"""<bpmn:process id="mi" isExecutable="true">
  <bpmn:startEvent id="s"/>
  <bpmn:userTask id="sign" camunda:assignee="${{signer}}">
    <bpmn:extensionElements><camunda:properties>
      <camunda:property name="yimen.approvalMode" value="{mode}"/></camunda:properties></bpmn:extensionElements>
    <bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}"
        camunda:collection="${{signers}}" camunda:elementVariable="signer"/>
  </bpmn:userTask>
  <bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sign"/><bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="e"/>
</bpmn:process>""")


@pytest.mark.parametrize("mode", ["majority", "ratio:150%", "ratio"])
def test_unknown_or_broken_approval_modes_are_refused_at_deploy(yimen, mode):
    """A mode Yimen does not know, or a ratio outside (0, 1], is a deploy-time problem."""
    with pytest.raises(BpmnInvalid):
        yimen.deploy([("mi.bpmn", _mi(mode))])


def test_sequential_mode_records_every_decision(yimen):
    """依次 with everyone approving records each signer and the overall outcome."""
    yimen.deploy([("mi.bpmn", _mi("sequential", sequential=True))])
    instance = yimen.start("mi", {"signers": ["a", "b"]})["instance"]
    for _ in range(2):
        (task,) = yimen.tasks(instance=instance)
        yimen.complete(task["id"], {"approved": True})
    data = yimen.show(instance)["data"]
    assert [d["for"] for d in data["sign_decisions"]] == ["a", "b"] and data["sign_approved"] is True


LOOP = diagram("""<bpmn:process id="loop" isExecutable="true">
  <bpmn:startEvent id="s"/>
  <bpmn:userTask id="work"><bpmn:standardLoopCharacteristics>
    <bpmn:loopCondition>${done != true}</bpmn:loopCondition></bpmn:standardLoopCharacteristics></bpmn:userTask>
  <bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="work"/><bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
</bpmn:process>""")


def test_standard_loop_finishes_after_a_storage_round_trip(yimen):
    """A standard loop completed in a later command (fresh spec) loops and then ends."""
    yimen.deploy([("loop.bpmn", LOOP)])
    instance = yimen.start("loop", {"done": False})["instance"]
    (task,) = yimen.tasks(instance=instance)
    yimen.complete(task["id"], {"done": False})
    (task,) = yimen.tasks(instance=instance)
    yimen.complete(task["id"], {"done": True})
    assert yimen.show(instance)["status"] == "completed"


PAIR = diagram("""<bpmn:message id="Msg_go" name="go"/>
<bpmn:process id="sender" isExecutable="true">
  <bpmn:startEvent id="s"/><bpmn:userTask id="prepare"/>
  <bpmn:intermediateThrowEvent id="send"><bpmn:messageEventDefinition messageRef="Msg_go"/></bpmn:intermediateThrowEvent>
  <bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="prepare"/>
  <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="send"/>
  <bpmn:sequenceFlow id="f3" sourceRef="send" targetRef="e"/>
</bpmn:process>
<bpmn:process id="receiver" isExecutable="true">
  <bpmn:startEvent id="rs"/>
  <bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="Msg_go"/></bpmn:intermediateCatchEvent>
  <bpmn:userTask id="after"/><bpmn:endEvent id="re"/>
  <bpmn:sequenceFlow id="g1" sourceRef="rs" targetRef="wait"/>
  <bpmn:sequenceFlow id="g2" sourceRef="wait" targetRef="after"/>
  <bpmn:sequenceFlow id="g3" sourceRef="after" targetRef="re"/>
</bpmn:process>""")


def test_message_thrown_while_completing_a_task_reaches_the_other_instance(yimen):
    """A throw event reached by a task completion is delivered to the instance with the same business key."""
    yimen.deploy([("pair.bpmn", PAIR)])
    other = yimen.start("receiver", business_key="BK-2")["instance"]
    receiver = yimen.start("receiver", business_key="BK-1")["instance"]
    sender = yimen.start("sender", business_key="BK-1")["instance"]
    (task,) = yimen.tasks(instance=sender)
    yimen.complete(task["id"], {"note": "go"})
    assert [t["element_id"] for t in yimen.tasks(instance=receiver)] == ["after"]
    assert yimen.tasks(instance=other) == []


PLAIN = diagram("""<bpmn:process id="plain" isExecutable="true">
  <bpmn:startEvent id="s"/><bpmn:task id="note"/><bpmn:userTask id="work"/><bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="note"/><bpmn:sequenceFlow id="f2" sourceRef="note" targetRef="work"/>
  <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="e"/>
</bpmn:process>""")


def test_plain_task_passes_through(yimen):
    """A bpmn:task is not a human task: the instance moves straight on to the next step."""
    yimen.deploy([("plain.bpmn", PLAIN)])
    instance = yimen.start("plain")["instance"]
    assert [t["element_id"] for t in yimen.tasks(instance=instance)] == ["work"]


TIMED = diagram("""<bpmn:process id="timed" isExecutable="true">
  <bpmn:startEvent id="s"/>
  <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>
    <bpmn:timeDuration>${wait}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
  <bpmn:userTask id="after" camunda:assignee="${owner}"/><bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/><bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after"/>
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/>
</bpmn:process>""")


def test_a_broken_instance_does_not_block_other_timers(yimen, monkeypatch):
    """The first due timer fails (its next step names a missing variable); later timers still fire."""
    t0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    monkeypatch.setenv("YIMEN_NOW", t0.isoformat())
    yimen.deploy([("timed.bpmn", TIMED)])
    broken = yimen.start("timed", {"wait": "PT1H"})["instance"]
    fine = yimen.start("timed", {"wait": "PT2H", "owner": "li"})["instance"]
    result = yimen.fire_timers(until=t0 + timedelta(hours=3))
    assert result["fired"] == 1 and result["errors"][0]["details"]["instance_id"] == broken
    assert [t["assignee"] for t in yimen.tasks(instance=fine)] == ["li"]


EVENT_SUB = diagram("""<bpmn:message id="m" name="stop"/>
<bpmn:process id="evsub" isExecutable="true">
  <bpmn:startEvent id="s"/><bpmn:userTask id="t"/><bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  <bpmn:subProcess id="on_stop" triggeredByEvent="true">
    <bpmn:startEvent id="ss"><bpmn:messageEventDefinition messageRef="m"/></bpmn:startEvent>
    <bpmn:endEvent id="se"/><bpmn:sequenceFlow id="g1" sourceRef="ss" targetRef="se"/>
  </bpmn:subProcess>
</bpmn:process>""")


def test_event_subprocess_is_deployed_and_its_message_ends_the_instance(yimen):
    """Event subprocesses were once refused (SpiffWorkflow 3.2 ran them wrongly); now the message interrupts."""
    yimen.deploy([("evsub.bpmn", EVENT_SUB)])
    instance = yimen.start("evsub")["instance"]
    assert yimen.message("stop", instance=instance) == {"delivered": [instance]}
    shown = yimen.show(instance)
    assert (shown["status"], shown["open_tasks"]) == ("completed", [])
    assert shown["completed_elements"] == ["s", "ss", "se"]


def test_same_element_ids_in_two_diagrams_of_one_upload_keep_their_own_metadata(yimen):
    """Element ids are unique per file only: 'step' of each process keeps its own name, group and properties."""
    def one(pid, name, group, limit):
        return diagram(f"""<bpmn:process id="{pid}" isExecutable="true">
  <bpmn:startEvent id="s"/><bpmn:userTask id="step" name="{name}" camunda:candidateGroups="{group}">
    <bpmn:extensionElements><camunda:properties><camunda:property name="yimen.limitDays" value="{limit}"/>
    </camunda:properties></bpmn:extensionElements></bpmn:userTask><bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="step"/><bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="e"/>
</bpmn:process>""")
    yimen.deploy([("a.bpmn", one("first", "First", "g1", "3")), ("b.bpmn", one("second", "Second", "g2", "7"))])
    for key, name, group in (("first", "First", "g1"), ("second", "Second", "g2")):
        instance = yimen.start(key)["instance"]
        (task,) = yimen.tasks(instance=instance)
        assert (task["name"], task["candidate_groups"]) == (name, [group])
    with yimen.session() as s:
        from engine.models import ProcessDefinition

        limits = {d.key: d.element_meta["step"]["properties"]["yimen.limitDays"] for d in s.query(ProcessDefinition)}
    assert limits == {"first": "3", "second": "7"}
