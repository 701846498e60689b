"""The approval gate: held writes are sealed (AES-GCM) and kept out of every index."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from memory_service.domain.audit import AuditEntry
from memory_service.domain.models import HeldFinding, Provenance, QuarantineItem
from memory_service.domain.ports import QuarantineStore, Sealer


def sealing_aad(item_id: uuid.UUID, scope: str) -> bytes:
    """Binds a ciphertext to its record: moving it to another row or scope fails to open."""
    return f"quarantine:{item_id}:{scope}".encode()


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
        content: str,
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
        """Seal ``content`` and record it as pending review; nothing is embedded or indexed."""
        item_id = uuid.uuid4()
        item = QuarantineItem(
            id=item_id,
            scope=scope,
            status="pending",
            reason=reason,
            findings=tuple(findings),
            sealed=self._sealer.seal(content, sealing_aad(item_id, scope)),
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
