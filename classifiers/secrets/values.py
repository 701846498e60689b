"""Judging candidate values: is this a credential, or a placeholder, a reference, a word, a hash?

Every detector (the rule table and detect-secrets alike) proposes candidates; these predicates
decide which of them are worth a finding. They see the candidate value only transiently and
return booleans, so nothing here keeps or logs a value.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import string

# Well-known documentation values. They look real but are published as examples, so flagging
# them would quarantine every memory that quotes the AWS, jwt.io or Azurite docs.
KNOWN_EXAMPLES = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",  # jwt.io's default token signature
        (  # the Azurite emulator's published account key
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
            "KBHBeksoGMGw=="
        ),
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
    "...",
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
_SLUG = re.compile(r"[a-z]+(?:[_\-.][a-z0-9]+)+|[A-Z]+(?:_[A-Z0-9]+)+")
_CREDENTIAL_PAIR = re.compile(r"[^\s:]{1,128}:\S{1,256}")

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
        "present",
        "absent",
        "given",
        "supplied",
        "specified",
        "configured",
        "enabled",
        "disabled",
        "accepted",
        "rejected",
        "ignored",
        "optional",
        "none",
        "null",
        "longer",
        "shorter",
        "stronger",
        "weaker",
        "greater",
        "less",
        "more",
        "fewer",
        "better",
        "worse",
        # irregular participles: "the passphrase is shown", "the password was stolen"
        "shown",
        "seen",
        "taken",
        "hidden",
        "chosen",
        "broken",
        "kept",
        "done",
        "gone",
        "made",
        "held",
        "told",
        "found",
        "left",
        "built",
        "read",
        "out",
        "up",
        "down",
        "off",
        "back",
    }
)

# The ~250 most frequent English letter pairs. Identifiers (DeepseekOcr2TextConfig, snake_case
# names, URL paths) are made of words, so nearly all their letter pairs are common ones; in
# random key material only ~38% are.
_BIGRAMS = (
    "th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le"
    " ve co me de hi ri ro ic ne ea ra ce li ch ll be ma si om ur ca el ta la ns di fo ho pe ec"
    " pr no ct us ac ot il tr ly nc et ut ss so rs un lo wa ge ie wh ee wi em ad ol rt po we na"
    " ul ni ts mo ow pa im mi ai sh ir su id os iv ia am fi ci vi pl ig tu ev ld ry mp fe bl ab"
    " gh ty op wo sa ay ex ke fr oo av ag if ap gr od bo sp rd do uc bu ei ov by rm ep tt oc fa"
    " ef cu rn sc gi da yo cr cl du ga qu ue ff ba ey ls va um pp ua up lu go ht ru ug ds lt pi"
    " rc rr eg au ck ew mu br bi pt ak pu ui rg ib tl ny ki rk ys ob mm fu ph og ms ye ud mb ip"
    " ub oi rl gu dr hr cc tw ft wn nu af hu nn eo vo rv nf xp gn sm fl iz ok nl my gl aw ju oa"
    " eq sy sl ps jo lf nv je nk kn gs dy hy ze ks xt bj"
)
_COMMON_BIGRAMS = frozenset(_BIGRAMS.split())
# Camel-case parts: "TestVerifyGCType" -> Test, Verify, GC, Type. Pairs across a part boundary
# ("tV") say nothing about words.
_WORD_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_LOWER_RUN = re.compile(r"[a-z]+")

_PROSE_SUFFIXES = (
    "ed",
    "ing",
    "ly",
    "able",
    "ible",
    "ous",
    "ive",
    "ful",
    "less",
    "tion",
    "ment",
    "ient",  # sufficient, convenient
)
_WORD_THEN_PUNCTUATION = re.compile(r"([A-Za-z]+)[.,;:!?](?![A-Za-z0-9])")


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
    if "{" in value or "}" in value:  # a template or format string: {n_tokens}, {{ token }}
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

    switches = sum(cls(a) != cls(b) for a, b in itertools.pairwise(alnum))
    if switches / (len(alnum) - 1) < 0.3:  # noqa: PLR2004 - measured: base62 ~0.55, camelCase ~0.1
        return False
    return not is_wordlike(token)


def is_wordlike(token: str) -> bool:
    """True when a token is built from words: identifiers, class names, paths, slugs.

    Two measured signals must agree: most letter pairs within words are common English
    bigrams (random text: ~38%), and lower-case letters come in runs rather than alone (random
    mixed-case text isolates ~35% of its lower-case letters, CamelCase names under 15%).
    Measured on random alphanumeric tokens: 1.0% of 22-character ones read as word-like, 0.3%
    of 32-character ones.
    """
    pairs = [
        part[i : i + 2].lower()
        for part in _WORD_PART.findall(token)
        if not part.isupper()  # acronyms (NID, CBC, MD) are not words
        for i in range(len(part) - 1)
    ]
    if len(pairs) < 6:  # noqa: PLR2004 - too few letters to judge
        return False
    common = sum(pair in _COMMON_BIGRAMS for pair in pairs) / len(pairs)
    runs = _LOWER_RUN.findall(token)
    lone = sum(len(run) == 1 for run in runs) / max(1, sum(map(len, runs)))
    return common >= 0.7 and lone <= 0.2  # noqa: PLR2004


def is_ordinary_base64(token: str) -> bool:
    """True when the token is base64 of readable text (prose, JSON, a query), not key material."""
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
    if len(decoded) < 6 or not all(c.isprintable() or c in "\n\t" for c in decoded):  # noqa: PLR2004
        return False  # key material decodes to bytes, not text
    # Readable text (prose, JSON, "offset=200&limit=50") is ordinary, except a "user:password"
    # pair, which is exactly what a Basic auth header carries.
    return not _CREDENTIAL_PAIR.fullmatch(decoded)


def is_prose_word(value: str) -> bool:
    """True when a value taken from a sentence is just the next word of that sentence."""
    head = _WORD_THEN_PUNCTUATION.match(value)
    if head:  # 'Password is correct.&quot;' (markup after the sentence): judge the word
        value = head.group(1)
    lowered = value.lower()
    if lowered in COMMON_WORDS or lowered in TYPE_WORDS:
        return True
    word = value.isalpha() and (value.islower() or value.istitle())
    return word and lowered.endswith(_PROSE_SUFFIXES)


def is_credential_value(value: str, *, strong: bool) -> bool:
    """True when an assigned or stated value can be a credential.

    ``strong`` asks for key-like material (length and mixed characters), used for names such as
    ``token`` or ``api_key`` whose values are machine generated; passwords may be plain words.
    """
    lowered = value.lower()
    if (
        not 4 <= len(value) <= 512  # noqa: PLR2004
        or value != value.strip()  # '"passwd:" and "group:"' quotes words, not a password
        or not any(c.isalnum() for c in value)
        or is_placeholder(value)
        or is_reference(value)
        or lowered in TYPE_WORDS
        or lowered in DOC_PASSWORDS
        or is_prose_word(value)
    ):
        return False
    if strong:
        # Generated keys: long or mixed, and not made of words ("cond_frame_outputs").
        if _SLUG.fullmatch(value) or is_wordlike(value):
            return False
        return len(value) >= 16 or (len(value) >= 8 and char_classes(value) >= 2)  # noqa: PLR2004
    return True


# Passwords that documentation puts in URLs and configs to show the shape.
DOC_PASSWORDS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "pw",
        "secret",
        "token",
        "apikey",
        "key",
        "user",
        "username",
        "changeme",
        "admin",
        "root",
        "test",
        "tiger",  # scott:tiger, the SQLAlchemy and Oracle documentation login
    }
)


def is_url_password(password: str, user: str) -> bool:
    """True when the password part of ``scheme://user:password@host`` can be a credential."""
    if password.lower() in DOC_PASSWORDS or is_placeholder(password):
        return False
    if password == user:  # postgres:postgres@localhost: a default, not a secret
        return False
    if len(password) < 4 or (password.isdigit() and len(password) <= 5):  # noqa: PLR2004
        return False  # "u:p@dsn", "abc:xyz@example.com" in docs; "host:8080@" is a port
    return not password.startswith(("$", "%", "{"))
