"""What Yimen needs from a diagram besides what SpiffWorkflow parses.

SpiffWorkflow's standard parser ignores dialect attributes, so assignment,
form keys, due dates, handlers and the raw multi-instance settings are read
here, once, into plain dicts keyed by element id. They are stored with the
deployment and attached to the task specs. Values stay raw (expressions are
evaluated when a task opens, see ``engine.assignment``).
"""
from __future__ import annotations

import re

from .dialects import (
    FLOW_NODE_TAGS, SUBPROCESS_TAGS, children, dialect_attr, extension_elements, extension_properties, is_bpmn, local,
)

HANDLER_PROPERTY = "yimen.handler"
NAME_EN_PROPERTY = "yimen.nameEn"  # the English name of a process or step (the BPMN name is the Chinese one)
SERVICE_LIKE = frozenset({"serviceTask", "sendTask", "businessRuleTask"})
_WRAPPED = re.compile(r"^\s*[$#]\{\s*(.*?)\s*\}\s*$", re.S)
_ASSIGNMENT = re.compile(r"^\s*(user|group)\s*\(\s*(.*?)\s*\)\s*$", re.S)


def is_expression(text: str | None) -> bool:
    return bool(text) and ("${" in text or "#{" in text)


def split_names(raw: str | None) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]``; a value with an expression stays one raw entry."""
    if raw is None or not raw.strip():
        return []
    if is_expression(raw):
        return [raw.strip()]
    return [part.strip() for part in raw.split(",") if part.strip()]


def _top_level_split(text: str) -> list[str]:
    """Split on commas outside (), {} and quotes: ``user(a), group(${g(x, y)})``."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth = max(depth - 1, 0)
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def resource_assignments(el, role: str, plain: str) -> list[tuple[str, str]]:
    """(``user``|``group``, raw name) pairs of ``<bpmn:{role}>`` formal expressions; ``plain`` for unmarked ones."""
    out = []
    for performer in children(el, role):
        for rae in children(performer, "resourceAssignmentExpression"):
            for expr in children(rae, "formalExpression", "expression"):
                for part in _top_level_split("".join(expr.itertext())):
                    m = _ASSIGNMENT.match(part)
                    out.append((m.group(1), m.group(2)) if m else (plain, part))
    return out


def _unwrap(text: str) -> str:
    m = _WRAPPED.match(text)
    return m.group(1) if m else text.strip()


def is_service_like(el) -> bool:
    """A task whose work a handler does (a decision task or a message send is not)."""
    tag = local(el)
    if tag not in SERVICE_LIKE:
        return False
    if tag == "businessRuleTask":
        return not (dialect_attr(el, "decisionRef") or dialect_attr(el, "decisionTableReferenceKey")
                    or dialect_attr(el, "decisionReferenceKey"))
    if tag == "sendTask":
        return not (el.get("messageRef") or children(el, "messageEventDefinition"))
    return True


def handler_of(el) -> tuple[str | None, str | None]:
    """(handler name, where it came from) of a service-like task."""
    prop = extension_properties(el).get(HANDLER_PROPERTY)
    if prop and prop.strip():
        return prop.strip(), "property"
    topic = dialect_attr(el, "topic")
    if topic:
        return topic.strip(), "topic"
    delegate = dialect_attr(el, "delegateExpression")
    if delegate:
        return _unwrap(delegate), "delegateExpression"
    cls = dialect_attr(el, "class")
    if cls:
        return cls.strip(), "class"
    expression = dialect_attr(el, "expression")
    if expression:
        return expression.strip(), "expression"
    return None, None


def _multi_instance(el) -> dict | None:
    mis = children(el, "multiInstanceLoopCharacteristics")
    if not mis:
        return None
    mi = mis[0]

    def text_of(tag):
        found = children(mi, tag)
        return (found[0].text or "").strip() or None if found else None

    items = children(mi, "inputDataItem")
    element_variable = dialect_attr(mi, "elementVariable")
    if element_variable is None and items:
        element_variable = items[0].get("id") or items[0].get("name")
    return {
        "sequential": mi.get("isSequential") == "true",
        "collection": dialect_attr(mi, "collection") or text_of("loopDataInputRef"),
        "element_variable": element_variable.strip() if element_variable else None,
        "cardinality": text_of("loopCardinality"),
        "completion_condition": text_of("completionCondition"),
    }


def source_line(el) -> int | None:
    """The element's line; for an element normalization added, its previous sibling's or its parent's."""
    node = el
    while node is not None:
        if node.sourceline:
            return int(node.sourceline)
        prev = node.getprevious()
        if prev is not None and isinstance(prev.tag, str) and prev.sourceline:
            return int(prev.sourceline)
        node = node.getparent()
    return None


def _lanes(container) -> dict[str, str | None]:
    """Flow node id -> innermost lane name of ``container``'s own lane sets (nested lanes too)."""
    out: dict[str, str | None] = {}

    def walk(lane_set):
        for lane in children(lane_set, "lane"):
            for ref in children(lane, "flowNodeRef"):
                if ref.text and ref.text.strip():
                    out[ref.text.strip()] = lane.get("name")
            for child_set in children(lane, "childLaneSet"):
                walk(child_set)  # later (inner) lanes win

    for lane_set in children(container, "laneSet"):
        walk(lane_set)
    return out


def _root(tree):
    return tree.getroot() if hasattr(tree, "getroot") else tree


def extract(filename: str, tree) -> dict[str, dict]:
    """Element id -> metadata for every flow node of every process (subprocesses included)."""
    root = _root(tree)
    out: dict[str, dict] = {}
    if not is_bpmn(root, "definitions"):
        return out
    for process in children(root, "process"):
        _walk(process, process.get("id"), None, out)
    return out


def of_process(extracted: list[dict[str, dict]], process_id: str) -> dict[str, dict]:
    """Every element's metadata from several files' ``extract``, the elements of ``process_id`` winning.

    Element ids are unique within a file, not across the files of one upload: two
    diagrams deployed together may both have an 'accept'.
    """
    others: dict[str, dict] = {}
    own: dict[str, dict] = {}
    for per_file in extracted:
        for element_id, entry in per_file.items():
            (own if entry.get("process_id") == process_id else others)[element_id] = entry
    return {**others, **own}


def _walk(container, process_id: str | None, inherited_lane: str | None, out: dict) -> None:
    lanes = _lanes(container)
    for el in container:
        tag = local(el)
        if not is_bpmn(el) or tag not in FLOW_NODE_TAGS:
            continue
        lane = lanes.get(el.get("id") or "", inherited_lane)
        el_id = el.get("id")
        if el_id and el_id not in out:
            out[el_id] = _node(el, process_id, lane, container)
        if tag in SUBPROCESS_TAGS:
            _walk(el, process_id, lane, out)


def _node(el, process_id: str | None, lane: str | None, container) -> dict:
    assignee = dialect_attr(el, "assignee")
    users = split_names(dialect_attr(el, "candidateUsers"))
    groups = split_names(dialect_attr(el, "candidateGroups"))
    performers = resource_assignments(el, "humanPerformer", "user")
    if assignee is None and len(performers) == 1 and performers[0][0] == "user":
        assignee = performers[0][1]
    else:
        # Camunda/Flowable/Activiti: an unmarked potentialOwner entry is a group.
        for kind, name in performers:
            (users if kind == "user" else groups).append(name)
    for kind, name in resource_assignments(el, "potentialOwner", "group"):
        target = users if kind == "user" else groups
        if name not in target:
            target.append(name)
    handler, source = handler_of(el) if is_service_like(el) else (None, None)
    return {
        "id": el.get("id"),
        "type": local(el),
        "name": el.get("name"),
        "process_id": process_id,
        "container": container.get("id"),
        "lane": lane,
        "assignee": assignee.strip() if assignee else None,
        "candidate_users": users,
        "candidate_groups": groups,
        "form_key": dialect_attr(el, "formKey") or dialect_attr(el, "formRef"),
        "due_date": dialect_attr(el, "dueDate"),
        "properties": extension_properties(el),
        "form_fields": _form_fields(el),
        "handler": handler,
        "handler_source": source,
        "multi_instance": _multi_instance(el),
        "initiator": dialect_attr(el, "initiator") if local(el) == "startEvent" else None,
        "line": source_line(el),
    }


def _form_fields(el) -> list[dict]:
    """Generated-form fields (camunda:formData, flowable/activiti:formProperty, yimen.formSchema)."""
    from ..errors import ValidationError
    from ..forms import SCHEMA_PROPERTY, fields_of_element, fields_of_schema

    fields = fields_of_element(el, extension_elements, local)
    schema = extension_properties(el).get(SCHEMA_PROPERTY)
    if schema:
        try:
            fields += fields_of_schema(schema)
        except ValidationError:
            pass  # checks.py refuses the deployment with the reason
    return fields


def process_info(tree) -> dict[str, dict]:
    """Process id -> id, name, English name (``yimen.nameEn``), executable (flagged true and has flow nodes), line."""
    root = _root(tree)
    out = {}
    if not is_bpmn(root, "definitions"):
        return out
    for process in children(root, "process"):
        pid = process.get("id")
        if not pid:
            continue
        has_nodes = any(is_bpmn(c) and local(c) in FLOW_NODE_TAGS for c in process)
        out[pid] = {"id": pid, "name": process.get("name"), "name_en": extension_properties(process).get(NAME_EN_PROPERTY),
                    "executable": has_nodes and process.get("isExecutable", "true") == "true",
                    "line": source_line(process)}
    return out


def element_lines(tree) -> dict[str, int | None]:
    """Every id in the file -> its line (first occurrence wins), to map SpiffWorkflow's errors back."""
    out: dict[str, int | None] = {}
    for el in _root(tree).iter():
        if isinstance(el.tag, str) and el.get("id") and el.get("id") not in out:
            out[el.get("id")] = source_line(el)
    return out

