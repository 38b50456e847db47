"""Deployed process definitions: lookup by key/version and the parsed-spec cache.

Specs are parsed once per deployed version and kept in memory; any process
(web worker, scheduler) that misses the cache re-parses the stored,
normalized XML of the deployment.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from lxml import etree
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .bpmn import loader, metadata
from .errors import NotFound
from .models import DeploymentFile, ProcessDefinition

_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True)
class LoadedDefinition:
    id: int
    key: str
    version: int
    spec: Any
    subprocess_specs: dict[str, Any]
    meta: dict[str, dict]
    allow_scripts: bool


_cache: dict[int, LoadedDefinition] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every parsed spec, and with them the workflows built on those specs."""
    from . import workflow_cache

    with _lock:
        _cache.clear()
    workflow_cache.clear()


def remember(definition: ProcessDefinition, built: loader.BuiltProcess, allow_scripts: bool) -> LoadedDefinition:
    loaded = LoadedDefinition(definition.id, definition.key, definition.version, built.spec,
                              built.subprocess_specs, definition.element_meta, allow_scripts)
    with _lock:
        _cache[definition.id] = loaded
    return loaded


def load(session: Session, definition_id: int) -> LoadedDefinition:
    cached = _cache.get(definition_id)
    if cached is not None:
        return cached
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFound(f"process definition {definition_id} does not exist", definition_id=definition_id)
    files = session.scalars(
        select(DeploymentFile).where(DeploymentFile.deployment_id == definition.deployment_id).order_by(DeploymentFile.id)
    ).all()
    roots = [(f.filename, f.kind, etree.fromstring(f.normalized, _SAFE)) for f in files]
    # The definition stores its own process' metadata; a process it calls gets its own elements' back
    # from the files (ids may repeat across the files of one upload).
    extracted = [metadata.extract(name, root) for name, kind, root in roots if kind == "bpmn"]
    processes = {pid for name, kind, root in roots if kind == "bpmn" for pid in metadata.process_info(root)}
    meta_by_process = {pid: metadata.of_process(extracted, pid) for pid in processes - {definition.key}}
    meta_by_process[definition.key] = definition.element_meta
    built = loader.build(roots, [definition.key], definition.element_meta, meta_by_process=meta_by_process)
    return remember(definition, built[definition.key], definition.deployment.allow_scripts)


MAX_VERSION = 2**31 - 1  # versions are counted from 1 per key; an INTEGER column on every database


def latest(session: Session, key: str, version: int | None = None):
    """The id, key and version of a deployed process: its newest version, or the one asked for.

    Only those three columns are read (not the element metadata): starting a case does this every time.
    """
    if version is None:
        definition = session.connection().execute(_LATEST, {"key": key}).first()
    elif isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        # a version no deployment can have (and one no database integer holds) is simply not deployed
        raise NotFound(f"process '{key}' version {str(version)[:20]} is not deployed", key=key)
    else:
        definition = session.connection().execute(_EXACT, {"key": key, "version": version}).first()
    if definition is None:
        what = f"process '{key}'" + (f" version {version}" if version is not None else "")
        raise NotFound(f"{what} is not deployed", key=key)
    return definition


_DEFINITIONS = ProcessDefinition.__table__
_LATEST = (select(_DEFINITIONS.c.id, _DEFINITIONS.c.key, _DEFINITIONS.c.version)
           .where(_DEFINITIONS.c.key == bindparam("key"))
           .order_by(_DEFINITIONS.c.version.desc()).limit(1))
_EXACT = (select(_DEFINITIONS.c.id, _DEFINITIONS.c.key, _DEFINITIONS.c.version)
          .where(_DEFINITIONS.c.key == bindparam("key"), _DEFINITIONS.c.version == bindparam("version")))
