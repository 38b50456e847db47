"""A throw-away PostgreSQL database per benchmark run, created and dropped through the admin database."""
from __future__ import annotations

import sqlalchemy as sa


def _admin_execute(admin_url: str, *statements: str) -> None:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    admin.dispose()


def fresh_database(admin_url: str, name: str) -> str:
    """Drop ``name`` if it exists, create it empty, and return its URL."""
    _admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return str(sa.engine.make_url(admin_url).set(database=name))


def drop_database(admin_url: str, name: str) -> None:
    _admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
