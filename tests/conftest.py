"""Fixtures: a real database per test — a SQLite file and PostgreSQL.

Every engine test runs on both. The schema comes from the Alembic migrations
(once per session); each test starts from empty tables. ``yimen`` drops the
in-memory spec cache before every command, so each step of a test re-reads
the instance and its diagram from storage (a full round trip mid-run).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import definitions
from engine.migrate import upgrade
from engine.models import Base
from engine.service import Yimen

DATA = Path(__file__).parent / "data"
PROCESSES = Path(__file__).parent.parent / "processes"
PG_ADMIN_URL = os.environ.get("YIMEN_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# One database per test run, so runs on one machine (a developer's and a helper's) never collide.
PG_URL = os.environ.get("YIMEN_TEST_POSTGRES_URL",
                        f"postgresql+psycopg://postgres@127.0.0.1:5432/yimen_test_{os.getpid()}")


class RoundTripYimen(Yimen):
    """Forgets every parsed spec before each command: nothing survives in memory between steps."""

    def _run(self, user, fn, /, **kwargs):
        definitions.clear_cache()
        return super()._run(user, fn, **kwargs)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "yimen.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url():
    if os.environ.get("YIMEN_SKIP_POSTGRES") == "1":
        pytest.skip("YIMEN_SKIP_POSTGRES=1")
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = sa.engine.make_url(PG_URL).database
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    upgrade(PG_URL)
    yield PG_URL
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        conn.exec_driver_sql("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64))")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path) -> str:
    definitions.clear_cache()
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "yimen.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def yimen(database_url):
    service = RoundTripYimen(database_url)
    yield service
    service.close()
    definitions.clear_cache()


def read(name: str) -> tuple[str, bytes]:
    """A test diagram from tests/data (or a shipped one from processes/)."""
    path = DATA / name
    if not path.exists():
        path = PROCESSES / name
    return (path.name, path.read_bytes())


CASE_TIME = "2026-03-02T02:00:00+00:00"  # a Monday, 10:00 in Beijing, with the whole year's calendar known


@pytest.fixture
def calendar_ready(yimen, monkeypatch):
    """Cases count working days: enter 2025-2026 and pin the clock inside them (tests never depend on today)."""
    if not os.environ.get("YIMEN_NOW"):
        monkeypatch.setenv("YIMEN_NOW", CASE_TIME)
    yimen.seed_calendar([2025, 2026])
    return yimen


@pytest.fixture
def departments(yimen):
    """The demo departments (offices and reviewing departments): service items may name only known ones."""
    from engine.demo import DEPARTMENTS

    for dept_id, name, name_en, level, parent in DEPARTMENTS:
        yimen.save_department(dept_id, name, level, parent, name_en=name_en)
    return yimen


@pytest.fixture
def register():
    """Register test handlers (the ``handlers`` registry) by name; all are removed after the test."""
    import handlers as registry

    names: list[str] = []

    def add(name, fn):
        registry.register(name, fn)
        names.append(name)

    try:
        yield add
    finally:
        for name in names:
            registry.unregister(name)
