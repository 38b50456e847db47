"""Schema management through Alembic (``yimen db upgrade``); never ``create_all``."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations

from .db import default_url, normalize_url


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.set_main_option("sqlalchemy.url", normalize_url(url or default_url()).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "heads") -> None:
    """Apply migrations up to every head: parallel branches (one per feature) may each start from the same parent."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
