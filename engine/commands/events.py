"""Deliver messages (to one waiting instance) and signals (to every one).

A message nobody waits for is an error; several waiting instances need a
correlation (instance id or business key). A signal is a broadcast and may
reach nobody. Events thrown by one instance are delivered to the others in
the same transaction.
"""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from sqlalchemy import select

from .. import runtime
from ..assignment import check_data
from ..context import Ctx, command
from ..errors import InvalidState, NotFound, ValidationError
from ..models import EventSubscription, InstanceStatus, ProcessInstance

MAX_CASCADE = 1000


def _waiting(ctx: Ctx, kind: str, name: str, instance_id: int | None = None, business_key: str | None = None):
    stmt = (select(EventSubscription.instance_id).join(ProcessInstance, ProcessInstance.id == EventSubscription.instance_id)
            .where(EventSubscription.kind == kind, EventSubscription.name == name,
                   ProcessInstance.status == InstanceStatus.RUNNING))
    if instance_id is not None:
        stmt = stmt.where(EventSubscription.instance_id == instance_id)
    if business_key is not None:
        stmt = stmt.where(ProcessInstance.business_key == business_key)
    return sorted(set(ctx.session.scalars(stmt)))


def _deliver(ctx: Ctx, instance_id: int, kind: str, name: str, data: dict[str, Any], delivered: list) -> None:
    running = runtime.load(ctx, instance_id)
    definition = MessageEventDefinition(name) if kind == "message" else SignalEventDefinition(name)
    running.workflow.catch(BpmnEvent(definition, payload=dict(data)))
    runtime.advance(ctx, running)
    delivered.append(instance_id)
    _cascade(ctx, running, delivered)


def _cascade(ctx: Ctx, running: runtime.Running, delivered: list) -> None:
    """Deliver what the instance threw to other instances."""
    for event in [e for e in running.events if "throw" in e]:
        if len(delivered) > MAX_CASCADE:
            raise InvalidState("events cascade through too many instances")
        kind, name, payload = event["throw"], event["name"], event.get("payload") or {}
        payload = {k: v for k, v in payload.items() if not str(k).startswith("_")} if isinstance(payload, dict) else {}
        targets = [i for i in _waiting(ctx, kind, name) if i != running.instance.id]
        if kind == "message":
            bk = running.instance.business_key
            if bk is not None:
                targets = [i for i in targets if ctx.session.get(ProcessInstance, i).business_key == bk]
            targets = targets[:1]
        for target in targets:
            _deliver(ctx, target, kind, name, payload, delivered)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("an event name is required")


@command("message.correlate")
def message(ctx: Ctx, name: str, data: dict[str, Any] | None = None, instance_id: int | None = None,
            business_key: str | None = None) -> dict:
    _check_name(name)
    data = check_data(data)
    targets = _waiting(ctx, "message", name, instance_id, business_key)
    if not targets:
        where = f" in instance {instance_id}" if instance_id is not None else (
            f" with business key '{business_key}'" if business_key is not None else "")
        raise NotFound(f"no instance{where} is waiting for message '{name}'", message=name)
    if len(targets) > 1:
        raise InvalidState(f"{len(targets)} instances wait for message '{name}'; give an instance id or business key",
                           instances=targets)
    delivered: list[int] = []
    _deliver(ctx, targets[0], "message", name, data, delivered)
    ctx.audit.instance_id = targets[0]
    ctx.audit.data = {"message": name, "data": data, "delivered": delivered}
    return {"delivered": delivered}


@command("signal.broadcast")
def signal(ctx: Ctx, name: str, data: dict[str, Any] | None = None) -> dict:
    _check_name(name)
    data = check_data(data)
    delivered: list[int] = []
    for instance_id in _waiting(ctx, "signal", name):
        if instance_id not in delivered:
            _deliver(ctx, instance_id, "signal", name, data, delivered)
    ctx.audit.data = {"signal": name, "data": data, "delivered": delivered}
    return {"delivered": delivered}
