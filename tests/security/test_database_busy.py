"""Issue 13, finding 7 and issue 14: "database is locked" was an HTTP 500, and a writer could wait 60 s.

Now a writer waits at most ``YIMEN_SQLITE_BUSY_MS`` (5 s by default) for another one and is then refused with
``database_busy`` (503 and Retry-After); reads go on meanwhile (WAL). Shown with a second connection holding
SQLite's write lock and the wait shortened to 100 ms.
"""
from __future__ import annotations

import sqlite3

import pytest

from tests.web.test_api import apply, client


@pytest.fixture
def sqlite_only(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the write lock of one SQLite file")
    return database_url.removeprefix("sqlite:///")


def test_a_held_write_lock_gives_a_bounded_busy_refusal_and_reads_go_on(app, sqlite_only, monkeypatch):
    y = app.extensions["yimen"]
    case = apply(client(app, "zhang"))
    wang = client(app, "wang")
    (task,) = y.tasks(instance=y.case(case)["instance"])
    monkeypatch.setenv("YIMEN_SQLITE_BUSY_MS", "100")
    y.db.dispose()  # new connections take the shorter wait
    holder = sqlite3.connect(sqlite_only, timeout=1)
    holder.execute("BEGIN IMMEDIATE")
    try:
        answer = wang.post(f"/api/tasks/{task['id']}/claim")
        assert answer.status_code == 503, answer.json
        assert answer.json["error"]["code"] == "database_busy" and answer.headers["Retry-After"] == "1"
        assert wang.get("/api/tasks").status_code == 200
    finally:
        holder.rollback()
        holder.close()
    assert wang.post(f"/api/tasks/{task['id']}/claim").status_code == 200
