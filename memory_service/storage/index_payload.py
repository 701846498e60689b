"""What both vector-store adapters share: the point payload, the read filter and the cursor.

The filter is built here once, in a small neutral form, so that the scope, expiry and deletion
rules cannot drift between the embedded (Qdrant Edge) and the server (qdrant-client) adapters;
each adapter only translates it node by node into its library's filter classes.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from memory_service.domain.models import Classification, IndexQuery, Memory, Provenance
from memory_service.domain.pseudonyms import HEX_DIGITS, token_digest
from memory_service.domain.scopes import ScopeFilter, ancestors
from memory_service.errors import InvalidInput

# 9999-12-31T23:59:59Z: a memory without expiry still gets a number, so that "not expired"
# is one range condition on an indexed field instead of a "null or later" disjunction.
NEVER_EXPIRES_TS = 253402300799.0

# Payload fields the adapters index, with the kind of index each needs.
KEYWORD_FIELDS = ("scope_path", "subject", "tags")
TENANT_FIELD = "scope"
FLOAT_FIELDS = ("expires_ts", "created_ts")
BOOL_FIELDS = ("deleted",)
# The content's text index keeps only words of a pseudonym's digest length: the word tokenizer
# reads "<PERSON_3f9a2c>" as "person" and "3f9a2c", so the digest is one indexed word, and the
# index stays small (no other word length is kept).
TEXT_FIELD = "content"
TEXT_WORD_LENGTH = HEX_DIGITS

# Characters that would turn a metadata key into a JSON path into nested or array values.
_METADATA_KEY = re.compile(r"[^.\[\]\"]{1,128}")


# ----------------------------------------------------------------------------- payload


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        # A naive datetime has no defined epoch; guessing local time would shift expiry.
        raise ValueError("index datetimes must be timezone-aware")
    return value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else _utc(value).isoformat()


def _parse_iso(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def memory_to_payload(memory: Memory) -> dict[str, Any]:
    """The point payload for ``memory`` (the point id is ``memory.id``)."""
    expires_ts = (
        NEVER_EXPIRES_TS if memory.expires_at is None else _utc(memory.expires_at).timestamp()
    )
    return {
        "scope": memory.scope,
        "scope_path": ancestors(memory.scope),
        "content": memory.content,
        "metadata": memory.metadata,
        "tags": list(memory.tags),
        "subject": memory.subject,
        "created_at": _iso(memory.created_at),
        "updated_at": _iso(memory.updated_at),
        "expires_at": _iso(memory.expires_at),
        "deleted_at": _iso(memory.deleted_at),
        "expires_ts": expires_ts,
        "created_ts": _utc(memory.created_at).timestamp(),
        "version": memory.version,
        "classification": memory.classification.to_json(),
        "provenance": memory.provenance.to_json(),
        "deleted": memory.deleted_at is not None,
    }


def point_uuid(point_id: object) -> UUID:
    """A store's point id as a UUID (Edge returns UUID objects, qdrant-client strings)."""
    if isinstance(point_id, UUID):
        return point_id
    if isinstance(point_id, str):
        return UUID(point_id)
    raise ValueError(f"unexpected point id type {type(point_id).__name__}")


def payload_to_memory(point_id: object, payload: dict[str, Any] | None) -> Memory:
    """Rebuild the :class:`Memory` stored by :func:`memory_to_payload`."""
    if payload is None:
        raise ValueError("point was read without its payload")
    created_at = _parse_iso(payload["created_at"])
    updated_at = _parse_iso(payload["updated_at"])
    if created_at is None or updated_at is None:
        raise ValueError("point payload lacks created_at or updated_at")
    return Memory(
        id=point_uuid(point_id),
        scope=payload["scope"],
        content=payload["content"],
        metadata=payload.get("metadata") or {},
        tags=tuple(payload.get("tags") or ()),
        subject=payload.get("subject"),
        created_at=created_at,
        updated_at=updated_at,
        expires_at=_parse_iso(payload.get("expires_at")),
        version=payload["version"],
        classification=Classification.from_json(payload.get("classification") or {}),
        provenance=Provenance.from_json(payload.get("provenance") or {}),
        deleted_at=_parse_iso(payload.get("deleted_at")),
    )


def check_vector(vector: Sequence[float], dimension: int) -> list[float]:
    """``vector`` as a list, refusing a wrong length before it reaches the store."""
    if len(vector) != dimension:
        raise ValueError(f"vector has {len(vector)} dimensions, the index expects {dimension}")
    return [float(x) for x in vector]


def check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError("limit must be at least 1")


# ----------------------------------------------------------------------------- filter


@dataclass(frozen=True, slots=True)
class MatchValue:
    """``key`` equals ``value`` (for an array field: one of its elements does)."""

    key: str
    value: str | int | bool


@dataclass(frozen=True, slots=True)
class MatchAny:
    """``key`` equals one of ``values`` (for an array field: shares an element with them)."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MatchWordsAny:
    """The text-indexed ``key`` holds at least one of ``words``."""

    key: str
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GreaterThan:
    key: str
    value: float


@dataclass(frozen=True, slots=True)
class HasId:
    ids: tuple[UUID, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one of ``conditions`` holds."""

    conditions: tuple[Condition, ...]


Condition = MatchValue | MatchAny | MatchWordsAny | GreaterThan | HasId | AnyOf


@dataclass(frozen=True, slots=True)
class IndexFilter:
    """Every condition in ``must`` holds."""

    must: tuple[Condition, ...]


def build_filter(
    scopes: ScopeFilter,
    query: IndexQuery,
    now: datetime,
    *,
    ids: Sequence[UUID] = (),
) -> IndexFilter | None:
    """The store filter of a read, or None when it can match nothing (an empty scope filter).

    Adapters return an empty result for None without querying: Qdrant has no "match nothing"
    condition, and an unscoped query must never be sent.
    """
    if scopes.is_empty:
        return None
    must: list[Condition] = []
    if ids:
        must.append(HasId(tuple(ids)))
    if not scopes.is_everything:
        scope_conditions: list[Condition] = []
        if scopes.exact_scopes:
            scope_conditions.append(MatchAny(TENANT_FIELD, tuple(scopes.exact_scopes)))
        if scopes.subtree_bases:
            # scope_path holds every ancestor, so "base or below" is "base is an ancestor".
            scope_conditions.append(MatchAny("scope_path", tuple(scopes.subtree_bases)))
        must.append(AnyOf(tuple(scope_conditions)))
    must.append(GreaterThan("expires_ts", _utc(now).timestamp()))
    return IndexFilter((*must, *_request_conditions(query)))


def _request_conditions(query: IndexQuery) -> list[Condition]:
    must: list[Condition] = []
    if not query.include_deleted:
        must.append(MatchValue("deleted", value=False))
    if query.tags_any:
        must.append(MatchAny("tags", tuple(query.tags_any)))
    if query.subject is not None:
        must.append(MatchValue("subject", query.subject))
    if query.subject_any:
        must.append(MatchAny("subject", tuple(query.subject_any)))
    for key, value in sorted(query.metadata.items()):
        must.append(_metadata_condition(key, value))
    if query.pseudonyms_any:
        # A candidate, not an answer: the digest may also be another token's or a plain word
        # ("facade"); callers check the whole token in the content they get back.
        digests = sorted({token_digest(token) for token in query.pseudonyms_any})
        must.append(MatchWordsAny(TEXT_FIELD, tuple(digests)))
    return must


def _metadata_condition(key: str, value: Any) -> MatchValue | MatchAny:
    if not isinstance(key, str) or not _METADATA_KEY.fullmatch(key):
        raise InvalidInput('metadata filter keys must be 1-128 characters without . [ ] or "')
    if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
        return MatchAny(f"metadata.{key}", value)  # the stored forms of one string
    # Qdrant has no exact match on floats, null, lists or objects.
    if not isinstance(value, str | int | bool):
        raise InvalidInput("metadata filter values must be strings, integers or booleans")
    return MatchValue(f"metadata.{key}", value)


# ----------------------------------------------------------------------------- cursor


def encode_cursor(point_id: object) -> str:
    """An opaque scroll cursor for the next page, which starts at ``point_id``."""
    return base64.urlsafe_b64encode(point_uuid(point_id).bytes).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> UUID:
    """The point id a cursor from :func:`encode_cursor` names; InvalidInput if it is not one."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        point_id = UUID(bytes=raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("invalid cursor") from exc
    # Only the canonical spelling is accepted, so that every page has exactly one cursor.
    if encode_cursor(point_id) != cursor:
        raise InvalidInput("invalid cursor")
    return point_id
