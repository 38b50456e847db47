"""Finding 1 of issue 13: an uploaded diagram never runs as active content in Yimen's origin.

The deploy step refuses content in foreign namespaces (naming the element and
line); the raw diagram and uploaded materials are served as attachments with
``nosniff`` and a sandbox CSP, so even a file stored before the refusal existed
cannot run.
"""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select, update

from engine.bpmn.prepare import prepare
from engine.errors import BpmnInvalid
from engine.models import CaseMaterial, Deployment, DeploymentFile, ProcessDefinition
from tests.conftest import DATA, PROCESSES
from tests.security.hostile import HTML_IMG, HTML_SCRIPT, SVG_SCRIPT, diagram
from tests.web.test_pages import _apply, csrf, signed_in

SANDBOX = "sandbox; default-src 'none'"

MATHML = '<m:math xmlns:m="http://www.w3.org/1998/Math/MathML"><m:mi>x</m:mi></m:math>'
XLINK = '<bpmn:documentation xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="javascript:alert(1)"/>'
NO_NAMESPACE = '<bpmn:extensionElements><widget onclick="alert(1)"/></bpmn:extensionElements>'
STYLESHEET = '<?xml-stylesheet type="text/xsl" href="/static/evil.xsl"?>'


def _refusal(content: bytes, name: str = "hostile.bpmn"):
    with pytest.raises(BpmnInvalid) as info:
        prepare([(name, content)])
    return info.value.problems


@pytest.mark.parametrize("where, payload, element, reason", [
    ("outside", HTML_SCRIPT, None, "http://www.w3.org/1999/xhtml"),
    ("inside", HTML_SCRIPT, "work", "http://www.w3.org/1999/xhtml"),
    ("inside", SVG_SCRIPT, "work", "http://www.w3.org/2000/svg"),
    ("inside", HTML_IMG, "work", "<html:img>"),
    ("inside", MATHML, "work", "http://www.w3.org/1998/Math/MathML"),
    ("inside", XLINK, "work", "http://www.w3.org/1999/xlink"),
    ("inside", NO_NAMESPACE, "work", "<widget> without a namespace"),
    ("before", STYLESHEET, None, "processing instruction <?xml-stylesheet"),
], ids=["xhtml-script-at-root", "xhtml-script-in-task", "svg-script", "xhtml-img-onerror", "mathml", "xlink-href",
        "no-namespace", "xml-stylesheet"])
def test_active_foreign_content_is_refused_with_the_element_and_line(where, payload, element, reason):
    content = diagram(**{where: payload})
    problems = _refusal(content)
    assert len(problems) == 1, problems
    (problem,) = problems
    assert problem.file == "hostile.bpmn" and problem.element_id == element
    assert reason in problem.reason
    line = next(n for n, text in enumerate(content.decode().splitlines(), 1) if payload.split(">")[0] in text)
    assert problem.line == line


def test_every_foreign_element_is_named_once_with_its_subtree():
    """Two foreign islands: two problems (the script's own children are not listed again)."""
    nested = '<html:div xmlns:html="http://www.w3.org/1999/xhtml"><html:script>1</html:script></html:div>'
    problems = _refusal(diagram(inside=nested, outside=SVG_SCRIPT))
    assert [p.element_id for p in problems] == ["work", None]
    assert "<html:div>" in problems[0].reason and "<svg:script>" in problems[1].reason


def test_a_dmn_file_with_script_is_refused_too():
    dmn = (DATA / "bpmn_prep" / "decision.dmn").read_bytes()
    hostile = dmn.replace(b"</definitions>", HTML_SCRIPT.encode() + b"</definitions>")
    problems = _refusal(hostile, "decision.dmn")
    assert problems[0].file == "decision.dmn" and "http://www.w3.org/1999/xhtml" in problems[0].reason


@pytest.mark.parametrize("path", sorted(PROCESSES.glob("*.bpmn")), ids=lambda p: p.name)
def test_shipped_diagrams_pass(path):
    """The modeling tools' own namespaces (Camunda, Flowable, Activiti and their modelers) stay allowed."""
    prepare([(path.name, path.read_bytes())])


@pytest.mark.parametrize("name", ["bpmn_prep/approval_flowable.bpmn", "bpmn_prep/approval_activiti.bpmn",
                                  "bpmn_prep/approval_camunda.bpmn", "dialects/flowable/assignment.bpmn"])
def test_dialect_diagrams_pass(name):
    prepare([(name.rsplit("/", 1)[-1], (DATA / name).read_bytes())])


def test_deploy_refuses_it_and_stores_nothing(yimen):
    """Through the engine, on both databases: ``bpmn_invalid`` and not one row written."""
    with pytest.raises(BpmnInvalid) as info:
        yimen.deploy([("hostile.bpmn", diagram(outside=HTML_SCRIPT))])
    assert info.value.code == "bpmn_invalid"
    assert "script" in str(info.value)
    with yimen.session() as s:
        assert s.scalar(select(func.count()).select_from(Deployment)) == 0
        assert s.scalar(select(func.count()).select_from(ProcessDefinition)) == 0


def test_the_api_refuses_it_with_the_problem(app):
    client = signed_in(app, "chen")
    token = csrf(client.get("/designer").data)
    response = client.post("/api/deployments", data={"files": (io.BytesIO(diagram(outside=HTML_SCRIPT)), "x.bpmn")},
                           headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert response.status_code == 400, response.data
    problems = response.get_json()["error"]["details"]["problems"]
    assert problems[0]["file"] == "x.bpmn" and "xhtml" in problems[0]["reason"]


def test_the_raw_diagram_is_an_attachment_with_a_sandbox_csp(app):
    """Also for a file stored before deploys refused foreign content: the browser never renders it in our origin."""
    y = app.extensions["yimen"]
    definition_id = y.deploy([("clean.bpmn", diagram("stored"))])["deployed"][0]["id"]
    with y.session() as s:
        deployment = s.get(ProcessDefinition, definition_id).deployment_id
        s.execute(update(DeploymentFile).where(DeploymentFile.deployment_id == deployment)
                  .values(original=diagram("stored", outside=HTML_SCRIPT)))
        s.commit()
    response = signed_in(app, "admin").get(f"/diagrams/{definition_id}.bpmn")
    assert response.status_code == 200 and b"html:script" in response.data  # served as stored, but inert
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == SANDBOX


def test_a_material_download_is_an_attachment_with_a_sandbox_csp(app):
    """An applicant's file named like a page (an .html or .svg with script) downloads; it never renders."""
    y = app.extensions["yimen"]
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant)
    with y.session() as s:
        material = s.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case_id,
                                                        CaseMaterial.stored_path.is_not(None))).first()
        s.execute(update(CaseMaterial).where(CaseMaterial.id == material.id).values(filename="page.html"))
        s.commit()
    for client in (applicant, signed_in(app, "wang")):
        response = client.get(f"/cases/{case_id}/materials/{material.id}")
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == SANDBOX
        assert response.mimetype == "application/octet-stream"
