"""Start and terminate process instances."""
from __future__ import annotations

from typing import Any

from .. import definitions, runtime
from ..assignment import check_data
from ..context import Ctx, command
from ..errors import PermissionDenied, ValidationError
from ..cases import case_of_instance
from ..models import CaseStatus, InstanceStatus


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
    running.workflow.cancel()
    runtime.clear_rows(ctx, running.instance)
    running.instance.status = InstanceStatus.TERMINATED
    running.instance.ended_at = ctx.now
    running.instance.end_reason = reason
    running.instance.state = runtime.state.dump(running.workflow)
    running.instance.updated_at = ctx.now
    case = case_of_instance(ctx.session, instance_id)
    if case is not None:
        case.status, case.concluded_at = CaseStatus.TERMINATED, ctx.now
    ctx.audit.instance_id = instance_id
    ctx.audit.data = {"reason": reason}
    return {"instance": instance_id, "status": running.instance.status}
