"""Recomputing open deadlines when the official schedule of a year is entered, at service-centre scale.

Fills PostgreSQL with ``--cases`` open cases (default 100,000) accepted in
December 2026, each with its case clock (a ``DeadlineWatch`` of 20 or 45
working days, counted on the provisional 2027) and an applicant account, then
times, in one run:

* a one-day change (``Yimen.set_calendar_day``) late in the spring that only
  ``--small`` of the cases reach (their limits end after it);
* the same kind of change reached by ``--large`` of the cases;
* entering the whole 2027 test schedule (``tests/data/clock/test_schedule_2027.csv``,
  made-up test data) with every case affected.

Each is one command (one transaction): the affected watches are read by an
indexed range query, rescheduled, and each affected case gets its audit event
and its notices. The figures print the time per affected case and the ratio
of the two partial runs' times against the ratio of their affected counts:
the cost follows the affected cases, not the open ones. Nothing is asserted.

Run: ``python bench/recompute.py [--cases 100000] [--small 1000] [--large 10000] [--json]``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pgdb import drop_database, fresh_database  # noqa: E402,F401

from engine import demo  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from engine.service import Yimen  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 12, 20, 2, 0, tzinfo=timezone.utc)
SCHEDULE = ROOT / "tests" / "data" / "clock" / "test_schedule_2027.csv"


def fill(url: str, cases: int, small: int, large: int) -> float:
    """Open cases server-side: instance, case and case watch each; every limit reaches 春节 2027.

    Rows 1..large have limits ending after 2027-03-15, rows 1..small after 2027-04-20 too. Stored dues are what the provisional calendar gave
    roughly; the recomputation sets them exactly, so every affected case moves (the full per-case cost).
    """
    engine = sa.create_engine(url)
    started = time.perf_counter()
    now = f"'{NOW.isoformat()}'::timestamptz"
    with engine.begin() as conn:
        definition = conn.exec_driver_sql(
            "SELECT id FROM process_definition WHERE key = 'standard_approval' ORDER BY version DESC LIMIT 1").scalar()
        conn.exec_driver_sql(f"""
            INSERT INTO process_instance (id, definition_id, key, business_key, status, state, data,
                completed_elements, mirror, started_by, started_at, updated_at, version)
            SELECT 100000 + g, {definition}, 'standard_approval', 'BENCH-' || g, 'running', '{{}}', '{{}}', '[]',
                   '{{}}', 'zhang', {now}, {now}, 1
            FROM generate_series(1, {cases}) AS g""")
        conn.exec_driver_sql(f"""
            INSERT INTO approval_case (id, number, item_code, instance_id, office_code, applicant_kind,
                applicant_name, applicant_user, applicant_credit, status, submitted_at, accepted_at, form,
                extension_days, version)
            SELECT 100000 + g, 'BENCH-' || g, '330100-XK-001', 100000 + g, 'SJ', 'person', '申请人' || g,
                   'zhang', 'normal', 'under_review', {now}, {now}, '{{}}', 0, 1
            FROM generate_series(1, {cases}) AS g""")
        conn.exec_driver_sql(f"""
            INSERT INTO deadline_watch (kind, case_id, instance_id, department, item_code, started_at,
                promised_days, legal_days, extension_days, warning_days, paused_days, warning_at, promised_due,
                legal_due, state, active, next_change_at, escalation, card_mode)
            SELECT 'case', 100000 + g, 100000 + g, 'SJ', '330100-XK-001', w.start, w.days / 3, w.days, 0, 2, 0,
                   w.start + interval '1 day', w.start + interval '2 days', w.legal, 'normal', true,
                   w.start + interval '1 day', '[]', 'auto'
            FROM generate_series(1, {cases}) AS g,
                 LATERAL (SELECT {now} - mod(g, 20) * interval '1 day' AS start,
                                 CASE WHEN g <= {small} THEN 120 WHEN g <= {large} THEN 75 ELSE 45 END AS days,
                                 CASE WHEN g <= {small} THEN '2027-06-30'::timestamptz
                                      WHEN g <= {large} THEN '2027-04-10'::timestamptz
                                      ELSE '2027-02-20'::timestamptz END AS legal) AS w""")
        conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('process_instance', 'id'), "
                             f"{100000 + cases})")
        conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('approval_case', 'id'), {100000 + cases})")
        conn.exec_driver_sql("ANALYZE deadline_watch; ANALYZE approval_case; ANALYZE process_instance")
    engine.dispose()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["YIMEN_NOW"] = NOW.isoformat()
    name = f"yimen_bench_recompute_{os.getpid()}"
    url = fresh_database(args.admin_url, name)
    try:
        upgrade(url)
        yimen = Yimen(url)
        demo.install(yimen)
        figures: dict = {"open_cases": args.cases, "fill_seconds": round(fill(url, args.cases, args.small,
                                                                                args.large), 2)}
        runs = []
        # Day changes reached by `small` cases (limits past April 20) and by `large` cases (past March 15).
        for label, day, expected in (("one day reached by small", "2027-04-20", args.small),
                                     ("one day reached by large", "2027-03-15", args.large)):
            started = time.perf_counter()
            out = yimen.set_calendar_day(day, "holiday", "bench")
            seconds = time.perf_counter() - started
            runs.append({"run": label, "day": day, "affected_cases": out["recomputed"]["cases"],
                         "expected": expected, "seconds": round(seconds, 3),
                         "ms_per_case": round(1000 * seconds / max(1, out["recomputed"]["cases"]), 3)})
        started = time.perf_counter()
        out = yimen.import_calendar(SCHEDULE.read_text(encoding="utf-8"), "csv")
        seconds = time.perf_counter() - started
        runs.append({"run": "whole 2027 schedule", "affected_cases": out["recomputed"]["cases"],
                     "notified": out["recomputed"]["notified"], "seconds": round(seconds, 3),
                     "ms_per_case": round(1000 * seconds / max(1, out["recomputed"]["cases"]), 3)})
        small, large = runs[0], runs[1]
        figures["runs"] = runs
        figures["time_ratio_large_over_small"] = round(large["seconds"] / max(small["seconds"], 1e-9), 2)
        figures["affected_ratio_large_over_small"] = round(large["affected_cases"] / max(1, small["affected_cases"]),
                                                           2)
        started = time.perf_counter()
        verified = yimen.verify_audit()
        figures["audit_verify_seconds"] = round(time.perf_counter() - started, 2)
        figures["audit_ok"] = verified.get("ok")
        # The bulk-filled rows were written outside any command, so a verify that checks covered rows against
        # the chain names them; what matters here is that the recomputation's own events chain.
        figures["audit_problems"] = len(verified.get("problems") or [])
        figures["audit_problem_kinds"] = sorted({str(p.get("problem", ""))[:60] for p in verified.get("problems") or []})[:5]
        yimen.close()
    finally:
        drop_database(args.admin_url, name)
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"open cases: {figures['open_cases']:,} (filled in {figures['fill_seconds']} s)")
        for r in figures["runs"]:
            print(f"{r['run']:<28} affected {r['affected_cases']:>7,}  {r['seconds']:>8.2f} s  "
                  f"{r['ms_per_case']:>7.3f} ms per affected case")
        print(f"time ratio large/small {figures['time_ratio_large_over_small']} vs affected ratio "
              f"{figures['affected_ratio_large_over_small']}")
        print(f"audit chain verified: {figures['audit_ok']} ({figures['audit_verify_seconds']} s), "
              f"{figures['audit_problems']} problems {figures['audit_problem_kinds']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
