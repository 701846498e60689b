"""Recall through pseudonyms: the query as the readable memories would spell it.

Memories hold personal data as keyed pseudonyms (``<PERSON_3f9a2c>``), so "what does Emily
Clarke drink" must also be searched as "what does <PERSON_3f9a2c> drink". Finding the names with
the NER cost ~2 ms of CPU per search, and it held the GIL while the query was embedded
(measured: see README "Recall speed"). :class:`PseudonymLookup` asks the index instead: each run
of words in the query that could be a pseudonymised value becomes the token every reachable
org would have stored for it, and one read through the index's text index says which of those
tokens readable memories actually hold. Only those runs are replaced.

Matching what is stored, rather than guessing what is a name, also finds "emily clarke" written
in lower case, and skips the second search when the person named is in no memory. The query is
neither stored nor logged; its tokens leave this module only inside the index filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from memory_service.domain.models import IndexQuery
from memory_service.domain.ports import MemoryIndex, Pseudonymizer
from memory_service.domain.pseudonyms import tokens_in
from memory_service.domain.scopes import ScopeFilter
from memory_service.services.gate import ContentGate, org_of

QueryVariants = Callable[[str, ScopeFilter, datetime, str], Callable[[], dict[str, str]]]
"""``(query, readable scopes, now, caller's key id) -> finish``: starts working out the query's
variants and returns the call that waits for them, so that the caller can embed and search
meanwhile."""

# Which pseudonymised types a run of words can be, by its shape. Together these are every
# type the PII classifier reports (a unit test holds them to it).
NAME_TYPES = ("PERSON", "LOCATION")
EMAIL_TYPES = ("EMAIL_ADDRESS",)
NUMBER_TYPES = (
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "IP_ADDRESS",
    "DATE_OF_BIRTH",
    "PASSPORT",
    "UK_NINO",
    "LOCATION",  # street addresses: "221B Baker Street"
)
MAX_NAME_WORDS = 4  # "Anna Maria de Souza"
MAX_NUMBER_WORDS = 6  # "GB82 WEST 1234 5698 7654 32"
# Longer queries (a pasted document) are looked up in their first words only: the lookup's cost
# grows with words x orgs, and a question names its people early.
MAX_QUERY_WORDS = 64
# And at most this many candidates (a run under one type; each costs a keyed hash per org): a
# query of digits and dates would otherwise make thousands.
MAX_RUNS = 256

# Function words never begin or end a name or a place; runs edged by them are not looked up.
# Words that are also names (Will, May, June, Bill) are not in this list.
_EDGE_WORDS = frozenset(
    [
        "a",
        "about",
        "after",
        "all",
        "also",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "here",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "should",
        "so",
        "some",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "with",
        "would",
        "you",
        "your",
    ]
)
_TYPE_RANK = {
    t: rank for rank, t in enumerate(dict.fromkeys((*NAME_TYPES, *EMAIL_TYPES, *NUMBER_TYPES)))
}
_WORD = re.compile(r"\S+")
_EDGE_PUNCTUATION = "\"'`\u2018\u2019\u201c\u201d()[]{}<>,.;:!?"
_POSSESSIVE = re.compile(r"['\u2019]s$", re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[^\W\d_]")

# Tokens per index read, and reads per chunk of them: a read returns memories holding at least
# one token still open (or its digest as a plain word), so each read settles a token or pages
# past memories that only look like holders.
LOOKUP_CHUNK = 256
LOOKUP_PAGE = 16
MAX_READS = 4


@dataclass(frozen=True, slots=True)
class Candidate:
    """A run of the query, ``query[start:end]``, that could have been stored as ``type``."""

    start: int
    end: int
    type: str


def _trimmed(query: str, start: int, end: int) -> tuple[int, int]:
    while start < end and query[start] in _EDGE_PUNCTUATION:
        start += 1
    while end > start and query[end - 1] in _EDGE_PUNCTUATION:
        end -= 1
    possessive = _POSSESSIVE.search(query, start, end)
    if possessive is not None and possessive.start() > start:
        end = possessive.start()
    return start, end


def _types_for(text: str, words: int) -> tuple[str, ...]:
    if "@" in text:
        return EMAIL_TYPES if words == 1 else ()
    if _DIGIT.search(text):
        # A number, a date or an address starts or ends with its digits: "call +44 20 ..."
        # is not one, "+44 20 7946 0958" and "221B Baker Street" are.
        edges = text.split()
        if words > MAX_NUMBER_WORDS or not (_DIGIT.search(edges[0]) or _DIGIT.search(edges[-1])):
            return ()
        return NUMBER_TYPES
    if words > MAX_NAME_WORDS or not _LETTER.search(text):
        return ()
    parts = [part.strip(_EDGE_PUNCTUATION) for part in text.casefold().split()]
    if parts[0] in _EDGE_WORDS or parts[-1] in _EDGE_WORDS:
        return ()
    return NAME_TYPES


def candidates(query: str) -> Iterator[Candidate]:
    """Every run of up to :data:`MAX_NUMBER_WORDS` words that could be a stored value, in the
    first :data:`MAX_QUERY_WORDS` words of the query."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(query)][:MAX_QUERY_WORDS]
    for first in range(len(words)):
        for last in range(first, min(first + MAX_NUMBER_WORDS, len(words))):
            start, end = _trimmed(query, words[first][0], words[last][1])
            if start >= end:
                continue
            for entity_type in _types_for(query[start:end], last - first + 1):
                yield Candidate(start, end, entity_type)


def rewrite(query: str, chosen: Sequence[Candidate], tokens: Sequence[str]) -> str:
    """``query`` with each chosen run replaced by its token; longer runs win overlaps, then
    earlier ones, then the type listed first (a held "Jordan" is a PERSON before a LOCATION)."""
    ranked = sorted(
        zip(chosen, tokens, strict=True),
        key=lambda pair: (
            pair[0].start - pair[0].end,
            pair[0].start,
            _TYPE_RANK.get(pair[0].type, len(_TYPE_RANK)),
        ),
    )
    kept: list[tuple[Candidate, str]] = []
    for candidate, token in ranked:
        if all(candidate.end <= k.start or candidate.start >= k.end for k, _ in kept):
            kept.append((candidate, token))
    out: list[str] = []
    cursor = 0
    for candidate, token in sorted(kept, key=lambda pair: pair[0].start):
        out += [query[cursor : candidate.start], token]
        cursor = candidate.end
    out.append(query[cursor:])
    return "".join(out)


class PseudonymLookup:
    """The query variants worth searching: one per org whose readable memories hold a token
    that a run of the query pseudonymises to."""

    def __init__(
        self,
        index: MemoryIndex,
        pseudonymizer: Pseudonymizer,
        all_orgs: Callable[[], list[str]],
    ) -> None:
        self._index = index
        self._pseudonymizer = pseudonymizer
        self._all_orgs = all_orgs

    def start(
        self, query: str, scopes: ScopeFilter, now: datetime, _owner: str
    ) -> Callable[[], dict[str, str]]:
        """:data:`QueryVariants`: the lookup costs less than a thread hop, so it runs when
        asked for, after the search as written."""
        return lambda: self.variants(query, scopes, now=now)

    def variants(self, query: str, scopes: ScopeFilter, *, now: datetime) -> dict[str, str]:
        """``{org: the query with the runs its memories hold as tokens replaced}``; empty when
        no readable memory holds any of them (the search as written is then enough)."""
        runs = list(islice(candidates(query), MAX_RUNS))
        if not runs or scopes.is_empty:
            return {}
        roots = scopes.roots
        wanted: dict[str, dict[str, list[Candidate]]] = {}
        for org in roots if roots is not None else self._all_orgs():
            hasher = self._pseudonymizer.org_hasher(org)
            by_token = wanted.setdefault(org, {})
            for run in runs:
                by_token.setdefault(hasher(run.type, query[run.start : run.end]), []).append(run)
        held = self._held(wanted, scopes, now)
        variants: dict[str, str] = {}
        for org, by_token in wanted.items():
            found = [(run, token) for token in held.get(org, ()) for run in by_token[token]]
            if found:
                variants[org] = rewrite(query, [r for r, _ in found], [t for _, t in found])
        return variants

    def _held(
        self, wanted: dict[str, dict[str, list[Candidate]]], scopes: ScopeFilter, now: datetime
    ) -> dict[str, set[str]]:
        """Of the tokens wanted per org, those that readable, live memories of the org hold."""
        orgs_of: dict[str, set[str]] = {}
        for org, by_token in wanted.items():
            for token in by_token:
                orgs_of.setdefault(token, set()).add(org)
        everything = sorted(orgs_of)
        held: dict[str, set[str]] = {}
        for first in range(0, len(everything), LOOKUP_CHUNK):
            open_tokens = set(everything[first : first + LOOKUP_CHUNK])
            cursor: str | None = None
            reads = 0
            while open_tokens and reads < MAX_READS:
                query = IndexQuery(pseudonyms_any=tuple(sorted(open_tokens)))
                page, cursor = self._index.scroll(
                    scopes, query, limit=LOOKUP_PAGE, cursor=cursor, now=now
                )
                reads += 1
                for memory in page:
                    org = org_of(memory.scope)
                    for token in tokens_in(memory.content) & open_tokens:
                        if org in orgs_of[token]:
                            held.setdefault(org, set()).add(token)
                            open_tokens.discard(token)
                # The next page goes on from the cursor with the tokens still open: the memories
                # before it were read, and held none of them.
                if cursor is None:
                    break
        return held


class NerVariants:
    """The variants of ``MEMORY_QUERY_PSEUDONYMS=ner``: the PII classifier reads the query
    (on the classification pool, while the query as written is embedded and searched) and
    every name it finds is replaced, whether or not any memory holds it."""

    def __init__(self, gate: ContentGate, all_orgs: Callable[[], list[str]]) -> None:
        self._gate = gate
        self._all_orgs = all_orgs

    def start(
        self, query: str, scopes: ScopeFilter, _now: datetime, owner: str
    ) -> Callable[[], dict[str, str]]:
        """:data:`QueryVariants`; the query is classified in the caller's turn."""
        pending = self._gate.query_pii(query, owner=owner)

        def finish() -> dict[str, str]:
            try:
                findings = pending.result(timeout=self._gate.retry_after)
            except Exception:  # noqa: BLE001 - the search as written still answers
                pending.cancel()
                return {}
            if not findings:
                return {}
            roots = scopes.roots
            orgs = roots if roots is not None else self._all_orgs()
            return self._gate.variants_for(query, findings, orgs)

        return finish
