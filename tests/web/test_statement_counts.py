"""Issue 14: the SQL statements each verb of the food-licence walk sends, counted through the API.

A count is stable where a time is not: a verb that starts loading something twice, or reads the whole
calendar again, raises its count past the budget and fails here. The budgets are today's counts per
database (PostgreSQL's transactions begin without a statement of their own); lower them when a verb
gets cheaper.
"""
from __future__ import annotations

import base64

import pytest
from sqlalchemy import event

from engine.service import Yimen
from tests.web.test_api import MATERIALS, client

# Statements per request, BEGIN included on SQLite. A step that opens reads which of its candidate groups are
# departments, to keep its owner department (human_task.department) for the inbox, so a verb's check of who may
# see a step reads no more; accept reads the case's bundle flag, not the bundle membership. The check of who may
# see the case or step runs in the verb's own transaction, which reads nothing the check read again; a command
# keeps the rows it loaded, so a second look at the item or a notice is no statement.
BUDGETS = {
    "sqlite": {"apply": 30, "accept": 42, "inbox": 4, "complete": 19, "decide": 41},
    "postgresql": {"apply": 25, "accept": 40, "inbox": 2, "complete": 17, "decide": 39},
}


class Statements:
    """Every statement the app's database engine sends, as text, from ``start()`` on."""

    def __init__(self, app):
        self.engine = app.extensions["yimen"].db
        self.sent: list[str] = []
        event.listen(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.sent.append(" ".join(statement.split()))

    def start(self) -> None:
        self.sent.clear()

    def reading(self, table: str) -> list[str]:
        return [s for s in self.sent if s.startswith("SELECT") and f" FROM {table}" in s]

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


@pytest.fixture
def statements(app):
    counted = Statements(app)
    yield counted
    counted.close()


def walk(app, statements) -> dict[str, list[str]]:
    """apply, accept, the reviewer's inbox, complete, decide: the statements of each request.

    Each person keeps one token (``client``), as a client of the API does: its use is recorded at most once
    a minute, and the clock stands still in these tests.
    """
    people = app.config.setdefault("test_people", {})
    for who in ("zhang", "wang", "li", "zhao"):
        people.setdefault(who, client(app, who))
    sent = {}

    def call(verb, who, method, path, body=None):
        statements.start()
        answer = getattr(people[who], method)(path, json=body)
        assert answer.status_code in (200, 201), answer.json
        sent[verb] = list(statements.sent)
        return answer.json

    body = {"item": "330100-XK-001", "applicant": {"name": "张三"},
            "materials": [{"name": n, "filename": "a.pdf", "content_base64": base64.b64encode(b"%PDF").decode()}
                          for n in MATERIALS]}
    case = call("apply", "zhang", "post", "/api/cases", body)["case"]
    call("accept", "wang", "post", f"/api/cases/{case}/accept", {"opinion": "材料齐全"})
    listed = call("inbox", "li", "get", "/api/tasks?item=330100-XK-001")
    review = next(t["id"] for t in listed["items"] if t["case"]["id"] == case)
    call("complete", "li", "post", f"/api/tasks/{review}/complete", {"data": {"opinion": "审查通过"}})
    conclude = next(t["id"] for t in people["zhao"].get("/api/tasks?item=330100-XK-001").json["items"]
                    if t["case"]["id"] == case)
    call("decide", "zhao", "post", f"/api/tasks/{conclude}/decide", {"approved": True, "opinion": "准予许可"})
    shown = app.extensions["yimen"].case(case)
    assert (shown["status"], shown["outcome"]) == ("concluded", "approved"), shown["status"]
    return sent


def test_each_verb_stays_within_its_statement_budget(app, statements):
    """The second walk (caches warm, as in a running server) sends no more statements than the budget."""
    walk(app, statements)
    sent = walk(app, statements)
    budget = BUDGETS[app.extensions["yimen"].db.dialect.name]
    counts = {verb: len(sent[verb]) for verb in budget}
    assert all(counts[verb] <= budget[verb] for verb in budget), (counts, budget)


def test_a_bearer_token_is_one_statement(app, statements):
    """The token, its account and the account's groups come in one statement; the groups are not read again."""
    sent = walk(app, statements)
    for verb, done in sent.items():
        assert len(statements_on(done, "api_token")) == 1, (verb, done)
        before_command = done[:next(i for i, s in enumerate(done) if " FROM api_token" in s) + 1]
        assert not [s for s in before_command if s.startswith("SELECT membership")], (verb, done)


def statements_on(sent: list[str], table: str) -> list[str]:
    return [s for s in sent if s.startswith("SELECT") and f" FROM {table}" in s]


def test_the_calendar_is_read_in_full_only_after_it_changed(app, statements, database_url):
    """Commands read the calendar's stamp, not its days, while nobody changed it; a change made through
    another connection (another worker process) is read by the next command and counts in its deadlines."""
    walk(app, statements)
    sent = walk(app, statements)
    assert not statements_on(sent["accept"], "calendar_day") and statements_on(sent["accept"], "calendar_stamp")
    yimen, wang = app.extensions["yimen"], app.config["test_people"]["wang"]
    before = apply_case(app)
    assert wang.post(f"/api/cases/{before}/accept", json={}).status_code == 200
    due_before = yimen.case(before)["clock"]["case"]["promised_due"]
    other = Yimen(database_url)  # its own engine and connections, as a second worker would have
    try:  # the day after the acceptance becomes a holiday: a limit counted from it ends one working day later
        other.set_calendar_day("2026-03-03", "holiday", "测试假日", user="admin")
    finally:
        other.close()
    statements.start()
    after = apply_case(app)  # the application's acceptance clock is the first command after the change
    assert statements_on(statements.sent, "calendar_day"), "a changed calendar is read again"
    assert wang.post(f"/api/cases/{after}/accept", json={}).status_code == 200
    due_after = yimen.case(after)["clock"]["case"]["promised_due"]
    assert (due_before[:10], due_after[:10]) == ("2026-03-16", "2026-03-17")
    again = apply_case(app)
    statements.start()
    assert wang.post(f"/api/cases/{again}/accept", json={}).status_code == 200
    assert not statements_on(statements.sent, "calendar_day"), "and kept again from then on"
    assert yimen.case(again)["clock"]["case"]["promised_due"] == due_after


def apply_case(app) -> int:
    body = {"item": "330100-XK-001", "applicant": {"name": "李四"},
            "materials": [{"name": n, "filename": "a.pdf", "content_base64": base64.b64encode(b"%PDF").decode()}
                          for n in MATERIALS]}
    answer = app.config["test_people"]["zhang"].post("/api/cases", json=body)
    assert answer.status_code == 201, answer.json
    return answer.json["case"]
