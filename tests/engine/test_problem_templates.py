"""Every deployment problem and warning is a template of ours with its values, and each template has its Chinese.

The templates are collected from the source (``ast``), not from a list: a new ``self.error(el, "...")``,
``self.problem``, ``self.warn``, ``Problem.of`` or ``phrase`` with no Chinese in the catalogue fails here, and so
does an f-string (its values could not be kept out of the sentence the web translates).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.pofile import read_po

from engine.errors import Problem, fill, phrase

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "engine" / "bpmn").glob("*.py")) + [ROOT / "engine" / "commands" / "deploy.py"]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
SITE_METHODS = {"error", "problem", "warn"}  # the checkers' methods: (el, template, element_id=None, **params)


def _template_arg(call: ast.Call) -> ast.expr | None:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in SITE_METHODS and isinstance(func.value, ast.Name) \
            and func.value.id == "self":
        return call.args[1] if len(call.args) > 1 else None
    if isinstance(func, ast.Attribute) and func.attr == "of" and isinstance(func.value, ast.Name) \
            and func.value.id == "Problem":
        return call.args[3]
    if isinstance(func, ast.Name) and func.id == "phrase":
        return call.args[0]
    return None


def collect() -> tuple[dict[str, str], list[str]]:
    """The templates (text -> where first used) and the sites that do not pass a literal one."""
    templates: dict[str, str] = {}
    bad: list[str] = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {target.id: stmt.value.value for stmt in tree.body if isinstance(stmt, ast.Assign)
                     and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
                     for target in stmt.targets if isinstance(target, ast.Name)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if isinstance(node.func, ast.Name) and node.func.id == "Problem":
                bad.append(f"{where}: Problem(...) without a template; use Problem.of")
                continue
            arg = _template_arg(node)
            if arg is None:
                continue
            options = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
            for option in options:
                if isinstance(option, ast.Constant) and isinstance(option.value, str):
                    templates.setdefault(option.value, where)
                elif isinstance(option, ast.Name) and option.id in constants:  # a module's constant template
                    templates.setdefault(constants[option.id], where)
                elif isinstance(option, ast.Name) and option.id == "template":
                    continue  # a site method handing its caller's template on
                else:
                    bad.append(f"{where}: the template is not a literal string ({type(option).__name__})")
    return templates, bad


def chinese() -> dict[str, str]:
    with (ROOT / "web" / "translations" / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return {m.id: m.string for m in read_po(source, locale="zh") if m.id}


def test_every_site_passes_a_literal_template():
    templates, bad = collect()
    assert not bad, bad
    assert len(templates) > 100  # the scan sees the checks, DMN reader, normaliser, safe XML, loader and deploy


def test_every_template_has_chinese_with_the_same_placeholders_and_no_latin_words():
    templates, _ = collect()
    translated = chinese()
    missing = {t: w for t, w in templates.items() if not translated.get(t)}
    assert not missing, f"add these to messages.po: {missing}"
    for template, where in templates.items():
        text = translated[template]
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(template)), (where, template, text)
        outside = PLACEHOLDER.sub("", text)
        assert not re.search(r"[A-Za-z]", outside), (where, text)  # identifiers and names ride in the values


def test_reason_is_the_filled_english_and_values_stay_values():
    problem = Problem.of("a.bpmn", "t1", 3, "{property} '{mode}' is not one of {modes}", property="yimen.approvalMode",
                         mode="{mode.__class__}", modes="all, any")
    assert problem.reason == "yimen.approvalMode '{mode.__class__}' is not one of all, any"
    zh = {"{where}: bad": "{where}：有误", "decision '{decision}'": "决策“{decision}”"}
    nested = fill(zh["{where}: bad"], {"where": phrase("decision '{decision}'", decision="d1")}, translate=zh.get,
                  value=lambda v: f"<{v}>")
    assert nested == "决策“<d1>”：有误"  # the nested phrase is translated too; only values are wrapped
    assert fill("{a.__class__} {b!r} {c:>9}", {"a": 1, "b": 2, "c": 3}) == "{a.__class__} {b!r} {c:>9}"
