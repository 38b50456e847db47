"""Deploy BPMN/DMN files: validate everything, store nothing on any error.

Each executable process becomes a definition ``key`` (its BPMN id) at the
next version for that key; uploading byte-identical files again returns the
existing version instead of adding one.
"""
from __future__ import annotations

import hashlib

from sqlalchemy import select

from ..bpmn import loader, metadata
from ..bpmn.prepare import prepare
from ..context import Ctx, command
from ..errors import BpmnInvalid, PermissionDenied, Problem, ValidationError
from ..models import Deployment, DeploymentFile, ProcessDefinition
from .. import definitions, limits

DESIGNER_GROUP = "process-designer"


def _checksum(files: list[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for filename, content in sorted(files):
        digest.update(filename.encode("utf-8") + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


def metadata_for(prepared, process_id: str) -> dict[str, dict]:
    """All elements' metadata of an upload, where the elements of ``process_id`` win over same ids elsewhere."""
    return metadata.of_process([pf.metadata for pf in prepared], process_id)


@command("deploy")
def deploy(ctx: Ctx, files: list[tuple[str, bytes]], name: str | None = None, allow_scripts: bool = False) -> dict:
    if not ctx.actor.is_admin and DESIGNER_GROUP not in ctx.groups():
        raise PermissionDenied(f"user '{ctx.actor.id}' may not deploy diagrams (needs the process designer role)")
    if allow_scripts and not ctx.actor.is_admin:
        raise PermissionDenied("only an administrator can allow script tasks for a deployment")
    if not files:
        raise ValidationError("a deployment needs at least one BPMN or DMN file")
    seen = set()
    for filename, content in files:
        if filename in seen:
            raise ValidationError(f"file '{filename}' is given twice")
        seen.add(filename)
        if not isinstance(content, (bytes, bytearray)):
            raise ValidationError(f"file '{filename}' must be bytes")

    limits.check_deployment(files)
    prepared = prepare(files, allow_scripts=allow_scripts)
    for pf in prepared:
        if pf.kind == "bpmn":
            limits.check_diagram(pf.filename, pf.tree)
    process_ids: list[str] = []
    names: dict[str, str | None] = {}
    names_en: dict[str, str | None] = {}  # yimen.nameEn of each process
    meta: dict[str, dict] = {}
    lines: dict[str, dict[str, int]] = {}
    warnings: list[Problem] = []
    for pf in prepared:
        warnings.extend(pf.warnings)
        meta.update(pf.metadata)
        lines[pf.filename] = pf.lines
        if pf.kind != "bpmn":
            continue
        for pid, info in pf.processes.items():
            if info.get("executable"):
                process_ids.append(pid)
                names[pid] = info.get("name")
                names_en[pid] = info.get("name_en")
    if not process_ids:
        raise BpmnInvalid([Problem.of(prepared[0].filename, None, None, "no executable process in the upload")])
    dupes = {pid for pid in process_ids if process_ids.count(pid) > 1}
    if dupes:
        raise BpmnInvalid([Problem.of(pf.filename, pid, pf.lines.get(pid),
                                      "process id '{process}' is defined in more than one file",
                                      process=pid)
                           for pf in prepared for pid in pf.processes if pid in dupes])

    # Element ids are unique within a file, not across the files of one upload: each process gets the
    # metadata of every element with its own elements winning (two diagrams may both have an 'accept').
    meta_of = {pid: metadata_for(prepared, pid) for pid in process_ids}
    built = loader.build([(pf.filename, pf.kind, pf.tree.getroot()) for pf in prepared], process_ids, meta, names, lines,
                         meta_by_process=meta_of)

    checksum = _checksum([(f, bytes(c)) for f, c in files])
    deployment: Deployment | None = None
    result = []
    for pid in process_ids:
        current = ctx.session.scalars(
            select(ProcessDefinition).where(ProcessDefinition.key == pid)
            .order_by(ProcessDefinition.version.desc()).limit(1)
        ).first()
        if current is not None and current.checksum == checksum:
            result.append({"key": pid, "version": current.version, "id": current.id, "new": False})
            continue
        if deployment is None:
            deployment = Deployment(name=name, checksum=checksum, deployed_by=ctx.actor.id, deployed_at=ctx.now,
                                    allow_scripts=allow_scripts, warnings=[w.to_dict() for w in warnings])
            ctx.session.add(deployment)
            for pf in prepared:
                original = dict(files)[pf.filename]
                deployment.files.append(DeploymentFile(filename=pf.filename, kind=pf.kind, original=bytes(original),
                                                       normalized=pf.xml))
            ctx.session.flush()
        definition = ProcessDefinition(key=pid, version=(current.version + 1) if current else 1, name=names.get(pid),
                                       name_en=names_en.get(pid), checksum=checksum, deployment_id=deployment.id, element_meta=meta_of[pid],
                                       created_at=ctx.now)
        ctx.session.add(definition)
        ctx.session.flush()
        ctx.after_commit.append(lambda d=definition, b=built[pid]: definitions.remember(d, b, allow_scripts))
        result.append({"key": pid, "version": definition.version, "id": definition.id, "new": True})

    ctx.audit.data = {"deployed": result, "files": [f for f, _ in files],
                      "deployment": deployment.id if deployment else None}
    return {"deployed": [{k: r[k] for k in ("key", "version", "id")} for r in result],
            "warnings": [w.to_dict() for w in warnings]}
