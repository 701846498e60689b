"""Normalisation before scanning, with every span mapped back to the original text.

Classifiers scan the :func:`views` of a text rather than the raw text, so that obfuscation does
not hide a secret, a PII value or an injected instruction: zero-width characters inside a token,
fullwidth or other compatibility forms, Cyrillic look-alikes inside a Latin token, and values
wrapped in URL-, base64- or JSON-encoding. Whatever is found in a view is mapped back with
:meth:`View.to_original`, so that redaction removes the ORIGINAL characters, including the
invisible ones inside the token.

Cost is linear in the input: every pattern here is written so that it cannot backtrack
quadratically, each decoder's output is no longer than its input, decoding goes at most
:data:`MAX_DEPTH` levels deep and at most :data:`MAX_DECODED_VIEWS` decoded views are returned.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote

MAX_DEPTH = 2
"""Decoded wrappers inside decoded wrappers are read; a third level is not."""

MAX_DECODED_VIEWS = 32
"""At most this many decoded views; any further wrappers share the last one (see views())."""

MIN_BASE64_LENGTH = 16
"""Shorter runs are too likely to be ordinary identifiers to be worth decoding."""

_MIN_DECODED = 4  # a base64 blob decoding to fewer characters is not worth a view
_MAX_CODE_POINT = 0x10FFFF
_TAG_FIRST, _TAG_LAST = 0xE0020, 0xE007E  # tag characters that mirror printable ASCII

_MAX_CLUSTER = 32
"""A base character with more combining marks than this is split; bounds the NFKC work."""

# Characters removed from the clean view: C0/C1 controls except \t and \n, every Unicode format
# character (Cf: zero-width space/joiners, soft hyphen, bidi controls, word joiner, BOM, tag
# characters...), variation selectors and the Hangul fillers, which render as nothing and are
# used to split a token so that a pattern no longer matches. tests/unit/test_normalise.py checks
# that every Cf character of the running Unicode database is covered.
_INVISIBLE = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f"
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    "\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164"
    "\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff"
)
# Zero-width characters next to a line break mark a deliberate join: a token split over two
# lines with a zero-width joiner at the break is read as one token (the break, the invisible
# character and the next line's indentation are all dropped).
_JOINERS = "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff"
_DROP = re.compile(
    f"[{_JOINERS}]\r?\n[ \t]*"  # one joiner, then the break: never a run, so never quadratic
    f"|\r?\n[ \t]*(?=[{_JOINERS}])"
    f"|[{_INVISIBLE}]"
)
_ASCII_DROP = re.compile("[\x00-\x08\x0b-\x1f\x7f]")

# Cyrillic and Greek letters that look like Latin ones. Folded only inside a word that also
# holds ASCII letters or digits (a mixed-script token is the spoofing signal), so ordinary
# Russian or Greek text is left alone. One character for one: offsets do not move.
# Named rather than written out, so that the source shows which letter is which.
_LOOKALIKES = {
    "CYRILLIC SMALL LETTER": {
        "A": "a", "IE": "e", "O": "o", "ER": "p", "ES": "c", "U": "y", "HA": "x",
        "BYELORUSSIAN-UKRAINIAN I": "i", "JE": "j", "DZE": "s", "KOMI DE": "d", "SHHA": "h",
        "PALOCHKA": "l", "QA": "q", "WE": "w", "SOFT SIGN": "b",
    },
    "CYRILLIC CAPITAL LETTER": {
        "A": "A", "VE": "B", "IE": "E", "KA": "K", "EM": "M", "EN": "H", "O": "O", "ER": "P",
        "ES": "C", "TE": "T", "HA": "X", "U": "Y", "BYELORUSSIAN-UKRAINIAN I": "I", "JE": "J",
        "DZE": "S", "STRAIGHT U": "Y", "QA": "Q", "WE": "W",
    },
    "GREEK CAPITAL LETTER": {
        "ALPHA": "A", "BETA": "B", "EPSILON": "E", "ZETA": "Z", "ETA": "H", "IOTA": "I",
        "KAPPA": "K", "MU": "M", "NU": "N", "OMICRON": "O", "RHO": "P", "TAU": "T",
        "UPSILON": "Y", "CHI": "X",
    },
    "GREEK SMALL LETTER": {"OMICRON": "o", "IOTA": "i", "NU": "v", "RHO": "p", "UPSILON": "u"},
    "CYRILLIC LETTER": {"PALOCHKA": "I"},
    "GREEK": {"LUNATE SIGMA SYMBOL": "c", "LETTER YOT": "j"},
    "LATIN SMALL LETTER": {"DOTLESS I": "i", "DOTLESS J": "j"},
}  # fmt: skip
_CONFUSABLE_MAP = {
    unicodedata.lookup(f"{prefix} {name}"): latin
    for prefix, letters in _LOOKALIKES.items()
    for name, latin in letters.items()
}
_CONFUSABLES = str.maketrans(_CONFUSABLE_MAP)
_CONFUSABLE = re.compile(f"[{''.join(_CONFUSABLE_MAP)}]")
_WORD = re.compile(r"\w+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")

# A whitespace-delimited token holding at least one %xx escape. The lookbehind starts a match
# only at a token start and the lookahead stops at the token end, so each token is read once.
_URL_TOKEN = re.compile(r"(?<!\S)(?=\S*?%[0-9A-Fa-f]{2})\S+")
# A token holding a backslash escape outside any quoted string (\u0041, \x41).
_ESCAPE_TOKEN = re.compile(r"(?<!\S)(?=\S*?\\[uUx][0-9A-Fa-f]{2})\S+")
# A run of the base64 alphabet (standard or URL-safe), optionally wrapped over several lines
# as `base64` and PEM do. Continuation lines must be whole lines of the alphabet.
_BASE64 = re.compile(
    r"(?<![A-Za-z0-9+/_-])"
    rf"[A-Za-z0-9+/_-]{{{MIN_BASE64_LENGTH},}}={{0,2}}"
    r"(?:\r?\n[ \t]*[A-Za-z0-9+/_-]{4,}={0,2}(?=[ \t]*(?:\r?\n|\Z)))*"
    r"(?![A-Za-z0-9+/=_-])"
)
# A double-quoted string on one line; only strings holding a backslash are decoded. It starts
# only at an unescaped quote and never backtracks (possessive), so each character is read once.
_JSON_STRING = re.compile(r'(?<!\\)"((?:[^"\\\n]|\\.)*+)"')
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|U([0-9a-fA-F]{8})|(.))", re.DOTALL)
_SIMPLE_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "/": "/",
    "\\": "\\",
    '"': '"',
    "'": "'",
}
# Unicode tag characters (U+E0020..U+E007E) mirror ASCII and render as nothing: "ASCII
# smuggling" hides text in them that a model still reads.
_TAG_RUN = re.compile("[\U000e0020-\U000e007e][\U000e0000-\U000e007f]*")
_TAG_OFFSET = 0xE0000
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
_LEADING_PUNCTUATION = "\"'`([{<"
_TRAILING_PUNCTUATION = "\"'`)]}>,;.!?:"


@dataclass(frozen=True, slots=True)
class View:
    """One reading of a text: the cleaned whole text, or one decoded wrapper found inside it.

    ``kind`` is ``"clean"`` for the first view and ``"url"``, ``"base64"``, ``"json"``,
    ``"escape"``, ``"tags"`` or ``"overflow"`` for decoded ones; ``depth`` is 0 for the clean
    view and the decoding level otherwise. The offset tables are private: use
    :meth:`to_original`.
    """

    text: str
    kind: str = "clean"
    depth: int = 0
    # Per character of ``text``: the start and end of the original characters it came from.
    # None means the identity (nothing was removed or changed); _ends None means start + 1.
    _starts: tuple[int, ...] | None = field(default=None, repr=False, compare=False)
    _ends: tuple[int, ...] | None = field(default=None, repr=False, compare=False)
    # For a decoded view: the encoded blob in the original, which every span maps to.
    _blob: tuple[int, int] | None = field(default=None, repr=False, compare=False)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The smallest span of the original text covering ``text[start:end]``.

        For a decoded view that is the whole encoded blob, whatever the span: a decoded
        character cannot be traced to fewer encoded ones, and redacting the whole blob is safe.
        """
        if not 0 <= start <= end <= len(self.text):
            msg = f"span {start}:{end} is outside a view of length {len(self.text)}"
            raise ValueError(msg)
        if self._blob is not None:
            return self._blob
        starts = self._starts
        if starts is None:
            return start, end
        if start == end:  # an empty span maps to the matching position in the original
            at = starts[start] if start < len(starts) else self._end_of(len(starts) - 1)
            return at, at
        return starts[start], self._end_of(end - 1)

    def _end_of(self, index: int) -> int:
        if index < 0 or self._starts is None:
            return 0
        return self._ends[index] if self._ends is not None else self._starts[index] + 1


def views(original: str) -> list[View]:
    """Every reading of ``original`` a classifier should scan; the clean whole text comes first.

    The first view is ``original`` with invisible and control characters removed (except
    ``\\n`` and ``\\t``), NFKC-normalised, and with Cyrillic/Greek look-alikes folded inside
    mixed-script words. The others are the wrappers decoded from it (URL-encoded tokens, base64
    blobs, escaped JSON strings and bare ``\\uXXXX`` tokens, tag-character runs), then the
    wrappers inside those, up to :data:`MAX_DEPTH` levels. Views with a text already seen are
    not repeated. Past :data:`MAX_DECODED_VIEWS` - 1 decoded views the rest are joined into a
    last ``"overflow"`` view that maps to the hull of their blobs, so that a flood of harmless
    wrappers cannot push a secret out of sight.
    """
    text, starts, ends = _clean(original)
    clean = View(
        text,
        "clean",
        0,
        None if starts is None else tuple(starts),
        None if ends is None else tuple(ends),
    )
    collected = _Collector(clean)
    frontier = [clean]
    for depth in range(1, MAX_DEPTH + 1):
        found: list[View] = []
        for parent in frontier:
            for kind, start, end, decoded in _wrappers(parent.text):
                collected.add(decoded, kind, depth, parent.to_original(start, end), found)
        if depth == 1 and not original.isascii():
            # Tag characters are removed from the clean view, so they are read from the original.
            for match in _TAG_RUN.finditer(original):
                collected.add(_untag(match.group()), "tags", 1, match.span(), found)
        frontier = found
    return collected.views()


class _Collector:
    """The views found so far, without repeats, and the overflow past the cap."""

    def __init__(self, clean: View) -> None:
        self._views = [clean]
        self._seen = {clean.text}
        self._overflow: list[tuple[str, tuple[int, int]]] = []

    def add(
        self, decoded: str, kind: str, depth: int, blob: tuple[int, int], found: list[View]
    ) -> None:
        cleaned = _clean_text(decoded)
        if not cleaned.strip() or cleaned in self._seen:
            return
        self._seen.add(cleaned)
        if len(self._views) >= MAX_DECODED_VIEWS:  # the clean view + 31 decoded: 32nd is shared
            self._overflow.append((cleaned, blob))
            return
        view = View(cleaned, kind, depth, _blob=blob)
        self._views.append(view)
        found.append(view)

    def views(self) -> list[View]:
        if not self._overflow:
            return self._views
        hull = (min(b[0] for _, b in self._overflow), max(b[1] for _, b in self._overflow))
        text = "\n".join(t for t, _ in self._overflow)
        return [*self._views, View(text, "overflow", 1, _blob=hull)]


def _clean(original: str) -> tuple[str, list[int] | None, list[int] | None]:
    """The clean text and, per character of it, the original span it came from.

    Returns ``(text, None, None)`` when nothing changed, and ``(text, starts, None)`` when
    every clean character is one original character (ends are starts + 1).
    """
    if original.isascii() and not _ASCII_DROP.search(original):
        return original, None, None  # the common case: nothing to remove, NFKC is the identity
    parts: list[str] = []
    index: list[int] = []
    cursor = 0
    if not _DROP.search(original) and unicodedata.is_normalized("NFKC", original):
        # Folding look-alikes is one character for one, so the offsets are still the identity.
        return _fold_confusables(original), None, None
    for match in _DROP.finditer(original):
        if match.start() > cursor:
            parts.append(original[cursor : match.start()])
            index.extend(range(cursor, match.start()))
        cursor = match.end()
    parts.append(original[cursor:])
    index.extend(range(cursor, len(original)))
    kept = "".join(parts)
    if kept.isascii():
        return kept, index, None
    if unicodedata.is_normalized("NFKC", kept):
        return _fold_confusables(kept), index, None
    text, starts, ends = _nfkc_mapped(kept, index)
    return _fold_confusables(text), starts, ends


def _clean_text(text: str) -> str:
    """The clean form of a decoded text; no offsets, since a decoded view maps to its blob."""
    if text.isascii() and not _ASCII_DROP.search(text):
        return text
    kept = _DROP.sub("", text)
    if kept.isascii():
        return kept
    return _fold_confusables(unicodedata.normalize("NFKC", kept))


def _nfkc_mapped(kept: str, index: list[int]) -> tuple[str, list[int], list[int]]:
    """NFKC of ``kept`` with, for every output character, the original span it came from.

    NFKC works on clusters (a starter and the marks or jamo that compose with it) and can change
    lengths ("ﬁ" -> "fi", "①" -> "1"), so the text is cut into clusters that normalise
    independently; each output character maps to its whole cluster. ASCII runs are copied as
    they are: ASCII is NFKC-stable and composes with nothing before it, so only the last ASCII
    character before a non-ASCII run (a base a combining mark may sit on) needs the slow path.
    """
    out = _Mapped()
    cursor = 0
    for run in _NON_ASCII.finditer(kept):
        lead = run.start() - 1 if run.start() > cursor else run.start()
        out.copy(kept, index, cursor, lead)
        out.clusters(kept, index, lead, run.end())
        cursor = run.end()
    out.copy(kept, index, cursor, len(kept))
    return "".join(out.parts), out.starts, out.ends


class _Mapped:
    """Normalised text being built, with the original span of every character."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    def copy(self, kept: str, index: list[int], start: int, end: int) -> None:
        """Append ``kept[start:end]`` unchanged: one original character per character."""
        if end > start:
            self.parts.append(kept[start:end])
            self.starts.extend(index[start:end])
            self.ends.extend(at + 1 for at in index[start:end])

    def clusters(self, kept: str, index: list[int], start: int, end: int) -> None:
        """Append NFKC of ``kept[start:end]``, cluster by cluster."""
        cluster = ""
        first = last = 0
        for char, at in zip(kept[start:end], index[start:end], strict=True):
            if cluster and _joins(cluster, char):
                cluster += char
                last = at + 1
                continue
            if cluster:
                self._emit(cluster, first, last)
            cluster, first, last = char, at, at + 1
        if cluster:
            self._emit(cluster, first, last)

    def _emit(self, cluster: str, first: int, last: int) -> None:
        normal = _nfkc(cluster)
        self.parts.append(normal)
        self.starts.extend([first] * len(normal))
        self.ends.extend([last] * len(normal))


def _joins(cluster: str, char: str) -> bool:
    """Whether ``char`` must be normalised together with the cluster before it."""
    if char < "\x80":  # ASCII neither composes with nor reorders around what precedes it
        return False
    if len(cluster) >= _MAX_CLUSTER:
        return False
    if unicodedata.combining(_nfkd(char)[0]):
        return True
    # A starter that still composes with what precedes it (Hangul jamo, some Indic vowels).
    return _nfkc(cluster + char) != _nfkc(cluster) + _nfkc(char)


@lru_cache(maxsize=4096)
def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=4096)
def _nfkd(char: str) -> str:
    return unicodedata.normalize("NFKD", char) or " "


def _fold_confusables(text: str) -> str:
    """Fold Cyrillic/Greek look-alikes to Latin inside words that mix them with ASCII."""
    if text.isascii():
        return text
    parts: list[str] = []
    cursor = 0
    for match in _WORD.finditer(text):
        word = match.group()
        if word.isascii() or not _CONFUSABLE.search(word):
            continue
        if not any(c.isascii() for c in word):
            continue  # a whole word in another script is just text in that script
        parts.append(text[cursor : match.start()])
        parts.append(word.translate(_CONFUSABLES))
        cursor = match.end()
    if not parts:
        return text
    parts.append(text[cursor:])
    return "".join(parts)


def _wrappers(text: str) -> Iterator[tuple[str, int, int, str]]:
    """Every encoded wrapper in ``text``: (kind, start, end, decoded text)."""
    if "%" in text:
        yield from _url_encoded(text)
    yield from _base64_blobs(text)
    if "\\" in text:
        yield from _escaped(text)


def _url_encoded(text: str) -> Iterator[tuple[str, int, int, str]]:
    for match in _URL_TOKEN.finditer(text):
        start, end = _trim(text, *match.span())
        decoded = unquote(text[start:end], errors="replace")
        if decoded != text[start:end]:
            yield "url", start, end, decoded


def _base64_blobs(text: str) -> Iterator[tuple[str, int, int, str]]:
    for match in _BASE64.finditer(text):
        decoded = _decode_base64(match.group())
        if decoded is not None:
            yield "base64", match.start(), match.end(), decoded


def _escaped(text: str) -> Iterator[tuple[str, int, int, str]]:
    """Quoted strings holding backslash escapes, then bare tokens holding \\u or \\x escapes."""
    strings: list[tuple[int, int]] = []
    for match in _JSON_STRING.finditer(text):
        if "\\" in match.group(1):
            strings.append(match.span(1))
            yield "json", match.start(1), match.end(1), _unescape(match.group(1))
    for match in _ESCAPE_TOKEN.finditer(text):
        start, end = _trim(text, *match.span())
        if any(s < end and start < e for s, e in strings):
            continue  # already decoded as part of a quoted string
        decoded = _unescape(text[start:end], json_first=False)
        if decoded != text[start:end]:
            yield "escape", start, end, decoded


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop the quotes, brackets and sentence punctuation around a token."""
    while start < end and text[start] in _LEADING_PUNCTUATION:
        start += 1
    while end > start and text[end - 1] in _TRAILING_PUNCTUATION:
        end -= 1
    return start, end


def _decode_base64(blob: str) -> str | None:
    """The text a base64 blob encodes, or None unless it is mostly printable UTF-8."""
    compact = "".join(blob.split()).rstrip("=")
    urlsafe = "-" in compact or "_" in compact
    if urlsafe and ("+" in compact or "/" in compact):
        return None  # two alphabets at once: not base64
    if len(compact) % 4 == 1:
        return None
    padded = compact + "=" * (-len(compact) % 4)
    try:
        raw = base64.b64decode(padded, altchars=b"-_" if urlsafe else None, validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None
    if len(decoded) < _MIN_DECODED or len(_UNPRINTABLE.findall(decoded)) > len(decoded) // 10:
        return None
    return decoded


def _unescape(text: str, *, json_first: bool = True) -> str:
    """Resolve JSON (and \\xNN) backslash escapes; tolerant of invalid ones."""
    if json_first:
        try:
            decoded = json.loads(f'"{text}"', strict=False)
        except ValueError:
            decoded = None
        if isinstance(decoded, str):
            return _join_surrogates(decoded)
    return _join_surrogates(_ESCAPE.sub(_unescape_one, text))


def _unescape_one(match: re.Match[str]) -> str:
    hex_digits = match.group(1) or match.group(2) or match.group(3)
    if hex_digits is not None:
        code = int(hex_digits, 16)
        return chr(code) if code <= _MAX_CODE_POINT else match.group()
    return _SIMPLE_ESCAPES.get(match.group(4), match.group())


def _join_surrogates(text: str) -> str:
    """Combine escaped UTF-16 surrogate pairs; a lone surrogate becomes U+FFFD."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _untag(run: str) -> str:
    """The ASCII text a run of Unicode tag characters mirrors (cancel tags are dropped)."""
    return "".join(chr(ord(c) - _TAG_OFFSET) for c in run if _TAG_FIRST <= ord(c) <= _TAG_LAST)
