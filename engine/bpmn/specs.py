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
        my_task._inherit_data()
        my_task.data[COLLECTION_VAR] = my_task.workflow.script_engine.evaluate(my_task, mi["collection"])


def _forget_item(spec, my_task) -> None:
    """The element variable is local to one instance (as in Camunda); SpiffWorkflow merges it
    back into the step's data, which would make the next instance refuse to start."""
    if spec.input_item is not None:
        my_task.data.pop(spec.input_item.bpmn_id, None)


class YimenParallelMultiInstance(ParallelMultiInstanceTask):
    def _update_hook(self, my_task):
        if not my_task.internal_data.get("yimen_collection_ready"):
            _prepare_collection(self, my_task)
            my_task.internal_data["yimen_collection_ready"] = True
        return super()._update_hook(my_task)

    def create_child(self, my_task, item, key_or_index=None):
        _forget_item(self, my_task)
        return super().create_child(my_task, item, key_or_index)


class YimenSequentialMultiInstance(SequentialMultiInstanceTask):
    def _update_hook(self, my_task):
        if not my_task.internal_data.get("yimen_collection_ready"):
            _prepare_collection(self, my_task)
            my_task.internal_data["yimen_collection_ready"] = True
        return super()._update_hook(my_task)

    def create_child(self, my_task, item, key_or_index=None):
        _forget_item(self, my_task)
        return super().create_child(my_task, item, key_or_index)
