"""Start and terminate process instances."""
from __future__ import annotations

from typing import Any

from .. import definitions, runtime
from ..assignment import check_data
from ..context import Ctx, command
from ..errors import PermissionDenied, ValidationError


@command("instance.start")
def start(ctx: Ctx, key: str, data: dict[str, Any] | None = None, business_key: str | None = None,
          version: int | None = None) -> dict:
    data = check_data(data)
    if business_key is not None and (not isinstance(business_key, str) or not business_key.strip()):
        raise ValidationError("business key must be a non-empty string")
    definition = definitions.latest(ctx.session, key, version)
    running = runtime.start(ctx, definition.id, data, business_key)
    ctx.audit.instance_id = running.instance.id
    ctx.audit.data = {"key": key, "version": definition.version, "business_key": business_key, "data": data,
                      "handlers": running.events}
    return {"instance": running.instance.id, "status": running.instance.status}


@command("instance.terminate")
def terminate(ctx: Ctx, instance_id: int, reason: str) -> dict:
    if not ctx.actor.is_admin:
        raise PermissionDenied(f"user '{ctx.actor.id}' may not terminate instances")
    if not reason or not str(reason).strip():
        raise ValidationError("terminating an instance needs a reason")
    running = runtime.load(ctx, instance_id)
    runtime.end_instance(ctx, running, reason)  # its case (if any) ends and its clock stops: engine.lifecycle
    ctx.audit.instance_id = instance_id
    ctx.audit.data = {"reason": reason}
    return {"instance": instance_id, "status": running.instance.status}
