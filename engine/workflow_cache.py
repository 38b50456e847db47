"""Workflows kept in memory between commands, valid for one row version.

Turning stored JSON back into a SpiffWorkflow object is, after the database
itself, the largest fixed cost of a command. A command that loads an instance
whose row still has the version a workflow was cached under takes that
workflow instead of parsing the state again.

The database stays the truth:

* an entry is taken out (not copied) when a command loads it, so two commands
  in one process never share a workflow object;
* it is put back only after the command's transaction has committed, under the
  row version that commit wrote, and only if the state written was dumped from
  this very workflow; a rolled-back command leaves nothing behind;
* another process changing the instance bumps the version, so its entry here is
  no longer used; an entry whose spec is no longer the cached spec (a cleared
  definition cache) is ignored too.

``YIMEN_WORKFLOW_CACHE`` sets how many instances are kept (least recently
used go first); ``0`` turns the cache off.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

DEFAULT_SIZE = 2000


@dataclass(frozen=True)
class _Entry:
    version: int
    workflow: Any


_entries: OrderedDict[int, _Entry] = OrderedDict()
_lock = threading.Lock()


def capacity() -> int:
    try:
        return max(0, int(os.environ.get("YIMEN_WORKFLOW_CACHE", DEFAULT_SIZE)))
    except ValueError:
        return DEFAULT_SIZE


def take(instance_id: int, version: int, spec) -> Any | None:
    """The workflow cached for this instance at this row version (removed from the cache), or None."""
    with _lock:
        entry = _entries.pop(instance_id, None)
    if entry is None or entry.version != version or entry.workflow.spec is not spec:
        return None
    return entry.workflow


def keep(instance_id: int, version: int, workflow) -> None:
    """Remember a workflow whose state was committed under ``version``."""
    size = capacity()
    if size == 0:
        return
    with _lock:
        _entries[instance_id] = _Entry(version, workflow)
        _entries.move_to_end(instance_id)
        while len(_entries) > size:
            _entries.popitem(last=False)


def clear() -> None:
    with _lock:
        _entries.clear()


def size() -> int:
    return len(_entries)
