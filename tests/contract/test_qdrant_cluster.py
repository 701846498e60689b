"""The qdrant-client adapter on a cluster: shard keys per org, layout, ordering, retries, timeouts.

Local mode cannot show any of this (it ignores shard keys and never fails), so these tests
talk HTTP to :mod:`tests.contract.fake_qdrant`, which answers like a custom-sharded Qdrant
server and records what it was asked. The rest of the index contract runs in
``test_memory_index.py`` against local mode.
"""

from __future__ import annotations

import socket
import time
import warnings
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from memory_service.app import build_index
from memory_service.domain.models import Classification, IndexQuery, Memory, Provenance
from memory_service.domain.scopes import ScopeFilter, ScopePattern, normalise
from memory_service.errors import StoreUnavailable
from memory_service.settings import Settings
from memory_service.storage.qdrant_client_index import (
    QdrantClientMemoryIndex,
    QdrantClusterOptions,
    is_transient,
)
from tests.contract.fake_qdrant import COLLECTION, FakeQdrant, Stall, running

DIM = 4
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
ALL = IndexQuery()
ORG_MODE = QdrantClusterOptions(
    shard_key_mode="org",
    shard_number=2,
    replication_factor=2,
    write_consistency_factor=2,
    retries=3,
    backoff_seconds=0.01,
    max_backoff_seconds=0.05,
)


def scopes(*patterns: str) -> ScopeFilter:
    return ScopeFilter(normalise([ScopePattern.parse(p) for p in patterns]))


def memory(scope: str) -> Memory:
    return Memory(
        id=uuid4(),
        scope=scope,
        content="prefers email",
        metadata={},
        tags=(),
        subject=None,
        created_at=NOW - timedelta(days=1),
        updated_at=NOW - timedelta(days=1),
        expires_at=None,
        version=1,
        classification=Classification(),
        provenance=Provenance(created_by="key-1", request_id="req-1"),
    )


def vector() -> list[float]:
    return [1.0, 0.0, 0.0, 0.0]


class Sleeps(list[float]):
    """Stands in for time.sleep: records the backoff delays instead of waiting them out."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def fake() -> Iterator[FakeQdrant]:
    with running(FakeQdrant(dimension=DIM)) as server:
        yield server


def open_index(
    fake: FakeQdrant,
    options: QdrantClusterOptions = ORG_MODE,
    *,
    sleeps: Sleeps | None = None,
    timeout: int = 5,
) -> QdrantClientMemoryIndex:
    client = QdrantClient(url=fake.url, timeout=timeout, check_compatibility=False)
    return QdrantClientMemoryIndex(
        client,
        COLLECTION,
        DIM,
        options,
        sleep=sleeps if sleeps is not None else Sleeps(),
        jitter=lambda: 1.0,
    )


def shard_key_of(seen_body: dict[str, Any]) -> Any:
    return seen_body.get("shard_key")


# -- layout ---------------------------------------------------------------------------------


def test_org_mode_creates_a_custom_sharded_replicated_collection(fake: FakeQdrant) -> None:
    open_index(fake).close()

    assert fake.collection == {
        "vectors": {"size": DIM, "distance": "Cosine"},
        "sharding_method": "custom",
        "shard_number": 2,
        "replication_factor": 2,
        "write_consistency_factor": 2,
    }
    # Every field a read filters on is indexed, the scope as the tenant field.
    assert fake.payload_schema["scope"]["params"] == {"type": "keyword", "is_tenant": True}
    assert {k: v["data_type"] for k, v in fake.payload_schema.items()} == {
        "scope": "keyword",
        "scope_path": "keyword",
        "subject": "keyword",
        "tags": "keyword",
        "expires_ts": "float",
        "created_ts": "float",
        "deleted": "bool",
        "content": "text",  # pseudonym digests only (6-character words)
    }
    assert fake.payload_schema["content"]["params"]["min_token_len"] == 6


def test_default_mode_leaves_the_layout_to_the_server(fake: FakeQdrant) -> None:
    open_index(fake, QdrantClusterOptions()).close()

    assert fake.collection == {"vectors": {"size": DIM, "distance": "Cosine"}}
    assert fake.requests("GET", "/shards") == []


def test_an_existing_collection_is_reused_without_recreating_indexes(fake: FakeQdrant) -> None:
    open_index(fake).close()
    created = len(fake.requests("PUT", "/index"))
    open_index(fake).close()

    assert len(fake.requests("PUT", "")) == 1
    assert len(fake.requests("PUT", "/index")) == created == 8


def test_creating_the_collection_survives_an_outage_blip(fake: FakeQdrant) -> None:
    sleeps = Sleeps()
    fake.fail("PUT", "", 503)
    open_index(fake, sleeps=sleeps).close()

    assert len(fake.requests("PUT", "")) == 2
    assert fake.custom
    assert len(sleeps) == 1


def test_a_collection_another_replica_created_first_is_used(fake: FakeQdrant) -> None:
    answers = iter([False])
    exists = fake._exists

    def racing_exists(body: Any) -> tuple[int, Any]:
        if next(answers, True) is False:
            # Says no, and another replica creates it before this one's create arrives.
            fake.preset_collection(sharding_method="custom")
            return fake._ok({"exists": False})
        return exists(body)

    fake._exists = racing_exists  # type: ignore[method-assign]
    open_index(fake).close()

    assert len(fake.requests("PUT", "")) == 1  # refused with 409, then found to exist
    assert len(fake.requests("GET", "/exists")) == 2
    assert len(fake.requests("PUT", "/index")) == 8


@pytest.mark.parametrize(("existing", "mode"), [(None, "org"), ("auto", "org"), ("custom", "none")])
def test_a_collection_sharded_another_way_is_refused(
    fake: FakeQdrant, existing: str | None, mode: str
) -> None:
    fake.preset_collection(sharding_method=existing)
    with pytest.raises(ValueError, match="shard key mode"):
        open_index(fake, replace(ORG_MODE, shard_key_mode=mode))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        QdrantClusterOptions(shard_key_mode="org"),
        QdrantClusterOptions(replication_factor=2),
        QdrantClusterOptions(write_consistency_factor=2),
        QdrantClusterOptions(shard_number=3),
        QdrantClusterOptions(read_consistency="all"),
    ],
)
def test_local_mode_refuses_cluster_options(options: QdrantClusterOptions) -> None:
    # Local mode would accept and ignore most of these, and fail on the first shard key.
    with pytest.raises(ValueError, match="local mode"):
        QdrantClientMemoryIndex(QdrantClient(":memory:"), COLLECTION, DIM, options)


@pytest.mark.parametrize(
    "changes",
    [
        {"shard_key_mode": "orgs"},
        {"replication_factor": 0},
        {"shard_number": 0},
        {"retries": -1},
        {"backoff_seconds": -0.1},
        {"read_consistency": "most"},
        {"read_consistency": "0"},
    ],
)
def test_nonsense_options_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"shard key mode|at least 1|negative|read consistency"):
        QdrantClusterOptions(**changes)


# -- shard keys on write --------------------------------------------------------------------


def test_first_write_to_an_org_creates_its_shard_key_once(fake: FakeQdrant) -> None:
    index = open_index(fake)
    a1, a2, i1 = memory("acme/globex"), memory("acme/initech-ops"), memory("initech")
    index.upsert([(a1, vector()), (a2, vector()), (i1, vector())])
    index.upsert([(memory("acme"), vector())])

    creates = [s.body for s in fake.requests("PUT", "/shards")]
    assert creates == [
        {"shard_key": "acme", "shards_number": 2, "replication_factor": 2},
        {"shard_key": "initech", "shards_number": 2, "replication_factor": 2},
    ]
    upserts = fake.requests("PUT", "/points")
    # One request per org, each naming its shard key; written through the leader, waited for.
    assert [(shard_key_of(s.body), len(s.body["points"])) for s in upserts] == [
        ("acme", 2),
        ("initech", 1),
        ("acme", 1),
    ]
    assert all(s.query == {"wait": "true", "ordering": "strong"} for s in upserts)
    assert fake.points[str(a1.id)][0] == "acme"
    assert fake.points[str(i1.id)][0] == "initech"


def test_a_shard_key_another_replica_created_is_used_not_recreated(fake: FakeQdrant) -> None:
    index = open_index(fake)
    fake.shard_keys.add("acme")  # created by another replica after this one started

    index.upsert([(memory("acme/bot"), vector())])

    assert fake.requests("PUT", "/shards") == []
    assert [shard_key_of(s.body) for s in fake.requests("PUT", "/points")] == ["acme"]


def test_losing_the_race_to_create_a_shard_key_is_not_an_error(fake: FakeQdrant) -> None:
    def other_replica_wins(server: FakeQdrant, body: dict[str, Any]) -> None:
        server.shard_keys.add(body["shard_key"])

    fake.on_create_shard_key = other_replica_wins
    index = open_index(fake)
    m = memory("acme/bot")
    index.upsert([(m, vector())])

    assert fake.points[str(m.id)][0] == "acme"


def test_a_refused_shard_key_is_not_swallowed(fake: FakeQdrant) -> None:
    index = open_index(fake)
    fake.fail("PUT", "/shards", 403)

    with pytest.raises(UnexpectedResponse) as raised:
        index.upsert([(memory("acme/bot"), vector())])
    assert raised.value.status_code == 403
    assert fake.points == {}


# -- shard keys on read ---------------------------------------------------------------------


def seeded(fake: FakeQdrant) -> tuple[QdrantClientMemoryIndex, dict[str, Memory]]:
    index = open_index(fake)
    stored = {s: memory(s) for s in ("acme/globex", "initech", "umbrella/labs")}
    index.upsert([(m, vector()) for m in stored.values()])
    fake.seen.clear()
    return index, stored


def read_everything(index: QdrantClientMemoryIndex, flt: ScopeFilter) -> dict[str, Any]:
    return {
        "search": index.search(vector(), flt, ALL, limit=10, now=NOW),
        "scroll": index.scroll(flt, ALL, limit=10, cursor=None, now=NOW)[0],
        "count": index.count(flt, ALL, now=NOW),
    }


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (["acme/globex/**"], "acme"),
        (["acme/globex", "initech/**"], ["acme", "initech"]),
        (["umbrella/labs", "initech", "acme/**"], ["acme", "initech", "umbrella"]),
    ],
)
def test_reads_name_only_the_orgs_the_scope_filter_reaches(
    fake: FakeQdrant, patterns: list[str], expected: str | list[str]
) -> None:
    index, _ = seeded(fake)
    read_everything(index, scopes(*patterns))

    reads = [s for s in fake.seen if s.path.startswith(f"/collections/{COLLECTION}/points/")]
    assert [s.path.rsplit("/", 1)[1] for s in reads] == ["query", "scroll", "count"]
    wanted = expected if isinstance(expected, list) else [expected]
    assert all(shard_key_of(s.body) == wanted for s in reads), [s.body for s in reads]


@pytest.mark.parametrize(
    ("setting", "sent"), [("all", "all"), ("majority", "majority"), ("2", "2")]
)
def test_every_read_asks_the_configured_replicas(fake: FakeQdrant, setting: str, sent: str) -> None:
    # Qdrant keeps what every replica asked holds: with "all", a memory one replica has
    # already purged is never shown from the other.
    index = open_index(fake, replace(ORG_MODE, read_consistency=setting))
    m = memory("acme/globex")
    index.upsert([(m, vector())])
    fake.seen.clear()
    read_everything(index, scopes("acme/**"))
    index.get(m.id, scopes("acme/**"), now=NOW)
    index.existing_ids([m.id])
    index.delete([m.id])

    reads = [s for s in fake.seen if s.method == "POST" and "/points" in s.path]
    reads = [s for s in reads if not s.path.endswith("/delete")]
    # query, scroll, get's scroll, retrieve, delete's retrieve (qdrant-client's count takes none)
    reads = [s for s in reads if not s.path.endswith("/count")]
    assert len(reads) == 5
    assert all(s.query.get("consistency") == sent for s in reads), [s.query for s in reads]


def test_reads_leave_consistency_to_the_server_by_default(fake: FakeQdrant) -> None:
    index, _ = seeded(fake)
    read_everything(index, scopes("**"))
    assert all("consistency" not in s.query for s in fake.seen)


def test_an_everything_read_spans_every_shard(fake: FakeQdrant) -> None:
    index, stored = seeded(fake)
    found = read_everything(index, scopes("**"))

    reads = [s for s in fake.seen if s.path.startswith(f"/collections/{COLLECTION}/points/")]
    assert len(reads) == 3
    assert all("shard_key" not in s.body for s in reads)
    assert found["count"] == 3
    assert {m.id for m in found["scroll"]} == {m.id for m in stored.values()}


def test_a_read_of_orgs_without_a_shard_key_asks_nothing(fake: FakeQdrant) -> None:
    index, stored = seeded(fake)
    nowhere = scopes("globex/**", "hooli")

    assert read_everything(index, nowhere) == {"search": [], "scroll": [], "count": 0}
    assert index.get(stored["initech"].id, nowhere, now=NOW) is None
    assert [s.path for s in fake.seen if "/points" in s.path] == []
    # It did look for keys another replica may have created meanwhile.
    assert fake.requests("GET", "/shards")


def test_a_read_finds_an_org_another_replica_just_created(fake: FakeQdrant) -> None:
    index, _ = seeded(fake)
    fake.shard_keys.add("hooli")  # another replica's first write to hooli

    assert index.count(scopes("hooli/**", "acme"), ALL, now=NOW) == 1  # acme/globex only
    counts = fake.requests("POST", "/points/count")
    assert [shard_key_of(s.body) for s in counts] == [["acme", "hooli"]]


def test_get_names_the_orgs_of_its_filter(fake: FakeQdrant) -> None:
    index, stored = seeded(fake)
    got = index.get(stored["initech"].id, scopes("initech"), now=NOW)

    assert got is not None
    assert got.id == stored["initech"].id
    assert [shard_key_of(s.body) for s in fake.requests("POST", "/points/scroll")] == [["initech"]]


# -- delete and reconcile -------------------------------------------------------------------


def test_delete_names_each_points_org(fake: FakeQdrant) -> None:
    index, stored = seeded(fake)
    gone = [stored["acme/globex"].id, stored["initech"].id, uuid4()]
    index.delete(gone)

    # The fake deletes only inside the shard a request names: a wrong key would leave them.
    assert set(fake.points) == {str(stored["umbrella/labs"].id)}
    deletes = fake.requests("POST", "/points/delete")
    assert sorted(shard_key_of(s.body) for s in deletes) == ["acme", "initech"]
    assert all(s.query == {"wait": "true", "ordering": "strong"} for s in deletes)
    # The lookup that found each point's org searched every shard.
    assert [shard_key_of(s.body) for s in fake.requests("POST", "/points")] == [None]


def test_deleting_unknown_ids_sends_no_delete(fake: FakeQdrant) -> None:
    index, _ = seeded(fake)
    index.delete([uuid4(), uuid4()])
    assert fake.requests("POST", "/points/delete") == []
    assert len(fake.points) == 3


def test_reconcile_reads_search_every_shard(fake: FakeQdrant) -> None:
    index, stored = seeded(fake)
    ids = [m.id for m in stored.values()]

    assert index.existing_ids([*ids, uuid4()]) == set(ids)
    page, after = index.ids_page(None, 10)
    assert sorted(page) == sorted(ids)
    assert after is None
    reads = fake.requests("POST", "/points") + fake.requests("POST", "/points/scroll")
    assert len(reads) == 2
    assert all("shard_key" not in s.body for s in reads)


# -- retries and timeouts -------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
def test_transient_answers_are_retried_with_exponential_backoff(
    fake: FakeQdrant, status: int
) -> None:
    sleeps = Sleeps()
    index = open_index(fake, sleeps=sleeps)
    fake.fail("PUT", "/points", status, status)
    m = memory("acme")

    index.upsert([(m, vector())])

    assert len(fake.requests("PUT", "/points")) == 3
    assert str(m.id) in fake.points
    assert sleeps == [0.01, 0.02]  # jitter pinned at its top: base * 2**attempt


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422, 429])
def test_client_errors_are_never_retried(fake: FakeQdrant, status: int) -> None:
    sleeps = Sleeps()
    index, _ = seeded(fake)
    index._sleep = sleeps
    fake.fail("POST", "/points/count", status)

    with pytest.raises(UnexpectedResponse):
        index.count(scopes("acme"), ALL, now=NOW)
    assert len(fake.requests("POST", "/points/count")) == 1
    assert sleeps == []


def test_a_server_error_is_not_retried_and_is_store_unavailable(fake: FakeQdrant) -> None:
    sleeps = Sleeps()
    index, _ = seeded(fake)
    index._sleep = sleeps
    fake.fail("POST", "/points/query", 500)

    with pytest.raises(StoreUnavailable):
        index.search(vector(), scopes("acme"), ALL, limit=5, now=NOW)
    assert len(fake.requests("POST", "/points/query")) == 1
    assert sleeps == []


def test_retries_are_bounded_and_backoff_is_capped(fake: FakeQdrant) -> None:
    sleeps = Sleeps()
    index = open_index(fake, replace(ORG_MODE, retries=5), sleeps=sleeps)
    fake.fail("PUT", "/points", *[503] * 10)

    with pytest.raises(StoreUnavailable):
        index.upsert([(memory("acme"), vector())])
    assert len(fake.requests("PUT", "/points")) == 6
    assert sleeps == [0.01, 0.02, 0.04, 0.05, 0.05]


def test_jitter_spreads_the_delay_below_the_ceiling(fake: FakeQdrant) -> None:
    sleeps = Sleeps()
    client = QdrantClient(url=fake.url, timeout=5, check_compatibility=False)
    draws = iter([0.5, 0.25])
    index = QdrantClientMemoryIndex(
        client, COLLECTION, DIM, ORG_MODE, sleep=sleeps, jitter=lambda: next(draws)
    )
    fake.fail("PUT", "/points", 503, 503)
    index.upsert([(memory("acme"), vector())])
    assert sleeps == [0.005, 0.005]


def test_a_server_that_does_not_answer_in_time_is_retried(fake: FakeQdrant) -> None:
    sleeps = Sleeps()
    index, _ = seeded(fake)
    index._sleep = sleeps
    # The client's timeout is 1 s; the first answer would come after 2 s.
    index._client = QdrantClient(url=fake.url, timeout=1, check_compatibility=False)
    fake.fail("POST", "/points/count", Stall(2.0))

    assert index.count(scopes("acme"), ALL, now=NOW) == 1
    assert len(fake.requests("POST", "/points/count")) == 2
    assert len(sleeps) == 1


def test_an_unreachable_server_is_store_unavailable_after_the_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens there any more: every connection is refused.
    sleeps = Sleeps()
    client = QdrantClient(url=f"http://127.0.0.1:{port}", timeout=1, check_compatibility=False)
    with pytest.raises(StoreUnavailable):
        QdrantClientMemoryIndex(client, COLLECTION, DIM, replace(ORG_MODE, retries=2), sleep=sleeps)
    assert len(sleeps) == 2


def test_only_transport_failures_and_gateway_answers_are_transient() -> None:
    from httpx import ConnectError, ReadTimeout, UnsupportedProtocol  # noqa: PLC0415
    from pydantic import ValidationError  # noqa: PLC0415
    from qdrant_client.http.exceptions import ResponseHandlingException  # noqa: PLC0415

    def answer(status: int) -> UnexpectedResponse:
        return UnexpectedResponse(status, "", b"", None)  # type: ignore[arg-type]

    try:
        models.VectorParams.model_validate({})
    except ValidationError as exc:
        unparsable = exc
    assert is_transient(ResponseHandlingException(ConnectError("refused")))
    assert is_transient(ResponseHandlingException(ReadTimeout("slow")))
    assert not is_transient(ResponseHandlingException(UnsupportedProtocol("ftp")))
    assert not is_transient(ResponseHandlingException(unparsable))
    assert [s for s in (400, 404, 429, 500, 501, 502, 503, 504) if is_transient(answer(s))] == [
        502,
        503,
        504,
    ]
    assert not is_transient(ValueError("not ours"))


# -- settings -------------------------------------------------------------------------------


def test_build_index_takes_the_cluster_settings(fake: FakeQdrant, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        qdrant_url=fake.url,
        qdrant_collection=COLLECTION,
        qdrant_timeout_seconds=3,
        qdrant_retries=1,
        qdrant_shard_key_mode="org",
        qdrant_shard_number=1,
        qdrant_replication_factor=2,
        qdrant_write_consistency_factor=1,
        qdrant_write_ordering="medium",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. a failed version check
        index = build_index(settings, DIM)
    assert isinstance(index, QdrantClientMemoryIndex)
    try:
        assert index._client.init_options["timeout"] == 3
        assert fake.collection is not None
        assert fake.collection["sharding_method"] == "custom"
        assert fake.collection["replication_factor"] == 2
        fake.fail("PUT", "/points", 503, 503)
        with pytest.raises(StoreUnavailable):
            index.upsert([(memory("acme"), vector())])
        upserts = fake.requests("PUT", "/points")
        assert len(upserts) == 2  # one retry
        assert upserts[0].query["ordering"] == "medium"
    finally:
        index.close()
        # qdrant-client checks the server's version from a thread; let it finish while the
        # server is still up, or its warning would land in whichever test runs next.
        deadline = time.monotonic() + 10
        while "/" not in fake.answered and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "/" in fake.answered


def test_memory_ids_round_trip_through_the_server(fake: FakeQdrant) -> None:
    index = open_index(fake)
    m = memory("acme/globex")
    index.upsert([(m, vector())])
    got = index.get(m.id, scopes("acme/**"), now=NOW)
    assert got == m
    assert isinstance(got.id, UUID)
