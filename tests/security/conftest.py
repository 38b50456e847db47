"""The security suite: the demo web app of ``tests/web`` (SQLite and PostgreSQL) and hostile diagrams."""
from __future__ import annotations

from tests.web.conftest import app  # noqa: F401  (the fixture: the demo app on both databases)
