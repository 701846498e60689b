"""The secrets classifier: exact spans per type, silence on look-alikes, no value kept, threads.

Every credential here is fake: ``fake()`` derives characters of the right shape from a hash, so
the source holds no key-shaped literal and the values are the same on every run.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import itertools
import json
import string
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from detect_secrets.settings import transient_settings

from classifiers.findings import Classifier, Finding, Kind
from classifiers.secrets import SECRET_TYPES, SecretsClassifier

ALNUM = string.ascii_letters + string.digits
UPPER_NUM = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
URLSAFE = ALNUM + "-_"
B64 = ALNUM + "+/"
CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"


def fake(n: int, alphabet: str = ALNUM, seed: str = "") -> str:
    """``n`` characters from ``alphabet``, pseudo-random but fixed by ``seed``."""
    out: list[str] = []
    counter = 0
    while len(out) < n:
        block = hashlib.sha256(f"{seed}:{n}:{alphabet}:{counter}".encode()).digest()
        out.extend(alphabet[b % len(alphabet)] for b in block)
        counter += 1
    return "".join(out[:n])


def pem(label: str, seed: str) -> str:
    body = base64.b64encode(hashlib.sha512(seed.encode()).digest() * 6).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----"


def b64url(obj: object) -> str:
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


AWS_ID = "AKIA" + fake(16, UPPER_NUM, "aws")
AWS_SECRET = fake(40, B64, "aws-secret")
JWT = (
    b64url({"alg": "HS256", "typ": "JWT"})
    + "."
    + b64url({"sub": "4412", "role": "deployer", "iat": 1717171717})
    + "."
    + fake(43, URLSAFE, "jwt")
)
GCP_KEY_ID = fake(40, HEX, "gcp")
GCP_PEM = pem("PRIVATE KEY", "gcp").replace("\n", "\\n")  # as JSON escapes it
SERVICE_ACCOUNT = json.dumps(
    {
        "type": "service_account",
        "project_id": "acme-prod",
        "private_key_id": GCP_KEY_ID,
        "private_key": pem("PRIVATE KEY", "gcp") + "\n",
        "client_email": "deployer@acme-prod.iam.gserviceaccount.com",
    }
)
DISCORD_BOT = (
    base64.b64encode(b"987654321098765432").decode().rstrip("=")
    + "."
    + fake(6, URLSAFE, "discord")
    + "."
    + fake(38, URLSAFE, "discord2")
)
SLACK_BOT = f"xoxb-{fake(12, string.digits)}-{fake(13, string.digits, 's')}-{fake(24)}"
SLACK_APP = f"xapp-1-A{fake(10, UPPER_NUM)}-{fake(13, string.digits)}-{fake(64, HEX)}"
SLACK_HOOK = (
    f"https://hooks.slack.com/services/T{fake(8, UPPER_NUM)}/B{fake(10, UPPER_NUM)}/{fake(24)}"
)
RSA_KEY = pem("RSA PRIVATE KEY", "rsa")
OPENSSH_KEY = pem("OPENSSH PRIVATE KEY", "openssh")
EC_KEY = pem("EC PRIVATE KEY", "ec")
PKCS8_KEY = pem("PRIVATE KEY", "pkcs8")
ENCRYPTED_KEY = pem("ENCRYPTED PRIVATE KEY", "enc")


def case(text: str, type_: str, value: str) -> tuple[str, str, str]:
    assert value in text
    return text, type_, value


def v(prefix: str, n: int, alphabet: str = ALNUM) -> str:
    return prefix + fake(n, alphabet, prefix)


SPANS = [
    case(f"AWS_ACCESS_KEY_ID={AWS_ID}", "AWS_ACCESS_KEY_ID", AWS_ID),
    case(
        f"use {v('ASIA', 16, UPPER_NUM)} for the job", "AWS_ACCESS_KEY_ID", v("ASIA", 16, UPPER_NUM)
    ),
    case(f"aws_secret_access_key = {AWS_SECRET}", "AWS_SECRET_ACCESS_KEY", AWS_SECRET),
    case(f'{{"SecretAccessKey": "{AWS_SECRET}"}}', "AWS_SECRET_ACCESS_KEY", AWS_SECRET),
    case(f"GITHUB_TOKEN={v('ghp_', 36)}", "GITHUB_TOKEN", v("ghp_", 36)),
    case(f"oauth: {v('gho_', 36)}", "GITHUB_TOKEN", v("gho_", 36)),
    case(
        f"pat {v('github_pat_', 22)}_{fake(59, ALNUM, 'pat')} expires soon",
        "GITHUB_TOKEN",
        f"{v('github_pat_', 22)}_{fake(59, ALNUM, 'pat')}",
    ),
    case(f"GITLAB_TOKEN={v('glpat-', 20, URLSAFE)}", "GITLAB_TOKEN", v("glpat-", 20, URLSAFE)),
    case(f"register --token {v('glrt-', 20, URLSAFE)}", "GITLAB_TOKEN", v("glrt-", 20, URLSAFE)),
    case(f"bot: {SLACK_BOT}", "SLACK_TOKEN", SLACK_BOT),
    case(f"SLACK_APP_TOKEN={SLACK_APP}", "SLACK_TOKEN", SLACK_APP),
    case(f"alerts go to {SLACK_HOOK} now", "SLACK_WEBHOOK", SLACK_HOOK),
    case(f"stripe.api_key = '{v('sk_live_', 24)}'", "STRIPE_KEY", v("sk_live_", 24)),
    case(f"STRIPE_KEY={v('sk_test_', 99)}", "STRIPE_KEY", v("sk_test_", 99)),
    case(f"reporting key {v('rk_live_', 24)}", "STRIPE_KEY", v("rk_live_", 24)),
    case(
        f"OPENAI_API_KEY={v('sk-proj-', 120, URLSAFE)}",
        "OPENAI_API_KEY",
        v("sk-proj-", 120, URLSAFE),
    ),
    case(f'api_key="{v("sk-", 48)}"', "OPENAI_API_KEY", v("sk-", 48)),
    case(f"svc {v('sk-svcacct-', 100, URLSAFE)}", "OPENAI_API_KEY", v("sk-svcacct-", 100, URLSAFE)),
    case(f"admin {v('sk-admin-', 100, URLSAFE)}", "OPENAI_API_KEY", v("sk-admin-", 100, URLSAFE)),
    case(
        f"x-api-key: {v('sk-ant-api03-', 93, URLSAFE)}AA",
        "ANTHROPIC_API_KEY",
        f"{v('sk-ant-api03-', 93, URLSAFE)}AA",
    ),
    case(f'maps key "{v("AIza", 35, URLSAFE)}"', "GOOGLE_API_KEY", v("AIza", 35, URLSAFE)),
    case(SERVICE_ACCOUNT, "GCP_SERVICE_ACCOUNT", GCP_KEY_ID),
    case(SERVICE_ACCOUNT, "GCP_SERVICE_ACCOUNT", GCP_PEM),
    case(f"deploy key:\n{RSA_KEY}\nthanks", "PRIVATE_KEY", RSA_KEY),
    case(OPENSSH_KEY, "PRIVATE_KEY", OPENSSH_KEY),
    case(f'KEY = """{EC_KEY}"""', "PRIVATE_KEY", EC_KEY),
    case(f"{PKCS8_KEY}\n", "PRIVATE_KEY", PKCS8_KEY),
    case(ENCRYPTED_KEY, "PRIVATE_KEY", ENCRYPTED_KEY),
    case(f"Authorization: Bearer {JWT}", "JWT", JWT),
    case(f"session jwt={JWT} ttl=3600", "JWT", JWT),
    case("DATABASE_URL=postgres://app:Xk9vLq2mPz@db:5432/app", "DATABASE_URL", "Xk9vLq2mPz"),
    case("postgresql+psycopg://etl:t0p-S3cret@10.0.0.5/dw", "DATABASE_URL", "t0p-S3cret"),
    case("mysql://root:Rt7uW2qZ@mysql:3306/shop", "DATABASE_URL", "Rt7uW2qZ"),
    case("mongodb+srv://admin:Mg4Xp9Lk@cluster0.ab1cd.mongodb.net/x", "DATABASE_URL", "Mg4Xp9Lk"),
    case("redis://:Rd8sK2mQ@cache:6379/0", "DATABASE_URL", "Rd8sK2mQ"),
    case("rediss://default:Up5tA9sh@eu1.upstash.io:6380", "DATABASE_URL", "Up5tA9sh"),
    case("amqp://worker:Bq3nV7xT@rabbitmq:5672//", "DATABASE_URL", "Bq3nV7xT"),
    case("amqps://svc:Zm2cR8wY@mq.example.net/vhost", "DATABASE_URL", "Zm2cR8wY"),
    case("jdbc:postgresql://db:5432/app?user=app&password=Jd8bC4xV", "DATABASE_URL", "Jd8bC4xV"),
    case(
        f"DefaultEndpointsProtocol=https;AccountName=logs;AccountKey={fake(86, B64)}==;"
        "EndpointSuffix=core.windows.net",
        "AZURE_CONNECTION_STRING",
        f"{fake(86, B64)}==",
    ),
    case(
        f"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;"
        f"SharedAccessKey={fake(43, B64)}=",
        "AZURE_CONNECTION_STRING",
        f"{fake(43, B64)}=",
    ),
    case(f"TWILIO_API_KEY={v('SK', 32, HEX)}", "TWILIO_KEY", v("SK", 32, HEX)),
    case(f"TWILIO_AUTH_TOKEN={fake(32, HEX, 'tw')}", "TWILIO_KEY", fake(32, HEX, "tw")),
    case(
        f"SENDGRID_API_KEY=SG.{fake(22, URLSAFE)}.{fake(43, URLSAFE)}",
        "SENDGRID_API_KEY",
        f"SG.{fake(22, URLSAFE)}.{fake(43, URLSAFE)}",
    ),
    case(f"NPM_TOKEN={v('npm_', 36)}", "NPM_TOKEN", v("npm_", 36)),
    case(
        f"//registry.npmjs.org/:_authToken={fake(36, HEX + '-', 'legacy')}",
        "NPM_TOKEN",
        fake(36, HEX + "-", "legacy"),
    ),
    case(
        f"password = {v('pypi-AgEIcHlwaS5vcmc', 140, URLSAFE)}",
        "PYPI_TOKEN",
        v("pypi-AgEIcHlwaS5vcmc", 140, URLSAFE),
    ),
    case(
        f'login(token="{v("hf_", 34, string.ascii_letters)}")',
        "HUGGINGFACE_TOKEN",
        v("hf_", 34, string.ascii_letters),
    ),
    case(f"VAULT_TOKEN={v('hvs.', 91, URLSAFE)}", "VAULT_TOKEN", v("hvs.", 91, URLSAFE)),
    case(f"batch token {v('hvb.', 138, URLSAFE)}", "VAULT_TOKEN", v("hvb.", 138, URLSAFE)),
    case(f"X-Vault-Token: {v('s.', 24)}", "VAULT_TOKEN", v("s.", 24)),
    case(f"client.run('{DISCORD_BOT}')", "DISCORD_TOKEN", DISCORD_BOT),
    case(
        f"post to https://discord.com/api/webhooks/123456789012345678/{fake(68, URLSAFE)}",
        "DISCORD_TOKEN",
        f"https://discord.com/api/webhooks/123456789012345678/{fake(68, URLSAFE)}",
    ),
    case("curl https://deploy:Dp4Lq8Zx@artifacts.acme.io/a.tgz", "BASIC_AUTH_URL", "Dp4Lq8Zx"),
    case("ftp://backup:Fb7Nm2Qw@ftp.acme.io/dump.sql", "BASIC_AUTH_URL", "Fb7Nm2Qw"),
    case("password=hunter2", "PASSWORD_ASSIGNMENT", "hunter2"),
    case("smtp:\n  passwd: Qu4sar!88\n", "PASSWORD_ASSIGNMENT", "Qu4sar!88"),
    case(f"api_key: {fake(32, ALNUM, 'k')}", "PASSWORD_ASSIGNMENT", fake(32, ALNUM, "k")),
    case(f"SECRET_KEY = '{fake(50, ALNUM, 'dj')}'", "PASSWORD_ASSIGNMENT", fake(50, ALNUM, "dj")),
    case(f'{{"token": "{fake(40, ALNUM, "t")}"}}', "PASSWORD_ASSIGNMENT", fake(40, ALNUM, "t")),
    case("DB_PASSWORD='Tangerine#42'", "PASSWORD_ASSIGNMENT", "Tangerine#42"),
    case("mysqladmin --password=Wx9!pLm2 status", "PASSWORD_ASSIGNMENT", "Wx9!pLm2"),
    case("<password>Blu3Sky!99</password>", "PASSWORD_ASSIGNMENT", "Blu3Sky!99"),
    case("curl -u admin:Gr4f4na! https://grafana.internal/api", "PASSWORD_ASSIGNMENT", "Gr4f4na!"),
    case("User ID=erp;Password=Erp#2024x;Encrypt=True;", "PASSWORD_ASSIGNMENT", "Erp#2024x"),
    case("my password is sunflower42", "PASSWORD_IN_PROSE", "sunflower42"),
    case("the wifi password is BananaBread77!", "PASSWORD_IN_PROSE", "BananaBread77!"),
    case("wifi: AcmeGuest pw: tr0ub4dor", "PASSWORD_IN_PROSE", "tr0ub4dor"),
    case("The passcode for the door is 4471.", "PASSWORD_IN_PROSE", "4471"),
    case(
        "i changed the router password to Quasar&4689 yesterday", "PASSWORD_IN_PROSE", "Quasar&4689"
    ),
    case(
        f"MEMSVC_API_KEY=msk_{fake(16, HEX)}_{fake(32, URLSAFE)}",
        "MEMORY_SERVICE_KEY",
        f"msk_{fake(16, HEX)}_{fake(32, URLSAFE)}",
    ),
    case(
        f"paste this into the portal: {fake(40, ALNUM, 'e')}",
        "HIGH_ENTROPY_STRING",
        fake(40, ALNUM, "e"),
    ),
    case(f"signing:\n  seed: {fake(64, B64, 'e2')}", "HIGH_ENTROPY_STRING", fake(64, B64, "e2")),
]


@pytest.fixture(scope="module")
def classifier() -> SecretsClassifier:
    return SecretsClassifier()


def test_is_a_classifier() -> None:
    c: Classifier = SecretsClassifier()
    assert c.name == "secrets"


def test_every_type_has_a_span_case() -> None:
    covered = {type_ for _, type_, _ in SPANS}
    vendor_only = {"MAILCHIMP_API_KEY", "TELEGRAM_BOT_TOKEN", "SQUARE_OAUTH_SECRET"}
    assert covered == SECRET_TYPES - vendor_only


@pytest.mark.parametrize(
    ("text", "type_", "value"), SPANS, ids=[f"{t}-{i}" for i, (_, t, _) in enumerate(SPANS)]
)
def test_span_is_the_secret_value(
    classifier: SecretsClassifier, text: str, type_: str, value: str
) -> None:
    start = text.index(value)
    found = classifier.classify(text)
    assert all(f.kind is Kind.SECRET for f in found)
    matching = [f for f in found if (f.start, f.end) == (start, start + len(value))]
    assert [f.type for f in matching] == [type_], [(f.type, text[f.start : f.end]) for f in found]
    assert 0.0 < matching[0].score <= 1.0
    assert matching[0].detector.startswith(("rule:", "detect-secrets:"))


# Detect-secrets' own plugins find these; our rule table does not know the formats.
@pytest.mark.parametrize(
    ("text", "type_", "value"),
    [
        case(f"MAILCHIMP_KEY={fake(32, HEX)}-us14", "MAILCHIMP_API_KEY", f"{fake(32, HEX)}-us14"),
        case(
            f"https://api.telegram.org/bot123456789:{fake(35, URLSAFE)}/getMe",
            "TELEGRAM_BOT_TOKEN",
            f"123456789:{fake(35, URLSAFE)}",
        ),
        case(
            f"square: sq0csp-{fake(43, URLSAFE)}",
            "SQUARE_OAUTH_SECRET",
            f"sq0csp-{fake(43, URLSAFE)}",
        ),
    ],
)
def test_engine_only_formats(
    classifier: SecretsClassifier, text: str, type_: str, value: str
) -> None:
    found = classifier.classify(text)
    start = text.index(value)
    assert [(f.type, f.start, f.end) for f in found] == [(type_, start, start + len(value))]
    assert found[0].detector.startswith("detect-secrets:")


def test_more_specific_type_wins_an_overlap(classifier: SecretsClassifier) -> None:
    token = v("ghp_", 36)
    assert [f.type for f in classifier.classify(f'token = "{token}"')] == ["GITHUB_TOKEN"]
    # detect-secrets' BasicAuthDetector sees the same password; the database rule is preferred.
    assert [f.type for f in classifier.classify("postgres://u:Xk9vLq2mPz@db/app")] == [
        "DATABASE_URL"
    ]


def test_findings_are_ordered_and_disjoint(classifier: SecretsClassifier) -> None:
    text = "\n".join(t for t, _, _ in SPANS[:20])
    found = classifier.classify(text)
    assert found == sorted(found, key=lambda f: (f.start, f.end))
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


BENIGN = [
    f"request_id={uuid.UUID(int=42, version=4)} status=200",
    f"commit {hashlib.sha1(b'a').hexdigest()}\n\n    Fix token refresh race",  # noqa: S324
    f"md5 {hashlib.md5(b'b').hexdigest()}  app.tar.gz",  # noqa: S324
    f"sha256: {hashlib.sha256(b'c').hexdigest()}",
    f"image: ghcr.io/acme/api@sha256:{hashlib.sha256(b'd').hexdigest()}",
    f"--hash=sha256:{hashlib.sha256(b'e').hexdigest()}",
    "a1b2c3d feat: add SecretsClassifier; 9f8e7d6 fix: stop logging password hashes",
    "OPENAI_API_KEY=sk-...",
    "OPENAI_API_KEY=<YOUR_API_KEY>",
    "ANTHROPIC_API_KEY=${ANTHROPIC_API_KEY}",
    "api_key: your-api-key-here",
    "password: changeme",
    "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX",
    "e.g. AKIAIOSFODNN7EXAMPLE with wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "SLACK_WEBHOOK=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
    (
        "jwt.io sample: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6"
        "IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    ),
    f"STRIPE_PUBLISHABLE_KEY=pk_live_{fake(24)}",
    f"TWILIO_ACCOUNT_SID=AC{fake(32, HEX)}",
    "A password reset link was sent to your email address.",
    "The password policy requires 12 characters, one digit and one symbol.",
    "Your password is incorrect. Please try again.",
    "the password is stored as a salted hash",
    "I reset my password yesterday because I forgot it.",
    "DATABASE_URL=postgres://db.internal:5432/app",
    "postgresql://app@localhost/app_dev",
    "postgresql://USER:PASSWORD@HOST:5432/DB",
    'create_engine("postgresql+psycopg://postgres:postgres@localhost:5432/test")',
    "https://example.com/path?query=1&page=2 and https://user@example.com/repo.git",
    "Upgraded from 2.14.3 to 2.15.0-rc.1+build.20240501",
    "/var/log/memory-service/2024/05/02/worker-3.log",
    "SGVsbG8gdGVhbSwgdGhlIGJ1aWxkIGlzIGdyZWVuIGFnYWluIHRvZGF5",  # "Hello team, the build..."
    "Pneumonoultramicroscopicsilicovolcanoconiosis is a long word.",
    "class DeepseekOcr2TextConfig(PreTrainedConfig): WeightStandardizedConv2d",
    'password = os.environ["DB_PASSWORD"]\napi_key = os.getenv("API_KEY")',
    "password: ${{ secrets.DB_PASSWORD }}\ntoken: '{{ vault_token }}'",
    "max_tokens: 4096\ntoken_count = len(tokenizer.encode(text))",
    "password_min_length: 12\ntoken_type: bearer\npassword: null",
    "def set_password(self, raw_password: str | None = None) -> None:",
    "username, password = auth",
    "the secret to good sourdough is patience",
    "PIN 13 on the Arduino drives the LED",
    "WARN auth: Bearer token expired; Authorization header missing",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + fake(43, B64, "ssh") + " ops@bastion",
    "-----BEGIN CERTIFICATE-----\n"
    + base64.b64encode(hashlib.sha512(b"cert").digest() * 4).decode()
    + "\n-----END CERTIFICATE-----",
    '"integrity": "sha512-' + base64.b64encode(hashlib.sha512(b"npm").digest()).decode() + '"',
    "Digest: $2b$12$KIXQJvG8M7F1z2E6r4w1ke3C8QyqQ0h0oR5pZfQ3xF0q1XwGq5b7K",
    "ulid 01HZX3K8Q9R4T2V6W8Y0A1B3C5 and req_01HZX3K8Q9R4T2V6W8Y0A1B3C5",
    "https://docs.google.com/document/d/1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms/edit",
    "AWS account 123456789012, role arn:aws:iam::123456789012:role/deploy",
]


@pytest.mark.parametrize("text", BENIGN)
def test_look_alikes_yield_nothing(classifier: SecretsClassifier, text: str) -> None:
    found = classifier.classify(text)
    assert found == [], [(f.type, text[f.start : f.end], f.detector) for f in found]


def test_a_finding_never_holds_the_text(classifier: SecretsClassifier) -> None:
    secret = v("ghp_", 36)
    (finding,) = classifier.classify(f"GITHUB_TOKEN={secret}")
    assert not hasattr(finding, "__dict__")  # slots: nothing can be attached later
    for field in dataclasses.fields(Finding):
        value = getattr(finding, field.name)
        assert secret not in str(value)
        assert not (isinstance(value, str) and len(value) >= 8 and value in secret)
    assert secret not in repr(finding)


def test_concurrent_calls_agree_with_serial(classifier: SecretsClassifier) -> None:
    texts = [t for t, _, _ in SPANS] + BENIGN
    serial = [classifier.classify(t) for t in texts]
    results: dict[int, list[list[Finding]]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        try:
            start.wait()
            results[worker] = [SecretsClassifier().classify(t) for t in texts]
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(results[i] == serial for i in range(8))


def test_never_verifies_over_the_network(
    classifier: SecretsClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("detect-secrets tried to verify a candidate over the network")

    monkeypatch.setattr(requests.Session, "request", refuse)
    # Even if something in the process turns detect-secrets' verification on globally.
    policy = "detect_secrets.filters.common.is_ignored_due_to_verification_policies"
    with transient_settings({"filters_used": [{"path": policy, "min_level": 2}]}):
        for text, _, _ in SPANS:
            classifier.classify(text)


@pytest.mark.parametrize(
    "seed",
    ["sk-", "eyJ", "xoxb-1-", "ghp_", "==", "-----BEGIN CERTIFICATE-----", "jdbc:mysql://a?"],
)
def test_pathological_lines_stay_linear(classifier: SecretsClassifier, seed: str) -> None:
    # Several detect-secrets patterns backtrack quadratically on such lines (8.6 s for 60 kB
    # of "sk-"); the classifier must not.
    text = (seed * (40_000 // len(seed) + 1))[:40_000]
    started = time.perf_counter()
    classifier.classify(text)
    assert time.perf_counter() - started < 2.0


def _corpus(name: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (CORPUS / name).read_text().splitlines() if line]


def test_corpus_recall_and_false_positives(classifier: SecretsClassifier) -> None:
    expected = caught = 0
    for record in _corpus("secrets.jsonl"):
        text = str(record["text"])
        found = classifier.classify(text)
        for item in record["findings"]:  # type: ignore[attr-defined]
            if item["kind"] != "secret":
                continue
            start = text.index(item["value"])
            end = start + len(item["value"])
            expected += 1
            caught += any(f.start < end and start < f.end for f in found)
    benign = [r for r in _corpus("benign_secretlike.jsonl") if r["group"] == "benign"]
    flagged = sum(bool(classifier.classify(str(r["text"]))) for r in benign)
    assert caught / expected >= 0.98
    assert flagged / len(benign) <= 0.02
