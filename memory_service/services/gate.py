"""The classification seam: every field of every write passes here before anything is stored."""

from __future__ import annotations

import concurrent.futures
import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import structlog

from classifiers.findings import Finding, Kind
from classifiers.pipeline import ClassificationPipeline, apply
from classifiers.policy import Action, Policy
from classifiers.record import FAILED, Layout, RecordDecision, decide_record
from memory_service.domain.ports import Pseudonymizer
from memory_service.errors import Overloaded, RateLimited, StoreUnavailable
from memory_service.services.fair_queue import FairQueue, Stop

_log = structlog.get_logger("memory_service.gate")

# Used for search queries: every PII value becomes the pseudonym stored memories carry.
_QUERY_POLICY = Policy(secret=Action.ALLOW, injection=Action.ALLOW, pii=Action.PSEUDONYMIZE)


# Calls one key may have waiting on the gate at once; more answer 429. Each waits in one of
# the server's worker threads (anyio's limiter: 40 by default), so without a bound one key's
# concurrent requests could take every thread and stall the other keys before their writes
# even reach the queue.
MAX_WAITING_PER_KEY = 8

# Characters of record text per queue unit: a unit of short records stays one batch (spaCy is
# cheaper per text in a batch), long ones go one at a time.
UNIT_CHARS = 16_384


def _units(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Consecutive indexes grouped into units of at most ``batch_size`` records and
    :data:`UNIT_CHARS` characters (a longer record is a unit of its own)."""
    units: list[list[int]] = []
    size = 0
    for i, length in enumerate(lengths):
        if not units or len(units[-1]) >= batch_size or size + length > UNIT_CHARS:
            units.append([])
            size = 0
        units[-1].append(i)
        size += length
    return units


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
    """Classify with a time limit and the scope's policy; fail closed on error or timeout.

    Classification runs on a :class:`FairQueue`: each caller (API key) has its own queue,
    workers take the callers in turn, and one caller never holds every worker, so a key that
    sends heavy batches delays its own writes, not another key's. A write's records go to the
    queue in units of at most ``batch_size`` records and :data:`UNIT_CHARS` characters (a
    heavy batch is many small turns, not one long one), each unit with ``timeout_seconds`` more
    than the one before it; a unit that cannot be classified in its time is told to stop at
    the next classifier, and what is still queued is not started.
    """

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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pipeline = pipeline
        self._owns_pipeline = owns_pipeline  # close() stops its worker processes, if any
        self._policy_for = policy_for
        self._pseudonymizer = pseudonymizer
        self._timeout = timeout_seconds
        self._batch_size = batch_size
        self._clock = clock
        self._queue = FairQueue(workers, clock=clock, name="classify")
        self._waiting: dict[str, int] = {}
        self._waiting_lock = threading.Lock()

    @contextlib.contextmanager
    def _turn(self, owner: str) -> Iterator[None]:
        """One more call of ``owner`` waiting on the gate; :class:`RateLimited` past the bound."""
        with self._waiting_lock:
            if self._waiting.get(owner, 0) >= MAX_WAITING_PER_KEY:
                raise RateLimited(
                    "too many requests of this key are waiting to be classified; retry later",
                    self.retry_after,
                )
            self._waiting[owner] = self._waiting.get(owner, 0) + 1
        try:
            yield
        finally:
            with self._waiting_lock:
                self._waiting[owner] -= 1
                if not self._waiting[owner]:
                    del self._waiting[owner]

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

    def decide(self, record: Mapping[str, Any], scope: str, *, owner: str) -> RecordDecision:
        """The verdict on every field of a write for ``scope``; a failure or timeout is
        :data:`~classifiers.record.FAILED`.

        ``record`` maps field names to what the write stores (see :mod:`classifiers.record`);
        ``owner`` is whose turn it takes in the queue (the caller's key).
        """
        return self.decide_many([(record, scope)], owner=owner)[0]

    def decide_many(
        self, items: Sequence[tuple[Mapping[str, Any], str]], *, owner: str
    ) -> list[RecordDecision]:
        """:meth:`decide` for each ``(record, scope)``.

        Once one unit fails or runs out of time, the rest are given up (stopped or never
        started) and every record not yet decided is FAILED: the caller refuses the write.
        """
        with self._turn(owner):
            return self._decide_many(items, owner)

    def _decide_many(
        self, items: Sequence[tuple[Mapping[str, Any], str]], owner: str
    ) -> list[RecordDecision]:
        layouts = [Layout.of(record) for record, _ in items]
        units = _units([len(layout.text) for layout in layouts], self._batch_size)
        tickets = [
            self._queue.submit(
                owner,
                partial(self._findings, [layouts[i].text for i in unit]),
                timeout=self._timeout * (n + 1),
            )
            for n, unit in enumerate(units)
        ]
        decisions: list[RecordDecision] = []
        for unit, ticket in zip(units, tickets, strict=True):
            try:
                found = ticket.future.result(timeout=max(0.0, ticket.deadline - self._clock()))
            except BaseException as exc:  # noqa: BLE001 - whatever broke, the text must not pass
                # The type only: a classifier's message may quote the text it choked on.
                _log.warning("classification_failed", error_type=type(exc).__name__)
                for left in tickets:
                    left.give_up()
                return decisions + [FAILED] * (len(items) - len(decisions))
            for i, findings in zip(unit, found, strict=True):
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

    def waiting(self, owner: str) -> int:
        """Units of ``owner``'s writes still queued for classification (not yet started)."""
        return self._queue.waiting(owner)

    def _findings(self, texts: list[str], stop: Stop) -> list[list[Finding]]:
        return self._pipeline.findings_many(texts, stop)

    def findings(self, text: str, *, owner: str) -> list[Finding]:
        """Every finding on ``text``, classified in ``owner``'s turn on the queue (never
        inline), within the classify timeout. Raises :class:`Overloaded` when the time is up
        and :class:`StoreUnavailable` when a classifier fails: nothing unclassified passes."""
        with self._turn(owner):
            return self._findings_in_turn(text, owner)

    def _findings_in_turn(self, text: str, owner: str) -> list[Finding]:
        ticket = self._queue.submit(owner, partial(self._findings, [text]), timeout=self._timeout)
        try:
            return ticket.future.result(timeout=max(0.0, ticket.deadline - self._clock()))[0]
        except (TimeoutError, concurrent.futures.CancelledError) as exc:
            ticket.give_up()
            raise Overloaded("not classified in time; retry later", self.retry_after) from exc
        except Exception as exc:
            _log.warning("classification_failed", error_type=type(exc).__name__)
            raise StoreUnavailable("the classifiers failed; nothing was changed") from exc

    @property
    def retry_after(self) -> int:
        """Seconds a caller refused for want of classification is asked to wait."""
        return max(1, math.ceil(self._timeout))

    def decide_for_release(
        self, record: Mapping[str, Any], scope: str, *, owner: str
    ) -> RecordDecision:
        """A reviewer's "release redacted": the scope's policy, with every finding that would
        hold or refuse the write redacted instead. Fails loudly: nothing unclassified passes."""
        policy = _softened(self._policy_for(scope))
        layout = Layout.of(record)
        findings = self.findings(layout.text, owner=owner)
        decision = decide_record(
            record, layout, findings, policy, self._pseudonymize_in(org_of(scope))
        )
        if not decision.storable:
            raise ValueError("a softened policy still held the write back")
        return decision

    def stored_forms(
        self, record: Mapping[str, Any], orgs: Sequence[str], *, owner: str
    ) -> list[dict[str, Any]]:
        """``record`` with its personal data replaced as each of ``orgs`` would store it; empty
        when it holds none (it is then stored as written). For filters: see
        :mod:`memory_service.services.stored_forms`; classified in ``owner``'s turn."""
        layout = Layout.of(record)
        found = self.findings(layout.text, owner=owner)
        findings = [f for f in found if f.kind is Kind.PII]
        if not findings:
            return []
        return [
            decide_record(
                record, layout, findings, _QUERY_POLICY, self._pseudonymize_in(org)
            ).fields
            or {}
            for org in orgs
        ]

    def query_pii(self, query: str, *, owner: str) -> concurrent.futures.Future[list[Finding]]:
        """Start looking for personal data in a search query, in ``owner``'s turn on the
        classification queue, so that the caller can embed and search the query as written
        meanwhile."""

        def pii(stop: Stop) -> list[Finding]:
            return [f for f in self._pipeline.findings_many([query], stop)[0] if f.kind is Kind.PII]

        return self._queue.submit(owner, pii, timeout=self._timeout).future

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

    def query_variants(self, query: str, orgs: list[str], *, owner: str) -> dict[str, str]:
        """:meth:`variants_for` after :meth:`query_pii`, in one call."""
        return self.variants_for(query, self.query_pii(query, owner=owner).result(), orgs)

    def close(self) -> None:
        self._queue.close()
        if self._owns_pipeline:
            self._pipeline.close()
