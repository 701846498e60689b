"""Contract of the vector index, run against Qdrant Edge (embedded) and qdrant-client alike.

The qdrant-client cases use its local ``:memory:`` mode, which evaluates filters in Python;
the Edge cases run the real Qdrant engine. Vectors are small and built here, not embedded.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import signal
import subprocess
import sys
import textwrap
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qdrant_client import QdrantClient, models

from memory_service.domain.models import (
    Classification,
    FindingSummary,
    IndexQuery,
    Memory,
    Provenance,
)
from memory_service.domain.ports import MemoryIndex
from memory_service.domain.scopes import ScopeFilter, ScopePattern, normalise
from memory_service.errors import InvalidInput, StoreUnavailable
from memory_service.storage.qdrant_client_index import QdrantClientMemoryIndex
from memory_service.storage.qdrant_edge_index import QdrantEdgeMemoryIndex

DIM = 8
NOW = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
ALL = IndexQuery()
REPO_ROOT = Path(__file__).resolve().parents[2]


def scopes(*patterns: str) -> ScopeFilter:
    return ScopeFilter(normalise([ScopePattern.parse(p) for p in patterns]))


EVERYTHING = scopes("**")
NOTHING = scopes()


def vec(angle: float) -> list[float]:
    """A unit vector in the first plane: cosine similarity to vec(0) is cos(angle)."""
    return [math.cos(angle), math.sin(angle), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]


def basis(i: int) -> list[float]:
    return [1.0 if k == i % DIM else 0.0 for k in range(DIM)]


def memory(scope: str = "acme", **changes: Any) -> Memory:
    base = Memory(
        id=uuid4(),
        scope=scope,
        content="the customer prefers email",
        metadata={},
        tags=(),
        subject=None,
        created_at=NOW - timedelta(days=2),
        updated_at=NOW - timedelta(days=1),
        expires_at=None,
        version=1,
        classification=Classification(),
        provenance=Provenance(created_by="key-1", request_id="req-1"),
    )
    return replace(base, **changes)


# -- fixtures -------------------------------------------------------------------------------


def open_client_index() -> QdrantClientMemoryIndex:
    with warnings.catch_warnings():
        # Local mode evaluates filters in Python and says payload indexes are no-ops there.
        warnings.filterwarnings("ignore", "Payload indexes have no effect", UserWarning)
        return QdrantClientMemoryIndex(QdrantClient(":memory:"), "memories", DIM)


@pytest.fixture(params=["edge", "qdrant-client"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MemoryIndex]:
    """A fresh, empty index of the parametrised kind."""
    opened: MemoryIndex
    if request.param == "edge":
        opened = QdrantEdgeMemoryIndex(tmp_path / "shard", DIM)
    else:
        opened = open_client_index()
    yield opened
    opened.close()


def put(index: MemoryIndex, *memories: Memory) -> None:
    index.upsert([(m, basis(i)) for i, m in enumerate(memories)])


def visible_ids(
    index: MemoryIndex, flt: ScopeFilter, query: IndexQuery = ALL, *, now: datetime = NOW
) -> dict[str, set[UUID]]:
    """What each read path returns for the same filter: they must all agree."""
    found = {
        "search": {s.memory.id for s in index.search(vec(0), flt, query, limit=100, now=now)},
        "scroll": {m.id for m in index.scroll(flt, query, limit=100, cursor=None, now=now)[0]},
    }
    assert index.count(flt, query, now=now) == len(found["search"])
    return found


def assert_visible(
    index: MemoryIndex,
    flt: ScopeFilter,
    expected: set[UUID],
    query: IndexQuery = ALL,
    *,
    now: datetime = NOW,
) -> None:
    assert visible_ids(index, flt, query, now=now) == {"search": expected, "scroll": expected}


# -- round trip -----------------------------------------------------------------------------


def test_upsert_get_round_trips_every_field(index: MemoryIndex) -> None:
    full = memory(
        "acme/globex/support-bot",
        content='Ünïcode content, with "quotes" and\nnewlines',
        metadata={
            "team": "blue",
            "n": 3,
            "flag": True,
            "ratio": 0.25,
            "nested": {"a": [1, {"b": None}]},
        },
        tags=("billing", "vip"),
        subject=None,
        created_at=datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        updated_at=datetime(2025, 6, 7, 8, 9, 10, 654321, tzinfo=timezone(timedelta(hours=2))),
        expires_at=NOW + timedelta(days=30),
        version=7,
        classification=Classification(
            action="redacted", findings=(FindingSummary(kind="pii", type="email", action="redact"),)
        ),
        provenance=Provenance(
            created_by="key-9", request_id="req-9", source={"app": "crm", "ids": [1, 2]}
        ),
    )
    plain = memory("acme", subject="customer-42", tags=(), expires_at=None)
    put(index, full, plain)

    assert index.get(full.id, EVERYTHING, now=NOW) == full
    assert index.get(plain.id, EVERYTHING, now=NOW) == plain
    got = index.get(full.id, EVERYTHING, now=NOW)
    assert got is not None
    assert got.updated_at.tzinfo is not None
    # Every read path rebuilds the same record, not only get.
    scrolled, _ = index.scroll(EVERYTHING, ALL, limit=10, cursor=None, now=NOW)
    assert sorted(scrolled, key=lambda m: m.scope) == [plain, full]
    found = index.search(vec(0), EVERYTHING, ALL, limit=10, now=NOW)
    assert sorted((s.memory for s in found), key=lambda m: m.scope) == [plain, full]


def test_upsert_replaces_the_whole_payload(index: MemoryIndex) -> None:
    first = memory(tags=("old",), subject="s1", metadata={"k": "v"})
    put(index, first)
    second = replace(first, tags=("new",), subject=None, metadata={}, version=2)
    put(index, second)

    assert index.get(first.id, EVERYTHING, now=NOW) == second
    assert index.count(EVERYTHING, IndexQuery(tags_any=("old",)), now=NOW) == 0
    assert index.count(EVERYTHING, IndexQuery(subject="s1"), now=NOW) == 0
    assert index.count(EVERYTHING, IndexQuery(metadata={"k": "v"}), now=NOW) == 0
    assert index.count(EVERYTHING, ALL, now=NOW) == 1


def test_get_unknown_id_returns_none(index: MemoryIndex) -> None:
    put(index, memory())
    assert index.get(uuid4(), EVERYTHING, now=NOW) is None


# -- scopes ---------------------------------------------------------------------------------


def test_get_outside_the_scope_filter_returns_none(index: MemoryIndex) -> None:
    m = memory("acme/globex")
    put(index, m)

    assert index.get(m.id, scopes("acme/globex"), now=NOW) == m
    assert index.get(m.id, scopes("acme"), now=NOW) is None
    assert index.get(m.id, scopes("acme/globex/bot"), now=NOW) is None
    assert index.get(m.id, scopes("acme/glob/**"), now=NOW) is None
    assert index.get(m.id, scopes("initech/**"), now=NOW) is None


def test_empty_scope_filter_matches_nothing(index: MemoryIndex) -> None:
    m = memory()
    put(index, m)

    assert index.get(m.id, NOTHING, now=NOW) is None
    assert index.search(vec(0), NOTHING, ALL, limit=10, now=NOW) == []
    assert index.scroll(NOTHING, ALL, limit=10, cursor=None, now=NOW) == ([], None)
    assert index.count(NOTHING, ALL, now=NOW) == 0
    assert index.count(NOTHING, IndexQuery(include_deleted=True), now=NOW) == 0


SCOPE_LAYOUT = ["a", "a/b", "a/b/c", "a/bc", "ab", "x/a/b"]


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (["a/b"], {"a/b"}),
        (["a/b/**"], {"a/b", "a/b/c"}),
        (["a/**"], {"a", "a/b", "a/b/c", "a/bc"}),
        (["a"], {"a"}),
        (["a/b", "x/a/b"], {"a/b", "x/a/b"}),
        (["a/b/c", "a/bc/**"], {"a/b/c", "a/bc"}),
        (["a/b/**", "ab"], {"a/b", "a/b/c", "ab"}),
        (["**"], set(SCOPE_LAYOUT)),
        (["zzz/**"], set()),
    ],
)
def test_exact_subtree_and_everything_patterns(
    index: MemoryIndex, patterns: list[str], expected: set[str]
) -> None:
    by_scope = {s: memory(s) for s in SCOPE_LAYOUT}
    put(index, *by_scope.values())

    flt = scopes(*patterns)
    assert_visible(index, flt, {by_scope[s].id for s in expected})
    for scope, m in by_scope.items():
        assert (index.get(m.id, flt, now=NOW) is not None) == (scope in expected), scope


# -- search ---------------------------------------------------------------------------------


def test_search_ranks_by_similarity(index: MemoryIndex) -> None:
    angles = [0.9, 0.1, 1.5, 0.0, 0.5]
    memories = [memory(content=f"angle {a}") for a in angles]
    index.upsert([(m, vec(a)) for m, a in zip(memories, angles, strict=True)])

    results = index.search(vec(0), EVERYTHING, ALL, limit=10, now=NOW)

    assert [r.memory.content for r in results] == [f"angle {a}" for a in sorted(angles)]
    assert [r.score for r in results] == pytest.approx(
        [math.cos(a) for a in sorted(angles)], abs=1e-5
    )


def test_search_limit_and_min_score(index: MemoryIndex) -> None:
    angles = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    memories = [memory() for _ in angles]
    index.upsert([(m, vec(a)) for m, a in zip(memories, angles, strict=True)])

    top = index.search(vec(0), EVERYTHING, ALL, limit=2, now=NOW)
    assert [r.memory.id for r in top] == [m.id for m in memories[:2]]

    threshold = math.cos(0.5)
    above = index.search(vec(0), EVERYTHING, ALL, limit=10, now=NOW, min_score=threshold)
    assert [r.memory.id for r in above] == [m.id for m in memories[:3]]
    assert all(r.score >= threshold for r in above)


def test_search_respects_the_scope_filter(index: MemoryIndex) -> None:
    mine = memory("acme/support")
    theirs = memory("initech")
    # The other tenant's memory is the better match; it must still not come back.
    index.upsert([(theirs, vec(0)), (mine, vec(1.2))])

    results = index.search(vec(0), scopes("acme/**"), ALL, limit=10, now=NOW)
    assert [r.memory.id for r in results] == [mine.id]


def test_request_filters(index: MemoryIndex) -> None:
    billing = memory(
        tags=("billing", "vip"), subject="alice", metadata={"team": "blue", "n": 3, "flag": True}
    )
    support = memory(
        tags=("support",), subject="bob", metadata={"team": "red", "n": 4, "flag": False}
    )
    untagged = memory(metadata={"team": "blue", "n": 0, "flag": 1})
    put(index, billing, support, untagged)

    cases: list[tuple[IndexQuery, set[UUID]]] = [
        (IndexQuery(tags_any=("vip",)), {billing.id}),
        (IndexQuery(tags_any=("vip", "support")), {billing.id, support.id}),
        (IndexQuery(tags_any=("nope",)), set()),
        (IndexQuery(subject="bob"), {support.id}),
        (IndexQuery(subject="carol"), set()),
        (IndexQuery(metadata={"team": "blue"}), {billing.id, untagged.id}),
        (IndexQuery(metadata={"team": "blue", "n": 3}), {billing.id}),
        (IndexQuery(metadata={"n": 4}), {support.id}),
        # Booleans and integers are different values: True is not 1 and False is not 0.
        (IndexQuery(metadata={"flag": True}), {billing.id}),
        (IndexQuery(metadata={"flag": False}), {support.id}),
        (IndexQuery(metadata={"flag": 1}), {untagged.id}),
        (IndexQuery(metadata={"n": False}), set()),
        (IndexQuery(metadata={"missing": "x"}), set()),
        (
            IndexQuery(tags_any=("billing", "support"), subject="alice", metadata={"team": "blue"}),
            {billing.id},
        ),
    ]
    for query, expected in cases:
        assert_visible(index, EVERYTHING, expected, query)


@pytest.mark.parametrize(
    "metadata",
    [{"x": 1.5}, {"x": None}, {"x": [1]}, {"x": {"y": 1}}, {"a.b": "v"}, {"a[]": "v"}, {"": "v"}],
)
def test_unsupported_metadata_filters_are_refused(
    index: MemoryIndex, metadata: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInput):
        index.search(vec(0), EVERYTHING, IndexQuery(metadata=metadata), limit=10, now=NOW)


def test_vectors_of_the_wrong_dimension_are_refused(index: MemoryIndex) -> None:
    with pytest.raises(ValueError, match="dimensions"):
        index.upsert([(memory(), [1.0] * (DIM - 1))])
    with pytest.raises(ValueError, match="dimensions"):
        index.search([1.0] * (DIM + 1), EVERYTHING, ALL, limit=10, now=NOW)


# -- pseudonym tokens -----------------------------------------------------------------------

TOKEN = "<PERSON_3f9a2c>"


def test_pseudonyms_any_finds_the_digest_as_a_word_within_the_scope(index: MemoryIndex) -> None:
    """A candidate read: every live, reachable memory whose content has the token's digest as
    a whole word (the caller checks the whole token), and no other."""
    holder = memory("acme/a", content=f"{TOKEN} drinks tea", tags=("t",))
    punctuated = memory("acme/a", content=f"met ({TOKEN}), twice", tags=("t",))
    other_type = memory("acme/a", content="lives at <LOCATION_3f9a2c> now")
    plain_word = memory("acme/a", content="ticket 3f9a2c closed")
    upper_case = memory("acme/a", content="REF 3F9A2C")
    not_a_word = memory(
        "acme/a", content="x3f9a2c 3f9a2cd 3f9a2 3f9a-2c <PERSON_3f9a2cff> <PERSON_f9a2c>"
    )
    another_token = memory("acme/a", content="<PERSON_0b1c2d> drinks tea")
    no_token = memory("acme/a", content="the customer prefers email")
    sibling = memory("acme/b", content=TOKEN)
    other_org = memory("umbrella", content=TOKEN)
    deleted = memory("acme/a", content=TOKEN, deleted_at=NOW)
    expired = memory("acme/a", content=TOKEN, expires_at=NOW)
    put(
        index,
        holder,
        punctuated,
        other_type,
        plain_word,
        upper_case,
        not_a_word,
        another_token,
        no_token,
        sibling,
        other_org,
        deleted,
        expired,
    )
    candidates = {holder.id, punctuated.id, other_type.id, plain_word.id, upper_case.id}
    one = IndexQuery(pseudonyms_any=(TOKEN,))

    assert_visible(index, scopes("acme/a"), candidates, one)
    assert_visible(index, scopes("acme/**"), candidates | {sibling.id}, one)
    assert_visible(index, scopes("acme/b", "umbrella"), {sibling.id, other_org.id}, one)
    assert_visible(index, EVERYTHING, candidates | {sibling.id, other_org.id}, one)
    assert_visible(index, NOTHING, set(), one)
    assert_visible(
        index,
        scopes("acme/a"),
        candidates | {deleted.id},
        IndexQuery(pseudonyms_any=(TOKEN,), include_deleted=True),
    )
    # Any of several tokens; with the other request filters, all of them.
    assert_visible(
        index,
        scopes("acme/a"),
        candidates | {another_token.id},
        IndexQuery(pseudonyms_any=("<PERSON_0b1c2d>", TOKEN)),
    )
    assert_visible(
        index,
        scopes("acme/a"),
        {holder.id, punctuated.id},
        IndexQuery(pseudonyms_any=(TOKEN,), tags_any=("t",)),
    )
    assert_visible(index, EVERYTHING, set(), IndexQuery(pseudonyms_any=("<PERSON_abcdef>",)))
    # Many tokens in one read, as the recall path sends them (up to LOOKUP_CHUNK).
    many = (*(f"<LOCATION_{n:06x}>" for n in range(300)), TOKEN)
    assert_visible(index, scopes("acme/a"), candidates, IndexQuery(pseudonyms_any=many))
    # Paging through the candidates visits each once.
    seen: list[UUID] = []
    cursor: str | None = None
    while True:
        page, cursor = index.scroll(scopes("acme/a"), one, limit=2, cursor=cursor, now=NOW)
        seen += [m.id for m in page]
        if cursor is None:
            break
    assert sorted(seen) == sorted(candidates)


@pytest.mark.parametrize("token", ["3f9a2c", "<person_3f9a2c>", "<PERSON_3f9a2>", "Emily Clarke"])
def test_pseudonyms_any_refuses_what_is_not_a_token(index: MemoryIndex, token: str) -> None:
    """Only a token's digest reaches the store's filter, never other query text."""
    put(index, memory(content=f"{TOKEN} 3f9a2c"))
    with pytest.raises(ValueError):
        index.count(EVERYTHING, IndexQuery(pseudonyms_any=(token,)), now=NOW)
    with pytest.raises(ValueError):
        index.scroll(EVERYTHING, IndexQuery(pseudonyms_any=(token,)), limit=5, cursor=None, now=NOW)


# -- expiry and deletion --------------------------------------------------------------------


def test_expired_memories_are_invisible(index: MemoryIndex) -> None:
    expires = NOW + timedelta(hours=1)
    short = memory(expires_at=expires)
    forever = memory(expires_at=None)
    put(index, short, forever)

    before = expires - timedelta(microseconds=1)
    assert index.get(short.id, EVERYTHING, now=before) == short
    assert_visible(index, EVERYTHING, {short.id, forever.id}, now=before)

    for now in (expires, expires + timedelta(days=1)):
        assert index.get(short.id, EVERYTHING, now=now) is None
        assert_visible(index, EVERYTHING, {forever.id}, now=now)
        assert_visible(index, EVERYTHING, {forever.id}, IndexQuery(include_deleted=True), now=now)
    # Far in the future, a memory without expiry is still there.
    assert index.get(forever.id, EVERYTHING, now=datetime(9000, 1, 1, tzinfo=UTC)) == forever


def test_deleted_memories_are_invisible_unless_asked_for(index: MemoryIndex) -> None:
    live = memory()
    gone = memory(deleted_at=NOW - timedelta(minutes=5))
    put(index, live, gone)

    assert index.get(gone.id, EVERYTHING, now=NOW) is None
    assert_visible(index, EVERYTHING, {live.id})
    assert_visible(index, EVERYTHING, {live.id, gone.id}, IndexQuery(include_deleted=True))
    scrolled, _ = index.scroll(
        EVERYTHING, IndexQuery(include_deleted=True), limit=10, cursor=None, now=NOW
    )
    assert gone in scrolled
    # Restoring is an upsert without deleted_at.
    put(index, replace(gone, deleted_at=None, version=2))
    assert_visible(index, EVERYTHING, {live.id, gone.id})


# -- scroll ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("total", "pages"), [(25, [10, 10, 5]), (20, [10, 10]), (3, [3])])
def test_scroll_pages_through_every_item_once(
    index: MemoryIndex, total: int, pages: list[int]
) -> None:
    inside = [memory("acme/bot") for _ in range(total)]
    outside = [memory("initech") for _ in range(7)]
    put(index, *inside, *outside)

    seen: list[UUID] = []
    sizes: list[int] = []
    cursor: str | None = None
    for _ in range(len(pages) + 2):
        page, cursor = index.scroll(scopes("acme/**"), ALL, limit=10, cursor=cursor, now=NOW)
        seen += [m.id for m in page]
        sizes.append(len(page))
        if cursor is None:
            break
        assert cursor.isascii()
        assert cursor.replace("-", "").replace("_", "").isalnum()
    assert cursor is None
    assert sizes == pages
    assert sorted(seen) == sorted(m.id for m in inside)


def test_scroll_cursor_is_stable(index: MemoryIndex) -> None:
    put(index, *[memory() for _ in range(15)])

    first, cursor = index.scroll(EVERYTHING, ALL, limit=5, cursor=None, now=NOW)
    assert cursor is not None
    again = index.scroll(EVERYTHING, ALL, limit=5, cursor=cursor, now=NOW)
    assert index.scroll(EVERYTHING, ALL, limit=5, cursor=cursor, now=NOW) == again
    assert not {m.id for m in first} & {m.id for m in again[0]}


@pytest.mark.parametrize(
    "cursor", ["", "not a cursor", "AAAA", "!!!!!!!!!!!!!!!!!!!!!!", "AAAAAAAAAAAAAAAAAAAAAA=="]
)
def test_scroll_refuses_a_malformed_cursor(index: MemoryIndex, cursor: str) -> None:
    with pytest.raises(InvalidInput):
        index.scroll(EVERYTHING, ALL, limit=10, cursor=cursor, now=NOW)


# -- delete, existing_ids, count ------------------------------------------------------------


def test_delete_removes_points(index: MemoryIndex) -> None:
    keep, drop = memory(), memory()
    put(index, keep, drop)

    index.delete([drop.id, uuid4()])
    index.delete([])

    assert index.get(drop.id, EVERYTHING, now=NOW) is None
    assert_visible(index, EVERYTHING, {keep.id}, IndexQuery(include_deleted=True))
    assert index.existing_ids([keep.id, drop.id]) == {keep.id}


def test_existing_ids_ignores_scope_expiry_and_deletion(index: MemoryIndex) -> None:
    expired = memory("a", expires_at=NOW - timedelta(days=1))
    deleted = memory("b", deleted_at=NOW)
    live = memory("c")
    put(index, expired, deleted, live)

    unknown = uuid4()
    assert index.existing_ids([expired.id, deleted.id, live.id, unknown]) == {
        expired.id,
        deleted.id,
        live.id,
    }
    assert index.existing_ids([unknown]) == set()
    assert index.existing_ids([]) == set()


def test_count(index: MemoryIndex) -> None:
    assert index.count(EVERYTHING, ALL, now=NOW) == 0
    put(index, *[memory("a") for _ in range(4)], *[memory("b", tags=("t",)) for _ in range(3)])

    assert index.count(EVERYTHING, ALL, now=NOW) == 7
    assert index.count(scopes("a"), ALL, now=NOW) == 4
    assert index.count(scopes("b"), IndexQuery(tags_any=("t",)), now=NOW) == 3
    assert index.count(scopes("a"), IndexQuery(tags_any=("t",)), now=NOW) == 0


def test_empty_writes_are_no_ops(index: MemoryIndex) -> None:
    index.upsert([])
    index.delete([])
    index.flush()
    assert index.count(EVERYTHING, ALL, now=NOW) == 0


# -- property: scope isolation --------------------------------------------------------------

SEGMENTS = ["a", "b", "ab"]
UNIVERSE = [
    "/".join(parts) for depth in (1, 2, 3) for parts in itertools.product(SEGMENTS, repeat=depth)
]
patterns_strategy = st.lists(
    st.one_of(
        st.sampled_from(UNIVERSE),
        st.sampled_from(UNIVERSE).map(lambda s: s + "/**"),
        st.just("**"),
    ),
    max_size=4,
)


@pytest.fixture
def populated(index: MemoryIndex) -> tuple[MemoryIndex, dict[UUID, str]]:
    """Two live memories in every scope of UNIVERSE, plus an expired and a deleted one."""
    live = [memory(s) for s in UNIVERSE for _ in range(2)]
    hidden = [memory(s, expires_at=NOW) for s in UNIVERSE] + [
        memory(s, deleted_at=NOW) for s in UNIVERSE
    ]
    index.upsert([(m, vec(i * 0.37)) for i, m in enumerate(live + hidden)])
    return index, {m.id: m.scope for m in live}


@settings(
    max_examples=60,
    deadline=None,
    # The index is filled once per test and only read by the examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(patterns=patterns_strategy, query_angle=st.floats(0, 2 * math.pi))
def test_search_never_returns_other_scopes(
    populated: tuple[MemoryIndex, dict[UUID, str]], patterns: list[str], query_angle: float
) -> None:
    index, scope_of = populated
    flt = scopes(*patterns)
    expected = {i for i, s in scope_of.items() if flt.matches(s)}

    results = index.search(vec(query_angle), flt, ALL, limit=len(scope_of) + 5, now=NOW)
    assert all(flt.matches(r.memory.scope) for r in results)
    assert {r.memory.id for r in results} == expected
    page, _ = index.scroll(flt, ALL, limit=len(scope_of) + 5, cursor=None, now=NOW)
    assert {m.id for m in page} == expected
    assert index.count(flt, ALL, now=NOW) == len(expected)


# -- Qdrant Edge specifics ------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from pathlib import Path
    from uuid import UUID

    from memory_service.domain.models import Classification, Memory, Provenance
    from memory_service.storage.qdrant_edge_index import QdrantEdgeMemoryIndex

    index = QdrantEdgeMemoryIndex(Path(sys.argv[1]), 8)
    now = datetime.now(UTC)
    for n, raw in enumerate(sys.argv[2:]):
        m = Memory(
            id=UUID(raw), scope="acme", content=f"written {n}", metadata={}, tags=(),
            subject=None, created_at=now, updated_at=now, expires_at=None, version=1,
            classification=Classification(), provenance=Provenance("k", "r"),
        )
        index.upsert([(m, [1.0] + [0.0] * 7)])
        if n == 2:
            index.flush()
    print("upserted", flush=True)
    sys.stdin.read()  # wait to be killed: the last two never flushed, nothing closed
    """
)


@pytest.mark.slow
def test_edge_flushed_upserts_survive_sigkill(tmp_path: Path) -> None:
    """Durable once flushed; the service replays unflushed writes from the control store."""
    path = tmp_path / "shard"
    ids = [uuid4() for _ in range(5)]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), *map(str, ids)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "upserted"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()

    reopened = QdrantEdgeMemoryIndex(path, DIM)
    try:
        assert set(ids[:3]) <= reopened.existing_ids(ids)
        got = reopened.get(ids[2], scopes("acme"), now=datetime.now(UTC))
        assert got is not None
        assert got.content == "written 2"
    finally:
        reopened.close()


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_edge_vacuum_removes_deleted_text_from_every_file(tmp_path: Path) -> None:
    path = tmp_path / "shard"
    index = QdrantEdgeMemoryIndex(path, DIM)
    now = datetime.now(UTC)
    kept, gone = uuid4(), uuid4()
    for memory_id, text in [(kept, "kept-okapi-5521"), (gone, "gone-narwhal-8813")]:
        memory = Memory(
            id=memory_id,
            scope="acme",
            content=text,
            metadata={},
            tags=(),
            subject=text,
            created_at=now,
            updated_at=now,
            expires_at=None,
            version=1,
            classification=Classification(),
            provenance=Provenance("k", "r"),
        )
        index.upsert([(memory, vec(0.3))])
    index.flush()
    assert _files_containing(path, b"gone-narwhal-8813"), "the probe must see stored text"
    index.delete([gone])
    index.vacuum()
    try:
        assert _files_containing(path, b"gone-narwhal-8813") == []
        assert _files_containing(path, b"kept-okapi-5521")
    finally:
        index.close()
    reopened = QdrantEdgeMemoryIndex(path, DIM)
    try:
        assert reopened.existing_ids([kept, gone]) == {kept}
        assert reopened.get(kept, scopes("acme"), now=now) is not None
    finally:
        reopened.close()


def test_edge_reopens_with_data_and_indexes(tmp_path: Path) -> None:
    path = tmp_path / "shard"
    m = memory("acme/bot", tags=("t",))
    first = QdrantEdgeMemoryIndex(path, DIM)
    put(first, m)
    first.close()
    first.close()  # idempotent

    second = QdrantEdgeMemoryIndex(path, DIM)
    try:
        assert second.get(m.id, scopes("acme/**"), now=NOW) == m
        assert second.count(scopes("acme/bot"), IndexQuery(tags_any=("t",)), now=NOW) == 1
        assert set(second._shard.info().payload_schema) == {
            "scope",
            "scope_path",
            "subject",
            "tags",
            "expires_ts",
            "created_ts",
            "deleted",
            "content",  # the text index that finds pseudonym tokens
        }
    finally:
        second.close()


def _edge_search_threads() -> set[str]:
    names = {}
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a closed shard's thread exiting
            names[task.name] = (task / "comm").read_text()
    return {tid for tid, name in names.items() if name.startswith("edge-search")}


@pytest.mark.parametrize("threads", [1, 3])
def test_edge_search_pool_has_the_configured_threads(tmp_path: Path, threads: int) -> None:
    # The engine's default is one per CPU; on 2 cores those spun against the request thread.
    before = _edge_search_threads()
    index = QdrantEdgeMemoryIndex(tmp_path / "shard", DIM, search_threads=threads)
    try:
        put(index, memory("acme/bot"))
        assert index.count(scopes("acme/bot"), ALL, now=NOW) == 1
        assert len(_edge_search_threads() - before) == threads
    finally:
        index.close()


def test_edge_refuses_another_dimension(tmp_path: Path) -> None:
    path = tmp_path / "shard"
    QdrantEdgeMemoryIndex(path, DIM).close()
    with pytest.raises(Exception, match="vector size"):
        QdrantEdgeMemoryIndex(path, DIM * 2)


def test_edge_use_after_close_is_store_unavailable(tmp_path: Path) -> None:
    index = QdrantEdgeMemoryIndex(tmp_path / "shard", DIM)
    index.close()
    with pytest.raises(StoreUnavailable):
        index.count(EVERYTHING, ALL, now=NOW)
    with pytest.raises(StoreUnavailable):
        index.upsert([(memory(), basis(0))])


def test_edge_sync_writes_and_optimize(tmp_path: Path) -> None:
    index = QdrantEdgeMemoryIndex(tmp_path / "shard", DIM, sync_writes=True)
    try:
        memories = [memory(f"s{i % 3}") for i in range(30)]
        index.upsert([(m, vec(i * 0.1)) for i, m in enumerate(memories)])
        index.optimize()
        assert index.count(scopes("s1"), ALL, now=NOW) == 10
    finally:
        index.close()


def test_edge_is_safe_to_use_from_a_thread_pool(tmp_path: Path) -> None:
    index = QdrantEdgeMemoryIndex(tmp_path / "shard", DIM)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(worker: int) -> list[UUID]:
        written: list[UUID] = []
        scope = f"w{worker}"
        try:
            for n in range(40):
                m = memory(scope)
                index.upsert([(m, vec(n * 0.05))])
                written.append(m.id)
                assert index.get(m.id, scopes(scope), now=NOW) == m
                results = index.search(vec(0), scopes(scope), ALL, limit=5, now=NOW)
                assert all(r.memory.scope == scope for r in results)
                if n % 10 == 0:
                    index.flush()
        except BaseException as exc:  # collected for the main thread to assert on
            with lock:
                errors.append(exc)
        return written

    try:
        with ThreadPoolExecutor(8) as pool:
            written = [i for ids in pool.map(work, range(8)) for i in ids]
        assert errors == []
        assert index.existing_ids(written) == set(written)
        assert index.count(EVERYTHING, ALL, now=NOW) == 8 * 40
    finally:
        index.close()


# -- qdrant-client specifics ----------------------------------------------------------------


def test_client_reuses_the_collection_and_refuses_another_dimension() -> None:
    client = QdrantClient(":memory:")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Payload indexes have no effect", UserWarning)
        first = QdrantClientMemoryIndex(client, "memories", DIM)
        m = memory()
        put(first, m)
        second = QdrantClientMemoryIndex(client, "memories", DIM)
        assert second.get(m.id, EVERYTHING, now=NOW) == m
        with pytest.raises(ValueError, match="dimensions"):
            QdrantClientMemoryIndex(client, "memories", DIM + 1)
    first.close()


def test_client_creates_payload_indexes(monkeypatch: pytest.MonkeyPatch) -> None:
    client = QdrantClient(":memory:")
    # Local mode does not report payload indexes back, so the requests are what we can check.
    created: dict[str, Any] = {}

    def record(collection: str, field: str, *, field_schema: Any, wait: bool) -> None:
        assert (collection, wait) == ("memories", True)
        created[field] = field_schema

    monkeypatch.setattr(client, "create_payload_index", record)
    index = QdrantClientMemoryIndex(client, "memories", DIM)
    index.close()

    assert created.pop("scope") == models.KeywordIndexParams(
        type=models.KeywordIndexType.KEYWORD, is_tenant=True
    )
    # Only words of a pseudonym digest's length: the index finds tokens, not prose.
    assert created.pop("content") == models.TextIndexParams(
        type=models.TextIndexType.TEXT,
        tokenizer=models.TokenizerType.WORD,
        lowercase=True,
        min_token_len=6,
        max_token_len=6,
    )
    kinds = models.PayloadSchemaType
    assert created == {
        "scope_path": kinds.KEYWORD,
        "subject": kinds.KEYWORD,
        "tags": kinds.KEYWORD,
        "expires_ts": kinds.FLOAT,
        "created_ts": kinds.FLOAT,
        "deleted": kinds.BOOL,
    }


def test_ids_page_walks_every_point_once_whatever_its_state(index: MemoryIndex) -> None:
    """Reconcile's view: every point, in any scope, expired or deleted alike."""
    stored = [memory(s) for s in ("acme", "acme/globex", "initech", "z")] + [
        memory("acme", expires_at=NOW - timedelta(days=1)),
        memory("acme", deleted_at=NOW),
        memory("initech/x"),
    ]
    index.upsert([(m, vec(0.1 * n)) for n, m in enumerate(stored)])
    seen: list[UUID] = []
    after: UUID | None = None
    while True:
        page, after = index.ids_page(after, 3)
        assert len(page) <= 3
        seen.extend(page)
        if after is None:
            break
    assert sorted(seen) == sorted(m.id for m in stored)
