"""Deliver messages (to one waiting instance) and signals (to every one).

A message nobody waits for is an error; several waiting instances need a
correlation (instance id or business key). A signal is a broadcast and may
reach nobody. Whatever the reached instances throw in turn is passed on in
the same transaction (``runtime.advance``).
"""
from __future__ import annotations

from typing import Any

from .. import runtime
from ..assignment import check_data
from ..context import Ctx, command
from ..errors import InvalidState, NotFound, ValidationError


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("an event name is required")


@command("message.correlate")
def message(ctx: Ctx, name: str, data: dict[str, Any] | None = None, instance_id: int | None = None,
            business_key: str | None = None) -> dict:
    _check_name(name)
    data = check_data(data)
    targets = runtime.waiting(ctx, "message", name, instance_id, business_key)
    if not targets:
        where = f" in instance {instance_id}" if instance_id is not None else (
            f" with business key '{business_key}'" if business_key is not None else "")
        raise NotFound(f"no instance{where} is waiting for message '{name}'", message=name)
    if len(targets) > 1:
        raise InvalidState(f"{len(targets)} instances wait for message '{name}'; give an instance id or business key",
                           instances=targets)
    runtime.deliver(ctx, targets[0], "message", name, data)
    ctx.audit.instance_id = targets[0]
    ctx.audit.data = {"message": name, "data": data, "delivered": list(ctx.delivered)}
    return {"delivered": list(ctx.delivered)}


@command("signal.broadcast")
def signal(ctx: Ctx, name: str, data: dict[str, Any] | None = None) -> dict:
    _check_name(name)
    data = check_data(data)
    for instance_id in runtime.waiting(ctx, "signal", name):
        if instance_id not in ctx.delivered:
            runtime.deliver(ctx, instance_id, "signal", name, data)
    ctx.audit.data = {"signal": name, "data": data, "delivered": list(ctx.delivered)}
    return {"delivered": list(ctx.delivered)}
