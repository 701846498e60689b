"""The control store (keys, memory versions, idempotency) on SQLite or PostgreSQL."""

from memory_service.storage.sql.store import SqlControlStore, normalise_url, sqlite_url_for

__all__ = ["SqlControlStore", "normalise_url", "sqlite_url_for"]
