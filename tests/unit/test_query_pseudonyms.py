"""Recall through pseudonyms: the query's candidate runs, the rewrite, and the index lookup.

The lookup cases run against a real Qdrant Edge shard, so that the text index on ``content``
(6-character words only) is what decides which memories are read back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from memory_service.crypto import HmacPseudonymizer
from memory_service.domain.models import IndexQuery, Memory
from memory_service.domain.ports import MemoryIndex
from memory_service.domain.pseudonyms import TOKEN, token_digest
from memory_service.domain.scopes import ScopeFilter
from memory_service.services.query_pseudonyms import (
    EMAIL_TYPES,
    LOOKUP_PAGE,
    MAX_NAME_WORDS,
    MAX_NUMBER_WORDS,
    MAX_QUERY_WORDS,
    MAX_READS,
    MAX_RUNS,
    NAME_TYPES,
    NUMBER_TYPES,
    Candidate,
    PseudonymLookup,
    candidates,
    rewrite,
)
from memory_service.storage.qdrant_edge_index import QdrantEdgeMemoryIndex
from tests.contract.test_memory_index import DIM, NOW, basis, memory, scopes

SECRET = b"p" * 32
PSEUDONYMS = HmacPseudonymizer(SECRET)


def spans(query: str) -> set[tuple[str, str]]:
    """``{(run text, type)}`` of every candidate of ``query``."""
    return {(query[c.start : c.end], c.type) for c in candidates(query)}


def runs(query: str) -> set[str]:
    return {text for text, _ in spans(query)}


def typed(text: str, types: Sequence[str]) -> set[tuple[str, str]]:
    return {(text, t) for t in types}


# -- candidates -----------------------------------------------------------------------------


def test_a_question_yields_the_name_runs_and_none_edged_by_function_words() -> None:
    query = "What does Emily Clarke drink?"
    found = spans(query)

    for text in ("Emily", "Clarke", "Emily Clarke"):
        assert typed(text, NAME_TYPES) <= found, text
    # Only name types for words without digits or "@".
    assert {t for _, t in found} == set(NAME_TYPES)
    edge = {"what", "does"}
    for text in runs(query):
        words = text.casefold().split()
        assert words[0] not in edge, text
        assert words[-1] not in edge, text
    # The question mark is trimmed: the run ends at the word, never at "?".
    assert not any(text.endswith("?") for text in runs(query))
    assert "Emily Clarke drink" in runs(query)


@pytest.mark.parametrize(
    ("query", "present", "absent"),
    [
        # Possessive "'s" (straight or curly) and edge punctuation are trimmed.
        ("Maria's daughter", {"Maria", "daughter"}, {"Maria's"}),
        ("Maria\u2019s daughter", {"Maria"}, {"Maria\u2019s"}),
        ("Where is Emily Clarke's dog?", {"Emily Clarke", "Emily", "Clarke", "dog"}, set()),
        ('"Emily" (Clarke), again.', {"Emily", "Clarke", "again"}, {'"Emily"', "(Clarke)"}),
        # Case-insensitive function words, at either end.
        ("DOES Emily drink THE tea", {"Emily", "Emily drink", "tea"}, {"DOES Emily", "THE tea"}),
        # Lower case names are candidates too: matching what is stored, not guessing.
        ("what does emily clarke drink", {"emily clarke", "emily", "clarke"}, set()),
    ],
)
def test_run_trimming(query: str, present: set[str], absent: set[str]) -> None:
    found = runs(query)
    assert present <= found
    assert not absent & found
    assert not any(r[-1] in "?.,;:!\"')" or r[0] in "\"'(" for r in found), found


def test_an_email_address_is_only_an_email_and_only_alone() -> None:
    query = "mail emily@example.com today"
    found = spans(query)

    assert typed("emily@example.com", EMAIL_TYPES) == {s for s in found if "@" in s[0]}
    # No longer run holding the address is looked up, and no other type for it.
    assert not any("@" in text and text != "emily@example.com" for text, _ in found)
    assert ("mail", "PERSON") in found
    assert spans("<emily@example.com>?") == typed("emily@example.com", EMAIL_TYPES)


def test_a_phone_number_gives_number_runs_of_up_to_six_words() -> None:
    query = "+44 20 7946 0958"
    found = spans(query)

    for text in ("+44 20 7946 0958", "+44", "20 7946", "7946 0958"):
        assert typed(text, NUMBER_TYPES) <= found, text
    assert {t for _, t in found} == set(NUMBER_TYPES)
    # "221B Baker Street": a street address is a number-shaped LOCATION.
    assert ("221B Baker Street", "LOCATION") in spans("lives at 221B Baker Street")
    six = "GB82 WEST 1234 5698 7654 32"
    assert typed(six, NUMBER_TYPES) <= spans(f"iban {six} please")


def test_runs_longer_than_the_limits_are_not_produced() -> None:
    names = "Anna Maria de Souza Lima"  # five words, no digits
    found = runs(names)
    assert "Anna Maria de Souza" in found  # MAX_NAME_WORDS
    assert names not in found
    assert max(len(r.split()) for r in found) == MAX_NAME_WORDS

    digits = "11 22 33 44 55 66 77"  # seven words with digits
    found = runs(digits)
    assert "11 22 33 44 55 66" in found  # MAX_NUMBER_WORDS
    assert digits not in found
    assert max(len(r.split()) for r in found) == MAX_NUMBER_WORDS

    assert all(
        len(query[c.start : c.end].split()) <= MAX_NUMBER_WORDS
        for query in ("one two three four five six seven eight 9 ten eleven",)
        for c in candidates(query)
    )


def test_nothing_to_look_up() -> None:
    assert list(candidates("")) == []
    assert list(candidates("   ")) == []
    assert list(candidates("what does she do?")) == []
    assert list(candidates("?! ... ()")) == []


def test_function_words_with_inner_punctuation_do_not_edge_a_run() -> None:
    assert "So, what Emily" not in runs("So, what Emily drinks")
    assert "what, Emily" not in runs("what, Emily?")


def test_a_number_run_starts_or_ends_with_its_digits() -> None:
    found = runs("please call +44 20 7946 0958 today")
    assert "+44 20 7946 0958" in found
    assert "call +44 20 7946 0958 today" not in found  # digits inside only
    assert "20 7946 0958 today" in found
    assert "221B Baker Street" in runs("she moved to 221B Baker Street")


def test_a_query_of_numbers_makes_at_most_max_runs(tmp_path: Path) -> None:
    query = " ".join(str(n) for n in range(MAX_QUERY_WORDS))
    assert len(list(candidates(query))) > MAX_RUNS  # so the cap is what limits the lookup
    index = QdrantEdgeMemoryIndex(tmp_path / "shard", DIM)
    try:
        recording = RecordingIndex(index)
        assert lookup(recording, "acme").variants(query, scopes("acme/**"), now=NOW) == {}
        asked = {token for q, _, _ in recording.scrolls for token in q.pseudonyms_any}
        assert 0 < len(asked) <= MAX_RUNS
    finally:
        index.close()


def test_only_the_first_words_of_a_long_query_are_looked_up() -> None:
    filler = " ".join(["lorem"] * MAX_QUERY_WORDS)
    assert "Emily Clarke" in runs(f"Emily Clarke {filler}")
    assert "Emily Clarke" not in runs(f"{filler} Emily Clarke")


def test_a_run_held_as_a_person_and_a_place_is_the_person_whatever_the_order() -> None:
    query = "what about Jordan"
    start = query.index("Jordan")
    person = Candidate(start, start + 6, "PERSON")
    place = Candidate(start, start + 6, "LOCATION")
    expected = "what about <PERSON_aaaaaa>"
    assert rewrite(query, [person, place], ["<PERSON_aaaaaa>", "<LOCATION_bbbbbb>"]) == expected
    assert rewrite(query, [place, person], ["<LOCATION_bbbbbb>", "<PERSON_aaaaaa>"]) == expected


def test_every_pii_type_has_a_shape() -> None:
    # Imported here: the PII classifier module loads Presidio (seconds), which no other test
    # in this file needs.
    from classifiers.pii.classifier import PII_TYPES  # noqa: PLC0415

    assert set(NAME_TYPES) | set(EMAIL_TYPES) | set(NUMBER_TYPES) == set(PII_TYPES)


# -- rewrite --------------------------------------------------------------------------------


def test_rewrite_prefers_the_longer_overlapping_run_whatever_the_order() -> None:
    query = "what does Emily Clarke drink?"
    emily = Candidate(10, 15, "PERSON")
    full = Candidate(10, 22, "PERSON")
    clarke = Candidate(16, 22, "PERSON")

    expected = "what does <PERSON_bbbbbb> drink?"
    assert rewrite(query, [emily, full, clarke], ["<E>", "<PERSON_bbbbbb>", "<C>"]) == expected
    assert rewrite(query, [clarke, full, emily], ["<C>", "<PERSON_bbbbbb>", "<E>"]) == expected
    # Without the longer run, both short ones are replaced and the space between them stays.
    assert rewrite(query, [clarke, emily], ["<C>", "<E>"]) == "what does <E> <C> drink?"


def test_rewrite_keeps_the_rest_of_the_text_intact() -> None:
    query = "  Did Emily  Clarke's dog\tmeet Bob?\n"
    chosen = [c for c in candidates(query) if query[c.start : c.end] in {"Emily  Clarke", "Bob"}]
    tokens = ["<PERSON_aaaaaa>" if query[c.start] == "E" else "<PERSON_bbbbbb>" for c in chosen]

    assert rewrite(query, chosen, tokens) == "  Did <PERSON_aaaaaa>'s dog\tmeet <PERSON_bbbbbb>?\n"
    assert rewrite(query, [], []) == query


def test_rewrite_of_equal_length_overlaps_keeps_the_earlier_run() -> None:
    query = "Anna Mari Leon"
    first = Candidate(0, 9, "PERSON")  # "Anna Mari"
    second = Candidate(5, 14, "PERSON")  # "Mari Leon", as long
    assert rewrite(query, [second, first], ["<S>", "<F>"]) == "<F> Leon"
    # Runs that do not overlap are all replaced, in whatever order they come.
    anna, mari, leon = Candidate(0, 4, "PERSON"), Candidate(5, 9, "PERSON"), Candidate(10, 14, "X")
    assert rewrite(query, [leon, anna, mari], ["<L>", "<A>", "<M>"]) == "<A> <M> <L>"


def test_rewrite_needs_a_token_per_run() -> None:
    with pytest.raises(ValueError):
        rewrite("Emily", [Candidate(0, 5, "PERSON")], [])


# -- the pseudonymizer's per-org hasher -----------------------------------------------------


@pytest.mark.parametrize("entity_type", ["PERSON", "LOCATION", "EMAIL_ADDRESS", "PHONE_NUMBER"])
def test_org_hasher_is_the_pseudonym_and_blind_to_case_and_spacing(entity_type: str) -> None:
    hasher = PSEUDONYMS.org_hasher("acme")
    token = PSEUDONYMS.pseudonym("acme", entity_type, "Emily Clarke")

    assert TOKEN.fullmatch(token)
    assert token.startswith(f"<{entity_type}_")
    for spelling in ("Emily Clarke", "emily clarke", "  EMILY\t\nClarke ", "Emily  CLARKE"):
        assert hasher(entity_type, spelling) == token, spelling
        assert PSEUDONYMS.pseudonym("acme", entity_type, spelling) == token, spelling
    # Keyed per org and per type; another value is another token.
    assert PSEUDONYMS.org_hasher("umbrella")(entity_type, "Emily Clarke") != token
    assert hasher("US_SSN", "Emily Clarke") != token
    assert hasher(entity_type, "Emily Clark") != token
    assert HmacPseudonymizer(b"q" * 32).pseudonym("acme", entity_type, "Emily Clarke") != token


def test_org_hasher_can_be_called_many_times() -> None:
    """The hasher copies its keyed state per call: one call must not change the next."""
    hasher = PSEUDONYMS.org_hasher("acme")
    first = hasher("PERSON", "Emily")
    hasher("PERSON", "Bob")
    assert hasher("PERSON", "Emily") == first == PSEUDONYMS.pseudonym("acme", "PERSON", "emily")


# -- PseudonymLookup against a real Qdrant Edge shard ---------------------------------------

ACME_EMILY = PSEUDONYMS.pseudonym("acme", "PERSON", "Emily Clarke")
UMBRELLA_EMILY = PSEUDONYMS.pseudonym("umbrella", "PERSON", "Emily Clarke")
QUERY = "what does emily clarke drink"


class RecordingIndex:
    """The index, with the scroll calls the lookup makes recorded."""

    def __init__(self, inner: MemoryIndex) -> None:
        self.inner = inner
        self.scrolls: list[tuple[IndexQuery, str | None, int]] = []

    def scroll(
        self,
        scopes: ScopeFilter,
        query: IndexQuery,
        *,
        limit: int,
        cursor: str | None,
        now: datetime,
    ) -> tuple[list[Memory], str | None]:
        self.scrolls.append((query, cursor, limit))
        return self.inner.scroll(scopes, query, limit=limit, cursor=cursor, now=now)


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[QdrantEdgeMemoryIndex]:
    index = QdrantEdgeMemoryIndex(tmp_path / "shard", DIM)
    yield index
    index.close()


def lookup(index: MemoryIndex | RecordingIndex, *orgs: str) -> PseudonymLookup:
    return PseudonymLookup(
        index,  # type: ignore[arg-type]
        PSEUDONYMS,
        lambda: list(orgs or ("acme", "umbrella")),
    )


def put(index: MemoryIndex, *memories: Memory) -> None:
    index.upsert([(m, basis(i)) for i, m in enumerate(memories)])


def test_a_held_name_in_lower_case_gets_the_orgs_token(edge: QdrantEdgeMemoryIndex) -> None:
    put(edge, memory("acme/a", content=f"{ACME_EMILY} drinks oat milk flat whites"))

    variants = lookup(edge).variants(QUERY, scopes("acme/a"), now=NOW)

    assert variants == {"acme": f"what does {ACME_EMILY} drink"}
    assert lookup(edge).start(QUERY, scopes("acme/**"), NOW, "k")() == variants
    # The same person written otherwise is the same token.
    assert lookup(edge).variants("Emily  CLARKE's order?", scopes("acme/a"), now=NOW) == {
        "acme": f"{ACME_EMILY}'s order?"
    }


def test_the_longest_held_run_wins(edge: QdrantEdgeMemoryIndex) -> None:
    emily = PSEUDONYMS.pseudonym("acme", "PERSON", "Emily")
    put(
        edge,
        memory("acme/a", content=f"{emily} is new"),
        memory("acme/a", content=f"{ACME_EMILY} drinks tea"),
    )
    assert lookup(edge).variants(QUERY, scopes("acme/a"), now=NOW) == {
        "acme": f"what does {ACME_EMILY} drink"
    }
    assert lookup(edge).variants("is emily here", scopes("acme/a"), now=NOW) == {
        "acme": f"is {emily} here"
    }


def test_a_name_no_memory_holds_gives_no_variant(edge: QdrantEdgeMemoryIndex) -> None:
    put(edge, memory("acme/a", content=f"{ACME_EMILY} drinks tea"))
    recording = RecordingIndex(edge)

    assert lookup(recording).variants("what does zoe bloggs drink", scopes("acme/a"), now=NOW) == {}
    assert len(recording.scrolls) == 1  # one read settles it
    assert lookup(edge).variants("what does she drink?", scopes("acme/a"), now=NOW) == {}
    # Not vacuous: the held name in the same index is found.
    assert lookup(edge).variants(QUERY, scopes("acme/a"), now=NOW) != {}


def test_the_lookup_reads_only_what_the_scope_filter_reaches(
    edge: QdrantEdgeMemoryIndex,
) -> None:
    put(
        edge,
        memory("acme/b", content=f"{ACME_EMILY} drinks tea"),
        memory("umbrella", content=f"{UMBRELLA_EMILY} drinks coffee"),
        memory("umbrella/x", content=f"{UMBRELLA_EMILY} drinks water"),
    )

    # The org's own token, but in a scope the filter does not reach.
    assert lookup(edge).variants(QUERY, scopes("acme/a"), now=NOW) == {}
    assert lookup(edge).variants(QUERY, scopes("acme/b/**", "acme/a"), now=NOW) == {
        "acme": f"what does {ACME_EMILY} drink"
    }
    # Another org's memories are not read for a caller of one org, nor its tokens asked for.
    recording = RecordingIndex(edge)
    assert lookup(recording).variants(QUERY, scopes("acme/**"), now=NOW) == {
        "acme": f"what does {ACME_EMILY} drink"
    }
    asked = {t for q, _, _ in recording.scrolls for t in q.pseudonyms_any}
    assert ACME_EMILY in asked
    assert UMBRELLA_EMILY not in asked
    assert lookup(edge).variants(QUERY, scopes("umbrella/x"), now=NOW) == {
        "umbrella": f"what does {UMBRELLA_EMILY} drink"
    }
    # Reaching every org: one variant per org, each with its own org's token.
    assert lookup(edge, "acme", "umbrella").variants(QUERY, scopes("**"), now=NOW) == {
        "acme": f"what does {ACME_EMILY} drink",
        "umbrella": f"what does {UMBRELLA_EMILY} drink",
    }
    recording = RecordingIndex(edge)
    assert lookup(recording).variants(QUERY, scopes(), now=NOW) == {}
    assert recording.scrolls == []  # an empty filter reaches nothing: no read at all


def test_a_token_counts_only_for_the_org_that_holds_it(edge: QdrantEdgeMemoryIndex) -> None:
    # An umbrella memory carrying acme's token (text copied across orgs) is not acme's.
    put(edge, memory("umbrella/x", content=f"forwarded: {ACME_EMILY} drinks tea"))

    assert lookup(edge, "acme", "umbrella").variants(QUERY, scopes("**"), now=NOW) == {}
    assert lookup(edge).variants(QUERY, scopes("acme/**", "umbrella/**"), now=NOW) == {}


def test_deleted_and_expired_holders_give_no_variant(edge: QdrantEdgeMemoryIndex) -> None:
    expires = NOW + timedelta(hours=1)
    gone = memory("acme/a", content=f"{ACME_EMILY} drinks tea", deleted_at=NOW)
    short = memory("acme/b", content=f"{ACME_EMILY} drinks coffee", expires_at=expires)
    put(edge, gone, short)
    expected = {"acme": f"what does {ACME_EMILY} drink"}

    assert lookup(edge).variants(QUERY, scopes("acme/a"), now=NOW) == {}
    assert lookup(edge).variants(QUERY, scopes("acme/b"), now=expires) == {}
    assert lookup(edge).variants(QUERY, scopes("acme/**"), now=expires) == {}
    # The same memories, live: found.
    assert lookup(edge).variants(QUERY, scopes("acme/b"), now=NOW) == expected
    put(edge, replace(gone, deleted_at=None, version=2))
    assert lookup(edge).variants(QUERY, scopes("acme/a"), now=NOW) == expected


def decoys(digest: str, count: int, scope: str = "acme/a") -> list[Memory]:
    """Memories whose content holds ``digest`` without holding the token: as a plain word,
    in another type's token, and upper case. Ids 1..count, so that they scroll first."""
    shapes = [f"ticket {digest} closed", f"at <LOCATION_{digest}>", f"ref {digest.upper()} ok"]
    return [
        memory(scope, id=UUID(int=n + 1), content=shapes[n % len(shapes)]) for n in range(count)
    ]


def holder(scope: str = "acme/a") -> Memory:
    """The real holder, with the highest id: read after every decoy."""
    return memory(scope, id=UUID(int=2**128 - 1), content=f"{ACME_EMILY} drinks tea")


def test_a_digest_without_the_token_is_no_variant(edge: QdrantEdgeMemoryIndex) -> None:
    digest = token_digest(ACME_EMILY)
    put(edge, *decoys(digest, 3))
    # The index does return them as candidates for the token...
    assert edge.count(scopes("acme/a"), IndexQuery(pseudonyms_any=(ACME_EMILY,)), now=NOW) == 3

    # ...but none holds the token itself.
    assert lookup(edge).variants(QUERY, scopes("acme/a"), now=NOW) == {}
    put(edge, holder())
    assert lookup(edge).variants(QUERY, scopes("acme/**"), now=NOW) == {
        "acme": f"what does {ACME_EMILY} drink"
    }


def test_the_real_holder_is_found_behind_a_page_of_decoys(edge: QdrantEdgeMemoryIndex) -> None:
    digest = token_digest(ACME_EMILY)
    put(edge, *decoys(digest, LOOKUP_PAGE + 3), holder())
    flt = scopes("acme/a")
    # The arrangement this test relies on: the whole first page is decoys.
    first, cursor = edge.scroll(
        flt, IndexQuery(pseudonyms_any=(ACME_EMILY,)), limit=LOOKUP_PAGE, cursor=None, now=NOW
    )
    assert len(first) == LOOKUP_PAGE
    assert ACME_EMILY not in " ".join(m.content for m in first)
    assert cursor is not None

    recording = RecordingIndex(edge)
    assert lookup(recording).variants(QUERY, flt, now=NOW) == {
        "acme": f"what does {ACME_EMILY} drink"
    }
    # Two reads: the second goes on from the first page's cursor.
    assert [c for _, c, _ in recording.scrolls] == [None, cursor]
    assert all(limit == LOOKUP_PAGE for _, _, limit in recording.scrolls)


def test_the_lookup_stops_after_max_reads(edge: QdrantEdgeMemoryIndex) -> None:
    """A bounded cost: a name whose digest many memories share costs MAX_READS reads."""
    digest = token_digest(ACME_EMILY)
    put(edge, *decoys(digest, LOOKUP_PAGE * (MAX_READS + 1)))
    recording = RecordingIndex(edge)

    assert lookup(recording).variants(QUERY, scopes("acme/a"), now=NOW) == {}
    assert len(recording.scrolls) == MAX_READS


def test_reads_ask_only_for_tokens_still_open(edge: QdrantEdgeMemoryIndex) -> None:
    """Once a token is found, the following reads stop asking for it."""
    digest = token_digest(ACME_EMILY)
    emily = PSEUDONYMS.pseudonym("acme", "PERSON", "Emily")
    found_first = memory("acme/a", id=UUID(int=0), content=f"{emily} is new")
    put(edge, found_first, *decoys(digest, LOOKUP_PAGE + 1), holder())
    recording = RecordingIndex(edge)

    assert lookup(recording).variants(QUERY, scopes("acme/a"), now=NOW) == {
        "acme": f"what does {ACME_EMILY} drink"
    }
    asked = [set(q.pseudonyms_any) for q, _, _ in recording.scrolls]
    assert len(asked) == 2
    assert {emily, ACME_EMILY} <= asked[0]
    assert emily not in asked[1]
    assert ACME_EMILY in asked[1]
