"""Issue 14: two web worker processes and two scheduler processes on one PostgreSQL database, no lost update.

``yimen serve --workers 2`` (gunicorn) answers the API; two ``yimen scheduler`` processes sweep at the same time.
Several client threads walk food-licence cases through the API (apply, accept, review, decide), and every
conclusion is sent twice at once on two connections, so the two workers race for the same step. Meanwhile
instances waiting on a timer come due and the schedulers fire them. Afterwards: each case ended as decided,
with exactly one conclusion; each race had one winner and one refusal; each timer fired exactly once; the
audit chain verifies. No wall-clock time is asserted (``bench/http.py`` measures).
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engine import demo
from engine.service import Yimen
from tests.conftest import _empty_postgres
from web.cli import KEEPALIVE_REQUESTS

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
STARTED = "2026-03-02T02:00:00+00:00"   # cases and timer instances start here (timers due ten minutes later)
SWEEPING = "2026-03-02T02:30:00+00:00"  # the schedulers' clock: every timer is due
ITEM = "330100-XK-001"
CASES, TIMERS, THREADS = 12, 10, 4
TIMER_WAIT = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="mp_defs"
                  targetNamespace="http://yimen.example/test">
  <bpmn:process id="mp_timer" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT10M"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after" />
    <bpmn:userTask id="after" />
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Child processes in their own process groups, stopped by pid at the end."""

    def __init__(self, folder: Path):
        self.folder, self.children = folder, []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")
        child = subprocess.Popen([sys.executable, "-m", "web.cli", *args], cwd=ROOT, env=env, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        self.children.append((child, log))
        return child

    def log(self, name: str, tail: int | None = 3000) -> str:
        text = (self.folder / f"{name}.log").read_text(errors="replace")
        return text[-tail:] if tail else text

    def stop(self) -> None:
        for child, _ in self.children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child, log in self.children:
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
            log.close()


def _wait_for_port(port: int, child: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert child.poll() is None, "the server stopped"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


class Api:
    """One HTTP/1.1 connection per thread, with a bearer token per person."""

    def __init__(self, port: int, tokens: dict[str, str]):
        self.port, self.tokens, self.local = port, tokens, threading.local()

    def call(self, who: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Bearer {self.tokens[who]}", "Content-Type": "application/json"}
        try:
            conn.request(method, path, json.dumps(body).encode() if body is not None else None, headers)
            response = conn.getresponse()
        except (http.client.HTTPException, ConnectionError):  # a kept-alive connection the server closed
            conn.close()
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            conn.request(method, path, json.dumps(body).encode() if body is not None else None, headers)
            response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}

    def fresh(self) -> "Api":
        """Another client (its own connections): a racing request goes out on a second socket."""
        return Api(self.port, self.tokens)


def _task_of(api: Api, who: str, case_id: int, element: str) -> str:
    for _ in range(50):
        status, page = api.call(who, "GET", f"/api/tasks?item={ITEM}&limit=500")
        assert status == 200, page
        found = [t["id"] for t in page["items"] if t["case"]["id"] == case_id and t["element_id"] == element]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {element} step of case {case_id} in {who}'s inbox")


def _walk(api: Api, rival: Api, n: int, names: list[str]) -> dict:
    """One case: apply, accept, review, then the conclusion sent twice at the same moment."""
    body = {"item": ITEM, "applicant": {"name": f"申请人{n}"},
            "materials": [{"name": m, "filename": "a.pdf", "content_base64": base64.b64encode(b"%PDF").decode()}
                          for m in names]}
    status, made = api.call("zhang", "POST", "/api/cases", body)
    assert status == 201, made
    case_id = made["case"]
    status, answer = api.call("wang", "POST", f"/api/cases/{case_id}/accept", {"opinion": "齐全"})
    assert status == 200, answer
    review = _task_of(api, "li", case_id, "review")
    status, answer = api.call("li", "POST", f"/api/tasks/{review}/decide", {"approved": True, "opinion": "同意"})
    assert status == 200, answer
    conclude = _task_of(api, "zhao", case_id, "conclude")
    approved = n % 3 != 0
    decision = {"approved": approved, "opinion": "准予" if approved else "不予许可"}
    barrier = threading.Barrier(2)

    def send(client):
        barrier.wait()
        return client.call("zhao", "POST", f"/api/tasks/{conclude}/decide", decision)

    with ThreadPoolExecutor(2) as pair:
        answers = list(pair.map(send, (api, rival)))
    return {"case": case_id, "approved": approved, "statuses": sorted(s for s, _ in answers),
            "codes": [(a.get("error") or {}).get("code") for _, a in answers]}


def _connection_headers(port: int, token: str, n: int) -> list[str]:
    """The Connection header of ``n`` requests sent one after the other on one client connection (reopened by
    http.client when the server closed it), as "close" or "keep-alive"."""
    conn, seen = http.client.HTTPConnection("127.0.0.1", port, timeout=60), []
    try:
        for _ in range(n):
            conn.request("GET", "/api/me", headers={"Authorization": f"Bearer {token}"})
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200
            seen.append("close" if (answer.getheader("Connection") or "").lower() == "close" else "keep-alive")
    finally:
        conn.close()
    return seen


@pytest.fixture
def one_postgres(postgres_url, monkeypatch, tmp_path):
    _empty_postgres(postgres_url)
    monkeypatch.setenv("YIMEN_NOW", STARTED)
    monkeypatch.setenv("YIMEN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("YIMEN_AUDIT_KEY", "multiprocess-test-key-" + "x" * 40)
    yimen = Yimen(postgres_url)
    yield yimen
    yimen.close()


def test_two_workers_and_two_schedulers_lose_no_update(one_postgres, postgres_url, tmp_path):
    y = one_postgres
    demo.install(y)
    tokens = {p: y.create_token(p, "multiprocess")["token"] for p in ("zhang", "wang", "li", "zhao")}
    names = [m["name"] for m in y.item(ITEM)["materials"] if m.get("required")]
    y.deploy([("mp_timer.bpmn", TIMER_WAIT)])
    waiting = [y.start("mp_timer")["instance"] for _ in range(TIMERS)]
    env = {**os.environ, "YIMEN_DATABASE_URL": postgres_url}
    processes = Processes(tmp_path)
    try:
        port = _free_port()
        server = processes.start("web", ["serve", "--workers", "2", "--threads", "4", "--port", str(port)], env)
        _wait_for_port(port, server)
        for n in (1, 2):
            processes.start(f"scheduler{n}", ["scheduler", "--interval", "0.5"], {**env, "YIMEN_NOW": SWEEPING})
        api = Api(port, tokens)
        with ThreadPoolExecutor(THREADS) as pool:
            walked = list(pool.map(lambda n: _walk(api.fresh(), api.fresh(), n, names), range(CASES)))
        closing = _connection_headers(port, tokens["zhang"], KEEPALIVE_REQUESTS + 1)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(len(y.tasks(instance=i)) == 0 for i in waiting):
            time.sleep(0.5)
    finally:
        processes.stop()
    # A kept-alive connection is closed after its KEEPALIVE_REQUESTS-th request (its next one goes to whichever
    # worker accepts it); the client's next request opens a new connection and is answered as usual.
    assert closing == ["keep-alive"] * (KEEPALIVE_REQUESTS - 1) + ["close", "keep-alive"], closing
    pids = set(re.findall(r"Booting worker with pid: (\d+)", processes.log("web", None)))
    assert len(pids) == 2, processes.log("web")  # two worker processes answered
    for case in walked:
        assert case["statuses"] == [200, 409], case  # of two racing conclusions exactly one wins
        assert "invalid_state" in case["codes"] or "conflict" in case["codes"], case
        shown = y.case(case["case"])
        assert (shown["status"], shown["outcome"]) == ("concluded", "approved" if case["approved"] else "not_approved")
        assert [o["element_id"] for o in shown["opinions"]].count("conclude") == 1, shown["opinions"]
    for instance in waiting:
        fired = [e for e in y.audit_trail(instance) if e["action"] == "timer.fire"]
        assert len(fired) == 1, (instance, fired, processes.log("scheduler1"), processes.log("scheduler2"))
        (task,) = y.tasks(instance=instance)
        assert task["element_id"] == "after"
    report = y.verify_audit()
    assert report["ok"], report["problems"]
