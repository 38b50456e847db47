"""Engine throughput: Yimen (persisted) against raw SpiffWorkflow, in one run.

Every variant drives the same number of cases of the shipped standard approval
(``processes/standard_approval.bpmn``) down the same path::

    start -> accept {"acceptance": "accepted"} -> review {"opinion": "ok"}
          -> conclude {"approved": true} -> record_conclusion (handler) -> end

that is three task completions per case. The variants:

``Yimen, SQLite`` / ``Yimen, PostgreSQL``
    Everything through the public engine API, ``engine.service.Yimen``:
    ``start``, ``tasks(instance=...)`` before each step and ``complete`` as the
    staff member of the task's candidate group. Each command is its own
    transaction that loads the instance, runs SpiffWorkflow, runs the
    ``record_conclusion`` handler, mirrors the open tasks into rows, stores the
    workflow state (without the spec) and appends a hash-chained audit event.
    The parsed spec stays in Yimen's per-process cache, as it does in a
    running server.

``raw SpiffWorkflow, in memory``
    The lower bound of work: ``CamundaParser`` once, then per case a
    ``BpmnWorkflow`` that lives in memory only. No permissions, no rows, no
    audit, no durability.

``raw SpiffWorkflow, JSON round trip``
    The same, but after every step (start and each completion) the workflow
    goes through ``BpmnWorkflowSerializer.serialize_json`` and back through
    ``deserialize_json``: what an application persisting SpiffWorkflow the
    standard way pays. The standard serializer writes the whole process spec
    into every snapshot and rebuilds it on every load; Yimen stores the spec
    once per deployed version and keeps it parsed.

Why: a durable, audited engine cannot beat keeping everything in memory, but
its persistence should cost no more than SpiffWorkflow's own persistence. The
benchmark prints two targets for each database, printed only, never asserted:

* persisted >= raw with JSON round trip (throughput ratio >= 1.0)
* persisted >= 0.5 x raw in memory     (throughput ratio >= 0.5)

The raw variants cannot read Yimen's ``${...}`` expressions (SpiffWorkflow
evaluates conditions with Python ``eval``), so they use a copy of the diagram
with the conditions written in Python. The service task stays as it is:
SpiffWorkflow's plain ``ServiceTask`` starts and waits (a ``bpmn:task`` would
not do, SpiffWorkflow treats it as manual); the raw runner then calls the
shipped ``record_conclusion`` handler and completes the task, as Yimen does.

Only the cases are timed (``time.perf_counter``); deploying / parsing and one
warm-up case per variant happen before the clock starts.

Run ``python bench/engine.py --help`` for the options; see ``bench/README.md``.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__":
    # Run as a script, this file's folder comes first on sys.path and its name
    # would shadow the ``engine`` package; put the project root there instead.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter  # noqa: E402
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask  # noqa: E402
from SpiffWorkflow.camunda.parser import CamundaParser  # noqa: E402
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from bench.floor import Floor, timed_cases  # noqa: E402
from engine import definitions  # noqa: E402
from engine.db import normalize_url  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from engine.service import Yimen  # noqa: E402
from handlers.builtin import record_conclusion  # noqa: E402

DIAGRAM = ROOT / "processes" / "standard_approval.bpmn"
PROCESS = "standard_approval"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/yimen_bench"

START_DATA = {"applicant": "zhang"}
# (element, data, who completes it in the Yimen variants)
STEPS = (
    ("accept", {"acceptance": "accepted"}, "wang"),
    ("review", {"opinion": "ok"}, "li"),
    ("conclude", {"approved": True}, "zhao"),
)
STAFF = {"wang": "window", "li": "reviewer", "zhao": "approver"}

# Yimen expression -> Python, for the raw SpiffWorkflow copy of the diagram.
# ``globals().get`` stands in for Camunda's ``execution.getVariable`` (a
# variable that may be absent); inside SpiffWorkflow's eval the task data are
# the globals.
RAW_REWRITES = {
    "${acceptance == 'not_accepted'}": "acceptance == 'not_accepted'",
    "${acceptance == 'correction'}": "acceptance == 'correction'",
    "${approved == true &amp;&amp; execution.getVariable('tolerance') == true &amp;&amp; "
    "execution.getVariable('materials_complete') != true}":
        "approved == True and globals().get('tolerance') == True and globals().get('materials_complete') != True",
    "${supplement_due}": "supplement_due",
}


@dataclass
class Result:
    variant: str
    cases: int
    completions: int
    seconds: float
    setup_seconds: float
    skipped: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def per_second(self) -> float | None:
        if self.skipped or self.seconds <= 0:
            return None
        return self.completions / self.seconds


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    value = fn()
    return time.perf_counter() - began, value


# --- Yimen ----------------------------------------------------------------------------------------------

def yimen_setup(url: str) -> tuple[Yimen, float]:
    """Add the staff and deploy the diagram; returns the service and the deploy time."""
    definitions.clear_cache()  # the cache is per process and keyed by id; each variant deploys its own
    service = Yimen(url)
    for user, group in STAFF.items():
        service.add_user(user, groups=[group])
    seconds, _ = _timed(lambda: service.deploy([(DIAGRAM.name, DIAGRAM.read_bytes())]))
    return service, seconds


def yimen_case(service: Yimen) -> int:
    instance = service.start(PROCESS, dict(START_DATA))["instance"]
    status = None
    for element, data, user in STEPS:
        (task,) = service.tasks(instance=instance)
        if task["element_id"] != element:
            raise RuntimeError(f"instance {instance}: expected '{element}', found '{task['element_id']}'")
        status = service.complete(task["id"], dict(data), user=user)["status"]
    if status != "completed":
        raise RuntimeError(f"instance {instance} ended the path {status}")
    return instance


def yimen_cases(service: Yimen, cases: int) -> list[int]:
    return [yimen_case(service) for _ in range(cases)]


def run_yimen(variant: str, url: str, cases: int) -> Result:
    service, setup = yimen_setup(url)
    try:
        yimen_case(service)  # warm-up
        seconds, instances = _timed(lambda: yimen_cases(service, cases))
        shown = service.show(instances[-1])
        if shown["data"].get("outcome") != "approved":
            raise RuntimeError(f"the last case has no approved outcome: {shown['data']}")
        audit = service.verify_audit()
    finally:
        service.close()
    return Result(variant, cases, cases * len(STEPS), seconds, setup,
                  extra={"audit_events": audit["events"], "audit_ok": audit["ok"]})


def run_yimen_sqlite(cases: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="yimen-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'yimen.db'}"
        upgrade(url)
        return run_yimen("Yimen, SQLite", url, cases)


def fresh_postgres(url: str) -> str:
    """Drop and recreate the benchmark database (through the ``test`` database) and migrate it."""
    target = sa.engine.make_url(normalize_url(url))
    name = target.database
    if not name or '"' in name:
        raise ValueError(f"unusable database name in {url!r}")
    admin = sa.create_engine(target.set(database="test"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    rendered = target.render_as_string(hide_password=False)
    upgrade(rendered)
    return rendered


def unreachable(url: str) -> tuple[str, str | None]:
    """A fresh benchmark database (its URL), or why PostgreSQL cannot be used."""
    try:
        return fresh_postgres(url), None
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return url, f"PostgreSQL unreachable: {reason}"


def run_yimen_postgres(cases: int, url: str) -> Result:
    variant = "Yimen, PostgreSQL"
    url, skipped = unreachable(url)
    if skipped:
        return Result(variant, cases, 0, 0.0, 0.0, skipped=skipped)
    return run_yimen(variant, url, cases)


# --- the floor: the same rows through the bare driver -----------------------------------------------------

def _floor(connection, postgres: bool, definition_id: int) -> Floor:
    groups = {element: STAFF[user] for element, _data, user in STEPS}
    return Floor(connection, postgres, definition_id, raw_spec(), STEPS, START_DATA, engine_steps, groups)


def _prepare_floor_database(url: str) -> int:
    """Staff and the deployed diagram (the rows reference them); returns the definition id."""
    service, _ = yimen_setup(url)
    try:
        return service.deploy([(DIAGRAM.name, DIAGRAM.read_bytes())])["deployed"][0]["id"]
    finally:
        service.close()


def run_floor_sqlite(cases: int) -> Result:
    import sqlite3

    with tempfile.TemporaryDirectory(prefix="yimen-bench-") as folder:
        path = Path(folder) / "floor.db"
        upgrade(f"sqlite:///{path}")
        definition_id = _prepare_floor_database(f"sqlite:///{path}")
        connection = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):  # as engine/db.py
            connection.execute(f"PRAGMA {pragma}")
        try:
            seconds = timed_cases(_floor(connection, False, definition_id), cases)
        finally:
            connection.close()
    return Result("floor: rows via sqlite3", cases, cases * len(STEPS), seconds, 0.0)


def run_floor_postgres(cases: int, url: str) -> Result:
    import psycopg

    variant = "floor: rows via psycopg"
    url, skipped = unreachable(url)
    if skipped:
        return Result(variant, cases, 0, 0.0, 0.0, skipped=skipped)
    definition_id = _prepare_floor_database(url)
    target = sa.engine.make_url(url)
    connection = psycopg.connect(host=target.host, port=target.port or 5432, user=target.username,
                                 password=target.password, dbname=target.database)
    try:
        seconds = timed_cases(_floor(connection, True, definition_id), cases)
    finally:
        connection.close()
    return Result(variant, cases, cases * len(STEPS), seconds, 0.0)


# --- raw SpiffWorkflow ------------------------------------------------------------------------------

def raw_xml() -> bytes:
    """The diagram with its conditions written in Python."""
    text = DIAGRAM.read_text(encoding="utf-8")
    for yimen_form, raw_form in RAW_REWRITES.items():
        if yimen_form not in text:
            raise RuntimeError(f"{DIAGRAM.name} changed: '{yimen_form}' not found; update RAW_REWRITES")
        text = text.replace(yimen_form, raw_form)
    return text.encode("utf-8")


def raw_spec():
    parser = CamundaParser()
    parser.add_bpmn_str(raw_xml(), filename=DIAGRAM.name)
    return parser.get_spec(PROCESS)


def engine_steps(workflow: BpmnWorkflow) -> None:
    """Run what needs no person; a started service task gets its handler called and is completed."""
    workflow.do_engine_steps()
    started = [t for t in workflow.get_tasks(state=TaskState.STARTED) if isinstance(t.task_spec, ServiceTask)]
    for task in started:
        task.data.update(record_conclusion(dict(task.data)))
        task.complete()
    if started:
        workflow.do_engine_steps()


class RawRunner:
    """One case at a time on raw SpiffWorkflow, optionally through JSON after every step."""

    def __init__(self, round_trip: bool):
        self.round_trip = round_trip
        # The standard serializer (spec included in every snapshot) with the
        # Camunda task converters, plus the plain service task, which
        # SpiffWorkflow's default configuration leaves out.
        config = {**CAMUNDA_CONFIG, ServiceTask: BpmnTaskSpecConverter}
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
        self.spec = None
        self.snapshot_bytes = 0

    def setup(self) -> float:
        seconds, self.spec = _timed(raw_spec)
        return seconds

    def _persist(self, workflow: BpmnWorkflow) -> BpmnWorkflow:
        if not self.round_trip:
            return workflow
        text = self.serializer.serialize_json(workflow)
        self.snapshot_bytes = len(text)
        return self.serializer.deserialize_json(text)

    def case(self) -> BpmnWorkflow:
        workflow = BpmnWorkflow(self.spec)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(START_DATA)
        engine_steps(workflow)
        workflow = self._persist(workflow)
        for element, data, _user in STEPS:
            (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
            if task.task_spec.bpmn_id != element:
                raise RuntimeError(f"expected '{element}', found '{task.task_spec.bpmn_id}'")
            task.data.update(data)
            task.run()
            engine_steps(workflow)
            workflow = self._persist(workflow)
        if not workflow.is_completed() or workflow.last_task.data.get("outcome") != "approved":
            raise RuntimeError("raw case did not conclude approved")
        return workflow

    def cases(self, count: int) -> None:
        for _ in range(count):
            self.case()


def run_raw(cases: int, round_trip: bool) -> Result:
    runner = RawRunner(round_trip)
    setup = runner.setup()
    runner.case()  # warm-up
    seconds, _ = _timed(lambda: runner.cases(cases))
    variant = "raw SpiffWorkflow, JSON round trip" if round_trip else "raw SpiffWorkflow, in memory"
    extra = {"snapshot_bytes": runner.snapshot_bytes} if round_trip else {}
    return Result(variant, cases, cases * len(STEPS), seconds, setup, extra=extra)


# --- report -----------------------------------------------------------------------------------------------

def compare(results: dict[str, Result]) -> tuple[list[dict], list[dict]]:
    """Throughput ratios against raw SpiffWorkflow (and Yimen against the floor), and the targets."""
    ratios, targets = [], []
    raw_memory, raw_json = results["raw_memory"].per_second, results["raw_json"].per_second
    for key, label, floor_key in (("yimen_sqlite", "Yimen-SQLite", "floor_sqlite"),
                                  ("yimen_postgres", "Yimen-PostgreSQL", "floor_postgres")):
        result = results.get(key)
        if result is None or result.per_second is None:
            continue
        vs_memory = result.per_second / raw_memory
        vs_json = result.per_second / raw_json
        ratios.append({"name": f"{label} / raw in-memory", "ratio": vs_memory})
        ratios.append({"name": f"{label} / raw JSON round trip", "ratio": vs_json})
        floor = results.get(floor_key)
        if floor is not None and floor.per_second:
            ratios.append({"name": f"{label} / its floor", "ratio": result.per_second / floor.per_second})
            ratios.append({"name": f"floor ({label[6:]}) / raw in-memory", "ratio": floor.per_second / raw_memory})
            ratios.append({"name": f"floor ({label[6:]}) / raw JSON round trip", "ratio": floor.per_second / raw_json})
        targets.append({"name": f"{label}: persisted >= raw with JSON round trip", "ratio": vs_json,
                        "threshold": 1.0, "pass": vs_json >= 1.0})
        targets.append({"name": f"{label}: persisted >= 0.5 x raw in-memory", "ratio": vs_memory,
                        "threshold": 0.5, "pass": vs_memory >= 0.5})
    return ratios, targets


def print_report(results: dict[str, Result], ratios: list[dict], targets: list[dict]) -> None:
    rows = list(results.values())
    cases = rows[0].cases
    print(f"standard_approval: {cases} cases x {len(STEPS)} task completions per variant "
          f"(deploy/parse and one warm-up case untimed)\n")
    width = max(len(r.variant) for r in rows)
    print(f"{'variant':<{width}}  {'cases':>6}  {'completions':>11}  {'seconds':>8}  {'completions/s':>13}")
    for r in rows:
        if r.skipped:
            print(f"{r.variant:<{width}}  skipped: {r.skipped}")
            continue
        print(f"{r.variant:<{width}}  {r.cases:>6}  {r.completions:>11}  {r.seconds:>8.3f}  {r.per_second:>13.1f}")
    print("\nuntimed setup: parse (raw) / deploy (Yimen) " + ", ".join(
        f"{r.setup_seconds * 1000:.0f} ms" for r in rows if not r.skipped and not r.variant.startswith("floor")))
    if "snapshot_bytes" in results["raw_json"].extra:
        print(f"raw JSON snapshot (spec included): {results['raw_json'].extra['snapshot_bytes']:,} bytes")
    print("\nratios (completions/s, Yimen / raw)")
    name_width = max((len(r["name"]) for r in ratios), default=0)
    for r in ratios:
        print(f"  {r['name']:<{name_width}}  {r['ratio']:6.2f}")
    print("\ntargets (printed only, never asserted)")
    name_width = max((len(t["name"]) for t in targets), default=0)
    for t in targets:
        verdict = "PASS" if t["pass"] else "FAIL"
        print(f"  {t['name']:<{name_width}}  {t['ratio']:6.2f} >= {t['threshold']:.1f}  {verdict}")


def as_json(results: dict[str, Result], ratios: list[dict], targets: list[dict]) -> dict:
    variants = []
    for key, r in results.items():
        entry = asdict(r)
        entry["key"] = key
        entry["completions_per_second"] = r.per_second
        variants.append(entry)
    return {"process": PROCESS, "completions_per_case": len(STEPS), "variants": variants, "ratios": ratios,
            "targets": targets}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, default=200, help="cases per variant (default 200)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help="database to drop, recreate and use (default %(default)s)")
    parser.add_argument("--skip-postgres", action="store_true", help="leave out the PostgreSQL variant")
    parser.add_argument("--skip-floor", action="store_true",
                        help="leave out the floor variants (the same rows through the bare driver, bench/floor.py)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = parser.parse_args(argv)
    if args.cases < 1:
        parser.error("--cases must be at least 1")

    results: dict[str, Result] = {
        "raw_memory": run_raw(args.cases, round_trip=False),
        "raw_json": run_raw(args.cases, round_trip=True),
        "yimen_sqlite": run_yimen_sqlite(args.cases),
    }
    if not args.skip_floor:
        results["floor_sqlite"] = run_floor_sqlite(args.cases)
    if args.skip_postgres:
        results["yimen_postgres"] = Result("Yimen, PostgreSQL", args.cases, 0, 0.0, 0.0,
                                           skipped="--skip-postgres")
    else:
        results["yimen_postgres"] = run_yimen_postgres(args.cases, args.postgres_url)
        if not args.skip_floor:
            results["floor_postgres"] = run_floor_postgres(args.cases, args.postgres_url)

    ratios, targets = compare(results)
    if args.json:
        print(json.dumps(as_json(results, ratios, targets), indent=2))
    else:
        print_report(results, ratios, targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
