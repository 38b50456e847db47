"""A web app with the demo data installed, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from engine import demo
from web import create_app


@pytest.fixture
def app(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("YIMEN_NOW", "2026-03-02T02:00:00+00:00")
    monkeypatch.setenv("YIMEN_INSTANCE_PATH", str(tmp_path))
    app = create_app({"YIMEN_DATABASE_URL": database_url, "SECRET_KEY": "test", "TESTING": True})
    demo.install(app.extensions["yimen"])
    yield app
    app.extensions["yimen"].close()
