"""Filters that still find what the gate rewrote.

The gate pseudonymises personal data in every field, a subject or a metadata value included:
``emily@example.com`` is stored as ``<EMAIL_ADDRESS_3f9a2c>``, keyed per org. A caller filters
with the value as they know it; here it becomes every form it may be stored in (as written, for
what was stored as written, and as each org of the read would hold it), and the store matches
any of them. The filter value itself is never stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from memory_service.domain.models import IndexQuery, PurgeSelector
from memory_service.domain.scopes import ScopeFilter
from memory_service.services.gate import ContentGate


class StoredForms:
    """Widens filter values to their stored forms, for the orgs a read covers."""

    def __init__(self, gate: ContentGate, all_orgs: Callable[[], list[str]]) -> None:
        self._gate = gate
        self._all_orgs = all_orgs

    def _orgs(self, scopes: ScopeFilter) -> list[str]:
        roots = scopes.roots
        return roots if roots is not None else self._all_orgs()

    def _variants(
        self, record: dict[str, Any], scopes: ScopeFilter, owner: str
    ) -> list[dict[str, Any]]:
        """``record`` as each org of ``scopes`` would store it, where that differs."""
        if not record or scopes.is_empty:
            return []
        return self._gate.stored_forms(record, self._orgs(scopes), owner=owner)

    def widen(self, query: IndexQuery, scopes: ScopeFilter, owner: str) -> IndexQuery:
        """``query`` matching every stored form of its subject, tags and string metadata
        values; one classifier call for all of them, in ``owner``'s turn on the queue."""
        texts = {k: v for k, v in query.metadata.items() if isinstance(v, str)}
        record: dict[str, Any] = {}
        if query.subject is not None:
            record["subject"] = query.subject
        if query.tags_any:
            record["tags"] = list(query.tags_any)
        if texts:
            record["metadata"] = texts
        variants = self._variants(record, scopes, owner)
        if not variants:
            return query
        subjects = _unique([query.subject, *(v.get("subject") for v in variants)])
        tags = _unique([*query.tags_any, *(t for v in variants for t in v.get("tags", ()))])
        metadata = dict(query.metadata)
        for key, value in texts.items():
            forms = _unique([value, *(v.get("metadata", {}).get(key) for v in variants)])
            metadata[key] = forms if len(forms) > 1 else value
        return replace(
            query,
            subject=None if len(subjects) > 1 else query.subject,
            subject_any=subjects if len(subjects) > 1 else (),
            tags_any=tags,
            metadata=metadata,
        )

    def selector(self, selector: PurgeSelector, scopes: ScopeFilter, owner: str) -> PurgeSelector:
        """A purge or erasure selector that also matches the stored forms of its subject and
        tags."""
        wanted = IndexQuery(tags_any=selector.tags_any, subject=selector.subject)
        query = self.widen(wanted, scopes, owner)
        return replace(
            selector,
            tags_any=query.tags_any,
            subject_forms=query.subject_any,
        )


def matches(query: IndexQuery, subject: str | None, metadata: dict[str, Any]) -> bool:
    """Whether a memory's subject and metadata satisfy a (widened) ``query``."""
    if query.subject is not None and subject != query.subject:
        return False
    if query.subject_any and subject not in query.subject_any:
        return False
    for key, wanted in query.metadata.items():
        value = metadata.get(key)
        if value not in wanted if isinstance(wanted, tuple) else value != wanted:
            return False
    return True


def _unique(values: Sequence[Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if isinstance(v, str)))
