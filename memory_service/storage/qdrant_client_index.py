"""The server vector store: a collection on a Qdrant server or cluster, through qdrant-client.

Scaled out, the collection can be sharded by org (the first segment of a scope) with Qdrant's
custom shard keys: each org's points live in its own shards, writes name their org's shard key
and reads name the shard keys of the orgs their scope filter can reach. The scope filter itself
is still applied inside every query; shard selection only keeps a read off other orgs' shards.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Final, Literal, TypeVar
from uuid import UUID

import httpx
import structlog
from qdrant_client import models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

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

    from qdrant_client import QdrantClient

    from memory_service.domain.scopes import ScopeFilter

_log = structlog.get_logger("memory_service.qdrant")

_T = TypeVar("_T")
_SERVER_ERROR: Final = 500
# Gateway and overload answers: the request did not reach a healthy node, so trying again
# may succeed. A 500 is the server failing on this request; a 4xx is our request being wrong.
_TRANSIENT_STATUS: Final = frozenset({502, 503, 504})
# Transport failures that say "try again", not "this can never work" (a bad URL scheme, a proxy
# misconfiguration): no connection, a dropped connection, no answer in time.
_TRANSIENT_TRANSPORT: Final = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)

ShardKeyMode = Literal["none", "org"]


@dataclass(frozen=True, slots=True)
class QdrantClusterOptions:
    """How the collection is laid out on a server or cluster, and how calls to it behave.

    ``None`` leaves a layout choice to the server's defaults. Layout options apply when the
    index creates the collection; an existing collection keeps its own (except the sharding
    method, which must match: see :class:`QdrantClientMemoryIndex`).
    """

    # "org": custom sharding, one shard key per org; "none": Qdrant places points by id hash.
    shard_key_mode: ShardKeyMode = "none"
    # Shards per shard key ("org") or of the whole collection ("none").
    shard_number: int | None = None
    replication_factor: int | None = None
    write_consistency_factor: int | None = None
    # Replicas a read asks: "all", "majority", "quorum" or a number; None leaves the server's
    # default (one). Qdrant keeps only the points every replica asked holds ("quorum": most of
    # them), so "all" never shows a memory one replica has already deleted (a purge not yet
    # applied everywhere), and hides a new one until every replica has it. For an agent to
    # read its own writes, acknowledge writes on every replica (write_consistency_factor).
    read_consistency: str | None = None
    # "strong" sends every write through the shard's permanent leader, so two replicas updating
    # the same memory cannot apply their writes in different orders on different copies.
    write_ordering: models.WriteOrdering = models.WriteOrdering.STRONG
    # Further attempts after a transient failure, with exponential backoff and full jitter.
    retries: int = 3
    backoff_seconds: float = 0.2
    max_backoff_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.shard_key_mode not in ("none", "org"):
            raise ValueError(f"unknown shard key mode {self.shard_key_mode!r}")
        for name in ("shard_number", "replication_factor", "write_consistency_factor"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.retries < 0 or self.backoff_seconds < 0 or self.max_backoff_seconds < 0:
            raise ValueError("retries and backoff must not be negative")
        if self.read_consistency is not None:
            read_consistency(self.read_consistency)  # raises on a value Qdrant would refuse

    @property
    def needs_a_server(self) -> bool:
        """True when some option only means something on a Qdrant server."""
        return (
            self.shard_key_mode != "none"
            or self.shard_number is not None
            or self.replication_factor is not None
            or self.write_consistency_factor is not None
            or self.read_consistency is not None
        )


def is_transient(exc: BaseException) -> bool:
    """True for failures worth trying again: no answer, a dropped connection, 502/503/504."""
    if isinstance(exc, UnexpectedResponse):
        return exc.status_code in _TRANSIENT_STATUS
    if isinstance(exc, ResponseHandlingException):
        # It also wraps an answer that did not parse: a bug or a version mismatch, not an outage.
        return isinstance(exc.source, _TRANSIENT_TRANSPORT)
    return False


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


def org_of(scope: str) -> str:
    """The org a scope belongs to: its first segment (``acme`` of ``acme/globex``)."""
    return scope.split("/", 1)[0]


def _is_local(client: QdrantClient) -> bool:
    options = client.init_options
    return options.get("location") == ":memory:" or options.get("path") is not None


class QdrantClientMemoryIndex:
    """:class:`~memory_service.domain.ports.MemoryIndex` on a Qdrant collection.

    Creates the collection (cosine distance, laid out as ``options`` say) and its payload
    indexes when they are missing, and refuses an existing collection of another dimension or
    another sharding method. Writes wait until the server has applied them, in the configured
    order. Transient failures (no answer, 502/503/504) are tried again with backoff: every call
    made here is idempotent (upserts and deletes by id, reads). The index owns ``client``:
    :meth:`close` closes it.

    qdrant-client's local mode (``:memory:`` or ``path=``) has no shards or replicas: asking
    for them there is refused rather than silently ignored.
    """

    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        dimension: int,
        options: QdrantClusterOptions | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._options = options or QdrantClusterOptions()
        if _is_local(client) and self._options.needs_a_server:
            raise ValueError(
                "qdrant-client local mode has no shards or replicas; "
                "shard keys, shard number and replication need a Qdrant server"
            )
        self._client = client
        self._collection = collection
        self._dimension = dimension
        self._sharded = self._options.shard_key_mode == "org"
        self._consistency = (
            None
            if self._options.read_consistency is None
            else read_consistency(self._options.read_consistency)
        )
        self._sleep = sleep
        self._jitter = jitter
        self._shard_lock = threading.Lock()
        self._shard_keys: frozenset[str] = frozenset()
        with _store_errors():
            self._ensure_collection()
            self._ensure_payload_indexes()
            if self._sharded:
                self._refresh_shard_keys()

    # ------------------------------------------------------------------ calls

    def _retrying(self, operation: str, call: Callable[[], _T]) -> _T:
        """``call()``, tried again on a transient failure; only for idempotent calls."""
        attempt = 0
        while True:
            try:
                return call()
            except (UnexpectedResponse, ResponseHandlingException) as exc:
                if attempt >= self._options.retries or not is_transient(exc):
                    raise
                # Full jitter: replicas that failed together do not retry in lockstep.
                ceiling = self._options.backoff_seconds * 2**attempt
                delay = min(self._options.max_backoff_seconds, ceiling) * self._jitter()
                attempt += 1
                # The status or exception type only: a server message may quote the request.
                _log.warning(
                    "qdrant_retry",
                    operation=operation,
                    attempt=attempt,
                    error=_describe(exc),
                    delay_seconds=round(delay, 3),
                )
                self._sleep(delay)

    def _call(self, operation: str, call: Callable[[], _T]) -> _T:
        with _store_errors():
            return self._retrying(operation, call)

    # ------------------------------------------------------------------ set-up

    def _ensure_collection(self) -> None:
        options = self._options
        exists = self._retrying(
            "collection_exists", lambda: self._client.collection_exists(self._collection)
        )
        if not exists:
            try:
                self._retrying(
                    "create_collection",
                    partial(
                        self._client.create_collection,
                        self._collection,
                        vectors_config=models.VectorParams(
                            size=self._dimension, distance=models.Distance.COSINE
                        ),
                        sharding_method=models.ShardingMethod.CUSTOM if self._sharded else None,
                        shard_number=options.shard_number,
                        replication_factor=options.replication_factor,
                        write_consistency_factor=options.write_consistency_factor,
                    ),
                )
            except (UnexpectedResponse, ValueError):
                # Another replica may have created it between the check and the create (or
                # a retried create finds the one its timed-out first attempt made).
                if not self._retrying(
                    "collection_exists", lambda: self._client.collection_exists(self._collection)
                ):
                    raise
        params = self._retrying(
            "get_collection", lambda: self._client.get_collection(self._collection)
        ).config.params
        vectors = params.vectors
        if not isinstance(vectors, models.VectorParams) or vectors.size != self._dimension:
            raise ValueError(
                f"collection {self._collection!r} does not hold one vector of "
                f"{self._dimension} dimensions"
            )
        custom = params.sharding_method == models.ShardingMethod.CUSTOM
        if custom != self._sharded:
            # Writes to a custom-sharded collection need a shard key and writes with one are
            # refused by an auto-sharded one: a mismatch would fail every write, so fail now.
            raise ValueError(
                f"collection {self._collection!r} is "
                f"{'sharded by custom keys' if custom else 'not sharded by custom keys'}, "
                f"but the shard key mode is {self._options.shard_key_mode!r}"
            )

    def _ensure_payload_indexes(self) -> None:
        existing = self._retrying(
            "get_collection", lambda: self._client.get_collection(self._collection)
        ).payload_schema
        wanted: dict[
            str, models.PayloadSchemaType | models.KeywordIndexParams | models.TextIndexParams
        ] = {
            # is_tenant groups each scope's points together on disk, so scoped reads stay local.
            TENANT_FIELD: models.KeywordIndexParams(
                type=models.KeywordIndexType.KEYWORD, is_tenant=True
            ),
            **dict.fromkeys(KEYWORD_FIELDS, models.PayloadSchemaType.KEYWORD),
            **dict.fromkeys(FLOAT_FIELDS, models.PayloadSchemaType.FLOAT),
            **dict.fromkeys(BOOL_FIELDS, models.PayloadSchemaType.BOOL),
            TEXT_FIELD: models.TextIndexParams(
                type=models.TextIndexType.TEXT,
                tokenizer=models.TokenizerType.WORD,
                lowercase=True,
                min_token_len=TEXT_WORD_LENGTH,
                max_token_len=TEXT_WORD_LENGTH,
            ),
        }
        for field, schema in wanted.items():
            if field not in existing:
                self._retrying(
                    "create_payload_index",
                    partial(
                        self._client.create_payload_index,
                        self._collection,
                        field,
                        field_schema=schema,
                        wait=True,
                    ),
                )

    # ------------------------------------------------------------------ shard keys

    def _refresh_shard_keys(self) -> frozenset[str]:
        response = self._retrying(
            "list_shard_keys", lambda: self._client.list_shard_keys(self._collection)
        )
        keys = frozenset(d.key for d in response.shard_keys or () if isinstance(d.key, str))
        with self._shard_lock:
            # Replaced, not merged: a key an operator deleted must stop being selected.
            self._shard_keys = keys
        return keys

    def _ensure_shard_keys(self, orgs: set[str]) -> None:
        """Create the shard key of every org in ``orgs`` that has none yet (first write)."""
        if orgs <= self._shard_keys:
            return
        known = self._refresh_shard_keys()
        for org in sorted(orgs - known):
            try:
                self._retrying(
                    "create_shard_key",
                    partial(
                        self._client.create_shard_key,
                        self._collection,
                        org,
                        shards_number=self._options.shard_number,
                        replication_factor=self._options.replication_factor,
                    ),
                )
            except UnexpectedResponse as exc:
                # Another replica created it first (or our timed-out first attempt did).
                is_refusal = exc.status_code is not None and exc.status_code < _SERVER_ERROR
                if not is_refusal or org not in self._refresh_shard_keys():
                    raise
            with self._shard_lock:
                self._shard_keys |= {org}
            _log.info("qdrant_shard_key_created", collection=self._collection, org=org)

    def _read_shards(self, scopes: ScopeFilter) -> tuple[bool, list[models.ShardKey] | None]:
        """Whether a read can match anything, and the shard keys it should name.

        ``None`` names no shard key, which a server reads as every shard: right for an
        unsharded collection and for a filter that reaches every org (``**``).
        """
        if not self._sharded:
            return True, None
        roots = scopes.roots
        if roots is None:
            return True, None
        selected = [org for org in roots if org in self._shard_keys]
        if len(selected) < len(roots):
            # Another replica may have created the key since; an org without one has no points.
            # (The server refuses a read that names an unknown shard key.)
            known = self._refresh_shard_keys()
            selected = [org for org in roots if org in known]
        shard_keys: list[models.ShardKey] = list(selected)
        return bool(shard_keys), shard_keys or None

    # ------------------------------------------------------------------ writes

    def upsert(self, items: Sequence[tuple[Memory, Sequence[float]]]) -> None:
        if not items:
            return
        by_org: dict[str | None, list[models.PointStruct]] = {}
        for memory, vector in items:
            point = models.PointStruct(
                id=str(memory.id),
                vector=check_vector(vector, self._dimension),
                payload=memory_to_payload(memory),
            )
            by_org.setdefault(org_of(memory.scope) if self._sharded else None, []).append(point)
        if self._sharded:
            self._ensure_shard_keys({org for org in by_org if org is not None})
        for org, points in by_org.items():
            self._upsert_in(org, points)

    def _upsert_in(self, org: str | None, points: list[models.PointStruct]) -> None:
        self._call(
            "upsert",
            lambda: self._client.upsert(
                self._collection,
                points=points,
                wait=True,
                ordering=self._options.write_ordering,
                shard_key_selector=org,
            ),
        )

    def delete(self, ids: Sequence[UUID]) -> None:
        if not ids:
            return
        if not self._sharded:
            self._delete_in(None, [str(i) for i in ids])
            return
        # A delete must name the shard key of each point's org, and ids do not say which that
        # is: look the points up first (a read without a shard key searches every shard).
        records = self._call(
            "retrieve",
            lambda: self._client.retrieve(
                self._collection,
                ids=[str(i) for i in ids],
                with_payload=[TENANT_FIELD],
                with_vectors=False,
                consistency=self._consistency,
            ),
        )
        by_org: dict[str, list[str]] = {}
        for record in records:
            scope = (record.payload or {}).get(TENANT_FIELD)
            if not isinstance(scope, str):
                raise StoreUnavailable("a point in the vector store has no scope")
            by_org.setdefault(org_of(scope), []).append(str(point_uuid(record.id)))
        for org, org_ids in by_org.items():
            self._delete_in(org, org_ids)

    def _delete_in(self, org: str | None, ids: list[str]) -> None:
        point_ids: list[models.ExtendedPointId] = list(ids)
        self._call(
            "delete",
            lambda: self._client.delete(
                self._collection,
                points_selector=models.PointIdsList(points=point_ids),
                wait=True,
                ordering=self._options.write_ordering,
                shard_key_selector=org,
            ),
        )

    # ------------------------------------------------------------------ reads

    def get(self, memory_id: UUID, scopes: ScopeFilter, *, now: datetime) -> Memory | None:
        flt = build_filter(scopes, IndexQuery(), now, ids=[memory_id])
        if flt is None:
            return None
        reachable, shards = self._read_shards(scopes)
        if not reachable:
            return None
        records, _ = self._call(
            "scroll",
            lambda: self._client.scroll(
                self._collection,
                scroll_filter=_translate(flt),
                limit=1,
                with_payload=True,
                shard_key_selector=shards,
                consistency=self._consistency,
            ),
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
        reachable, shards = self._read_shards(scopes)
        if not reachable:
            return []
        response = self._call(
            "query_points",
            lambda: self._client.query_points(
                self._collection,
                query=dense,
                query_filter=_translate(flt),
                limit=limit,
                score_threshold=min_score,
                with_payload=True,
                with_vectors=False,
                shard_key_selector=shards,
                consistency=self._consistency,
            ),
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
        reachable, shards = self._read_shards(scopes)
        if not reachable:
            return [], None
        records, next_id = self._call(
            "scroll",
            lambda: self._client.scroll(
                self._collection,
                scroll_filter=_translate(flt),
                limit=limit,
                offset=offset,
                with_payload=True,
                with_vectors=False,
                shard_key_selector=shards,
                consistency=self._consistency,
            ),
        )
        memories = [payload_to_memory(r.id, r.payload) for r in records]
        return memories, None if next_id is None else encode_cursor(next_id)

    def count(self, scopes: ScopeFilter, query: IndexQuery, *, now: datetime) -> int:
        # qdrant-client's count takes no read consistency: counts are for admins' overviews
        # and retention checks, not for an agent reading its own writes.
        flt = build_filter(scopes, query, now)
        if flt is None:
            return 0
        reachable, shards = self._read_shards(scopes)
        if not reachable:
            return 0
        return self._call(
            "count",
            lambda: self._client.count(
                self._collection,
                count_filter=_translate(flt),
                exact=True,
                shard_key_selector=shards,
            ),
        ).count

    def existing_ids(self, ids: Sequence[UUID]) -> set[UUID]:
        if not ids:
            return set()
        # No shard key: reconcile asks about points in any org, so every shard is searched.
        records = self._call(
            "retrieve",
            lambda: self._client.retrieve(
                self._collection,
                ids=[str(i) for i in ids],
                with_payload=False,
                with_vectors=False,
                consistency=self._consistency,
            ),
        )
        return {point_uuid(r.id) for r in records}

    # ------------------------------------------------------------------ lifecycle

    def flush(self) -> None:
        """Nothing to do: writes wait for the server, which owns its own durability."""

    def vacuum(self) -> bool:
        """Nothing to do here: the server's optimizers vacuum deleted points on their own."""
        return False

    def ids_page(self, after: UUID | None, limit: int) -> tuple[list[UUID], UUID | None]:
        """Every point id, a page at a time, whatever its scope or shard (reconcile only)."""
        records, next_id = self._call(
            "scroll",
            lambda: self._client.scroll(
                self._collection,
                limit=limit,
                offset=None if after is None else str(after),
                with_payload=False,
                with_vectors=False,
            ),
        )
        return [point_uuid(r.id) for r in records], (
            None if next_id is None else point_uuid(next_id)
        )

    def close(self) -> None:
        self._client.close()


def read_consistency(value: str) -> models.ReadConsistency:
    """``"all"``, ``"majority"``, ``"quorum"`` or a positive number, as qdrant-client takes it."""
    if value.isdigit() and int(value) >= 1:
        return int(value)
    try:
        return models.ReadConsistencyType(value)
    except ValueError:
        raise ValueError(
            'read consistency must be "all", "majority", "quorum" or a positive number'
        ) from None


def _describe(exc: UnexpectedResponse | ResponseHandlingException) -> str:
    if isinstance(exc, UnexpectedResponse):
        return f"http {exc.status_code}"
    return type(exc.source).__name__


def _translate(flt: IndexFilter) -> models.Filter:
    return models.Filter(must=[_condition(c) for c in flt.must])


def _condition(condition: Condition) -> models.Condition:
    match condition:
        case MatchValue(key=key, value=value):
            return models.FieldCondition(key=key, match=models.MatchValue(value=value))
        case MatchAny(key=key, values=values):
            return models.FieldCondition(key=key, match=models.MatchAny(any=list(values)))
        case MatchWordsAny(key=key, words=words):
            return models.FieldCondition(
                key=key, match=models.MatchTextAny(text_any=" ".join(words))
            )
        case GreaterThan(key=key, value=value):
            return models.FieldCondition(key=key, range=models.Range(gt=value))
        case HasId(ids=ids):
            return models.HasIdCondition(has_id=[str(i) for i in ids])
        case AnyOf(conditions=conditions):
            return models.Filter(should=[_condition(c) for c in conditions])
