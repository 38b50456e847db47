"""Errors in a normalized diagram, all of them, before SpiffWorkflow sees it.

SpiffWorkflow stops at the first problem and words it for developers; a
designer wants every problem at once, with the element and line, in plain
words. Anything that would make SpiffWorkflow refuse, hang or misbehave
quietly (a service task nobody can run, a cron timer, a condition that does
not compile) is reported here.
"""
from __future__ import annotations

from ..errors import ExpressionError, Problem, phrase
from .dialects import (
    CAMUNDA, FLOW_NODE_TAGS, SUBPROCESS_TAGS, children, dialect_attr, has_model_id, is_bpmn, local, tags,
)
from .metadata import HANDLER_PROPERTY, is_expression, is_service_like, source_line

SCRIPT_LANGUAGES = {"javascript", "js", "ecmascript", "groovy", "python", "jython", "jruby", "ruby", "nashorn",
                    "graal.js", "kotlin", "painless"}
# A Python condition is one expression, which the restricted evaluator runs (never eval).
EXPRESSION_LANGUAGES = {"python"}
DATA_ITEMS = ("inputDataItem", "outputDataItem")
UNSUPPORTED = {
    "complexGateway": phrase("complex gateways are not supported; use an inclusive or exclusive gateway"),
}
EVENT_SUBPROCESS_STARTS = ("messageEventDefinition", "timerEventDefinition", "signalEventDefinition",
                           "errorEventDefinition", "escalationEventDefinition", "conditionalEventDefinition")
HANDLER_HOWTO = phrase("name a handler with the extension property '{property}', or {alternatives} "
                       "({dialects} work too)",
                       property=HANDLER_PROPERTY,
                       alternatives="camunda:topic, camunda:delegateExpression or camunda:class",
                       dialects="flowable:/activiti:")


def _expressions():
    """``engine.expressions`` if it is there yet (it is written separately)."""
    try:
        from .. import expressions
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.endswith("expressions"):
            return None
        raise
    return expressions if hasattr(expressions, "compile_expression") else None


def check(filename: str, tree, metadata: dict[str, dict] | None = None, allow_scripts: bool = False) -> list[Problem]:
    """Every error in ``tree`` (already normalized); empty when SpiffWorkflow may have it."""
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    c = _Checker(filename, root, metadata or {}, allow_scripts)
    c.duplicate_ids()
    if is_bpmn(root, "definitions"):
        c.run()
    return sorted(c.problems, key=lambda p: p.line or 0)


class _Checker:
    def __init__(self, filename, root, metadata, allow_scripts):
        self.filename = filename
        self.root = root
        self.metadata = metadata
        self.allow_scripts = allow_scripts
        self.problems: list[Problem] = []
        self.exprs = _expressions()
        self.by_id = {}
        for el in root.iter():
            if has_model_id(el) and local(el) not in DATA_ITEMS:
                self.by_id.setdefault(el.get("id"), el)

    def error(self, el, template: str, element_id: str | None = None, **params) -> None:
        self.problems.append(Problem.of(self.filename, element_id or el.get("id"), source_line(el), template, **params))

    def owner_of(self, el):
        """The flow node (else the nearest element with an id) a nested definition belongs to."""
        node = el
        while node is not None and not (is_bpmn(node) and local(node) in FLOW_NODE_TAGS):
            node = node.getparent()
        if node is not None:
            return node
        node = el
        while node is not None and not (isinstance(node.tag, str) and node.get("id")):
            node = node.getparent()
        return node if node is not None else el

    def compiles(self, text: str) -> str | None:
        """None if ``text`` compiles (or the compiler is not there yet), else the compiler's message."""
        if self.exprs is None:
            return None
        try:
            self.exprs.compile_expression(text)
        except ExpressionError as exc:
            return getattr(exc, "message", None) or str(exc)
        except Exception as exc:  # noqa: BLE001 - untrusted text must never crash a deployment
            return f"{exc.__class__.__name__}: {exc}"
        return None

    def run(self) -> None:
        self.flow_nodes()
        self.sequence_flows()
        self.containers()
        self.event_subprocesses()
        self.conditions()
        self.timers()
        self.multi_instances()
        self.data_objects()
        self.references()
        self.unsafe_constructs()
        self.yimen_properties()

    # --- what SpiffWorkflow would evaluate with Python's eval ------------------------------------

    def unsafe_constructs(self) -> None:
        """SpiffWorkflow evaluates these with ``eval`` instead of the script engine; refuse them."""
        for sub in self.root.iter(*tags("adHocSubProcess")):
            self.error(sub, "ad hoc subprocess '{element}' is not supported ({tool} would evaluate its "
                            "completion condition outside Yimen's restricted evaluator); draw an embedded "
                            "subprocess instead", element=sub.get("id"), tool="SpiffWorkflow")
        for prop in self.root.iter(*tags("correlationProperty")):
            self.error(prop, "correlation property '{element}' is not supported (its retrieval expression "
                             "would run outside Yimen's restricted evaluator); correlate messages by business key "
                             "or instance instead", element=prop.get("id"))

    def yimen_properties(self) -> None:
        """Yimen's own extension properties must hold values Yimen understands."""
        from .specs import APPROVAL_MODES, parse_ratio

        for element_id, meta in self.metadata.items():
            props = meta.get("properties") or {}
            el = self.by_id.get(element_id)
            if el is None:
                continue
            mode = (props.get("yimen.approvalMode") or "").strip()
            if mode and "${" not in mode and "#{" not in mode:
                name, _, inline = mode.lower().partition(":")
                if name not in APPROVAL_MODES:
                    self.error(el, "{property} '{mode}' is not one of {modes}", property="yimen.approvalMode",
                               mode=mode, modes=", ".join(APPROVAL_MODES))
                elif name == "ratio":
                    try:
                        parse_ratio(inline or props.get("yimen.approvalRatio") or "")
                    except (ValueError, ZeroDivisionError):
                        self.error(el, "a {mode} approval mode needs a share in {interval}, e.g. {examples}",
                                   mode="ratio", interval="(0, 1]",
                                   examples="ratio:2/3, ratio:60% or yimen.approvalRatio=0.6")
                if not meta.get("multi_instance"):
                    self.error(el, "{property} applies only to a multi-instance (multi-person) step",
                               property="yimen.approvalMode")
                elif name == "sequential" and not meta["multi_instance"].get("sequential"):
                    self.error(el, "{property} '{mode}' needs {attribute} on the loop", property="yimen.approvalMode",
                               mode="sequential", attribute='isSequential="true"')
            self.clock_properties(el, props)
            if props.get("yimen.formSchema"):
                from ..errors import ValidationError
                from ..forms import fields_of_schema

                try:
                    fields_of_schema(props["yimen.formSchema"])
                except ValidationError as exc:
                    self.error(el, "{property} is not a form Yimen can show: {message}", property="yimen.formSchema",
                               message=exc.message)

    def clock_properties(self, el, props: dict) -> None:
        """yimen.limitDays / yimen.warningDays: whole working days (or an expression); yimen.escalation: known actions."""
        from ..case_clock import ESCALATIONS

        for name in ("yimen.limitDays", "yimen.warningDays"):
            value = (props.get(name) or "").strip()
            if value and "${" not in value and "#{" not in value and not value.isdigit():
                self.error(el, "{property} '{value}' is not a whole number of working days", property=name, value=value)
        actions = [a.strip() for a in (props.get("yimen.escalation") or "").split(",") if a.strip()]
        unknown = [a for a in actions if a not in ESCALATIONS]
        if unknown:
            self.error(el, "{property} {unknown} unknown; use {actions}", property="yimen.escalation", unknown=unknown,
                       actions=", ".join(ESCALATIONS))
        if actions and not (props.get("yimen.limitDays") or "").strip():
            self.error(el, "{property} needs {limit}: escalation runs when the step's limit passes",
                       property="yimen.escalation", limit="yimen.limitDays")

    # --- ids -------------------------------------------------------------------------------------

    def duplicate_ids(self) -> None:
        first: dict[str, object] = {}
        for el in self.root.iter():
            if not has_model_id(el):
                continue
            el_id = el.get("id")
            if local(el) in DATA_ITEMS:
                # Multi-instance items are variable names: sharing one is fine, naming an element is not.
                other = self.by_id.get(el_id)
                if other is not None:
                    owner = self.owner_of(el.getparent())
                    self.error(owner, "the multi-instance item variable '{variable}' of '{owner}' has the "
                                      "same name as the element '{variable}' (line {line}); rename one of them",
                               variable=el_id, owner=owner.get("id"), line=source_line(other))
                continue
            if el_id in first:
                self.error(el, "id '{element}' is used more than once (first at line {line})", element=el_id,
                           line=source_line(first[el_id]))
            else:
                first[el_id] = el

    # --- nodes -----------------------------------------------------------------------------------

    def flow_nodes(self) -> None:
        for el in self.root.iter(*tags(*FLOW_NODE_TAGS)):
            tag, el_id = local(el), el.get("id")
            if not el_id:
                self.error(el, "a {tag} has no id", tag=tag)
                continue
            if tag in UNSUPPORTED:
                self.error(el, "{unsupported}", unsupported=UNSUPPORTED[tag])
            if tag == "scriptTask" and not self.allow_scripts:
                self.error(el, "script tasks are refused unless an administrator allows them for a deployment")
            if is_service_like(el):
                meta = self.metadata.get(el_id) or {}
                if not meta.get("handler"):
                    kind = dialect_attr(el, "type")
                    if kind and kind != "external":
                        self.error(el, "{tag} '{element}' names no handler (its type '{type}' is not built "
                                       "into Yimen); {howto}", tag=tag, element=el_id, type=kind, howto=HANDLER_HOWTO)
                    else:
                        self.error(el, "{tag} '{element}' names no handler; {howto}", tag=tag, element=el_id,
                                   howto=HANDLER_HOWTO)
            if tag == "businessRuleTask":
                decision = el.get(f"{{{CAMUNDA}}}decisionRef") or ""
                if is_expression(decision):
                    self.error(el, "decision reference '{decision}' must be a decision id, not an expression",
                               decision=decision)
            if tag == "callActivity":
                called = (el.get("calledElement") or "").strip()
                if not called:
                    self.error(el, "call activity '{element}' names no process to call ({attribute})", element=el_id,
                               attribute="calledElement")
                elif is_expression(called):
                    self.error(el, "call activity '{element}' must name the called process by id, "
                                   "not by the expression '{expression}'", element=el_id, expression=called)
            if tag == "boundaryEvent":
                self.boundary_event(el)
            for d in children(el, "linkEventDefinition"):
                if tag == "intermediateThrowEvent":
                    self.error(el, "link event '{link}' has no single matching link catch event in the same process",
                               link=d.get("name") or el.get("name") or el_id)
            for d in children(el, "compensateEventDefinition"):
                if tag == "boundaryEvent":
                    self.error(el, "compensation boundary event '{element}' has no handler: connect it by an "
                                   "association to an activity marked {attribute}", element=el_id,
                               attribute='isForCompensation="true"')
                elif tag == "startEvent":
                    self.error(el, "compensation start event '{element}' can only start a compensation event "
                                   "subprocess inside an embedded subprocess that has no compensation boundary "
                                   "event (there it is the subprocess's compensation handler)", element=el_id)
                elif tag not in ("intermediateThrowEvent", "endEvent"):
                    self.error(el, "compensation {tag} '{element}' is not supported; throw compensation with an "
                                   "intermediate or end event", tag=tag, element=el_id)
                elif d.get("activityRef") and d.get("activityRef") not in self.by_id:
                    self.error(el, "compensation of '{element}' names activity '{activity}', which does not exist",
                               element=el_id, activity=d.get("activityRef"))
            for loop in children(el, "standardLoopCharacteristics"):
                if loop.get("loopMaximum") is None and not children(loop, "loopCondition"):
                    self.error(el, "loop '{element}' needs a {maximum} or a {condition}", element=el_id,
                               maximum="loopMaximum", condition="loopCondition")
            for d in children(el, "conditionalEventDefinition"):
                cond = children(d, "condition")
                text = (cond[0].text or "").strip() if cond else ""
                if not text:
                    self.error(el, "conditional event '{element}' has no condition", element=el_id)
                elif (msg := self.compiles(text)) is not None:
                    self.error(el, "condition '{expression}' of '{element}' does not compile: {message}",
                               expression=text, element=el_id, message=msg)

    def boundary_event(self, el) -> None:
        supported = ("cancelEventDefinition", "errorEventDefinition", "escalationEventDefinition",
                     "messageEventDefinition", "signalEventDefinition", "timerEventDefinition",
                     "conditionalEventDefinition")
        if not any(children(el, d) for d in supported) and not children(el, "compensateEventDefinition"):
            self.error(el, "boundary event '{element}' has no event definition Yimen supports", element=el.get("id"))
        attached = el.get("attachedToRef")
        if not attached or attached not in self.by_id:
            self.error(el, "boundary event '{element}' is attached to '{attached}', which does not exist",
                       element=el.get("id"), attached=attached)

    # --- flows -----------------------------------------------------------------------------------

    def sequence_flows(self) -> None:
        for flow in self.root.iter(*tags("sequenceFlow")):
            container = flow.getparent()
            for attr in ("sourceRef", "targetRef"):
                ref = flow.get(attr)
                if not ref:
                    self.error(flow, "sequence flow '{flow}' has no {attribute}", flow=flow.get("id"), attribute=attr)
                    continue
                target = self.by_id.get(ref)
                if target is None:
                    self.error(flow, "sequence flow '{flow}' {attribute} '{ref}' names no element", flow=flow.get("id"),
                               attribute=attr, ref=ref)
                elif target.getparent() is not container or local(target) not in FLOW_NODE_TAGS:
                    self.error(flow, "sequence flow '{flow}' {attribute} '{ref}' is not a step of the same "
                                     "process or subprocess", flow=flow.get("id"), attribute=attr, ref=ref)

    def containers(self) -> None:
        for process in children(self.root, "process"):
            has_nodes = any(is_bpmn(c) and local(c) in FLOW_NODE_TAGS for c in process)
            if has_nodes and process.get("isExecutable", "true") == "true" and not children(process, "startEvent"):
                self.error(process, "process '{process}' has no start event", process=process.get("id"))
        for sub in self.root.iter(*tags(*SUBPROCESS_TAGS)):
            starts = children(sub, "startEvent")
            if local(sub) == "adHocSubProcess":
                if starts or children(sub, "endEvent"):
                    self.error(sub, "ad hoc subprocess '{element}' may not contain start or end events",
                               element=sub.get("id"))
                continue
            if len(starts) != 1 and sub.get("triggeredByEvent") != "true":  # see event_subprocesses
                self.error(sub, "subprocess '{element}' needs exactly one start event (it has {count})",
                           element=sub.get("id"), count=len(starts))

    def event_subprocesses(self) -> None:
        """An event subprocess starts on one event of its own and is not on the flow."""
        for sub in self.root.iter(*tags("subProcess")):
            if sub.get("triggeredByEvent") != "true":
                continue
            sub_id = sub.get("id")
            flows = [f.get("id") for f in self.root.iter(*tags("sequenceFlow"))
                     if sub_id and sub_id in (f.get("sourceRef"), f.get("targetRef"))]
            if flows or children(sub, "incoming") or children(sub, "outgoing"):
                self.error(sub, "event subprocess '{element}' has incoming or outgoing sequence flows "
                                "({flows}); an event subprocess is not connected to the flow, its start event "
                                "starts it",
                           element=sub_id, flows=", ".join(f for f in flows if f) or "incoming/outgoing")
            starts = children(sub, "startEvent")
            if len(starts) != 1:
                self.error(sub, "event subprocess '{element}' needs exactly one start event (it has {count}) "
                                "with a message, timer, signal, error or escalation event definition",
                           element=sub_id, count=len(starts))
                continue
            start = starts[0]
            definitions = [local(d) for d in start if is_bpmn(d) and local(d).endswith("EventDefinition")]
            supported = [d for d in definitions if d in EVENT_SUBPROCESS_STARTS]
            if not definitions:
                self.error(start, "start event '{start}' of event subprocess '{element}' has no event "
                                  "definition; give it a message, timer, signal, error or escalation definition",
                           start=start.get("id"), element=sub_id)
            elif len(definitions) > 1 or not supported:
                self.error(start, "start event '{start}' of event subprocess '{element}' must have exactly "
                                  "one message, timer, signal, error or escalation definition (it has {definitions})",
                           start=start.get("id"), element=sub_id, definitions=", ".join(definitions))
            elif supported == ["errorEventDefinition"] and start.get("isInterrupting", "true").lower() == "false":
                self.error(start, "error start event '{start}' of event subprocess '{element}' cannot be "
                                  "non-interrupting ({standard}: an error always interrupts)",
                           start=start.get("id"), element=sub_id, standard="BPMN")

    def conditions(self) -> None:
        for flow in self.root.iter(*tags("sequenceFlow")):
            for cond in children(flow, "conditionExpression"):
                text = "".join(cond.itertext()).strip()
                language = (cond.get("language") or "").strip().lower()
                if (language in SCRIPT_LANGUAGES and language not in EXPRESSION_LANGUAGES) \
                        or cond.get(f"{{{CAMUNDA}}}resource"):
                    if language:
                        self.error(flow, "condition of sequence flow '{flow}' is a script ({language}); Yimen only "
                                         "evaluates expressions", flow=flow.get("id"), language=language)
                    else:
                        self.error(flow, "condition of sequence flow '{flow}' is a script (external resource); Yimen "
                                         "only evaluates expressions", flow=flow.get("id"))
                elif text and (msg := self.compiles(text)) is not None:
                    self.error(flow, "condition '{expression}' of sequence flow '{flow}' does not compile: {message}",
                               expression=text, flow=flow.get("id"), message=msg)
        for container in self.root.iter(*tags("process", *SUBPROCESS_TAGS)):
            by_source: dict[str, list] = {}
            for flow in children(container, "sequenceFlow"):
                by_source.setdefault(flow.get("sourceRef"), []).append(flow)
            for gateway in children(container, "exclusiveGateway", "inclusiveGateway"):
                self.gateway_flows(gateway, by_source.get(gateway.get("id"), []) if gateway.get("id") else [])

    def gateway_flows(self, gateway, outgoing) -> None:
        gid = gateway.get("id")
        if len(outgoing) >= 2:
            for flow in outgoing:
                cond = children(flow, "conditionExpression")
                if flow.get("id") != gateway.get("default") and not (cond and "".join(cond[0].itertext()).strip()):
                    self.error(flow, "sequence flow '{flow}' out of gateway '{gateway}' has no condition "
                                     "and is not the gateway's default flow", flow=flow.get("id"), gateway=gid)
        if gateway.get("default") and gateway.get("default") not in {f.get("id") for f in outgoing}:
            self.error(gateway, "default flow '{flow}' of gateway '{gateway}' is not one of its outgoing flows",
                       flow=gateway.get("default"), gateway=gid)

    def timers(self) -> None:
        for timer in self.root.iter(*tags("timerEventDefinition")):
            owner = self.owner_of(timer)
            specs = [c for c in timer if is_bpmn(c, "timeDuration", "timeDate", "timeCycle")]
            texts = [(local(s), "".join(s.itertext()).strip()) for s in specs]
            if not texts or not any(t for _, t in texts):
                self.error(owner, "timer of '{element}' is empty: give a {kinds} ({standard}, e.g. {example})",
                           element=owner.get("id"), kinds="timeDuration, timeDate or timeCycle", standard="ISO 8601",
                           example="PT72H")
                continue
            for kind, text in texts:
                if not text:
                    self.error(owner, "{kind} of the timer of '{element}' is empty", kind=kind, element=owner.get("id"))
                elif self.exprs is not None and not self._iso(text) and self.compiles(text) is not None:
                    self.error(owner, "{kind} '{text}' of '{element}' is neither an {standard} timer "
                                      "(e.g. {examples}) nor an expression", kind=kind, text=text,
                               element=owner.get("id"), standard="ISO 8601",
                               examples="PT72H, 2025-01-01T09:00:00+08:00, R3/PT1H")

    def _iso(self, text: str) -> bool:
        fn = getattr(self.exprs, "is_iso8601_timer", None)
        return bool(fn and fn(text))

    def multi_instances(self) -> None:
        for mi in self.root.iter(*tags("multiInstanceLoopCharacteristics")):
            owner = mi.getparent()
            has = {tag: bool(children(mi, tag)) for tag in ("loopCardinality", "loopDataInputRef")}
            if not any(has.values()) and not dialect_attr(mi, "collection"):
                self.error(owner, "multi-instance '{element}' has neither a collection nor a loop cardinality",
                           element=owner.get("id"))
            elif all(has.values()):
                self.error(owner, "multi-instance '{element}' has both a loop cardinality and a loop input; keep one",
                           element=owner.get("id"))
            for tag in ("loopCardinality", "completionCondition"):
                for el in children(mi, tag):
                    text = (el.text or "").strip()
                    if text and (msg := self.compiles(text)) is not None:
                        self.error(owner, "{tag} '{expression}' of '{element}' does not compile: {message}", tag=tag,
                                   expression=text, element=owner.get("id"), message=msg)
            meta = self.metadata.get(owner.get("id") or "") or {}
            collection = (meta.get("multi_instance") or {}).get("collection")
            if collection and is_expression(collection) and (msg := self.compiles(collection)) is not None:
                self.error(owner, "collection '{expression}' of '{element}' does not compile: {message}",
                           expression=collection, element=owner.get("id"), message=msg)

    def references(self) -> None:
        """errorRef & co. naming an element of another kind (normalize adds the missing ones)."""
        kinds = {"errorEventDefinition": ("errorRef", "error", phrase("an error")),
                 "escalationEventDefinition": ("escalationRef", "escalation", phrase("an escalation")),
                 "messageEventDefinition": ("messageRef", "message", phrase("a message")),
                 "signalEventDefinition": ("signalRef", "signal", phrase("a signal"))}
        for el in self.root.iter(*tags(*kinds)):
            attr, kind, expected = kinds[local(el)]
            ref = el.get(attr)
            target = self.by_id.get(ref) if ref else None
            if target is not None and not is_bpmn(target, kind):
                owner = self.owner_of(el)
                self.error(owner, "{attribute} '{ref}' of '{element}' names a {found}, not {expected}", attribute=attr,
                           ref=ref, element=owner.get("id"), found=local(target), expected=expected)

    def data_objects(self) -> None:
        """SpiffWorkflow looks a data object up in the task's scope and its parent only (deeper loops forever)."""
        scopes = {}
        for container in self.root.iter(*tags("process", *SUBPROCESS_TAGS)):
            scopes[container] = {d.get("id") for d in children(container, "dataObject")}
        for assoc in self.root.iter(*tags("dataInputAssociation", "dataOutputAssociation")):
            node = assoc.getparent()
            end = "sourceRef" if local(assoc) == "dataInputAssociation" else "targetRef"
            for ref_el in children(assoc, end):
                ref = (ref_el.text or "").strip()
                target = self.by_id.get(ref)
                if target is None:
                    self.error(node, "data association of '{element}' names '{ref}', which does not exist",
                               element=node.get("id"), ref=ref)
                    continue
                if not is_bpmn(target, "dataObjectReference"):
                    continue
                obj = target.get("dataObjectRef")
                scope = node.getparent()
                reachable = scopes.get(scope, set()) | scopes.get(scope.getparent(), set())
                if obj not in reachable:
                    self.error(node, "data object '{data_object}' used by '{element}' must be declared in the same "
                                     "process or subprocess, or the one directly around it", data_object=obj,
                               element=node.get("id"))
