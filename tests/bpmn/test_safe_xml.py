"""engine.bpmn.safe_xml: untrusted uploads are parsed safely or refused with a reason."""
from __future__ import annotations

import time

import pytest

from engine.bpmn.safe_xml import DOCTYPE_REASON, kind_of, parse_untrusted
from engine.errors import BpmnInvalid

from .spiff_helpers import line_of, read

MINIMAL = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
           b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D"/>\n')


def refused(filename: str, content: bytes, **kwargs):
    with pytest.raises(BpmnInvalid) as info:
        parse_untrusted(filename, content, **kwargs)
    assert len(info.value.problems) == 1
    return info.value.problems[0]


def test_parses_a_good_file_with_line_numbers():
    """A real diagram parses and keeps source lines."""
    name, content = read("approval_camunda.bpmn")[0]
    tree = parse_untrusted(name, content)
    review = tree.getroot().find(".//{*}userTask")
    assert review.get("id") == "review" and review.sourceline == line_of(name, '<bpmn:userTask id="review"')
    assert kind_of(tree) == "bpmn"


def test_malformed_xml_reports_line_and_lxml_message():
    """A syntax error becomes one problem with the line and libxml2's message."""
    problem = refused(*read("malformed.bpmn")[0])
    assert problem.file == "malformed.bpmn"
    assert problem.line == 5
    assert "Opening and ending tag mismatch" in problem.reason


def test_empty_file_is_a_problem():
    """An empty upload is not well-formed XML."""
    problem = refused("empty.bpmn", b"")
    assert problem.reason.startswith("not well-formed XML")


def test_xxe_is_refused():
    """An external entity declaration is refused before parsing."""
    problem = refused(*read("xxe.bpmn")[0])
    assert problem.reason == DOCTYPE_REASON
    assert "passwd" not in problem.reason


def test_billion_laughs_is_refused_quickly():
    """Entity expansion bombs are refused without expanding anything."""
    started = time.monotonic()
    problem = refused(*read("billion_laughs.bpmn")[0])
    assert problem.reason == DOCTYPE_REASON
    assert time.monotonic() - started < 1


def test_plain_doctype_is_refused():
    """Even a harmless DOCTYPE is refused outright."""
    content = MINIMAL.replace(b"\n<bpmn:", b'\n<!DOCTYPE definitions SYSTEM "http://example.com/x.dtd">\n<bpmn:', 1)
    assert refused("dtd.bpmn", content).reason == DOCTYPE_REASON


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_doctype_in_other_encodings_is_refused(codec):
    """A DOCTYPE hidden in UTF-16/32 is still found."""
    text = read("xxe.bpmn")[0][1].decode("utf-8").replace('encoding="UTF-8"', f'encoding="{codec.upper()}"')
    assert refused("xxe16.bpmn", text.encode(codec)).reason == DOCTYPE_REASON


def test_oversize_file_is_refused_naming_the_limit():
    """Files over max_bytes are refused and the reason names the limit."""
    problem = refused("big.bpmn", MINIMAL, max_bytes=50)
    assert "50 bytes" in problem.reason and str(len(MINIMAL)) in problem.reason


def test_default_limit_is_five_megabytes():
    """The default limit is 5 MB."""
    padding = b"<!--" + b"x" * (5 * 1024 * 1024) + b"-->"
    problem = refused("huge.bpmn", MINIMAL + padding)
    assert "5 MB" in problem.reason


@pytest.mark.parametrize("namespace", [
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
])
def test_kind_of_recognises_dmn_versions(namespace):
    """DMN 1.1, 1.2 and 1.3 roots are 'dmn'."""
    tree = parse_untrusted("d.dmn", f'<definitions xmlns="{namespace}" id="d"/>'.encode())
    assert kind_of(tree, "d.dmn") == "dmn"


def test_kind_of_anything_else_is_a_problem():
    """A well-formed file that is neither BPMN nor DMN is refused with a reason."""
    tree = parse_untrusted("page.bpmn", b"<html><body/></html>")
    with pytest.raises(BpmnInvalid) as info:
        kind_of(tree, "page.bpmn")
    problem = info.value.problems[0]
    assert problem.file == "page.bpmn" and problem.line == 1
    assert "<html>" in problem.reason


def test_flowable_dmn_extensions_are_not_foreign_content():
    """Flowable's DMN files carry ``xmlns:flowable="http://flowable.org/dmn"`` (flowable:forceDMN11) and its
    modeler's ``design:`` elements; they are inert and accepted, an XHTML element beside them is not."""
    from engine.bpmn.safe_xml import foreign_content
    content = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
               b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" '
               b'xmlns:flowable="http://flowable.org/dmn" xmlns:design="http://flowable.org/design" '
               b'xmlns:h="http://www.w3.org/1999/xhtml" id="d" flowable:forceDMN11="true">\n'
               b'  <decision id="x"><extensionElements><design:stencilid>DecisionTableDecision</design:stencilid>'
               b'<flowable:note>n</flowable:note></extensionElements></decision>\n'
               b'  <decision id="y"><extensionElements><h:script>alert(1)</h:script></extensionElements></decision>\n'
               b'</definitions>\n')
    tree = parse_untrusted("f.dmn", content)
    assert kind_of(tree, "f.dmn") == "dmn"
    problems = foreign_content("f.dmn", tree)
    assert [(p.element_id, p.line) for p in problems] == [("y", 4)]
