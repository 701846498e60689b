"""detect-secrets as a line scanner over arbitrary text.

detect-secrets is built to scan files. Its ad-hoc entry point, ``scan_line``, rewrites the
process-global settings on every call, switches its entropy plugins into an "eager" mode that
skips their entropy limits (nearly every word becomes a finding), and may call a plugin's
``verify`` (a network request) if the global settings enable verification. So instead we:

- build our own plugin instances once per process, from an explicit list, with explicit limits;
- call each plugin's ``analyze_string`` on every line. That is the pure pattern step: it never
  reads the global settings and never verifies, whatever another library in the process
  configures (``analyze_line`` would consult the settings and verify);
- run the entropy plugin over unquoted tokens (prose has no quotes) and apply an entropy limit
  ourselves, then detect-secrets' own heuristic filters, then ours;
- serialise everything under one module-level lock: the entropy plugin swaps its regex on the
  instance while scanning unquoted text, which is not safe to do from two threads at once;
- snap each reported value to a span in the text: plugins report strings, not positions, and
  some report only part of the token (GitHub's pattern captures just "ghp");
- feed long lines to the vendor plugins in overlapping windows, because some of their patterns
  backtrack quadratically on adversarial lines (see ``_windows``).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from detect_secrets.filters import heuristic
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import BasePlugin
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

from classifiers.secrets import secret_types as t
from classifiers.secrets.candidate import BASIC_AUTH, ENGINE_SPECIFIC, ENTROPY, Candidate
from classifiers.secrets.values import (
    is_hex,
    is_known_example,
    is_ordinary_base64,
    is_placeholder,
    is_url_password,
    is_wordlike,
    looks_random,
)

# Base64HighEntropyString's own default. The entropy of an n-character token is at most
# log2(n), so words, UUIDs and hex digests never reach it, but neither do many real keys:
# measured, only ~60% of random 32-character alphanumeric keys and ~4% of 24-character ones
# exceed 4.5 bits. Shorter tokens therefore get a length-aware limit (log2(n) minus a margin),
# and we also require upper case, lower case and digits, which random keys have and ULIDs,
# base36 ids and identifiers lack (tokens of 32+ characters over the plugin's limit excepted).
BASE64_ENTROPY_LIMIT = 4.5
_ENTROPY_MARGIN = 0.85
_MIN_ENTROPY_TOKEN = 22
_LONG_TOKEN = 32

# Which of our types each vendor plugin reports. Deliberately absent:
# OpenAIDetector and NpmDetector (their patterns, `sk-[A-Za-z0-9-_]*[A-Za-z0-9]{20}T3BlbkFJ`
# and `//.+/:_authToken=`, backtrack quadratically: one 60 kB line of "sk-sk-sk-" took 8.6 s;
# our rules cover both formats), HexHighEntropyString (every git SHA and digest is a
# "high-entropy" hex string),
# KeywordDetector (its values run to the end of the line; our assignment rules do this job with
# exact spans), IPPublicDetector (an address is not a credential), ArtifactoryDetector (its
# `AP[0-9A-F]...` pattern matches ordinary upper-case words), and the IBM/Cloudant/SoftLayer
# keyword plugins (covered by our assignment rules).
_VENDOR_TYPES: dict[type[BasePlugin], str] = {
    AWSKeyDetector: t.AWS_ACCESS_KEY_ID,
    AzureStorageKeyDetector: t.AZURE_CONNECTION_STRING,
    BasicAuthDetector: t.BASIC_AUTH_URL,
    DiscordBotTokenDetector: t.DISCORD_TOKEN,
    GitHubTokenDetector: t.GITHUB_TOKEN,
    GitLabTokenDetector: t.GITLAB_TOKEN,
    JwtTokenDetector: t.JWT,
    MailchimpDetector: t.MAILCHIMP_API_KEY,
    PrivateKeyDetector: t.PRIVATE_KEY,
    PypiTokenDetector: t.PYPI_TOKEN,
    SendGridDetector: t.SENDGRID_API_KEY,
    SlackDetector: t.SLACK_TOKEN,
    SquareOAuthDetector: t.SQUARE_OAUTH_SECRET,
    StripeDetector: t.STRIPE_KEY,
    TelegramBotTokenDetector: t.TELEGRAM_BOT_TOKEN,
    TwilioKeyDetector: t.TWILIO_KEY,
}

_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_JWT_CHARS = _TOKEN_CHARS | {"."}
_AWS_SECRET_LENGTH = 40
_MAX_TOKEN = 1024  # longer than any credential format we know
_WINDOW = 4 * _MAX_TOKEN

# Text just before an entropy token that says it is a digest, public key or inline data.
_BENIGN_BEFORE = re.compile(
    r"(?i)(?:(?:sha(?:1|224|256|384|512)?|md5|blake2b?|crc32)[-:=]\s*"
    r"|(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com)\s+"
    r"|;base64,|(?:integrity|digest\w*|checksum|fingerprint|signature\w*|hash|etag)\W{1,4}"
    r"|pub(?:lic)?[_\-]?key\w*\W{1,6}|\b(?:id|href|name|class|for)=[\"']#?)$"
)
# Digest prefixes (SRI "sha512-..."), C++ mangled symbols (_ZN...), `git describe` names and
# identifiers that are random but public by design: Stripe publishable keys and object ids
# (pk_live_, cus_, pi_...), AI platform ids (msg_, chatcmpl-, file-...), wallet addresses.
_BENIGN_TOKEN = re.compile(
    r"^(?:(?i:sha(?:1|224|256|384|512)|md5)[-_]|pk_(?:live|test)_|_Z[0-9A-Z]"
    r"|(?:acct|ch|cus|evt|in|pi|pm|price|prod|seti|src|sub|txn|po|re|tok|card)_"
    # AI platform object ids: messages, completions, files, assistants, runs, tool calls
    r"|(?:msg|req|asst|thread|run|step|call|toolu|resp|batch|conv|file|ftjob|cmpl|org|proj)[_-]"
    r"|chatcmpl-|(?:bc1|tb1|ltc1)[02-9ac-hj-np-z]{11,71}$)"  # bech32 addresses are public
    r"|-\d+-g[0-9a-f]{7,40}$"  # `git describe`: v2.3.0-14-g2414721
)
_CRYPT_HASH = re.compile(r"\$[a-z0-9\-]{1,12}\$[^\s$]*\$")
_URL_BEFORE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://\S*$")
# Public material in PEM armour is random-looking base64 but not secret.
_ARMOUR = re.compile(r"-----(?P<edge>BEGIN|END) (?P<label>[A-Z0-9 ]{1,60})-----")
_PEM_BODY_FOLLOWS = re.compile(r"-{0,5}\s*(?:\\n)?(?:[A-Za-z0-9+/=]|\\n|\s){40,}")

_FILTERS: tuple[Callable[[str], bool], ...] = (
    heuristic.is_sequential_string,
    heuristic.is_potential_uuid,
    heuristic.is_templated_secret,
    heuristic.is_prefixed_with_dollar_sign,
    heuristic.is_not_alphanumeric_string,
)


@dataclass(frozen=True, slots=True)
class _Plugins:
    vendor: tuple[BasePlugin, ...]
    entropy: Base64HighEntropyString


_LOCK = threading.Lock()
_plugins: _Plugins | None = None


def _configured() -> _Plugins:
    """Build the plugin instances on first use; the caller holds ``_LOCK``."""
    global _plugins  # noqa: PLW0603 - one configuration per process, by design
    if _plugins is None:
        _plugins = _Plugins(
            vendor=tuple(cls() for cls in _VENDOR_TYPES),
            entropy=Base64HighEntropyString(limit=BASE64_ENTROPY_LIMIT),
        )
    return _plugins


def scan(text: str) -> list[Candidate]:
    """Every candidate detect-secrets finds in ``text``, with spans in ``text``."""
    with _LOCK:
        plugins = _configured()
        public = _public_armour(text)
        found: list[Candidate] = []
        for offset, line in _lines(text):
            for at, window in _windows(line):
                for plugin in plugins.vendor:
                    found.extend(_vendor_hits(plugin, text, window, offset + at))
            found.extend(_entropy_hits(plugins.entropy, line, offset, public))
        return found


def _public_armour(text: str) -> list[tuple[int, int]]:
    """Spans of PEM blocks that are not private keys: certificates, public keys, signatures.

    Paired in one linear pass; a lazy BEGIN...END regex is quadratic when ENDs are missing.
    """
    spans: list[tuple[int, int]] = []
    start = -1
    for m in _ARMOUR.finditer(text):
        if m.group("edge") == "BEGIN":
            start = -1 if "PRIVATE KEY" in m.group("label") else m.start()
        elif start >= 0:
            spans.append((start, m.end()))
            start = -1
    return spans


def _lines(text: str) -> Iterator[tuple[int, str]]:
    offset = 0
    for line in text.splitlines(keepends=True):
        yield offset, line.rstrip("\r\n")
        offset += len(line)


def _windows(line: str) -> Iterator[tuple[int, str]]:
    """Long lines in overlapping windows: some plugin patterns backtrack quadratically.

    JwtTokenDetector's `eyJ[...]+\\.` took 0.8 s on one 50 kB line of "eyJ" repeated; windows
    bound that to O(n * window). The overlap keeps every token up to _MAX_TOKEN whole in one.
    """
    if len(line) <= _WINDOW:
        yield 0, line
        return
    step = _WINDOW - _MAX_TOKEN
    for at in range(0, len(line) - _MAX_TOKEN, step):
        yield at, line[at : at + _WINDOW]


def _occurrences(line: str, value: str) -> Iterator[int]:
    start = line.find(value)
    while start != -1:
        yield start
        start = line.find(value, start + 1)


def _locate(plugin: BasePlugin, line: str, value: str, at: int) -> tuple[int, int] | None:
    """The span of one occurrence of a reported value, or None if it is not a token there."""
    end = at + len(value)
    if at > 0 and line[at - 1].isalnum() and not isinstance(plugin, TelegramBotTokenDetector):
        return None  # inside a longer word, e.g. "ACCA" + 16 chars within a hex dump
    if isinstance(plugin, BasicAuthDetector):
        # The password must sit between "user:" and "@"; the same characters elsewhere on the
        # line (the user, the scheme) are not it.
        return (at, end) if line[at - 1 : at] == ":" and line[end : end + 1] == "@" else None
    if isinstance(plugin, AzureStorageKeyDetector):
        return at + len("AccountKey="), end  # the plugin yields "AccountKey=<key>"
    if isinstance(plugin, GitHubTokenDetector | GitLabTokenDetector | JwtTokenDetector):
        # GitHub's and GitLab's patterns hold a capture group, so `findall` yields only it
        # ("ghp"); the JWT pattern ends lazily, before the signature. Grow to the whole token,
        # within bounds ("ghp_ghp_..." repeated would go quadratic).
        chars = _JWT_CHARS if isinstance(plugin, JwtTokenDetector) else _TOKEN_CHARS
        limit = min(len(line), at + _MAX_TOKEN)
        while end < limit and line[end] in chars:
            end += 1
        while line[end - 1] == ".":
            end -= 1
    return at, end


def _vendor_hits(plugin: BasePlugin, text: str, line: str, offset: int) -> Iterator[Candidate]:
    detector = f"detect-secrets:{type(plugin).__name__}"
    # A database scheme makes our own URL rule the more specific one.
    priority = BASIC_AUTH - 1 if isinstance(plugin, BasicAuthDetector) else ENGINE_SPECIFIC
    for value in set(plugin.analyze_string(line)):
        if not any(c.isalnum() for c in value):
            continue
        covered = -1
        for at in _occurrences(line, value):
            if at < covered:
                continue  # inside the token just reported ("ghp_ghp_..." repeats its value)
            span = _locate(plugin, line, value, at)
            if span is None or not _credible_vendor_token(plugin, text, line, offset, span):
                continue
            start, end = span
            covered = end
            type_ = _VENDOR_TYPES[type(plugin)]
            if isinstance(plugin, AWSKeyDetector) and end - start == _AWS_SECRET_LENGTH:
                type_ = t.AWS_SECRET_ACCESS_KEY  # its second pattern captures the secret key
            yield Candidate(type_, offset + start, offset + end, 0.9, priority, detector)


def _credible_vendor_token(
    plugin: BasePlugin, text: str, line: str, offset: int, span: tuple[int, int]
) -> bool:
    start, end = span
    token = line[start:end]
    if isinstance(plugin, TwilioKeyDetector):
        return not token.startswith("AC")  # an account SID identifies, it does not authenticate
    if isinstance(plugin, PrivateKeyDetector):
        # The plugin matches the header alone, and documentation shows headers too.
        return bool(_PEM_BODY_FOLLOWS.match(text, offset + end))
    if isinstance(plugin, BasicAuthDetector):
        return is_url_password(token, line[line.rfind("//", 0, start) + 2 : start - 1])
    return not is_placeholder(token)


_SEPARATOR = re.compile(r"[=\\]")


def _pieces(token: str) -> Iterator[tuple[int, str]]:
    """Split a plugin token at "=" (``NAME=value``) and at backslashes (escape sequences).

    The plugin's base64 alphabet contains "=" for padding, and also a backslash: its charset
    literal is ``'\\-_'``, meant to escape the dash, so ``\x1aName`` and ``l\u00e8s`` arrive
    as single tokens. Trailing "=" stays with the last piece as padding.
    """
    body = token.rstrip("=")
    at = 0
    for sep in _SEPARATOR.finditer(body):
        yield at, body[at : sep.start()]
        at = sep.end()
    yield at, token[at:]


def _entropy_hits(
    plugin: Base64HighEntropyString, line: str, offset: int, public: list[tuple[int, int]]
) -> Iterator[Candidate]:
    with plugin.non_quoted_string_regex(is_exact_match=False):
        tokens = list(plugin.analyze_string(line))
    cursor = 0
    for token in tokens:
        at = line.find(token, cursor)
        cursor = at + len(token)
        if len(token) < _MIN_ENTROPY_TOKEN:
            continue
        for rel, piece in _pieces(token):
            start = at + rel
            if len(piece) < _MIN_ENTROPY_TOKEN:
                continue
            entropy = plugin.calculate_shannon_entropy(piece)
            relaxed = min(plugin.entropy_limit, math.log2(len(piece)) - _ENTROPY_MARGIN)
            if entropy <= relaxed:
                continue
            if not _mixed_alphanumeric(piece) and (
                entropy <= plugin.entropy_limit or len(piece) < _LONG_TOKEN
            ):
                continue
            if not _credible_entropy_token(piece, line, start):
                continue
            if any(lo <= offset + start < hi for lo, hi in public):
                continue
            yield Candidate(
                t.HIGH_ENTROPY_STRING,
                offset + start,
                offset + start + len(piece),
                min(0.8, 0.5 + max(0.0, entropy - relaxed) / 2),
                ENTROPY,
                "detect-secrets:Base64HighEntropyString",
            )


_ID_PREFIX = re.compile(r"^(?:[a-z]{2,10}[_\-])+")
_HEX_SEGMENT = re.compile(r"[0-9a-f]{12,}")
_LOWER_WORD = re.compile(r"[a-z]{2,}")


def _is_path(piece: str) -> bool:
    """A slash-separated token with a word, a plain lower-case name or a hash as a segment.

    Base64 keys contain "/" too, but their segments are random and mostly long: a segment made
    only of lower-case letters, a word-like or a 12-hex-digit one practically never occurs.
    """
    segments = [s for s in piece.split("/") if len(s) >= 2]  # noqa: PLR2004
    return any(
        is_wordlike(s) or _LOWER_WORD.fullmatch(s) or _HEX_SEGMENT.fullmatch(s) for s in segments
    )


def _mixed_alphanumeric(piece: str) -> bool:
    # Judge "req_01HZX3K8..." by its body: a lower-case type prefix is not randomness.
    core = _ID_PREFIX.sub("", piece)
    return all(any(f(c) for c in core) for f in (str.isupper, str.islower, str.isdigit))


def _credible_entropy_token(piece: str, line: str, start: int) -> bool:
    """A high-entropy piece that reads as key material, not as an id, digest, path or text."""
    return (
        not _benign_shape(piece)
        and not _benign_context(piece, line, start)
        and looks_random(piece)
        and not is_ordinary_base64(piece)
    )


def _benign_shape(piece: str) -> bool:
    return (
        any(f(piece) for f in _FILTERS)  # detect-secrets' own: sequences, UUIDs, templates
        or is_hex(piece.replace("-", ""))  # digests, commit ids
        or is_placeholder(piece)
        or bool(_BENIGN_TOKEN.search(piece))
        # Both base64 alphabets at once ("+/" and "-_") is no single encoding: "org/model-7B".
        or (any(c in piece for c in "+/") and any(c in piece for c in "-_"))
        or ("/" in piece and _is_path(piece))
    )


def _benign_context(piece: str, line: str, start: int) -> bool:
    word_start = max(line.rfind(" ", 0, start), line.rfind("\t", 0, start)) + 1
    word_end = next((i for i in range(start, len(line)) if line[i].isspace()), len(line))
    word = line[word_start:word_end]
    before = line[max(0, start - 40) : start]
    return bool(
        heuristic.is_likely_id_string(piece, line)  # "user_id = ..." names an identifier
        or is_known_example(word)  # a piece of a published example (the jwt.io token)
        or _CRYPT_HASH.search(word)  # "$2b$12$...", "$6$salt$...": a password hash
        or _BENIGN_BEFORE.search(before)  # "sha256:", "ssh-rsa ", "integrity=", "id=\""
        or ("/" in piece and _URL_BEFORE.search(before))  # a URL path: document ids
    )
