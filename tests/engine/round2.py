"""Helpers for the round-2 diagram tests (issue 17): one diagram, three dialects.

The diagrams in ``tests/data/round2/`` are written as Camunda Modeler saves them.
``in_dialect`` gives the same diagram as Flowable or Activiti write it: their
namespace and prefix (``flowable:candidateGroups``, ``activiti:collection`` ...).
Where the dialects differ in more than the prefix (form properties), the data
directory holds one file per dialect.
"""
from __future__ import annotations

from tests.conftest import DATA

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NAMESPACES = {"camunda": CAMUNDA, "flowable": "http://flowable.org/bpmn", "activiti": "http://activiti.org/bpmn"}
DIALECTS = tuple(NAMESPACES)


def in_dialect(text: str, dialect: str) -> str:
    if dialect == "camunda":
        return text
    return (text.replace(f'xmlns:camunda="{CAMUNDA}"', f'xmlns:{dialect}="{NAMESPACES[dialect]}"')
            .replace("camunda:", f"{dialect}:"))


def diagram(name: str, dialect: str = "camunda") -> tuple[str, bytes]:
    """``tests/data/round2/<name>.bpmn`` in ``dialect`` (or ``<name>_<dialect>.bpmn`` if there is one)."""
    own = DATA / "round2" / f"{name}_{dialect}.bpmn"
    if own.exists():
        return own.name, own.read_bytes()
    text = (DATA / "round2" / f"{name}.bpmn").read_text(encoding="utf-8")
    return f"{name}_{dialect}.bpmn", in_dialect(text, dialect).encode("utf-8")


def open_elements(yimen, instance: int) -> list[str]:
    return sorted(t["element_id"] for t in yimen.tasks(instance=instance))


def task_of(yimen, instance: int, element: str) -> dict:
    rows = [t for t in yimen.tasks(instance=instance) if t["element_id"] == element]
    assert len(rows) == 1, yimen.tasks(instance=instance)
    return rows[0]


def complete(yimen, instance: int, element: str, data: dict | None = None) -> dict:
    return yimen.complete(task_of(yimen, instance, element)["id"], data=data)


def elements(yimen, instance: int) -> list[str]:
    """Completed elements, without the ids Yimen generated (implicit gateways and end events)."""
    return [e for e in yimen.show(instance)["completed_elements"]
            if not e.startswith(("Gateway_auto_", "End_implicit_", "Flow_auto_"))]


def status(yimen, instance: int) -> str:
    return yimen.show(instance)["status"]
