"""Rewrite a diagram so SpiffWorkflow's standard parser runs it as drawn.

Camunda Modeler, Flowable and Activiti accept diagrams that SpiffWorkflow
either refuses or — worse — accepts and then runs differently (a sequence
flow without an id is silently dropped and the process "completes" at
once). ``normalize`` mutates the parsed tree in place, turns dialect
attributes SpiffWorkflow must understand (multi-instance, decision
references) into standard BPMN, and returns one warning ``Problem`` for
every tolerance it applied. Errors are left for ``engine.bpmn.checks``.
"""
from __future__ import annotations

import re
from collections.abc import Collection

from lxml import etree

from ..errors import Problem, phrase
from .dialects import (
    BPMNDI, CAMUNDA, DIALECTS, FLOW_NODE_TAGS, GATEWAY_TAGS, SUBPROCESS_TAGS, XSI,
    bpmn, children, dialect_attr, extension_properties, has_model_id, is_bpmn, line_of, local,
    namespace,
)

# Must match engine.bpmn.specs.COLLECTION_VAR (kept literal so this module needs no SpiffWorkflow import).
COLLECTION_VAR = "_mi_collection"

XPATH_DATA_OBJECT = re.compile(r"(?:\b[A-Za-z_][\w.-]*:)?getDataObject\(\s*(['\"])([A-Za-z_][A-Za-z0-9_]*)\1\s*\)")
XPATH_EQUALS = re.compile(r"(?<![=!<>])=(?!=)")
SIMPLE_VARIABLE = re.compile(r"^\s*(?:[$#]\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}|([A-Za-z_][A-Za-z0-9_]*))\s*$")

# BPMN schema order of multiInstanceLoopCharacteristics children.
MI_ORDER = ("documentation", "extensionElements", "loopCardinality", "loopDataInputRef", "loopDataOutputRef",
            "inputDataItem", "outputDataItem", "complexBehaviorDefinition", "completionCondition")

REF_KINDS = {  # event definition -> (reference attribute, root element, code attribute)
    "errorEventDefinition": ("errorRef", "error", "errorCode"),
    "escalationEventDefinition": ("escalationRef", "escalation", "escalationCode"),
    "messageEventDefinition": ("messageRef", "message", None),
    "signalEventDefinition": ("signalRef", "signal", None),
}

IGNORED_EXTENSIONS = {
    "executionListener": phrase("execution listeners"),
    "taskListener": phrase("task listeners"),
    "eventListener": phrase("event listeners"),
    "inputOutput": phrase("input/output mappings (every step sees all case data)"),
    "failedJobRetryTimeCycle": phrase("job retry cycles (Yimen retries handlers on its own schedule)"),
}

TRIMMED_TEXT = ("conditionExpression", "timeDuration", "timeDate", "timeCycle", "loopCardinality",
                "completionCondition", "loopDataInputRef", "loopDataOutputRef", "flowNodeRef",
                "incoming", "outgoing", "sourceRef", "targetRef", "condition")


def namespace_of(clark: str) -> str | None:
    return clark[1:].split("}", 1)[0] if clark.startswith("{") else None


def simple_variable(expression: str | None) -> str | None:
    """``departments`` for ``departments``, ``${departments}`` or ``#{departments}``; else None."""
    if not expression:
        return None
    m = SIMPLE_VARIABLE.match(expression)
    return (m.group(1) or m.group(2)) if m else None


def normalize(filename: str, tree, shared_ids: Collection[str] = ()) -> list[Problem]:
    """Normalize a BPMN tree in place; return warnings. ``shared_ids``: ids defined in other uploaded files."""
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    if not is_bpmn(root, "definitions"):
        return []  # DMN goes to SpiffWorkflow as uploaded
    n = _Normalizer(filename, root, shared_ids)
    n.run()
    return sorted(n.warnings, key=lambda p: p.line or 0)


class _Normalizer:
    def __init__(self, filename: str, root, shared_ids: Collection[str]):
        self.filename = filename
        self.root = root
        self.shared_ids = set(shared_ids)
        self.ids = {el.get("id") for el in root.iter() if has_model_id(el)}
        self.warnings: list[Problem] = []
        self.need_camunda_ns = False

    # --- helpers ---------------------------------------------------------------------------------

    def warn(self, el, template: str, element_id: str | None = None, **params) -> None:
        self.warnings.append(Problem.of(self.filename, element_id or (el.get("id") if el is not None else None),
                                        line_of(el) if el is not None else None, template, **params))

    def new_id(self, base: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_.\-]", "_", base)
        if not re.match(r"[A-Za-z_]", base):
            base = "_" + base
        candidate, i = base, 2
        while candidate in self.ids or candidate in self.shared_ids:
            candidate, i = f"{base}_{i}", i + 1
        self.ids.add(candidate)
        return candidate

    def containers(self):
        """Every element that holds flow nodes: processes and (nested) subprocesses."""
        return [el for el in self.root.iter(bpmn("process"), *(bpmn(t) for t in SUBPROCESS_TAGS))]

    def insert_root_element(self, el) -> None:
        """Add a root element (error, message ...) where the BPMN schema allows it."""
        for i, child in enumerate(self.root):
            if namespace(child) == BPMNDI or is_bpmn(child, "relationship"):
                self.root.insert(i, el)
                return
        self.root.append(el)

    def _text_ref(self, parent, tag: str, text: str, before=None):
        el = etree.Element(bpmn(tag))
        el.text = text
        if before is None:
            parent.append(el)
        else:
            before.addprevious(el)
        return el

    # --- passes ----------------------------------------------------------------------------------

    def run(self) -> None:
        self.trim_texts()
        self.flow_ids()
        self.node_ids()
        self.references()
        self.executable()
        self.data_stores()
        self.dialect_tasks()
        self.plain_tasks()
        self.multi_instance()
        self.link_events()
        self.compensation_event_subprocesses()
        self.compensation()
        self.xpath_conditions()
        self.implicit_ends()
        self.implicit_splits()
        self.bean_expressions()
        self.ignored_extensions()
        if self.need_camunda_ns and CAMUNDA not in self.root.nsmap.values():
            prefixes = [p for el in self.root.iter() if isinstance(el.tag, str) for p in el.nsmap if p]
            etree.cleanup_namespaces(self.root, top_nsmap={"camunda": CAMUNDA}, keep_ns_prefixes=prefixes)

    def trim_texts(self) -> None:
        """Pretty-printed or CDATA-wrapped references and expressions: SpiffWorkflow compares them verbatim."""
        for el in self.root.iter(*(bpmn(t) for t in TRIMMED_TEXT)):
            if el.text is not None and el.text != el.text.strip() and len(el) == 0:
                el.text = el.text.strip()

    def plain_tasks(self) -> None:
        """An untyped ``bpmn:task`` does nothing; Yimen passes through it (as Camunda does) and says so."""
        for task in self.root.iter(bpmn("task")):
            self.warn(task, "task '{element}' has no type (user, service...); Yimen passes straight through it",
                      element=task.get("id"))

    def flow_ids(self) -> None:
        for flow in self.root.iter(bpmn("sequenceFlow")):
            if flow.get("id"):
                continue
            source, target = flow.get("sourceRef") or "nowhere", flow.get("targetRef") or "nowhere"
            new = self.new_id(f"Flow_auto_{source}_{target}")
            flow.set("id", new)
            self.warn(flow, "sequence flow from '{source}' to '{target}' has no id ({tool} would drop it); "
                            "it was given the id '{new}'", element_id=new, source=source, target=target,
                      tool="SpiffWorkflow", new=new)

    def node_ids(self) -> None:
        """A subprocess without an id (an event subprocess needs none: nothing flows into it) gets one."""
        for sub in self.root.iter(*(bpmn(t) for t in SUBPROCESS_TAGS)):
            if sub.get("id"):
                continue
            new = self.new_id(f"SubProcess_auto_{sub.get('name') or 'unnamed'}")
            sub.set("id", new)
            self.warn(sub, "a {tag} has no id; it was given the id '{new}'", element_id=new, tag=local(sub), new=new)

    def compensation(self) -> None:
        """Compensation boundary events become a note on their handler (see ``engine.bpmn.compensation``).

        SpiffWorkflow refuses a compensation boundary event; Yimen removes it with its association
        and gives the handler (``isForCompensation="true"``) the extension property
        ``yimen.compensates`` = the step it undoes. A boundary without a handler stays (checks reports it).
        """
        for boundary in list(self.root.iter(bpmn("boundaryEvent"))):
            if not children(boundary, "compensateEventDefinition"):
                continue
            container = boundary.getparent()
            assocs = [a for a in container.iter(bpmn("association")) if a.get("sourceRef") == boundary.get("id")]
            assocs += [a for a in self.root.iter(bpmn("association"))
                       if a.get("sourceRef") == boundary.get("id") and a not in assocs]
            handler = next((self._by_id(a.get("targetRef")) for a in assocs if self._by_id(a.get("targetRef"))
                            is not None), None)
            if handler is None or handler.get("isForCompensation") != "true":
                continue
            self._property(handler, "yimen.compensates", boundary.get("attachedToRef") or "")
            gone = {boundary.get("id")} | {a.get("id") for a in assocs if a.get("id")}
            for a in assocs:
                a.getparent().remove(a)
            container.remove(boundary)
            for di in list(self.root.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge")):
                if di.get("bpmnElement") in gone:
                    di.getparent().remove(di)

    def _property(self, el, name: str, value: str) -> None:
        """Add the extension property ``name`` = ``value`` to ``el`` (Yimen's notes for the parser)."""
        ext = children(el, "extensionElements")
        ext = ext[0] if ext else None
        if ext is None:
            ext = etree.Element(bpmn("extensionElements"))
            el.insert(0, ext)
        props = etree.SubElement(ext, f"{{{CAMUNDA}}}properties")
        etree.SubElement(props, f"{{{CAMUNDA}}}property", name=name, value=value)
        self.need_camunda_ns = True

    def compensation_event_subprocesses(self) -> None:
        """A compensation event subprocess becomes the compensation handler of its subprocess.

        ``<subProcess triggeredByEvent="true">`` whose start event has a ``compensateEventDefinition``,
        inside an embedded subprocess S: when S is compensated, it runs instead of the handlers of S's
        steps (a compensation throw inside it compensates S's completed steps, as Camunda does). Yimen
        moves it beside S as an ordinary subprocess marked ``isForCompensation`` with the property
        ``yimen.compensates`` = S, its start event a plain start, and notes on each compensation throw
        directly inside it ``yimen.compensation_scope`` = S (see ``engine.bpmn.compensation``). One at
        the process level, or in a subprocess that also has a compensation boundary event, stays
        (``checks`` refuses it with its line).
        """
        for event_sub in list(self.root.iter(bpmn("subProcess"))):
            if event_sub.get("triggeredByEvent") != "true":
                continue
            start = next((c for c in children(event_sub, "startEvent") if children(c, "compensateEventDefinition")),
                         None)
            owner = event_sub.getparent()
            if start is None or local(owner) not in ("subProcess", "transaction") or not owner.get("id"):
                continue
            owner_id = owner.get("id")
            if any(b.get("attachedToRef") == owner_id and children(b, "compensateEventDefinition")
                   for b in self.root.iter(bpmn("boundaryEvent"))):
                continue
            for definition in children(start, "compensateEventDefinition"):
                start.remove(definition)
            owner.remove(event_sub)
            owner.addnext(event_sub)
            del event_sub.attrib["triggeredByEvent"]
            event_sub.set("isForCompensation", "true")
            self._property(event_sub, "yimen.compensates", owner_id)
            for node in event_sub:
                if is_bpmn(node) and local(node) in ("intermediateThrowEvent", "endEvent") \
                        and children(node, "compensateEventDefinition"):
                    self._property(node, "yimen.compensation_scope", owner_id)
            self.warn(event_sub, "compensation event subprocess '{element}' runs as the compensation handler of "
                                 "subprocess '{owner}'", element=event_sub.get("id"), owner=owner_id)

    def _by_id(self, element_id):
        if not element_id:
            return None
        for el in self.root.iter():
            if is_bpmn(el) and el.get("id") == element_id:
                return el
        return None

    def xpath_conditions(self) -> None:
        """XPath, BPMN's default expression language, as far as diagrams use it: data-object tests.

        ``bpmn:getDataObject('clarified') = 'yes'`` becomes ``clarified == 'yes'``: the data object
        (or the case variable of that name, which is what Camunda and Flowable keep) read by name,
        XPath's single ``=`` as equality. ``and``, ``or``, ``not(...)`` and ``!=`` read the same in
        Yimen's expression language. What is left is compiled like any condition (checks reports it).
        """
        for cond in self.root.iter(bpmn("conditionExpression"), bpmn("condition")):
            text = cond.text or ""
            language = (cond.get("language") or self.root.get("expressionLanguage") or "").lower()
            if len(cond) or not (XPATH_DATA_OBJECT.search(text) or "xpath" in language):
                continue
            rewritten = XPATH_DATA_OBJECT.sub(lambda m: m.group(2), text)
            rewritten = XPATH_EQUALS.sub("==", rewritten)
            if rewritten != text:
                cond.text = rewritten.strip()
                cond.attrib.pop("language", None)

    def implicit_ends(self) -> None:
        """A step without an outgoing flow ends its path (BPMN's implicit end): give it an explicit end event.

        Camunda, Flowable and Activiti end the token there; SpiffWorkflow would leave the
        (sub)process without an end, so it never merges the path's data or finishes.
        A compensation handler (``isForCompensation``) and a compensation boundary event
        are not on the flow and keep no outgoing flow.
        """
        for container in self.containers():
            sources = {f.get("sourceRef") for f in children(container, "sequenceFlow")}
            for node in [c for c in container if is_bpmn(c) and local(c) in FLOW_NODE_TAGS]:
                node_id = node.get("id")
                if not node_id or node_id in sources or local(node) == "endEvent":
                    continue
                if node.get("isForCompensation") == "true" or node.get("triggeredByEvent") == "true":
                    continue
                if local(node) == "boundaryEvent" and children(node, "compensateEventDefinition"):
                    continue
                if local(node) == "intermediateThrowEvent" and children(node, "linkEventDefinition"):
                    continue  # an unmatched link: checks reports it
                end = etree.Element(bpmn("endEvent"), id=self.new_id(f"End_implicit_{node_id}"))
                container.append(end)
                flow = self._add_flow(container, node_id, end.get("id"))
                self._text_ref(node, "outgoing", flow.get("id"))
                self._text_ref(end, "incoming", flow.get("id"))
                sources.add(node_id)

    def references(self) -> None:
        defined = {kind: {el.get("id") for el in self.root.iter(bpmn(kind)) if el.get("id")}
                   for _, kind, _ in REF_KINDS.values()}
        holders = [(el, "messageRef", "message", None) for el in self.root.iter(bpmn("sendTask"), bpmn("receiveTask"))]
        for definition, (attr, kind, code_attr) in REF_KINDS.items():
            holders += [(el, attr, kind, code_attr) for el in self.root.iter(bpmn(definition))]
        for el, attr, kind, code_attr in holders:
            ref = el.get(attr)
            if not ref or not ref.strip():
                continue
            ref = ref.strip()
            if ":" in ref and ref.split(":", 1)[1] in defined[kind]:
                ref = ref.split(":", 1)[1]  # tns:Error_1 -> Error_1, SpiffWorkflow matches the bare id
            el.set(attr, ref)
            if ref in defined[kind] or ref in self.shared_ids:
                continue
            if ref in self.ids:
                continue  # names some other element: checks reports it
            new = etree.Element(bpmn(kind), id=ref, name=ref)
            if code_attr:
                new.set(code_attr, ref)
            self.insert_root_element(new)
            defined[kind].add(ref)
            self.ids.add(ref)
            owner = el.getparent() if local(el).endswith("EventDefinition") else el
            if code_attr:
                self.warn(owner, "{kind} '{ref}' is referenced but not defined; Yimen defined it with {attribute} "
                                 "'{ref}'", kind=kind, ref=ref, attribute=code_attr)
            else:
                self.warn(owner, "{kind} '{ref}' is referenced but not defined; Yimen defined it", kind=kind, ref=ref)

    def executable(self) -> None:
        for process in self.root.iter(bpmn("process")):
            if not any(is_bpmn(c) and local(c) in FLOW_NODE_TAGS for c in process):
                continue  # an empty pool: nothing to run
            value = process.get("isExecutable")
            if value == "true":
                continue
            process.set("isExecutable", "true")
            name = process.get("id")
            if value is None:
                self.warn(process, "process '{process}' does not say it is executable; Yimen runs it anyway",
                          process=name)
            else:
                self.warn(process, "process '{process}' is marked not executable; Yimen runs it anyway", process=name)

    def data_stores(self) -> None:
        stores = {el.get("id"): el for el in self.root.iter(bpmn("dataStore"))}
        refs = {el.get("id"): el for el in self.root.iter(bpmn("dataStoreReference"))}
        gone = {i for i in list(stores) + list(refs) if i}
        if not gone:
            return
        removed_assocs: dict[str, int] = {}
        for assoc in list(self.root.iter(bpmn("dataInputAssociation"), bpmn("dataOutputAssociation"))):
            end = "sourceRef" if local(assoc) == "dataInputAssociation" else "targetRef"
            ends = {(r.text or "").strip() for r in children(assoc, end)}
            hit = ends & gone
            if hit:
                for ref in hit:
                    removed_assocs[ref] = removed_assocs.get(ref, 0) + 1
                if assoc.get("id"):
                    gone.add(assoc.get("id"))
                assoc.getparent().remove(assoc)
        for store_id, el in list(stores.items()) + list(refs.items()):
            what = phrase("data store") if local(el) == "dataStore" else phrase("data store reference")
            count = removed_assocs.get(store_id, 0)
            store = el.get("name") or store_id
            if count:
                self.warn(el, "{what} '{store}' is ignored (and {count} data association to it): Yimen keeps case "
                              "data in the instance, not in data stores" if count == 1 else
                              "{what} '{store}' is ignored (and {count} data associations to it): Yimen keeps case "
                              "data in the instance, not in data stores", what=what, store=store, count=count)
            else:
                self.warn(el, "{what} '{store}' is ignored: Yimen keeps case data in the instance, not in data stores",
                          what=what, store=store)
            el.getparent().remove(el)
        for di in list(self.root.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge")):
            if di.get("bpmnElement") in gone:
                di.getparent().remove(di)

    def dialect_tasks(self) -> None:
        # Flowable's "decision task" is a serviceTask of type dmn with a decisionTableReferenceKey field.
        for task in list(self.root.iter(bpmn("serviceTask"))):
            if (dialect_attr(task, "type") or "").strip().lower() == "dmn":
                props = extension_properties(task)
                key = props.get("decisionTableReferenceKey") or props.get("decisionReferenceKey")
                if key:
                    task.tag = bpmn("businessRuleTask")
                    task.set(f"{{{CAMUNDA}}}decisionRef", key.strip())
                    self.need_camunda_ns = True
        for task in list(self.root.iter(bpmn("businessRuleTask"))):
            decision = (task.get(f"{{{CAMUNDA}}}decisionRef") or dialect_attr(task, "decisionRef")
                        or dialect_attr(task, "decisionTableReferenceKey")
                        or dialect_attr(task, "decisionReferenceKey")
                        or extension_properties(task).get("decisionTableReferenceKey"))
            if decision and decision.strip():
                if task.get(f"{{{CAMUNDA}}}decisionRef") != decision.strip():
                    task.set(f"{{{CAMUNDA}}}decisionRef", decision.strip())
                    self.need_camunda_ns = True
            else:
                task.tag = bpmn("serviceTask")
                self.warn(task, "business rule task '{element}' names no decision ({attributes}); it runs as a service "
                                "task", element=task.get("id"),
                          attributes="camunda:decisionRef / flowable:decisionTableReferenceKey")
        for task in list(self.root.iter(bpmn("sendTask"))):
            if task.get("messageRef") or children(task, "messageEventDefinition"):
                continue  # a message throw SpiffWorkflow handles itself
            task.tag = bpmn("serviceTask")  # the way Camunda runs a send task: through its implementation
            self.warn(task, "send task '{element}' sends no message; it runs as a service task", element=task.get("id"))

    def multi_instance(self) -> None:
        for item in self.root.iter(bpmn("inputDataItem"), bpmn("outputDataItem")):
            if not item.get("id") and item.get("name"):
                item.set("id", item.get("name"))  # SpiffWorkflow names the variable by id
        for mi in list(self.root.iter(bpmn("multiInstanceLoopCharacteristics"))):
            owner = mi.getparent()
            for tag in ("loopCardinality", "completionCondition"):
                for el in children(mi, tag):
                    if not (el.text or "").strip():
                        mi.remove(el)
                        self.warn(owner, "empty {tag} of multi-instance '{element}' removed", tag=tag,
                                  element=owner.get("id"))
            collection = dialect_attr(mi, "collection")
            if collection and not children(mi, "loopDataInputRef"):
                name = simple_variable(collection) or COLLECTION_VAR
                self._insert_mi_child(mi, self._text_ref(mi, "loopDataInputRef", name))
                for card in children(mi, "loopCardinality"):
                    mi.remove(card)
                    self.warn(owner, "multi-instance '{element}' has both a collection and a loop cardinality; the "
                                     "cardinality '{cardinality}' is ignored", element=owner.get("id"),
                              cardinality=card.text)
            element_var = dialect_attr(mi, "elementVariable")
            if element_var and not children(mi, "inputDataItem"):
                element_var = element_var.strip()
                item = etree.Element(bpmn("inputDataItem"), id=element_var, name=element_var)
                mi.append(item)
                self._insert_mi_child(mi, item)

    @staticmethod
    def _insert_mi_child(mi, el) -> None:
        mi.remove(el)
        rank = MI_ORDER.index(local(el))
        for i, child in enumerate(mi):
            if is_bpmn(child) and local(child) in MI_ORDER and MI_ORDER.index(local(child)) > rank:
                mi.insert(i, el)
                return
        mi.append(el)

    def link_events(self) -> None:
        """Link events (off-page connectors) become a plain flow from the throw to its catch."""
        def link_name(event):
            definition = children(event, "linkEventDefinition")[0]
            return (definition.get("name") or event.get("name") or "").strip()

        for container in self.containers():
            throws = [e for e in children(container, "intermediateThrowEvent") if children(e, "linkEventDefinition")]
            catches: dict[str, list] = {}
            for e in children(container, "intermediateCatchEvent"):
                if children(e, "linkEventDefinition"):
                    catches.setdefault(link_name(e), []).append(e)
            used = set()
            for throw in throws:
                name = link_name(throw)
                targets = catches.get(name, [])
                if len(targets) != 1 or not name:
                    continue  # checks reports it
                catch = targets[0]
                self._add_flow(container, throw.get("id"), catch.get("id"))
                for d in children(throw, "linkEventDefinition"):
                    throw.remove(d)
                used.add(catch)
                self.warn(throw, "link event '{link}' was replaced by a sequence flow from '{source}' to '{target}'",
                          link=name, source=throw.get("id"), target=catch.get("id"))
            for catch in used:
                for d in children(catch, "linkEventDefinition"):
                    catch.remove(d)

    def _add_flow(self, container, source: str, target: str):
        flow = etree.Element(bpmn("sequenceFlow"), id=self.new_id(f"Flow_auto_{source}_{target}"),
                             sourceRef=source, targetRef=target)
        container.append(flow)
        return flow

    def implicit_splits(self) -> None:
        """Several (or conditional) flows out of a task or event: Camunda's implicit gateway, made explicit."""
        lane_refs: dict[str, list] = {}
        for ref in self.root.iter(bpmn("flowNodeRef")):
            lane_refs.setdefault((ref.text or "").strip(), []).append(ref)
        for container in self.containers():
            by_source: dict[str, list] = {}
            for flow in children(container, "sequenceFlow"):
                by_source.setdefault(flow.get("sourceRef"), []).append(flow)
            for node in [c for c in container if is_bpmn(c) and local(c) in FLOW_NODE_TAGS - GATEWAY_TAGS]:
                outgoing = by_source.get(node.get("id"), []) if node.get("id") else []
                conditional = [f for f in outgoing if self._condition(f) is not None]
                if len(outgoing) >= 2 or conditional:
                    self._split(container, node, outgoing, conditional, lane_refs.get(node.get("id"), []))

    @staticmethod
    def _condition(flow):
        cond = children(flow, "conditionExpression")
        return cond[0] if cond and (cond[0].text or "").strip() else None

    def _split(self, container, node, outgoing, conditional, lane_refs) -> None:
        node_id = node.get("id")
        kind = "inclusiveGateway" if conditional else "parallelGateway"
        gateway = etree.Element(bpmn(kind), id=self.new_id(f"Gateway_auto_{node_id}"))
        node.addnext(gateway)
        default = node.attrib.pop("default", None)
        if conditional and default:
            gateway.set("default", default)
        moved = {f.get("id") for f in outgoing}
        for flow in outgoing:
            flow.set("sourceRef", gateway.get("id"))
            self._text_ref(gateway, "outgoing", flow.get("id"))
            if conditional and self._condition(flow) is None and flow.get("id") != default:
                cond = etree.SubElement(flow, bpmn("conditionExpression"))
                cond.set(f"{{{XSI}}}type", "tFormalExpression")
                cond.text = "${true}"  # an unconditional flow out of an activity is always taken
        link = self._add_flow(container, node_id, gateway.get("id"))
        self._text_ref(gateway, "incoming", link.get("id"), before=gateway[0] if len(gateway) else None)
        for out in children(node, "outgoing"):
            if (out.text or "").strip() in moved:
                node.remove(out)
        self._text_ref(node, "outgoing", link.get("id"))
        for ref in lane_refs:
            self._text_ref(ref.getparent(), "flowNodeRef", gateway.get("id"), before=ref)
        flows = (phrase("{count} outgoing flow", count=len(outgoing)) if len(outgoing) == 1
                 else phrase("{count} outgoing flows", count=len(outgoing)))
        if conditional:
            self.warn(node, "'{element}' has {flows} with conditions; Yimen added the conditional gateway '{gateway}' "
                            "the modeler implies", element=node_id, flows=flows, gateway=gateway.get("id"))
        else:
            self.warn(node, "'{element}' has {flows}; Yimen added the parallel gateway '{gateway}' the modeler implies",
                      element=node_id, flows=flows, gateway=gateway.get("id"))

    def bean_expressions(self) -> None:
        """Bean methods (``${invoiceService.approve(amount)}``) run through the handler registry.

        A service task's ``expression`` with a ``resultVariable`` becomes the handler
        ``${...} -> resultVariable`` (see ``handlers.find``). Every bean method an expression
        calls that no handler is registered for is a warning now and an incident when it runs.
        """
        from .. import expressions
        import handlers

        for el in self.root.iter():
            if not is_bpmn(el):
                continue
            expression_attr = None
            for ns in DIALECTS:
                if el.get(f"{{{ns}}}expression"):
                    expression_attr = f"{{{ns}}}expression"
            result = dialect_attr(el, "resultVariable")
            if expression_attr and result and "->" not in el.get(expression_attr):
                el.set(expression_attr, f"{el.get(expression_attr).strip()} -> {result.strip()}")
            texts = [v for k, v in el.attrib.items() if namespace_of(k) in DIALECTS and ("${" in v or "#{" in v)]
            if local(el) in ("conditionExpression", "condition", "timeDate", "timeDuration", "timeCycle",
                             "loopCardinality", "completionCondition") and el.text:
                texts.append(el.text)
            if not texts:
                continue
            owner = el
            while owner is not None and not (is_bpmn(owner) and owner.get("id") and local(owner) in FLOW_NODE_TAGS
                                             | {"sequenceFlow"}):
                owner = owner.getparent()
            for text in texts:
                text = text.split(" -> ")[0]
                try:
                    beans = expressions.bean_methods(text)
                except Exception:  # noqa: BLE001 - checks reports what does not compile
                    continue
                for bean in beans:
                    if handlers.find_bean(bean) is None:
                        self.warn(owner if owner is not None else el,
                                  "bean method '{bean}' has no handler registered under that name; the step "
                                  "will stop with an incident until one is ({register})", bean=bean,
                                  register=f"handlers.register('{bean}', fn)")

    def ignored_extensions(self) -> None:
        for ext_el in self.root.iter(bpmn("extensionElements")):
            el = ext_el.getparent()
            kinds = []
            for ext in ext_el:
                what = IGNORED_EXTENSIONS.get(local(ext)) if namespace(ext) in DIALECTS else None
                if what and what not in kinds:
                    kinds.append(what)
            if kinds:
                owner = el.get("id") or local(el)
                ignored = kinds[0]
                for kind in kinds[1:]:
                    ignored = phrase("{items}, {item}", items=ignored, item=kind)
                self.warn(el, "'{element}': Yimen ignores {ignored}", element=owner, ignored=ignored)

