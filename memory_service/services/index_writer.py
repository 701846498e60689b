"""The one way versions reach the vector index: intent first, then the index, then "indexed".

A version is written to the control store (with its audit event) before the index, and marked
indexed only after the index has flushed it. Whatever a crash cuts short is replayed from the
control store at start-up (:meth:`IndexWriter.reconcile`), and index points the control store
no longer knows are deleted (:meth:`IndexWriter.remove_orphans`).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence

from memory_service.domain.models import Memory, VersionRecord
from memory_service.domain.ports import ControlStore, Embedder, MemoryIndex


def memory_from_version(version: VersionRecord) -> Memory:
    """The live view of a memory whose latest history entry is ``version``."""
    return Memory(
        id=version.memory_id,
        scope=version.scope,
        content=version.content,
        metadata=version.metadata,
        tags=version.tags,
        subject=version.subject,
        created_at=version.created_at,
        updated_at=version.changed_at,
        expires_at=version.expires_at,
        version=version.version,
        classification=version.classification,
        provenance=version.provenance,
        deleted_at=version.changed_at if version.op == "delete" else None,
    )


class IndexWriter:
    def __init__(self, *, control: ControlStore, index: MemoryIndex, embedder: Embedder) -> None:
        self._control = control
        self._index = index
        self._embedder = embedder
        # Versions in the index but not yet flushed there: marked indexed by sync_index().
        self._unsynced: list[tuple[uuid.UUID, int]] = []
        self._unsynced_lock = threading.Lock()
        self._sync_lock = threading.Lock()

    def commit(self, records: Sequence[VersionRecord], persist: Callable[[], None]) -> None:
        """Embed, run ``persist`` (the control-store transaction holding ``records`` and their
        audit events), then upsert into the index.

        Embedding comes first so that a model failure stores nothing.
        """
        if not records:
            return
        vectors = self._embedder.embed([r.content for r in records])
        persist()
        self._index.upsert(
            [(memory_from_version(r), v) for r, v in zip(records, vectors, strict=True)]
        )
        with self._unsynced_lock:
            self._unsynced.extend((r.memory_id, r.version) for r in records)

    def sync_index(self) -> int:
        """Flush the index, then mark what it now durably holds as indexed.

        Called about once a second and at shutdown: one flush and one control-store commit
        for every write since the last call, instead of one per write.
        """
        with self._sync_lock:
            with self._unsynced_lock:
                pending, self._unsynced = self._unsynced, []
            if not pending:
                return 0
            try:
                self._index.flush()
                self._control.mark_indexed_many(pending)
            except BaseException:
                with self._unsynced_lock:
                    self._unsynced[:0] = pending
                raise
            return len(pending)

    def reconcile(self, batch: int = 256) -> int:
        """Bring the index up to every version the control store holds (crash repair)."""
        repaired = 0
        while pending := self._control.unindexed(batch):
            vectors = self._embedder.embed([v.content for v in pending])
            self._index.upsert(
                [(memory_from_version(v), vec) for v, vec in zip(pending, vectors, strict=True)]
            )
            self._index.flush()
            self._control.mark_indexed_many([(v.memory_id, v.version) for v in pending])
            repaired += len(pending)
        return repaired

    def remove_orphans(self, batch: int = 1000) -> int:
        """Delete index points the control store has no memory for (a purge cut short by a
        crash, or an index restored from an older copy): nothing may be findable that the
        control store does not vouch for."""
        removed, after = 0, None
        while True:
            ids, after = self._index.ids_page(after, batch)
            orphans = set(ids) - self._control.known_memory_ids(ids)
            if orphans:
                self._index.delete(sorted(orphans))
                removed += len(orphans)
            if after is None:
                break
        if removed:
            self._index.flush()
        return removed
