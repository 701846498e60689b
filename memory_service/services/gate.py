"""The classification seam: every field of every write passes here before anything is stored."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import structlog

from classifiers.findings import Finding, Kind
from classifiers.pipeline import ClassificationPipeline, apply
from classifiers.policy import Action, Policy
from classifiers.record import FAILED, Layout, RecordDecision, decide_record
from memory_service.domain.ports import Pseudonymizer

_log = structlog.get_logger("memory_service.gate")

# Used for search queries: every PII value becomes the pseudonym stored memories carry.
_QUERY_POLICY = Policy(secret=Action.ALLOW, injection=Action.ALLOW, pii=Action.PSEUDONYMIZE)


def org_of(scope: str) -> str:
    return scope.split("/", 1)[0]


def _softened(policy: Policy) -> Policy:
    def soft(action: Action) -> Action:
        return Action.REDACT if action in {Action.QUARANTINE, Action.REJECT} else action

    return replace(
        policy,
        secret=soft(policy.secret),
        pii=soft(policy.pii),
        injection=soft(policy.injection),
        pii_types={k: soft(v) for k, v in policy.pii_types.items()},
    )


class ContentGate:
    """Classify with a time limit and the scope's policy; fail closed on error or timeout."""

    def __init__(
        self,
        pipeline: ClassificationPipeline,
        policy_for: Callable[[str], Policy],
        pseudonymizer: Pseudonymizer,
        *,
        timeout_seconds: float,
        workers: int = 2,
        batch_size: int = 16,
        owns_pipeline: bool = False,
    ) -> None:
        self._pipeline = pipeline
        self._owns_pipeline = owns_pipeline  # close() stops its worker processes, if any
        self._policy_for = policy_for
        self._pseudonymizer = pseudonymizer
        self._timeout = timeout_seconds
        self._batch_size = batch_size
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="classify"
        )

    @property
    def pseudonymizer(self) -> Pseudonymizer:
        return self._pseudonymizer

    @property
    def classifier_names(self) -> tuple[str, ...]:
        return self._pipeline.names

    def _pseudonymize_in(self, org: str) -> Callable[[str, str], str]:
        def pseudonym(entity_type: str, value: str) -> str:
            return self._pseudonymizer.pseudonym(org, entity_type, value)

        return pseudonym

    def decide(self, record: Mapping[str, Any], scope: str) -> RecordDecision:
        """The verdict on every field of a write for ``scope``; a failure or timeout holds it.

        ``record`` maps field names to what the write stores (see :mod:`classifiers.record`).
        """
        return self.decide_many([(record, scope)])[0]

    def decide_many(self, items: Sequence[tuple[Mapping[str, Any], str]]) -> list[RecordDecision]:
        """:meth:`decide` for each ``(record, scope)``, classified in batches of ``batch_size``.

        A batch that fails or times out is classified again one record at a time, so that only
        the record that broke a classifier is held back; each batch gets the per-write timeout.
        """
        layouts = [Layout.of(record) for record, _ in items]
        chunks = [
            list(range(i, min(i + self._batch_size, len(items))))
            for i in range(0, len(items), self._batch_size)
        ]
        futures = [
            self._pool.submit(self._pipeline.findings_many, [layouts[i].text for i in chunk])
            for chunk in chunks
        ]
        decisions: list[RecordDecision] = []
        for chunk, future in zip(chunks, futures, strict=True):
            try:
                found = future.result(timeout=self._timeout)
            except Exception as exc:  # noqa: BLE001 - whatever broke, the text must not pass
                future.cancel()
                _log.warning("classification_failed", error_type=type(exc).__name__)
                if len(chunk) == 1:
                    decisions.append(FAILED)
                else:  # retried one by one, each failing closed on its own
                    decisions.extend(self.decide(*items[i]) for i in chunk)
                continue
            for i, findings in zip(chunk, found, strict=True):
                record, scope = items[i]
                decisions.append(
                    decide_record(
                        record,
                        layouts[i],
                        findings,
                        self._policy_for(scope),
                        self._pseudonymize_in(org_of(scope)),
                    )
                )
        return decisions

    def decide_for_release(self, record: Mapping[str, Any], scope: str) -> RecordDecision:
        """A reviewer's "release redacted": the scope's policy, with every finding that would
        hold or refuse the write redacted instead. Fails loudly: nothing unclassified passes."""
        policy = _softened(self._policy_for(scope))
        layout = Layout.of(record)
        findings = self._pipeline.findings(layout.text)
        decision = decide_record(
            record, layout, findings, policy, self._pseudonymize_in(org_of(scope))
        )
        if not decision.storable:
            raise ValueError("a softened policy still held the write back")
        return decision

    def stored_forms(self, record: Mapping[str, Any], orgs: Sequence[str]) -> list[dict[str, Any]]:
        """``record`` with its personal data replaced as each of ``orgs`` would store it; empty
        when it holds none (it is then stored as written). For filters: see
        :mod:`memory_service.services.stored_forms`. Raises if a classifier fails."""
        layout = Layout.of(record)
        findings = [f for f in self._pipeline.findings(layout.text) if f.kind is Kind.PII]
        if not findings:
            return []
        return [
            decide_record(
                record, layout, findings, _QUERY_POLICY, self._pseudonymize_in(org)
            ).fields
            or {}
            for org in orgs
        ]

    def query_pii(self, query: str) -> concurrent.futures.Future[list[Finding]]:
        """Start looking for personal data in a search query, on the classification pool, so
        that the caller can embed and search the query as written meanwhile."""

        def pii() -> list[Finding]:
            return [f for f in self._pipeline.findings(query) if f.kind is Kind.PII]

        return self._pool.submit(pii)

    def variants_for(
        self, query: str, findings: Sequence[Finding], orgs: Sequence[str]
    ) -> dict[str, str]:
        """The query as each org's memories would hold it: its PII replaced by that org's
        pseudonyms. Empty when the query holds no PII (the search as written is enough)."""
        if not findings:
            return {}
        variants = {}
        for org in orgs:
            decision = apply(query, list(findings), _QUERY_POLICY, self._pseudonymize_in(org))
            variants[org] = decision.content or query
        return variants

    def query_variants(self, query: str, orgs: list[str]) -> dict[str, str]:
        """:meth:`variants_for` after :meth:`query_pii`, in one call."""
        return self.variants_for(query, self.query_pii(query).result(), orgs)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._owns_pipeline:
            self._pipeline.close()
