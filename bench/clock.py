"""The case clock at scale: one million open watched tasks in PostgreSQL.

What a supervisor's screen and the scheduler ask, timed against a table of
``--open`` running deadline watches (default 1,000,000, spread over the next
60 days, spread over 40 departments):

* everything due in the next N minutes (N = 5, 60, 1440): the indexed range
  query on ``(active, promised_due)``;
* everything due within 2 working days, and all red cases of one department,
  through the public facade (``Yimen.due_within``, ``Yimen.watches``);
* a full warning / card sweep (``Yimen.advance_deadlines``) when K watches
  are due, for two values of K. The sweep reads only rows whose
  ``next_change_at`` has passed, so its time must follow K (the due rows),
  not the number of open rows: the figures print the time per due watch and
  the ratio between the two sweeps.

For comparison, measured in the same run: raw SpiffWorkflow has no index of
what is due; an application persisting SpiffWorkflow the standard way must
deserialize each waiting workflow and ask it (``refresh_waiting_tasks``). The
benchmark times that on a sample of ``--spiff-sample`` serialized workflows
waiting on a timer and extrapolates to ``--open`` (printed as such).

Nothing is asserted; figures are printed (and written as JSON with --json).
Run: ``python bench/clock.py [--open 1000000] [--database-url URL]``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pgdb import drop_database, fresh_database  # noqa: E402,F401

from engine import clock  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from engine.service import Yimen  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # inside the seeded calendar


def fill(url: str, count: int) -> float:
    """Insert ``count`` running step watches server-side; none is due yet."""
    engine = sa.create_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql("""
            INSERT INTO deadline_watch (kind, instance_id, task_id, element_id, department, item_code, started_at,
                promised_days, legal_days, extension_days, warning_days, paused_days, warning_at, promised_due,
                legal_due, state, active, next_change_at, escalation, card_mode)
            SELECT 'step', g, md5(g::text), 'review', 'D' || mod(g, 40), 'ITEM-' || mod(g, 25), %(now)s,
                   5, NULL, 0, 1, 0,
                   %(now)s + interval '1 hour' + mod(g, 86400) * interval '60 seconds' - interval '30 minutes',
                   %(now)s + interval '1 hour' + mod(g, 86400) * interval '60 seconds',
                   NULL, 'normal', true,
                   %(now)s + interval '1 hour' + mod(g, 86400) * interval '60 seconds' - interval '30 minutes',
                   '[]', 'auto'
            FROM generate_series(1, %(count)s) AS g
        """.replace("%(now)s", "'" + NOW.isoformat() + "'::timestamptz").replace("%(count)s", str(count)))
        conn.exec_driver_sql("ANALYZE deadline_watch")
    engine.dispose()
    return time.perf_counter() - started


def make_due(url: str, k: int) -> None:
    """Bring ``k`` watches' next change (their warning) to just before NOW."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"""
            UPDATE deadline_watch SET warning_at = '{(NOW - timedelta(minutes=1)).isoformat()}'::timestamptz,
                                      next_change_at = '{(NOW - timedelta(minutes=1)).isoformat()}'::timestamptz
            WHERE id IN (SELECT id FROM deadline_watch WHERE active AND state = 'normal'
                         ORDER BY id DESC LIMIT {k})""")
    engine.dispose()


def timed(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def raw_spiff_scan(sample: int) -> float:
    """Seconds per waiting workflow for SpiffWorkflow to deserialize it and check its timer."""
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
    from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

    diagram = ROOT / "bench" / "timer_wait.bpmn"
    parser = CamundaParser()
    parser.add_bpmn_file(str(diagram))
    process_id = next(iter(parser.get_process_ids()))
    spec = parser.get_spec(process_id)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))
    workflow = BpmnWorkflow(spec)
    workflow.do_engine_steps()
    snapshots = [serializer.serialize_json(workflow)] * sample
    started = time.perf_counter()
    for snapshot in snapshots:
        loaded = serializer.deserialize_json(snapshot)
        loaded.refresh_waiting_tasks()
    return (time.perf_counter() - started) / sample


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, default=1_000_000, help="running watches in the table")
    parser.add_argument("--due", default="100,1000", help="two numbers of due watches for the sweep")
    parser.add_argument("--spiff-sample", type=int, default=300)
    parser.add_argument("--admin-url", default=os.environ.get("YIMEN_BENCH_POSTGRES_ADMIN_URL", ADMIN_URL))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    url = fresh_database(args.admin_url, f"yimen_bench_clock_{os.getpid()}")
    upgrade(url)
    yimen = Yimen(url)
    figures: dict = {"open": args.open}
    try:
        with clock.pinned(NOW):
            yimen.seed_calendar([2025, 2026])
            figures["fill_seconds"] = round(fill(url, args.open), 2)
            engine = sa.create_engine(url)
            for minutes in (5, 60, 1440):
                horizon = NOW + timedelta(minutes=minutes)

                def query(h=horizon):
                    with engine.connect() as conn:
                        return conn.execute(sa.text(
                            "SELECT id, task_id, promised_due FROM deadline_watch WHERE active "
                            "AND promised_due <= :h ORDER BY promised_due LIMIT 1000"), {"h": h}).fetchall()

                rows = len(query())
                figures[f"due_next_{minutes}min_ms"] = round(timed(query) * 1000, 3)
                figures[f"due_next_{minutes}min_rows"] = rows
            engine.dispose()
            figures["due_within_2_working_days_ms"] = round(timed(lambda: yimen.due_within(2)) * 1000, 2)
            figures["red_of_one_department_ms"] = round(
                timed(lambda: yimen.watches(department="D7", state="red", kind="step")) * 1000, 2)
            small, large = (int(x) for x in args.due.split(","))
            for k in (small, large):
                make_due(url, k)
                started = time.perf_counter()
                result = yimen.advance_deadlines(NOW)
                seconds = time.perf_counter() - started
                figures[f"sweep_{k}_due_seconds"] = round(seconds, 3)
                figures[f"sweep_{k}_changed"] = result["changed"]
                figures[f"sweep_{k}_ms_per_due_watch"] = round(seconds / max(k, 1) * 1000, 3)
            figures["sweep_time_ratio"] = round(figures[f"sweep_{large}_due_seconds"]
                                                / figures[f"sweep_{small}_due_seconds"], 2)
            figures["due_count_ratio"] = round(large / small, 2)
        per_workflow = raw_spiff_scan(args.spiff_sample)
        figures["raw_spiff_scan_ms_per_workflow"] = round(per_workflow * 1000, 3)
        figures["raw_spiff_full_scan_seconds_extrapolated"] = round(per_workflow * args.open, 1)
        figures["ratio_raw_full_scan_to_yimen_sweep_of_" + str(large)] = round(
            per_workflow * args.open / figures[f"sweep_{large}_due_seconds"], 1)
    finally:
        yimen.close()
        admin = sa.create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.engine.make_url(url).database}" WITH (FORCE)')
        admin.dispose()
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        width = max(len(k) for k in figures)
        for key, value in figures.items():
            print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
