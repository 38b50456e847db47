"""The food-licence walk through the real server: task moves per second and p50 / p99 per verb.

Each case is walked over HTTP with a bearer token per person, as an outside system would:

    apply     POST /api/cases                      (applicant zhang, three materials)
    accept    POST /api/cases/{id}/accept          (window wang)
    inbox     GET  /api/tasks?item=...             (reviewer li: finds the case's review step)
    complete  POST /api/tasks/{id}/complete        (li completes the review)
    inbox     GET  /api/tasks?item=...             (approver zhao: finds the conclude step)
    decide    POST /api/tasks/{id}/decide          (zhao approves: the case concludes)

That is three task moves per case (accept, complete, decide). Every combination of database (SQLite,
PostgreSQL), server (``yimen serve``: waitress, one process; ``yimen serve --workers 1`` and ``--workers 2``:
gunicorn) and client threads (1, 4, 8) gets a fresh database with the demo data, a server process of its own
on a free loopback port, one warm-up case per client thread, then ``--cases`` cases spread over the threads.
The client keeps one HTTP/1.1 connection per thread. Printed: task moves/s, requests/s, p50 / p99 per verb,
refusals and client timeouts; and, in the same run, ``bench/engine.py``'s raw SpiffWorkflow figure (in
memory and with a JSON round trip) for the ratio. Nothing is asserted.

Run: ``python bench/http.py [--cases 120] [--clients 1,4,8] [--servers waitress,w1,w2]
[--databases sqlite,postgres] [--json]``.
"""
from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "http":
    # ``python bench/<another>.py`` puts this folder first on the path, where this file's name hides the standard
    # library's ``http`` (werkzeug imports ``http.server``): hand the importer the real package instead.
    import importlib

    _here = Path(__file__).resolve().parent
    _saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    del sys.modules["http"]
    sys.modules["http"] = importlib.import_module("http")
    sys.path[:] = _saved
elif sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # run as a script: this folder first on the path would hide the standard ``http``

import argparse  # noqa: E402
import base64  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pgdb import drop_database, fresh_database  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ITEM = "330100-XK-001"
MATERIALS = ["食品经营许可申请书", "营业执照", "食品安全管理制度"]  # the item's material names, as the API takes them
PEOPLE = ("zhang", "wang", "li", "zhao")
VERBS = ("apply", "accept", "inbox", "complete", "decide")
MOVES = ("accept", "complete", "decide")
SERVERS = {"waitress": [], "w1": ["--workers", "1", "--threads", "8"], "w2": ["--workers", "2", "--threads", "8"]}
CLIENT_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str) -> dict[str, str]:
    """Migrate, install the demo data, and make one API token per person of the walk."""
    from engine import demo
    from engine.migrate import upgrade
    from engine.service import Yimen

    upgrade(url)
    yimen = Yimen(url)
    try:
        demo.install(yimen)
        return {p: yimen.create_token(p, "bench")["token"] for p in PEOPLE}
    finally:
        yimen.close()


class Server:
    """``yimen serve`` in its own process (and process group) on a free port; stopped by its pid."""

    def __init__(self, url: str, kind: str, folder: Path):
        self.port = _free_port()
        env = {**os.environ, "YIMEN_DATABASE_URL": url, "YIMEN_INSTANCE_PATH": str(folder),
               "YIMEN_SECRET_KEY": secrets.token_hex(16), "YIMEN_AUDIT_KEY": os.environ.get(
                   "YIMEN_AUDIT_KEY", "bench-http-" + "k" * 40)}
        self.log = open(folder / "server.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "serve", "--no-scheduler", "--port", str(self.port), *SERVERS[kind]],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped: see {folder / 'server.log'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the server did not start within 60 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


class Client:
    """One keep-alive connection (or, ``fresh``, a new connection per request); ``call`` returns (status, body,
    seconds)."""

    def __init__(self, port: int, tokens: dict[str, str], fresh: bool = False):
        self.port, self.tokens, self.fresh = port, tokens, fresh
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)

    def call(self, who: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict, float]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        if self.fresh:  # the server closes the connection after answering; the next request opens another
            headers["Connection"] = "close"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        began = time.perf_counter()
        try:
            self.conn.request(method, path, payload, headers)
            response = self.conn.getresponse()
            data = response.read()
        except (socket.timeout, TimeoutError):
            self.conn.close()
            return 0, {"error": {"code": "client_timeout"}}, time.perf_counter() - began
        except (http.client.HTTPException, ConnectionError):
            self.conn.close()  # the server closed a kept-alive connection: reconnect once
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=CLIENT_TIMEOUT)
            self.conn.request(method, path, payload, headers)
            response = self.conn.getresponse()
            data = response.read()
        return response.status, (json.loads(data) if data else {}), time.perf_counter() - began

    def close(self) -> None:
        self.conn.close()


APPLICATION = {"item": ITEM, "applicant": {"name": "张三", "id_no": "330102199001011234"},
               "materials": [{"name": n, "filename": "a.pdf", "content_base64": base64.b64encode(b"%PDF-1.4 " * 64)
                              .decode()} for n in MATERIALS]}


def walk(client: Client, timings: dict[str, list[float]], problems: list[str]) -> bool:
    """One case from application to conclusion; False (and a problem noted) if any answer is not the expected."""

    def step(verb, who, method, path, body=None, expect=200):
        status, data, seconds = client.call(who, method, path, body)
        timings[verb].append(seconds)
        if status != expect:
            problems.append(f"{verb}: {status} {(data.get('error') or {}).get('code')}")
            return None
        return data

    def find(who, case_id, element):
        data = step("inbox", who, "GET", f"/api/tasks?item={ITEM}&limit=100")
        for task in (data or {}).get("items", []):
            if task["case"]["id"] == case_id and task["element_id"] == element:
                return task["id"]
        if data is not None:
            problems.append(f"inbox: no {element} step of case {case_id} for {who}")
        return None

    made = step("apply", "zhang", "POST", "/api/cases", APPLICATION, expect=201)
    if made is None:
        return False
    case_id = made["case"]
    if step("accept", "wang", "POST", f"/api/cases/{case_id}/accept", {"opinion": "材料齐全"}) is None:
        return False
    review = find("li", case_id, "review")
    if review is None or step("complete", "li", "POST", f"/api/tasks/{review}/complete",
                              {"data": {"opinion": "审查通过"}}) is None:
        return False
    conclude = find("zhao", case_id, "conclude")
    if conclude is None:
        return False
    return step("decide", "zhao", "POST", f"/api/tasks/{conclude}/decide",
                {"approved": True, "opinion": "准予许可"}) is not None


# --- where the CPU time goes (Linux /proc): the server's processes, this client, the machine -------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields) - idle) / _TICK, sum(fields) / _TICK


def _group_cpu(group: int) -> dict[int, float]:
    """CPU seconds (user + system) of each live process in process group ``group``."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        rest = text[text.rindex(")") + 2:].split()  # after "pid (name) ": state ppid pgrp ...
        if int(rest[2]) == group:
            out[int(stat.parent.name)] = (int(rest[11]) + int(rest[12])) / _TICK
    return out


class CpuMeter:
    """CPU seconds spent between ``start`` and ``stop``: by the server's processes (each worker apart), by this
    client process, and by the whole machine (the database server and anything else running)."""

    def __init__(self, server_group: int):
        self.group = server_group

    def start(self) -> None:
        self.server0, self.client0, self.machine0 = _group_cpu(self.group), time.process_time(), _machine_busy()

    def stop(self) -> dict:
        server1, client1, machine1 = _group_cpu(self.group), time.process_time(), _machine_busy()
        per_process = sorted((server1[p] - self.server0.get(p, 0.0) for p in server1), reverse=True)
        wall = (machine1[1] - self.machine0[1]) / max(1, os.cpu_count() or 1)
        return {"server_cpu_s": sum(per_process), "server_processes_cpu_s": per_process,
                "client_cpu_s": client1 - self.client0, "machine_busy_cpu_s": machine1[0] - self.machine0[0],
                "cores": os.cpu_count() or 1, "machine_wall_s": wall}


def drive(port: int, tokens: dict[str, str], threads: int, cases: int, meter: CpuMeter | None = None,
          fresh: bool = False) -> dict:
    """Warm up (one case per thread), then walk ``cases`` cases over ``threads`` client threads."""
    timings = {v: [] for v in VERBS}
    problems: list[str] = []
    clients = [Client(port, tokens, fresh) for _ in range(threads)]
    warm = [threading.Thread(target=walk, args=(c, {v: [] for v in VERBS}, [])) for c in clients]
    for t in warm:
        t.start()
    for t in warm:
        t.join()
    counter = iter(range(cases))
    lock = threading.Lock()
    done = [0]

    def worker(client):
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            mine = {v: [] for v in VERBS}
            ok = walk(client, mine, problems)
            with lock:
                for verb, values in mine.items():
                    timings[verb].extend(values)
                done[0] += ok

    pool = [threading.Thread(target=worker, args=(c,)) for c in clients]
    if meter is not None:
        meter.start()
    began = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    seconds = time.perf_counter() - began
    cpu = meter.stop() if meter is not None else None
    for c in clients:
        c.close()
    moves = sum(len(timings[v]) for v in MOVES)
    out = {"threads": threads, "cases": cases, "concluded": done[0], "seconds": seconds,
           "moves_per_s": moves / seconds, "requests_per_s": sum(len(v) for v in timings.values()) / seconds,
           "verbs": {v: _percentiles(values) for v, values in timings.items()},
           "problems": _count(problems)}
    if cpu is not None and moves:
        # The machine's ceiling for this walk: every core busy at the CPU cost per move measured here.
        cpu["per_move_ms"] = {"server": 1000 * cpu["server_cpu_s"] / moves,
                              "client": 1000 * cpu["client_cpu_s"] / moves,
                              "machine": 1000 * cpu["machine_busy_cpu_s"] / moves}
        cpu["machine_busy_share"] = cpu["machine_busy_cpu_s"] / max(1e-9, cpu["cores"] * seconds)
        cpu["ceiling_moves_per_s"] = cpu["cores"] / max(1e-9, cpu["machine_busy_cpu_s"] / moves)
        out["cpu"] = cpu
    return out


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"n": len(values), "p50_ms": statistics.median(ordered) * 1000, "p99_ms": pick(0.99) * 1000,
            "max_ms": ordered[-1] * 1000}


def _count(problems: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in problems:
        out[p.split(" of case")[0]] = out.get(p.split(" of case")[0], 0) + 1
    return out


def run_one(database: str, server: str, threads: int, cases: int, admin_url: str, fresh: bool = False) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="yimen-bench-http-"))
    name = f"yimen_bench_http_{os.getpid()}"
    try:
        url = fresh_database(admin_url, name) if database == "postgres" else f"sqlite:///{folder / 'yimen.db'}"
        tokens = prepare(url)
        running = Server(url, server, folder)
        try:
            figures = drive(running.port, tokens, threads, cases, CpuMeter(running.process.pid), fresh)
        finally:
            running.stop()
        return {"database": database, "server": server, **figures}
    finally:
        if database == "postgres":
            drop_database(admin_url, name)
        shutil.rmtree(folder, ignore_errors=True)


def raw_figures(cases: int) -> dict[str, float]:
    from bench import engine as engine_bench

    return {r.variant: r.per_second for r in (engine_bench.run_raw(cases, False), engine_bench.run_raw(cases, True))}


def print_report(runs: list[dict], raw: dict[str, float]) -> None:
    print("food-licence walk over HTTP (3 task moves per case: accept, complete, decide)")
    print(f"{'db':8} {'server':8} {'clients':>7} {'cases':>5} {'moves/s':>8} {'req/s':>7}  "
          + "  ".join(f"{v + ' p50/p99':>18}" for v in VERBS) + "  problems")
    for r in runs:
        cells = []
        for v in VERBS:
            f = r["verbs"][v]
            cells.append(f"{f['p50_ms']:7.1f} /{f['p99_ms']:7.1f}ms" if f["n"] else f"{'-':>18}")
        print(f"{r['database']:8} {r['server']:8} {r['threads']:>7} {r['concluded']:>5} {r['moves_per_s']:8.1f} "
              f"{r['requests_per_s']:7.1f}  " + "  ".join(cells) + "  " + (json.dumps(r["problems"], ensure_ascii=False)
                                                                       if r["problems"] else "-"))
    print("CPU per task move (ms: server processes / this client / whole machine), the machine's busy share, the "
          "ceiling at that cost with every core busy, and each server process's CPU seconds:")
    for r in runs:
        c = r.get("cpu")
        if c:
            m = c["per_move_ms"]
            print(f"  {r['database']:8} {r['server']:8} {r['threads']:>2} clients: {m['server']:5.1f} / "
                  f"{m['client']:4.1f} / {m['machine']:5.1f} ms, busy {100 * c['machine_busy_share']:3.0f}% of {c['cores']} cores, ceiling "
                  f"{c['ceiling_moves_per_s']:5.1f} moves/s, server processes "
                  + " ".join(f"{v:.1f}" for v in c["server_processes_cpu_s"] if v >= 0.05) + " s")
    for name, per_s in raw.items():
        print(f"{name}: {per_s:,.0f} completions/s")
    best = {}
    for r in runs:
        key = (r["database"], r["threads"])
        best.setdefault(key, {})[r["server"]] = r["moves_per_s"]
    for (database, threads), by in sorted(best.items()):
        if "w1" in by and "w2" in by:
            print(f"{database}, {threads} clients: two workers / one = {by['w2'] / by['w1']:.2f}")
    for r in runs:
        for name, per_s in raw.items():
            if "in memory" in name and r["threads"] == 1:
                print(f"{r['database']} {r['server']} 1 client: HTTP moves/s / {name} = {r['moves_per_s'] / per_s:.4f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, default=120, help="cases per run (default 120)")
    parser.add_argument("--clients", default="1,4,8", help="client thread counts (default 1,4,8)")
    parser.add_argument("--servers", default="waitress,w1,w2", help="of waitress, w1, w2 (default all)")
    parser.add_argument("--databases", default="sqlite,postgres", help="of sqlite, postgres (default both)")
    parser.add_argument("--raw-cases", type=int, default=200, help="cases for the raw SpiffWorkflow figure")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--fresh-connections", action="store_true",
                        help="a new connection per request (Connection: close), as a proxy without upstream "
                             "keep-alive sends them; default: one kept-alive connection per client thread")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    runs = []
    for database in args.databases.split(","):
        for server in args.servers.split(","):
            for threads in (int(n) for n in args.clients.split(",")):
                runs.append(run_one(database, server, threads, args.cases, args.admin_url, args.fresh_connections))
                if not args.json:
                    r = runs[-1]
                    print(f"  {database} {server} {threads} clients: {r['moves_per_s']:.1f} moves/s", flush=True)
    raw = raw_figures(args.raw_cases)
    if args.json:
        print(json.dumps({"runs": runs, "raw": raw}, ensure_ascii=False))
    else:
        print_report(runs, raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
