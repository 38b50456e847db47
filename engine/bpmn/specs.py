"""SpiffWorkflow task specs that Yimen replaces.

* ``HandlerTask``: a service (or send) task does not run inside SpiffWorkflow;
  it stops in STARTED so that the runtime calls the named handler, records
  retries and incidents, and completes it.
* Multi-instance specs whose collection is a full expression (not a variable
  name) evaluate it with Yimen's evaluator just before the step starts.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.defaults import (
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
    ServiceTask,
)

COLLECTION_VAR = "_mi_collection"


class HandlerTask(ServiceTask):
    """A task whose work is done by a Yimen handler (see ``engine.handlers_runner``)."""

    def _run_hook(self, my_task):
        return None  # leave it STARTED; the runtime runs the handler


def _prepare_collection(spec, my_task) -> None:
    meta = getattr(spec, "yimen_meta", None) or {}
    mi = meta.get("multi_instance") or {}
    if spec.data_input is not None and spec.data_input.bpmn_id == COLLECTION_VAR and mi.get("collection"):
        my_task.data[COLLECTION_VAR] = my_task.workflow.script_engine.evaluate(my_task, mi["collection"])


class YimenParallelMultiInstance(ParallelMultiInstanceTask):
    def _update_hook(self, my_task):
        if not my_task.internal_data.get("yimen_collection_ready"):
            _prepare_collection(self, my_task)
            my_task.internal_data["yimen_collection_ready"] = True
        return super()._update_hook(my_task)


class YimenSequentialMultiInstance(SequentialMultiInstanceTask):
    def _update_hook(self, my_task):
        if not my_task.internal_data.get("yimen_collection_ready"):
            _prepare_collection(self, my_task)
            my_task.internal_data["yimen_collection_ready"] = True
        return super()._update_hook(my_task)
