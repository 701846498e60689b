from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classifiers.findings import Finding, Kind
from classifiers.pipeline import ClassificationPipeline, ClassifierFailedError
from classifiers.policy import Action, Policy


class RegexClassifier:
    """A test double with real behaviour: flags every match of a pattern."""

    def __init__(self, pattern: str, kind: Kind, type_: str) -> None:
        self.name = f"regex:{type_}"
        self._pattern = re.compile(pattern)
        self._kind = kind
        self._type = type_

    def classify(self, text: str) -> list[Finding]:
        return [
            Finding(self._kind, self._type, m.start(), m.end(), 1.0, self.name)
            for m in self._pattern.finditer(text)
        ]


class Broken:
    name = "broken"

    def classify(self, text: str) -> list[Finding]:
        raise RuntimeError(text)


EMAIL = RegexClassifier(r"[a-z]+@[a-z]+\.com", Kind.PII, "EMAIL_ADDRESS")
TOKEN = RegexClassifier(r"tok_[a-z0-9]{8}", Kind.SECRET, "TEST_TOKEN")


def test_clean_text_is_stored_unchanged() -> None:
    decision = ClassificationPipeline([EMAIL, TOKEN]).decide("likes tea", Policy())
    assert decision.outcome is Action.ALLOW
    assert decision.content == "likes tea"
    assert decision.storable
    assert not decision.altered


def test_secret_is_quarantined_by_default_and_no_content_returned() -> None:
    decision = ClassificationPipeline([EMAIL, TOKEN]).decide("key tok_abcdef12", Policy())
    assert decision.outcome is Action.QUARANTINE
    assert decision.content is None
    assert not decision.storable


def test_redaction_removes_the_span_and_types_the_marker() -> None:
    decision = ClassificationPipeline([EMAIL]).decide(
        "mail bob@example.com now", Policy(pii=Action.REDACT)
    )
    assert decision.content == "mail [REDACTED:EMAIL_ADDRESS] now"
    assert decision.altered


def test_reject_beats_redact() -> None:
    policy = Policy(pii=Action.REDACT, secret=Action.REJECT)
    decision = ClassificationPipeline([EMAIL, TOKEN]).decide("a@b.com tok_abcdef12", policy)
    assert decision.outcome is Action.REJECT
    assert decision.content is None


def test_a_classifier_that_raises_fails_closed() -> None:
    pipeline = ClassificationPipeline([EMAIL, Broken()])
    with pytest.raises(ClassifierFailedError) as caught:
        pipeline.decide("anything", Policy())
    assert "anything" not in str(caught.value)


@given(
    st.lists(
        st.one_of(st.sampled_from(["ann@ex.com", "tok_abcd1234", " ", "x", "bob@zz.com"])),
        max_size=12,
    ).map("".join)
)
def test_redaction_never_leaves_a_flagged_span(text: str) -> None:
    policy = Policy(pii=Action.REDACT, secret=Action.REDACT)
    decision = ClassificationPipeline([EMAIL, TOKEN]).decide(text, policy)
    assert decision.content is not None
    assert not EMAIL.classify(decision.content)
    assert not TOKEN.classify(decision.content)
