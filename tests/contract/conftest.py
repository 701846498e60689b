"""Fixtures shared by the control-store contract suites: each runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from memory_service.storage.sql import SqlControlStore, sqlite_url_for
from tests.conftest import AUDIT_KEY, reset_postgres


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty control database of each kind (PostgreSQL is required, not optional)."""
    if request.param == "sqlite":
        return sqlite_url_for(tmp_path)
    url: str = request.getfixturevalue("postgres_url")
    reset_postgres(url)
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[SqlControlStore]:
    """A migrated control store with the test audit key."""
    control = SqlControlStore(database_url, audit_key=AUDIT_KEY)
    control.migrate()
    try:
        yield control
    finally:
        control.close()
