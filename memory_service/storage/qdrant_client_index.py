"""The server vector store: a collection on a Qdrant server, through qdrant-client."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING
from uuid import UUID

from qdrant_client import models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from memory_service.domain.models import IndexQuery, Memory, ScoredMemory
from memory_service.errors import StoreUnavailable
from memory_service.storage.index_payload import (
    BOOL_FIELDS,
    FLOAT_FIELDS,
    KEYWORD_FIELDS,
    TENANT_FIELD,
    AnyOf,
    Condition,
    GreaterThan,
    HasId,
    IndexFilter,
    MatchAny,
    MatchValue,
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

    from qdrant_client import QdrantClient

    from memory_service.domain.scopes import ScopeFilter

_SERVER_ERROR = 500


@contextmanager
def _store_errors() -> Iterator[None]:
    """Report an unreachable or failing server as :class:`StoreUnavailable`.

    A 4xx answer is a bug in the request, not an outage, so it is left as it is.
    """
    try:
        yield
    except ResponseHandlingException as exc:
        raise StoreUnavailable("the vector store did not answer") from exc
    except UnexpectedResponse as exc:
        if exc.status_code is None or exc.status_code >= _SERVER_ERROR:
            raise StoreUnavailable("the vector store failed") from exc
        raise


class QdrantClientMemoryIndex:
    """:class:`~memory_service.domain.ports.MemoryIndex` on a Qdrant collection.

    Creates the collection (cosine distance) and its payload indexes when they are missing,
    and refuses an existing collection of another dimension. Writes wait until the server
    has applied them. The index owns ``client``: :meth:`close` closes it.
    """

    def __init__(self, client: QdrantClient, collection: str, dimension: int) -> None:
        self._client = client
        self._collection = collection
        self._dimension = dimension
        with _store_errors():
            self._ensure_collection()
            self._ensure_payload_indexes()

    def _ensure_collection(self) -> None:
        if not self._client.collection_exists(self._collection):
            try:
                self._client.create_collection(
                    self._collection,
                    vectors_config=models.VectorParams(
                        size=self._dimension, distance=models.Distance.COSINE
                    ),
                )
            except (UnexpectedResponse, ValueError):
                # Another replica may have created it between the check and the create.
                if not self._client.collection_exists(self._collection):
                    raise
        vectors = self._client.get_collection(self._collection).config.params.vectors
        if not isinstance(vectors, models.VectorParams) or vectors.size != self._dimension:
            raise ValueError(
                f"collection {self._collection!r} does not hold one vector of "
                f"{self._dimension} dimensions"
            )

    def _ensure_payload_indexes(self) -> None:
        existing = self._client.get_collection(self._collection).payload_schema
        wanted: dict[str, models.PayloadSchemaType | models.KeywordIndexParams] = {
            # is_tenant groups each scope's points together on disk, so scoped reads stay local.
            TENANT_FIELD: models.KeywordIndexParams(
                type=models.KeywordIndexType.KEYWORD, is_tenant=True
            ),
            **dict.fromkeys(KEYWORD_FIELDS, models.PayloadSchemaType.KEYWORD),
            **dict.fromkeys(FLOAT_FIELDS, models.PayloadSchemaType.FLOAT),
            **dict.fromkeys(BOOL_FIELDS, models.PayloadSchemaType.BOOL),
        }
        for field, schema in wanted.items():
            if field not in existing:
                self._client.create_payload_index(
                    self._collection, field, field_schema=schema, wait=True
                )

    # ------------------------------------------------------------------ writes

    def upsert(self, items: Sequence[tuple[Memory, Sequence[float]]]) -> None:
        if not items:
            return
        points = [
            models.PointStruct(
                id=str(memory.id),
                vector=check_vector(vector, self._dimension),
                payload=memory_to_payload(memory),
            )
            for memory, vector in items
        ]
        with _store_errors():
            self._client.upsert(self._collection, points=points, wait=True)

    def delete(self, ids: Sequence[UUID]) -> None:
        if not ids:
            return
        selector = models.PointIdsList(points=[str(i) for i in ids])
        with _store_errors():
            self._client.delete(self._collection, points_selector=selector, wait=True)

    # ------------------------------------------------------------------ reads

    def get(self, memory_id: UUID, scopes: ScopeFilter, *, now: datetime) -> Memory | None:
        flt = build_filter(scopes, IndexQuery(), now, ids=[memory_id])
        if flt is None:
            return None
        with _store_errors():
            records, _ = self._client.scroll(
                self._collection, scroll_filter=_translate(flt), limit=1, with_payload=True
            )
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
        with _store_errors():
            response = self._client.query_points(
                self._collection,
                query=dense,
                query_filter=_translate(flt),
                limit=limit,
                score_threshold=min_score,
                with_payload=True,
                with_vectors=False,
            )
        return [ScoredMemory(payload_to_memory(p.id, p.payload), p.score) for p in response.points]

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
        offset = None if cursor is None else str(decode_cursor(cursor))
        flt = build_filter(scopes, query, now)
        if flt is None:
            return [], None
        with _store_errors():
            records, next_id = self._client.scroll(
                self._collection,
                scroll_filter=_translate(flt),
                limit=limit,
                offset=offset,
                with_payload=True,
                with_vectors=False,
            )
        memories = [payload_to_memory(r.id, r.payload) for r in records]
        return memories, None if next_id is None else encode_cursor(next_id)

    def count(self, scopes: ScopeFilter, query: IndexQuery, *, now: datetime) -> int:
        flt = build_filter(scopes, query, now)
        if flt is None:
            return 0
        with _store_errors():
            return self._client.count(
                self._collection, count_filter=_translate(flt), exact=True
            ).count

    def existing_ids(self, ids: Sequence[UUID]) -> set[UUID]:
        if not ids:
            return set()
        with _store_errors():
            records = self._client.retrieve(
                self._collection,
                ids=[str(i) for i in ids],
                with_payload=False,
                with_vectors=False,
            )
        return {point_uuid(r.id) for r in records}

    # ------------------------------------------------------------------ lifecycle

    def flush(self) -> None:
        """Nothing to do: writes wait for the server, which owns its own durability."""

    def vacuum(self) -> bool:
        """Nothing to do here: the server's optimizers vacuum deleted points on their own."""
        return False

    def ids_page(self, after: UUID | None, limit: int) -> tuple[list[UUID], UUID | None]:
        """Every point id, a page at a time, whatever its scope (reconcile only)."""
        with _store_errors():
            records, next_id = self._client.scroll(
                self._collection,
                limit=limit,
                offset=None if after is None else str(after),
                with_payload=False,
                with_vectors=False,
            )
        return [point_uuid(r.id) for r in records], (
            None if next_id is None else point_uuid(next_id)
        )

    def close(self) -> None:
        self._client.close()


def _translate(flt: IndexFilter) -> models.Filter:
    return models.Filter(must=[_condition(c) for c in flt.must])


def _condition(condition: Condition) -> models.Condition:
    match condition:
        case MatchValue(key=key, value=value):
            return models.FieldCondition(key=key, match=models.MatchValue(value=value))
        case MatchAny(key=key, values=values):
            return models.FieldCondition(key=key, match=models.MatchAny(any=list(values)))
        case GreaterThan(key=key, value=value):
            return models.FieldCondition(key=key, range=models.Range(gt=value))
        case HasId(ids=ids):
            return models.HasIdCondition(has_id=[str(i) for i in ids])
        case AnyOf(conditions=conditions):
            return models.Filter(should=[_condition(c) for c in conditions])
