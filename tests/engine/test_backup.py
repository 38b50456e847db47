"""AB角: a person's backup takes their steps while they are away (不在岗)."""
import pytest

from engine.errors import NotFound, PermissionDenied, ValidationError
from engine.models import AuditEvent, User
from engine.service import Yimen

ASSIGNED = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="assigned" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review" />
    <bpmn:userTask id="review" name="review" camunda:assignee="li" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="check" />
    <bpmn:userTask id="check" name="check" camunda:candidateUsers="li" />
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="e" />
    <bpmn:endEvent id="e" />
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def yimen(database_url):
    y = Yimen(database_url)
    y.save_department("SJ", "市场监管局", "city")
    y.add_user("li", groups=["reviewer"], roles=["reviewer"], department="SJ", display_name="李审查")
    y.add_user("li2", groups=["reviewer"], roles=["reviewer"], department="SJ", display_name="李二")
    y.add_user("zhang", groups=[], roles=["applicant"])
    y.deploy([("assigned.bpmn", ASSIGNED)])
    yield y
    y.close()


def test_a_person_away_hands_open_steps_to_the_backup_and_new_steps_open_for_the_backup(yimen):
    """Marking li away moves li's open step to li2; the next step assigned to li opens for li2."""
    first = yimen.start("assigned")["instance"]
    (step,) = yimen.tasks(instance=first)
    assert step["assignee"] == "li"
    result = yimen.set_backup("li", "li2", absent=True)
    assert result["moved"] == [step["id"]] and result["kept"] == []
    (step,) = yimen.tasks(instance=first)
    assert step["assignee"] == "li2"
    assert [t["id"] for t in yimen.tasks(user="li2")] == [step["id"]]
    assert yimen.tasks(user="li") == []
    second = yimen.start("assigned")["instance"]
    (new,) = yimen.tasks(instance=second)
    assert new["assignee"] == "li2"
    yimen.complete(new["id"], {}, user="li2")
    (check,) = yimen.tasks(instance=second)
    assert check["candidate_users"] == ["li", "li2"]  # a candidate away: the backup joins the candidates
    assert check["id"] in [t["id"] for t in yimen.tasks(user="li2")]
    shown = yimen.user("li")
    assert (shown["backup"], shown["absent"]) == ("li2", True)
    with yimen.session() as s:
        event = s.query(AuditEvent).filter(AuditEvent.action == "user.backup").one()
        assert event.data["moved"] == [step["id"]] and event.actor == "admin"


def test_back_at_work_new_steps_go_to_the_person_again(yimen):
    yimen.set_backup("li", "li2", absent=True)
    yimen.set_backup("li", "li2", absent=False)
    instance = yimen.start("assigned")["instance"]
    (step,) = yimen.tasks(instance=instance)
    assert step["assignee"] == "li"
    assert yimen.user("li")["backup"] == "li2" and not yimen.user("li")["absent"]


@pytest.mark.parametrize("backup, absent, error", [
    ("li", False, ValidationError),  # one's own backup
    ("nobody", False, NotFound),
    ("zhang", False, ValidationError),  # not staff
    (None, True, ValidationError),  # away without a backup
])
def test_a_bad_backup_is_refused_and_nothing_changes(yimen, backup, absent, error):
    instance = yimen.start("assigned")["instance"]
    with pytest.raises(error):
        yimen.set_backup("li", backup, absent=absent)
    with yimen.session() as s:
        user = s.get(User, "li")
        assert (user.backup_user_id, user.absent) == (None, False)
    assert yimen.tasks(instance=instance)[0]["assignee"] == "li"


def test_only_administrators_set_a_backup(yimen):
    with pytest.raises(PermissionDenied):
        yimen.set_backup("li", "li2", absent=True, user="li2")
    assert yimen.user("li")["backup"] is None


def test_a_backup_who_is_away_too_is_refused(yimen):
    yimen.set_backup("li2", "li", absent=True)
    with pytest.raises(ValidationError, match="away too"):
        yimen.set_backup("li", "li2", absent=True)
