"""Deploying diagrams: versions, identical re-deploys, and refusals that store nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import BpmnInvalid, PermissionDenied, ValidationError
from engine.models import Deployment, ProcessDefinition
from tests.conftest import read

SIMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="work" name="{name}"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def simple(pid="simple", name="Work") -> bytes:
    return SIMPLE.format(pid=pid, name=name).encode()


def _count(yimen, model) -> int:
    with yimen.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_versions_increase_per_key_and_identical_content_reuses_the_version(yimen):
    """v1, identical upload -> still v1, changed upload -> v2; instances keep their version."""
    first = yimen.deploy([("a.bpmn", simple())])["deployed"]
    assert [(d["key"], d["version"]) for d in first] == [("simple", 1)]
    assert yimen.deploy([("a.bpmn", simple())])["deployed"] == first
    old = yimen.start("simple")["instance"]
    second = yimen.deploy([("a.bpmn", simple(name="Changed"))])["deployed"]
    assert second[0]["version"] == 2
    new = yimen.start("simple")["instance"]
    assert (yimen.show(old)["version"], yimen.show(new)["version"]) == (1, 2)
    assert yimen.tasks(instance=new)[0]["name"] == "Changed"
    assert yimen.start("simple", version=1)["instance"] and _count(yimen, Deployment) == 2


def test_malformed_xml_is_refused_with_a_line_and_stores_nothing(yimen):
    """Broken XML: bpmn_invalid naming the file and line; no deployment row."""
    broken = simple().replace(b"</bpmn:process>", b"</bpmn:proces>")
    with pytest.raises(BpmnInvalid) as err:
        yimen.deploy([("broken.bpmn", broken)])
    problem = err.value.problems[0]
    assert problem.file == "broken.bpmn" and problem.line
    assert err.value.code == "bpmn_invalid"
    assert _count(yimen, Deployment) == 0 and _count(yimen, ProcessDefinition) == 0


def test_xxe_and_entity_expansion_are_refused(yimen):
    """DOCTYPE/ENTITY declarations are refused outright (no file is read, nothing expands)."""
    xxe = simple().replace(b'<?xml version="1.0" encoding="UTF-8"?>',
                           b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>')
    lol = simple().replace(b'<?xml version="1.0" encoding="UTF-8"?>',
                           b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>')
    for name, content in (("xxe.bpmn", xxe), ("lol.bpmn", lol)):
        with pytest.raises(BpmnInvalid) as err:
            yimen.deploy([(name, content)])
        assert "entity" in str(err.value).lower() or "doctype" in str(err.value).lower()
    assert _count(yimen, Deployment) == 0


def test_one_bad_file_refuses_the_whole_upload(yimen):
    """Two files, one broken: every problem reported, nothing stored."""
    with pytest.raises(BpmnInvalid) as err:
        yimen.deploy([("good.bpmn", simple("good")), ("bad.bpmn", b"<not-bpmn/>")])
    assert any(p.file == "bad.bpmn" for p in err.value.problems)
    assert _count(yimen, ProcessDefinition) == 0


def test_flow_to_an_unknown_element_is_reported_by_id(yimen):
    """A sequence flow pointing at a missing element is named in the problem list."""
    bad = simple().replace(b'targetRef="end"', b'targetRef="nowhere"')
    with pytest.raises(BpmnInvalid) as err:
        yimen.deploy([("bad.bpmn", bad)])
    assert any(p.element_id == "f2" or "nowhere" in p.reason for p in err.value.problems)


def test_empty_upload_and_duplicate_names_are_invalid_input(yimen):
    """No files, or one name twice, is invalid_input."""
    with pytest.raises(ValidationError):
        yimen.deploy([])
    with pytest.raises(ValidationError):
        yimen.deploy([("a.bpmn", simple()), ("a.bpmn", simple())])


def test_only_admins_and_designers_deploy(yimen):
    """A plain user may not deploy; a member of process-designer may."""
    yimen.add_user("li", groups=["reviewer"])
    yimen.add_user("designer", groups=["process-designer"])
    with pytest.raises(PermissionDenied):
        yimen.deploy([("a.bpmn", simple())], user="li")
    assert yimen.deploy([("a.bpmn", simple())], user="designer")["deployed"][0]["version"] == 1


def test_script_tasks_need_an_administrator(yimen):
    """A script task is refused unless an administrator allows scripts for the deployment."""
    script = simple().replace(b'<bpmn:userTask id="work" name="Work">',
                              b'<bpmn:scriptTask id="work" name="Work"><bpmn:script>x = 1</bpmn:script>'
                              ).replace(b"</bpmn:userTask>", b"</bpmn:scriptTask>")
    with pytest.raises(BpmnInvalid):
        yimen.deploy([("s.bpmn", script)])
    yimen.add_user("designer", groups=["process-designer"])
    with pytest.raises(PermissionDenied):
        yimen.deploy([("s.bpmn", script)], user="designer", allow_scripts=True)
    yimen.deploy([("s.bpmn", script)], allow_scripts=True)
    instance = yimen.start("simple")["instance"]
    assert yimen.show(instance)["data"]["x"] == 1


def test_shipped_standard_approval_deploys_without_warnings(yimen):
    """The diagram Yimen ships is clean."""
    result = yimen.deploy([read("standard_approval.bpmn")])
    assert result["warnings"] == []
