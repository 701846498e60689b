"""PresidioPiiClassifier: spans per type, tuning for agent memories, offline loading, safety."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import tldextract
import tldextract.suffix_list
import tldextract.tldextract
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from classifiers.findings import Classifier, Finding, Kind
from classifiers.pii import PII_TYPES, ModelNotInstalledError, PresidioPiiClassifier
from classifiers.pipeline import ClassificationPipeline
from classifiers.policy import Policy

pytestmark = pytest.mark.slow  # loads a spaCy model

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"


@pytest.fixture(scope="module")
def pii() -> PresidioPiiClassifier:
    return PresidioPiiClassifier()


def spans(classifier: PresidioPiiClassifier, text: str) -> set[tuple[str, str]]:
    return {(f.type, text[f.start : f.end]) for f in classifier.classify(text)}


# (text, type, exact value that must be reported with that type)
SPANS = [
    # email
    ("Reach me at jane.roe@example.org after six.", "EMAIL_ADDRESS", "jane.roe@example.org"),
    ("cc J.Roe+memos@mail.co.uk on the reply", "EMAIL_ADDRESS", "J.Roe+memos@mail.co.uk"),
    ('{"email": "kofi_m22@fastmail.fm"}', "EMAIL_ADDRESS", "kofi_m22@fastmail.fm"),
    # phone numbers, US and international
    ("Her office line is (212) 555-0147.", "PHONE_NUMBER", "(212) 555-0147"),
    ("mobile +1 415 555 0132", "PHONE_NUMBER", "+1 415 555 0132"),
    ("UK office: +44 20 7946 0958", "PHONE_NUMBER", "+44 20 7946 0958"),
    ("Berlin desk +49 30 901820 ext. 4", "PHONE_NUMBER", "+49 30 901820"),
    ("Paris: +33 1 23 45 67 89", "PHONE_NUMBER", "+33 1 23 45 67 89"),
    ("Pune team lead +91 98765 43210", "PHONE_NUMBER", "+91 98765 43210"),
    ("call 020 7946 0958 from the office", "PHONE_NUMBER", "020 7946 0958"),
    ("phone: (555) 123-4567", "PHONE_NUMBER", "(555) 123-4567"),
    # payment cards that pass Luhn, in the common groupings
    ("Refund to Visa 4111 1111 1111 1111.", "CREDIT_CARD", "4111 1111 1111 1111"),
    ("card=5555-5555-5555-4444", "CREDIT_CARD", "5555-5555-5555-4444"),
    ("Amex 3782 822463 10005 expires 09/27", "CREDIT_CARD", "3782 822463 10005"),
    ("2-series Mastercard 2223003122003222", "CREDIT_CARD", "2223003122003222"),
    ('"card_number": "6011111111111117"', "CREDIT_CARD", "6011111111111117"),
    # IBANs with valid checksums
    ("Pay DE89 3704 0044 0532 0130 00 today", "IBAN_CODE", "DE89 3704 0044 0532 0130 00"),
    ("iban=GB82WEST12345698765432", "IBAN_CODE", "GB82WEST12345698765432"),
    ("PT50 0002 0123 1234 5678 9015 4 (Lisbon)", "IBAN_CODE", "PT50 0002 0123 1234 5678 9015 4"),
    ("IBAN FR14 2004 1010 0505 0001 3M02 606", "IBAN_CODE", "FR14 2004 1010 0505 0001 3M02 606"),
    # US SSN
    ("The user's SSN is 536-22-8841.", "US_SSN", "536-22-8841"),
    ("ssn: 412 67 9021", "US_SSN", "412 67 9021"),
    ("Her SSN is 536228841.", "US_SSN", "536228841"),
    # IP addresses
    ("Blocked 203.0.113.77 after 40 failed logins.", "IP_ADDRESS", "203.0.113.77"),
    ('{"client_ip": "192.168.4.20"}', "IP_ADDRESS", "192.168.4.20"),
    ("from 2001:db8:85a3::8a2e:370:7334 port 22", "IP_ADDRESS", "2001:db8:85a3::8a2e:370:7334"),
    # UK National Insurance number
    ("NINO AB 12 34 56 C for payroll", "UK_NINO", "AB 12 34 56 C"),
    ("ni_number=QQ123456C", "UK_NINO", "QQ123456C"),
    # date of birth: a date beside a birth cue
    ("Anna (born 14 February 1990) called.", "DATE_OF_BIRTH", "14 February 1990"),
    ("DOB: 1985-03-12", "DATE_OF_BIRTH", "1985-03-12"),
    ("my birthday is March 12", "DATE_OF_BIRTH", "March 12"),
    ('{"name": "x", "dob": "1990-05-17", "joined": "2020-01-01"}', "DATE_OF_BIRTH", "1990-05-17"),
    ("birthDate: 11/23/1991", "DATE_OF_BIRTH", "11/23/1991"),
    # passports: US formats and generic ones, with a cue
    ("Passport number X12345678, expires 2031.", "PASSPORT", "X12345678"),
    ("US passport 912803456", "PASSPORT", "912803456"),
    ('{"passport": {"number": "C4X7KP219"}}', "PASSPORT", "C4X7KP219"),
    ("passport_no: AB1234567", "PASSPORT", "AB1234567"),
    # people, in varied sentences and formats
    ("Met with Priya Raman yesterday.", "PERSON", "Priya Raman"),
    ("Oluwaseun Adeyemi approved the refund.", "PERSON", "Oluwaseun Adeyemi"),
    ("Dr. Ilse Brandt confirmed the appointment.", "PERSON", "Ilse Brandt"),
    ("hi, my name is Aiko Tanaka", "PERSON", "Aiko Tanaka"),
    ('{"full_name": "Tomasz Wiśniewski", "tier": 3}', "PERSON", "Tomasz Wiśniewski"),
    ('level=info user="Olavi Korhonen" action=login', "PERSON", "Olavi Korhonen"),
    ("Forwarded the thread to Rebecca Lindqvist.", "PERSON", "Rebecca Lindqvist"),
    ("Claude Moreau moved to Lyon.", "PERSON", "Claude Moreau"),
    # places: cities, countries, addresses
    ("She moved from Berlin to New Zealand.", "LOCATION", "Berlin"),
    ("She moved from Berlin to New Zealand.", "LOCATION", "New Zealand"),
    ("The office is at 221B Baker Street now.", "LOCATION", "221B Baker Street"),
    ("new address: 25 Rue Oberkampf, Paris", "LOCATION", "25 Rue Oberkampf"),
    ("Lieferadresse Hauptstraße 12", "LOCATION", "Hauptstraße 12"),
    ("we're relocating to Austin next month", "LOCATION", "Austin"),
    ("The data must stay in Frankfurt.", "LOCATION", "Frankfurt"),
]


@pytest.mark.parametrize(("text", "type_", "value"), SPANS)
def test_reports_each_type_with_its_exact_span(
    pii: PresidioPiiClassifier, text: str, type_: str, value: str
) -> None:
    assert (type_, value) in spans(pii, text)


# (text, type that must NOT be reported)
NOT_REPORTED = [
    # Luhn near-misses: one digit off a valid number
    ("Refund to 4111 1111 1111 1112.", "CREDIT_CARD"),
    ("card=5555-5555-5555-4445", "CREDIT_CARD"),
    ("Amex 3782 822463 10006", "CREDIT_CARD"),
    ("order 1234 5678 9012 3456 shipped", "CREDIT_CARD"),
    # IBAN checksums off by one
    ("Pay DE89 3704 0044 0532 0130 01 today", "IBAN_CODE"),
    ("iban=GB82WEST12345698765433", "IBAN_CODE"),
    # never-issued SSNs, and nine digits without a cue
    ("ids 000-12-3456 and 666-12-3456", "US_SSN"),
    ("Order 536228841 shipped.", "US_SSN"),
    # a NINO is upper case; this is a hex id
    ("cache key ab123456c", "UK_NINO"),
    # not hosts: loopback, unspecified, masks, version numbers, a MAC address
    ("bind 0.0.0.0:8000, upstream 127.0.0.1:5432, mask 255.255.255.0", "IP_ADDRESS"),
    ("Version 1.2.3.4, v10.0.0.1, numpy==1.2.3.4, firmware 4.2.1.7", "IP_ADDRESS"),
    ("router MAC 00:1A:2B:3C:4D:5E", "IP_ADDRESS"),
    # dates without a birth cue are not personal data
    ("Sprint review on 14 February 2025; deadline 2025-03-12.", "DATE_OF_BIRTH"),
    ("She was born in Lisbon. The review is on 2025-03-12.", "DATE_OF_BIRTH"),
    # ids that look like passport numbers, without a cue
    ("Ticket X12345678 and build 912803456.", "PASSPORT"),
    # identifiers that look like phones or emails
    ("order ORD-2024-118833 is late", "PHONE_NUMBER"),
    ("npm install react@18.3.1", "EMAIL_ADDRESS"),
    ("git push git@github.com:acme/app.git main", "EMAIL_ADDRESS"),
    ("postgres://app:s3cr3t@db.internal:5432/app", "EMAIL_ADDRESS"),
    # placeholder people, e.g. inside jwt.io's sample token
    ('{"sub":"1234567890","name":"John Doe","iat":1516239022}', "PERSON"),
]


@pytest.mark.parametrize(("text", "type_"), NOT_REPORTED)
def test_does_not_report_look_alikes(pii: PresidioPiiClassifier, text: str, type_: str) -> None:
    assert type_ not in {t for t, _ in spans(pii, text)}


BENIGN = [
    "Asked Claude to refactor the retry logic; ChatGPT suggested the same backoff.",
    "OpenAI and Anthropic both shipped new models; we stay on ours until evals finish.",
    "The Slack thread about the Kubernetes upgrade pinned the node image to 1.29.4.",
    "GitHub Actions runners were slow, so the Postgres migration timed out.",
    "Claude Code opened a pull request that bumps pydantic from 2.7.1 to 2.8.0.",
    "Gemini and Llama failed the long-context eval; Mistral passed 7 of 10.",
    "Jenkins pipeline #5521 failed at lint; Sentry and Datadog show no errors.",
    "Merge Request !312 adds the pgvector index; Upgrade Node before the release.",
    "Google Cloud Run scales to zero; AWS Lambda cold starts are about 300 ms.",
    "Ping the Platform Team; Customer Success wants a demo with the Acme Corp admins.",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
    "Build 20250412 at commit a94f3c2e7b1d, request 7c9e6679-7425-40de-944b-e07fc1f90ae7.",
    "Invoice INV-2025-00417 for $4,999.00 is due 2025-06-30; ticket PLAT-4821 tracks it.",
]


@pytest.mark.parametrize("text", BENIGN)
def test_product_names_and_jargon_yield_nothing(pii: PresidioPiiClassifier, text: str) -> None:
    assert pii.classify(text) == []


@pytest.mark.parametrize(
    "name", ["OpenAI", "Anthropic", "GitHub", "Slack", "Kubernetes", "Postgres", "ChatGPT"]
)
def test_product_names_are_not_people(pii: PresidioPiiClassifier, name: str) -> None:
    for text in (f"{name} said the job failed.", f"I asked {name} about it.", f"Thanks, {name}!"):
        assert "PERSON" not in {t for t, _ in spans(pii, text)}, text


def test_claude_alone_is_the_product_but_with_a_surname_a_person(
    pii: PresidioPiiClassifier,
) -> None:
    # Documented decision: "Claude" alone in an agent's memory is the model; a first name
    # followed by a surname is a person.
    assert spans(pii, "Claude wrote the migration and Claude reviewed it.") == set()
    assert ("PERSON", "Claude Dubois") in spans(pii, "Claude Dubois reviewed the migration.")


def test_never_reports_organisations(pii: PresidioPiiClassifier) -> None:
    text = "Globex signed with Initech, Microsoft and Goldman Sachs International."
    assert not [f for f in pii.classify(text) if f.type == "ORGANIZATION"]
    assert "ORGANIZATION" not in pii.supported_types


def test_acronyms_and_one_letter_entities_are_dropped(pii: PresidioPiiClassifier) -> None:
    assert spans(pii, "The SRE on call for EMEA paged AWS and GCP support.") == set()


def test_findings_are_pii_kind_with_presidio_detectors(pii: PresidioPiiClassifier) -> None:
    text = "Priya Raman <priya@example.org>, +44 20 7946 0958, card 4111 1111 1111 1111"
    found = pii.classify(text)
    assert {f.type for f in found} == {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD"}
    for f in found:
        assert f.kind is Kind.PII
        assert f.detector.startswith("presidio:")
        assert 0.0 < f.score <= 1.0
    assert [f.start for f in found] == sorted(f.start for f in found)


def test_finding_holds_no_text(pii: PresidioPiiClassifier) -> None:
    text = "Email jane.roe@example.org, card 4111 1111 1111 1111, Dr. Ilse Brandt, Lisbon"
    found = pii.classify(text)
    assert len(found) == 4
    assert {f.name for f in dataclasses.fields(Finding)} == {
        "kind",
        "type",
        "start",
        "end",
        "score",
        "detector",
    }
    for f in found:
        value = text[f.start : f.end]
        assert not hasattr(f, "__dict__")  # slots: nowhere to smuggle the value
        assert value not in repr(f)
        assert all(value not in str(getattr(f, field.name)) for field in dataclasses.fields(f))


def test_registry_is_explicit_and_has_no_url_recogniser(pii: PresidioPiiClassifier) -> None:
    assert pii.supported_types == set(PII_TYPES)
    assert "URL" not in pii.supported_types


def test_runs_only_the_ner_component(pii: PresidioPiiClassifier) -> None:
    assert pii.spacy_components == ("ner",)


def test_is_a_classifier(pii: PresidioPiiClassifier) -> None:
    classifier: Classifier = pii
    assert classifier.name == "pii"
    assert classifier.classify("") == []
    assert classifier.classify("   \n") == []


def test_pseudonymised_by_the_default_policy(pii: PresidioPiiClassifier) -> None:
    text = "Ask Priya Raman (priya.raman@example.org) to call +44 20 7946 0958."
    decision = ClassificationPipeline([pii]).decide(text, Policy())
    assert decision.storable
    assert decision.content is not None
    for value in ("Priya Raman", "priya.raman@example.org", "+44 20 7946 0958"):
        assert value not in decision.content


def test_thresholds_can_be_raised_per_type() -> None:
    strict = PresidioPiiClassifier(thresholds={"PHONE_NUMBER": 0.99})
    assert spans(strict, "Her office line is (212) 555-0147.") == set()
    with pytest.raises(ValueError, match="unknown PII types"):
        PresidioPiiClassifier(thresholds={"ORGANIZATION": 0.5})


def test_concurrent_calls_give_the_same_answers(pii: PresidioPiiClassifier) -> None:
    texts = [text for text, _, _ in SPANS]
    expected = [pii.classify(t) for t in texts]
    results: dict[int, list[list[Finding]]] = {}
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            results[worker] = [pii.classify(t) for t in texts]
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(results[i] == expected for i in range(4))


# --- offline ---------------------------------------------------------------------------------


class NetworkAttemptError(AssertionError):
    """Something tried to reach the network."""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every way out fails loudly: sockets, DNS, and tldextract's suffix-list fetch."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NetworkAttemptError(f"network access attempted: {args[:1]!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(tldextract.suffix_list, "find_first_response", refuse)
    monkeypatch.setattr(tldextract.suffix_list, "get_suffix_lists", refuse)
    monkeypatch.setattr(tldextract.tldextract.TLDExtract, "_get_tld_extractor", refuse)


@pytest.mark.usefixtures("no_network")
def test_the_trap_catches_presidios_stock_email_validation() -> None:
    # Proves the fixture is meaningful: the stock recogniser goes to tldextract.
    with pytest.raises(NetworkAttemptError):
        EmailRecognizer().validate_result("jane.roe@example.org")


@pytest.mark.usefixtures("no_network")
def test_loading_and_classifying_urls_and_emails_needs_no_network() -> None:
    classifier = PresidioPiiClassifier()  # the model loads from its installed package
    text = (
        "Docs at https://docs.acme.dev/guide and www.example.com/path?q=1; mail "
        "jane.roe@example.org or ops@acme.co.uk, see http://192.168.4.20:8080/health."
    )
    found = spans(classifier, text)
    assert ("EMAIL_ADDRESS", "jane.roe@example.org") in found
    assert ("EMAIL_ADDRESS", "ops@acme.co.uk") in found
    assert ("IP_ADDRESS", "192.168.4.20") in found
    assert not any("http" in value or "www." in value for _, value in found)


_FRESH_PROCESS = """
import socket, sys

def refuse(*args, **kwargs):
    raise SystemExit("network access attempted")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

from classifiers.pii import PresidioPiiClassifier

text = "see https://docs.acme.dev and www.example.com, mail jane.roe@example.org"
found = PresidioPiiClassifier().classify(text)
assert [(f.type, text[f.start:f.end]) for f in found] == [
    ("EMAIL_ADDRESS", "jane.roe@example.org")
], found
"""


def test_a_fresh_process_imports_loads_and_classifies_offline() -> None:
    # Covers import time too (Presidio imports tldextract and transformers on import).
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.usefixtures("no_network")
def test_a_missing_model_is_an_error_not_a_download(monkeypatch: pytest.MonkeyPatch) -> None:
    import spacy.cli  # noqa: PLC0415 - only to prove it is never called

    def no_download(*args: Any, **kwargs: Any) -> None:
        raise NetworkAttemptError("spacy download attempted")

    monkeypatch.setattr(spacy.cli, "download", no_download)
    with pytest.raises(ModelNotInstalledError):
        PresidioPiiClassifier(model="en_core_web_definitely_not_installed")


# --- the labelled corpus ---------------------------------------------------------------------


def _records(name: str) -> list[dict[str, Any]]:
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _span_of(record: dict[str, Any], finding: dict[str, Any]) -> tuple[int, int]:
    start = -1
    for _ in range(finding.get("occurrence", 0) + 1):
        start = record["text"].find(finding["value"], start + 1)
    assert start >= 0, (record["id"], finding["type"])
    return start, start + len(finding["value"])


def test_corpus_recall_per_group_of_types(pii: PresidioPiiClassifier) -> None:
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for record in _records("pii.jsonl"):
        found = pii.classify(record["text"])
        for expected in record["findings"]:
            start, end = _span_of(record, expected)
            group = "names" if expected["type"] in {"PERSON", "LOCATION"} else "structured"
            total[group] += 1
            caught[group] += any(
                f.type == expected["type"] and f.start < end and start < f.end for f in found
            )
    assert caught["structured"] / total["structured"] >= 0.97
    assert caught["names"] / total["names"] >= 0.85


def test_corpus_benign_records_stay_clean(pii: PresidioPiiClassifier) -> None:
    records = _records("benign_pii_like.jsonl")
    flagged = [r["id"] for r in records if pii.classify(r["text"])]
    assert len(flagged) / len(records) <= 0.03, flagged


def test_corpus_covers_every_type_in_every_context() -> None:
    records = _records("pii.jsonl")
    by_type: Counter[str] = Counter(f["type"] for r in records for f in r["findings"])
    assert {t for t in PII_TYPES if by_type[t] < 6} == set()
    contexts = {r["context"] for r in records}
    assert {"prose", "chat", "json", "log", "code", "yaml"} <= contexts
    assert len(_records("benign_pii_like.jsonl")) >= 50
