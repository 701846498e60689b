"""Judging candidate values: is this a credential, or a placeholder, a reference, a word, a hash?

Every detector (the rule table and detect-secrets alike) proposes candidates; these predicates
decide which of them are worth a finding. They see the candidate value only transiently and
return booleans, so nothing here keeps or logs a value.
"""

from __future__ import annotations

import base64
import binascii
import re
import string

# Well-known documentation values. They look real but are published as examples, so flagging
# them would quarantine every memory that quotes the AWS, jwt.io or Azurite docs.
KNOWN_EXAMPLES = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",  # jwt.io's default token signature
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
        "KBHBeksoGMGw==",  # the Azurite emulator's published account key
    }
)

# Substrings that mark a value as a stand-in rather than a credential.
_PLACEHOLDER_MARKERS = (
    "example",
    "placeholder",
    "your",
    "changeme",
    "change_me",
    "change-me",
    "redacted",
    "dummy",
    "sample",
    "insert",
    "replace",
    "xxxx",
    "****",
    "....",
    "\u2026",
    "<",
    ">",
    "{{",
    "${",
    "%(",
    "fixme",
    "todo",
    "_here",
    "-here",
)

_REPEAT_RUN = re.compile(r"(.)\1{5,}")  # six identical characters in a row: "XXXXXX", "000000"
_IDENTIFIER_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_CALL_OR_INDEX = re.compile(r"[\w.]+\s*[\[(]")
_ENV_REFERENCE = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%[A-Za-z_][A-Za-z0-9_]*%")
_FILE_PATH = re.compile(
    r"(?:[~.]{0,2}/|[A-Za-z]:\\)[\w./\\-]*|[\w./-]+\.(?:pem|key|json|txt|p12|pfx|crt|env|ya?ml)",
    re.IGNORECASE,
)
_SECRET_PARTS = frozenset(
    {"password", "passwd", "pwd", "pass", "secret", "token", "apikey", "key", "credential"}
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[^A-Za-z0-9]+")
_HEX = frozenset(string.hexdigits)

# Values that a config or schema gives a secret-named field without it holding a secret:
# types, booleans, empty markers, masking words.
TYPE_WORDS = frozenset(
    {
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "null",
        "none",
        "nil",
        "undefined",
        "required",
        "optional",
        "str",
        "string",
        "int",
        "integer",
        "bool",
        "boolean",
        "bytes",
        "text",
        "varchar",
        "char",
        "secretstr",
        "any",
        "object",
        "hidden",
        "masked",
        "mask",
        "redacted",
        "omitted",
        "empty",
        "blank",
        "unset",
        "notset",
        "default",
        "env",
        "environ",
        "environment",
        "vault",
        "keyring",
        "keychain",
        "prompt",
        "input",
        "stdin",
        "file",
        "secret",
        "password",
        "passwd",
        "token",
        "value",
        "bearer",
        "basic",
        "sensitive",
        "encrypted",
        "plaintext",
        "generated",
        "random",
        "auto",
        "rotate",
        "rotated",
        "expired",
        "invalid",
        "missing",
    }
)

# Words that follow "password is" / "password:" in ordinary sentences. A value from prose that
# is one of these is grammar, not a credential.
COMMON_WORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "is",
        "was",
        "be",
        "been",
        "being",
        "are",
        "not",
        "now",
        "still",
        "also",
        "just",
        "only",
        "too",
        "very",
        "so",
        "quite",
        "really",
        "always",
        "never",
        "same",
        "different",
        "wrong",
        "right",
        "correct",
        "incorrect",
        "strong",
        "weak",
        "long",
        "short",
        "secure",
        "insecure",
        "safe",
        "unsafe",
        "new",
        "old",
        "good",
        "bad",
        "fine",
        "ok",
        "okay",
        "set",
        "reset",
        "stored",
        "saved",
        "hashed",
        "salted",
        "shared",
        "known",
        "unknown",
        "in",
        "on",
        "at",
        "of",
        "for",
        "to",
        "from",
        "with",
        "without",
        "by",
        "as",
        "and",
        "or",
        "but",
        "if",
        "when",
        "then",
        "than",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "my",
        "your",
        "our",
        "their",
        "his",
        "her",
        "there",
        "here",
        "what",
        "which",
        "who",
        "how",
        "where",
        "why",
        "written",
        "taped",
        "listed",
        "below",
        "above",
        "attached",
        "needed",
        "required",
        "mandatory",
        "case",
        "sensitive",
        "policy",
        "manager",
        "field",
        "length",
        "change",
        "update",
        "rotation",
        "protected",
        "complex",
        "simple",
        "easy",
        "hard",
        "obvious",
        "blank",
        "empty",
        "see",
        "check",
        "ask",
        "use",
        "using",
        "used",
        "sent",
        "via",
        "please",
        "will",
        "would",
        "should",
        "must",
        "can",
        "could",
        "may",
        "might",
        "has",
        "had",
        "have",
        "does",
        "did",
        "do",
        "same",
        "valid",
        "invalid",
        "expired",
        "missing",
        "provided",
        "printed",
        "visible",
        "unchanged",
        "temporary",
        "default",
        "public",
        "private",
        "encrypted",
        "stolen",
        "leaked",
        "compromised",
        "forgotten",
        "lost",
        "something",
        "nothing",
        "anything",
        "everything",
        "whatever",
        "another",
        "other",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "eight",
        "ten",
        "twelve",
        "characters",
        "chars",
        "digits",
        "letters",
        "words",
        "word",
        "prompt",
        "hint",
        "reminder",
        "link",
        "email",
        "form",
        "screen",
        "page",
        "dialog",
        "box",
        "login",
        "admin",
        "user",
        "username",
        "root",
        "test",
    }
)

_PROSE_SUFFIXES = ("ed", "ing", "ly", "able", "ible", "ous", "ive", "ful", "less", "tion", "ment")


def char_classes(value: str) -> int:
    """How many of lower case, upper case, digits and symbols the value uses."""
    return (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not c.isalnum() for c in value)
    )


def is_known_example(value: str) -> bool:
    """True for published documentation credentials (AWS, jwt.io, Azurite)."""
    return any(example in value for example in KNOWN_EXAMPLES)


def is_placeholder(value: str) -> bool:
    """True when the value is a stand-in: a documentation example, a template, a masked run."""
    if is_known_example(value):
        return True
    lowered = value.lower()
    if any(marker in lowered for marker in _PLACEHOLDER_MARKERS):
        return True
    # Random tokens essentially never repeat one character six times; masks and fillers do.
    if _REPEAT_RUN.search(value):
        return True
    core = value.rsplit("-", 1)[-1].rsplit("_", 1)[-1]
    return len(core) >= 8 and len(set(core)) <= 3  # noqa: PLR2004 - "abababab", "x0x0x0x0"


def is_reference(value: str) -> bool:
    """True when the value points at a secret instead of being one (env var, call, path)."""
    if _ENV_REFERENCE.fullmatch(value) or value.startswith(("$", "%", "!", "&", "*", "@")):
        return True
    if _IDENTIFIER_PATH.fullmatch(value) or _CALL_OR_INDEX.match(value):
        return True
    if _FILE_PATH.fullmatch(value):
        return True
    # `password = db_password`, `token: secrets.TOKEN`: the value names a secret. A glued
    # word such as "supersecret1" is not split here, so it can still be a password.
    return any(part in _SECRET_PARTS for part in name_parts(value))


def name_parts(name: str) -> list[str]:
    """Lower-case words of an identifier: ``X-Api-Key`` and ``apiKey`` give ``[.., "key"]``."""
    return [part.lower() for part in _CAMEL.split(name) if part]


def is_hex(value: str) -> bool:
    """True when every character is a hexadecimal digit (hashes, commit ids, digests)."""
    return bool(value) and all(c in _HEX for c in value)


def looks_random(token: str) -> bool:
    """True when a token reads like generated key material rather than words or identifiers.

    Random base62/base64 text switches between lower case, upper case and digits on roughly
    every other character; identifiers, paths and prose switch rarely (camelCase) or never.
    """
    alnum = [c for c in token if c.isalnum()]
    if len(alnum) < 16:  # noqa: PLR2004 - shorter tokens cannot be told apart from words
        return False
    has_digit = any(c.isdigit() for c in alnum)
    has_upper = any(c.isupper() for c in alnum)
    has_lower = any(c.islower() for c in alnum)
    if has_digit + has_upper + has_lower < 2:  # noqa: PLR2004
        return False

    def cls(c: str) -> int:
        return 0 if c.isdigit() else 1 if c.isupper() else 2

    switches = sum(cls(a) != cls(b) for a, b in zip(alnum, alnum[1:], strict=False))
    return switches / (len(alnum) - 1) >= 0.3  # noqa: PLR2004 - measured: base62 ~0.55, camelCase ~0.1


def is_ordinary_base64(token: str) -> bool:
    """True when the token is base64 of readable prose (several words), not key material."""
    padded = token + "=" * (-len(token) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        try:
            raw = base64.urlsafe_b64decode(padded)
        except (binascii.Error, ValueError):
            return False
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    printable = sum(c.isprintable() or c in "\n\t" for c in decoded)
    # Prose has spaces between words; "user:pass" (a Basic auth header) does not.
    return printable == len(decoded) and decoded.count(" ") >= 2  # noqa: PLR2004


def is_prose_word(value: str) -> bool:
    """True when a value taken from a sentence is just the next word of that sentence."""
    lowered = value.lower()
    if lowered in COMMON_WORDS or lowered in TYPE_WORDS:
        return True
    return value.isalpha() and value.islower() and lowered.endswith(_PROSE_SUFFIXES)


def is_credential_value(value: str, *, strong: bool) -> bool:
    """True when an assigned or stated value can be a credential.

    ``strong`` asks for key-like material (length and mixed characters), used for names such as
    ``token`` or ``api_key`` whose values are machine generated; passwords may be plain words.
    """
    if len(value) < 4 or len(value) > 512:  # noqa: PLR2004
        return False
    if not any(c.isalnum() for c in value):
        return False
    if is_placeholder(value) or is_reference(value):
        return False
    if value.lower() in TYPE_WORDS or is_prose_word(value):
        return False
    if strong:
        return len(value) >= 16 or (len(value) >= 8 and char_classes(value) >= 2)  # noqa: PLR2004
    return True
