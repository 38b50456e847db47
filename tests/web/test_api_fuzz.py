"""Schemathesis generates requests from /api/openapi.json: no input may cause a server error."""
from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from engine import clock, demo
from engine.migrate import upgrade
from web import create_app


def _fuzz_app():
    """One SQLite database with the demo data, shared by the generated cases (module scope)."""
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"yimen_fuzz_{os.getpid()}")
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    url = f"sqlite:///{path}/yimen.db"
    upgrade(url)
    app = create_app({"YIMEN_DATABASE_URL": url, "SECRET_KEY": "fuzz", "TESTING": True})
    with clock.pinned(datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)):  # never the process-wide YIMEN_NOW
        demo.install(app.extensions["yimen"])
    return app


APP = _fuzz_app()
TOKENS = {user: APP.extensions["yimen"].create_token(user, "fuzz")["token"] for user in ("admin", "zhang")}
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", APP)


@pytest.mark.parametrize("user", sorted(TOKENS))
@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_causes_a_server_error(case, user):
    response = case.call(headers={"Authorization": f"Bearer {TOKENS[user]}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    if response.content:  # OPTIONS answers carry no body
        assert "json" in str(response.headers.get("content-type")), response.headers
