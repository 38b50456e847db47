"""The migrations build the tables and columns the models describe, have one head, and go down and up again.

Indexes are left out of the comparison: several exist only in the migrations (PostgreSQL prefix indexes, the
lists' composite indexes), where the query plans need them.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine.migrate import alembic_config, downgrade, upgrade
from engine.models import Base

SHAPE = ("add_table", "remove_table", "add_column", "remove_column")


def _all_models() -> None:
    """Every model module, so the metadata holds every table (some are imported only where they are used)."""
    import importlib
    import pkgutil

    import engine.models

    for module in pkgutil.iter_modules(engine.models.__path__):
        importlib.import_module(f"engine.models.{module.name}")


def _differences(url: str) -> list:
    _all_models()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            found = [d for d in compare_metadata(context, Base.metadata) if isinstance(d, tuple) and d[0] in SHAPE]
            return [d for d in found if not (d[0] == "remove_table" and d[1].name == "alembic_version")]
    finally:
        engine.dispose()


def test_one_head_joins_every_branch():
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, heads


def test_the_migrated_schema_is_the_models_schema_and_survives_down_and_up(database_url):
    # the fixture's database is already migrated to the head
    assert _differences(database_url) == []
    downgrade(database_url, "0014")
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("select version_num from alembic_version")).scalar() == "0014"
    engine.dispose()
    upgrade(database_url)
    assert _differences(database_url) == []
