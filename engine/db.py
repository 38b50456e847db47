"""Database connection: SQLite (embedded default, WAL) or PostgreSQL.

``YIMEN_DATABASE_URL`` selects the database; unset means a SQLite file under
the instance folder (``YIMEN_INSTANCE_PATH``, default ``./instance``). SQLite
write transactions start with ``BEGIN IMMEDIATE`` so that two writers queue
instead of failing half-way with "database is locked".
"""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def instance_path() -> Path:
    return Path(os.environ.get("YIMEN_INSTANCE_PATH", "instance")).resolve()


def default_url() -> str:
    url = os.environ.get("YIMEN_DATABASE_URL")
    if url:
        return url
    folder = instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'yimen.db'}"


def normalize_url(url: str) -> str:
    """Let people write ``postgresql://`` and get the psycopg 3 driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str | None = None, **kwargs) -> Engine:
    url = normalize_url(url or default_url())
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, **kwargs)
        _setup_sqlite(engine)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kwargs)
    return engine


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # How long a writer waits for another one before the command fails as database_busy (bounded: no
        # request hangs for a minute behind a long write).
        cursor.execute(f"PRAGMA busy_timeout={int(os.environ.get('YIMEN_SQLITE_BUSY_MS', '5000'))}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock up front; queries (``yimen_read_only``) read a snapshot without it.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("yimen_read_only") else "BEGIN IMMEDIATE")


def is_postgres(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
