"""Compaction: rewrite the vector store's files without deleted points, then say so on the
receipts that were waiting for it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from memory_service.domain.ports import ErasureStore, MemoryIndex


class Compactor:
    def __init__(
        self, index: MemoryIndex, receipts: ErasureStore, clock: Callable[[], datetime]
    ) -> None:
        self._index = index
        self._receipts = receipts
        self._clock = clock
        self._lock = threading.Lock()

    def run(self) -> dict[str, int]:
        """Vacuum the index and stamp every receipt made before the vacuum started."""
        with self._lock:
            started = self._clock()
            changed = self._index.vacuum()
            stamped = self._receipts.mark_compacted(before=started, at=self._clock())
        return {"segments_rewritten": int(changed), "receipts_compacted": stamped}
