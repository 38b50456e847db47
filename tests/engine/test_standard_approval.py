"""The shipped standard approval (accept -> review -> conclude), every path end to end."""
from __future__ import annotations

import pytest

from engine.errors import InvalidState, PermissionDenied
from tests.conftest import read


@pytest.fixture
def staff(yimen):
    yimen.deploy([read("standard_approval.bpmn")])
    yimen.add_user("wang", groups=["window"])
    yimen.add_user("li", groups=["reviewer"])
    yimen.add_user("zhao", groups=["approver"])
    return yimen


def _only_task(yimen, instance):
    tasks = yimen.tasks(instance=instance)
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_accepted_case_runs_to_conclusion(staff):
    """An accepted application is reviewed, approved and concluded with the outcome recorded."""
    case = staff.start("standard_approval", {"applicant": "zhang"}, business_key="SA-1")["instance"]
    accept = _only_task(staff, case)
    assert (accept["element_id"], accept["candidate_groups"]) == ("accept", ["window"])
    staff.claim(accept["id"], user="wang")
    staff.complete(accept["id"], {"acceptance": "accepted"}, user="wang")
    review = _only_task(staff, case)
    assert review["candidate_groups"] == ["reviewer"]
    staff.complete(review["id"], {"opinion": "ok"}, user="li")
    conclude = _only_task(staff, case)
    staff.complete(conclude["id"], {"approved": True}, user="zhao")
    shown = staff.show(case)
    assert shown["status"] == "completed"
    assert shown["data"]["outcome"] == "approved"
    assert shown["completed_elements"] == [
        "submitted", "accept", "acceptance_decision", "review", "conclude", "materials_check", "record_conclusion",
        "concluded"]


def test_rejected_decision_concludes_not_approved(staff):
    """A negative decision still concludes the case, recording 'not_approved'."""
    case = staff.start("standard_approval", {"applicant": "zhang"})["instance"]
    staff.complete(_only_task(staff, case)["id"], {"acceptance": "accepted"})
    staff.complete(_only_task(staff, case)["id"], {})
    staff.complete(_only_task(staff, case)["id"], {"approved": False})
    assert staff.show(case)["data"]["outcome"] == "not_approved"


def test_not_accepted_case_ends_at_the_window(staff):
    """不予受理 ends the instance at the not-accepted end event without review."""
    case = staff.start("standard_approval", {"applicant": "zhang"})["instance"]
    staff.complete(_only_task(staff, case)["id"], {"acceptance": "not_accepted", "reason": "not competent"},
                   user="wang")
    shown = staff.show(case)
    assert shown["status"] == "completed"
    assert shown["completed_elements"][-1] == "not_accepted"
    assert "review" not in shown["completed_elements"]


def test_correction_goes_to_the_applicant_and_back_to_the_window(staff):
    """补正 assigns a task to the applicant; the resubmission returns to the window."""
    staff.add_user("zhang")
    case = staff.start("standard_approval", {"applicant": "zhang"})["instance"]
    staff.complete(_only_task(staff, case)["id"], {"acceptance": "correction"}, user="wang")
    correction = _only_task(staff, case)
    assert (correction["element_id"], correction["assignee"]) == ("correction", "zhang")
    with pytest.raises(PermissionDenied):
        staff.complete(correction["id"], {}, user="wang")
    staff.complete(correction["id"], {"materials": ["id-card"]}, user="zhang")
    again = _only_task(staff, case)
    assert again["element_id"] == "accept"
    staff.complete(again["id"], {"acceptance": "accepted"}, user="wang")
    assert _only_task(staff, case)["element_id"] == "review"
    assert staff.show(case)["completed_elements"].count("accept") == 2


def test_reviewer_cannot_act_at_the_window(staff):
    """A reviewer is neither assignee nor candidate of the accept step: refused, nothing changes."""
    case = staff.start("standard_approval", {"applicant": "zhang"})["instance"]
    accept = _only_task(staff, case)
    with pytest.raises(PermissionDenied) as err:
        staff.complete(accept["id"], {"acceptance": "accepted"}, user="li")
    assert err.value.code == "permission_denied"
    with pytest.raises(PermissionDenied):
        staff.claim(accept["id"], user="li")
    assert _only_task(staff, case)["id"] == accept["id"]
    assert staff.show(case)["completed_elements"] == ["submitted"]


def test_completed_task_cannot_be_completed_again(staff):
    """Completing a task that is no longer open is invalid_state."""
    case = staff.start("standard_approval", {"applicant": "zhang"})["instance"]
    accept = _only_task(staff, case)
    staff.complete(accept["id"], {"acceptance": "accepted"})
    with pytest.raises(InvalidState) as err:
        staff.complete(accept["id"], {"acceptance": "accepted"})
    assert err.value.code == "invalid_state"
