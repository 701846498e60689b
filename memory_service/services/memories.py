"""Use cases on memories: remember, recall, revise, forget, restore, history.

Synchronous on purpose: the models and Qdrant Edge are CPU-bound and in-process, so the HTTP
layer runs these in worker threads.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from classifiers.policy import Action
from classifiers.record import RecordDecision
from memory_service.domain.access import require, scope_filter_for
from memory_service.domain.audit import AuditEntry, audit_entry
from memory_service.domain.grants import Caller, Permission
from memory_service.domain.models import (
    Classification,
    FindingSummary,
    HeldFinding,
    IndexQuery,
    Memory,
    Provenance,
    ScoredMemory,
    VersionRecord,
)
from memory_service.domain.ports import ControlStore, Embedder, MemoryIndex
from memory_service.domain.pseudonyms import tokens_in
from memory_service.domain.scopes import ScopeFilter, ScopePattern, parse_scope
from memory_service.errors import (
    InvalidInput,
    NotFound,
    Overloaded,
    PolicyRejected,
    VersionConflict,
)
from memory_service.services import validation
from memory_service.services.gate import ContentGate
from memory_service.services.index_writer import IndexWriter, memory_from_version
from memory_service.services.quarantine import QuarantineService
from memory_service.services.query_pseudonyms import PseudonymLookup, QueryVariants
from memory_service.services.stored_forms import StoredForms
from memory_service.services.validation import Limits


@dataclass(frozen=True, slots=True)
class NewMemory:
    content: str
    scope: str
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    subject: str | None = None
    ttl_seconds: int | None = None
    expires_at: datetime | None = None
    source: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Revision:
    """A PATCH: ``None`` leaves a field as it is; ``clear_expiry`` removes the expiry."""

    content: str | None = None
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = None
    expires_at: datetime | None = None
    clear_expiry: bool = False


@dataclass(frozen=True, slots=True)
class Stored:
    memory: Memory
    status: Literal["stored"] = "stored"


@dataclass(frozen=True, slots=True)
class Held:
    """The classifiers held the write back: nothing searchable was stored."""

    findings: tuple[FindingSummary, ...]
    quarantine_id: str | None = None
    status: Literal["quarantined"] = "quarantined"


@dataclass(frozen=True, slots=True)
class Rejected:
    """The scope's policy refuses this content; nothing was stored."""

    findings: tuple[FindingSummary, ...]
    status: Literal["rejected"] = "rejected"


WriteOutcome = Stored | Held
BatchOutcome = Stored | Held | Rejected


class MemoryService:
    """Every path builds its store filter from the caller's grants (``scope_filter_for``)."""

    def __init__(
        self,
        *,
        control: ControlStore,
        index: MemoryIndex,
        embedder: Embedder,
        writer: IndexWriter,
        gate: ContentGate,
        quarantine: QuarantineService,
        clock: Callable[[], datetime],
        limits: Limits,
        undo_window: timedelta,
        query_variants: QueryVariants | None = None,
        retention_cutoff: Callable[[str, datetime], datetime | None] = lambda _s, _n: None,
        forms: StoredForms | None = None,
        hold_unclassified: Callable[[str], bool] = lambda _scope: False,
    ) -> None:
        self._control = control
        self._index = index
        self._embedder = embedder
        self._gate = gate
        self._quarantine = quarantine
        self._clock = clock
        self._limits = limits
        self._undo_window = undo_window
        self._writer = writer
        self._retention_cutoff = retention_cutoff
        self._forms = forms or StoredForms(gate, control.scope_roots)
        self._hold_unclassified = hold_unclassified
        self._query_variants = (
            query_variants or PseudonymLookup(index, gate.pseudonymizer, control.scope_roots).start
        )

    # -- writes -------------------------------------------------------------------------

    def remember(self, caller: Caller, item: NewMemory) -> WriteOutcome:
        """Classify, then store one memory; acknowledged only once both stores hold it."""
        outcome = self.remember_batch(caller, [item])[0]
        if isinstance(outcome, Rejected):
            raise PolicyRejected("the scope's policy rejects this content", _wire(outcome.findings))
        return outcome

    def remember_batch(self, caller: Caller, items: Sequence[NewMemory]) -> list[BatchOutcome]:
        """Store several memories; every item is checked before any is written.

        Rejection by policy is per item (its outcome raises nothing for the others); a scope the
        caller may not write to fails the whole batch before anything is stored.
        """
        now = self._clock()
        checked = [self._prepare(caller, item, now) for item in items]
        records = [write_record(item) for item, _ in checked]
        # Every field is classified, and the items together: the NER is cheaper per text in a
        # batch, and a process pool spreads the batches over the cores.
        decisions = self._gate.decide_many(
            [(record, item.scope) for record, (item, _) in zip(records, checked, strict=True)],
            owner=caller.principal.key_id,
        )
        self._refuse_unclassified(decisions, [item.scope for item, _ in checked])
        outcomes: list[BatchOutcome] = []
        to_store: list[VersionRecord] = []
        rejections: list[AuditEntry] = []
        for (item, expires_at), record, decision in zip(checked, records, decisions, strict=True):
            if decision.outcome is Action.REJECT:
                outcomes.append(Rejected(findings=_classification(decision).findings))
                rejections.append(
                    audit_entry(
                        caller,
                        "memory.reject",
                        scope=item.scope,
                        decision=_decision("rejected", decision),
                    )
                )
                continue
            if decision.fields is None:
                outcomes.append(
                    self._hold(caller, record, decision, scope=item.scope, expires_at=expires_at)
                )
                continue
            stored = decision.fields
            version = VersionRecord(
                memory_id=uuid.uuid4(),
                version=1,
                scope=item.scope,
                content=stored["content"],
                metadata=stored.get("metadata", {}),
                tags=tuple(stored.get("tags", ())),
                subject=stored.get("subject"),
                expires_at=expires_at,
                classification=_classification(decision),
                provenance=self._provenance(caller, stored.get("source", {})),
                op="create",
                changed_by=caller.principal.name,
                changed_at=now,
                created_at=now,
            )
            to_store.append(version)
            outcomes.append(Stored(memory_from_version(version)))
        self._control.record_audit(rejections)
        self._commit(
            to_store,
            expected=[None] * len(to_store),
            audit=[
                audit_entry(
                    caller,
                    "memory.create",
                    scope=r.scope,
                    memory_ids=[r.memory_id],
                    decision=_stored_decision(r.classification),
                    details=_source_details(r.provenance),
                )
                for r in to_store
            ],
        )
        return outcomes

    def _prepare(
        self, caller: Caller, item: NewMemory, now: datetime
    ) -> tuple[NewMemory, datetime | None]:
        """Check one item (scope, permission, limits); classification comes after, in a batch."""
        scope = parse_scope(item.scope)
        require(caller.principal, Permission.MEMORY_WRITE, scope)
        validation.check_content(item.content, self._limits)
        validation.check_metadata(item.metadata, self._limits)
        tags = validation.check_tags(item.tags, self._limits)
        validation.check_metadata(item.source, self._limits)
        subject = validation.check_subject(item.subject, self._limits)
        expires_at = validation.resolve_expiry(now, item.ttl_seconds, item.expires_at)
        return replace(item, scope=scope, subject=subject, tags=list(tags)), expires_at

    def _refuse_unclassified(
        self, decisions: Sequence[RecordDecision], scopes: Sequence[str]
    ) -> None:
        """A write that could not be classified is refused as a whole, nothing stored, unless
        the policy of every scope it failed in says to hold it: holding it would keep someone's
        raw text for reviewers on the strength of a classifier's failure."""
        failed = [scope for d, scope in zip(decisions, scopes, strict=True) if d.failed]
        if failed and not all(self._hold_unclassified(scope) for scope in failed):
            raise Overloaded(
                "the write could not be classified in time; nothing was stored, retry later",
                self._gate.retry_after,
            )

    @staticmethod
    def _provenance(caller: Caller, source: dict[str, Any]) -> Provenance:
        return Provenance(
            caller.principal.name, caller.request_id, source, key_id=caller.principal.key_id
        )

    def _hold(
        self,
        caller: Caller,
        raw: dict[str, Any],
        decision: RecordDecision,
        *,
        scope: str,
        expires_at: datetime | None,
        memory_id: uuid.UUID | None = None,
    ) -> Held:
        """Seal every field of the write into the quarantine; nothing reaches the index.

        Only the masked fields stay readable (for reviewers), and nothing at all when the
        classifiers failed: a text nobody read cannot be shown safely.
        """
        masked = decision.masked or {}
        item = self._quarantine.hold(
            scope=scope,
            fields=raw,
            findings=[
                HeldFinding(
                    f.decided.finding.kind.value,
                    f.decided.finding.type,
                    f.decided.finding.start,
                    f.decided.finding.end,
                    field=f.field,
                )
                for f in decision.findings
            ],
            reason="classifier_failed" if decision.failed else "findings",
            metadata=masked.get("metadata", {}),
            tags=tuple(masked.get("tags", ())),
            subject=masked.get("subject"),
            expires_at=expires_at,
            provenance=self._provenance(caller, masked.get("source", {})),
            memory_id=memory_id,
            audit=audit_entry(
                caller,
                "memory.quarantine",
                scope=scope,
                memory_ids=[memory_id] if memory_id else [],
                decision=_decision("quarantined", decision),
            ),
        )
        return Held(findings=_classification(decision).findings, quarantine_id=str(item.id))

    def _commit(
        self,
        records: Sequence[VersionRecord],
        expected: Sequence[int | None],
        audit: Sequence[AuditEntry],
    ) -> None:
        self._writer.commit(
            records,
            lambda: self._control.append_versions(
                list(zip(records, expected, strict=True)), audit=audit
            ),
        )

    def revise(
        self, caller: Caller, memory_id: uuid.UUID, change: Revision, if_match: int | None
    ) -> WriteOutcome:
        """Update a memory; every field it changes is classified like a new write."""
        current = self._live_head(caller, memory_id, Permission.MEMORY_WRITE)
        if if_match is not None and if_match != current.version:
            raise VersionConflict
        now = self._clock()
        given: dict[str, Any] = {}
        if change.content is not None:
            validation.check_content(change.content, self._limits)
            given["content"] = change.content
        if change.tags is not None:
            given["tags"] = list(validation.check_tags(change.tags, self._limits))
        if change.metadata is not None:
            validation.check_metadata(change.metadata, self._limits)
            given["metadata"] = change.metadata
        expires_at = current.expires_at
        if change.clear_expiry:
            expires_at = None
        elif change.expires_at is not None:
            expires_at = validation.resolve_expiry(now, None, change.expires_at)
        stored: dict[str, Any] = {}
        classification = current.classification
        if given:
            decision = self._gate.decide(given, current.scope, owner=caller.principal.key_id)
            self._refuse_unclassified([decision], [current.scope])
            if decision.outcome is Action.REJECT:
                summaries = _classification(decision).findings
                self._control.record_audit(
                    [
                        audit_entry(
                            caller,
                            "memory.reject",
                            scope=current.scope,
                            memory_ids=[current.memory_id],
                            decision=_decision("rejected", decision),
                        )
                    ]
                )
                raise PolicyRejected("the scope's policy rejects this content", _wire(summaries))
            if decision.fields is None:
                # The memory stays as it is; the update waits in quarantine for a reviewer,
                # sealed whole: what it changes and what it keeps.
                kept = {
                    "content": current.content,
                    "subject": current.subject,
                    "tags": list(current.tags),
                    "metadata": current.metadata,
                }
                masked = {**kept, **(decision.masked or {})} if decision.masked else None
                return self._hold(
                    caller,
                    {**kept, **given},
                    replace(decision, masked=masked),
                    scope=current.scope,
                    expires_at=expires_at,
                    memory_id=current.memory_id,
                )
            stored = decision.fields
            classification = _merged(current.classification, _classification(decision), given)
        record = replace(
            current,
            version=current.version + 1,
            content=stored.get("content", current.content),
            classification=classification,
            metadata=stored.get("metadata", current.metadata),
            tags=tuple(stored["tags"]) if "tags" in stored else current.tags,
            expires_at=expires_at,
            op="update",
            changed_by=caller.principal.name,
            changed_at=now,
        )
        self._commit(
            [record],
            expected=[current.version],
            audit=[
                audit_entry(
                    caller,
                    "memory.update",
                    scope=record.scope,
                    memory_ids=[memory_id],
                    decision=_stored_decision(classification) if given else {},
                    details={"version": record.version, "fields": _changed_fields(change)},
                )
            ],
        )
        return Stored(memory_from_version(record))

    def forget(self, caller: Caller, memory_id: uuid.UUID) -> None:
        """Soft delete: invisible at once, restorable during the undo window."""
        current = self._live_head(caller, memory_id, Permission.MEMORY_DELETE)
        record = replace(
            current,
            version=current.version + 1,
            op="delete",
            changed_by=caller.principal.name,
            changed_at=self._clock(),
        )
        self._commit(
            [record],
            expected=[current.version],
            audit=[
                audit_entry(
                    caller,
                    "memory.delete",
                    scope=record.scope,
                    memory_ids=[memory_id],
                    details={"version": record.version},
                )
            ],
        )

    def restore(self, caller: Caller, memory_id: uuid.UUID, version: int | None) -> Memory:
        """Undelete (within the undo window) or roll back to an earlier version."""
        readable = scope_filter_for(caller.principal, Permission.MEMORY_READ)
        current = self._control.head(memory_id, readable)
        now = self._clock()
        if (
            current is None
            or _expired(current, now)
            or self._past_undo(current, now)
            or self._past_retention(current.scope, current.created_at, now)
        ):
            raise NotFound
        require(caller.principal, Permission.MEMORY_WRITE, current.scope)
        source = current
        if version is not None:
            history = self._control.history(memory_id, readable)
            matches = [v for v in history if v.version == version and v.op != "delete"]
            if not matches:
                raise InvalidInput("no such version to restore")
            source = matches[0]
        elif current.op != "delete":
            raise InvalidInput("the memory is not deleted; name a version to roll back to")
        record = replace(
            current,
            version=current.version + 1,
            content=source.content,
            metadata=source.metadata,
            tags=source.tags,
            subject=source.subject,
            classification=source.classification,
            op="restore",
            changed_by=caller.principal.name,
            changed_at=now,
        )
        self._commit(
            [record],
            expected=[current.version],
            audit=[
                audit_entry(
                    caller,
                    "memory.restore",
                    scope=record.scope,
                    memory_ids=[memory_id],
                    details={"version": record.version, "from_version": source.version},
                )
            ],
        )
        return memory_from_version(record)

    def _past_retention(self, scope: str, created_at: datetime, now: datetime) -> bool:
        """Past its scope's retention policy: invisible at once, before any job purges it."""
        cutoff = self._retention_cutoff(scope, now)
        return cutoff is not None and created_at <= cutoff

    def _past_undo(self, version: VersionRecord, now: datetime) -> bool:
        return version.op == "delete" and version.changed_at + self._undo_window <= now

    def _live_head(
        self, caller: Caller, memory_id: uuid.UUID, permission: Permission
    ) -> VersionRecord:
        """The current, not deleted, not expired version; 404 outside the readable scopes."""
        readable = scope_filter_for(caller.principal, Permission.MEMORY_READ)
        current = self._control.head(memory_id, readable)
        now = self._clock()
        if (
            current is None
            or current.op == "delete"
            or _expired(current, now)
            or self._past_retention(current.scope, current.created_at, now)
        ):
            raise NotFound
        require(caller.principal, permission, current.scope)
        return current

    # -- reads --------------------------------------------------------------------------

    def get(self, caller: Caller, memory_id: uuid.UUID) -> Memory:
        readable = scope_filter_for(caller.principal, Permission.MEMORY_READ)
        now = self._clock()
        memory = self._index.get(memory_id, readable, now=now)
        if memory is None or self._past_retention(memory.scope, memory.created_at, now):
            raise NotFound
        # Recorded before the memory leaves: a read that cannot be audited is not served.
        self._audit_read(caller, "memory.get", [memory], scope=memory.scope)
        return memory

    def widened(self, caller: Caller, query: IndexQuery) -> IndexQuery:
        """``query`` matching every form its values may be stored in, in the scopes the
        caller reads (see :mod:`memory_service.services.stored_forms`)."""
        readable = scope_filter_for(caller.principal, Permission.MEMORY_READ)
        return self._forms.widen(query, readable, caller.principal.key_id)

    def list_memories(
        self,
        caller: Caller,
        *,
        scope: str | None,
        tag: str | None,
        subject: str | None,
        limit: int,
        cursor: str | None,
        widened: IndexQuery | None = None,
    ) -> tuple[list[Memory], str | None]:
        """A page of readable memories; ``widened`` (from :meth:`widened`) replaces ``tag``
        and ``subject`` by a filter already widened, for a caller that pages through many."""
        requested = [parse_scope(scope)] if scope else None
        scopes = scope_filter_for(caller.principal, Permission.MEMORY_READ, requested)
        if widened is None:
            query = IndexQuery(tags_any=(tag,) if tag else (), subject=subject)
            query = self._forms.widen(query, scopes, caller.principal.key_id)
        else:
            query = replace(widened, metadata={})  # the index filter; metadata is matched after
        now = self._clock()
        page, next_cursor = self._index.scroll(scopes, query, limit=limit, cursor=cursor, now=now)
        page = [m for m in page if not self._past_retention(m.scope, m.created_at, now)]
        self._audit_read(caller, "memory.list", page, scope=requested[0] if requested else None)
        return page, next_cursor

    def recall(
        self,
        caller: Caller,
        *,
        query: str,
        scopes: Sequence[str] | None,
        filters: IndexQuery,
        limit: int,
        min_score: float | None,
    ) -> list[ScoredMemory]:
        """Semantic search over every readable scope, or the listed ones (403 if not held)."""
        if not query.strip():
            raise InvalidInput("query must not be empty")
        validation.check_content(query, self._limits)
        scope_filter = scope_filter_for(caller.principal, Permission.MEMORY_READ, scopes)
        if scope_filter.is_empty:
            return []
        filters = self._forms.widen(filters, scope_filter, caller.principal.key_id)
        hits = self._search(
            query,
            scope_filter,
            filters,
            limit=limit,
            min_score=min_score,
            owner=caller.principal.key_id,
        )
        now = self._clock()
        hits = [
            h for h in hits if not self._past_retention(h.memory.scope, h.memory.created_at, now)
        ]
        self._audit_read(
            caller,
            "memory.search",
            [h.memory for h in hits],
            scope=scopes[0] if scopes and len(scopes) == 1 else None,
            details={"scopes": list(scopes) if scopes else None},
        )
        return hits

    def _search(
        self,
        query: str,
        scope_filter: ScopeFilter,
        filters: IndexQuery,
        *,
        limit: int,
        min_score: float | None,
        owner: str,
    ) -> list[ScoredMemory]:
        now = self._clock()
        finish = self._query_variants(query, scope_filter, now, owner)
        vector = self._embedder.embed([query])[0]
        hits = self._index.search(
            vector, scope_filter, filters, limit=limit, now=now, min_score=min_score
        )
        variants = finish()
        if not variants:
            return hits
        # Memories hold pseudonyms, keyed per org: search each org with its own spelling of
        # the query too (a memory may also hold the name as written, so that search stays),
        # then keep the best score per memory. The raw query is never stored.
        vectors = self._embedder.embed(list(variants.values()))
        best = {hit.memory.id: hit for hit in hits}
        for (org, variant), org_vector in zip(variants.items(), vectors, strict=True):
            within = scope_filter.narrowed_to(ScopePattern(base=org, subtree=True))
            # Only memories holding one of the query's tokens: the model barely tells one
            # token from another, so without this a memory about someone else with the same
            # words ranks as high as the named person's own.
            holders = replace(filters, pseudonyms_any=tuple(sorted(tokens_in(variant))))
            for hit in self._index.search(
                org_vector, within, holders, limit=limit, now=now, min_score=min_score
            ):
                if hit.memory.id not in best or best[hit.memory.id].score < hit.score:
                    best[hit.memory.id] = hit
        return sorted(best.values(), key=lambda h: h.score, reverse=True)[:limit]

    def history(self, caller: Caller, memory_id: uuid.UUID) -> list[VersionRecord]:
        readable = scope_filter_for(caller.principal, Permission.MEMORY_READ)
        versions = self._control.history(memory_id, readable)
        now = self._clock()
        head = versions[-1] if versions else None
        if (
            head is None
            or self._past_undo(head, now)
            or self._past_retention(head.scope, head.created_at, now)
        ):
            raise NotFound
        self._control.record_read_audit(
            [
                audit_entry(
                    caller,
                    "memory.history",
                    scope=versions[-1].scope,
                    memory_ids=[memory_id],
                    details={"versions": len(versions)},
                )
            ]
        )
        return versions

    def _audit_read(
        self,
        caller: Caller,
        action: str,
        returned: Sequence[Memory],
        *,
        scope: str | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self._control.record_read_audit(
            [
                audit_entry(
                    caller,
                    action,
                    scope=scope,
                    memory_ids=[m.id for m in returned],
                    details={"returned": len(returned), **(details or {})},
                )
            ]
        )


def _expired(version: VersionRecord, now: datetime) -> bool:
    return version.expires_at is not None and version.expires_at <= now


def write_record(item: NewMemory) -> dict[str, Any]:
    """Everything a new memory stores that a caller wrote, as one record for the gate.

    Content comes first, so a write that is only content is classified exactly as before.
    """
    record: dict[str, Any] = {"content": item.content}
    if item.subject is not None:
        record["subject"] = item.subject
    if item.tags:
        record["tags"] = list(item.tags)
    if item.metadata:
        record["metadata"] = item.metadata
    if item.source:
        record["source"] = item.source
    return record


def _classification(decision: RecordDecision) -> Classification:
    findings = tuple(
        FindingSummary(
            kind=f.decided.finding.kind.value,
            type=f.decided.finding.type,
            action=f.decided.action.value,
            field=f.field,
        )
        for f in decision.findings
    )
    return Classification(action="redacted" if decision.altered else "clean", findings=findings)


def _merged(
    current: Classification, new: Classification, changed: dict[str, Any]
) -> Classification:
    """The findings of the fields an update rewrote, and the earlier ones of those it kept."""
    kept = tuple(f for f in current.findings if f.field not in changed)
    findings = kept + new.findings
    altered = any(f.action in {"redact", "pseudonymize"} for f in findings)
    return Classification(action="redacted" if altered else "clean", findings=findings)


def _decision(outcome: str, decision: RecordDecision) -> dict[str, Any]:
    """What the classifiers decided, by kind, type and action: never the matched value."""
    return {
        "outcome": outcome,
        "findings": [f.to_json() for f in _classification(decision).findings],
    }


def _stored_decision(classification: Classification) -> dict[str, Any]:
    return {
        "outcome": "redacted" if classification.action == "redacted" else "stored",
        "findings": [f.to_json() for f in classification.findings],
    }


def _source_details(provenance: Provenance) -> dict[str, Any]:
    # Only the names of the source fields: their values are caller-supplied free text.
    return {"source_fields": sorted(provenance.source)} if provenance.source else {}


def _changed_fields(change: Revision) -> list[str]:
    fields = [
        name
        for name in ("content", "metadata", "tags", "expires_at")
        if getattr(change, name) is not None
    ]
    return [*fields, "expires_at"] if change.clear_expiry else fields


def _wire(findings: Sequence[FindingSummary]) -> list[dict[str, str]]:
    return [{"kind": f.kind, "type": f.type} for f in findings]


__all__ = [
    "Caller",
    "Held",
    "MemoryService",
    "NewMemory",
    "Rejected",
    "Revision",
    "Stored",
    "WriteOutcome",
    "memory_from_version",
]
