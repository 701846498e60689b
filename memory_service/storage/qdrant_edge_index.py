"""The embedded vector store: a Qdrant Edge shard in this process, on local disk."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import numpy as np
import qdrant_edge as qe

from memory_service.domain.models import IndexQuery, Memory, ScoredMemory
from memory_service.errors import StoreUnavailable
from memory_service.storage.index_payload import (
    BOOL_FIELDS,
    FLOAT_FIELDS,
    KEYWORD_FIELDS,
    TENANT_FIELD,
    TEXT_FIELD,
    TEXT_WORD_LENGTH,
    AnyOf,
    Condition,
    GreaterThan,
    HasId,
    IndexFilter,
    MatchAny,
    MatchValue,
    MatchWordsAny,
    build_filter,
    check_limit,
    check_vector,
    decode_cursor,
    encode_cursor,
    memory_to_payload,
    payload_to_memory,
    point_uuid,
)

if TYPE_CHECKING:
    from datetime import datetime

    from memory_service.domain.scopes import ScopeFilter


class QdrantEdgeMemoryIndex:
    """:class:`~memory_service.domain.ports.MemoryIndex` on an in-process Qdrant Edge shard.

    The shard runs without its own write-ahead log: Edge's WAL kept every upserted text on
    disk until about 64 MiB of later writes rolled it over (measured), so a purged memory
    would have stayed readable in ``wal/``. Durability comes from the control store instead:
    a write is durable in the shard only after :meth:`flush`, and the service marks a version
    indexed only after a flush, so anything lost in a crash is replayed from the control store
    at start-up. ``sync_writes=True`` flushes after every write.

    The shard synchronises concurrent readers and writers itself, so calls from a thread pool
    need no lock here; the one lock only makes :meth:`close` idempotent. Calls after close
    raise :class:`StoreUnavailable`.

    The shard runs no background optimiser: call :meth:`optimize` from a maintenance job so
    that large indexes get HNSW graphs instead of brute-force search.
    """

    def __init__(
        self,
        path: Path,
        dimension: int,
        *,
        sync_writes: bool = False,
        search_threads: int = 1,
    ) -> None:
        self._dimension = dimension
        self._sync_writes = sync_writes
        self._lock = threading.Lock()
        self._closed = False
        config = qe.EdgeConfig(
            vectors=qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine),
            # Any deleted point makes optimize() vacuum its segment, so purged data leaves disk.
            optimizers=qe.EdgeOptimizersConfig(deleted_threshold=0.0, vacuum_min_vector_number=0),
            wal_enabled=False,
            max_search_threads=search_threads,
        )
        if path.exists() and any(path.iterdir()):
            # Passing the config makes the shard refuse a different dimension or distance.
            self._shard = qe.EdgeShard.load(str(path), config)
        else:
            self._shard = qe.EdgeShard.create(str(path), config)
        self._ensure_payload_indexes()

    def _ensure_payload_indexes(self) -> None:
        existing = self._shard.info().payload_schema
        wanted: dict[str, qe.PayloadSchemaType | qe.PayloadSchemaParams] = {
            # is_tenant groups each scope's points together on disk, so scoped reads stay local.
            TENANT_FIELD: qe.KeywordIndexParams(is_tenant=True),
            **dict.fromkeys(KEYWORD_FIELDS, qe.PayloadSchemaType.Keyword),
            **dict.fromkeys(FLOAT_FIELDS, qe.PayloadSchemaType.Float),
            **dict.fromkeys(BOOL_FIELDS, qe.PayloadSchemaType.Bool),
            TEXT_FIELD: qe.TextIndexParams(
                tokenizer=qe.TokenizerType.Word,
                lowercase=True,
                min_token_len=TEXT_WORD_LENGTH,
                max_token_len=TEXT_WORD_LENGTH,
            ),
        }
        for field, schema in wanted.items():
            if field not in existing:
                self._shard.update(qe.UpdateOperation.create_field_index(field, schema))

    def _open_shard(self) -> qe.EdgeShard:
        if self._closed:
            raise StoreUnavailable("the vector index is closed")
        return self._shard

    # ------------------------------------------------------------------ writes

    def upsert(self, items: Sequence[tuple[Memory, Sequence[float]]]) -> None:
        if not items:
            return
        points = [
            qe.Point(memory.id, check_vector(vector, self._dimension), memory_to_payload(memory))
            for memory, vector in items
        ]
        self._write(qe.UpdateOperation.upsert_points(points))

    def delete(self, ids: Sequence[UUID]) -> None:
        if not ids:
            return
        self._write(qe.UpdateOperation.delete_points(list(ids)))

    def _write(self, operation: qe.UpdateOperation) -> None:
        shard = self._open_shard()
        shard.update(operation)
        if self._sync_writes:
            shard.flush()

    # ------------------------------------------------------------------ reads

    def get(self, memory_id: UUID, scopes: ScopeFilter, *, now: datetime) -> Memory | None:
        flt = build_filter(scopes, IndexQuery(), now, ids=[memory_id])
        if flt is None:
            return None
        request = qe.ScrollRequest(limit=1, filter=_translate(flt), with_payload=True)
        records, _ = self._open_shard().scroll(request)
        return payload_to_memory(records[0].id, records[0].payload) if records else None

    def search(
        self,
        vector: Sequence[float],
        scopes: ScopeFilter,
        query: IndexQuery,
        *,
        limit: int,
        now: datetime,
        min_score: float | None = None,
    ) -> list[ScoredMemory]:
        check_limit(limit)
        dense = check_vector(vector, self._dimension)
        flt = build_filter(scopes, query, now)
        if flt is None:
            return []
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(dense),
            filter=_translate(flt),
            with_payload=True,
            with_vector=False,
            score_threshold=min_score,
        )
        return [
            ScoredMemory(payload_to_memory(p.id, p.payload), p.score)
            for p in self._open_shard().query(request)
        ]

    def scroll(
        self,
        scopes: ScopeFilter,
        query: IndexQuery,
        *,
        limit: int,
        cursor: str | None,
        now: datetime,
    ) -> tuple[list[Memory], str | None]:
        check_limit(limit)
        offset = None if cursor is None else decode_cursor(cursor)
        flt = build_filter(scopes, query, now)
        if flt is None:
            return [], None
        request = qe.ScrollRequest(
            offset=offset, limit=limit, filter=_translate(flt), with_payload=True
        )
        records, next_id = self._open_shard().scroll(request)
        memories = [payload_to_memory(r.id, r.payload) for r in records]
        return memories, None if next_id is None else encode_cursor(next_id)

    def count(self, scopes: ScopeFilter, query: IndexQuery, *, now: datetime) -> int:
        flt = build_filter(scopes, query, now)
        if flt is None:
            return 0
        return self._open_shard().count(qe.CountRequest(exact=True, filter=_translate(flt)))

    def existing_ids(self, ids: Sequence[UUID]) -> set[UUID]:
        if not ids:
            return set()
        # with_vector has no default at runtime, despite the stub.
        records = self._open_shard().retrieve(list(ids), False, False)  # noqa: FBT003
        return {point_uuid(r.id) for r in records}

    # ------------------------------------------------------------------ lifecycle

    def optimize(self) -> bool:
        """Merge segments and build HNSW graphs; blocks, True if anything changed."""
        return self._open_shard().optimize()

    def vacuum(self) -> bool:
        """Rewrite segments holding deleted points, then flush, so that the old segment files
        (with the deleted payloads and vectors) are removed from disk.

        Holds the GIL throughout (measured: 0.2 s at 2k points, 0.7 s at 20k once indexed,
        tens of seconds when the segment still needs its HNSW graph): run it from a job.
        """
        shard = self._open_shard()
        changed = shard.optimize()
        shard.flush()
        return changed

    def ids_page(self, after: UUID | None, limit: int) -> tuple[list[UUID], UUID | None]:
        """Every point id, a page at a time, whatever its scope (reconcile only)."""
        request = qe.ScrollRequest(offset=after, limit=limit, with_payload=False)
        records, next_id = self._open_shard().scroll(request)
        return [point_uuid(r.id) for r in records], None if next_id is None else point_uuid(next_id)

    def flush(self) -> None:
        self._open_shard().flush()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._shard.flush()
        finally:
            self._shard.close()


def _translate(flt: IndexFilter) -> qe.Filter:
    return qe.Filter(must=[_condition(c) for c in flt.must])


def _condition(condition: Condition) -> qe.FieldCondition | qe.HasIdCondition | qe.Filter:  # noqa: PLR0911 - one return per condition kind
    match condition:
        case MatchValue(key=key, value=bool(value)):
            # The binding reads a Python bool as the integer 0/1, which never matches a JSON
            # boolean; numpy's bool is not an int subclass, so it arrives as a boolean.
            return qe.FieldCondition(key, match=qe.MatchValue(np.bool_(value)))  # type: ignore[arg-type]
        case MatchValue(key=key, value=value):
            return qe.FieldCondition(key, match=qe.MatchValue(value))
        case MatchAny(key=key, values=values):
            return qe.FieldCondition(key, match=qe.MatchAny(list(values)))
        case MatchWordsAny(key=key, words=words):
            return qe.FieldCondition(key, match=qe.MatchTextAny(" ".join(words)))
        case GreaterThan(key=key, value=value):
            return qe.FieldCondition(key, range=qe.RangeFloat(gt=value))
        case HasId(ids=ids):
            return qe.HasIdCondition(set(ids))
        case AnyOf(conditions=conditions):
            return qe.Filter(should=[_condition(c) for c in conditions])
