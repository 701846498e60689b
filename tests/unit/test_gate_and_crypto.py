from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from classifiers.findings import Finding, Kind
from classifiers.pipeline import ClassificationPipeline
from classifiers.policy import Action, Policy
from classifiers.record import RecordDecision
from memory_service.crypto import (
    AesGcmSealer,
    HmacPseudonymizer,
    KeyMaterialError,
    load_or_create_key_file,
)
from memory_service.errors import SealMismatch
from memory_service.services.gate import ContentGate

KEY_A = "a:" + "A" * 43
KEY_B = "b:" + "B" * 43


class Slow:
    name = "slow"

    def classify(self, text: str) -> list[Finding]:
        time.sleep(0.5)
        return []


class Names:
    name = "names"

    def classify(self, text: str) -> list[Finding]:
        return [
            Finding(Kind.PII, "PERSON", m.start(), m.end(), 0.9, "test")
            for m in re.finditer(r"Emily", text)
        ]


def gate(*classifiers: object, timeout: float = 2.0) -> ContentGate:
    return ContentGate(
        ClassificationPipeline(classifiers),  # type: ignore[arg-type]
        lambda _scope: Policy(),
        HmacPseudonymizer(b"k" * 32),
        timeout_seconds=timeout,
    )


def content_of(decision: RecordDecision) -> str | None:
    return None if decision.fields is None else decision.fields["content"]


def test_a_slow_classifier_times_out_into_quarantine() -> None:
    started = time.perf_counter()
    decision = gate(Slow(), timeout=0.05).decide({"content": "anything"}, "acme", owner="k")
    assert time.perf_counter() - started < 0.4
    assert decision.outcome is Action.QUARANTINE
    assert decision.failed
    assert decision.fields is None


def test_pseudonyms_are_typed_stable_and_per_org() -> None:
    g = gate(Names())
    first = content_of(g.decide({"content": "Emily likes tea"}, "acme/globex", owner="k"))
    again = content_of(g.decide({"content": "ask Emily"}, "acme/initech", owner="k"))
    other_org = content_of(g.decide({"content": "Emily likes tea"}, "umbrella", owner="k"))
    assert first is not None
    assert again is not None
    assert other_org is not None
    token = re.findall(r"<PERSON_[0-9a-f]{6}>", first)
    assert token
    assert token == re.findall(r"<PERSON_[0-9a-f]{6}>", again)
    assert token != re.findall(r"<PERSON_[0-9a-f]{6}>", other_org)


def test_query_variants_only_when_the_query_names_someone() -> None:
    g = gate(Names())
    assert g.query_variants("what does the user like", ["acme"], owner="k") == {}
    variants = g.query_variants("what does Emily like", ["acme", "umbrella"], owner="k")
    assert set(variants) == {"acme", "umbrella"}
    assert all("Emily" not in v for v in variants.values())
    assert variants["acme"] == content_of(
        g.decide({"content": "what does Emily like"}, "acme", owner="k")
    )


def test_sealing_round_trip_binds_the_record_and_survives_rotation() -> None:
    old = AesGcmSealer.from_text(KEY_A)
    sealed = old.seal("raw secret text", b"quarantine:1:acme")
    assert b"raw secret" not in sealed.ciphertext
    rotated = AesGcmSealer.from_text(f"{KEY_A}\n{KEY_B}")
    assert rotated.current_key_id == "b"
    assert rotated.open(sealed, b"quarantine:1:acme") == "raw secret text"
    assert rotated.seal("x", b"aad").key_id == "b"
    with pytest.raises(SealMismatch):
        rotated.open(sealed, b"quarantine:2:acme")
    with pytest.raises(KeyMaterialError):
        AesGcmSealer.from_text(KEY_B).open(sealed, b"quarantine:1:acme")


@pytest.mark.parametrize("bad", ["", "k1:short", "k1:" + "!" * 43, "x" * 70 + ":" + "A" * 43])
def test_malformed_keys_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(KeyMaterialError) as caught:
        AesGcmSealer.from_text(bad)
    if bad:
        assert bad not in str(caught.value)


def test_key_file_is_created_once_with_owner_only_mode(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "encryption.keys"
    first = load_or_create_key_file(path, "header")
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_key_file(path, "header") == first
    AesGcmSealer.from_text(first)
