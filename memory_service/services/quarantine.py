"""The approval gate: held writes are sealed (AES-GCM) and kept out of every index."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from memory_service.domain.audit import AuditEntry
from memory_service.domain.models import HeldFinding, Provenance, QuarantineItem, Sealed
from memory_service.domain.ports import QuarantineStore, Sealer
from memory_service.errors import SealMismatch


def sealing_aad(item_id: uuid.UUID, scope: str) -> bytes:
    """Binds a ciphertext to its record: moving it to another row or scope fails to open.

    This is the binding of items sealed before every field was (their plaintext is the
    content alone); :func:`record_aad` binds the sealed records of every field.
    """
    return f"quarantine:{item_id}:{scope}".encode()


def record_aad(item_id: uuid.UUID, scope: str) -> bytes:
    """The binding of a sealed record (JSON of every field): a different associated data, so
    a record can never be opened as a bare content, nor the reverse."""
    return f"quarantine-record:{item_id}:{scope}".encode()


def seal_record(sealer: Sealer, item_id: uuid.UUID, scope: str, fields: dict[str, Any]) -> Sealed:
    """Every field of a held write, sealed together."""
    plaintext = json.dumps(fields, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return sealer.seal(plaintext, record_aad(item_id, scope))


def open_record(
    sealer: Sealer, item_id: uuid.UUID, scope: str, sealed: Sealed
) -> tuple[dict[str, Any], bool]:
    """The fields sealed by :func:`seal_record`, and True; or ``{"content": ...}`` and False
    for an item sealed before every field was (its other fields are in the clear columns, as
    written, never classified)."""
    try:
        fields: dict[str, Any] = json.loads(sealer.open(sealed, record_aad(item_id, scope)))
    except SealMismatch:
        return {"content": sealer.open(sealed, sealing_aad(item_id, scope))}, False
    return fields, True


class QuarantineService:
    def __init__(
        self, store: QuarantineStore, sealer: Sealer, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._sealer = sealer
        self._clock = clock

    def hold(
        self,
        *,
        scope: str,
        fields: dict[str, Any],
        findings: Sequence[HeldFinding],
        reason: Literal["findings", "classifier_failed"],
        metadata: dict[str, Any],
        tags: tuple[str, ...],
        subject: str | None,
        expires_at: datetime | None,
        provenance: Provenance,
        audit: AuditEntry,
        memory_id: uuid.UUID | None = None,
    ) -> QuarantineItem:
        """Seal every field of the write (``fields``, as written) and record it as pending
        review; nothing is embedded or indexed. ``metadata``, ``tags``, ``subject`` and the
        provenance are the masked forms, the only ones kept readable."""
        item_id = uuid.uuid4()
        item = QuarantineItem(
            id=item_id,
            scope=scope,
            status="pending",
            reason=reason,
            findings=tuple(findings),
            sealed=seal_record(self._sealer, item_id, scope, fields),
            metadata=metadata,
            tags=tags,
            subject=subject,
            expires_at=expires_at,
            provenance=provenance,
            created_at=self._clock(),
            memory_id=memory_id,
        )
        self._store.add_quarantine(
            item, audit=[replace(audit, details={**audit.details, "quarantine_id": str(item_id)})]
        )
        return item
