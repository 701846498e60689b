"""Replaying writes: a retry with the same Idempotency-Key and body gets the first answer."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from memory_service.domain.models import IdempotencyRecord
from memory_service.domain.ports import ControlStore
from memory_service.errors import IdempotencyConflict, InvalidInput

MAX_KEY_CHARS = 200


@dataclass(frozen=True, slots=True)
class Replayable:
    status_code: int
    body: dict[str, Any]


class IdempotencyService:
    def __init__(self, store: ControlStore, clock: Callable[[], datetime], ttl: timedelta) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        # One writer per (key, idempotency key) in this process, so two concurrent retries do
        # not both run the write.
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def run(
        self,
        key_id: str,
        idempotency_key: str | None,
        fingerprint: bytes,
        action: Callable[[], Replayable],
    ) -> Replayable:
        """Run ``action`` once per (key, idempotency key); replay its answer afterwards."""
        if idempotency_key is None:
            return action()
        if not idempotency_key or len(idempotency_key) > MAX_KEY_CHARS:
            raise InvalidInput(f"Idempotency-Key must be 1..{MAX_KEY_CHARS} characters")
        request_hash = hashlib.sha256(fingerprint).hexdigest()
        with self._lock_for(key_id, idempotency_key):
            earlier = self._store.idempotent_response(key_id, idempotency_key)
            if earlier is not None and earlier.created_at + self._ttl > self._clock():
                if earlier.request_hash != request_hash:
                    raise IdempotencyConflict
                return Replayable(earlier.status_code, earlier.body)
            result = action()
            self._store.save_idempotent_response(
                IdempotencyRecord(
                    key_id=key_id,
                    idempotency_key=idempotency_key,
                    request_hash=request_hash,
                    status_code=result.status_code,
                    body=result.body,
                    created_at=self._clock(),
                )
            )
            return result

    def _lock_for(self, key_id: str, idempotency_key: str) -> threading.Lock:
        with self._guard:
            if len(self._locks) > 10_000:  # noqa: PLR2004 - bound memory; locks are cheap to remake
                self._locks.clear()
            return self._locks.setdefault((key_id, idempotency_key), threading.Lock())
