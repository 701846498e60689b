"""Checks on what a rule matched: is the value credible, does the name name a secret?

Rules in :mod:`classifiers.secrets.rules` refer to these. Each takes the candidate value and the
match (for the groups around it: the name, the operator, the user of a URL) and answers yes or
no; none keeps the value.
"""

from __future__ import annotations

import re

from classifiers.secrets.values import (
    char_classes,
    is_credential_value,
    is_hex,
    is_placeholder,
    is_prose_word,
    is_url_password,
    looks_random,
    name_parts,
)

# --- vendor formats -----------------------------------------------------------------------------


def mixed_token(value: str, _m: re.Match[str]) -> bool:
    """Generated tokens mix character classes; "sk-aaaaaaaa..." or all-letter words do not."""
    return char_classes(value) >= 2  # noqa: PLR2004


def aws_secret_key(value: str, _m: re.Match[str]) -> bool:
    """40 base64 characters that are not a sha1 hex digest: real keys mix all three classes."""
    return not is_hex(value) and all(
        any(f(c) for c in value) for f in (str.isupper, str.islower, str.isdigit)
    )


def pem_block(value: str, _m: re.Match[str]) -> bool:
    """A key body, long and varied; a header with "MIIE..." or "..." is documentation."""
    body = value.split("-----")[2] if value.count("-----") >= 2 else value  # noqa: PLR2004
    alnum = [c for c in body.replace("\\n", "") if c.isalnum()]
    return len(alnum) >= 40 and len(set(alnum)) >= 16  # noqa: PLR2004


def slack_webhook(value: str, _m: re.Match[str]) -> bool:
    """The last path segment is the secret; Slack's docs show it as "XXXXXXXX..."."""
    last = value.rstrip("/").rsplit("/", 1)[-1]
    return len(last) >= 8 and not is_placeholder(last)  # noqa: PLR2004


def url_password(value: str, m: re.Match[str]) -> bool:
    """The password of ``scheme://user:password@host`` is not a documentation stand-in."""
    return is_url_password(value, m.group("user"))


def weak_credential(value: str, _m: re.Match[str]) -> bool:
    """A value that can be a password: not a placeholder, a reference or a plain word."""
    return is_credential_value(value, strong=False)


def strong_credential(value: str, _m: re.Match[str]) -> bool:
    """A value that can be a generated key or token."""
    return is_credential_value(value, strong=True)


def bearer_token(value: str, _m: re.Match[str]) -> bool:
    """A token after "Bearer": long, or random-looking ("Bearer token expired" is prose)."""
    return is_credential_value(value, strong=True) and (len(value) >= 20 or looks_random(value))  # noqa: PLR2004


def spaced_password(value: str, _m: re.Match[str]) -> bool:
    """A value after "password" without "=" or "is" (.netrc, redis.conf): mixed, not a word."""
    return (
        len(value) >= 6  # noqa: PLR2004
        and char_classes(value) >= 2  # noqa: PLR2004
        and is_credential_value(value, strong=False)
    )


# --- secret-sounding names ----------------------------------------------------------------------

_PASSWORD_NOUNS = frozenset(
    {"password", "passwd", "passwort", "pwd", "pass", "passphrase", "passcode", "pw", "requirepass"}
)
_STRONG_NOUNS = frozenset(
    {"token", "apikey", "credential", "credentials", "secret", "masterauth", "authtoken"}
)
# "key" names a secret only with one of these before it: api_key, secret_key, signing_key.
_KEY_QUALIFIERS = frozenset(
    {
        "api",
        "secret",
        "access",
        "private",
        "priv",
        "auth",
        "client",
        "signing",
        "encryption",
        "encrypt",
        "master",
        "app",
        "account",
        "service",
        "subscription",
        "license",
        "session",
        "shared",
        "hmac",
        "webhook",
        "consumer",
        "storage",
        "admin",
        "jwt",
        "db",
        "database",
    }
)
# Any of these words in a name makes it something other than a secret: a public key, a limit,
# an LLM's special token, a pagination cursor, an example.
_NOT_SECRET_PARTS = frozenset(
    {
        "public",
        "pub",
        "publishable",
        "max",
        "min",
        "next",
        "page",
        "pagination",
        "continuation",
        "sync",
        "cancellation",
        "cancel",
        "stop",
        "eos",
        "bos",
        "pad",
        "unk",
        "sep",
        "cls",
        "mask",
        "special",
        "start",
        "end",
        "input",
        "output",
        "prompt",
        "completion",
        "total",
        "num",
        "count",
        "csrf",
        "xsrf",
        "cache",
        "dummy",
        "example",
        "sample",
        "fake",
    }
)
# "pass" is a password only after one of these (DB_PASS, smtp_pass); otherwise it is a pass of
# a compiler, a test result, a bypass.
_PASS_OWNERS = frozenset(
    {
        "db",
        "database",
        "user",
        "usr",
        "admin",
        "root",
        "smtp",
        "mail",
        "email",
        "ftp",
        "ssh",
        "redis",
        "mysql",
        "pg",
        "postgres",
        "proxy",
        "api",
        "app",
        "login",
        "wifi",
        "ldap",
        "vpn",
        "my",
        "key",
        "sudo",
        "basic",
        "http",
    }
)
_TRAILING_OK = frozenset({"value", "base", "b64", "base64", "hex", "str", "plain", "raw", "string"})


_GLUED_NOUNS = ("password", "passwd", "token", "secret", "apikey")


def _unglue(part: str) -> list[str]:
    """Split a noun glued to a prefix: "pgpassword" -> ["pg", "password"]."""
    for noun in _GLUED_NOUNS:
        if part.endswith(noun) and len(part) > len(noun):
            return [part[: -len(noun)], noun]
    return [part]


def secret_name_strength(name: str) -> bool | None:
    """Whether ``name`` names a secret: None if not, else whether its value must look generated.

    The last word decides (``password_min_length`` is a length, ``max_tokens`` a count);
    ``key`` counts only with a qualifier (``api_key``, ``secret_key``), never alone.
    """
    parts = name_parts(name)
    while parts and (parts[-1] in _TRAILING_OK or parts[-1].isdigit()):
        parts.pop()  # SECRET_KEY_BASE, password2
    if parts:
        parts[-1:] = _unglue(parts[-1])  # PGPASSWORD, APITOKEN
    if not parts or any(p in _NOT_SECRET_PARTS for p in parts):
        return None
    last = parts[-1]
    before = parts[-2] if len(parts) > 1 else ""
    if last == "pass" and before and before not in _PASS_OWNERS:
        return None
    if last in _PASSWORD_NOUNS or (last == "auth" and before in {"basic", "http", "proxy"}):
        return False
    if last in _STRONG_NOUNS or (last in {"key", "keys"} and before in _KEY_QUALIFIERS):
        return True
    return None


# --- assignments --------------------------------------------------------------------------------

# Letters earlier on the line and a space right before the name, outside any brackets: a
# sentence or a chat line ("Wifi name: HomeNet, Password: x"), not a config key or an object.
_PROSE_BEFORE = re.compile(r"^[^{}\[\]()<>=\n]*[A-Za-z][^{}\[\]()<>=\n]*[ \t]$")
_IDENTIFIER = re.compile(r"[A-Za-z_]+")
_MORE_WORDS = re.compile(r"[ \t]+[A-Za-z]")
_CODE_NAME = re.compile(r"[a-z]+|[a-z_][a-z0-9]*_[a-z0-9_]*|[a-z]+(?:[A-Z][a-z0-9]*)+")
_CODE_TAIL = re.compile(r"[ \t]*(?:[,)\]|]|=(?!=))")
_DOC_FIELD = re.compile(r"(?:[:@](?:param|type|ivar|cvar|var|arg|raises?|returns?)\b[^\n]*)$")


def _reads_as_code(value: str, m: re.Match[str]) -> bool:
    """True when an assigned "value" is really code: a variable, a type annotation.

    ``password: HiddenText | None = None``, ``connect(password=pw)``, ``ph, pw = ph_up, pw_up``,
    ``username, password = auth``. Only bare values qualify. Config files write bare values
    too, but as ``PASSWORD=x`` (upper case, or no spaces) or with values such as ``hunter2``
    that code does not name its variables (a plain word, snake_case or camelCase).
    """
    end = m.string.rfind(value, m.start(), m.end()) + len(value)
    if m.string[end : end + 1] in {'"', "'", "`"}:
        return False  # quoted: a literal, not a reference
    if _IDENTIFIER.fullmatch(value) and _CODE_TAIL.match(m.string, end):
        return True
    groups = m.groupdict()
    name = groups.get("name") or groups.get("kw") or ""
    if groups.get("op") not in {"=", ":=", "=>"} or name.isupper():
        return False
    spaced = m.string[m.start("op") - 1] in " \t"
    return spaced and bool(_CODE_NAME.fullmatch(value))


def _sentence_goes_on(value: str, m: re.Match[str]) -> bool:
    # "# Pre-pass: find inputs of ...", "passwd: compat systemd": a word, then more words.
    return (
        value.isalpha()
        and (value.islower() or value.istitle())
        and bool(_MORE_WORDS.match(m.string, m.end()))
    )


def assignment(value: str, m: re.Match[str]) -> bool:
    """``name <op> value`` where the name names a secret and the value can be one."""
    name = m.group("name")
    strength = secret_name_strength(name)
    if strength is None or value == name:
        return False
    op = m.group("op")
    if op == ":" and not m.group("q"):
        # "pw: x", "Grandma's laptop password: x" read as sentences, not config keys:
        # leave them to the prose rule, which types them PASSWORD_IN_PROSE.
        line_start = m.string.rfind("\n", 0, m.start()) + 1
        if name_parts(name) == ["pw"] or _PROSE_BEFORE.match(m.string[line_start : m.start()]):
            return False
    if name.lower() == "pass" and (op != "=" or m.string[m.end("name")] != "="):
        # Only `PASS=x` (an env file) counts: "PASS: test-name" is a test log, `pass` is
        # Python's keyword and reST writes "pass :param:".
        return False
    if _reads_as_code(value, m):
        return False
    if op == ":" and m.group("bare") is not None and _sentence_goes_on(value, m):
        return False
    return is_credential_value(value, strong=strength)


def tag_assignment(value: str, m: re.Match[str]) -> bool:
    """``<password>value</password>``: the element's name names a secret."""
    strength = secret_name_strength(m.group("name"))
    return strength is not None and is_credential_value(value, strong=strength)


def flag_assignment(value: str, m: re.Match[str]) -> bool:
    """``--password value`` / ``--api-key=value`` on a command line."""
    strength = secret_name_strength(m.group("name"))
    if strength is None:
        return False
    if m.group("sep") != "=" and m.group("bare") is not None and char_classes(value) < 2:  # noqa: PLR2004
        return False  # "the --password option": a word after a flag in prose, not a value
    return is_credential_value(value, strong=strength)


# --- prose --------------------------------------------------------------------------------------

_CODE_KEYWORDS = re.compile(r"(?i)pin|code")
_KEY_KEYWORDS = re.compile(r"(?i)key|token|secret")
_SLUG = re.compile(r"[a-z]+(?:-[a-z]+)+")


def _is_pin(value: str) -> bool:
    digits = value.rstrip("#*")  # keypads end entry with "#"
    return digits.isdigit() and 4 <= len(digits) <= 10  # noqa: PLR2004


def _reads_as_sentence(value: str, m: re.Match[str]) -> bool:
    """The "value" after a keyword is just the sentence going on."""
    op = m.group("op")
    quoted = m.string[m.start("word") - 1] in {'"', "'", "\u201c", "\u2018", "`"}
    return bool(
        is_prose_word(value)  # "the password is incorrect"
        or (_SLUG.fullmatch(value) and not quoted)  # "update-passwd is single-threaded"
        or (op == "to" and char_classes(value) < 2)  # "--change-passphrase to rewrite it"  # noqa: PLR2004
        or (op == ":" and _sentence_goes_on(value, m))  # "passwd: compat systemd"
    )


def prose_password(value: str, m: re.Match[str]) -> bool:
    """A keyword then one token: "my password is X", "pw: X", "the door code is 4471"."""
    keyword = m.group("kw").lower()
    line_start = m.string.rfind("\n", 0, m.start("kw")) + 1
    if _DOC_FIELD.search(m.string, line_start, m.start("kw")) or _reads_as_code(value, m):
        return False  # ":param password: the database password", "def f(pw: Split)"
    if _CODE_KEYWORDS.search(keyword) and not keyword.startswith("pass"):
        return _is_pin(value)
    if keyword.startswith("passcode"):
        return _is_pin(value) or spaced_password(value, m)
    if _reads_as_sentence(value, m):
        return False
    if _KEY_KEYWORDS.search(keyword):  # "the api key is ...": generated material only
        return len(value) >= 12 and is_credential_value(value, strong=True)  # noqa: PLR2004
    return is_credential_value(value, strong=False)
