"""Approval verbs on the engine: transfer, delegate, return, withdraw, signers and approval modes."""
from __future__ import annotations

import pytest

from engine.errors import InvalidState, NotFound, PermissionDenied, ValidationError
from tests.conftest import read

COUNTERSIGN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="countersign" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="prepare" camunda:candidateGroups="window"/>
    <bpmn:userTask id="sign" name="会签 Countersign" camunda:assignee="${{signer}}">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="yimen.approvalMode" value="{mode}"/>
      </camunda:properties></bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics isSequential="{sequential}"
          camunda:collection="${{signers}}" camunda:elementVariable="signer"/>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="outcome" default="f_no"/>
    <bpmn:endEvent id="approved_end"/>
    <bpmn:endEvent id="rejected_end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare"/>
    <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="sign"/>
    <bpmn:sequenceFlow id="f3" sourceRef="sign" targetRef="outcome"/>
    <bpmn:sequenceFlow id="f_yes" sourceRef="outcome" targetRef="approved_end">
      <bpmn:conditionExpression>${{approved}}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="outcome" targetRef="rejected_end"/>
  </bpmn:process>
</bpmn:definitions>
"""

SIGNERS = ["a", "b", "c"]


def countersign(yimen, mode="all", sequential=False, signers=SIGNERS):
    xml = COUNTERSIGN.format(mode=mode, sequential="true" if sequential else "false").encode()
    yimen.deploy([("countersign.bpmn", xml)])
    for user in ("a", "b", "c", "d", "w"):  # signers are staff: only staff may be given a step (加签)
        yimen.add_user(user, groups=["window"] if user == "w" else [], roles=["window" if user == "w" else "reviewer"])
    instance = yimen.start("countersign", {"signers": list(signers)})["instance"]
    prepare = yimen.tasks(instance=instance)[0]
    yimen.complete(prepare["id"], {}, user="w")
    return instance


def open_signers(yimen, instance):
    return {t["assignee"]: t for t in yimen.tasks(instance=instance) if t["element_id"] == "sign"}


def end_of(yimen, instance):
    shown = yimen.show(instance)
    return shown["status"], shown["completed_elements"][-1]


@pytest.mark.parametrize("decisions, outcome", [
    ({"a": True, "b": True, "c": True}, "approved_end"),
    ({"a": True, "b": False}, "rejected_end"),
])
def test_countersign_needs_every_signer(yimen, decisions, outcome):
    """会签: all must approve; the first rejection decides at once and cancels the rest."""
    instance = countersign(yimen, "all")
    assert set(open_signers(yimen, instance)) == set(SIGNERS)
    for user, approved in decisions.items():
        yimen.complete(open_signers(yimen, instance)[user]["id"], {"approved": approved}, user=user)
    assert end_of(yimen, instance) == ("completed", outcome)


def test_any_one_decision_ends_the_step(yimen):
    """或签: the first decision ends the step and cancels the others."""
    instance = countersign(yimen, "any")
    yimen.complete(open_signers(yimen, instance)["b"]["id"], {"approved": True}, user="b")
    assert open_signers(yimen, instance) == {}
    assert end_of(yimen, instance) == ("completed", "approved_end")


def test_ratio_mode_approves_once_the_share_is_reached(yimen):
    """ratio:2/3 — two approvals out of three decide; the third signer's task is cancelled."""
    instance = countersign(yimen, "ratio:2/3")
    yimen.complete(open_signers(yimen, instance)["a"]["id"], {"approved": True}, user="a")
    assert len(open_signers(yimen, instance)) == 2
    yimen.complete(open_signers(yimen, instance)["c"]["id"], {"approved": True}, user="c")
    assert end_of(yimen, instance) == ("completed", "approved_end")


def test_sequential_signers_act_in_order(yimen):
    """依次: one signer at a time, in the listed order."""
    instance = countersign(yimen, "sequential", sequential=True)
    for user in SIGNERS:
        assert list(open_signers(yimen, instance)) == [user]
        yimen.complete(open_signers(yimen, instance)[user]["id"], {"approved": True}, user=user)
    assert end_of(yimen, instance) == ("completed", "approved_end")


def test_approval_step_requires_a_decision(yimen):
    """Completing a countersign task without approved=true/false is invalid_input."""
    instance = countersign(yimen, "all")
    with pytest.raises(ValidationError):
        yimen.complete(open_signers(yimen, instance)["a"]["id"], {}, user="a")


def test_add_signer_to_parallel_countersign(yimen):
    """加签 on a parallel countersign gives the new signer a task; all four must then approve."""
    instance = countersign(yimen, "all")
    yimen.add_signer(open_signers(yimen, instance)["a"]["id"], "d", user="a")
    assert set(open_signers(yimen, instance)) == {"a", "b", "c", "d"}
    with pytest.raises(InvalidState):
        yimen.add_signer(open_signers(yimen, instance)["a"]["id"], "d", user="a")
    for user in ("a", "b", "c"):
        yimen.complete(open_signers(yimen, instance)[user]["id"], {"approved": True}, user=user)
    assert yimen.show(instance)["status"] == "running"
    yimen.complete(open_signers(yimen, instance)["d"]["id"], {"approved": True}, user="d")
    assert end_of(yimen, instance) == ("completed", "approved_end")


def test_add_signer_before_the_current_sequential_signer(yimen):
    """前加签: the new signer acts first, then the current signer gets the step back."""
    instance = countersign(yimen, "sequential", sequential=True, signers=["a", "b"])
    yimen.add_signer(open_signers(yimen, instance)["a"]["id"], "d", position="before", user="a")
    order = []
    while open_signers(yimen, instance):
        (user, task), = open_signers(yimen, instance).items()
        order.append(user)
        yimen.complete(task["id"], {"approved": True}, user=user)
    assert order == ["d", "a", "b"]


def test_remove_signer_lets_the_step_finish_without_them(yimen):
    """减签 cancels a signer's open task; the step completes when the others approve."""
    instance = countersign(yimen, "all")
    yimen.remove_signer(open_signers(yimen, instance)["a"]["id"], "c", user="a")
    assert set(open_signers(yimen, instance)) == {"a", "b"}
    for user in ("a", "b"):
        yimen.complete(open_signers(yimen, instance)[user]["id"], {"approved": True}, user=user)
    assert end_of(yimen, instance) == ("completed", "approved_end")


def test_signers_cannot_change_on_a_single_person_step(yimen):
    """加签 on a step that is not multi-person is invalid_state."""
    yimen.deploy([read("standard_approval.bpmn")])
    yimen.add_user("d")
    instance = yimen.start("standard_approval", {"applicant": "z"})["instance"]
    task = yimen.tasks(instance=instance)[0]
    with pytest.raises(InvalidState):
        yimen.add_signer(task["id"], "d")


@pytest.fixture
def standard(yimen):
    yimen.deploy([read("standard_approval.bpmn")])
    for user, group in (("wang", "window"), ("li", "reviewer"), ("liu", "reviewer"), ("zhao", "approver")):
        yimen.add_user(user, groups=[group], roles=["window" if group == "window" else "reviewer"])
    instance = yimen.start("standard_approval", {"applicant": "zhang"})["instance"]
    return yimen, instance


def _task(yimen, instance):
    (task,) = yimen.tasks(instance=instance)
    return task


def test_transfer_hands_the_task_to_another_user(standard):
    """转办: the new assignee can complete; the old one cannot; unknown users are not_found."""
    yimen, instance = standard
    accept = _task(yimen, instance)
    yimen.complete(accept["id"], {"acceptance": "accepted"}, user="wang")
    review = _task(yimen, instance)
    yimen.claim(review["id"], user="li")
    with pytest.raises(NotFound):
        yimen.transfer(review["id"], "ghost", user="li")
    with pytest.raises(PermissionDenied):
        yimen.transfer(review["id"], "liu", user="wang")
    yimen.transfer(review["id"], "liu", reason="on leave", user="li")
    with pytest.raises(PermissionDenied):
        yimen.complete(review["id"], {}, user="li")
    yimen.complete(review["id"], {}, user="liu")
    assert _task(yimen, instance)["element_id"] == "conclude"


def test_delegate_returns_the_task_to_its_owner(standard):
    """委派: the delegate's completion goes back to the owner, who completes the step."""
    yimen, instance = standard
    yimen.complete(_task(yimen, instance)["id"], {"acceptance": "accepted"}, user="wang")
    review = _task(yimen, instance)
    with pytest.raises(InvalidState):
        yimen.delegate(review["id"], "liu", user="li")  # must claim first
    yimen.claim(review["id"], user="li")
    yimen.delegate(review["id"], "liu", user="li")
    assert _task(yimen, instance)["assignee"] == "liu"
    with pytest.raises(PermissionDenied):
        yimen.complete(review["id"], {}, user="li")
    result = yimen.complete(review["id"], {"draft_opinion": "looks fine"}, user="liu")
    assert result["returned_to"] == "li"
    back = _task(yimen, instance)
    assert (back["id"], back["element_id"], back["assignee"]) == (review["id"], "review", "li")
    yimen.complete(review["id"], {"opinion": "agree"}, user="li")
    assert yimen.show(instance)["data"]["draft_opinion"] == "looks fine"


def test_return_to_an_earlier_step_opens_it_again(standard):
    """退回 from conclude to review: review opens as a new task; the reason is required."""
    yimen, instance = standard
    yimen.complete(_task(yimen, instance)["id"], {"acceptance": "accepted"}, user="wang")
    yimen.complete(_task(yimen, instance)["id"], {}, user="li")
    conclude = _task(yimen, instance)
    with pytest.raises(ValidationError):
        yimen.return_to(conclude["id"], "review", reason="", user="zhao")
    with pytest.raises(NotFound):
        yimen.return_to(conclude["id"], "no_such_step", reason="x", user="zhao")
    result = yimen.return_to(conclude["id"], "review", reason="材料不全 incomplete", user="zhao")
    again = _task(yimen, instance)
    assert again["element_id"] == "review" and again["id"] == result["new_task"] != conclude["id"]
    with pytest.raises(InvalidState):
        yimen.complete(conclude["id"], {"approved": True}, user="zhao")
    yimen.complete(again["id"], {}, user="li")
    assert _task(yimen, instance)["element_id"] == "conclude"


def test_return_to_a_step_never_reached_is_refused(standard):
    """Returning from review to conclude (not passed yet) is invalid_state and changes nothing."""
    yimen, instance = standard
    yimen.complete(_task(yimen, instance)["id"], {"acceptance": "accepted"}, user="wang")
    review = _task(yimen, instance)
    with pytest.raises(InvalidState):
        yimen.return_to(review["id"], "conclude", reason="x", user="li")
    assert _task(yimen, instance)["id"] == review["id"]


def test_withdraw_before_the_next_step_is_acted_on(standard):
    """撤回: the reviewer takes back their completion; the next step's task is cancelled."""
    yimen, instance = standard
    yimen.complete(_task(yimen, instance)["id"], {"acceptance": "accepted"}, user="wang")
    review = _task(yimen, instance)
    yimen.complete(review["id"], {}, user="li")
    with pytest.raises(PermissionDenied):
        yimen.withdraw(review["id"], user="liu")
    result = yimen.withdraw(review["id"], user="li")
    again = _task(yimen, instance)
    assert (again["element_id"], again["assignee"], again["id"]) == ("review", "li", result["new_task"])


def test_withdraw_after_the_next_person_acted_is_refused(standard):
    """Once the approver claimed the next step, the reviewer can no longer withdraw."""
    yimen, instance = standard
    yimen.complete(_task(yimen, instance)["id"], {"acceptance": "accepted"}, user="wang")
    review = _task(yimen, instance)
    yimen.complete(review["id"], {}, user="li")
    yimen.claim(_task(yimen, instance)["id"], user="zhao")
    with pytest.raises(InvalidState):
        yimen.withdraw(review["id"], user="li")
    assert _task(yimen, instance)["element_id"] == "conclude"


def test_urge_notifies_everyone_holding_the_case(standard):
    """催办 sends an in-app notice to the candidates of the open step (the window group)."""
    yimen, instance = standard
    yimen.add_user("chen", groups=["window"])
    result = yimen.urge(instance, "请今天办理")
    assert set(result["urged"]) == {"wang", "chen"}
    assert yimen.notifications("wang")[0]["body"] == "请今天办理"
    assert yimen.notifications("li") == []


def test_urge_by_an_outsider_is_refused_and_sends_nothing(standard):
    """A reviewer who does not hold the case cannot urge it; no notice is written."""
    yimen, instance = standard
    with pytest.raises(PermissionDenied):
        yimen.urge(instance, "hurry", user="li")
    assert yimen.notifications("wang") == []


def test_carbon_copy_gives_a_notice_once(standard):
    """抄送 by the current handler notifies the copied user once; unknown users are not_found."""
    yimen, instance = standard
    with pytest.raises(NotFound):
        yimen.carbon_copy(instance, ["ghost"], user="wang")
    assert yimen.carbon_copy(instance, ["zhao"], note="FYI", user="wang")["copied_to"] == ["zhao"]
    assert yimen.carbon_copy(instance, ["zhao"], user="wang")["copied_to"] == []
    assert [n["body"] for n in yimen.notifications("zhao")] == ["FYI"]
    with pytest.raises(PermissionDenied):
        yimen.carbon_copy(instance, ["liu"], user="li")
