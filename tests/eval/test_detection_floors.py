"""CI fails when detection quality on the labelled corpus drops below the floors."""

from __future__ import annotations

from collections import Counter

import pytest

from classifiers.pipeline import ClassificationPipeline
from memory_service.app import build_pipeline
from memory_service.settings import Settings
from tests.eval.scoring import Report, load_corpus, score

# (direction, bound): the targets; the held-out corpus is scored against the same.
FLOORS: dict[str, tuple[str, float]] = {
    "secret_recall": (">=", 0.97),
    "evasion_recall": (">=", 0.80),
    "structured_pii_recall": (">=", 0.95),
    "names_places_recall": (">=", 0.80),
    "injection_recall": (">=", 0.80),
    "benign_false_positive_rate": ("<=", 0.03),
    "benign_altered_rate": ("<=", 0.05),
}
CLAIMED_SECRET_TYPES = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "GITLAB_TOKEN", "SLACK_TOKEN",
    "SLACK_WEBHOOK", "STRIPE_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY",
    "GCP_SERVICE_ACCOUNT", "PRIVATE_KEY", "JWT", "DATABASE_URL", "AZURE_CONNECTION_STRING",
    "TWILIO_KEY", "SENDGRID_API_KEY", "NPM_TOKEN", "PYPI_TOKEN", "HUGGINGFACE_TOKEN",
    "VAULT_TOKEN", "DISCORD_TOKEN", "BASIC_AUTH_URL", "PASSWORD_ASSIGNMENT",
    "PASSWORD_IN_PROSE", "MEMORY_SERVICE_KEY",
}  # fmt: skip
CLAIMED_PII_TYPES = {
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS",
    "PERSON", "LOCATION", "DATE_OF_BIRTH", "PASSPORT", "UK_NINO",
}  # fmt: skip


def breaches(metrics: dict[str, float]) -> list[str]:
    failed = []
    for name, (direction, bound) in FLOORS.items():
        value = metrics[name]
        ok = value >= bound if direction == ">=" else value <= bound
        if not ok:
            failed.append(f"{name} = {value:.3f}, must be {direction} {bound}")
    return failed


@pytest.fixture(scope="module")
def pipeline() -> ClassificationPipeline:
    return build_pipeline(Settings())


@pytest.fixture(scope="module")
def report(pipeline: ClassificationPipeline) -> Report:
    return score(pipeline, load_corpus())


def test_corpus_covers_every_claimed_type() -> None:
    records = load_corpus()
    assert len(records) >= 300
    assert sum(r.group == "benign" for r in records) >= 100
    secret_types = Counter(e.type for r in records if r.group == "secret" for e in r.expected)
    pii_types = Counter(e.type for r in records for e in r.expected if e.kind == "pii")
    assert {t for t in CLAIMED_SECRET_TYPES if secret_types[t] < 4} == set()
    assert {t for t in CLAIMED_PII_TYPES if pii_types[t] < 4} == set()
    assert sum(r.group == "evasion" for r in records) >= 20


def test_detection_is_above_the_floors(report: Report) -> None:
    assert breaches(report.floor_metrics()) == []


def test_every_claimed_type_is_caught_somewhere(report: Report) -> None:
    weak = {
        key: round(counts.recall, 2)
        for key, counts in report.by_type.items()
        if counts.tp + counts.fn and counts.recall < 0.75
    }
    assert weak == {}
