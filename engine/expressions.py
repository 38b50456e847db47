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

import functools
import operator
import re
from collections.abc import Mapping, Set
from datetime import datetime
from decimal import Decimal
from typing import Any

from .errors import ExpressionError

MAX_SOURCE = 10_000       # characters of expression text
MAX_DEPTH = 100           # nesting of the parse and of the AST
MAX_STEPS = 100_000       # node visits per evaluation
MAX_OUTPUT = 1_000_000    # characters/items an evaluation may produce in total
MAX_INT_BITS = 4_096      # integers beyond this are refused (no bignum CPU burn)

__all__ = ["Compiled", "bean_methods", "compile_expression", "evaluate", "free_names", "is_iso8601_timer"]


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
            "(", ")", "[", "]", "{", "}", ",", ".", "?", ":")
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
            self.expect(")")
            return node
        if value == "[":
            return ("list", self.items("]"), pos)
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
    if kind == "index":
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


def _kind(v: Any) -> str:
    """A type name users of either dialect will understand."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if _is_number(v):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, Mapping):
        return "map"
    if isinstance(v, (list, tuple)):
        return "list"
    if isinstance(v, Set):
        return "set"
    return type(v).__name__


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
    raise _Fail(f"{_kind(v)} has no size")


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
    if isinstance(container, str):
        if not isinstance(item, str):
            raise _Fail(f"cannot look for a {_kind(item)} in a string")
        return item in container
    if isinstance(container, (list, tuple)):
        return any(_equals(x, item) for x in container)
    if isinstance(container, (Mapping, Set)):
        try:
            return item in container
        except TypeError:
            return False
    raise _Fail(f"cannot look inside {_kind(container)}")


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
        raise _Fail(f"cannot compare {_kind(a)} with {_kind(b)} using '{op}'") from None


def _arith(op: str, a: Any, b: Any) -> Any:
    """Numbers only, plus string concatenation/repetition and list concatenation, all size-capped."""
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
        raise _Fail(f"cannot apply '{op}' to {_kind(a)} and {_kind(b)}")
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
            raise _Fail(f"a {_kind(arg)} cannot be a map key") from None
    if isinstance(base, (list, tuple)) and name == "get":
        return _lookup(base, arg)
    if isinstance(base, str) and name in ("startsWith", "endsWith"):
        if not isinstance(arg, str):
            raise _Fail(f"{name}() needs a string, got {_kind(arg)}")
        return base.startswith(arg) if name == "startsWith" else base.endswith(arg)
    if isinstance(base, str) and name in ("trim", "toUpperCase", "toLowerCase"):
        return base.strip() if name == "trim" else base.upper() if name == "toUpperCase" else base.lower()
    raise _Fail(f"{_kind(base)} has no method '{name}'")


def _lookup(base: Any, key: Any) -> Any:
    if isinstance(base, Mapping):
        try:
            if key in base:
                return base[key]
        except TypeError:
            raise _Fail(f"a {_kind(key)} cannot be a map key") from None
        raise _Missing(f"no key {key!r}")
    if isinstance(base, (list, tuple, str)):
        if not isinstance(key, int) or isinstance(key, bool):
            raise _Fail(f"a {_kind(base)} index must be a whole number, got {_kind(key)}")
        if not -len(base) <= key < len(base):
            raise _Missing(f"index {key} is out of range (size {len(base)})")
        return base[key]
    raise _Fail(f"cannot index {_kind(base)}")


# ----------------------------------------------------------------- whitelisted functions

def _num_arg(name: str, x: Any) -> Any:
    if isinstance(x, str) and _parse_number(x) is not None:
        return _parse_number(x)
    if not _is_number(x):
        raise _Fail(f"{name}() needs a number, got {_kind(x)} {_shorten(repr(x))}")
    return x


def _str_arg(name: str, x: Any) -> str:
    if not isinstance(x, str):
        raise _Fail(f"{name}() needs a string, got {_kind(x)}")
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


def _sum(values: Any) -> Any:
    if not isinstance(values, (list, tuple, Set)) or not all(_is_number(v) for v in values):
        raise _Fail("sum() needs a list of numbers")
    return sum(values)


_FUNCTIONS = {  # name: (implementation, min args, max args)
    "len": (_length, 1, 1),
    "str": (_text, 1, 1),
    "int": (lambda x: int(_num_arg("int", x)), 1, 1),
    "float": (lambda x: float(_num_arg("float", x)), 1, 1),
    "abs": (lambda x: abs(_num_arg("abs", x)), 1, 1),
    "min": (lambda *a: _extreme("min", min, a), 1, 50),
    "max": (lambda *a: _extreme("max", max, a), 1, 50),
    "sum": (_sum, 1, 1),
    "lower": (lambda s: _str_arg("lower", s).lower(), 1, 1),
    "upper": (lambda s: _str_arg("upper", s).upper(), 1, 1),
    "contains": (_contains, 2, 2),
    "workdays": (lambda n: _workdays(n), 1, 1),
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
            raise self.error(f"a {_kind(value)} cannot be used as a condition", pos) from None

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
        raise self.error(f"cannot read '{name}' of {_kind(base)}", pos)

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
            raise self.error(f"{name}() needs a variable name, got {_kind(key)}", pos)
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
            raise self.error(f"cannot apply unary '{op}' to {_kind(value)}", pos)
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

    def h_list(self, node, soft):
        return self.produced([self.eval(item) for item in node[1]], node[2])

    def h_dict(self, node, soft):
        out = {}
        for key_node, value_node in node[1]:
            key = self.eval(key_node)
            try:
                out[key] = self.eval(value_node)
            except TypeError:
                raise self.error(f"a {_kind(key)} cannot be a map key", node[2]) from None
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
