"""Database connection: SQLite (embedded default, WAL) or PostgreSQL.

``YIMEN_DATABASE_URL`` selects the database; unset means a SQLite file under
the instance folder (``YIMEN_INSTANCE_PATH``, default ``./instance``). SQLite
write transactions start with ``BEGIN IMMEDIATE`` so that two writers queue
instead of failing half-way with "database is locked". Writers of one process
queue on a lock of their own first (SQLite's busy handler polls with sleeps of
up to 100 ms, so waiting there makes the line slow and unfair); both waits are
bounded by ``YIMEN_SQLITE_BUSY_MS``. On PostgreSQL a statement waits at most
``YIMEN_LOCK_TIMEOUT_MS`` for a row lock. Either way a command that waited too
long is refused as ``database_busy``; no request waits without a bound.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.exc import OperationalError
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
        if url.startswith("postgresql"):
            # a row lock held too long is a refusal (database_busy), not a request that hangs; no JIT compiling:
            # it costs a list query with a LIMIT (planned for every row, stopped after a page) 100-200 ms
            kwargs.setdefault("connect_args", {"options": f"-c lock_timeout={_ms('YIMEN_LOCK_TIMEOUT_MS', 10000)} "
                                                          "-c jit=off"})
        engine = create_engine(url, **kwargs)
    return engine


def _ms(name: str, default: int) -> int:
    return max(1, int(os.environ.get(name, str(default))))


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
        cursor.execute(f"PRAGMA busy_timeout={_ms('YIMEN_SQLITE_BUSY_MS', 5000)}")
        cursor.close()

    writer = threading.Lock()  # one writer of this process at a time; the others wait here, woken in turn

    def _release(info) -> None:
        if info.pop("yimen_writer", None):
            writer.release()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock up front; queries (``yimen_read_only``) read a snapshot without it.
        if conn.get_execution_options().get("yimen_read_only"):
            conn.exec_driver_sql("BEGIN")
            return
        if not conn.info.get("yimen_writer"):
            if not writer.acquire(timeout=_ms("YIMEN_SQLITE_BUSY_MS", 5000) / 1000):
                raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(
                    "database is locked (another writer of this process held it longer than YIMEN_SQLITE_BUSY_MS)"))
            conn.info["yimen_writer"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn.info)
            raise

    # Let the next writer in only once COMMIT or ROLLBACK has run (letting it in before would send it to
    # SQLite's busy handler and its sleeps). The dialect gets the pooled connection, whose ``info`` is ours.
    dialect = engine.dialect
    for name in ("do_commit", "do_rollback"):
        def ended(connection, _end=getattr(dialect, name)):
            try:
                _end(connection)
            finally:
                try:
                    info = connection.info
                except (AttributeError, NotImplementedError):  # not a pooled connection: the check-in releases
                    info = None
                if isinstance(info, dict):
                    _release(info)
        setattr(dialect, name, ended)

    @event.listens_for(engine.pool, "checkin")
    @event.listens_for(engine.pool, "invalidate")
    def _on_return(_dbapi_connection, record, *_):
        if record is not None:  # a connection that goes back or away without its commit or rollback
            _release(record.info)


def is_postgres(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


KEEP_LOADED = "yimen_keep_loaded"


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(bind=engine, expire_on_commit=False)

    @event.listens_for(factory, "loaded_as_persistent")
    def _keep(session, instance):
        # A command keeps every row it loaded until it ends (``engine.context.run_command`` sets the list). The
        # session's identity map holds rows weakly: a row read by one step of a command (the service item, the
        # case's notice) and dropped would be read again by the next ``session.get`` of the same command.
        kept = session.info.get(KEEP_LOADED)
        if kept is not None:
            kept.append(instance)

    from .case_clock import cards_follow_clocks

    event.listen(factory, "after_flush", cards_follow_clocks)  # human_task.card follows the clocks
    return factory
