"""Everything an upload goes through before SpiffWorkflow parses it.

parse safely -> refuse foreign content -> normalize -> read metadata -> check, for every file, then
the checks that need all files at once (decisions and called processes).
Every error of every file is collected and raised as one ``BpmnInvalid``;
otherwise each file comes back normalized, serialized and described.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from ..errors import BpmnInvalid, Problem
from . import checks, dmn, metadata, normalize as normalizer
from .dialects import CAMUNDA, children, is_bpmn, local
from .metadata import source_line
from .safe_xml import MAX_BYTES, foreign_content, kind_of, parse_untrusted

SHARED_ROOT_ELEMENTS = ("error", "escalation", "message", "signal")


@dataclass
class PreparedFile:
    filename: str
    kind: str  # 'bpmn' | 'dmn'
    tree: Any  # lxml.etree._ElementTree, normalized in place
    xml: bytes  # the normalized tree, serialized
    warnings: list[Problem] = field(default_factory=list)
    metadata: dict[str, dict] = field(default_factory=dict)
    processes: dict[str, dict] = field(default_factory=dict)
    lines: dict[str, int | None] = field(default_factory=dict)


def _shared_ids(root) -> set[str]:
    return {el.get("id") for el in children(root, *SHARED_ROOT_ELEMENTS) if el.get("id")}


def _dmn_problems(filename: str, root) -> tuple[list[Problem], list[str]]:
    """Every problem of a DMN file, each naming its decision and rule (see ``engine.bpmn.dmn``)."""
    return dmn.problems(filename, root)


def prepare(files: list[tuple[str, bytes]], allow_scripts: bool = False,
            max_bytes: int = MAX_BYTES) -> list[PreparedFile]:
    """Prepare every file of one upload or raise ``BpmnInvalid`` listing every error in all of them."""
    errors: list[Problem] = []
    parsed: list[tuple[str, str, Any]] = []
    for filename, content in files:
        try:
            tree = parse_untrusted(filename, content, max_bytes)
            kind = kind_of(tree, filename)
        except BpmnInvalid as exc:
            errors.extend(exc.problems)
            continue
        errors.extend(foreign_content(filename, tree))  # script-capable content: refused (the upload fails)
        parsed.append((filename, kind, tree))

    shared = {filename: _shared_ids(tree.getroot()) for filename, kind, tree in parsed if kind == "bpmn"}
    decisions: set[str] = set()
    prepared: list[PreparedFile] = []
    for filename, kind, tree in parsed:
        if kind == "dmn":
            problems, ids = _dmn_problems(filename, tree.getroot())
            errors.extend(problems)
            decisions.update(ids)
            prepared.append(PreparedFile(filename, kind, tree, b"", [], {}, {}, metadata.element_lines(tree)))
            continue
        elsewhere = set().union(*(ids for other, ids in shared.items() if other != filename))
        warnings = normalizer.normalize(filename, tree, elsewhere)
        meta = metadata.extract(filename, tree)
        errors.extend(checks.check(filename, tree, meta, allow_scripts=allow_scripts))
        prepared.append(PreparedFile(filename, kind, tree, b"", warnings, meta, metadata.process_info(tree),
                                     metadata.element_lines(tree)))

    errors.extend(_cross_file(prepared, decisions))
    if errors:
        raise BpmnInvalid(errors)
    for pf in prepared:
        pf.xml = etree.tostring(pf.tree, xml_declaration=True, encoding="UTF-8")
    return prepared


def _cross_file(prepared: list[PreparedFile], decisions: set[str]) -> list[Problem]:
    """Decisions and called processes must be part of the same upload."""
    problems = []
    processes = {pid for pf in prepared for pid in pf.processes}
    for pf in prepared:
        if pf.kind != "bpmn":
            continue
        for el in pf.tree.getroot().iter():
            if not is_bpmn(el):
                continue
            if local(el) == "businessRuleTask":
                ref = (el.get(f"{{{CAMUNDA}}}decisionRef") or "").strip()
                if ref and "{" not in ref and ref not in decisions:
                    problems.append(Problem.of(pf.filename, el.get("id"), source_line(el),
                                               "business rule task '{task}' uses decision '{decision}', which is "
                                               "not in any DMN file of this upload", task=el.get("id"), decision=ref))
            elif local(el) == "callActivity":
                called = (el.get("calledElement") or "").strip()
                if called and "{" not in called and called not in processes:
                    problems.append(Problem.of(pf.filename, el.get("id"), source_line(el),
                                               "call activity '{task}' calls process '{process}', which is "
                                               "not in this upload", task=el.get("id"), process=called))
    return problems
