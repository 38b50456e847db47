"""Inbox pages at volume: p50 / p95 of the first page and page 100, for a reviewer, window staff and a supervisor.

Fills a fresh PostgreSQL database with ``--tasks`` open review steps (default 20,000) over three
departments (SJ, WJ, XF) whose reviewers share the candidate group ``reviewer``, plus ``--window``
cases waiting at the window (default 5,000), then times ``Yimen.inbox`` (one page of 50 and its count,
as the inbox page asks) ``--runs`` times per question, and the case list (one page and its count)
for a reviewer and the applicant. Nothing is asserted; the figures go to ``bench/README.md``.

The rows are not hand-written: ``build_volume`` submits one case per department through the engine
(and accepts one of each), then copies the rows the engine wrote for them (instance, case, step rows
and candidates, clocks) with new ids and varied candidates, assignees, due dates, cards and applicants.
``tests/web/test_lists_at_volume.py`` builds its 2,500 tasks the same way.

Run: ``python bench/lists.py [--tasks 20000] [--window 5000] [--runs 30] [--json]``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pgdb import drop_database, fresh_database  # noqa: E402,F401

from engine import case_clock, demo  # noqa: E402
from engine.inbox import task_department  # noqa: E402
from engine.models import (ApprovalCase, CarbonCopy, DeadlineWatch, Department, HumanTask, Incident,  # noqa: E402
                           ProcessInstance, TaskCandidate)
from engine.models.supervision import IssuedCard, SupervisionOrder  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
DEPARTMENTS = ("SJ", "WJ", "XF")
ITEMS = {"SJ": "330100-XK-001", "WJ": "330100-XK-002", "XF": "330100-XF-900"}
REVIEWERS = {"SJ": "li", "WJ": "zhou", "XF": "xia"}  # reviewers of each department, all in the group 'reviewer'
STATES = ("normal", "warning", "yellow", "red")


def _prepare(yimen) -> None:
    """A third department's item and reviewer (the demo has SJ's li and WJ's zhou in 'reviewer')."""
    items = json.loads((demo.PROCESSES / "items" / "demo_items.json").read_text(encoding="utf-8"))
    items = items if isinstance(items, list) else items["items"]
    fire = dict(next(i for i in items if i["code"] == ITEMS["WJ"]))
    fire.update(code=ITEMS["XF"], name="消防安全检查 Fire safety inspection", office_code="XF",
                competent_office="市消防救援支队 City Fire and Rescue Detachment")
    yimen.save_item(fire)
    yimen.add_user("xia", groups=["reviewer"], display_name="夏审查 Reviewer (fire)", roles=["reviewer"],
                   department="XF", password=demo.DEMO_PASSWORD)


def _templates(yimen) -> dict[str, dict[str, int]]:
    """Per department a case waiting at the window and one accepted (waiting at review), through the engine."""
    out = {}
    for dept in DEPARTMENTS:
        item = yimen.item(ITEMS[dept])
        materials = [{"name": m["name"], "filename": "a.pdf", "content": b"%PDF-1.4"} for m in item["materials"]]
        made = {}
        for kind in ("submitted", "accepted"):
            case = yimen.submit(ITEMS[dept], {"name": "模板申请人", "kind": "person", "id_no": "330100199001010000",
                                              "user": "zhang"}, materials, {}, user="zhang")
            if kind == "accepted":
                yimen.accept(case["case"], user="wang")
            made[kind] = case["case"]
        out[dept] = made
    return out


def _rows(conn, table, where) -> list[dict]:
    return [dict(r) for r in conn.execute(sa.select(table).where(where)).mappings()]


def build_volume(yimen, tasks: int, window: int = 0, seed: int = 14) -> dict:
    """``tasks`` open review steps and ``window`` cases waiting at the window, copied from engine-made cases.

    Each review step's candidates vary: the shared group alone (its case's office owns it), the shared
    group and a department group (that department owns it, whatever the office), a claim by its own
    department's reviewer or by another's, a candidate user, another group. Some cases passed an earlier
    step of another department (so its reviewers see the case), some are copied (抄送) to a reviewer, some
    were applied for by an agent. Returns the counts made.
    """
    _prepare(yimen)
    templates = _templates(yimen)
    rng = random.Random(seed)
    instances, cases_t, steps, candidates = (ProcessInstance.__table__, ApprovalCase.__table__,
                                             HumanTask.__table__, TaskCandidate.__table__)
    watches, copies = DeadlineWatch.__table__, CarbonCopy.__table__
    with yimen.db.begin() as conn:
        source = {}
        for dept, made in templates.items():
            for kind, case_id in made.items():
                case = _rows(conn, cases_t, cases_t.c.id == case_id)[0]
                source[dept, kind] = {
                    "instance": _rows(conn, instances, instances.c.id == case["instance_id"])[0], "case": case,
                    "steps": _rows(conn, steps, steps.c.instance_id == case["instance_id"]),
                    "watches": _rows(conn, watches, watches.c.instance_id == case["instance_id"])}
        next_instance = conn.execute(sa.select(sa.func.max(instances.c.id))).scalar() + 1
        next_case = conn.execute(sa.select(sa.func.max(cases_t.c.id))).scalar() + 1
        departments = set(conn.execute(sa.select(Department.__table__.c.id)).scalars())
        batch: dict[str, list[dict]] = {"instances": [], "cases": [], "steps": [], "candidates": [], "watches": [],
                                        "copies": []}
        for n in range(tasks + window):
            dept = DEPARTMENTS[n % len(DEPARTMENTS)]
            kind = "accepted" if n < tasks else "submitted"
            template = source[dept, kind]
            instance_id, case_id = next_instance + n, next_case + n
            others = [d for d in DEPARTMENTS if d != dept]
            batch["instances"].append({**template["instance"], "id": instance_id, "business_key": f"V-{n}"})
            submitted = NOW - timedelta(days=rng.randrange(0, 60), minutes=rng.randrange(0, 1440))
            applicant, agent = "zhang", None
            roll = rng.random()
            if roll < 0.1:
                applicant, agent = None, "zhang"  # 代办: zhang applies for someone without an account
            elif roll < 0.2:
                applicant = None
            batch["cases"].append({**template["case"], "id": case_id, "instance_id": instance_id,
                                   "number": f"{dept}-V-{n:06d}", "applicant_name": f"申请人{n % 500:03d}",
                                   "applicant_id_no": f"33010019900101{n % 1000:04d}", "applicant_user": applicant,
                                   "agent_user": agent, "agent_name": "张三" if agent else None,
                                   "submitted_at": submitted,
                                   "accepted_at": submitted + timedelta(hours=2) if kind == "accepted" else None})
            if rng.random() < 0.03:
                batch["copies"].append({"instance_id": instance_id, "user_id": REVIEWERS[rng.choice(others)],
                                        "by": "wang", "at": submitted, "note": None})
            ids = {}
            for step in template["steps"]:
                row = {**step, "id": str(uuid.uuid4()), "instance_id": instance_id}
                ids[step["id"]] = row["id"]
                row["created_at"] = submitted + timedelta(minutes=rng.randrange(0, 600))
                if step["status"] == "open":
                    if kind == "accepted":
                        row.update(_vary(rng, dept, others))
                    row["due"] = None if rng.random() < 0.1 else NOW + timedelta(hours=rng.randrange(-200, 400))
                    batch["candidates"] += [{"task_id": row["id"], "kind": "user", "value": u}
                                            for u in row["candidate_users"]]
                    batch["candidates"] += [{"task_id": row["id"], "kind": "group", "value": g}
                                            for g in row["candidate_groups"]]
                elif rng.random() < 0.08:  # an earlier step of another department (or two: the first owns it)
                    row["candidate_groups"] = [*row["candidate_groups"],
                                               *rng.sample([*others, "SP"], rng.choice((1, 2)))]
                # the owner the engine writes when a step opens, for the groups varied here
                row["department"] = task_department(row["candidate_groups"], template["case"]["office_code"],
                                                    departments)
                batch["steps"].append(row)
            for watch in template["watches"]:
                state = rng.choices(STATES, weights=(80, 8, 7, 5))[0] if watch["active"] else watch["state"]
                batch["watches"].append({**{k: v for k, v in watch.items() if k != "id"}, "case_id": case_id,
                                         "instance_id": instance_id, "state": state,
                                         "task_id": ids.get(watch["task_id"], watch["task_id"])})
        for table, key in ((instances, "instances"), (cases_t, "cases"), (steps, "steps"), (candidates, "candidates"),
                           (watches, "watches"), (copies, "copies")):
            for start in range(0, len(batch[key]), 2000):
                if batch[key][start:start + 2000]:
                    conn.execute(table.insert(), batch[key][start:start + 2000])
        # the steps' cards follow the clock states varied here, by the engine's own rule
        case_clock.refresh_cards(conn, [row["id"] for row in batch["instances"]])
        if conn.dialect.name == "postgresql":
            for table in ("process_instance", "approval_case"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
            conn.exec_driver_sql("ANALYZE")
    return {"review_tasks": tasks, "window_cases": window, "cases": len(batch["cases"]) + 2 * len(DEPARTMENTS)}


def build_supervision(yimen, seed: int = 15) -> dict:
    """Cards (红黄牌), supervision orders (督办) and incidents over the cases ``build_volume`` made.

    One order is issued through the engine (``Yimen.issue_order``) and copied; each running clock past its
    promised limit gets the card its state calls for (yellow or red, of the clock's department) in a varied
    status, as the sweep would issue it; one case in seven has an incident of the clock or timer sweep.
    Orders go to a department (also ones with no reviewer here) or to a person, some answered or closed,
    some past their deadline. Returns the counts made.
    """
    rng = random.Random(seed)
    cases_t, watches, cards_t = ApprovalCase.__table__, DeadlineWatch.__table__, IssuedCard.__table__
    orders_t, incidents_t = SupervisionOrder.__table__, Incident.__table__
    made = yimen.issue_order("请说明超期原因", 3, department="SJ")
    people = [*REVIEWERS.values(), "wang", "zhao"]
    with yimen.db.begin() as conn:
        template = _rows(conn, orders_t, orders_t.c.id == made["order"])[0]
        rows = list(conn.execute(sa.select(watches.c.id, watches.c.case_id, watches.c.instance_id,
                                           watches.c.department, watches.c.state, watches.c.promised_due)
                                 .where(watches.c.active.is_(True), watches.c.state.in_(("yellow", "red")))))
        cards = [{"watch_id": w.id, "case_id": w.case_id, "task_id": None, "color": w.state, "department": w.department,
                  "status": rng.choices(("issued", "pending", "appealed", "upheld", "withdrawn"), (60, 10, 10, 10, 10))[0],
                  "reason": "超过承诺时限" if w.state == "yellow" else "超过法定时限",
                  "issued_at": w.promised_due + timedelta(hours=rng.randrange(1, 48))} for w in rows]
        cases = list(conn.execute(sa.select(cases_t.c.id, cases_t.c.instance_id, cases_t.c.office_code)))
        orders, incidents = [], []
        for n, case in enumerate(cases):
            if rng.random() < 0.2:
                to_person = rng.random() < 0.3
                status = rng.choices(("open", "answered", "closed"), (60, 25, 15))[0]
                orders.append({**{k: v for k, v in template.items() if k != "id"}, "case_id": case.id,
                               "department": None if to_person else rng.choice([*DEPARTMENTS, "SP", case.office_code]),
                               "assignee": rng.choice(people) if to_person else None, "status": status,
                               "deadline": NOW + timedelta(days=rng.randrange(-10, 10)),
                               "issued_at": NOW - timedelta(days=rng.randrange(1, 30)),
                               "reply": "已整改" if status != "open" else None})
            if n % 7 == 3:
                incidents.append({"instance_id": case.instance_id, "task_id": str(uuid.uuid4()),
                                  "element_id": "Timer_1", "handler": rng.choice(("clock.advance", "timer.fire")),
                                  "message": "calendar_missing", "created_at": NOW - timedelta(hours=n % 50),
                                  "resolved_at": NOW if n % 5 == 0 else None})
        for table, batch in ((cards_t, cards), (orders_t, orders), (incidents_t, incidents)):
            for start in range(0, len(batch), 2000):
                if batch[start:start + 2000]:
                    conn.execute(table.insert(), batch[start:start + 2000])
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
    return {"cards": len(cards), "orders": len(orders) + 1, "incidents": len(incidents)}


def _vary(rng: random.Random, dept: str, others: list[str]) -> dict:
    """Candidates and assignee of one open review step (its case belongs to ``dept``)."""
    roll = rng.random()
    if roll < 0.50:
        return {"candidate_groups": ["reviewer"], "candidate_users": [], "assignee": None}
    if roll < 0.60:
        return {"candidate_groups": ["reviewer", rng.choice(others)], "candidate_users": [], "assignee": None}
    if roll < 0.66:  # two department groups: the first one owns the step
        return {"candidate_groups": ["reviewer", *rng.sample([*DEPARTMENTS, "SP"], 2)], "candidate_users": [],
                "assignee": None}
    if roll < 0.69:
        return {"candidate_groups": ["reviewer", "SP"], "candidate_users": [], "assignee": None}  # the bureau's
    if roll < 0.79:
        return {"candidate_groups": ["reviewer"], "candidate_users": [], "assignee": REVIEWERS[dept]}
    if roll < 0.84:
        return {"candidate_groups": ["reviewer"], "candidate_users": [], "assignee": REVIEWERS[rng.choice(others)]}
    if roll < 0.91:
        return {"candidate_groups": [], "candidate_users": [REVIEWERS[rng.choice([dept, *others])]], "assignee": None}
    return {"candidate_groups": ["approver"], "candidate_users": [], "assignee": None}


# --- the bench ------------------------------------------------------------------------------


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50_ms": round(1000 * statistics.median(ordered), 2),
            "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2)}


def measure(yimen, runs: int) -> list[dict]:
    out = []
    for who in ("li", "wang", "sun"):
        user = yimen.user(who)
        for label, page in (("first page", 1), ("page 100", 100)):
            samples, total = [], 0
            for _ in range(runs):
                started = time.perf_counter()
                listed = yimen.inbox(user, limit=50, offset=(page - 1) * 50, counts=True)
                samples.append(time.perf_counter() - started)
                total = listed["total"]
            out.append({"list": "inbox", "user": who, "roles": user["roles"], "page": label, "total": total,
                        "rows": len(listed["items"]), **_percentiles(samples)})
    for who in ("li", "zhang"):
        user = yimen.user(who)
        for label, page in (("first page", 1), ("page 100", 100)):
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                listed = yimen.case_list(user, limit=50, offset=(page - 1) * 50)
                samples.append(time.perf_counter() - started)
            out.append({"list": "cases", "user": who, "roles": user["roles"], "page": label, "total": listed["total"],
                        "rows": len(listed["items"]), **_percentiles(samples)})
    return out


def _timed(fn, runs: int) -> tuple[dict, dict]:
    samples, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return _percentiles(samples), result


def measure_supervision(yimen, runs: int) -> list[dict]:
    """Cards, orders, incidents, running clocks and due lists (first page and page 20 of 50), and the dashboard."""
    out = []
    for who in ("li", "sun"):
        user = yimen.user(who)
        lists = {"cards": lambda offset: yimen.cards(user, limit=50, offset=offset),
                 "orders": lambda offset: yimen.orders(user, limit=50, offset=offset),
                 "incidents": lambda offset: yimen.incident_list(user, limit=50, offset=offset),
                 "watches": lambda offset: yimen.watches(user, kind=None, limit=50, offset=offset),
                 "due": lambda offset: yimen.due_within(2, user=user, limit=50, offset=offset)}
        for name, fetch in lists.items():
            for label, page in (("first page", 1), ("page 20", 20)):
                figures, listed = _timed(lambda: fetch((page - 1) * 50), runs)
                out.append({"list": name, "user": who, "roles": user["roles"], "page": label,
                            "total": listed["total"], "rows": len(listed["items"]), **figures})
    for label, period in (("dashboard, everything", {}),
                          ("dashboard, one month", {"date_from": "2026-02-01", "date_to": "2026-02-28"}),
                          ("dashboard, one department", {"department": "SJ"})):
        figures, result = _timed(lambda: yimen.supervision_overview(**period), runs)
        out.append({"list": label, "user": "sun", "roles": ["supervisor"], "page": "-",
                    "total": result["totals"]["running"], "rows": result["totals"]["decided"], **figures})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["YIMEN_NOW"] = NOW.isoformat()
    from engine.migrate import upgrade
    from engine.service import Yimen

    name = f"yimen_bench_lists_{os.getpid()}"
    url = fresh_database(args.admin_url, name)
    try:
        upgrade(url)
        yimen = Yimen(url)
        demo.install(yimen)
        started = time.perf_counter()
        made = build_volume(yimen, args.tasks, args.window)
        made.update(build_supervision(yimen))
        figures = {**made, "fill_seconds": round(time.perf_counter() - started, 1), "runs": args.runs,
                   "questions": measure(yimen, args.runs) + measure_supervision(yimen, args.runs)}
        yimen.close()
    finally:
        drop_database(args.admin_url, name)
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"{figures['review_tasks']:,} open review steps, {figures['window_cases']:,} cases at the window "
          f"(filled in {figures['fill_seconds']} s); {figures['cards']:,} cards, {figures['orders']:,} orders, "
          f"{figures['incidents']:,} incidents; {args.runs} runs each, one page of 50 with its counts "
          "(dashboards: total = running cases)")
    for q in figures["questions"]:
        print(f"{q['list']:<26} {q['user']:<5} {','.join(q['roles']):<10} {q['page']:<10} total {q['total']:>6,}  "
              f"p50 {q['p50_ms']:>7.2f} ms  p95 {q['p95_ms']:>7.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
