"""The pipeline's shared views and batch path, and the gate's batch decisions."""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classifiers.findings import Finding, Kind
from classifiers.injection import PROMPT_INJECTION, InjectionClassifier
from classifiers.normalise import View
from classifiers.pipeline import ClassificationPipeline, ClassifierFailedError
from classifiers.policy import Action, Policy
from memory_service.crypto import HmacPseudonymizer
from memory_service.errors import RateLimited
from memory_service.services.gate import MAX_WAITING_PER_KEY, ContentGate


class Pattern:
    """Flags every match of a regex; counts its calls and, in batch mode, the batch sizes."""

    def __init__(self, pattern: str, kind: Kind, type_: str) -> None:
        self.name = f"pattern:{type_}"
        self._pattern = re.compile(pattern)
        self._kind, self._type = kind, type_

    def classify(self, text: str) -> list[Finding]:
        return [
            Finding(self._kind, self._type, m.start(), m.end(), 1.0, self.name)
            for m in self._pattern.finditer(text)
        ]


class BatchPattern(Pattern):
    def __init__(self, pattern: str, kind: Kind, type_: str) -> None:
        super().__init__(pattern, kind, type_)
        self.batches: list[int] = []

    def classify_many(self, texts: Sequence[str]) -> list[list[Finding]]:
        self.batches.append(len(texts))
        return [self.classify(text) for text in texts]


class BreaksOn:
    """Raises on any text holding ``trigger``."""

    name = "breaks"

    def __init__(self, trigger: str) -> None:
        self._trigger = trigger

    def classify(self, text: str) -> list[Finding]:
        if self._trigger in text:
            raise RuntimeError("classifier bug")
        return []


class Sleepy:
    name = "sleepy"

    def classify(self, text: str) -> list[Finding]:
        time.sleep(0.3)
        return []


def email() -> BatchPattern:
    return BatchPattern(r"[a-z]+@[a-z]+\.com", Kind.PII, "EMAIL_ADDRESS")


def token() -> Pattern:
    return Pattern(r"tok_[a-z0-9]{8}", Kind.SECRET, "TEST_TOKEN")


def tags(text: str) -> str:
    return "".join(chr(0xE0000 + ord(c)) for c in text)


WRAPPED = base64.b64encode(b"write to ann@ex.com").decode()
TEXTS = [
    "likes tea",
    "mail bob@zz.com or tok_abcd1234",
    f"decode {WRAPPED} later",
    "",
    "bob@zz.com\u200b and tok_ab\u200bcd1234",
]


@given(st.lists(st.sampled_from([*TEXTS, "ann@ex.com tok_00000000", " "]), max_size=8))
def test_a_batch_finds_what_one_text_at_a_time_finds(texts: list[str]) -> None:
    pipeline = ClassificationPipeline([email(), token()])
    assert pipeline.findings_many(texts) == [pipeline.findings(t) for t in texts]


def test_a_batch_classifier_gets_every_view_of_every_text_in_one_call() -> None:
    batch = email()
    found = ClassificationPipeline([batch]).findings_many(TEXTS)
    # one call: each text's clean view, plus the decoded base64 view of the third
    assert batch.batches == [len(TEXTS) + 1]
    wrapped = TEXTS[2].index(WRAPPED)
    assert [(f.start, f.end) for f in found[2]] == [(wrapped, wrapped + len(WRAPPED))]


def test_one_text_is_classified_without_the_batch_call() -> None:
    batch = email()
    assert ClassificationPipeline([batch]).findings("bob@zz.com")
    assert batch.batches == []


def test_a_classifier_that_breaks_on_one_text_fails_the_whole_batch() -> None:
    pipeline = ClassificationPipeline([email(), BreaksOn("boom")])
    with pytest.raises(ClassifierFailedError) as caught:
        pipeline.findings_many(["fine", "boom", "fine"])
    assert "boom" not in str(caught.value)


def test_the_injection_classifier_reads_the_pipelines_views_once_per_text() -> None:
    seen: list[list[str]] = []

    class Recording(InjectionClassifier):
        def classify_views(self, text: str, readings: Sequence[View]) -> list[Finding]:
            seen.append([v.kind for v in readings])
            return super().classify_views(text, readings)

    ClassificationPipeline([Recording()]).findings_many(["plain", f"decode {WRAPPED}"])
    assert seen == [["clean"], ["clean", "base64"]]


def test_text_hidden_in_tag_characters_is_an_injection_through_the_pipeline() -> None:
    # The pipeline used to hand each view's text to the classifier, which lost the view's
    # kind: the "invisible tags" rule never fired in production, only in direct calls.
    hidden = tags("ceo.private@example.com")
    text = f"Board contact list updated.{hidden}"
    decision = ClassificationPipeline([InjectionClassifier()]).decide(text, Policy())
    assert [(f.finding.type, f.finding.start, f.finding.end) for f in decision.findings] == [
        (PROMPT_INJECTION, len(text) - len(hidden), len(text))
    ]
    assert decision.outcome is Action.QUARANTINE


def test_a_flag_emoji_is_still_not_an_injection_through_the_pipeline() -> None:
    england = "\U0001f3f4" + tags("gbeng") + "\U000e007f"
    decision = ClassificationPipeline([InjectionClassifier()]).decide(f"Go {england}!", Policy())
    assert decision.outcome is Action.ALLOW


# ---- the gate --------------------------------------------------------------------------------


def gate(*classifiers: object, timeout: float = 2.0, batch_size: int = 16) -> ContentGate:
    return ContentGate(
        ClassificationPipeline(classifiers),  # type: ignore[arg-type]
        lambda scope: Policy(pii=Action.REDACT) if scope.startswith("strict") else Policy(),
        HmacPseudonymizer(b"k" * 32),
        timeout_seconds=timeout,
        batch_size=batch_size,
    )


def test_batch_decisions_equal_one_by_one_decisions_for_every_scope() -> None:
    g = gate(email(), token())
    items = [(text, scope) for text in TEXTS for scope in ("acme", "globex/x", "strict")]
    assert g.decide_many([({"content": t}, s) for t, s in items], owner="k") == [
        g.decide({"content": text}, scope, owner="k") for text, scope in items
    ]


def test_batches_are_cut_to_the_batch_size() -> None:
    batch = email()
    gate(batch, batch_size=2).decide_many(
        [({"content": f"t{i} a@b.com"}, "acme") for i in range(5)], owner="k"
    )
    assert sorted(batch.batches) == [2, 2]  # the fifth text is a batch of one: classify()


def test_a_classifier_that_breaks_fails_the_whole_write_and_stops_the_rest() -> None:
    batch = email()
    decisions = gate(batch, BreaksOn("boom"), batch_size=1).decide_many(
        [({"content": t}, "acme") for t in ("bob@zz.com", "boom", "likes tea", "more")],
        owner="k",
    )
    # The write is refused as a whole (the service answers 503): nothing of it is decided.
    assert [d.failed for d in decisions] == [False, True, True, True]
    assert all(d.fields is None for d in decisions[1:])


def test_a_lone_text_that_times_out_is_held_without_a_second_try() -> None:
    started = time.perf_counter()
    (decision,) = gate(Sleepy(), timeout=0.05).decide_many(
        [({"content": "anything"}, "acme")], owner="k"
    )
    assert decision.failed
    assert decision.outcome is Action.QUARANTINE
    assert time.perf_counter() - started < 0.25  # not waiting for a retry


class Gated:
    """A classifier that waits until the test lets it go."""

    name = "gated"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def classify(self, text: str) -> list[Finding]:
        self.entered.release()
        assert self.release.wait(10)
        return []


def test_one_key_may_not_have_more_than_a_few_calls_waiting() -> None:
    blocker = Gated()
    g = gate(blocker, timeout=10)
    results: list[object] = []

    def write(owner: str) -> None:
        results.append(g.decide({"content": "x"}, "acme", owner=owner))

    threads = [threading.Thread(target=write, args=("a",)) for _ in range(MAX_WAITING_PER_KEY)]
    for thread in threads:
        thread.start()
    assert blocker.entered.acquire(timeout=10)  # the first of them is being classified
    deadline = time.monotonic() + 10
    while g.waiting("a") < MAX_WAITING_PER_KEY - 1 and time.monotonic() < deadline:
        time.sleep(0.001)  # until every call of "a" has queued its turn
    with pytest.raises(RateLimited):
        g.decide({"content": "one too many"}, "acme", owner="a")
    other = threading.Thread(target=write, args=("b",))
    other.start()  # another key is not limited by "a"
    assert blocker.entered.acquire(timeout=10)
    blocker.release.set()
    for thread in [*threads, other]:
        thread.join(10)
    assert len(results) == MAX_WAITING_PER_KEY + 1
    g.close()
