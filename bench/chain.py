"""A long chain of steps in one command: what ``yimen start`` costs for 250 ... 1,000 steps in a row.

Issue 17: a chain of 1,000 plain and manual tasks before the first user task runs in one command
(the start), and SpiffWorkflow's engine loop looks at the whole task tree for every step it runs,
so the cost grows with the square of the chain. This prints, for each length, the seconds of the
start command (load, engine, rows, state, audit: all of it), the seconds per step, and the share of
the time spent in SpiffWorkflow's task-tree walks, measured with ``cProfile`` in a separate run.

    . .venv/bin/activate
    python bench/chain.py                      # 250, 500, 1000 steps, SQLite, best of 3
    python bench/chain.py --steps 1000 --repeat 5
    python bench/chain.py --profile            # also the top functions by cumulative time for the longest

Figures only; nothing is asserted. The command's time budget (``YIMEN_COMMAND_BUDGET_SECONDS``) is
lifted for the run so that a slow machine still prints its figures.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YIMEN_COMMAND_BUDGET_SECONDS", "600")

from engine import definitions  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from engine.service import Yimen  # noqa: E402

# where the task tree is walked: the engine loop's search for READY tasks and, after each completed
# task, the search for WAITING ones (cumulative time of each, they do not nest)
WALKS = ("get_tasks", "update_waiting_tasks")


def chain(steps: int) -> bytes:
    """start -> ``steps`` plain and manual tasks in a row -> a user task -> end (the test suite's chain)."""
    nodes, flows, previous = [], [], "start"
    for i in range(steps):
        kind = "manualTask" if i % 2 else "task"
        nodes.append(f'<bpmn:{kind} id="step{i}" />')
        flows.append(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{previous}" targetRef="step{i}" />')
        previous = f"step{i}"
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
  <bpmn:process id="chain_{steps}" isExecutable="true">
    <bpmn:startEvent id="start" />
    {"".join(nodes)}
    <bpmn:userTask id="last" camunda:candidateGroups="window" />
    <bpmn:endEvent id="end" />
    {"".join(flows)}
    <bpmn:sequenceFlow id="f_last" sourceRef="{previous}" targetRef="last" />
    <bpmn:sequenceFlow id="f_end" sourceRef="last" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>'''.encode()


def measure(yimen: Yimen, steps: int, repeat: int) -> float:
    """Best of ``repeat`` starts (the first start of a version parses nothing more: deploy parsed it)."""
    yimen.deploy([(f"chain_{steps}.bpmn", chain(steps))])
    yimen.start(f"chain_{steps}")  # warm-up: the spec cache, the first rows
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        instance = yimen.start(f"chain_{steps}")["instance"]
        best = min(best, time.perf_counter() - began)
        assert [t["element_id"] for t in yimen.tasks(instance=instance)] == ["last"]
    return best


def profile(yimen: Yimen, steps: int, top: int) -> tuple[float, str]:
    profiler = cProfile.Profile()
    profiler.enable()
    yimen.start(f"chain_{steps}")
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    walks = sum(cumulative for (file, _, name), (_, _, _, cumulative, _) in stats.stats.items()
                if ("SpiffWorkflow" in file or "workflow_fixes" in file) and name in WALKS)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return walks / total if total else 0.0, out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--steps", type=int, nargs="*", default=[250, 500, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print the top functions for the longest chain")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="yimen-chain-") as folder:
        url = f"sqlite:///{Path(folder) / 'yimen.db'}"
        upgrade(url)
        yimen = Yimen(url)
        try:
            print(f"{'steps':>6} {'start (s)':>10} {'ms/step':>8} {'tree walks':>11}")
            for steps in args.steps:
                seconds = measure(yimen, steps, args.repeat)
                share, text = profile(yimen, steps, 25)
                print(f"{steps:>6} {seconds:>10.3f} {1000 * seconds / steps:>8.2f} {share:>10.0%}")
            if args.profile:
                print(text)
        finally:
            yimen.close()
            definitions.clear_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
