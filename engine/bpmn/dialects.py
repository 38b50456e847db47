"""Namespaces and readers for the modeling tools' extension attributes.

Camunda, Flowable and Activiti put the same ideas (assignee, form key,
collection, properties ...) under their own namespaces; everything else in
``engine.bpmn`` reads them through these helpers so that the three dialects
stay interchangeable.
"""
from __future__ import annotations

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
FLOWABLE = "http://flowable.org/bpmn"
ACTIVITI = "http://activiti.org/bpmn"
DIALECTS = (CAMUNDA, FLOWABLE, ACTIVITI)

DMN_NAMESPACES = (
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",  # DMN 1.1 as Camunda writes it
    "http://www.omg.org/spec/DMN/20151101",  # DMN 1.1 as Flowable writes it
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
)

NSMAP = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI,
         "camunda": CAMUNDA, "flowable": FLOWABLE, "activiti": ACTIVITI}

# Flow nodes: what a token can sit on. (sequenceFlow, data and artifacts are not.)
FLOW_NODE_TAGS = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "serviceTask", "sendTask", "receiveTask", "scriptTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
})
GATEWAY_TAGS = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway",
                          "eventBasedGateway", "complexGateway"})
SUBPROCESS_TAGS = frozenset({"subProcess", "transaction", "adHocSubProcess"})


def bpmn(local: str) -> str:
    """Clark name of a BPMN model element: ``bpmn('task') == '{...MODEL}task'``."""
    return f"{{{BPMN}}}{local}"


def local(el) -> str:
    """Local tag name of an element ('' for comments and processing instructions)."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def namespace(el) -> str | None:
    tag = el.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        return None
    return tag[1:].split("}", 1)[0]


_BPMN_PREFIX = f"{{{BPMN}}}"


def is_bpmn(el, *names: str) -> bool:
    """True if ``el`` is a BPMN model element (with one of ``names``, if given)."""
    tag = el.tag
    if not isinstance(tag, str) or not tag.startswith(_BPMN_PREFIX):
        return False
    return not names or tag[len(_BPMN_PREFIX):] in names


def children(el, *names: str):
    """Direct BPMN children of ``el`` named ``names`` (any BPMN child if none given)."""
    if names:
        wanted = {_BPMN_PREFIX + n for n in names}
        return [c for c in el if c.tag in wanted]
    return [c for c in el if is_bpmn(c)]


def tags(*names: str) -> list[str]:
    """Clark names for ``root.iter(*tags(...))``."""
    return [_BPMN_PREFIX + n for n in names]


def has_model_id(el) -> bool:
    """True if ``el`` carries an id of the model: a BPMN (or diagram) element, not a dialect extension.

    Form fields (``camunda:formField``, ``flowable:formProperty``) and their values
    have ids of their own that name variables; two steps may share one.
    """
    return isinstance(el.tag, str) and bool(el.get("id")) and namespace(el) not in DIALECTS


def dialect_attr(el, name: str) -> str | None:
    """``camunda:name`` / ``flowable:name`` / ``activiti:name`` of ``el``; blank counts as absent."""
    for ns in DIALECTS:
        value = el.get(f"{{{ns}}}{name}")
        if value is not None and value.strip():
            return value
    return None


def extension_elements(el, name: str | None = None) -> list:
    """Dialect elements directly inside ``el``'s ``<extensionElements>`` (optionally by local name)."""
    out = []
    for ext in children(el, "extensionElements"):
        for child in ext:
            if namespace(child) in DIALECTS and (name is None or local(child) == name):
                out.append(child)
    return out


def _text(el) -> str:
    return "".join(el.itertext()).strip()


def _field_value(field) -> str | None:
    for attr in ("stringValue", "expression"):
        if field.get(attr) is not None:
            return field.get(attr)
    for child in field:
        if namespace(child) in DIALECTS and local(child) in ("string", "expression"):
            return _text(child)
    return None


def extension_properties(el) -> dict[str, str]:
    """Name/value pairs an element carries in any dialect.

    ``<X:properties><X:property name= value=/>`` plus Flowable/Activiti style
    ``<X:field name=>`` with ``stringValue``/``expression`` attributes or an
    ``<X:string>``/``<X:expression>`` child. Properties win over fields.
    """
    out: dict[str, str] = {}
    for field in extension_elements(el, "field"):
        name = field.get("name")
        value = _field_value(field)
        if name and value is not None:
            out[name] = value
    for props in extension_elements(el, "properties"):
        for prop in props:
            if namespace(prop) in DIALECTS and local(prop) == "property" and prop.get("name"):
                out[prop.get("name")] = prop.get("value") if prop.get("value") is not None else _text(prop)
    return out


def line_of(el) -> int | None:
    line = getattr(el, "sourceline", None)
    return int(line) if line else None
