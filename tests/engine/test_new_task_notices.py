"""Issue 15: staff are told of new steps in their own hands (an assignee, a named candidate) in-app; a step for
a group waits in the group's inbox without a message to every member."""
from __future__ import annotations

DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="told" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="queue" name="Queue" camunda:candidateGroups="team"/>
    <bpmn:userTask id="mine" name="Mine" camunda:assignee="${reviewer}"/>
    <bpmn:userTask id="named" name="Named" camunda:candidateUsers="c,d"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="queue"/>
    <bpmn:sequenceFlow id="f2" sourceRef="queue" targetRef="mine"/>
    <bpmn:sequenceFlow id="f3" sourceRef="mine" targetRef="named"/>
    <bpmn:sequenceFlow id="f4" sourceRef="named" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _told(y, user):
    return [n for n in y.notifications(user) if n["subject"].startswith("新待办")]


def test_new_steps_in_someones_hands_are_told_group_steps_wait_in_the_inbox(yimen):
    y = yimen
    y.deploy([("told.bpmn", DIAGRAM)])
    for user in ("a", "b", "c", "d"):
        y.add_user(user, groups=["team"], roles=["reviewer"])
    instance = y.start("told", {"reviewer": "b"}, business_key="SJ-20260302-00001")["instance"]
    assert all(_told(y, u) == [] for u in ("a", "b", "c", "d"))  # the group's step: in the inbox only
    (queue,) = y.tasks(instance=instance)
    y.complete(queue["id"], user="a")
    (note,) = _told(y, "b")
    assert "Mine" in note["subject"] and "SJ-20260302-00001" in note["body"] and note["instance"] == instance
    assert _told(y, "a") == []
    (mine,) = y.tasks(instance=instance)
    y.complete(mine["id"], user="b")
    assert len(_told(y, "c")) == len(_told(y, "d")) == 1 and len(_told(y, "b")) == 1
