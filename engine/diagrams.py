"""Deployed diagrams as people look at them: versions per process, the drawing of a version, and
where a running instance stands on it (completed, active, overdue, failed steps).

Read-only: the designer pages and the task page use these to draw a diagram
with bpmn-js; nothing here changes state.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .bpmn.safe_xml import parse_untrusted
from .errors import BpmnInvalid, NotFound
from .models import (ApprovalCase, Deployment, DeploymentFile, HumanTask, Incident, ProcessDefinition, ProcessInstance,
                     TaskStatus)
from .models.deadlines import Card, DeadlineWatch
from .models.runtime import InstanceStatus

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def process_versions(session: Session) -> list[dict[str, Any]]:
    """Every process key with its versions, newest first, and how many instances and cases run on each."""
    running = dict(session.execute(
        select(ProcessInstance.definition_id, func.count())
        .where(ProcessInstance.status == InstanceStatus.RUNNING).group_by(ProcessInstance.definition_id)).all())
    total = dict(session.execute(
        select(ProcessInstance.definition_id, func.count()).group_by(ProcessInstance.definition_id)).all())
    open_cases = dict(session.execute(
        select(ProcessInstance.definition_id, func.count())
        .join(ApprovalCase, ApprovalCase.instance_id == ProcessInstance.id)
        .where(ProcessInstance.status == InstanceStatus.RUNNING).group_by(ProcessInstance.definition_id)).all())
    rows = session.execute(
        select(ProcessDefinition, Deployment).join(Deployment, ProcessDefinition.deployment_id == Deployment.id)
        .order_by(ProcessDefinition.key, ProcessDefinition.version.desc())).all()
    processes: dict[str, dict[str, Any]] = {}
    for definition, deployment in rows:
        entry = processes.setdefault(definition.key, {"key": definition.key, "name": definition.name,
                                                            "name_en": definition.name_en, "versions": []})
        entry["versions"].append({
            "id": definition.id, "version": definition.version, "name": definition.name, "name_en": definition.name_en,
            "deployed_at": definition.created_at.isoformat(), "deployed_by": deployment.deployed_by,
            "deployment": deployment.id, "warnings": deployment.warnings or [],
            "running_instances": running.get(definition.id, 0), "running_cases": open_cases.get(definition.id, 0),
            "instances": total.get(definition.id, 0),
        })
    return list(processes.values())


def definition_dict(session: Session, definition_id: int) -> dict[str, Any]:
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFound(f"process definition {definition_id} does not exist", definition_id=definition_id)
    return {"id": definition.id, "key": definition.key, "version": definition.version, "name": definition.name,
            "name_en": definition.name_en, "deployed_at": definition.created_at.isoformat(),
            "deployment": definition.deployment_id}


def diagram_xml(session: Session, definition_id: int) -> bytes:
    """The file as uploaded (with its drawing) that declares this definition's process."""
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFound(f"process definition {definition_id} does not exist", definition_id=definition_id)
    files = session.scalars(select(DeploymentFile).where(DeploymentFile.deployment_id == definition.deployment_id,
                                                         DeploymentFile.kind == "bpmn")
                            .order_by(DeploymentFile.id)).all()
    for file in files:
        if _declares_process(file.original, definition.key):
            return file.original
    raise NotFound(f"no file of deployment {definition.deployment_id} declares process {definition.key!r}",
                   definition_id=definition_id)


def _declares_process(content: bytes, key: str) -> bool:
    try:
        root = parse_untrusted("diagram.bpmn", content)
    except BpmnInvalid:
        return False
    return any(p.get("id") == key for p in root.iter(f"{{{BPMN_NS}}}process"))


def instance_marks(session: Session, instance_id: int) -> dict[str, Any]:
    """Which elements of the instance's diagram are completed, active, overdue or failed."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"instance {instance_id} does not exist", instance_id=instance_id)
    active = sorted(set(session.scalars(select(HumanTask.element_id).where(
        HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN)).all()))
    overdue = sorted({e for e in session.scalars(select(DeadlineWatch.element_id).where(
        DeadlineWatch.instance_id == instance_id, DeadlineWatch.active.is_(True),
        DeadlineWatch.state.in_((Card.YELLOW, Card.RED)), DeadlineWatch.element_id.is_not(None))).all()})
    failed = sorted({e for e in session.scalars(select(Incident.element_id).where(
        Incident.instance_id == instance_id, Incident.resolved_at.is_(None))).all() if e})
    completed = [e for e in _element_ids(instance.completed_elements) if e not in active]
    return {"instance": instance.id, "definition": instance.definition_id, "status": instance.status,
            "completed": sorted(set(completed)), "active": active, "overdue": overdue, "failed": failed}


def _element_ids(entries: list[Any]) -> list[str]:
    out = []
    for entry in entries or []:
        if isinstance(entry, str):
            out.append(entry)
        elif isinstance(entry, dict) and entry.get("element_id"):
            out.append(entry["element_id"])
    return out
