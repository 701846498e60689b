"""A write as a record: every field read, each finding rewritten in the field it was in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classifiers.findings import Finding, Kind
from classifiers.pipeline import ClassificationPipeline
from classifiers.policy import Action, Policy
from classifiers.record import FAILED, Layout, decide_record, parts_of


class Pattern:
    def __init__(self, name: str, kind: Kind, type_: str, pattern: str) -> None:
        self.name = name
        self._kind = kind
        self._type = type_
        self._pattern = re.compile(pattern)

    def classify(self, text: str) -> list[Finding]:
        return [
            Finding(self._kind, self._type, m.start(), m.end(), 0.9, self.name)
            for m in self._pattern.finditer(text)
        ]


PIPELINE = ClassificationPipeline(
    [
        Pattern("email", Kind.PII, "EMAIL_ADDRESS", r"[a-z.]+@[a-z]+\.com"),
        Pattern("token", Kind.SECRET, "TOKEN", r"tok_[a-z0-9]{8}"),
        # A credential only in context: the key in front of the value is what gives it away.
        Pattern("password", Kind.SECRET, "PASSWORD", r"(?<=password: )\S+"),
    ]
)
TOKEN = "tok_abcd1234"


def pseudonym(entity_type: str, value: str) -> str:
    return f"<{entity_type}_{len(value):06x}>"


def decide(record: dict[str, Any], policy: Policy | None = None) -> Any:
    layout = Layout.of(record)
    return decide_record(
        record, layout, PIPELINE.findings(layout.text), policy or Policy(), pseudonym
    )


def test_a_record_that_is_only_content_is_read_as_that_content() -> None:
    text = f"mail bob@zz.com about {TOKEN}"
    layout = Layout.of({"content": text})
    assert layout.text == text
    assert PIPELINE.findings(layout.text) == PIPELINE.findings(text)


def test_every_field_and_leaf_is_read_keys_included() -> None:
    record = {
        "content": "c",
        "subject": "s",
        "tags": ["t1", "t2"],
        "metadata": {"a": {"b": ["x", 7]}, "flag": True, "k": "v"},
        "source": {"tool": "crm"},
    }
    texts = [(p.field, p.path, p.role, p.text) for p in parts_of(record)]
    assert texts == [
        ("content", (), "value", "c"),
        ("subject", (), "value", "s"),
        ("tags", (0,), "value", "t1"),
        ("tags", (1,), "value", "t2"),
        ("metadata", ("a",), "key", "a"),
        ("metadata", ("a", "b"), "key", "b"),
        ("metadata", ("a", "b", 0), "value", "b: x"),
        ("metadata", ("a", "b", 1), "value", "b: 7"),
        ("metadata", ("flag",), "key", "flag"),  # a boolean carries no text, its key does
        ("metadata", ("k",), "value", "k: v"),
        ("source", ("tool",), "value", "tool: crm"),
    ]


def test_a_finding_is_rewritten_in_the_field_it_was_found_in() -> None:
    record = {
        "content": "likes tea",
        "subject": "bob@zz.com",
        "tags": ["x", "ann@yy.com"],
        "metadata": {"contact": {"mail": "cy@ww.com"}, "n": 3, "plan": "pro"},
    }
    decision = decide(record)
    assert decision.outcome is Action.PSEUDONYMIZE
    assert decision.fields == {
        "content": "likes tea",
        "subject": "<EMAIL_ADDRESS_00000a>",
        "tags": ["x", "<EMAIL_ADDRESS_00000a>"],
        "metadata": {"contact": {"mail": "<EMAIL_ADDRESS_000009>"}, "n": 3, "plan": "pro"},
    }
    assert sorted(f.field for f in decision.findings) == ["metadata", "subject", "tags"]
    assert decision.altered


def test_a_secret_in_any_field_holds_the_whole_write_and_masks_it() -> None:
    for record in (
        {"content": "ok", "tags": [TOKEN]},
        {"content": "ok", "metadata": {TOKEN: 1}},
        {"content": "ok", "metadata": {"db": {"password": "hunter2"}}},
        {"content": "ok", "source": {"ref": TOKEN}},
    ):
        decision = decide(record)
        assert decision.outcome is Action.QUARANTINE, record
        assert decision.fields is None
        assert TOKEN not in str(decision.masked)
        assert "hunter2" not in str(decision.masked)
        assert "[secret:" in str(decision.masked)


def test_a_key_is_rewritten_and_two_rewritten_keys_both_survive() -> None:
    record = {"content": "c", "metadata": {"tok_aaaa1111": "a", "tok_bbbb2222": "b"}}
    decision = decide(record, Policy(secret=Action.REDACT))
    assert decision.fields is not None
    assert decision.fields["metadata"] == {
        "[REDACTED:TOKEN]": "a",
        "[REDACTED:TOKEN]#2": "b",
    }


def test_a_value_found_by_its_key_keeps_the_key_readable() -> None:
    decision = decide(
        {"content": "c", "metadata": {"password": "hunter2"}}, Policy(secret=Action.REDACT)
    )
    assert decision.fields is not None
    assert decision.fields["metadata"] == {"password": "[REDACTED:PASSWORD]"}


def test_a_span_from_a_key_into_its_value_rewrites_both() -> None:
    # A credential split over a key and its value (a PEM block's body in the key, its footer
    # as the value) must leave the key too.
    pem = Pattern("pem", Kind.SECRET, "PRIVATE_KEY", r"BEGIN KEY[\s\S]*?END KEY")
    record = {"content": "c", "metadata": {"BEGIN KEY abc123": "END KEY"}}
    layout = Layout.of(record)
    found = ClassificationPipeline([pem]).findings(layout.text)
    held = decide_record(record, layout, found, Policy(), pseudonym)
    assert "abc123" not in str(held.masked)
    redacted = decide_record(record, layout, found, Policy(secret=Action.REDACT), pseudonym)
    assert redacted.fields is not None
    assert redacted.fields["metadata"] == {"[REDACTED:PRIVATE_KEY]": "[REDACTED:PRIVATE_KEY]"}


def test_a_number_with_personal_data_becomes_its_pseudonym() -> None:
    number = Pattern("ssn", Kind.PII, "US_SSN", r"\b\d{9}\b")
    record = {"content": "c", "metadata": {"ssn": 123456789, "count": 3}}
    layout = Layout.of(record)
    found = ClassificationPipeline([number]).findings(layout.text)
    decision = decide_record(record, layout, found, Policy(), pseudonym)
    assert decision.fields is not None
    assert decision.fields["metadata"] == {"ssn": "<US_SSN_000009>", "count": 3}


def test_held_writes_show_pseudonyms_where_the_policy_would_store_them() -> None:
    decision = decide({"content": TOKEN, "subject": "bob@zz.com"})
    assert decision.masked == {"content": "[secret:TOKEN]", "subject": "<EMAIL_ADDRESS_00000a>"}


def test_failed_classification_shows_nothing() -> None:
    assert FAILED.masked is None
    assert FAILED.fields is None
    assert not FAILED.storable


leaves = st.recursive(
    st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.none()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from(["content", "tags", "metadata"]), leaves, min_size=1))
def test_a_clean_record_is_stored_exactly_as_written(record: dict[str, Any]) -> None:
    layout = Layout.of(record)
    decision = decide_record(record, layout, [], Policy(), pseudonym)
    assert decision.fields == record
    assert decision.masked == record


@given(st.dictionaries(st.sampled_from(["content", "subject", "tags", "metadata"]), leaves))
def test_every_finding_lands_inside_one_part(record: dict[str, Any]) -> None:
    layout = Layout.of(record)
    everywhere = [Finding(Kind.PII, "X", 0, len(layout.text), 1.0, "all")] if layout.text else []
    for part, found in zip(layout.parts, layout.split(everywhere), strict=True):
        assert all(0 <= f.start < f.end <= len(part.text) for f in found)
        assert len(found) == (1 if part.text else 0)


@pytest.mark.parametrize("separator_in_value", ["a\n\nb", "x: y\n\nz"])
def test_a_value_holding_the_separator_stays_one_part(separator_in_value: str) -> None:
    record = {"content": "c", "tags": [separator_in_value]}
    layout = Layout.of(record)
    assert [p.text for p in layout.parts] == ["c", separator_in_value]


def test_personal_data_that_holds_a_write_is_masked_as_its_pseudonym() -> None:
    # A scope that quarantines personal data: the held subject must still be found by an
    # erasure of that person, so it is kept as the token, never as the value or a bare label.
    decision = decide({"content": "c", "subject": "bob@zz.com"}, Policy(pii=Action.QUARANTINE))
    assert decision.outcome is Action.QUARANTINE
    assert decision.masked == {"content": "c", "subject": "<EMAIL_ADDRESS_00000a>"}
