"""The shipped diagrams deploy cleanly and every path of notify-and-commit and extension runs."""
from __future__ import annotations

import pytest

from tests.conftest import PROCESSES, read


@pytest.mark.parametrize("path", sorted(PROCESSES.glob("*.bpmn")), ids=lambda p: p.name)
def test_every_shipped_diagram_deploys_without_warnings(yimen, path):
    """processes/*.bpmn deploy as they are, with no warnings."""
    result = yimen.deploy([(path.name, path.read_bytes())])
    assert result["warnings"] == [] and result["deployed"]


@pytest.fixture
def commit(yimen):
    yimen.deploy([read("notify_commit.bpmn")])
    yimen.add_user("zhang")
    yimen.add_user("wang", groups=["window"])
    yimen.add_user("sun", groups=["supervision"])
    return yimen


def _start(yimen):
    return yimen.start("notify_commit", {"applicant": "zhang", "verification_days": 30})["instance"]


def _one(yimen, instance):
    (task,) = yimen.tasks(instance=instance)
    return task


def test_commitment_decision_then_verification_true(commit):
    """告知承诺: commit, decide at once, verification due in 30 days, verified -> concluded."""
    instance = _start(commit)
    sign = _one(commit, instance)
    assert (sign["element_id"], sign["assignee"]) == ("commitment", "zhang")
    commit.complete(sign["id"], {"committed": True}, user="zhang")
    commit.complete(_one(commit, instance)["id"], {"approved": True}, user="wang")
    verify = _one(commit, instance)
    assert verify["element_id"] == "verification"  # its working-day limit runs for cases: test_case_clock
    assert commit.show(instance)["data"]["outcome"] == "approved"
    commit.complete(verify["id"], {"commitment_true": True}, user="sun")
    assert commit.show(instance)["completed_elements"][-1] == "verified"


def test_false_commitment_ends_revoked(commit):
    """A verification finding the commitment false ends at the revoked end event."""
    instance = _start(commit)
    commit.complete(_one(commit, instance)["id"], {"committed": True}, user="zhang")
    commit.complete(_one(commit, instance)["id"], {"approved": True}, user="wang")
    commit.complete(_one(commit, instance)["id"], {"commitment_true": False}, user="sun")
    assert commit.show(instance)["completed_elements"][-1] == "revoked"


def test_no_commitment_ends_without_decision(commit):
    """An applicant who does not commit ends the case without a decision."""
    instance = _start(commit)
    commit.complete(_one(commit, instance)["id"], {"committed": False}, user="zhang")
    shown = commit.show(instance)
    assert shown["completed_elements"][-1] == "not_committed" and "decide_on_the_spot" not in shown["completed_elements"]


@pytest.mark.parametrize("approved, end", [(True, "granted"), (False, "refused")])
def test_extension_needs_the_head_of_office(yimen, approved, end):
    """延期: only the office head's approval grants the extension."""
    from engine.errors import PermissionDenied

    yimen.deploy([read("extension.bpmn")])
    yimen.add_user("head", groups=["office-head"])
    yimen.add_user("li", groups=["reviewer"])
    instance = yimen.start("extension", {"reason": "需要现场核查", "days": 10})["instance"]
    task = _one(yimen, instance)
    with pytest.raises(PermissionDenied):
        yimen.complete(task["id"], {"approved": True}, user="li")
    yimen.complete(task["id"], {"approved": approved}, user="head")
    assert yimen.show(instance)["completed_elements"][-1] == end
