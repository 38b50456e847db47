"""The shipped parallel approval (并联审批): one acceptance, departments at once, unified delivery."""
from __future__ import annotations

import pytest

from tests.conftest import read

DEPARTMENTS = ["market", "fire", "environment"]


@pytest.fixture
def joint(yimen):
    yimen.deploy([read("parallel_approval.bpmn")])
    yimen.add_user("wang", groups=["window"])
    for dept in DEPARTMENTS:
        yimen.add_user(f"{dept}_officer", groups=[dept])
    return yimen


def start(yimen, policy):
    instance = yimen.start("parallel_approval", {"applicant": "zhang", "departments": DEPARTMENTS,
                                                 "department_rejection": policy})["instance"]
    (accept,) = yimen.tasks(instance=instance)
    yimen.complete(accept["id"], {"acceptance": "accepted"}, user="wang")
    return instance


def reviews(yimen, instance):
    return {t["candidate_groups"][0]: t for t in yimen.tasks(instance=instance)
            if t["element_id"] == "department_review"}


def test_every_department_reviews_at_the_same_time(joint):
    """After one acceptance, each listed department has its own review task, all open together."""
    instance = start(joint, "reject_case")
    assert set(reviews(joint, instance)) == set(DEPARTMENTS)
    assert joint.tasks(user="fire_officer")[0]["candidate_groups"] == ["fire"]
    assert joint.tasks(user="wang") == []


def test_all_approve_then_unified_delivery_concludes(joint):
    """统一出件 happens once, after every department approved."""
    instance = start(joint, "reject_case")
    for dept in DEPARTMENTS:
        joint.complete(reviews(joint, instance)[dept]["id"], {"approved": True, "opinion": "ok"},
                       user=f"{dept}_officer")
    (delivery,) = joint.tasks(instance=instance)
    assert delivery["element_id"] == "unified_delivery"
    joint.complete(delivery["id"], {}, user="wang")
    shown = joint.show(instance)
    assert (shown["status"], shown["data"]["outcome"]) == ("completed", "approved")
    assert {d["for"] for d in shown["data"]["department_review_decisions"]} == set(DEPARTMENTS)


def test_reject_case_policy_stops_at_the_first_rejection(joint):
    """reject_case: one department's rejection cancels the other reviews; the case is not approved."""
    instance = start(joint, "reject_case")
    joint.complete(reviews(joint, instance)["fire"]["id"], {"approved": False, "opinion": "exits blocked"},
                   user="fire_officer")
    assert reviews(joint, instance) == {}
    (delivery,) = joint.tasks(instance=instance)
    joint.complete(delivery["id"], {}, user="wang")
    assert joint.show(instance)["data"]["outcome"] == "not_approved"


def test_conclude_with_rest_policy_lets_everyone_decide(joint):
    """conclude_with_rest: a rejection does not stop the others; the case concludes with the approved parts."""
    instance = start(joint, "conclude_with_rest")
    joint.complete(reviews(joint, instance)["fire"]["id"], {"approved": False, "opinion": "no"}, user="fire_officer")
    assert set(reviews(joint, instance)) == {"market", "environment"}
    for dept in ("market", "environment"):
        joint.complete(reviews(joint, instance)[dept]["id"], {"approved": True, "opinion": "ok"},
                       user=f"{dept}_officer")
    (delivery,) = joint.tasks(instance=instance)
    joint.complete(delivery["id"], {}, user="wang")
    shown = joint.show(instance)
    assert shown["data"]["outcome"] == "approved"
    decisions = {d["for"]: d["approved"] for d in shown["data"]["department_review_decisions"]}
    assert decisions == {"fire": False, "market": True, "environment": True}


def test_department_cannot_act_on_another_departments_review(joint):
    """The fire officer cannot complete the market department's review."""
    from engine.errors import PermissionDenied

    instance = start(joint, "reject_case")
    with pytest.raises(PermissionDenied):
        joint.complete(reviews(joint, instance)["market"]["id"], {"approved": True}, user="fire_officer")
