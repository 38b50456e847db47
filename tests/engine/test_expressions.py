"""Tests for engine.expressions, the restricted evaluator for diagram expressions."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from engine.errors import ExpressionError
from engine.expressions import Compiled, compile_expression, evaluate, free_names, is_iso8601_timer

VARS = {
    "amount": 20000,
    "approved": True,
    "rejected": False,
    "x": "a",
    "a": {"b": {"c": 3}},
    "list": [],
    "items": [1, 2, 3],
    "nrOfCompletedInstances": 3,
    "nrOfInstances": 5,
    "no": "2026-0042",
    "name": "张三",
    "申请人": "李四",
    "zero": 0,
    "nothing": None,
}


def ev(text, **extra):
    return evaluate(text, {**VARS, **extra})


def refused(text, **extra) -> str:
    with pytest.raises(ExpressionError) as info:
        ev(text, **extra)
    return info.value.message


# --- JUEL ---------------------------------------------------------------------

def test_juel_comparison():
    """A JUEL block with a comparison returns a boolean."""
    assert ev("${amount > 10000}") is True
    assert ev("${amount <= 10000}") is False


def test_juel_block_returns_raw_value():
    """A lone ${...} block returns the value itself, not its string form."""
    assert ev("${approved}") is True
    assert ev("${items}") == [1, 2, 3]
    assert ev("  ${amount}  ") == 20000


def test_juel_not_and_string_equality():
    """! and && combine with string equality."""
    assert ev("${!rejected && x == 'a'}") is True
    assert ev('${!approved || x != "a"}') is False


def test_juel_deferred_block_member_chain_and_word_operator():
    """#{...} blocks, a.b.c map lookup and the eq word operator."""
    assert ev("#{a.b.c eq 3}") is True
    assert ev("#{a.b.c ne 3 or a['b']['c'] gt 2}") is True


def test_juel_empty():
    """empty is true for empty collections, null and missing names."""
    assert ev("${empty list}") is True
    assert ev("${empty items}") is False
    assert ev("${empty nothing}") is True
    assert ev("${empty notDefined}") is True
    assert ev("${not empty notDefined.deeper[0]}") is False


def test_juel_multi_instance_completion_condition():
    """The usual Camunda completion condition uses float division."""
    assert ev("${nrOfCompletedInstances / nrOfInstances >= 0.6}") is True
    assert ev("${nrOfCompletedInstances div nrOfInstances}") == 0.6


def test_execution_get_variable():
    """execution/task.getVariable read variables without being variables themselves."""
    assert ev("${execution.getVariable('x')}") == "a"
    assert ev("${task.getVariable('amount') > 5}") is True
    assert ev("${execution.getVariable('unset')}") is None
    assert ev("${execution.hasVariable('x')}") is True


def test_ternary():
    """JUEL ?: and the Python conditional expression."""
    assert ev("${amount > 5 ? 'big' : 'small'}") == "big"
    assert ev("${zero ? 1 : zero == 0 ? 2 : 3}") == 2
    assert ev("'yes' if approved else 'no'") == "yes"


def test_string_interpolation():
    """Literal text with several blocks concatenates their string forms."""
    assert ev("Case ${no} of ${name}") == "Case 2026-0042 of 张三"
    assert ev("n=${amount}, none=${nothing}.") == "n=20000, none=."
    assert ev(r"cost \${not a block} ${amount}") == "cost ${not a block} 20000"


def test_braces_inside_block_strings_and_maps():
    """A '}' inside a string or a map literal does not end the block."""
    assert ev("${x == '}' ? 1 : 2}!") == "2!"
    assert ev("${{'k': 5}['k']}") == 5


def test_null_checks_do_not_fail_on_missing_names():
    """x == null / x is None read a missing x as null."""
    assert ev("${notDefined == null}") is True
    assert ev("${null != notDefined.field}") is False
    assert ev("notDefined is None") is True
    assert ev("${notDefined != null && notDefined > 3}") is False


# --- Python-style conditions --------------------------------------------------

def test_python_condition():
    """SpiffWorkflow-style conditions with and/not."""
    assert ev("amount > 10000 and not rejected") is True
    assert ev("amount > 10000 and not approved") is False
    assert ev("True and None is None") is True


def test_python_in():
    """in / not in against list literals, strings and maps."""
    assert ev("x in ['a','b']") is True
    assert ev("x not in ['a','b']") is False
    assert ev("'b' in a") is True
    assert ev("'张' in name") is True


def test_not_binds_like_python():
    """not a == b means not (a == b)."""
    assert ev("not x == 'b'") is True
    assert ev("not amount > 5 or approved") is True


def test_arithmetic_and_concatenation():
    """Arithmetic precedence, unary minus and + concatenation with strings."""
    assert ev("1 + 2 * 3 - -4") == 11
    assert ev("(1 + 2) * 3 mod 4") == 1
    assert ev("'No. ' + 7") == "No. 7"
    assert ev("'ab' * 3") == "ababab"
    assert ev("items + [4]") == [1, 2, 3, 4]


def test_chained_comparison():
    """Python-style chained comparisons."""
    assert ev("1 < amount < 30000") is True
    assert ev("1 < amount < 3") is False


def test_juel_coerces_numeric_strings():
    """Form values arrive as strings; == and < coerce them as JUEL does."""
    assert ev("${amount == '20000'}") is True
    assert ev("${'30000' > amount}") is True
    assert ev("${approved == 'true'}") is True


def test_functions_and_methods():
    """The whitelisted functions and value methods."""
    assert ev("len(items) == items.size()") is True
    assert ev("sum(items) + max(items) + min(4, 5) + abs(-1)") == 14
    assert ev("int('42') + float('0.5')") == 42.5
    assert ev("upper('ab') + lower('CD') + str(1)") == "ABcd1"
    assert ev("contains(items, 2) and items.contains(3)") is True
    assert ev("x.startsWith('a') && !x.endsWith('b') && x.equals('a')") is True
    assert ev("a.get('b').get('c')") == 3
    assert ev("list.isEmpty() and name.length() == 2") is True


def test_cjk_identifiers():
    """Chinese variable names are ordinary identifiers."""
    assert ev("${申请人 == '李四'}") is True


def test_literals():
    """JUEL and Python constants, numbers and escapes."""
    assert ev("[true, false, null, True, False, None]") == [True, False, None, True, False, None]
    assert ev("1.5e2") == 150.0
    assert ev(r"'it\'s \"ok\"\n'") == "it's \"ok\"\n"


# --- ISO 8601 timers ----------------------------------------------------------

@pytest.mark.parametrize("text", [
    "PT5M", "P1D", "P1Y2M3DT4H5M6S", "P2W", "PT1.5H", "R3/PT1H", "R/PT10M",
    "R2/2026-01-01T00:00:00Z/P1D", "2026-12-01", "2026-12-01T09:00:00",
    "2026-12-01T09:00:00Z", "2026-12-01T09:00:00+08:00",
])
def test_iso_timer_passes_through(text):
    """Timer literals are returned as the text itself."""
    assert is_iso8601_timer(text)
    assert evaluate(f" {text} ", {}) == text


@pytest.mark.parametrize("text", ["P", "PT", "P1", "PT5", "Pending", "P1W2D", "R3", "2026-13-01", "pt5m", "R/2026-01-01"])
def test_not_iso_timer(text):
    """Names and malformed durations are not timers."""
    assert not is_iso8601_timer(text)


# --- refusals -----------------------------------------------------------------

def test_refuses_dunder_import():
    """__import__ is refused before anything runs."""
    assert "names starting with '_' are not allowed" in refused("__import__('os')")


def test_refuses_dunder_attribute():
    """a.__class__ is refused: no attribute access on Python objects."""
    assert "names starting with '_' are not allowed" in refused("a.__class__")
    assert "not allowed" in refused("${a.b__c}")


def test_refuses_private_name():
    """_secret is refused even if such a variable exists."""
    assert "names starting with '_' are not allowed" in refused("_secret", _secret=1)


def test_refuses_unknown_function():
    """Only whitelisted functions may be called."""
    assert "function 'open' is not allowed" in refused("open('x')")
    assert "not allowed" in refused("x.format(1)")
    assert "can be called" in refused("items[0](1)")


def test_refuses_huge_repetition():
    """String repetition is capped before it allocates."""
    assert "too large" in refused("'a' * 1000000000")
    assert "too large" in refused("${'ab' * n}", n=10**12)
    assert "more than" in refused("('a' * 600000) + ('b' * 600000)")
    refused("[1] * 1000000000")
    assert "number too large" in refused("amount * " + " * ".join(["99999999999999999999"] * 70))


def test_unterminated_string_reports_position():
    """An unterminated string names the position where it starts."""
    message = refused("name == 'abc")
    assert "unterminated string" in message and "position 8" in message


def test_unterminated_brace_reports_position():
    """An unterminated ${ names the position where it starts."""
    message = refused("Dear ${name")
    assert "unterminated '${'" in message and "position 5" in message


def test_syntax_errors_report_position():
    """Stray tokens and '=' are refused at compile time with a position."""
    assert "position 7" in refused("amount ) 3")
    assert "'=='" in refused("x = 'a'")


def test_unknown_variable():
    """Unknown names raise instead of reading as null."""
    assert refused("${missing > 3}") == "unknown variable 'missing'"
    assert "no key 'zz'" in refused("a.zz")


def test_division_by_zero():
    """Division and modulo by zero raise ExpressionError."""
    assert refused("amount / zero") == "division by zero"
    assert refused("${5 mod 0}") == "division by zero"


def test_type_mismatch_is_expression_error():
    """Incompatible comparisons and arithmetic raise ExpressionError, not TypeError."""
    assert "cannot compare" in refused("x < 3")
    assert "cannot compare" in refused("nothing > 1")
    assert "cannot apply" in refused("a - 1")
    assert "%" in refused("'%s' % 5")


def test_limits():
    """Source length, nesting depth and empty text are refused."""
    assert "too long" in refused("1" * 10_001)
    assert "nested" in refused("(" * 150 + "1" + ")" * 150)
    assert "nested" in refused("+".join(["1"] * 150))
    assert ev("!" * 98 + "true") is True
    assert refused("   ") == "empty expression"
    assert "empty" in refused("${ }")


# --- API ----------------------------------------------------------------------

def test_compile_is_cached_and_callable():
    """compile_expression returns the same Compiled object for the same text."""
    compiled = compile_expression("${amount > 1}")
    assert isinstance(compiled, Compiled)
    assert compiled is compile_expression("${amount > 1}")
    assert compiled.source == "${amount > 1}"
    assert compiled({"amount": 2}) is True


def test_free_names():
    """free_names lists top-level variables, including getVariable literals."""
    assert free_names("${a.b.c + len(items) > execution.getVariable('q')}") == {"a", "items", "q"}
    assert free_names("PT5M") == set()
    assert free_names("Dear ${name}") == {"name"}


@settings(max_examples=400, deadline=None)
@given(st.text(st.characters(min_codepoint=32, max_codepoint=0x7E)
               | st.characters(exclude_categories=("Cs",)) | st.sampled_from("\n\t张"), max_size=60))
def test_random_text_raises_only_expression_error(text):
    """Random printable text never raises anything but ExpressionError."""
    try:
        evaluate(text, VARS)
    except ExpressionError:
        pass


_PIECES = ["amount", "x", "a", "items", "nothing", "missing", "1", "0", "'s'", "1.5", "true", "null",
           "+", "-", "*", "/", "%", "<", "==", "!", "not", "and", "or", "in", "empty", "?", ":", "if", "else",
           "(", ")", "[", "]", "{", "}", ",", ".", "size()", "b", "len(", "max(", "${", "#{"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14))
def test_random_token_soup_raises_only_expression_error(pieces):
    """Grammar-shaped random input reaches the interpreter and still raises only ExpressionError."""
    try:
        evaluate(" ".join(pieces), VARS)
    except ExpressionError:
        pass


# --- FEEL built-in functions, dates and durations, ranges (issue 17) --------------------------------

@pytest.mark.parametrize("text, expected", [
    ('substring("foobar", 3)', "obar"),
    ('substring("foobar", -2, 1)', "a"),
    ('string length("foo")', 3),
    ('upper case("aBc4")', "ABC4"),
    ('lower case("aBc4")', "abc4"),
    ('starts with("foobar", "fo")', True),
    ('ends with("foobar", "r")', True),
    ('contains("foobar", "of")', False),
    ('matches("foobar", "^fo*b")', True),
    ('matches("FooBar", "foobar", "i")', True),
    ('decimal(1/3, 2)', 0.33),
    ('decimal(1.5, 0)', 2),
    ('decimal(2.5, 0)', 2),
    ('floor(-1.5)', -2),
    ('ceiling(-1.5)', -1),
    ('count([1, 2, 3])', 3),
    ('mean([1, 2, 3])', 2.0),
    ('sum(1, 2, 3)', 6),
    ('list contains([1, 2, 3], 2)', True),
    ('append([1], 2, 3)', [1, 2, 3]),
    ('index of([1, 2, 3, 2], 2)', [2, 4]),
    ('not(true)', False),
    ('items[0] in [1..3]', True),
    ('amount in [1..20000[', False),
    ('amount in (1..20000]', True),
    ('3 in [1..3) or 3 in ]3..5]', False),
])
def test_feel_functions(text, expected):
    assert ev(text) == expected


def test_feel_dates_and_durations():
    from datetime import date, datetime, time, timedelta

    from engine.expressions import YearsMonths, duration_text
    assert ev('date("2026-01-31") + duration("P1M")') == date(2026, 2, 28)
    assert ev('date("2024-02-29") + duration("P1Y")') == date(2025, 2, 28)
    assert ev('date("2026-03-05") - date("2026-03-01")') == timedelta(days=4)
    assert ev('date and time("2026-03-05T10:00:00") + duration("PT2H")') == datetime(2026, 3, 5, 12)
    assert ev('date and time(date(2026, 3, 5), time(9, 30, 0))') == datetime(2026, 3, 5, 9, 30)
    assert ev('time("23:00:00") + duration("PT2H")') == time(1, 0)
    assert ev('years and months duration(date("2011-12-22"), date("2013-08-24"))') == YearsMonths(20)
    assert ev('duration("P1D") > duration("PT23H")') is True
    assert ev('duration("P1Y") = duration("P12M")'.replace(" = ", " == ")) is True
    assert ev('duration("P2D") * 3 / duration("P1D")') == 6.0
    assert duration_text(ev('date("2026-12-31") - date("2026-03-05")')) == "P301D"
    assert duration_text(ev('duration("PT90M")')) == "PT1H30M"
    assert ev('years and months duration(date("2026-03-05"), date("2028-06-01"))').isoformat() == "P2Y2M"
    assert ev('date("2026-03-01") in [date("2026-01-01")..date("2026-12-31")]') is True


def test_a_variable_may_still_be_called_like_a_feel_function():
    """``date``, ``count``, ``time`` ... are function names only before '('."""
    assert ev("count + 1", count=2) == 3
    assert ev("date == '2026-01-01'", date="2026-01-01") is True
    assert ev("[1, 2][1]") == 2


@pytest.mark.parametrize("text, reason", [
    ('matches("aaaa", "(a+)+$")', "nested quantifiers"),
    ('matches("aaaa", "(a)\\\\1")', "back-references"),
    ('matches("a", "' + "a" * 201 + '")', "longer than 200"),
    ('matches(x, "a")', "longer than 10000"),
    ('duration("P1Y3D")', "mixes years/months"),
    ('duration("three days")', "ISO 8601 duration"),
    ('date("2026-02-30")', "date() needs a date"),
    ('substring("abc", 0)', "other than 0"),
    ('"2026-03-05" + duration("P1D")', "date(...) or duration(...) reads a text"),
    ('date("2026-01-01") + 1', "cannot apply '+' to date and number"),
    ('decimal(1, 1000)', "scale"),
    ('append(1, 2)', "needs a list"),
])
def test_feel_refusals_are_expression_errors(text, reason):
    assert reason in refused(text, x="a" * 10_001)
