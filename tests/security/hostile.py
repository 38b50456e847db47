"""Hostile diagrams: a valid process carrying content a browser would run if it rendered the file."""
from __future__ import annotations

# Fetches a CSRF token from a page of the signed-in victim and mints an API token with it.
STEAL = """
document.documentElement.setAttribute('data-ran', 'yes');
fetch('/designer', {credentials: 'same-origin'}).then(function (r) { return r.text(); }).then(function (page) {
  var token = page.match(/name="csrf_token" value="([^"]+)"/)[1];
  return fetch('/api/tokens', {method: 'POST', credentials: 'same-origin',
    headers: {'Content-Type': 'application/json', 'X-CSRFToken': token}, body: JSON.stringify({name: 'stolen'})});
});
"""

HTML_SCRIPT = f'<html:script xmlns:html="http://www.w3.org/1999/xhtml"><![CDATA[{STEAL}]]></html:script>'
SVG_SCRIPT = f'<svg:script xmlns:svg="http://www.w3.org/2000/svg"><![CDATA[{STEAL}]]></svg:script>'
HTML_IMG = '<html:img xmlns:html="http://www.w3.org/1999/xhtml" src="x" onerror="document.title=1"/>'

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="d" targetNamespace="t">
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="work" name="Work">{inside}<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
  {outside}
  <bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="plane" bpmnElement="{pid}">
    <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="work_di" bpmnElement="work"><dc:Bounds x="200" y="78" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="360" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="136" y="118"/><di:waypoint x="200" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="300" y="118"/><di:waypoint x="360" y="118"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def diagram(pid: str = "hostile", inside: str = "", outside: str = "", before: str = "") -> bytes:
    """The process ``pid`` with ``inside`` in its user task, ``outside`` under the root, ``before`` ahead of it."""
    text = DIAGRAM.format(pid=pid, inside=inside, outside=outside)
    if before:
        text = text.replace("?>\n", f"?>\n{before}\n", 1)
    return text.encode()
