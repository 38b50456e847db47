"""engine.bpmn.prepare: the whole pre-SpiffWorkflow pipeline for one upload."""
from __future__ import annotations

import pytest
from lxml import etree

from engine.bpmn.dialects import BPMN
from engine.bpmn.prepare import PreparedFile, prepare
from engine.errors import BpmnInvalid

from .spiff_helpers import complete, read, ready_names, workflow


def refused(files, **kwargs):
    with pytest.raises(BpmnInvalid) as info:
        prepare(files, **kwargs)
    return info.value.problems


def test_prepared_file_carries_everything():
    """Each file comes back with kind, normalized tree and bytes, warnings, metadata, processes and lines."""
    [pf] = prepare(read("flow_without_id.bpmn"))
    assert isinstance(pf, PreparedFile)
    assert pf.filename == "flow_without_id.bpmn" and pf.kind == "bpmn"
    assert pf.xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert etree.tostring(etree.fromstring(pf.xml)) == etree.tostring(pf.tree.getroot())
    assert b"Flow_auto_start_review" in pf.xml
    assert len(pf.warnings) == 4
    assert set(pf.metadata) >= {"start", "review", "end"}
    assert pf.processes["no_flow_ids"]["executable"] is True
    assert pf.lines["review"] == 5


def test_errors_of_all_files_are_raised_together():
    """Malformed XML, an XXE attempt and a broken diagram are all reported in one BpmnInvalid."""
    problems = refused(read("malformed.bpmn", "xxe.bpmn", "errors.bpmn", "approval_camunda.bpmn"))
    files = {p.file for p in problems}
    assert files == {"malformed.bpmn", "xxe.bpmn", "errors.bpmn"}
    assert next(p for p in problems if p.file == "malformed.bpmn").line == 5
    assert len([p for p in problems if p.file == "errors.bpmn"]) >= 9


def test_oversize_upload_is_refused():
    """The size limit applies to every file."""
    problems = refused(read("approval_camunda.bpmn"), max_bytes=1000)
    assert "limit is 1000 bytes" in problems[0].reason


def test_bpmn_with_its_decision_runs():
    """A decision task and its DMN file prepare together and run."""
    files = prepare(read("brt_flowable.bpmn", "decision.dmn"))
    assert [f.kind for f in files] == ["bpmn", "dmn"]
    assert files[1].xml.startswith(b"<?xml") and b"fee_decision" in files[1].xml
    wf = workflow(files, "fee_flowable", amount=10)
    assert ready_names(wf) == ["pay"]


def test_missing_decision_is_an_error():
    """A decision task whose decision is not uploaded is refused with its line."""
    problems = refused(read("brt_flowable.bpmn"))
    assert [p.element_id for p in problems] == ["decide_fee", "decide_fee_again"]
    assert "'fee_decision', which is not in any DMN file" in problems[0].reason


def test_dmn_with_two_decisions_reports_the_one_that_is_wrong():
    """A DMN file may hold several decisions (engine.bpmn.dmn); a problem names the decision it is in."""
    dmn = read("decision.dmn")[0][1].replace(b"</definitions>",
                                              b'<decision id="other"><decisionTable id="t2"/></decision></definitions>')
    problems = refused([("two.dmn", dmn)])
    assert [(p.element_id, p.reason) for p in problems] == [
        ("other", "decision 'other': the decision table has no output")]


def test_error_defined_in_another_file_is_not_redefined():
    """An errorRef resolved by another uploaded file is left to that file's definition."""
    thrower = read("error_ref.bpmn")[0]
    errors_file = ("errors_catalogue.bpmn",
                   f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="C"><bpmn:error id="DocsMissing" errorCode="E-17"/>'
                   f'</bpmn:definitions>'.encode())
    files = prepare([thrower, errors_file])
    assert files[0].tree.getroot().findall(f"{{{BPMN}}}error") == []
    assert [w.reason.split(" ")[0] for w in files[0].warnings] == ["escalation"]
    wf = workflow(files, "documents")
    assert ready_names(wf) == ["fix_docs"]
    complete(wf, "fix_docs")
    assert wf.is_completed()


def test_call_activity_needs_its_process_in_the_upload():
    """Calling a process that is not uploaded is refused; uploading it too is fine."""
    caller = ("caller.bpmn", f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="D"><bpmn:process id="caller" '
                             f'isExecutable="true"><bpmn:startEvent id="s"/><bpmn:callActivity id="call" '
                             f'calledElement="approval_camunda"/><bpmn:endEvent id="e"/>'
                             f'<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call"/>'
                             f'<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="e"/>'
                             f'</bpmn:process></bpmn:definitions>'.encode())
    problems = refused([caller])
    assert problems[0].element_id == "call" and "not in this upload" in problems[0].reason
    files = prepare([caller, *read("approval_camunda.bpmn")])
    wf = workflow(files, "caller")
    assert ready_names(wf) == ["review"]


def test_prepare_does_not_run_spiffworkflow(monkeypatch):
    """prepare itself never calls SpiffWorkflow's parser."""
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser

    def boom(*args, **kwargs):
        raise AssertionError("SpiffWorkflow was called")

    monkeypatch.setattr(BpmnParser, "add_bpmn_xml", boom)
    monkeypatch.setattr(BpmnParser, "get_spec", boom)
    assert prepare(read("approval_camunda.bpmn"))[0].processes
