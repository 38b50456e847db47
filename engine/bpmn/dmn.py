"""DMN decisions run the way Camunda and Flowable run them.

SpiffWorkflow 3.2's DMN support reads one decision table per file, knows only
the UNIQUE (stopping at the first hit) and COLLECT hit policies, evaluates
entries as Python through the script engine and fails with a bare
``KeyError('id')`` on a rule or entry without an id. Yimen keeps SpiffWorkflow's
business-rule task and parser entry points (``get_engine``, ``add_dmn_xml``)
and replaces what sits behind them:

* ``read_decisions`` reads DMN 1.1 (both namespaces the tools write), 1.2 and
  1.3 files with any number of decisions (tables and literal expressions) and
  their decision requirements graph, and reports every problem with the
  decision and rule it is in;
* ``UnaryTests`` runs FEEL unary tests (``-``, comparisons, ranges, lists,
  ``not(...)``, strings, numbers, booleans, dates, ``?``) and, as SpiffWorkflow
  did, a Python-style test such as ``in ['a', 'b']``; every expression inside
  goes through ``engine.expressions`` (never ``eval``);
* ``Decision.evaluate`` applies each hit policy and aggregation with the
  upstream semantics, and ``DecisionTask`` maps the result into the process
  (``camunda:resultVariable`` / ``camunda:mapDecisionResult``, or Flowable's
  outputs-as-variables; Flowable's ``decisionTaskThrowErrorOnNoHits``).
"""
from __future__ import annotations

import re
from collections import ChainMap
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin

from .. import expressions
from ..errors import ExpressionError, Problem, phrase
from ..expressions import value_kind as _kind
from ..script_engine import multi_instance_variables
from .dialects import dialect_attr, extension_properties

DMN11 = "http://www.omg.org/spec/DMN/20151101/dmn.xsd"   # Camunda Modeler's DMN 1.1
DMN11_PLAIN = "http://www.omg.org/spec/DMN/20151101"     # Flowable's DMN 1.1
DMN12 = "http://www.omg.org/spec/DMN/20180521/MODEL/"
DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"
NAMESPACES = (DMN11, DMN11_PLAIN, DMN12, DMN13)
CAMUNDA_DMN = "http://camunda.org/schema/1.0/dmn"

HIT_POLICIES = ("UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
# Hit policies whose result is a list of rule results even when one rule matched.
MULTIPLE_RESULT_POLICIES = ("COLLECT", "RULE ORDER", "OUTPUT ORDER")
MAPPINGS = ("singleEntry", "singleResult", "collectEntries", "resultList")
_MAPPING_ALIASES = {"singleValue": "singleEntry"}   # the name in Camunda's early documentation
_SCRIPT_LANGUAGES = ("javascript", "js", "groovy", "python", "jython", "jruby", "ruby", "ecmascript")
INPUT_VARIABLE = "cellInput"


class DmnError(Exception):
    """A decision that cannot be evaluated; the message names the decision (and rule)."""


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _kids(el, name: str) -> list:
    return [c for c in el if isinstance(c.tag, str) and _local(c) == name
            and etree.QName(c).namespace in NAMESPACES]


def _text_of(el) -> str | None:
    """The ``<text>`` of an expression element (None when absent or blank)."""
    if el is None:
        return None
    for t in _kids(el, "text"):
        value = (t.text or "").strip()
        return value or None
    return None


def _type(type_ref: str | None) -> str:
    """``feel:string`` (DMN 1.1) and ``string`` both read as 'string'."""
    return (type_ref or "").rsplit(":", 1)[-1].strip().lower()


# ----------------------------------------------------------------- values

_LITERAL = re.compile(r'(date and time|date|time|date:toDate)\s*\(\s*(?:"([^"]*)"|\'([^\']*)\')\s*\)',
                      re.IGNORECASE)


def _literal(text: str) -> tuple[bool, Any]:
    """FEEL temporal literals ``date("2026-01-01")``, ``date and time("...")``, ``time("...")``, and
    Flowable's ``date:toDate('2026-01-01')``."""
    m = _LITERAL.fullmatch(text.strip())
    if not m:
        return False, None
    kind, value = m.group(1).lower().replace("date:todate", "date"), m.group(2) if m.group(2) is not None \
        else m.group(3)
    try:
        if kind == "date":
            return True, date.fromisoformat(value)
        if kind == "time":
            return True, time.fromisoformat(value)
        return True, datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ExpressionError(f"{kind}(\"{value}\") is not a valid {kind} (ISO 8601 expected)") from None


def _as_temporal(value: Any, like: Any) -> Any:
    """A string input compared with a date/time endpoint is read as one."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        if isinstance(like, datetime):
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        if isinstance(like, date):
            return datetime.fromisoformat(text).date() if len(text) > 10 else date.fromisoformat(text)
        if isinstance(like, time):
            return time.fromisoformat(text)
    except ValueError:
        return value
    return value


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def _number(text: str) -> Any:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def _align(a: Any, b: Any) -> tuple[Any, Any]:
    if isinstance(b, (date, time)) and isinstance(a, str):
        a = _as_temporal(a, b)
    elif isinstance(a, (date, time)) and isinstance(b, str):
        b = _as_temporal(b, a)
    elif _is_number(a) and isinstance(b, str):
        try:
            b = _number(b)
        except ValueError:
            pass
    elif isinstance(a, str) and _is_number(b):
        try:
            a = _number(a)
        except ValueError:
            pass
    elif isinstance(a, datetime) != isinstance(b, datetime) and isinstance(a, date) and isinstance(b, date):
        a, b = (a.date() if isinstance(a, datetime) else a), (b.date() if isinstance(b, datetime) else b)
    return a, b


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        if isinstance(a, str) or isinstance(b, str):
            flag, text = (a, b) if isinstance(a, bool) else (b, a)
            return text.strip().lower() == ("true" if flag else "false")
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    a, b = _align(a, b)
    return bool(a == b)


_RELATIONS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
              ">=": lambda a, b: a >= b}


def _relate(op: str, a: Any, b: Any) -> bool:
    if op == "=":
        return _equal(a, b)
    if op == "!=":
        return not _equal(a, b)
    if a is None or b is None:
        return False   # FEEL: a comparison with null is null, which does not match
    if isinstance(a, bool) or isinstance(b, bool):
        raise DmnError(f"cannot compare {_kind(a)} {a!r} with {_kind(b)} {b!r} using '{op}'")
    a, b = _align(a, b)
    try:
        return bool(_RELATIONS[op](a, b))
    except TypeError:
        raise DmnError(f"cannot compare {_kind(a)} {a!r} with {_kind(b)} {b!r} using '{op}'") from None


def _json_value(value: Any) -> Any:
    """Dates go into case data as ISO text (case data is JSON)."""
    if isinstance(value, (datetime, date, time, expressions.YearsMonths)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return expressions.duration_text(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _coerce(value: Any, type_ref: str, what: str) -> Any:
    """Camunda's typeRef conversion of an input or output value."""
    if value is None or not type_ref:
        return value
    try:
        if type_ref in ("integer", "long", "int"):
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str):
                value = _number(value)
            if isinstance(value, float) and value != int(value):
                raise ValueError
            if not _is_number(value):
                raise ValueError
            return int(value)
        if type_ref in ("double", "number", "decimal"):
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str):
                value = _number(value)
            if not _is_number(value):
                raise ValueError
            return float(value) if type_ref == "double" else value
        if type_ref == "boolean":
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            if not isinstance(value, bool):
                raise ValueError
            return value
        if type_ref == "date":
            if isinstance(value, str):
                parsed = _as_temporal(value, date.min)
                if not isinstance(parsed, date):
                    raise ValueError
                return parsed
            return value
    except (ValueError, TypeError, OverflowError):
        raise DmnError(f"{what}: {_kind(value)} {value!r} is not of type '{type_ref}'") from None
    return value


# ----------------------------------------------------------------- expressions and unary tests

Evaluator = Callable[[Any], Any]


def _expression(text: str) -> Evaluator:
    """A FEEL/JUEL/Python expression (or a temporal literal) as a function of the variables."""
    found, value = _literal(text)
    if found:
        return lambda variables: value
    compiled = expressions.compile_expression(_feel(text))
    return compiled


_SINGLE_EQUALS = re.compile(r"(?<![<>!=])=(?!=)")


def _feel(text: str) -> str:
    """FEEL's equality is a single ``=``; Yimen's evaluator spells it ``==`` (outside strings only)."""
    return _outside_strings(text, lambda part: _SINGLE_EQUALS.sub("==", part))


def _skip_string(text: str, i: int) -> int:
    quote, i = text[i], i + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    raise ExpressionError(f"unterminated string in {text!r}")


def _scan(text: str, i: int, stops: tuple[str, ...], closer_ok=None) -> int:
    """Index of the first of ``stops`` at nesting depth 0 from ``i`` (len(text) if none)."""
    depth = 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"":
            i = _skip_string(text, i)
            continue
        if depth == 0:
            for stop in stops:
                if text.startswith(stop, i) and (closer_ok is None or closer_ok(stop, i)):
                    return i
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        i += 1
    return len(text)


def _outside_strings(text: str, fn: Callable[[str], str]) -> str:
    out, i, start = [], 0, 0
    while i < len(text):
        if text[i] in "'\"":
            out.append(fn(text[start:i]))
            end = _skip_string(text, i)
            out.append(text[i:end])
            i = start = end
            continue
        i += 1
    out.append(fn(text[start:]))
    return "".join(out)


@dataclass
class _Test:
    kind: str                    # cmp | range | expr
    op: str = "="
    low: Evaluator | None = None
    high: Evaluator | None = None
    low_closed: bool = True
    high_closed: bool = True
    expr: Evaluator | None = None

    def matches(self, value: Any, variables) -> bool:
        if self.kind == "expr":
            result = self.expr(variables)
            if isinstance(result, (list, tuple)):   # an expression giving a list: the input is in it
                return any(_equal(value, item) for item in result)
            if isinstance(result, bool):
                return result
            return _equal(value, result)
        if self.kind == "cmp":
            endpoint = self.low(variables)
            if self.op == "=" and isinstance(endpoint, (list, tuple)):
                return any(_equal(value, item) for item in endpoint)
            return _relate(self.op, value, endpoint)
        low, high = self.low(variables), self.high(variables)
        return (_relate(">=" if self.low_closed else ">", value, low)
                and _relate("<=" if self.high_closed else "<", value, high))


class UnaryTests:
    """One input entry: FEEL unary tests, compiled once at deploy time."""

    def __init__(self, text: str | None):
        self.text = (text or "").strip()
        self.any = self.text in ("", "-")
        self.negated = False
        self.tests: list[_Test] = []
        if self.any:
            return
        body = self.text
        m = re.match(r"not\s*\(", body)
        if m and _scan(body, m.end(), (")",)) == len(body) - 1:
            self.negated, body = True, body[m.end():-1].strip()
        if self.text.startswith("${") or self.text.startswith("#{"):   # a JUEL boolean over cellInput
            self.tests = [_Test("expr", expr=expressions.compile_expression(self.text))]
            return
        self.tests = self._parse(body)
        if not self.tests:
            raise ExpressionError(f"empty unary test {self.text!r}")

    def _parse(self, body: str) -> list[_Test]:
        tests, i = [], 0
        while i < len(body):
            while i < len(body) and body[i].isspace():
                i += 1
            if i >= len(body):
                break
            interval = self._interval(body, i) if body[i] in "[](" else None
            if interval is not None:
                test, i = interval
            else:
                end = _scan(body, i, (",",))
                test, i = self._positive(body[i:end].strip()), end
            tests.append(test)
            while i < len(body) and body[i].isspace():
                i += 1
            if i < len(body):
                if body[i] != ",":
                    raise ExpressionError(f"expected ',' at position {i} in unary test {self.text!r}")
                i += 1
                if not body[i:].strip():
                    raise ExpressionError(f"unary test {self.text!r} ends with ','")
        return tests

    def _interval(self, body: str, i: int):
        dots = _scan(body, i + 1, ("..", ","))
        if dots >= len(body) or not body.startswith("..", dots):
            return None

        def closes(stop: str, at: int) -> bool:
            rest = body[at + 1:].lstrip()
            return stop in ")]" or rest == "" or rest.startswith(",")

        end = _scan(body, dots + 2, ("]", ")", "["), closes)
        if end >= len(body):
            raise ExpressionError(f"range without its closing bracket in unary test {self.text!r}")
        low, high = body[i + 1:dots].strip(), body[dots + 2:end].strip()
        if not low or not high:
            raise ExpressionError(f"range needs two end points in unary test {self.text!r}")
        test = _Test("range", low=_expression(low), high=_expression(high),
                     low_closed=body[i] == "[", high_closed=body[end] == "]")
        return test, end + 1

    def _positive(self, part: str) -> _Test:
        if not part:
            raise ExpressionError(f"empty test in unary test {self.text!r}")
        m = re.match(r"(<=|>=|!=|==|<|>|=)(?!=)", part)
        if m:
            rest = part[m.end():].strip()
            if not rest:
                raise ExpressionError(f"'{m.group(1)}' needs a value in unary test {self.text!r}")
            op = "=" if m.group(1) == "==" else m.group(1)
            return _Test("cmp", op=op, low=_expression(rest))
        marked = _outside_strings(part, lambda s: s.replace("?", f" {INPUT_VARIABLE} "))
        if marked != part:                   # FEEL 1.2's '?': a boolean expression over the input
            return _Test("expr", expr=expressions.compile_expression(_feel(marked)))
        try:
            return _Test("cmp", op="=", low=_expression(part))
        except ExpressionError as first:
            try:                             # SpiffWorkflow's style: 'in [...]', 'not in (...)'
                return _Test("expr", expr=expressions.compile_expression(f"{INPUT_VARIABLE} {part}"))
            except ExpressionError:
                raise first from None

    def matches(self, value: Any, variables) -> bool:
        if self.any:
            return True
        hit = any(test.matches(value, variables) for test in self.tests)
        return hit != self.negated


def parse_value_list(text: str) -> list[Any]:
    """``"high","medium","low"`` (an output's allowed values, in priority order)."""
    tests = UnaryTests(text)
    values = []
    for test in tests.tests:
        if test.kind != "cmp" or test.op != "=":
            raise ExpressionError(f"output values must be a list of values, not {text!r}")
        values.append(test.low({}))
    return values


# ----------------------------------------------------------------- the model

@dataclass
class Input:
    id: str
    label: str
    text: str
    expression: Evaluator
    type_ref: str
    variable: str


@dataclass
class Output:
    id: str
    name: str
    type_ref: str
    values: list[Any] | None


@dataclass
class Rule:
    id: str
    row: int
    tests: list[UnaryTests]
    outputs: list[tuple[str, Evaluator] | None]

    def label(self) -> str:
        return f"rule '{self.id}' (row {self.row})"


@dataclass
class Decision:
    id: str
    name: str
    file: str
    kind: str = "table"                    # table | literal
    hit_policy: str = "UNIQUE"
    aggregation: str | None = None
    inputs: list[Input] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    required: list[str] = field(default_factory=list)
    literal: Evaluator | None = None
    literal_text: str = ""
    variable: str = ""
    variable_type: str = ""

    @property
    def multiple_results(self) -> bool:
        return self.kind == "table" and self.hit_policy in MULTIPLE_RESULT_POLICIES and not self.aggregation

    def where(self) -> str:
        return f"decision '{self.id}'"

    def where_phrase(self) -> dict:
        """``where`` as a phrase the web translates (problems at deployment)."""
        return phrase("decision '{decision}'", decision=self.id)

    # --- evaluation

    def evaluate(self, variables, decisions: dict[str, "Decision"]) -> list[dict]:
        """The decision result: one map of output name to value per matched rule (Camunda's result list)."""
        context: dict[str, Any] = {}
        for required in self.required:
            upstream = decisions[required]
            add_to_context(upstream, upstream.evaluate(variables, decisions), context)
        scope = ChainMap(context, variables) if context else variables
        if self.kind == "literal":
            try:
                value = self.literal(scope)
            except ExpressionError as exc:
                raise DmnError(f"{self.where()}: literal expression '{self.literal_text}': {exc.message}") from None
            return [{self.variable: _json_value(_coerce(value, self.variable_type, self.where()))}]
        values = [self._input_value(inp, scope) for inp in self.inputs]
        matched: list[tuple[Rule, dict]] = []
        for rule in self.rules:
            if self._matches(rule, values, scope):
                matched.append((rule, self._outputs(rule, scope)))
                if self.hit_policy == "FIRST":
                    break
        return self._apply_hit_policy(matched)

    def _input_value(self, inp: Input, scope) -> Any:
        try:
            value = inp.expression(scope)
        except ExpressionError as exc:
            raise DmnError(f"{self.where()}: input '{inp.label}' ({inp.text}): {exc.message}") from None
        return _coerce(value, inp.type_ref, f"{self.where()}: input '{inp.label}'")

    def _matches(self, rule: Rule, values: list, scope) -> bool:
        for inp, value, test in zip(self.inputs, values, rule.tests):
            if test.any:
                continue
            local = ChainMap({INPUT_VARIABLE: value, inp.variable: value}, scope)
            try:
                if not test.matches(value, local):
                    return False
            except ExpressionError as exc:
                raise DmnError(f"{self.where()}, {rule.label()}, input '{inp.label}': "
                               f"'{test.text}': {exc.message}") from None
            except DmnError as exc:
                raise DmnError(f"{self.where()}, {rule.label()}, input '{inp.label}': {exc}") from None
        return True

    def _outputs(self, rule: Rule, scope) -> dict:
        out = {}
        for output, entry in zip(self.outputs, rule.outputs):
            if entry is None:
                continue                     # an empty output entry is not part of the result (Camunda)
            text, fn = entry
            try:
                value = fn(scope)
            except ExpressionError as exc:
                raise DmnError(f"{self.where()}, {rule.label()}, output '{output.name}' ({text}): "
                               f"{exc.message}") from None
            out[output.name] = _json_value(_coerce(value, output.type_ref,
                                                   f"{self.where()}, {rule.label()}, output '{output.name}'"))
        return out

    def _priority(self, result: dict) -> tuple:
        key = []
        for output in self.outputs:
            if output.values:
                value = result.get(output.name)
                index = next((k for k, allowed in enumerate(output.values) if _equal(value, _json_value(allowed))),
                             len(output.values))
                key.append(index)
        return tuple(key)

    def _apply_hit_policy(self, matched: list[tuple[Rule, dict]]) -> list[dict]:
        policy = self.hit_policy
        names = ", ".join(rule.label() for rule, _ in matched)
        if policy == "UNIQUE" and len(matched) > 1:
            raise DmnError(f"{self.where()}: hit policy UNIQUE allows only one matching rule, "
                           f"but {len(matched)} match: {names}")
        if policy == "ANY" and len(matched) > 1:
            first = matched[0][1]
            for rule, result in matched[1:]:
                if result != first:
                    raise DmnError(f"{self.where()}: hit policy ANY needs the matching rules to give equal "
                                   f"outputs, but {matched[0][0].label()} gives {first} and {rule.label()} "
                                   f"gives {result}")
            return [first]
        if policy in ("FIRST", "UNIQUE"):
            return [result for _, result in matched[:1]]
        if policy == "PRIORITY":
            ordered = sorted(matched, key=lambda m: self._priority(m[1]))
            return [ordered[0][1]] if ordered else []
        if policy == "OUTPUT ORDER":
            return [result for _, result in sorted(matched, key=lambda m: self._priority(m[1]))]
        results = [result for _, result in matched]
        if policy == "RULE ORDER" or not self.aggregation:
            return results
        name = self.outputs[0].name
        values = [r[name] for r in results if r.get(name) is not None]
        if self.aggregation == "COUNT":
            return [{name: len(values)}]
        if not values:
            return []
        bad = next(((rule, r[name]) for rule, r in matched
                    if r.get(name) is not None and not _is_number(r[name])), None)
        if bad:
            raise DmnError(f"{self.where()}: hit policy COLLECT with aggregation {self.aggregation} needs "
                           f"numbers, but {bad[0].label()} gives {_kind(bad[1])} {bad[1]!r}")
        total = sum(values) if self.aggregation == "SUM" else min(values) if self.aggregation == "MIN" \
            else max(values)
        return [{name: total}]


def add_to_context(decision: Decision, result: list[dict], context: dict) -> None:
    """A required decision's result as variables of the decision that needs it (Camunda's rule).

    A single result of a single-result decision gives its outputs; several results (or a
    collecting hit policy) give each output as the list of its values. Outputs of a decision
    without a result are null.
    """
    names = [o.name for o in decision.outputs] if decision.kind == "table" else [decision.variable]
    for name in names:
        context.setdefault(name, None)
    if not result:
        return
    if len(result) == 1 and not decision.multiple_results:
        context.update(result[0])
        return
    for name in dict.fromkeys(k for r in result for k in r):
        context[name] = [r[name] for r in result if name in r]


# ----------------------------------------------------------------- reading DMN files

class _Reader:
    def __init__(self, filename: str, root):
        self.filename, self.root = filename, root
        self.problems: list[Problem] = []

    def problem(self, el, template: str, element_id: str | None = None, **params) -> None:
        self.problems.append(Problem.of(self.filename, element_id or el.get("id"), el.sourceline, template, **params))

    def compile(self, el, where: dict, text: str, fn, element_id: str | None = None) -> Any:
        """``fn(text)``, or a problem at ``el``'s line (reported on ``element_id``, e.g. the rule's).

        ``where`` is a ``phrase`` naming the place (``decision 'd1', rule 'r1' (row 1), input 'Age'``)."""
        language = (el.get("expressionLanguage") or "").strip().lower()
        if language in _SCRIPT_LANGUAGES:
            self.problem(el, "{where}: expression language '{language}' is not run by Yimen ({languages} expressions "
                             "are)", element_id, where=where, language=language, languages="FEEL and JUEL")
            return None
        try:
            return fn(text)
        except ExpressionError as exc:
            self.problem(el, "{where}: cannot read '{text}': {message}", element_id, where=where, text=text,
                         message=exc.message)
            return None

    def read(self) -> dict[str, Decision]:
        decisions: dict[str, Decision] = {}
        elements = _kids(self.root, "decision")
        if not elements:
            self.problem(self.root, "a {dmn} file must hold at least one decision", dmn="DMN")
        for el in elements:
            did = (el.get("id") or "").strip()
            if not did:
                self.problem(el, "decision '{decision}' has no id", decision=el.get("name") or "?")
                continue
            if did in decisions:
                self.problem(el, "decision id '{decision}' is used more than once", decision=did)
                continue
            decision = self.decision(el, did)
            if decision is not None:
                decisions[did] = decision
        self.check_requirements(decisions, elements)
        return decisions

    def decision(self, el, did: str) -> Decision | None:
        decision = Decision(did, el.get("name") or did, self.filename)
        for req in _kids(el, "informationRequirement"):
            for ref in _kids(req, "requiredDecision"):
                href = (ref.get("href") or "").strip()
                decision.required.append(href[1:] if href.startswith("#") else href.rsplit("#", 1)[-1])
        tables, literals = _kids(el, "decisionTable"), _kids(el, "literalExpression")
        if len(tables) + len(literals) != 1:
            self.problem(el, "decision '{decision}' must be one decision table or one literal expression "
                             "(it has {tables} tables and {literals} literal expressions)", decision=did,
                         tables=len(tables), literals=len(literals))
            return None
        if literals:
            return self.literal(el, decision, literals[0])
        return self.table(decision, tables[0])

    def literal(self, el, decision: Decision, lit) -> Decision | None:
        text = _text_of(lit)
        variables = _kids(el, "variable")
        decision.kind = "literal"
        decision.variable = (variables[0].get("name") if variables else None) or decision.id
        decision.variable_type = _type((variables[0].get("typeRef") if variables else None) or lit.get("typeRef"))
        if not text:
            self.problem(lit, "{where}: the literal expression is empty", decision.id, where=decision.where_phrase())
            return None
        decision.literal_text = text
        decision.literal = self.compile(lit, decision.where_phrase(), text, _expression)
        return decision if decision.literal is not None else None

    def table(self, decision: Decision, table) -> Decision | None:
        before = len(self.problems)
        policy = re.sub(r"[\s_]+", " ", (table.get("hitPolicy") or "UNIQUE").strip().upper())
        if policy not in HIT_POLICIES:
            self.problem(table, "{where}: unknown hit policy '{policy}' (expected one of {policies})", decision.id,
                         where=decision.where_phrase(), policy=table.get("hitPolicy"), policies=", ".join(HIT_POLICIES))
        decision.hit_policy = policy
        aggregation = (table.get("aggregation") or "").strip().upper() or None
        if aggregation and (aggregation not in AGGREGATIONS or policy != "COLLECT"):
            self.problem(table, "{where}: aggregation '{aggregation}' is only for hit policy {collect}, one of "
                                "{aggregations}", decision.id, where=decision.where_phrase(), aggregation=aggregation,
                         collect="COLLECT", aggregations=", ".join(AGGREGATIONS))
        decision.aggregation = aggregation
        for k, el in enumerate(_kids(table, "input"), 1):
            self.input(decision, el, k)
        for k, el in enumerate(_kids(table, "output"), 1):
            self.output(decision, el, k)
        if not decision.outputs:
            self.problem(table, "{where}: the decision table has no output", decision.id, where=decision.where_phrase())
        names = [o.name for o in decision.outputs]
        for name in {n for n in names if names.count(n) > 1}:
            self.problem(table, "{where}: two outputs are named '{name}'", decision.id, where=decision.where_phrase(),
                         name=name)
        if aggregation and len(decision.outputs) != 1:
            self.problem(table, "{where}: hit policy {collect} with aggregation {aggregation} needs exactly one output "
                                "(this table has {count})", decision.id, where=decision.where_phrase(),
                         collect="COLLECT", aggregation=aggregation, count=len(decision.outputs))
        if policy in ("PRIORITY", "OUTPUT ORDER") and not any(o.values for o in decision.outputs):
            self.problem(table, "{where}: hit policy {policy} orders results by the outputs' values, but no output "
                                "lists its values ({element})", decision.id, where=decision.where_phrase(),
                         policy=policy, element="outputValues")
        for row, el in enumerate(_kids(table, "rule"), 1):
            self.rule(decision, el, row)
        return decision if len(self.problems) == before else None

    def input(self, decision: Decision, el, k: int) -> None:
        label = el.get("label") or el.get("id") or f"input {k}"
        expr_el = next(iter(_kids(el, "inputExpression")), None)
        text = _text_of(expr_el)
        if not text:
            self.problem(el, "{where}: input '{input}' has no input expression", decision.id,
                         where=decision.where_phrase(), input=label)
            return
        fn = self.compile(expr_el, phrase("{where}: input '{input}'", where=decision.where_phrase(), input=label), text,
                          _expression)
        variable = el.get(f"{{{CAMUNDA_DMN}}}inputVariable") or INPUT_VARIABLE
        decision.inputs.append(Input(el.get("id") or f"input_{k}", label, text, fn, _type(expr_el.get("typeRef")),
                                     variable))

    def output(self, decision: Decision, el, k: int) -> None:
        name = el.get("name") or el.get("label") or el.get("id") or f"output_{k}"
        values = None
        values_el = next(iter(_kids(el, "outputValues")), None)
        text = _text_of(values_el)
        if text:
            values = self.compile(values_el, phrase("{where}: output values of '{output}'",
                                                    where=decision.where_phrase(), output=name), text,
                                  parse_value_list)
        decision.outputs.append(Output(el.get("id") or f"output_{k}", name, _type(el.get("typeRef")), values))

    def rule(self, decision: Decision, el, row: int) -> None:
        rule = Rule(el.get("id") or f"row {row}", row, [], [])
        where = phrase("{decision}, rule '{rule}' (row {row})", decision=decision.where_phrase(), rule=rule.id, row=row)
        entries, outputs = _kids(el, "inputEntry"), _kids(el, "outputEntry")
        if len(entries) != len(decision.inputs) or len(outputs) != len(decision.outputs):
            self.problem(el, "{where}: has {entries} input and {output_entries} output entries, but the "
                             "table has {inputs} inputs and {outputs} outputs", rule.id, where=where,
                         entries=len(entries), output_entries=len(outputs), inputs=len(decision.inputs),
                         outputs=len(decision.outputs))
            return
        for inp, entry in zip(decision.inputs, entries):
            tests = self.compile(entry, phrase("{where}, input '{input}'", where=where, input=inp.label),
                                 _text_of(entry) or "-", UnaryTests, rule.id)
            rule.tests.append(tests)
        for output, entry in zip(decision.outputs, outputs):
            text = _text_of(entry)
            if not text:
                rule.outputs.append(None)
                continue
            at_output = phrase("{where}, output '{output}'", where=where, output=output.name)
            fn = self.compile(entry, at_output, text, _expression, rule.id)
            rule.outputs.append((text, fn))
            if fn is not None and output.values and _is_constant(text):
                try:
                    value = fn({})
                except ExpressionError as exc:
                    self.problem(entry, "{where}: cannot evaluate '{text}': {message}", rule.id, where=at_output,
                                 text=text, message=exc.message)
                    continue
                if not any(_equal(value, allowed) for allowed in output.values):
                    self.problem(entry, "{where}: {value} is not one of the output values {values}", rule.id,
                                 where=at_output, value=repr(value), values=str(output.values))
        decision.rules.append(rule)

    def check_requirements(self, decisions: dict[str, Decision], elements) -> None:
        lines = {el.get("id"): el for el in elements}
        for decision in decisions.values():
            for required in decision.required:
                if required not in decisions and required not in lines:
                    self.problem(lines[decision.id],
                                 "{where} requires decision '{required}', which is not in this file",
                                 where=decision.where_phrase(), required=required)
        state: dict[str, int] = {}

        def visit(did: str, path: tuple) -> None:
            if state.get(did) == 2 or did not in decisions:
                return
            if state.get(did) == 1:
                cycle = " -> ".join(path[path.index(did):] + (did,))
                self.problem(lines[did], "decision requirements form a cycle: {cycle}", cycle=cycle)
                return
            state[did] = 1
            for required in decisions[did].required:
                visit(required, path + (did,))
            state[did] = 2

        for did in decisions:
            visit(did, ())


def _is_constant(text: str) -> bool:
    try:
        return not expressions.free_names(text)
    except ExpressionError:
        return _literal(text)[0]


def read_decisions(filename: str, root) -> tuple[dict[str, Decision], list[Problem]]:
    """Every decision of one DMN file, and every problem found in it."""
    reader = _Reader(filename, root)
    decisions = reader.read()
    return decisions, reader.problems


def problems(filename: str, root) -> tuple[list[Problem], list[str]]:
    """Deploy-time check of one DMN file: its problems and the ids of its decisions."""
    ids = [el.get("id") for el in _kids(root, "decision") if el.get("id")]
    return read_decisions(filename, root)[1], ids


# ----------------------------------------------------------------- the business rule task

class DecisionEngine:
    """What SpiffWorkflow's business-rule task holds: one decision and the graph around it."""

    def __init__(self, decision: Decision, decisions: dict[str, Decision]):
        self.decision, self.decisions = decision, decisions

    def evaluate(self, variables) -> list[dict]:
        return self.decision.evaluate(variables, self.decisions)


def read_mapping(node) -> tuple[str | None, str | None, bool]:
    """(result variable, mapDecisionResult, throw on no hits) of a business rule task element."""
    result_variable = (dialect_attr(node, "resultVariable") or "").strip() or None
    mapping = (dialect_attr(node, "mapDecisionResult") or "").strip() or None
    if mapping is not None:
        mapping = _MAPPING_ALIASES.get(mapping, mapping)
        if mapping not in MAPPINGS:
            raise ValueError(f"business rule task '{node.get('id')}': mapDecisionResult '{mapping}' is not one of "
                             f"{', '.join(MAPPINGS)}")
    throw = (extension_properties(node).get("decisionTaskThrowErrorOnNoHits") or "").strip().lower() == "true"
    return result_variable, mapping, throw


def map_result(decision: Decision, result: list[dict], result_variable: str | None,
               mapping: str | None) -> dict[str, Any]:
    """The variables a business rule task sets from a decision result."""
    if result_variable is None:
        # Flowable's rule: one result gives its outputs as variables; several (or a
        # collecting hit policy) give the list of results, named after the decision.
        if decision.multiple_results or len(result) > 1:
            return {decision.id: result}
        return dict(result[0]) if result else {}
    mapping = mapping or "resultList"
    where = f"{decision.where()}: mapDecisionResult '{mapping}'"
    if mapping == "resultList":
        return {result_variable: result}
    if mapping == "collectEntries":
        for entry in result:
            if len(entry) > 1:
                raise DmnError(f"{where} needs one output per result, but a result has {len(entry)}: {entry}")
        return {result_variable: [value for entry in result for value in entry.values()]}
    if len(result) > 1:
        raise DmnError(f"{where} needs at most one result, but the decision gave {len(result)}")
    single = result[0] if result else None
    if mapping == "singleResult":
        return {result_variable: single}
    if single is not None and len(single) > 1:
        raise DmnError(f"{where} needs one output, but the result has {len(single)}: {single}")
    return {result_variable: next(iter(single.values())) if single else None}


class DecisionTask(BusinessRuleTask):
    """A business rule task that runs a Yimen ``DecisionEngine`` and maps its result."""

    def __init__(self, wf_spec, name, dmnEngine, result_variable=None, mapping=None, throw_on_no_hits=False,
                 **kwargs):
        super().__init__(wf_spec, name, dmnEngine, **kwargs)
        self.result_variable, self.mapping, self.throw_on_no_hits = result_variable, mapping, throw_on_no_hits

    def _run_hook(self, my_task):
        decision = self.dmnEngine.decision
        try:
            result = self.dmnEngine.evaluate(ChainMap(multi_instance_variables(my_task), my_task.data))
            if not result and self.throw_on_no_hits:
                raise DmnError(f"{decision.where()} did not match any rule for the given input "
                               f"(decisionTaskThrowErrorOnNoHits)")
            my_task.data.update(map_result(decision, result, self.result_variable, self.mapping))
        except DmnError as exc:
            raise WorkflowTaskException(f"{exc} (file {decision.file})", task=my_task) from None
        except Exception as exc:  # noqa: BLE001 - whatever goes wrong is this task's error, with its decision
            raise WorkflowTaskException(f"{decision.where()} failed: {type(exc).__name__}: {exc} "
                                        f"(file {decision.file})", task=my_task) from exc
        return super(BusinessRuleTaskMixin, self)._run_hook(my_task)
