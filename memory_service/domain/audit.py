"""The audit trail's records and its keyed hash chain.

Each event's ``hash`` is an HMAC-SHA256, under a key the database does not hold, of the event in
canonical JSON together with the previous event's hash. Someone who can edit the database but not
read the key can change a row, drop one or append one, but cannot make the chain verify again
(the same idea as Vault's HMAC-ed audit entries). Events carry ids, counts, kinds and types:
never memory content nor a detected value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from memory_service.domain.grants import Caller

# The "previous hash" of the very first event.
GENESIS_HASH = "0" * 64
# The actor of what the service does on its own (bootstrap, scheduled jobs).
SYSTEM_ACTOR = "system"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What a use case asks to record; the chain adds ``seq``, ``at`` and the hashes."""

    action: str
    actor: str
    actor_id: str | None = None
    request_id: str | None = None
    scope: str | None = None
    memory_ids: tuple[str, ...] = ()
    decision: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def audit_entry(
    caller: Caller | None,
    action: str,
    *,
    scope: str | None = None,
    memory_ids: Iterable[object] = (),
    decision: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """An entry on behalf of ``caller`` (None: the service itself)."""
    return AuditEntry(
        action=action,
        actor=caller.principal.name if caller else SYSTEM_ACTOR,
        actor_id=caller.principal.key_id if caller else None,
        request_id=caller.request_id if caller else None,
        scope=scope,
        memory_ids=tuple(str(m) for m in memory_ids),
        decision=decision or {},
        details=details or {},
    )


@dataclass(frozen=True, slots=True)
class AuditEvent:
    seq: int
    at: datetime
    entry: AuditEntry
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        """The event as the API, the export and the logs show it."""
        entry = self.entry
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": entry.actor,
            "actor_id": entry.actor_id,
            "action": entry.action,
            "scope": entry.scope,
            "memory_ids": list(entry.memory_ids),
            "decision": entry.decision,
            "details": entry.details,
            "request_id": entry.request_id,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None
    memory_id: str | None = None
    scope: str | None = None
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    events: int
    first_bad_seq: int | None


def canonical(seq: int, at: datetime, entry: AuditEntry, prev_hash: str) -> bytes:
    """The bytes the HMAC covers: every field, in one spelling only."""
    body = {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "action": entry.action,
        "actor": entry.actor,
        "actor_id": entry.actor_id,
        "request_id": entry.request_id,
        "scope": entry.scope,
        "memory_ids": list(entry.memory_ids),
        "decision": entry.decision,
        "details": entry.details,
        "prev_hash": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def chain_hash(key: bytes, seq: int, at: datetime, entry: AuditEntry, prev_hash: str) -> str:
    return hmac.new(key, canonical(seq, at, entry, prev_hash), hashlib.sha256).hexdigest()


def head_mac(key: bytes, seq: int, last_hash: str) -> str:
    """Seals the chain's head, so that cutting events off the end is detected too."""
    return hmac.new(key, f"head:{seq}:{last_hash}".encode(), hashlib.sha256).hexdigest()


def anchor_mac(key: bytes, seq: int, last_hash: str) -> str:
    """Seals where a trimmed chain now starts, so that cutting events off the start is detected."""
    return hmac.new(key, f"anchor:{seq}:{last_hash}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainEnds:
    """The chain's sealed ends: where it starts (after trimming) and where it stops."""

    anchor_seq: int
    anchor_hash: str
    anchor_mac: str
    head_seq: int
    head_hash: str
    head_mac: str


def verify_chain(key: bytes, ends: ChainEnds, events: Iterable[AuditEvent]) -> Verification:
    """Recompute every link; the first event that does not fit is the first bad one.

    A sequence gap, a changed field, a reordered row or a forged hash all break a link; a chain
    cut at either end no longer meets its sealed anchor or head.
    """
    if not hmac.compare_digest(ends.anchor_mac, anchor_mac(key, ends.anchor_seq, ends.anchor_hash)):
        return Verification(ok=False, events=0, first_bad_seq=ends.anchor_seq + 1)
    expected_seq, prev_hash, count = ends.anchor_seq + 1, ends.anchor_hash, 0
    for event in events:
        recomputed = chain_hash(key, event.seq, event.at, event.entry, prev_hash)
        if (
            event.seq != expected_seq
            or not hmac.compare_digest(event.prev_hash, prev_hash)
            or not hmac.compare_digest(event.hash, recomputed)
        ):
            return Verification(ok=False, events=count, first_bad_seq=expected_seq)
        expected_seq, prev_hash, count = expected_seq + 1, event.hash, count + 1
    head_ok = (
        ends.head_seq == expected_seq - 1
        and hmac.compare_digest(ends.head_hash, prev_hash)
        and hmac.compare_digest(ends.head_mac, head_mac(key, ends.head_seq, ends.head_hash))
    )
    if not head_ok:
        return Verification(ok=False, events=count, first_bad_seq=expected_seq)
    return Verification(ok=True, events=count, first_bad_seq=None)
