"""A service centre's volume on PostgreSQL: lists, search, supervision and two verbs at ``--cases`` cases.

Builds a throw-away database (``bench/pgdb.py``) with the demo data, ``--departments`` reviewing departments
(the demo's plus made-up ones) each with its reviewer in the shared group ``reviewer``, and ``--items`` service
items spread over them. Through the engine (``Yimen.submit``, ``accept``, ``decide``) it makes, per item, three
template cases: one concluded, one waiting at review, one waiting at the window. Then it multiplies them on the
server: ``INSERT ... SELECT ... FROM <the template's rows> CROSS JOIN generate_series(1, n)`` for the instance,
the case, its step rows and their candidates and its clock watches, each copy with its own ids, number,
applicant name and ID number, dates, due times and card state (no row is written by hand: every column not
varied is the engine's own). ``--open`` of the ``--cases`` are open (four in five at review, with a task, one in
five at the window); the rest concluded.

Then it prints p50 / p95 (``--runs`` each) of: the inbox first page and page 100 for a reviewer (``li``), window
staff (``wang``) and a supervisor (``sun``), and their first page without the total (``total=False``, as
``GET /api/tasks?total=false`` answers: ``has_more``); case search by number, applicant name and ID number; the supervision
overview and one department's red clocks; and the accept and the review decision of a new case, measured before
the copy (the same database with only the templates) and after. Nothing is asserted.

Run: ``python bench/scale.py [--cases 1000000] [--open 100000] [--runs 20] [--json]``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pgdb import drop_database, fresh_database  # noqa: E402

from engine import case_clock, demo  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from engine.models import ApprovalCase, DeadlineWatch, HumanTask, ProcessInstance, TaskCandidate  # noqa: E402
from engine.service import Yimen  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BASE_ITEM = "330100-XK-001"  # the food licence (standard approval): every generated item is a copy of it
EXTRA_DEPARTMENTS = (("JT", "市交通运输局 City Transport Bureau"), ("ZR", "市自然资源局 City Natural Resources Bureau"),
                     ("RS", "市人力资源和社会保障局 City Human Resources Bureau"),
                     ("WH", "市文化广电旅游局 City Culture and Tourism Bureau"))
REVIEW_DEPARTMENTS = ("SJ", "WJ", "XF", "HB", "JG", "JT", "ZR", "RS", "WH")
KINDS = ("concluded", "review", "window")


def _setup(yimen: Yimen, departments: int, items: int) -> list[dict]:
    """Departments, one reviewer each (``li`` for SJ), and ``items`` copies of the food licence over them."""
    demo.install(yimen)
    for dept_id, name in EXTRA_DEPARTMENTS:
        yimen.save_department(dept_id, name, "city", "ZJ")
    chosen = REVIEW_DEPARTMENTS[:departments]
    for dept in chosen:
        if dept != "SJ":
            yimen.add_user(f"rev_{dept.lower()}", groups=["reviewer", dept], display_name=f"审查 {dept}",
                           roles=["reviewer"], department=dept, password=demo.DEMO_PASSWORD)
    catalogue = json.loads((demo.PROCESSES / "items" / "demo_items.json").read_text(encoding="utf-8"))
    base = next(i for i in (catalogue if isinstance(catalogue, list) else catalogue["items"]) if i["code"] == BASE_ITEM)
    made = []
    for n in range(items):
        dept = chosen[n % len(chosen)]
        item = dict(base)
        code = BASE_ITEM if n == 0 else f"330100-SC-{n:03d}"
        if n:
            item.update(code=code, name=f"事项 {n:03d} Item {n:03d}", office_code=dept,
                        competent_office=f"{dept} office")
            yimen.save_item(item)
        made.append({"code": code, "department": base["office_code"] if n == 0 else dept})
    return made


def _application(yimen: Yimen, code: str, name: str = "模板申请人") -> dict:
    item = yimen.item(code)
    materials = [{"name": m["name"], "filename": "a.pdf", "content": b"%PDF-1.4"} for m in item["materials"]
                 if m.get("required")]
    return yimen.submit(code, {"name": name, "kind": "person", "id_no": "330100199001010000", "user": "zhang"},
                        materials, {}, user="zhang")


def _templates(yimen: Yimen, items: list[dict]) -> dict[tuple[str, str], int]:
    """Per item a concluded case, one at review and one at the window, each made by the engine's verbs."""
    out = {}
    for item in items:
        for kind in KINDS:
            case = _application(yimen, item["code"])["case"]
            if kind != "window":
                yimen.accept(case, user="wang")
            if kind == "concluded":
                for element in ("review", "conclude"):
                    (task,) = [t for t in yimen.tasks(instance=yimen.case(case)["instance"])
                               if t["element_id"] == element]
                    yimen.decide(task["id"], True, "同意", user="admin")
            out[item["code"], kind] = case
    return out


def _copy(conn, table: sa.Table, where: str, overrides: dict[str, str], params: dict, count: int,
          omit: tuple[str, ...] = ()) -> int:
    """``INSERT INTO table SELECT <columns, some replaced> FROM table t CROSS JOIN generate_series(1, count) g``."""
    columns = [c.name for c in table.columns if c.name not in omit]
    select = ", ".join(overrides.get(c, f't."{c}"') for c in columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    sql = (f'INSERT INTO {table.name} ({quoted}) SELECT {select} FROM {table.name} t '
           f"CROSS JOIN generate_series(1, :count) g WHERE {where}")
    return conn.execute(sa.text(sql), {**params, "count": count}).rowcount


def _task_id(column: str) -> str:
    """A copied step's id, the same wherever it is referred to: md5 of the template id and the copy number."""
    return f"md5({column} || '-' || :tag || '-' || g)::uuid::text"


def build(yimen: Yimen, items: list[dict], templates: dict, cases: int, open_cases: int) -> dict:
    """Copy the templates server-side until there are ``cases`` cases, ``open_cases`` of them open."""
    instances, cases_t, steps = ProcessInstance.__table__, ApprovalCase.__table__, HumanTask.__table__
    candidates, watches = TaskCandidate.__table__, DeadlineWatch.__table__
    per_kind = {"review": open_cases * 4 // 5, "window": open_cases - open_cases * 4 // 5}
    per_kind["concluded"] = max(0, cases - open_cases)
    rows = 0
    with yimen.db.begin() as conn:
        next_instance = conn.execute(sa.select(sa.func.max(instances.c.id))).scalar() + 1
        next_case = conn.execute(sa.select(sa.func.max(cases_t.c.id))).scalar() + 1
        for kind in KINDS:
            for index, item in enumerate(items):
                count = per_kind[kind] // len(items) + (1 if index < per_kind[kind] % len(items) else 0)
                if not count:
                    continue
                case_id = templates[item["code"], kind]
                instance_id = conn.execute(sa.select(cases_t.c.instance_id).where(cases_t.c.id == case_id)).scalar()
                tag = f"{kind[0]}{index}"
                p = {"ib": next_instance - 1, "cb": next_case - 1, "tid": instance_id, "cid": case_id, "tag": tag,
                     "prefix": f"SC{index:02d}{kind[0].upper()}-"}
                # when: concluded cases over the last two years, open ones over the last 60 days
                spread = "730" if kind == "concluded" else "60"
                shift = f"make_interval(mins => ((g * 7919) % ({spread} * 1440))::int)"
                rows += _copy(conn, instances, "t.id = :tid", {
                    "id": ":ib + g", "business_key": "NULL", "started_at": f"t.started_at - {shift}",
                    "updated_at": f"t.updated_at - {shift}",
                    "ended_at": f"t.ended_at - {shift}"}, p, count)
                rows += _copy(conn, cases_t, "t.id = :cid", {
                    "id": ":cb + g", "instance_id": ":ib + g", "number": ":prefix || lpad(g::text, 7, '0')",
                    "applicant_name": "'申请人' || ((g * 31) % 20000)::text",
                    "applicant_id_no": "'3301' || lpad(((g::bigint * 104729 + :cid) % 100000000000000)::text, 14, '0')",
                    "submitted_at": f"t.submitted_at - {shift}", "accepted_at": f"t.accepted_at - {shift}",
                    "concluded_at": f"t.concluded_at - {shift}"}, p, count)
                rows += _copy(conn, steps, "t.instance_id = :tid", {
                    "id": _task_id("t.id"), "instance_id": ":ib + g", "created_at": f"t.created_at - {shift}",
                    "completed_at": f"t.completed_at - {shift}",
                    "due": "CASE WHEN t.status = 'open' THEN now() + make_interval(hours => ((g * 13) % 600)::int - 200)"
                           " ELSE t.due END"}, p, count)
                rows += _copy(conn, candidates, "t.task_id IN (SELECT id FROM human_task WHERE instance_id = :tid)",
                              {"task_id": _task_id("t.task_id")}, p, count, omit=("id",))
                rows += _copy(conn, watches, "t.instance_id = :tid", {
                    "case_id": ":cb + g", "instance_id": ":ib + g",
                    "task_id": f"CASE WHEN t.task_id IS NULL THEN NULL ELSE {_task_id('t.task_id')} END",
                    "started_at": f"t.started_at - {shift}",
                    "state": "CASE WHEN NOT t.active THEN t.state WHEN g % 20 = 0 THEN 'red' WHEN g % 14 = 0 "
                             "THEN 'yellow' WHEN g % 12 = 0 THEN 'warning' ELSE t.state END"}, p, count,
                              omit=("id",))
                next_instance += count
                next_case += count
        for table in ("process_instance", "approval_case"):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        case_clock.refresh_cards(conn)  # the open steps' cards follow the varied clock states (the engine's rule)
    with yimen.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    return {"rows": rows, **{f"{k}_copies": v for k, v in per_kind.items()}}


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50_ms": round(1000 * statistics.median(ordered), 2),
            "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2)}


def _timed(runs: int, fn) -> tuple[dict, object]:
    samples, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - began)
    return _percentiles(samples), result


def reads(yimen: Yimen, runs: int, overview_runs: int = 3) -> list[dict]:
    out = []
    for who in ("li", "wang", "sun"):
        user = yimen.user(who)
        for label, page in (("first page", 1), ("page 100", 100)):
            figures, listed = _timed(runs, lambda: yimen.inbox(user, limit=50, offset=(page - 1) * 50, counts=True))
            out.append({"read": f"inbox {label}", "user": who, "total": listed["total"], **figures})
        # what the API answers with ?total=false: has_more instead of the total, the page walked in order
        figures, listed = _timed(runs, lambda: yimen.inbox(user, limit=50, total=False))
        out.append({"read": "inbox first page, has_more (no total)", "user": who, "total": None, **figures})
    sun = yimen.user("sun")
    probe = yimen.case_list(sun, limit=1, offset=1000)["items"] or yimen.case_list(sun, limit=1)["items"]
    number, shown = probe[0]["number"], yimen.case(probe[0]["id"])
    for label, filters in (("search by number", {"number": number}),
                           ("search by applicant name", {"applicant": shown["applicant"]["name"]}),
                           ("search by ID number", {"id_no": shown["applicant"]["id_no"]})):
        figures, listed = _timed(runs, lambda: yimen.case_list(sun, limit=50, **filters))
        out.append({"read": label, "user": "sun", "total": listed["total"], **figures})
    figures, _ = _timed(min(runs, overview_runs), yimen.supervision_overview)
    out.append({"read": "supervision overview", "user": "sun", "total": None, **figures})
    figures, listed = _timed(runs, lambda: yimen.watches(department="WJ", state="red"))
    out.append({"read": "red clocks of one department (WJ)", "user": "sun", "total": listed.get("total"), **figures})
    return out


def verbs(yimen: Yimen, runs: int) -> dict:
    """Accept, then the review decision, of ``runs`` new food-licence cases (the application is not timed)."""
    accept, review = [], []
    for n in range(runs):
        case = _application(yimen, BASE_ITEM, name=f"新申请人{n}")["case"]
        began = time.perf_counter()
        yimen.accept(case, user="wang")
        accept.append(time.perf_counter() - began)
        (task,) = [t for t in yimen.tasks(instance=yimen.case(case)["instance"]) if t["element_id"] == "review"]
        began = time.perf_counter()
        yimen.decide(task["id"], True, "同意", user="li")
        review.append(time.perf_counter() - began)
    return {"accept": _percentiles(accept), "review decide": _percentiles(review)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000, help="of --cases, open (default 100,000)")
    parser.add_argument("--departments", type=int, default=9, help="reviewing departments, at most 9")
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--overview-runs", type=int, default=3, help="runs of the supervision overview (slow)")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("YIMEN_AUDIT_KEY", "bench-scale-" + "k" * 40)
    name = f"yimen_bench_scale_{os.getpid()}"
    url = fresh_database(args.admin_url, name)
    try:
        upgrade(url)
        yimen = Yimen(url)
        began = time.perf_counter()
        items = _setup(yimen, min(args.departments, len(REVIEW_DEPARTMENTS)), args.items)
        templates = _templates(yimen, items)
        made = time.perf_counter() - began
        empty_verbs = verbs(yimen, args.runs)
        empty_reads = reads(yimen, max(3, args.runs // 4), args.overview_runs)
        began = time.perf_counter()
        built = build(yimen, items, templates, args.cases, args.open)
        copied = time.perf_counter() - began
        with yimen.db.connect() as conn:
            counts = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar()
                      for t in ("approval_case", "human_task", "deadline_watch", "task_candidate")}
            counts["open steps"] = conn.exec_driver_sql("SELECT count(*) FROM human_task WHERE status = 'open'").scalar()
        full_reads = reads(yimen, args.runs, args.overview_runs)
        full_verbs = verbs(yimen, args.runs)
        yimen.close()
    finally:
        drop_database(args.admin_url, name)
    figures = {"cases": args.cases, "open": args.open, "templates_s": round(made, 1), "copy_s": round(copied, 1),
               "counts": counts, "built": built, "reads": full_reads, "reads_empty": empty_reads,
               "verbs": full_verbs, "verbs_empty": empty_verbs}
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
        return 0
    print(f"{len(templates)} template cases through the engine in {made:.1f} s; copied to {counts['approval_case']:,} "
          f"cases ({counts['open steps']:,} open steps, {counts['human_task']:,} step rows, "
          f"{counts['deadline_watch']:,} watches, {built['rows']:,} rows) in {copied:.1f} s")
    print(f"{'read':40} {'user':5} {'total':>9} {'p50 ms':>8} {'p95 ms':>8}   (templates only: p50 / p95)")
    for full, empty in zip(full_reads, empty_reads):
        total = "" if full["total"] is None else f"{full['total']:,}"
        print(f"{full['read']:40} {full['user']:5} {total:>9} {full['p50_ms']:8.1f} {full['p95_ms']:8.1f}   "
              f"({empty['p50_ms']:.1f} / {empty['p95_ms']:.1f})")
    for verb in full_verbs:
        f, e = full_verbs[verb], empty_verbs[verb]
        print(f"{verb:40} {'':5} {'':>9} {f['p50_ms']:8.1f} {f['p95_ms']:8.1f}   ({e['p50_ms']:.1f} / {e['p95_ms']:.1f});"
              f" p50 ratio {f['p50_ms'] / e['p50_ms']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
