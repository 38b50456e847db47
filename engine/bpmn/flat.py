"""Parse a process without recursion, however long its chain of steps.

SpiffWorkflow 3.2's ``TaskParser.parse_node`` builds a step's spec and then parses
each step its sequence flows lead to, recursively: a chain of about 480 steps
exhausts Python's stack (``RecursionError`` at deploy). Yimen splits that method
in two — the step itself (``build_node``: spec, extensions, loops, boundary
events) and its outgoing flows (``connect_node``) — and the process parser keeps
a work list: a step reached by a flow is built at once (so it can be connected
to) and its own outgoing flows wait in the list. The depth stays one whatever
the length of the diagram; what is built is the same as SpiffWorkflow's.
"""
from __future__ import annotations

from collections import deque

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.workflow import Workflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator, TaskState


def _guarded(np, fn):
    try:
        return fn()
    except ValidationException:
        raise
    except Exception as ex:  # noqa: BLE001 - as SpiffWorkflow's parse_node: every failure names the node
        raise ValidationException("%r" % (ex), node=np.node, file_name=np.filename) from ex


def build_node(np):
    """The first half of ``TaskParser.parse_node``: the step's spec, without following its flows."""
    def run():
        np.task = np.create_task()
        np.task.extensions = np.parse_extensions()
        io_spec = np.xpath('./bpmn:ioSpecification')
        if len(io_spec) > 0:
            np.task.io_specification = np.parse_io_spec()
        loop = np.xpath('./bpmn:standardLoopCharacteristics')
        if len(loop) > 0:
            np._add_loop_task(loop[0])
        mi = np.xpath('./bpmn:multiInstanceLoopCharacteristics')
        if len(mi) > 0:
            np._add_multiinstance_task(mi[0])
        boundary = np.process_parser.get_boundary_events(np.bpmn_id)
        np.yimen_entry = np._add_boundary_event(boundary) if boundary else np.task
        return np.yimen_entry
    return _guarded(np, run)


def connect_node(np) -> None:
    """The second half: connect the step to the steps its sequence flows lead to (built, not followed)."""
    def run():
        children = []
        outgoing = np.process_parser.get_outgoing_sequence_flows(np.bpmn_id)
        if len(outgoing) > 1 and not np.handles_multiple_outgoing():
            np.raise_validation_exception('Multiple outgoing flows are not supported for tasks of type')
        for sequence_flow in outgoing:
            target_ref = sequence_flow.get('targetRef')
            target_node = np.process_parser.get_node_by_id(target_ref)
            if target_node is None:
                np.raise_validation_exception('When looking for a task spec, we found two items, '
                                              'perhaps a form has the same ID? (%s)' % target_ref)
            split_task = np.spec.task_specs.get(f'{target_ref}.BoundaryEventSplit')
            c = np.process_parser.parse_node(target_node) if split_task is None else split_task
            children.append((np.get_position(target_node), c, sequence_flow))
        if not children:
            return
        children.sort(key=lambda tup: float(tup[0]["y"]))
        default_outgoing = np.node.get('default')
        if len(children) == 1 and isinstance(np.task, (ExclusiveGateway, InclusiveGateway)):
            (_, c, sequence_flow) = children[0]
            if np.parse_condition(sequence_flow) is None:
                default_outgoing = sequence_flow.get('id')
        for (_, c, sequence_flow) in children:
            np.connect_outgoing(c, sequence_flow, sequence_flow.get('id') == default_outgoing)
    _guarded(np, run)


class FlatProcessParserMixin:
    """For a ``ProcessParser``: ``parse_node`` builds the step and queues its outgoing flows."""

    def parse_node(self, node):
        if node.get('id') in self.spec.task_specs:
            return self.spec.task_specs[node.get('id')]
        node_parser, spec_class = self.parser._get_parser_class(node.tag)
        if not node_parser or not spec_class:
            raise ValidationException("There is no support implemented for this task type.",
                                      node=node, file_name=self.filename)
        np = node_parser(self, spec_class, node, self.nsmap, lane=self.lane)
        entry = build_node(np)
        pending = self.__dict__.setdefault("_yimen_pending", deque())
        pending.append(np)
        if not self.__dict__.get("_yimen_draining"):
            self._yimen_draining = True
            try:
                while pending:
                    connect_node(pending.popleft())
            finally:
                self._yimen_draining = False
        return entry


# --- predicting a long chain at run time ------------------------------------------------------------

def _predict(self, my_task, seen=None, looked_ahead=0, mask=TaskState.PREDICTED_MASK):
    """``TaskSpec._predict`` with a work stack instead of recursion (same visits, same order).

    SpiffWorkflow predicts every future step of a new branch by recursing once per
    step, so starting a process of about 330 steps in a row raises ``RecursionError``.
    """
    stack = [(my_task, [] if seen is None else seen, looked_ahead)]
    while stack:
        task, visited, ahead = stack.pop()
        spec = task.task_spec
        if task.has_state(mask):
            spec._predict_hook(task)
        if task.has_state(TaskState.PREDICTED_MASK):
            visited.append(spec)
        look_ahead = task.has_state(TaskState.DEFINITE_MASK) or ahead + 1 < spec.lookahead
        if not look_ahead:
            continue
        for child in reversed(task.children):
            if child.has_state(mask) and child not in visited:
                stack.append((child, visited[:], ahead + 1))


# --- removing and cancelling a long branch ----------------------------------------------------------

def _remove_task(self, task_id) -> None:
    """``Workflow._remove_task`` without recursion: the task and everything below it leave the tree,
    children before parents (SpiffWorkflow recurses once per level: cancelling a step with 1,000
    predicted steps after it raised ``RecursionError``)."""
    order, stack = [], [self.tasks[task_id]]
    while stack:
        task = stack.pop()
        order.append(task)
        stack.extend(task.children)
    for task in reversed(order):
        task.parent._children.remove(task.id)
        self.tasks.pop(task.id)
        self._task_removed_notify(task)


def _drop_children(self, force: bool = False) -> None:
    """``Task._drop_children`` without recursion (it recursed through finished descendants)."""
    stack = [self]
    while stack:
        task = stack.pop()
        drop = []
        for child in task.children:
            if force or child.has_state(TaskState.NOT_FINISHED_MASK):
                drop.append(child)
            else:
                stack.append(child)
        for child in drop:
            task.workflow._remove_task(child.id)
        force = False  # as SpiffWorkflow: only the first level is forced


def _cancel(self) -> None:
    """``Task.cancel`` without recursion: a finished task passes the cancel to its children."""
    stack = [self]
    while stack:
        task = stack.pop()
        if task.has_state(TaskState.FINISHED_MASK):
            stack.extend(reversed(task.children))
        else:
            task._set_state(TaskState.CANCELLED)
            task._drop_children()
            task.task_spec._on_cancel(task)


# ``TaskIterator`` (behind ``get_tasks``, ``is_completed``, the ready list ...) stops 1,000 levels deep by
# default: past step 999 of a chain the steps are not found, and the instance "completes" on its own.
UNBOUNDED_DEPTH = 1 << 62


def install() -> None:
    """Replace SpiffWorkflow's recursive prediction and lift the iterator's depth bound.

    Idempotent; done when ``engine.bpmn.parser`` loads (every spec Yimen runs comes through it).
    """
    if TaskSpec._predict is not _predict:
        TaskSpec._predict = _predict
    Workflow._remove_task = _remove_task
    Task._drop_children = _drop_children
    Task.cancel = _cancel
    for cls in (TaskIterator, BpmnTaskIterator):  # defaults: (end_at_spec, max_depth, ...)
        defaults = list(cls.__init__.__defaults__)
        if defaults[1] != UNBOUNDED_DEPTH:
            defaults[1] = UNBOUNDED_DEPTH
            cls.__init__.__defaults__ = tuple(defaults)
