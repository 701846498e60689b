"""The composition root: the only place where settings, adapters, services and HTTP meet."""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import structlog
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from pydantic import SecretStr
from qdrant_client import models

from classifiers.pipeline import ClassificationPipeline
from classifiers.pool import ProcessPoolPipeline
from classifiers.registry import default_pipeline
from memory_service.crypto import (
    AesGcmSealer,
    HmacPseudonymizer,
    keyed_digest,
    load_or_create_key_file,
    parse_keyring,
    without_comments,
)
from memory_service.domain.ports import ControlStore, Embedder, MemoryIndex
from memory_service.http.auth import KEY_SERVICE_STATE, KeyAuthMiddleware
from memory_service.http.blocking import BLOCKING_STATE, BlockingCalls
from memory_service.http.controllers.audit import AuditController
from memory_service.http.controllers.health import READINESS_STATE, HealthController
from memory_service.http.controllers.jobs import JobController
from memory_service.http.controllers.keys import KeyController
from memory_service.http.controllers.mem0_compat import with_mem0_compat
from memory_service.http.controllers.memories import MemoryController
from memory_service.http.controllers.policies import PolicyController
from memory_service.http.controllers.purge import PurgeController
from memory_service.http.controllers.quarantine import QuarantineController
from memory_service.http.controllers.retention import RetentionPolicyController
from memory_service.http.mcp_endpoint import mcp_endpoint
from memory_service.http.problems import EXCEPTION_HANDLERS
from memory_service.http.requests import with_request_context
from memory_service.maintenance import build_jobs, build_scheduler, schedules_from
from memory_service.services.audit import AuditService
from memory_service.services.compaction import Compactor
from memory_service.services.erasure import ErasureService
from memory_service.services.free_text import FreeTextScreen
from memory_service.services.gate import ContentGate
from memory_service.services.idempotency import IdempotencyService
from memory_service.services.index_writer import IndexWriter
from memory_service.services.jobs import JobService
from memory_service.services.keys import KeyService
from memory_service.services.memories import MemoryService
from memory_service.services.policies import PolicyService
from memory_service.services.quarantine import QuarantineService
from memory_service.services.query_pseudonyms import NerVariants
from memory_service.services.retention import RetentionPolicies, ServiceRetentionStore
from memory_service.services.review import ReviewService
from memory_service.services.stored_forms import StoredForms
from memory_service.services.validation import Limits
from memory_service.settings import Settings
from memory_service.storage.qdrant_client_index import (
    QdrantClientMemoryIndex,
    QdrantClusterOptions,
)
from memory_service.storage.qdrant_edge_index import QdrantEdgeMemoryIndex
from memory_service.storage.sql.erasure import SqlErasureStore
from memory_service.storage.sql.governance import SqlPolicyStore, SqlQuarantineStore
from memory_service.storage.sql.retention_records import (
    SqlLeaseStore,
    SqlRetentionCandidates,
    SqlRetentionPolicies,
    SqlRunLog,
)
from memory_service.storage.sql.store import (
    PostgresPoolOptions,
    SqlControlStore,
    sqlite_url_for,
)
from memory_service.ticker import Ticker, Trigger
from retention.scheduler import RetentionScheduler

_log = structlog.get_logger("memory_service")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """Everything that lives as long as the process: stores, models and the services on top."""

    settings: Settings
    control: ControlStore
    index: MemoryIndex
    embedder: Embedder
    keys: KeyService
    memories: MemoryService
    policies: PolicyService
    gate: ContentGate
    idempotency: IdempotencyService
    audit: AuditService
    erasure: ErasureService
    review: ReviewService
    retention_policies: RetentionPolicies
    scheduler: RetentionScheduler
    jobs: JobService
    index_writer: IndexWriter
    compactor: Compactor
    tickers: list[Ticker | Trigger] = field(default_factory=list)

    def check_ready(self) -> None:
        self.control.ping()
        self.index.existing_ids([uuid.UUID(int=0)])

    def close(self) -> None:
        self.scheduler.shutdown(wait=True)
        for ticker in self.tickers:
            ticker.stop()
        try:
            self.index_writer.sync_index()
        finally:
            self.gate.close()
            self.index.close()
            self.control.close()


def build_index(settings: Settings, dimension: int) -> MemoryIndex:
    if settings.qdrant_url:
        from qdrant_client import QdrantClient  # noqa: PLC0415 - only for the scale-out path

        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        client = QdrantClient(
            url=settings.qdrant_url, api_key=api_key, timeout=settings.qdrant_timeout_seconds
        )
        return QdrantClientMemoryIndex(
            client, settings.qdrant_collection, dimension, qdrant_cluster_options(settings)
        )
    return QdrantEdgeMemoryIndex(
        settings.data_dir / "qdrant", dimension, search_threads=settings.index_search_threads
    )


def qdrant_cluster_options(settings: Settings) -> QdrantClusterOptions:
    return QdrantClusterOptions(
        shard_key_mode=settings.qdrant_shard_key_mode,
        shard_number=settings.qdrant_shard_number,
        replication_factor=settings.qdrant_replication_factor,
        write_consistency_factor=settings.qdrant_write_consistency_factor,
        write_ordering=models.WriteOrdering(settings.qdrant_write_ordering),
        read_consistency=settings.qdrant_read_consistency,
        retries=settings.qdrant_retries,
        backoff_seconds=settings.qdrant_retry_backoff_seconds,
        max_backoff_seconds=settings.qdrant_retry_max_backoff_seconds,
    )


def postgres_pool_options(settings: Settings) -> PostgresPoolOptions:
    return PostgresPoolOptions(
        size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        timeout_seconds=settings.database_pool_timeout_seconds,
        recycle_seconds=settings.database_pool_recycle_seconds,
        connect_timeout_seconds=settings.database_connect_timeout_seconds,
        statement_timeout_ms=settings.database_statement_timeout_ms,
    )


def build_embedder(settings: Settings) -> Embedder:
    if settings.embedding_backend == "torch":
        from memory_service.embedding.sentence_transformer import (  # noqa: PLC0415 - torch
            SentenceTransformerEmbedder,
        )

        return SentenceTransformerEmbedder(threads=settings.embedding_threads)
    from memory_service.embedding.onnx_runtime import OnnxRuntimeEmbedder  # noqa: PLC0415

    return OnnxRuntimeEmbedder(
        settings.embedding_cache_dir or settings.data_dir / "models",
        quantized=settings.embedding_backend == "onnx-int8",
        threads=settings.embedding_threads,
        solo_threads=settings.embedding_solo_threads,
    )


def build_pipeline(settings: Settings) -> ClassificationPipeline:
    factory = partial(default_pipeline, settings.pii_model, matmul=settings.classify_matmul)
    if settings.classify_workers:
        return ProcessPoolPipeline(factory, workers=settings.classify_workers)
    return factory()


def _key_text(secret: SecretStr | None, path: Path, header: str) -> str:
    if secret is not None:
        return secret.get_secret_value()
    return load_or_create_key_file(path, header)


def build_sealer(settings: Settings) -> AesGcmSealer:
    return AesGcmSealer.from_text(
        _key_text(
            settings.encryption_key,
            settings.keys_dir / "encryption.keys",
            "quarantine sealing keys, kid:base64; add a new line to rotate (newest last)",
        )
    )


def build_pseudonymizer(settings: Settings) -> HmacPseudonymizer:
    return HmacPseudonymizer.from_text(
        _key_text(
            settings.pseudonym_key,
            settings.keys_dir / "pseudonym.key",
            "pseudonym secret; changing it changes every pseudonym",
        )
    )


def build_audit_key(settings: Settings) -> bytes:
    text = _key_text(
        settings.audit_key,
        settings.keys_dir / "audit.key",
        "audit chain HMAC key; changing it makes the existing chain fail verification",
    )
    return next(iter(parse_keyring(without_comments(text)).values()))


def build_control_store(settings: Settings) -> SqlControlStore:
    """The control store, migrated, with the audit chain ready to append to."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)  # memories and keys live here: owner only
    control = SqlControlStore(
        settings.database_url or sqlite_url_for(settings.data_dir),
        audit_key=build_audit_key(settings),
        clock=utc_now,
        pool=postgres_pool_options(settings),
        fsync_read_audits=settings.audit_reads_fsync,
        sqlite_hot_path=settings.sqlite_hot_path,
    )
    control.migrate()
    return control


def build_runtime(
    settings: Settings,
    embedder: Embedder | None = None,
    index: MemoryIndex | None = None,
    pipeline: ClassificationPipeline | None = None,
) -> Runtime:
    """Open the stores (migrating the control store), load the models, repair the index.

    ``embedder``, ``index`` and ``pipeline`` let tests share loaded models or pick a stand-in.
    """
    control = build_control_store(settings)
    embedder = embedder or build_embedder(settings)
    index = index or build_index(settings, embedder.dimension)
    limits = Limits(
        max_content_chars=settings.max_content_chars,
        max_metadata_bytes=settings.max_metadata_bytes,
        max_metadata_depth=settings.max_metadata_depth,
    )
    owns_pipeline = pipeline is None
    pipeline = pipeline or build_pipeline(settings)
    gate = ContentGate(
        pipeline,
        # The policies' own names are screened by this gate, so they are built after it.
        lambda scope: policies.resolve(scope),  # noqa: PLW0108 - bound late, on purpose
        build_pseudonymizer(settings),
        timeout_seconds=settings.classify_timeout_seconds,
        workers=max(2, settings.classify_workers),
        batch_size=settings.classify_batch_size,
        owns_pipeline=owns_pipeline,
    )
    screen = FreeTextScreen(gate)
    policies = PolicyService(SqlPolicyStore(control), utc_now, screen=screen)
    retention_policies = RetentionPolicies(
        SqlRetentionPolicies(control, clock=utc_now), utc_now, screen=screen
    )
    sealer = build_sealer(settings)
    quarantine_store = SqlQuarantineStore(control)
    quarantine = QuarantineService(quarantine_store, sealer, utc_now)
    writer = IndexWriter(control=control, index=index, embedder=embedder)
    forms = StoredForms(gate, control.scope_roots)
    memories = MemoryService(
        control=control,
        index=index,
        embedder=embedder,
        writer=writer,
        gate=gate,
        quarantine=quarantine,
        clock=utc_now,
        limits=limits,
        undo_window=timedelta(seconds=settings.undo_window_seconds),
        retention_cutoff=retention_policies.cutoff,
        forms=forms,
        hold_unclassified=policies.hold_unclassified,
        query_variants=NerVariants(gate, control.scope_roots).start
        if settings.query_pseudonyms == "ner"
        else None,
    )
    keys = KeyService(control, utc_now, screen=screen)
    erasure_store = SqlErasureStore(control)
    compactor = Compactor(index, erasure_store, utc_now)
    compaction = Trigger("compaction", compactor.run, delay_seconds=settings.compact_delay_seconds)
    audit_key = build_audit_key(settings)
    runs = SqlRunLog(control)
    jobs = build_jobs(
        schedules=schedules_from(settings.job_schedules),
        retention_store=ServiceRetentionStore(
            policies=retention_policies,
            candidates=SqlRetentionCandidates(control),
            erasure=erasure_store,
            index=index,
            clock=utc_now,
            request_compaction=compaction.fire,
        ),
        writer=writer,
        compactor=compactor,
        trail=control.audit_trail(),
        control=control,
        undo_window=timedelta(seconds=settings.undo_window_seconds),
        audit_retention=timedelta(days=settings.audit_retention_days),
    )
    scheduler = build_scheduler(
        jobs,
        leases=SqlLeaseStore(control),
        runs=runs,
        clock=utc_now,
        lease_ttl=timedelta(seconds=settings.job_lease_seconds),
    )
    runtime = Runtime(
        settings=settings,
        control=control,
        index=index,
        embedder=embedder,
        keys=keys,
        memories=memories,
        policies=policies,
        gate=gate,
        idempotency=IdempotencyService(
            control, utc_now, timedelta(seconds=settings.idempotency_ttl_seconds)
        ),
        audit=AuditService(control.audit_trail(), control),
        erasure=ErasureService(
            store=erasure_store,
            index=index,
            clock=utc_now,
            subject_digest=lambda subject: keyed_digest(audit_key, "subject", subject),
            forms=forms,
            request_compaction=compaction.fire,
            vector_store_kind="qdrant-edge"
            if isinstance(index, QdrantEdgeMemoryIndex)
            else "qdrant",
        ),
        compactor=compactor,
        index_writer=writer,
        review=ReviewService(
            store=quarantine_store,
            control=control,
            sealer=sealer,
            gate=gate,
            writer=writer,
            two_person_release=policies.two_person_release,
            clock=utc_now,
            scrub=erasure_store.scrub_files,
            screen=screen,
        ),
        tickers=[compaction],
        retention_policies=retention_policies,
        scheduler=scheduler,
        jobs=JobService(scheduler, runs),
    )
    repaired = writer.reconcile()
    orphans = writer.remove_orphans()
    if repaired or orphans:
        _log.info("reconciled_index", memories=repaired, orphans=orphans)
    _bootstrap_admin(runtime)
    compaction.start()
    if settings.scheduler_enabled:
        scheduler.start()
    runtime.tickers.append(
        Ticker("index-sync", settings.index_sync_seconds, writer.sync_index).start()
    )
    return runtime


def _bootstrap_admin(runtime: Runtime) -> None:
    settings = runtime.settings
    preset = (
        settings.bootstrap_admin_key.get_secret_value() if settings.bootstrap_admin_key else None
    )
    generated = runtime.keys.ensure_bootstrap_admin(preset)
    if generated is None:
        return
    key_file: Path = settings.admin_key_file
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(generated + "\n")
    # Printed once, on first start only, so the operator can copy it; never logged.
    sys.stderr.write(
        f"\nBootstrap admin key (also written to {key_file}, mode 0600):\n  {generated}\n\n"
    )
    sys.stderr.flush()


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(message)s", stream=sys.stderr)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
    )


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Litestar:
    """Build the ASGI app. With no runtime, one is built in the lifespan and closed after."""
    settings = settings or (runtime.settings if runtime else Settings())
    owned = runtime is None
    holder: dict[str, Runtime] = {}

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        import anyio.to_thread  # noqa: PLC0415

        current = (
            runtime
            if runtime is not None
            else await anyio.to_thread.run_sync(build_runtime, settings)
        )
        holder["runtime"] = current
        app.state[KEY_SERVICE_STATE] = current.keys
        app.state[READINESS_STATE] = current.check_ready
        try:
            yield
        finally:
            app.state.pop(READINESS_STATE, None)
            if owned:
                current.close()

    def provide(attr: str) -> Provide:
        def dependency() -> Any:
            return getattr(holder["runtime"], attr)

        return Provide(dependency, sync_to_thread=False)

    mcp_handlers, mcp_lifespans = [], []
    if settings.mcp_enabled:
        mcp_app, mcp_lifespan = mcp_endpoint(
            lambda: holder["runtime"].memories,
            read_only=settings.mcp_read_only,
            host=settings.host,
        )
        mcp_handlers, mcp_lifespans = [mcp_app], [mcp_lifespan]

    blocking = BlockingCalls(inline_when_alone=settings.inline_reads)
    prometheus = PrometheusConfig(
        app_name="memory_service",
        group_path=True,  # label by route template, never by ids or scopes
        exclude_unhandled_paths=True,
        exclude=["/metrics"],
    )
    # mem0's MemoryClient shares our /v1/memories paths (with a trailing slash and its Token
    # scheme); the wrapper routes those requests to the compatibility controller.
    app = with_mem0_compat(
        Litestar(
            route_handlers=[
                HealthController,
                KeyController,
                MemoryController,
                PolicyController,
                AuditController,
                PurgeController,
                QuarantineController,
                RetentionPolicyController,
                JobController,
                PrometheusController,
                *mcp_handlers,
            ],
            lifespan=[lifespan, *mcp_lifespans],
            dependencies={
                "memories": provide("memories"),
                "keys": provide("keys"),
                "policies": provide("policies"),
                "idempotency": provide("idempotency"),
                "audit": provide("audit"),
                "erasure": provide("erasure"),
                "review": provide("review"),
                "retention_policies": provide("retention_policies"),
                "jobs": provide("jobs"),
            },
            state=State({BLOCKING_STATE: blocking}),
            middleware=[
                # Outermost: it counts every request in flight, for the short reads.
                blocking.middleware,
                prometheus.middleware,
                DefineMiddleware(
                    KeyAuthMiddleware,
                    exclude=["^/healthz", "^/readyz", "^/metrics", "^/schema"],
                ),
            ],
            exception_handlers=EXCEPTION_HANDLERS,
            request_max_body_size=settings.max_body_bytes,
            openapi_config=OpenAPIConfig(title="memory-service", version="1"),
            debug=False,
        )
    )
    return with_request_context(app, server_timing=settings.server_timing)


def create_app_from_env() -> Litestar:
    """Factory for ``uvicorn --factory``: settings from the environment."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)
