"""Yimen's restricted expression language for text found in uploaded diagrams.

Diagram uploads are untrusted, so conditions, timers, cardinalities and
assignments are never given to eval/exec/compile. Instead a hand-written
tokenizer and Pratt parser build a small tuple AST, and a tree-walking
interpreter runs it. The interpreter can only read variables, look up map keys
and list items, and call a fixed whitelist of functions and methods; it never
uses getattr on Python objects.

One grammar serves both dialects diagrams are written in: JUEL
(Camunda/Flowable/Activiti, ``${amount > 1000 && !rejected}``) and the
Python-style conditions SpiffWorkflow diagrams use
(``amount > 1000 and not rejected``). Choices worth knowing:

* ``not`` binds like Python's (``not a == b`` is ``not (a == b)``); ``!`` like JUEL's.
* ``and``/``or`` return an operand as in Python; comparisons return booleans.
* Unknown names raise, except under ``empty`` and in comparisons with null.
* ``==`` coerces numeric strings and 'true'/'false' strings, as JUEL does.
"""
from __future__ import annotations

import calendar
import functools
import math
import operator
import re
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from .errors import ExpressionError

MAX_SOURCE = 10_000       # characters of expression text
MAX_DEPTH = 100           # nesting of the parse and of the AST
MAX_STEPS = 100_000       # node visits per evaluation
MAX_OUTPUT = 1_000_000    # characters/items an evaluation may produce in total
MAX_INT_BITS = 4_096      # integers beyond this are refused (no bignum CPU burn)

__all__ = ["Compiled", "YearsMonths", "bean_methods", "compile_expression", "evaluate", "free_names",
           "is_iso8601_timer", "value_kind"]


# ----------------------------------------------------------------- ISO 8601 timers

_N = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(rf"P(?:({_N})Y)?(?:({_N})M)?(?:({_N})W)?(?:({_N})D)?"
                       rf"(?:T(?=\d)(?:({_N})H)?(?:({_N})M)?(?:({_N})S)?)?")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_CYCLE = re.compile(r"R\d*/(.+)")


def _is_duration(text: str) -> bool:
    """A duration SpiffWorkflow can parse: weeks alone, a fraction only on the last part."""
    m = _DURATION.fullmatch(text)
    if not m:
        return False
    years, months, weeks, days = m.groups()[:4]
    given = [g for g in m.groups() if g is not None]
    if not given or (weeks and (years or months or days)):
        return False
    return not any(c in g for g in given[:-1] for c in ".,")


def _is_datetime(text: str) -> bool:
    if not _DATETIME.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text.replace(",", "."))
    except ValueError:
        return False
    return True


def is_iso8601_timer(text: str) -> bool:
    """True for an ISO 8601 duration, repeating cycle or date/datetime (timer literals pass through)."""
    if not isinstance(text, str):
        return False
    text = text.strip()
    m = _CYCLE.fullmatch(text)
    if m:
        parts = m.group(1).split("/")
        if len(parts) == 1:
            return _is_duration(parts[0])
        return len(parts) == 2 and (
            (_is_datetime(parts[0]) and _is_duration(parts[1]))
            or (_is_duration(parts[0]) and _is_datetime(parts[1])))
    return _is_duration(text) or _is_datetime(text)


# ----------------------------------------------------------------- errors

def _shorten(text: str) -> str:
    return text if len(text) <= 200 else text[:200] + "..."


def _syntax(src: str, reason: str, pos: int) -> ExpressionError:
    shown = _shorten(src)
    return ExpressionError(f"{reason} at position {pos} in {shown!r}", expression=shown, position=pos)


class _Fail(Exception):
    """A runtime refusal raised by a helper; the interpreter adds the position."""


class _Missing(_Fail):
    """A key or index that is not there (null under ``empty`` / ``== null``)."""


# ----------------------------------------------------------------- tokenizer

_CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
_KEYWORDS = {"and", "or", "not", "div", "mod", "lt", "gt", "le", "ge", "eq", "ne",
             "empty", "in", "is", "if", "else", "instanceof"}
_SYMBOLS = ("&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "+", "-", "*", "/", "%",
            "(", ")", "[", "]", "{", "}", ",", "..", ".", "?", ":")
# FEEL's built-in functions whose names have spaces; read as one name when a '(' follows
_FEEL_PHRASES = re.compile(r"(string\s+length|upper\s+case|lower\s+case|starts\s+with|ends\s+with|"
                           r"years\s+and\s+months\s+duration|date\s+and\s+time|list\s+contains|index\s+of)"
                           r"(?=\s*\()")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "$": "$", "#": "#"}
_NUMBER = re.compile(r"\d+(\.\d+)?([eE][+-]?\d+)?")


def _read_string(src: str, i: int, end: int) -> tuple[str, int]:
    """A quoted literal starting at ``src[i]``; returns (value, index after the closing quote)."""
    quote, start, out = src[i], i, []
    i += 1
    while i < end:
        ch = src[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\" and i + 1 < end:
            nxt = src[i + 1]
            hex4 = src[i + 2:i + 6]
            if nxt == "u" and len(hex4) == 4 and all(c in "0123456789abcdefABCDEF" for c in hex4):
                out.append(chr(int(hex4, 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    raise _syntax(src, "unterminated string starting", start)


def _tokenize(src: str, i: int, end: int, in_block: bool) -> tuple[list[tuple], int | None]:
    """Tokens ``(kind, value, pos, text)`` of ``src[i:end]``.

    In a ``${...}`` block, stops at the unmatched ``}`` and returns the index
    after it (None if there is none), so braces inside strings and map
    literals don't end the block early.
    """
    toks: list[tuple] = []
    depth = 0
    while i < end:
        ch = src[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        if "0" <= ch <= "9":
            m = _NUMBER.match(src, i, end)
            text, i = m.group(), m.end()
            if i < end and (src[i].isalnum() or src[i] == "_"):
                raise _syntax(src, "invalid number", start)
            if len(text) > 1000:
                raise _syntax(src, "number literal too long", start)
            value = float(text) if (m.group(1) or m.group(2)) else int(text)
            toks.append(("num", value, start, text))
        elif ch in "'\"":
            value, i = _read_string(src, i, end)
            toks.append(("str", value, start, src[start:i]))
        elif (phrase := _FEEL_PHRASES.match(src, i, end)) is not None:
            i = phrase.end()
            toks.append(("name", " ".join(phrase.group().split()), start, phrase.group()))
        elif ch.isalpha() or ch == "_":
            while i < end and (src[i].isalnum() or src[i] == "_"):
                i += 1
            word = src[start:i]
            if word.startswith("_"):
                raise _syntax(src, f"names starting with '_' are not allowed ('{word}')", start)
            if "__" in word:
                raise _syntax(src, f"names containing '__' are not allowed ('{word}')", start)
            if word in _CONSTANTS:
                toks.append(("const", _CONSTANTS[word], start, word))
            else:
                toks.append(("op" if word in _KEYWORDS else "name", word, start, word))
        else:
            sym = next((s for s in _SYMBOLS if src.startswith(s, i, end)), None)
            if sym is None:
                hint = " (use '==' to compare)" if ch == "=" else ""
                raise _syntax(src, f"unexpected character {ch!r}{hint}", start)
            if in_block and sym == "{":
                depth += 1
            elif in_block and sym == "}":
                if depth == 0:
                    toks.append(("end", None, i, ""))
                    return toks, i + 1
                depth -= 1
            toks.append(("op", sym, start, sym))
            i += len(sym)
    if in_block:
        return toks, None
    toks.append(("end", None, end, ""))
    return toks, end


# ----------------------------------------------------------------- parser
#
# AST nodes are tuples whose first item is the kind:
#   ('const', v) ('name', n, pos) ('list', [items], pos) ('dict', [(k, v)], pos)
#   ('member', base, name, pos) ('index', base, key, pos) ('method', base, name, [args], pos)
#   ('scope', method, [args], pos)   execution/task.getVariable(...)
#   ('call', fname, [args], pos) ('unary', op, operand, pos) ('bin', op, left, right, pos)
#   ('cmp', [ops], [operands], pos) ('and', [items]) ('or', [items])
#   ('cond', test, then, else) ('soft', node) ('concat', [parts])

_INFIX = {"?": 10, "if": 10, "||": 20, "or": 20, "&&": 30, "and": 30,
          "==": 50, "!=": 50, "eq": 50, "ne": 50,
          "<": 60, ">": 60, "<=": 60, ">=": 60, "lt": 60, "gt": 60, "le": 60, "ge": 60, "in": 60, "is": 60,
          "+": 70, "-": 70, "*": 80, "/": 80, "div": 80, "%": 80, "mod": 80, ".": 100, "[": 100, "(": 100}
_ALIASES = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=",
            "div": "/", "mod": "%", "&&": "and", "||": "or"}
_BP_NOT, _BP_REL, _BP_UNARY = 40, 60, 90
_RANGE_FOLLOWERS = (")", "]", ",", "and", "or", "&&", "||", "?", ":")
_SCOPE_METHODS = {"getVariable": 1, "getVariableLocal": 1, "hasVariable": 1, "getVariables": 0}
_METHODS = {"size": 0, "length": 0, "isEmpty": 0, "contains": 1, "containsKey": 1, "startsWith": 1,
            "endsWith": 1, "equals": 1, "get": 1, "trim": 0, "toUpperCase": 0, "toLowerCase": 0}


def _is_null(node: tuple) -> bool:
    return node[0] == "const" and node[1] is None


def _soften(ops: list[str], operands: list[tuple]) -> None:
    """Let ``x == null`` / ``x is None`` read a missing ``x`` as null instead of failing."""
    for k, op in enumerate(ops):
        if op in ("==", "!=", "is", "is not"):
            for this, other in ((k, k + 1), (k + 1, k)):
                if _is_null(operands[other]) and operands[this][0] != "soft":
                    operands[this] = ("soft", operands[this])


class _Parser:
    """Pratt parser over one token list; recursion is capped at MAX_DEPTH."""

    def __init__(self, src: str, toks: list[tuple]):
        self.src, self.toks, self.i, self.depth = src, toks, 0, 0

    def fail(self, reason: str, pos: int):
        raise _syntax(self.src, reason, pos)

    def peek(self, ahead: int = 0) -> tuple:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def take(self) -> tuple:
        tok = self.toks[self.i]
        if tok[0] != "end":
            self.i += 1
        return tok

    def at(self, op: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok[0] == "op" and tok[1] == op

    @staticmethod
    def describe(tok: tuple) -> str:
        return "end of expression" if tok[0] == "end" else repr(tok[3])

    def expect(self, op: str) -> tuple:
        if not self.at(op):
            tok = self.peek()
            self.fail(f"expected '{op}' but found {self.describe(tok)}", tok[2])
        return self.take()

    def whole(self) -> tuple:
        node = self.expr(0)
        tok = self.peek()
        if tok[0] != "end":
            self.fail(f"unexpected {self.describe(tok)}", tok[2])
        return node

    def lbp(self) -> int:
        tok = self.peek()
        if tok[0] != "op":
            return 0
        if tok[1] == "not":
            return _BP_REL if self.at("in", 1) else 0
        if tok[1] == "[" and (self.peek(1)[0] == "end" or self.peek(1)[1] in _RANGE_FOLLOWERS):
            return 0   # not an index: the '[' closing an open FEEL range, ``[1..10[``
        return _INFIX.get(tok[1], 0)

    def expr(self, rbp: int) -> tuple:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail("expression is nested too deeply", self.peek()[2])
        left = self.nud(self.take())
        while rbp < self.lbp():
            left = self.led(self.take(), left)
        self.depth -= 1
        return left

    def items(self, close: str) -> list[tuple]:
        out = []
        while not self.at(close):
            out.append(self.expr(0))
            if not self.at(close):
                self.expect(",")
        self.take()
        return out

    def nud(self, tok: tuple) -> tuple:
        kind, value, pos, _ = tok
        if kind in ("num", "str", "const"):
            return ("const", value)
        if kind == "name":
            return ("name", value, pos)
        if kind == "end":
            self.fail("expression ended too early", pos)
        if value == "(":
            node = self.expr(0)
            if self.at(".."):
                return self.range_rest(node, False, pos)
            self.expect(")")
            return node
        if value == "]":   # FEEL's open low end written outward: ]1..10]
            low = self.expr(0)
            if not self.at(".."):
                self.fail(f"expected '..' of a range but found {self.describe(self.peek())}", self.peek()[2])
            return self.range_rest(low, False, pos)
        if value == "[":
            if self.at("]"):
                self.take()
                return ("list", [], pos)
            first = self.expr(0)
            if self.at(".."):
                return self.range_rest(first, True, pos)
            if not self.at("]"):
                self.expect(",")
            return ("list", [first, *self.items("]")], pos)
        if value == "{":
            pairs = []
            while not self.at("}"):
                key = self.expr(0)
                self.expect(":")
                pairs.append((key, self.expr(0)))
                if not self.at("}"):
                    self.expect(",")
            self.take()
            return ("dict", pairs, pos)
        if value in ("-", "+"):
            operand = self.expr(_BP_UNARY)
            if operand[0] == "const" and _is_number(operand[1]) and not isinstance(operand[1], bool):
                return ("const", -operand[1] if value == "-" else operand[1])
            return ("unary", value, operand, pos)
        if value in ("!", "not"):
            return ("unary", "not", self.expr(_BP_NOT if value == "not" else _BP_UNARY), pos)
        if value == "empty":
            return ("unary", "empty", ("soft", self.expr(_BP_UNARY)), pos)
        self.fail(f"unexpected {self.describe(tok)}", pos)

    def range_rest(self, low: tuple, low_closed: bool, pos: int) -> tuple:
        """FEEL ranges ``[1..10]``, ``(1..10)``, ``[1..10[``: after the low end point, at '..'."""
        self.expect("..")
        high = self.expr(0)
        tok = self.take()
        if tok[0] != "op" or tok[1] not in ("]", ")", "["):
            self.fail(f"expected ']' or ')' to close the range but found {self.describe(tok)}", tok[2])
        return ("range", low, high, low_closed, tok[1] == "]", pos)

    def led(self, tok: tuple, left: tuple) -> tuple:
        op, pos = _ALIASES.get(tok[1], tok[1]), tok[2]
        if op == "?":
            then = self.expr(0)
            self.expect(":")
            return ("cond", left, then, self.expr(9))
        if op == "if":
            test = self.expr(10)
            self.expect("else")
            return ("cond", test, left, self.expr(9))
        if op in ("and", "or"):
            bp, items = _INFIX[op], [left]
            items.append(self.expr(bp))
            while self.peek()[0] == "op" and _ALIASES.get(self.peek()[1], self.peek()[1]) == op:
                self.take()
                items.append(self.expr(bp))
            return (op, items)
        if op in ("==", "!="):
            ops, operands = [op], [left, self.expr(_INFIX[op])]
            _soften(ops, operands)
            return ("cmp", ops, operands, pos)
        if _INFIX.get(op) == _BP_REL or op == "not":
            ops, operands = [], [left]
            while True:                      # Python-style chains: a < b < c
                if op == "not":
                    self.expect("in")
                    op = "not in"
                elif op == "is" and self.at("not"):
                    self.take()
                    op = "is not"
                ops.append(op)
                operands.append(self.expr(_BP_REL))
                if self.lbp() != _BP_REL:
                    break
                nxt = self.take()[1]
                op = _ALIASES.get(nxt, nxt)
            _soften(ops, operands)
            return ("cmp", ops, operands, pos)
        if op in ("+", "-", "*", "/", "%"):
            return ("bin", op, left, self.expr(_INFIX[op]), pos)
        if op == ".":
            name_tok = self.take()
            name = name_tok[3]
            if name_tok[0] == "end" or not name[:1].isalpha():
                self.fail(f"expected a name after '.' but found {self.describe(name_tok)}", name_tok[2])
            if not self.at("("):
                return ("member", left, name, pos)
            self.take()
            args = self.items(")")
            if left[0] == "name" and left[1] in ("execution", "task") and name in _SCOPE_METHODS:
                table, kind = _SCOPE_METHODS, "scope"
            elif name in _METHODS:
                table, kind = _METHODS, "method"
            elif (bean := _bean_name(left)) is not None:
                # ``${invoiceService.approve(amount)}``: a bean method, i.e. the handler registered as
                # 'invoiceService.approve' (resolved when evaluated; see ``handlers.find_bean``)
                return ("bean", f"{bean}.{name}", args, pos)
            else:
                self.fail(f"method '{name}' is not allowed", name_tok[2])
            if len(args) != table[name]:
                self.fail(f"{name}() takes {table[name]} argument(s), got {len(args)}", name_tok[2])
            return ("scope", name, args, pos) if kind == "scope" else ("method", left, name, args, pos)
        if op == "[":
            key = self.expr(0)
            self.expect("]")
            return ("index", left, key, pos)
        if op == "(":
            if left[0] != "name":
                self.fail(f"only these functions can be called: {', '.join(sorted(_FUNCTIONS))}", pos)
            fname = left[1]
            if fname not in _FUNCTIONS:
                self.fail(f"function '{fname}' is not allowed", left[2])
            args = self.items(")")
            _, lo, hi = _FUNCTIONS[fname]
            if not lo <= len(args) <= hi:
                self.fail(f"{fname}() takes {lo if lo == hi else f'at least {lo}'} argument(s), "
                          f"got {len(args)}", left[2])
            return ("call", fname, args, pos)
        self.fail(f"unexpected {self.describe(tok)}", pos)  # pragma: no cover - lbp() guards this


def _parse_template(src: str, i: int, end: int) -> tuple:
    """Literal text mixed with ``${...}``/``#{...}`` blocks; a lone block is its own expression."""
    parts: list[tuple] = []
    literal: list[str] = []
    blocks = 0
    while i < end:
        ch = src[i]
        if ch == "\\" and src.startswith(("${", "#{"), i + 1, end):
            literal.append(src[i + 1:i + 3])      # \${ is a literal ${
            i += 3
        elif ch in "$#" and src.startswith("{", i + 1, end):
            toks, close = _tokenize(src, i + 2, end, True)
            if close is None:
                raise _syntax(src, f"unterminated '{ch}{{' (no closing '}}') starting", i)
            if len(toks) == 1:
                raise _syntax(src, f"empty '{ch}{{}}' block", i)
            if literal:
                parts.append(("const", "".join(literal)))
                literal = []
            parts.append(_Parser(src, toks).whole())
            blocks += 1
            i = close
        else:
            literal.append(ch)
            i += 1
    if literal:
        parts.append(("const", "".join(literal)))
    if blocks == 1 and len(parts) == 1:
        return parts[0]
    return ("concat", parts)


def _bean_name(node: tuple) -> str | None:
    """``svc`` for ``svc``, ``a.b`` for ``a.b`` (names and members only); else None."""
    parts = []
    while node[0] == "member":
        parts.append(node[2])
        node = node[1]
    if node[0] != "name" or node[1] in ("execution", "task"):
        return None
    parts.append(node[1])
    return ".".join(reversed(parts))


def _children(node: tuple):
    kind = node[0]
    if kind == "bean":
        return node[2]
    if kind in ("list", "and", "or", "concat"):
        return node[1]
    if kind == "dict":
        return [x for pair in node[1] for x in pair]
    if kind in ("member", "soft"):
        return (node[1],)
    if kind in ("index", "range"):
        return (node[1], node[2])
    if kind == "method":
        return (node[1], *node[3])
    if kind in ("scope", "call", "cmp"):
        return node[2]
    if kind == "unary":
        return (node[2],)
    if kind == "bin":
        return (node[2], node[3])
    if kind == "cond":
        return node[1:4]
    return ()


def _walk(node: tuple):
    """Every node with its depth, without recursion."""
    stack = [(node, 1)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((child, depth + 1) for child in _children(node))


# ----------------------------------------------------------------- values

def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, Decimal))


def value_kind(v: Any) -> str:
    """A type name users of either dialect (and of FEEL) will understand."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if _is_number(v):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, datetime):
        return "date and time"
    if isinstance(v, date):
        return "date"
    if isinstance(v, time):
        return "time"
    if isinstance(v, (timedelta, YearsMonths)):
        return "duration"
    if isinstance(v, Mapping):
        return "map"
    if isinstance(v, (list, tuple)):
        return "list"
    if isinstance(v, Set):
        return "set"
    return type(v).__name__


# ----------------------------------------------------------------- FEEL values: durations, ranges

@dataclass(frozen=True, order=True)
class YearsMonths:
    """A FEEL years-and-months duration (``duration("P1Y2M")``): a whole number of months."""
    months: int

    def isoformat(self) -> str:
        sign, n = ("-" if self.months < 0 else ""), abs(self.months)
        years, months = divmod(n, 12)
        body = (f"{years}Y" if years else "") + (f"{months}M" if months or not years else "")
        return f"{sign}P{body}"


@dataclass(frozen=True)
class Range:
    """A FEEL range ``[low..high]`` (``low_closed``/``high_closed`` for ``[`` / ``]``)."""
    low: Any
    high: Any
    low_closed: bool
    high_closed: bool

    def holds(self, value: Any) -> bool:
        if value is None:
            return False
        low = _compare(">=" if self.low_closed else ">", value, self.low)
        return low and _compare("<=" if self.high_closed else "<", value, self.high)


def duration_text(value: timedelta) -> str:
    """ISO 8601 text of a days-and-time duration (``P3DT2H``), as FEEL prints it."""
    total = value.total_seconds()
    sign, total = ("-" if total < 0 else ""), abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    seconds = int(seconds) if seconds == int(seconds) else round(seconds, 6)
    clock = "".join(f"{int(n) if unit != 'S' else n}{unit}" for n, unit in
                    ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    out = (f"{int(days)}D" if days else "") + (f"T{clock}" if clock else "")
    return f"{sign}P{out or 'T0S'}"


_FEEL_DURATION = re.compile(r"(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                            r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def _duration(text: Any) -> timedelta | YearsMonths:
    if isinstance(text, (timedelta, YearsMonths)):
        return text
    text = _str_arg("duration", text).strip()
    m = _FEEL_DURATION.fullmatch(text) if len(text) <= 100 else None
    if not m or not any(m.groups()[1:]):
        raise _Fail(f"duration() needs an ISO 8601 duration such as 'P3D' or 'P1Y2M', got {_shorten(repr(text))}")
    neg, years, months, weeks, days, hours, minutes, seconds = m.groups()
    sign = -1 if neg else 1
    if (years or months) and (weeks or days or hours or minutes or seconds):
        raise _Fail(f"duration {text!r} mixes years/months with days/time; FEEL keeps the two kinds apart")
    if years or months:
        return YearsMonths(sign * (int(years or 0) * 12 + int(months or 0)))
    return sign * timedelta(weeks=int(weeks or 0), days=int(days or 0), hours=int(hours or 0),
                            minutes=int(minutes or 0), seconds=float(seconds or 0))


def _add_months(day: date, months: int) -> date:
    years, month = divmod(day.month - 1 + months, 12)
    year = day.year + years
    if not 1 <= year <= 9999:
        raise _Fail("date out of range")
    return day.replace(year=year, month=month + 1, day=min(day.day, calendar.monthrange(year, month + 1)[1]))


def _temporal_arith(op: str, a: Any, b: Any) -> Any:
    """FEEL's arithmetic of dates, times and durations; NotImplemented when neither side is one."""
    durations = (timedelta, YearsMonths)
    temporal = (date, time, *durations)
    if not (isinstance(a, temporal) or isinstance(b, temporal)):
        return NotImplemented
    if op == "+" and isinstance(a, durations) and isinstance(b, (date, time)):
        a, b = b, a
    if op in ("+", "-") and isinstance(b, YearsMonths):
        n = b.months if op == "+" else -b.months
        if isinstance(a, YearsMonths):
            return YearsMonths(a.months + n)
        if isinstance(a, date):
            return _add_months(a, n)
    if op in ("+", "-") and isinstance(b, timedelta):
        if isinstance(a, timedelta):
            return a + b if op == "+" else a - b
        if isinstance(a, date) and not isinstance(a, datetime):
            if b % timedelta(days=1):
                a = datetime.combine(a, time())
            return a + b if op == "+" else a - b
        if isinstance(a, datetime):
            return a + b if op == "+" else a - b
        if isinstance(a, time):
            moved = datetime.combine(date(2000, 1, 1), a) + (b if op == "+" else -b)
            return moved.timetz().replace(tzinfo=a.tzinfo)
    if op == "-" and isinstance(a, date) and isinstance(b, date):
        if isinstance(a, datetime) != isinstance(b, datetime):
            a = a if isinstance(a, datetime) else datetime.combine(a, time(), b.tzinfo)
            b = b if isinstance(b, datetime) else datetime.combine(b, time(), a.tzinfo)
        return a - b
    if op == "-" and isinstance(a, time) and isinstance(b, time):
        return datetime.combine(date(2000, 1, 1), a) - datetime.combine(date(2000, 1, 1), b)
    if op in ("*", "/") and isinstance(a, durations) and _is_number(b) and not isinstance(b, bool):
        if op == "/" and b == 0:
            raise _Fail("division by zero")
        if isinstance(a, YearsMonths):
            return YearsMonths(int(a.months * b) if op == "*" else int(a.months / b))
        return a * float(b) if op == "*" else a / float(b)
    if op == "*" and _is_number(a) and isinstance(b, durations):
        return _temporal_arith("*", b, a)
    if op == "/" and isinstance(a, timedelta) and isinstance(b, timedelta):
        if not b:
            raise _Fail("division by zero")
        return a / b
    if op == "/" and isinstance(a, YearsMonths) and isinstance(b, YearsMonths):
        if not b.months:
            raise _Fail("division by zero")
        return a.months / b.months
    hint = " (date(...) or duration(...) reads a text as one)" if isinstance(a, str) or isinstance(b, str) else ""
    raise _Fail(f"cannot apply '{op}' to {value_kind(a)} and {value_kind(b)}{hint}")


def _text(v: Any) -> str:
    return "" if v is None else v if isinstance(v, str) else str(v)


def _check_size(n: int) -> None:
    if n > MAX_OUTPUT:
        raise _Fail(f"result too large ({n} characters/items; the limit is {MAX_OUTPUT})")


_NUMERIC_TEXT = re.compile(r"[+-]?(?:\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _parse_number(text: str) -> int | float | None:
    """JUEL's coercion of a numeric string; None when it isn't one."""
    text = text.strip()
    m = _NUMERIC_TEXT.fullmatch(text) if len(text) <= 100 else None
    if not m:
        return None
    return float(text) if (m.group(1) is not None or m.group(2)) else int(text)


def _length(v: Any) -> int:
    if isinstance(v, (str, list, tuple, Mapping, Set)):
        return len(v)
    raise _Fail(f"{value_kind(v)} has no size")


def _equals(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, bool) != isinstance(b, bool) and (isinstance(a, str) or isinstance(b, str)):
        flag, text = (a, b) if isinstance(a, bool) else (b, a)
        return text.strip().lower() == ("true" if flag else "false")
    if (_is_number(a) and isinstance(b, str)) or (isinstance(a, str) and _is_number(b)):
        number, text = (a, b) if isinstance(b, str) else (b, a)
        parsed = _parse_number(text)
        return parsed is not None and parsed == number
    return bool(a == b)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, Range):
        return container.holds(item)
    if isinstance(container, str):
        if not isinstance(item, str):
            raise _Fail(f"cannot look for a {value_kind(item)} in a string")
        return item in container
    if isinstance(container, (list, tuple)):
        return any(_equals(x, item) for x in container)
    if isinstance(container, (Mapping, Set)):
        try:
            return item in container
        except TypeError:
            return False
    raise _Fail(f"cannot look inside {value_kind(container)}")


_RELATIONAL = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "%": operator.mod}


def _compare(op: str, a: Any, b: Any) -> bool:
    if op in ("==", "!="):
        return _equals(a, b) == (op == "==")
    if op in ("in", "not in"):
        return _contains(b, a) == (op == "in")
    if op in ("is", "is not"):
        if not any(x is None or isinstance(x, bool) for x in (a, b)):
            raise _Fail("'is' can only compare with None, True or False")
        return (a is b) == (op == "is")
    if _is_number(a) and isinstance(b, str) and _parse_number(b) is not None:
        b = _parse_number(b)
    elif isinstance(a, str) and _is_number(b) and _parse_number(a) is not None:
        a = _parse_number(a)
    try:
        return bool(_RELATIONAL[op](a, b))
    except TypeError:
        raise _Fail(f"cannot compare {value_kind(a)} with {value_kind(b)} using '{op}'") from None


def _arith(op: str, a: Any, b: Any) -> Any:
    """Numbers only, plus string concatenation/repetition and list concatenation, all size-capped, and FEEL's
    arithmetic of dates and durations (a text is not a date here: ``date(text)`` makes one)."""
    if (result := _temporal_arith(op, a, b)) is not NotImplemented:
        return result
    if op == "+" and (isinstance(a, str) or isinstance(b, str)):
        a, b = _text(a), _text(b)
        _check_size(len(a) + len(b))
        return a + b
    if op == "+" and isinstance(a, list) and isinstance(b, list):
        _check_size(len(a) + len(b))
        return a + b
    if op == "*" and (isinstance(a, str) and isinstance(b, int) or isinstance(a, int) and isinstance(b, str)):
        s, n = (a, b) if isinstance(a, str) else (b, a)
        _check_size(len(s) * max(n, 0))
        return s * n
    if not (_is_number(a) and _is_number(b)):
        raise _Fail(f"cannot apply '{op}' to {value_kind(a)} and {value_kind(b)}")
    if op in ("/", "%") and b == 0:
        raise _Fail("division by zero")
    if isinstance(a, float) and isinstance(b, Decimal) or isinstance(a, Decimal) and isinstance(b, float):
        a, b = float(a), float(b)             # Python refuses to mix them; JUEL would not care
    return _ARITH[op](a, b)


def _call_method(base: Any, name: str, args: list) -> Any:
    arg = args[0] if args else None
    if name in ("size", "length"):
        return _length(base)
    if name == "isEmpty":
        return _length(base) == 0
    if name == "contains":
        return _contains(base, arg)
    if name == "equals":
        return _equals(base, arg)
    if isinstance(base, Mapping) and name in ("get", "containsKey"):
        try:
            return base.get(arg) if name == "get" else arg in base
        except TypeError:
            raise _Fail(f"a {value_kind(arg)} cannot be a map key") from None
    if isinstance(base, (list, tuple)) and name == "get":
        return _lookup(base, arg)
    if isinstance(base, str) and name in ("startsWith", "endsWith"):
        if not isinstance(arg, str):
            raise _Fail(f"{name}() needs a string, got {value_kind(arg)}")
        return base.startswith(arg) if name == "startsWith" else base.endswith(arg)
    if isinstance(base, str) and name in ("trim", "toUpperCase", "toLowerCase"):
        return base.strip() if name == "trim" else base.upper() if name == "toUpperCase" else base.lower()
    raise _Fail(f"{value_kind(base)} has no method '{name}'")


def _lookup(base: Any, key: Any) -> Any:
    if isinstance(base, Mapping):
        try:
            if key in base:
                return base[key]
        except TypeError:
            raise _Fail(f"a {value_kind(key)} cannot be a map key") from None
        raise _Missing(f"no key {key!r}")
    if isinstance(base, (list, tuple, str)):
        if not isinstance(key, int) or isinstance(key, bool):
            raise _Fail(f"a {value_kind(base)} index must be a whole number, got {value_kind(key)}")
        if not -len(base) <= key < len(base):
            raise _Missing(f"index {key} is out of range (size {len(base)})")
        return base[key]
    raise _Fail(f"cannot index {value_kind(base)}")


# ----------------------------------------------------------------- whitelisted functions

def _num_arg(name: str, x: Any) -> Any:
    if isinstance(x, str) and _parse_number(x) is not None:
        return _parse_number(x)
    if not _is_number(x):
        raise _Fail(f"{name}() needs a number, got {value_kind(x)} {_shorten(repr(x))}")
    return x


def _str_arg(name: str, x: Any) -> str:
    if not isinstance(x, str):
        raise _Fail(f"{name}() needs a string, got {value_kind(x)}")
    return x


def _extreme(name: str, pick, args: tuple) -> Any:
    values = args[0] if len(args) == 1 else args
    if not isinstance(values, (list, tuple, Set)):
        raise _Fail(f"{name}() needs a list or several values")
    if not values:
        raise _Fail(f"{name}() of an empty list")
    try:
        return pick(values)
    except TypeError:
        raise _Fail(f"{name}() got values that cannot be compared") from None


def _sum(*args: Any) -> Any:
    values = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple, Set)) else args
    if not all(_is_number(v) and not isinstance(v, bool) for v in values):
        raise _Fail("sum() needs a list of numbers")
    return sum(values)


# --- FEEL's built-in functions (DMN 1.3, chapter 10.3.4), under their FEEL names

MAX_REGEX = 200           # characters of a matches() pattern
MAX_REGEX_INPUT = 10_000  # characters matches() may search
# a quantified group that itself ends in a quantifier (``(a+)+``, ``(a|a*)*``): exponential backtracking
_NESTED_QUANTIFIER = re.compile(r"[*+}?]\)+[*+{?]")


def _list_arg(name: str, args: tuple) -> list:
    """FEEL list functions take a list or several values: ``count([1, 2])`` and ``count(1, 2)``."""
    values = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple, Set)) else args
    return list(values)


def _substring(text: Any, start: Any, length: Any = None) -> str:
    text, start = _str_arg("substring", text), _num_arg("substring", start)
    if int(start) != start or start == 0:
        raise _Fail("substring() needs a start position that is a whole number other than 0 (1 is the first)")
    begin = int(start) - 1 if start > 0 else max(len(text) + int(start), 0)
    if length is None:
        return text[begin:]
    length = _num_arg("substring", length)
    if length < 0:
        raise _Fail("substring() needs a length >= 0")
    return text[begin:begin + int(length)]


def _matches(text: Any, pattern: Any, flags: Any = "") -> bool:
    text, pattern, flags = _str_arg("matches", text), _str_arg("matches", pattern), _str_arg("matches", flags)
    if len(pattern) > MAX_REGEX:
        raise _Fail(f"matches(): the pattern is longer than {MAX_REGEX} characters")
    if len(text) > MAX_REGEX_INPUT:
        raise _Fail(f"matches(): the text is longer than {MAX_REGEX_INPUT} characters")
    if _NESTED_QUANTIFIER.search(pattern) or re.search(r"\\[1-9]|\(\?[<=!P]", pattern):
        raise _Fail("matches(): nested quantifiers, back-references and look-arounds are not allowed")
    bits = 0
    for flag in flags:
        if flag not in "imsx":
            raise _Fail(f"matches(): unknown flag {flag!r} (i, m, s, x)")
        bits |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}[flag]
    try:
        return re.search(pattern, text, bits) is not None
    except re.error as exc:
        raise _Fail(f"matches(): invalid pattern: {exc}") from None


def _decimal(n: Any, scale: Any) -> Any:
    n, scale = _num_arg("decimal", n), _num_arg("decimal", scale)
    if int(scale) != scale or not -100 <= scale <= 100:
        raise _Fail("decimal() needs a whole-number scale between -100 and 100")
    try:
        rounded = Decimal(str(n)).quantize(Decimal(1).scaleb(-int(scale)), rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        raise _Fail("number too large") from None
    return int(rounded) if scale <= 0 else float(rounded)


def _mean(*args: Any) -> Any:
    values = _list_arg("mean", args)
    if not values:
        raise _Fail("mean() of an empty list")
    return _sum(values) / len(values)


def _append(items: Any, *more: Any) -> list:
    if not isinstance(items, (list, tuple)):
        raise _Fail(f"append() needs a list, got {value_kind(items)}")
    _check_size(len(items) + len(more))
    return [*items, *more]


def _index_of(items: Any, match: Any) -> list:
    if not isinstance(items, (list, tuple)):
        raise _Fail(f"index of() needs a list, got {value_kind(items)}")
    return [k for k, x in enumerate(items, 1) if _equals(x, match)]


def _list_contains(items: Any, match: Any) -> bool:
    if not isinstance(items, (list, tuple)):
        raise _Fail(f"list contains() needs a list, got {value_kind(items)}")
    return any(_equals(x, match) for x in items)


def _whole(name: str, *parts: Any) -> list[int]:
    out = []
    for p in parts:
        p = _num_arg(name, p)
        if isinstance(p, bool) or int(p) != p:
            raise _Fail(f"{name}() needs whole numbers")
        out.append(int(p))
    return out


def _date(value: Any, month: Any = None, day: Any = None) -> date:
    if month is not None:
        if day is None:
            raise _Fail("date() takes a text, a date and time, or year, month and day")
        try:
            return date(*_whole("date", value, month, day))
        except ValueError as exc:
            raise _Fail(f"date(): {exc}") from None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _str_arg("date", value).strip()
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise _Fail(f"date() needs a date such as '2026-03-05', got {_shorten(repr(text))}") from None


def _datetime(value: Any, at: Any = None) -> datetime:
    if at is not None:
        if not isinstance(value, date) or not isinstance(at, time):
            raise _Fail("date and time() takes a text, or a date and a time")
        return datetime.combine(value.date() if isinstance(value, datetime) else value, at)
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    text = _str_arg("date and time", value).strip()
    try:
        if len(text) > 40:
            raise ValueError
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Fail("date and time() needs a date and time such as '2026-03-05T09:00:00', "
                    f"got {_shorten(repr(text))}") from None


def _time(value: Any, minute: Any = None, second: Any = None) -> time:
    if minute is not None:
        try:
            return time(*_whole("time", value, minute, second if second is not None else 0))
        except ValueError as exc:
            raise _Fail(f"time(): {exc}") from None
    if isinstance(value, datetime):
        return value.timetz()
    if isinstance(value, time):
        return value
    text = _str_arg("time", value).strip()
    try:
        if len(text) > 30:
            raise ValueError
        return time.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Fail(f"time() needs a time such as '09:30:00', got {_shorten(repr(text))}") from None


def _years_and_months(start: Any, end: Any) -> YearsMonths:
    start, end = (_date(x) if not isinstance(x, date) else x for x in (start, end))
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and end.day < start.day:
        months -= 1
    elif months < 0 and end.day > start.day:
        months += 1
    return YearsMonths(months)


_FUNCTIONS = {  # name: (implementation, min args, max args)
    "len": (_length, 1, 1),
    "str": (_text, 1, 1),
    "int": (lambda x: int(_num_arg("int", x)), 1, 1),
    "float": (lambda x: float(_num_arg("float", x)), 1, 1),
    "abs": (lambda x: abs(_num_arg("abs", x)), 1, 1),
    "min": (lambda *a: _extreme("min", min, a), 1, 50),
    "max": (lambda *a: _extreme("max", max, a), 1, 50),
    "sum": (_sum, 1, 50),
    "lower": (lambda s: _str_arg("lower", s).lower(), 1, 1),
    "upper": (lambda s: _str_arg("upper", s).upper(), 1, 1),
    "contains": (_contains, 2, 2),
    "workdays": (lambda n: _workdays(n), 1, 1),
    # FEEL (DMN decisions; any expression may use them)
    "substring": (_substring, 2, 3),
    "string length": (lambda s: len(_str_arg("string length", s)), 1, 1),
    "upper case": (lambda s: _str_arg("upper case", s).upper(), 1, 1),
    "lower case": (lambda s: _str_arg("lower case", s).lower(), 1, 1),
    "starts with": (lambda s, m: _str_arg("starts with", s).startswith(_str_arg("starts with", m)), 2, 2),
    "ends with": (lambda s, m: _str_arg("ends with", s).endswith(_str_arg("ends with", m)), 2, 2),
    "matches": (_matches, 2, 3),
    "string": (_text, 1, 1),
    "number": (lambda x: _num_arg("number", x), 1, 1),
    "floor": (lambda x: math.floor(_num_arg("floor", x)), 1, 1),
    "ceiling": (lambda x: math.ceil(_num_arg("ceiling", x)), 1, 1),
    "decimal": (_decimal, 2, 2),
    "count": (lambda *a: len(_list_arg("count", a)), 1, 50),
    "mean": (_mean, 1, 50),
    "list contains": (_list_contains, 2, 2),
    "append": (_append, 1, 50),
    "index of": (_index_of, 2, 2),
    "date": (_date, 1, 3),
    "date and time": (_datetime, 1, 2),
    "time": (_time, 1, 3),
    "duration": (_duration, 1, 1),
    "years and months duration": (_years_and_months, 2, 2),
}


def _workdays(n: Any) -> str:
    """``workdays(3)``: the end of the third working day from now (工作日), for timers and due dates."""
    days = _num_arg("workdays", n)
    if isinstance(days, bool) or int(days) != days or days < 0:
        raise _Fail("workdays() needs a whole number of days >= 0")
    from .calendar import workdays_from_now
    from .errors import EngineError

    try:
        return workdays_from_now(int(days))
    except EngineError as exc:
        raise _Fail(exc.message) from None


# ----------------------------------------------------------------- interpreter

class _Run:
    """One evaluation: the variables, the step counter and the output budget."""

    __slots__ = ("vars", "source", "steps", "output")

    def __init__(self, variables: Mapping[str, Any], source: str):
        self.vars, self.source, self.steps, self.output = variables, source, 0, 0

    def error(self, message: str, pos: int | None = None) -> ExpressionError:
        return ExpressionError(message, expression=_shorten(self.source), position=pos)

    def eval(self, node: tuple, soft: bool = False) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise self.error(f"expression takes more than {MAX_STEPS} steps")
        return _HANDLERS[node[0]](self, node, soft)

    def apply(self, pos: int, fn, *args) -> Any:
        """Run a helper, turning any refusal or Python error into ExpressionError."""
        try:
            return fn(*args)
        except _Fail as exc:
            raise self.error(str(exc), pos) from None
        except ZeroDivisionError:
            raise self.error("division by zero", pos) from None
        except OverflowError:
            raise self.error("number too large", pos) from None
        except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
            raise self.error(f"{type(exc).__name__}: {exc}", pos) from None

    def produced(self, value: Any, pos: int | None) -> Any:
        """Charge new strings/lists to the output budget; refuse huge integers."""
        if isinstance(value, (str, list, tuple, dict)):
            self.output += len(value)
            if self.output > MAX_OUTPUT:
                raise self.error(f"expression produces more than {MAX_OUTPUT} characters/items", pos)
        elif isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise self.error("number too large", pos)
        return value

    def truth(self, value: Any, pos: int | None = None) -> bool:
        try:
            return bool(value)
        except Exception:  # noqa: BLE001 - foreign objects in variables
            raise self.error(f"a {value_kind(value)} cannot be used as a condition", pos) from None

    def h_const(self, node, soft):
        return node[1]

    def h_soft(self, node, soft):
        return self.eval(node[1], True)

    def h_name(self, node, soft):
        if node[1] in self.vars:
            return self.vars[node[1]]
        if soft:
            return None
        raise self.error(f"unknown variable '{node[1]}'", node[2])

    def h_member(self, node, soft):
        _, base_node, name, pos = node
        base = self.eval(base_node, soft)
        if isinstance(base, Mapping):
            if name in base:
                return base[name]
            if soft:
                return None
            raise self.error(f"no key '{name}' in the map", pos)
        if base is None and soft:
            return None
        raise self.error(f"cannot read '{name}' of {value_kind(base)}", pos)

    def h_index(self, node, soft):
        _, base_node, key_node, pos = node
        base, key = self.eval(base_node, soft), self.eval(key_node)
        if base is None and soft:
            return None
        try:
            return _lookup(base, key)
        except _Missing as exc:
            if soft:
                return None
            raise self.error(str(exc), pos) from None
        except _Fail as exc:
            raise self.error(str(exc), pos) from None

    def h_method(self, node, soft):
        _, base_node, name, arg_nodes, pos = node
        base = self.eval(base_node, soft)
        if base is None and soft:
            return None
        args = [self.eval(a) for a in arg_nodes]
        result = self.apply(pos, _call_method, base, name, args)
        return self.produced(result, pos) if name in ("trim", "toUpperCase", "toLowerCase") else result

    def h_bean(self, node, soft):
        """Call the handler registered as the bean method, with the evaluated arguments.

        ``execution`` (or ``task``) as an argument is a copy of the variables, as Camunda passes
        its DelegateExecution. An unregistered bean is an error (the step's incident), never a skip.
        """
        _, name, arg_nodes, pos = node
        import handlers

        head, _, method = name.rpartition(".")
        if head.split(".")[0] in self.vars:  # a method of a variable's value, not a bean
            raise self.error(f"method '{method}' is not allowed", pos)
        fn = handlers.find_bean(name)
        if fn is None:
            raise self.error(f"bean method '{name}(...)' is not allowed: no handler is registered as '{name}'", pos)
        args = [dict(self.vars) if a[0] == "name" and a[1] in ("execution", "task") and a[1] not in self.vars
                else self.eval(a) for a in arg_nodes]
        try:
            return fn(*args)
        except ExpressionError:
            raise
        except Exception as exc:  # noqa: BLE001 - the handler's failure, named
            raise self.error(f"handler '{name}' failed: {type(exc).__name__}: {exc}", pos) from exc

    def h_scope(self, node, soft):
        _, name, arg_nodes, pos = node
        if name == "getVariables":
            return self.produced(dict(self.vars), pos)
        key = self.eval(arg_nodes[0])
        if not isinstance(key, str):
            raise self.error(f"{name}() needs a variable name, got {value_kind(key)}", pos)
        if name == "hasVariable":
            return key in self.vars
        return self.vars[key] if key in self.vars else None   # Camunda: unset is null

    def h_call(self, node, soft):
        _, fname, arg_nodes, pos = node
        args = [self.eval(a) for a in arg_nodes]
        return self.produced(self.apply(pos, _FUNCTIONS[fname][0], *args), pos)

    def h_unary(self, node, soft):
        _, op, operand, pos = node
        value = self.eval(operand)
        if op == "not":
            return not self.truth(value, pos)
        if op == "empty":
            return value is None or (isinstance(value, (str, list, tuple, Mapping, Set)) and not value)
        if not _is_number(value):
            raise self.error(f"cannot apply unary '{op}' to {value_kind(value)}", pos)
        return -value if op == "-" else value

    def h_bin(self, node, soft):
        _, op, left, right, pos = node
        a, b = self.eval(left), self.eval(right)
        return self.produced(self.apply(pos, _arith, op, a, b), pos)

    def h_cmp(self, node, soft):
        _, ops, operands, pos = node
        left = self.eval(operands[0])
        for op, right_node in zip(ops, operands[1:]):
            right = self.eval(right_node)
            if not self.apply(pos, _compare, op, left, right):
                return False
            left = right
        return True

    def h_and(self, node, soft):
        value = True
        for item in node[1]:
            value = self.eval(item)
            if not self.truth(value):
                return value
        return value

    def h_or(self, node, soft):
        value = False
        for item in node[1]:
            value = self.eval(item)
            if self.truth(value):
                return value
        return value

    def h_cond(self, node, soft):
        return self.eval(node[2] if self.truth(self.eval(node[1])) else node[3])

    def h_range(self, node, soft):
        _, low, high, low_closed, high_closed, _pos = node
        return Range(self.eval(low), self.eval(high), low_closed, high_closed)

    def h_list(self, node, soft):
        return self.produced([self.eval(item) for item in node[1]], node[2])

    def h_dict(self, node, soft):
        out = {}
        for key_node, value_node in node[1]:
            key = self.eval(key_node)
            try:
                out[key] = self.eval(value_node)
            except TypeError:
                raise self.error(f"a {value_kind(key)} cannot be a map key", node[2]) from None
        return self.produced(out, node[2])

    def h_concat(self, node, soft):
        pieces = [self.produced(self.apply(None, _text, self.eval(part)), None) for part in node[1]]
        return "".join(pieces)


_HANDLERS = {name[2:]: fn for name, fn in vars(_Run).items() if name.startswith("h_")}


# ----------------------------------------------------------------- public API

class Compiled:
    """A parsed expression; immutable, so it is cached and shared between threads."""

    __slots__ = ("source", "kind", "_node")

    def __init__(self, source: str, kind: str, node: tuple):
        self.source, self.kind, self._node = source, kind, node   # kind: timer | template | expression

    def __call__(self, variables: Mapping[str, Any]) -> Any:
        if variables is None:
            variables = {}
        if not isinstance(variables, Mapping):
            raise ExpressionError("expression variables must be a mapping", expression=_shorten(self.source))
        try:
            return _Run(variables, self.source).eval(self._node)
        except ExpressionError:
            raise
        except Exception as exc:  # noqa: BLE001 - the promise is: only ExpressionError escapes
            raise ExpressionError(f"expression failed: {type(exc).__name__}: {exc}",
                                  expression=_shorten(self.source)) from exc

    def __repr__(self) -> str:
        return f"Compiled({self.source!r})"


@functools.lru_cache(maxsize=4096)
def _compile_cached(text: str) -> Compiled:
    start, end = len(text) - len(text.lstrip()), len(text.rstrip())
    if start >= end:
        raise ExpressionError("empty expression")
    stripped = text[start:end]
    if is_iso8601_timer(stripped):
        return Compiled(text, "timer", ("const", stripped))
    if "${" in stripped or "#{" in stripped:
        node = _parse_template(text, start, end)
        kind = "template" if node[0] == "concat" else "expression"
    else:
        node, kind = _Parser(text, _tokenize(text, start, end, False)[0]).whole(), "expression"
    if any(depth > MAX_DEPTH for _, depth in _walk(node)):
        raise _syntax(text, f"expression is nested more than {MAX_DEPTH} levels deep", start)
    return Compiled(text, kind, node)


def compile_expression(text: str) -> Compiled:
    """Parse (or fetch from the cache) one diagram expression; raises ExpressionError."""
    if text is None:
        raise ExpressionError("empty expression")
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, not {type(text).__name__}")
    if len(text) > MAX_SOURCE:
        raise ExpressionError(f"expression is too long ({len(text)} characters; the limit is {MAX_SOURCE})")
    try:
        return _compile_cached(text)
    except ExpressionError:
        raise
    except Exception as exc:  # noqa: BLE001 - a parser bug must still surface as ExpressionError
        raise ExpressionError(f"cannot parse expression: {type(exc).__name__}: {exc}",
                              expression=_shorten(text)) from exc


def evaluate(text: str, variables: Mapping[str, Any]) -> Any:
    """Compile (cached) and run ``text`` against ``variables``; raises only ExpressionError."""
    return compile_expression(text)(variables)


def bean_methods(text: str) -> list[str]:
    """Bean methods (``service.method``) the expression calls, in order of appearance."""
    out = []
    for node, _ in _walk(compile_expression(text)._node):
        if node[0] == "bean" and node[1] not in out:
            out.append(node[1])
    return out


def free_names(text: str) -> set[str]:
    """Variable names the expression reads (including ``execution.getVariable('x')`` literals)."""
    names: set[str] = set()
    for node, _ in _walk(compile_expression(text)._node):
        if node[0] == "name":
            names.add(node[1])
        elif node[0] == "scope" and node[2] and node[2][0][0] == "const" and isinstance(node[2][0][1], str):
            names.add(node[2][0][1])
    return names
