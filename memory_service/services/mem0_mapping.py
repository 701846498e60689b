"""mem0 ``MemoryClient`` compatibility: mem0's vocabulary mapped onto :class:`MemoryService`.

Nothing here touches a store: every read and write goes through ``MemoryService`` with the
caller, so scoping, classification and audit are exactly those of the native API.

Mapping (the contract a mem0 user relies on):

- ``user_id`` -> the memory's ``subject`` (the data subject: erasure by subject covers it).
- ``agent_id``, ``app_id``, ``run_id`` -> metadata keys ``mem0_agent_id``, ``mem0_app_id``,
  ``mem0_run_id`` (flat keys: metadata filters match top-level keys only). These names are
  reserved: a caller's own metadata may not use them. The message's role is kept in
  ``mem0_role``. Responses move them back to top-level fields and out of ``metadata``.
- **Scope of an add**: mem0 has no scopes, so an add goes to the key's single write scope: the
  key must hold exactly one ``memory:write`` grant, and the memory lands on that grant's scope
  (``acme/bot``) or, for a subtree grant (``acme/bot/**``), on its base (``acme/bot``). A key
  with no, several, or an ``**`` write grant cannot add through mem0 (400, with a message for
  the admin): give mem0 clients a key with one write grant.
- **Reads** use the key's read grants and nothing else. Filters only narrow: ``user_id``,
  ``agent_id``, ``app_id``, ``run_id`` are exact matches inside those grants, and ``"*"`` (or
  no value) means "any value within my grants". Filters we do not understand (``OR``,
  operators, categories, dates) are refused (400) rather than ignored, since ignoring a filter
  would return more than the caller asked for.
- ``infer``: mem0's cloud extracts facts with an LLM; we run none. Every add stores the
  messages as given, **one memory per message** (system messages skipped, as mem0's own
  ``infer=False`` does), and with ``infer=true`` the response says so (``"inferred": false``
  and a ``message``) rather than failing.
- Every message is classified like any write. A held message answers ``"event":
  "QUARANTINED"`` with ``"id": null`` and its ``quarantine_id``; a policy rejection answers
  ``"event": "REJECTED"``. Neither echoes the text, and nothing searchable is stored.
- ``expiration_date`` (``YYYY-MM-DD``) -> ``expires_at`` at the end of that day, UTC.

Listing with agent/app/run filters (get_all, delete_all, entities) scans the readable memories
(``list_memories`` has no metadata filter) and filters here; past :data:`MAX_SCAN` memories it
refuses (400) instead of answering from a partial scan.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from memory_service.domain.grants import Caller, Permission, Principal
from memory_service.domain.models import IndexQuery, Memory, VersionRecord
from memory_service.errors import InvalidInput
from memory_service.services.memories import (
    Held,
    MemoryService,
    NewMemory,
    Rejected,
    Revision,
    Stored,
)
from memory_service.services.stored_forms import matches

ENTITY_KEYS = ("user_id", "agent_id", "app_id", "run_id")
_META_KEYS = {"agent_id": "mem0_agent_id", "app_id": "mem0_app_id", "run_id": "mem0_run_id"}
ROLE_KEY = "mem0_role"
RESERVED_METADATA_KEYS = frozenset({*_META_KEYS.values(), ROLE_KEY})
WILDCARD = "*"
MAX_MESSAGES = 100
MAX_SCAN = 10_000
_SCAN_PAGE = 500
MAX_ID_CHARS = 256
INFER_NOTE = (
    "infer=true is not supported: this service runs no LLM, so the messages were stored as "
    "given (one memory per message), without fact extraction"
)
_SKIPPED_ROLES = frozenset({"system"})
_EVENTS = {"create": "ADD", "update": "UPDATE", "delete": "DELETE", "restore": "UPDATE"}


class Mem0RequestError(InvalidInput):
    """A mem0 request we refuse; the message is ours and safe to show (answered as 400)."""


# -- scope ----------------------------------------------------------------------------------


def write_scope(principal: Principal) -> str:
    """The one scope a mem0 add writes to: the base of the key's single write grant."""
    patterns = principal.patterns_for(Permission.MEMORY_WRITE)
    if len(patterns) != 1 or patterns[0].base is None:
        msg = (
            "a mem0 add needs a key with exactly one memory:write grant on one scope or subtree "
            f"(this key has {len(patterns)}"
            + (", one of them '**'" if any(p.base is None for p in patterns) else "")
            + "); ask an admin for a key with a single write grant such as 'acme/bot/**'"
        )
        raise Mem0RequestError(msg)
    return patterns[0].base


# -- filters --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntityFilter:
    """Exact matches on mem0's entity ids; ``None`` is "any" (within the key's grants)."""

    user_id: str | None = None
    agent_id: str | None = None
    app_id: str | None = None
    run_id: str | None = None

    def metadata(self) -> dict[str, str]:
        return {
            meta: value
            for name, meta in _META_KEYS.items()
            if (value := getattr(self, name)) is not None
        }

    def index_query(self) -> IndexQuery:
        return IndexQuery(subject=self.user_id, metadata=self.metadata())

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, k) is None for k in ENTITY_KEYS)


def _entity_value(name: str, value: Any) -> str | None:
    if value is None or value == WILDCARD:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_CHARS:
        msg = f"{name} must be a string of 1..{MAX_ID_CHARS} characters, or '*'"
        raise Mem0RequestError(msg)
    return value


def _collect(clause: Mapping[str, Any], into: dict[str, str | None]) -> None:
    for key, value in clause.items():
        if key == "AND":
            if not isinstance(value, list):
                msg = "filters: AND takes a list of conditions"
                raise Mem0RequestError(msg)
            for item in value:
                if not isinstance(item, Mapping):
                    msg = "filters: every AND condition must be an object"
                    raise Mem0RequestError(msg)
                _collect(item, into)
            continue
        if key not in ENTITY_KEYS:
            # Ignoring an unknown filter would answer with more than was asked for.
            msg = (
                "filters: only user_id, agent_id, app_id and run_id (alone or under AND) are "
                "supported by this server"
            )
            raise Mem0RequestError(msg)
        parsed = _entity_value(key, value)
        if parsed is None:
            into.setdefault(key, None)
            continue
        if into.get(key) not in {None, parsed}:
            msg = f"filters: conflicting values for {key}"
            raise Mem0RequestError(msg)
        into[key] = parsed


def parse_filters(*clauses: Mapping[str, Any] | None) -> EntityFilter:
    """Merge mem0 filter objects (and top-level entity ids) into one AND of exact matches."""
    found: dict[str, str | None] = {}
    for clause in clauses:
        if clause is None:
            continue
        if not isinstance(clause, Mapping):
            msg = "filters must be an object"
            raise Mem0RequestError(msg)
        _collect(clause, found)
    return EntityFilter(**{k: found.get(k) for k in ENTITY_KEYS})


def entity_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level entity ids of a request body (older clients send them there)."""
    return {k: body[k] for k in ENTITY_KEYS if body.get(k) is not None}


# -- wire shapes ----------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def split_metadata(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the caller's own metadata, our mem0 fields)."""
    own = {k: v for k, v in metadata.items() if k not in RESERVED_METADATA_KEYS}
    ours = {k: v for k, v in metadata.items() if k in RESERVED_METADATA_KEYS}
    return own, ours


def memory_out(memory: Memory, score: float | None = None) -> dict[str, Any]:
    """A memory as mem0's client returns it, plus our ``scope`` and ``classification``."""
    own, ours = split_metadata(memory.metadata)
    out: dict[str, Any] = {
        "id": str(memory.id),
        "memory": memory.content,
        "user_id": memory.subject,
        "agent_id": ours.get(_META_KEYS["agent_id"]),
        "app_id": ours.get(_META_KEYS["app_id"]),
        "run_id": ours.get(_META_KEYS["run_id"]),
        "metadata": own,
        "categories": [],
        "immutable": False,
        "created_at": _iso(memory.created_at),
        "updated_at": _iso(memory.updated_at),
        "expiration_date": memory.expires_at.date().isoformat() if memory.expires_at else None,
        "scope": memory.scope,
        "classification": memory.classification.action,
    }
    if score is not None:
        out["score"] = score
    return out


def history_out(versions: Sequence[VersionRecord]) -> list[dict[str, Any]]:
    """mem0's history list: one entry per version, oldest first."""
    out: list[dict[str, Any]] = []
    previous: str | None = None
    for version in versions:
        own, ours = split_metadata(version.metadata)
        deleted = version.op == "delete"
        out.append(
            {
                "id": f"{version.memory_id}:{version.version}",
                "memory_id": str(version.memory_id),
                "version": version.version,
                "old_memory": previous,
                "new_memory": None if deleted else version.content,
                "event": _EVENTS[version.op],
                "user_id": version.subject,
                "agent_id": ours.get(_META_KEYS["agent_id"]),
                "app_id": ours.get(_META_KEYS["app_id"]),
                "run_id": ours.get(_META_KEYS["run_id"]),
                "metadata": own,
                "categories": [],
                "input": [],
                "is_deleted": deleted,
                "changed_by": version.changed_by,
                "created_at": _iso(version.changed_at),
                "updated_at": _iso(version.changed_at),
            }
        )
        previous = None if deleted else version.content
    return out


# -- inputs ---------------------------------------------------------------------------------


def parse_expiration(value: Any) -> datetime | None:
    """``YYYY-MM-DD`` -> the end of that day (UTC); a full ISO time is taken as given."""
    if value is None:
        return None
    if not isinstance(value, str):
        msg = "expiration_date must be a date (YYYY-MM-DD)"
        raise Mem0RequestError(msg)
    try:
        if len(value) == len("YYYY-MM-DD"):
            return datetime.combine(date.fromisoformat(value), time.max, tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        msg = "expiration_date must be a date (YYYY-MM-DD)"
        raise Mem0RequestError(msg) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def own_metadata(value: Any) -> dict[str, Any]:
    """The caller's metadata: an object that does not use our reserved keys."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        msg = "metadata must be an object"
        raise Mem0RequestError(msg)
    if clash := sorted(RESERVED_METADATA_KEYS & value.keys()):
        msg = f"metadata keys {clash} are reserved for mem0 entity ids"
        raise Mem0RequestError(msg)
    return value


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                msg = "only text message content is supported"
                raise Mem0RequestError(msg)
            parts.append(str(part.get("text", "")))
        return "\n".join(parts)
    msg = "message content must be a string"
    raise Mem0RequestError(msg)


def parse_messages(messages: Any) -> list[tuple[str, str]]:
    """(role, text) per message that becomes a memory; system messages are skipped."""
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    elif isinstance(messages, dict):
        messages = [messages]
    if not isinstance(messages, list) or not messages:
        msg = "messages must be a non-empty list of {role, content}"
        raise Mem0RequestError(msg)
    if len(messages) > MAX_MESSAGES:
        msg = f"at most {MAX_MESSAGES} messages per add"
        raise Mem0RequestError(msg)
    out: list[tuple[str, str]] = []
    for message in messages:
        if not isinstance(message, dict):
            msg = "every message must be an object with role and content"
            raise Mem0RequestError(msg)
        role = message.get("role", "user")
        if not isinstance(role, str):
            msg = "message role must be a string"
            raise Mem0RequestError(msg)
        if role in _SKIPPED_ROLES:
            continue
        text = _text_of(message.get("content"))
        if not text.strip():
            msg = "message content must not be empty"
            raise Mem0RequestError(msg)
        out.append((role, text))
    return out


def parse_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        msg = "memory id must be a UUID"
        raise Mem0RequestError(msg) from None


# -- use cases ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddRequest:
    messages: list[tuple[str, str]]
    entities: EntityFilter
    metadata: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None
    infer: bool = True
    api: str = "v3"


def parse_add(body: Mapping[str, Any], api: str) -> AddRequest:
    """An add body (v3 or legacy v1): messages, entity ids top-level or in ``filters``."""
    entities = parse_filters(entity_fields(body), body.get("filters"))
    filters = body.get("filters")
    named = [body.get(k) for k in ENTITY_KEYS]
    if isinstance(filters, Mapping):
        named += [filters.get(k) for k in ENTITY_KEYS]
    if WILDCARD in named:
        msg = "'*' is a read filter; an add names its entities exactly"
        raise Mem0RequestError(msg)
    infer = body.get("infer", True)
    if not isinstance(infer, bool):
        msg = "infer must be a boolean"
        raise Mem0RequestError(msg)
    return AddRequest(
        messages=parse_messages(body.get("messages")),
        entities=entities,
        metadata=own_metadata(body.get("metadata")),
        expires_at=parse_expiration(body.get("expiration_date")),
        infer=infer,
        api=api,
    )


def add(memories: MemoryService, caller: Caller, request: AddRequest) -> dict[str, Any]:
    """Store each message as one memory in the key's write scope; one result per message."""
    scope = write_scope(caller.principal)
    entity_meta = request.entities.metadata()
    items = [
        NewMemory(
            content=text,
            scope=scope,
            metadata={**request.metadata, **entity_meta, ROLE_KEY: role},
            subject=request.entities.user_id,
            expires_at=request.expires_at,
            source={"client": "mem0", "api": request.api},
        )
        for role, text in request.messages
    ]
    outcomes = memories.remember_batch(caller, items) if items else []
    results: list[dict[str, Any]] = []
    for outcome in outcomes:
        if isinstance(outcome, Stored):
            result = memory_out(outcome.memory)
            result["data"] = {"memory": outcome.memory.content}
            result["event"] = "ADD"
            results.append(result)
            continue
        findings = [{"kind": f.kind, "type": f.type} for f in outcome.findings]
        # Held or rejected: the text is not echoed and nothing searchable exists.
        entry: dict[str, Any] = {
            "id": None,
            "data": {"memory": None},
            "event": "QUARANTINED" if isinstance(outcome, Held) else "REJECTED",
            "findings": findings,
        }
        if isinstance(outcome, Held):
            entry["quarantine_id"] = outcome.quarantine_id
        elif isinstance(outcome, Rejected):
            entry["message"] = "the scope's policy rejects this content"
        results.append(entry)
    body: dict[str, Any] = {"results": results, "inferred": False}
    if request.infer:
        body["message"] = INFER_NOTE
    return body


def search(
    memories: MemoryService,
    caller: Caller,
    body: Mapping[str, Any],
) -> dict[str, Any]:
    """Semantic search in every readable scope, narrowed by the entity filters."""
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        msg = "query must be a non-empty string"
        raise Mem0RequestError(msg)
    entities = parse_filters(entity_fields(body), body.get("filters"))
    top_k = _bounded_int(body.get("top_k", body.get("limit")), "top_k", default=10, high=100)
    threshold = body.get("threshold")
    if threshold is not None and (
        not isinstance(threshold, int | float) or not -1.0 <= threshold <= 1.0
    ):
        msg = "threshold must be a number between -1 and 1"
        raise Mem0RequestError(msg)
    hits = memories.recall(
        caller,
        query=query,
        scopes=None,
        filters=entities.index_query(),
        limit=top_k,
        min_score=None if threshold is None else float(threshold),
    )
    return {"results": [memory_out(h.memory, h.score) for h in hits]}


def _bounded_int(value: Any, name: str, *, default: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
        msg = f"{name} must be an integer between 1 and {high}"
        raise Mem0RequestError(msg)
    return value


def matching(memories: MemoryService, caller: Caller, entities: EntityFilter) -> list[Memory]:
    """Every readable memory the filter matches, newest first (bounded by MAX_SCAN)."""
    found: list[Memory] = []
    cursor: str | None = None
    scanned = 0
    # The ids as the gate may have stored them (an e-mail as user_id becomes a pseudonym).
    query = memories.widened(caller, entities.index_query())
    while True:
        page, cursor = memories.list_memories(
            caller,
            scope=None,
            tag=None,
            subject=entities.user_id,
            limit=_SCAN_PAGE,
            cursor=cursor,
            widened=query,
        )
        scanned += len(page)
        found.extend(m for m in page if matches(query, m.subject, m.metadata))
        if cursor is None:
            break
        if scanned >= MAX_SCAN:
            msg = f"more than {MAX_SCAN} memories to scan; narrow the request with user_id"
            raise Mem0RequestError(msg)
    found.sort(key=lambda m: (m.created_at, str(m.id)), reverse=True)
    return found


def page_bounds(page: Any, page_size: Any) -> tuple[int, int]:
    return (
        _bounded_int(page, "page", default=1, high=1_000_000),
        _bounded_int(page_size, "page_size", default=100, high=1000),
    )


def get_all(
    memories: MemoryService,
    caller: Caller,
    body: Mapping[str, Any],
    *,
    page: int,
    page_size: int,
    base_url: str,
) -> dict[str, Any]:
    """mem0's paginated listing: ``count``, ``next``, ``previous``, ``results``."""
    entities = parse_filters(entity_fields(body), body.get("filters"))
    found = matching(memories, caller, entities)
    start = (page - 1) * page_size
    chunk = found[start : start + page_size]
    more = start + page_size < len(found)
    return {
        "count": len(found),
        "next": f"{base_url}?page={page + 1}&page_size={page_size}" if more else None,
        "previous": (
            f"{base_url}?page={page - 1}&page_size={page_size}" if page > 1 and found else None
        ),
        "results": [memory_out(m) for m in chunk],
    }


def forget_matching(
    memories: MemoryService, caller: Caller, entities: EntityFilter
) -> dict[str, Any]:
    """Soft-delete every matching memory in the key's grants that it may delete."""
    deleted = 0
    for memory in matching(memories, caller, entities):
        # Readable but not deletable memories are left alone rather than failing the call.
        if caller.principal.can(Permission.MEMORY_DELETE, memory.scope):
            memories.forget(caller, memory.id)
            deleted += 1
    return {"message": "Memories deleted successfully!", "deleted": deleted}


def delete_all(
    memories: MemoryService, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    """``DELETE /v1/memories/?user_id=...``: ``*`` matches every value within the grants."""
    given = {k: v for k, v in params.items() if k in ENTITY_KEYS and v is not None}
    if not given:
        msg = "give at least one of user_id, agent_id, app_id, run_id ('*' for all)"
        raise Mem0RequestError(msg)
    return forget_matching(memories, caller, parse_filters(given))


def entities(memories: MemoryService, caller: Caller) -> dict[str, Any]:
    """Users, agents, apps and runs that have readable memories, with counts."""
    counts: dict[tuple[str, str], list[Memory]] = {}
    for memory in matching(memories, caller, EntityFilter()):
        _, ours = split_metadata(memory.metadata)
        names = [("user", memory.subject)] + [
            (kind, ours.get(meta)) for kind, meta in _META_KEYS.items()
        ]
        for kind, name in names:
            if name is not None:
                counts.setdefault((kind.removesuffix("_id"), str(name)), []).append(memory)
    results = [
        {
            "id": f"{kind}:{name}",
            "name": name,
            "type": kind,
            "total_memories": len(items),
            "created_at": _iso(min(m.created_at for m in items)),
            "updated_at": _iso(max(m.updated_at for m in items)),
        }
        for (kind, name), items in sorted(counts.items())
    ]
    return {"count": len(results), "results": results}


def entity_filter_for(kind: str, name: str) -> EntityFilter:
    key = {"user": "user_id", "agent": "agent_id", "app": "app_id", "run": "run_id"}.get(kind)
    if key is None:
        msg = "entity type must be user, agent, app or run"
        raise Mem0RequestError(msg)
    if name == WILDCARD:
        msg = "name one entity; '*' is not an entity"
        raise Mem0RequestError(msg)
    return parse_filters({key: name})


def update(
    memories: MemoryService, caller: Caller, memory_id: uuid.UUID, body: Mapping[str, Any]
) -> tuple[int, dict[str, Any]]:
    """``PUT /v1/memories/{id}/``: ``text``, ``metadata``, ``expiration_date``."""
    text = body.get("text")
    if text is not None and (not isinstance(text, str) or not text.strip()):
        msg = "text must be a non-empty string"
        raise Mem0RequestError(msg)
    metadata = None
    if body.get("metadata") is not None:
        current = memories.get(caller, memory_id)
        _, ours = split_metadata(current.metadata)
        # The caller's metadata is replaced; the entity ids stay with the memory.
        metadata = {**own_metadata(body["metadata"]), **ours}
    clear = "expiration_date" in body and body["expiration_date"] is None
    change = Revision(
        content=text,
        metadata=metadata,
        expires_at=parse_expiration(body.get("expiration_date")),
        clear_expiry=clear,
    )
    if change == Revision():
        msg = "give at least one of text, metadata, expiration_date"
        raise Mem0RequestError(msg)
    outcome = memories.revise(caller, memory_id, change, None)
    if isinstance(outcome, Stored):
        return 200, memory_out(outcome.memory)
    return 202, {
        "id": str(memory_id),
        "event": "QUARANTINED",
        "quarantine_id": outcome.quarantine_id,
        "findings": [{"kind": f.kind, "type": f.type} for f in outcome.findings],
        "message": "the update was held for review; the memory is unchanged",
    }


def batch_items(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = body.get("memories")
    if not isinstance(items, list) or not items or len(items) > MAX_MESSAGES:
        msg = f"memories must be a list of 1..{MAX_MESSAGES} objects with memory_id"
        raise Mem0RequestError(msg)
    if not all(isinstance(i, dict) and isinstance(i.get("memory_id"), str) for i in items):
        msg = "every item needs a memory_id"
        raise Mem0RequestError(msg)
    return items


def batch_update(
    memories: MemoryService, caller: Caller, items: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    """Update several memories; each is checked (visible, writable) before any is changed."""
    parsed = [(parse_id(i["memory_id"]), i) for i in items]
    for memory_id, _ in parsed:
        memories.get(caller, memory_id)  # 404 before anything changes
    results = []
    for memory_id, item in parsed:
        _, out = update(
            memories, caller, memory_id, {k: v for k, v in item.items() if k != "memory_id"}
        )
        results.append({"memory_id": str(memory_id), "event": out.get("event", "UPDATE")})
    return {"message": f"Successfully updated {len(results)} memories", "results": results}


def batch_delete(
    memories: MemoryService, caller: Caller, items: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    """Delete several memories; every id is checked before any is deleted."""
    ids = [parse_id(i["memory_id"]) for i in items]
    for memory_id in ids:
        memories.get(caller, memory_id)
    for memory_id in ids:
        memories.forget(caller, memory_id)
    return {"message": f"Successfully deleted {len(ids)} memories"}
