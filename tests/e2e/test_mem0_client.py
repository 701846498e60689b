"""mem0's own ``MemoryClient(api_key=..., host=...)`` against a started ``memory-service serve``.

The client comes from ``requirements-compat.txt`` (``make test`` installs it). Without it these
tests fail rather than skip, so a broken install cannot pass as green; set
``MEM0_CLIENT_TESTS=optional`` to skip them on a machine that deliberately lacks the client.

The client's telemetry is switched off before it is imported, and every connection and name
lookup this process makes during a test is recorded: the client may talk to our server and
nothing else.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RW, Server, create_key

pytestmark = pytest.mark.e2e

GITHUB = "ghp_" + "R8x2Lq9ZtV4mN7cW1pK6yH3sD0fJ5gB2aE8u"  # split: not a secret in our repo
EMAIL = "emily.johnson@example.com"
OPTIONAL_ENV = "MEM0_CLIENT_TESTS"

# Filters a client could use to reach past its own data: every one of them must answer only
# the caller's memories (or be refused), never another key's.
WIDE_FILTERS: tuple[dict[str, Any], ...] = (
    {"user_id": "*"},
    {"user_id": "shared"},
    {"agent_id": "*"},
    {"user_id": "*", "agent_id": "*", "app_id": "*", "run_id": "*"},
    {"AND": [{"user_id": "*"}, {"agent_id": "*"}]},
    {"AND": [{"user_id": "shared"}, {"run_id": "*"}]},
)
# Filters we cannot honour exactly: refused (400) rather than answered more widely.
REFUSED_FILTERS: tuple[dict[str, Any], ...] = (
    {"OR": [{"user_id": "shared"}, {"user_id": "*"}]},
    {"user_id": {"in": ["shared", "*"]}},
    {"categories": {"contains": "drinks"}},
)

_connections: list[tuple[Any, ...]] = []
_lookups: list[str] = []
_recording: list[bool] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _recording:
        return
    if event == "socket.connect":
        _connections.append(tuple(args[1]) if isinstance(args[1], tuple) else (args[1],))
    elif event == "socket.getaddrinfo":
        _lookups.append(str(args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one only records while asked


@pytest.fixture(scope="module")
def mem0(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The mem0 package, imported with telemetry off and its config dir in a temp dir."""
    saved = {k: os.environ.get(k) for k in ("MEM0_TELEMETRY", "MEM0_DIR")}
    os.environ["MEM0_TELEMETRY"] = "False"
    os.environ["MEM0_DIR"] = str(tmp_path_factory.mktemp("mem0-home"))
    try:
        try:
            module = importlib.import_module("mem0")
        except ImportError as exc:
            if os.environ.get(OPTIONAL_ENV) == "optional":
                pytest.skip(f"mem0ai is not installed and {OPTIONAL_ENV}=optional")
            pytest.fail(
                "mem0ai is not installed: `make test` installs requirements-compat.txt "
                f"(set {OPTIONAL_ENV}=optional to skip these tests on purpose): {exc}"
            )
        telemetry = importlib.import_module("mem0.memory.telemetry")
        assert telemetry.MEM0_TELEMETRY is False
        assert telemetry.client_telemetry.posthog is None
        yield module
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
def server(module_server: Server) -> Server:
    with httpx.Client(base_url=module_server.base_url) as probe:
        response = probe.get("/v1/ping/", headers={"Authorization": "Token x"})
    # 401 (unknown key) proves the route exists; a 404 would mean the mem0 routes are gone.
    assert response.status_code == 401, response.text
    return module_server


@pytest.fixture
def only_our_server(server: Server) -> Iterator[None]:
    _connections.clear()
    _lookups.clear()
    _recording.append(True)
    try:
        yield
    finally:
        _recording.clear()
    foreign = [c for c in _connections if c[:2] != ("127.0.0.1", server.port)]
    assert foreign == [], foreign
    assert set(_lookups) <= {"127.0.0.1"}, _lookups
    assert _connections, "recorded no connection at all: the audit hook is not seeing them"


@pytest.fixture
def clients(mem0: ModuleType, server: Server) -> Iterator[list[Any]]:
    """Every MemoryClient a test makes; their HTTP connections are closed afterwards."""
    made: list[Any] = []
    yield made
    for client in made:
        client.client.close()


def client_for(mem0: ModuleType, server: Server, key: str, made: list[Any]) -> Any:
    client = mem0.MemoryClient(api_key=key, host=server.base_url)
    made.append(client)
    return client


def _add_clean_pii_and_secret(client: Any) -> tuple[str, str]:
    """The three kinds of add; the ids of the two that were stored (clean, redacted)."""
    clean = client.add(
        [{"role": "user", "content": "I prefer green tea in the morning"}],
        user_id="alice",
        agent_id="concierge",
        metadata={"topic": "drinks"},
        infer=False,
    )
    [added] = clean["results"]
    assert added["event"] == "ADD"
    assert added["data"] == {"memory": "I prefer green tea in the morning"}

    pii = client.add(f"Write to Emily Johnson at {EMAIL}", user_id="alice")
    assert "not supported" in pii["message"]  # infer defaults to true: we say what we did
    [pii_item] = pii["results"]
    assert pii_item["event"] == "ADD"
    assert EMAIL not in pii_item["memory"]
    assert "Emily Johnson" not in pii_item["memory"]

    held = client.add(f"the deploy token is {GITHUB}", user_id="alice", infer=False)
    [held_item] = held["results"]
    assert held_item["event"] == "QUARANTINED"
    assert held_item["id"] is None
    assert held_item["quarantine_id"]
    assert {"kind": "secret", "type": "GITHUB_TOKEN"} in held_item["findings"]
    assert GITHUB not in str(held)
    return added["id"], pii_item["id"]


def test_the_real_client_round_trip(
    mem0: ModuleType, server: Server, clients: list[Any], only_our_server: None
) -> None:
    del only_our_server
    errors = importlib.import_module("mem0.exceptions")
    key = create_key(server, "mem0-e2e", ("acme/mem0e2e/**", RW))
    client = client_for(mem0, server, key, clients)
    memory_id, pii_id = _add_clean_pii_and_secret(client)

    hits = client.search("what does alice drink?", filters={"user_id": "alice"}, top_k=5)
    assert hits["results"][0]["id"] == memory_id
    assert hits["results"][0]["user_id"] == "alice"
    assert isinstance(hits["results"][0]["score"], float)
    for query in ("deploy token", GITHUB, EMAIL):
        anyone = client.search(query, filters={"user_id": "*"}, top_k=50)["results"]
        assert all("ghp_" not in h["memory"] and EMAIL not in h["memory"] for h in anyone)

    listing = client.get_all(filters={"user_id": "alice"}, page=1, page_size=10)
    assert listing["count"] == 2  # the clean and the redacted one; the held one is not stored
    assert {r["id"] for r in listing["results"]} == {memory_id, pii_id}
    assert all("ghp_" not in r["memory"] for r in listing["results"])

    got = client.get(memory_id)
    assert got["memory"] == "I prefer green tea in the morning"
    assert got["agent_id"] == "concierge"
    assert got["metadata"] == {"topic": "drinks"}

    updated = client.update(memory_id, text="I prefer oolong tea in the morning")
    assert updated["memory"] == "I prefer oolong tea in the morning"
    held_update = client.update(memory_id, text=f"rotate {GITHUB} on Friday")
    assert held_update["event"] == "QUARANTINED"
    assert GITHUB not in str(held_update)
    assert client.get(memory_id)["memory"] == "I prefer oolong tea in the morning"
    history = client.history(memory_id)
    assert [h["event"] for h in history] == ["ADD", "UPDATE"]
    assert history[1]["old_memory"] == "I prefer green tea in the morning"
    assert history[1]["new_memory"] == "I prefer oolong tea in the morning"

    users = client.users()
    assert {(e["type"], e["name"]) for e in users["results"]} == {
        ("user", "alice"),
        ("agent", "concierge"),
    }

    assert "message" in client.delete(memory_id)
    with pytest.raises(errors.MemoryNotFoundError):
        client.get(memory_id)

    assert "message" in client.delete_all(user_id="alice")
    assert client.get_all(filters={"user_id": "*"})["count"] == 0
    assert GITHUB not in server.logs()
    assert EMAIL not in server.logs()


def _sees_only(client: Any, own_id: str, foreign_id: str) -> None:
    """Every read route answers this client's one memory (every filter matches it), never the
    other's."""
    for filters in WIDE_FILTERS:
        found = client.search("what does the user drink?", filters=filters, top_k=100)
        assert [h["id"] for h in found["results"]] == [own_id], filters
        listed = client.get_all(filters=filters, page=1, page_size=100)
        assert [m["id"] for m in listed["results"]] == [own_id], filters
        assert foreign_id not in str(found) + str(listed)
    everything = client.get_all(filters={"user_id": "*"})
    assert [m["id"] for m in everything["results"]] == [own_id]
    entities = {(e["type"], e["name"], e["total_memories"]) for e in client.users()["results"]}
    assert entities == {("user", "shared", 1), ("agent", "bot", 1)}


def _cannot_touch(client: Any, errors: ModuleType, foreign_id: str) -> None:
    """Every route naming the other key's memory answers 404, exactly as for a random id."""
    calls: tuple[Callable[[], Any], ...] = (
        lambda: client.get(foreign_id),
        lambda: client.history(foreign_id),
        lambda: client.update(foreign_id, text="overwritten"),
        lambda: client.update(foreign_id, metadata={"owner": "me"}),
        lambda: client.delete(foreign_id),
        lambda: client.batch_update([{"memory_id": foreign_id, "text": "overwritten"}]),
        lambda: client.batch_delete([{"memory_id": foreign_id}]),
    )
    for call in calls:
        with pytest.raises(errors.MemoryNotFoundError):
            call()


def test_two_keys_cannot_see_each_other_through_any_mem0_route(
    mem0: ModuleType, server: Server, clients: list[Any], only_our_server: None
) -> None:
    del only_our_server
    errors = importlib.import_module("mem0.exceptions")
    # Sibling scopes whose names share a prefix: a prefix match would leak one into the other.
    a = client_for(mem0, server, create_key(server, "tenant-a", ("acme/tenant/**", RW)), clients)
    b = client_for(mem0, server, create_key(server, "tenant-b", ("acme/tenant-b/**", RW)), clients)
    [a_item] = a.add(
        "tenant A's user likes green tea", user_id="shared", agent_id="bot", infer=False
    )["results"]
    [b_item] = b.add(
        "tenant B's user likes black coffee", user_id="shared", agent_id="bot", infer=False
    )["results"]
    assert a_item["scope"] == "acme/tenant"
    assert b_item["scope"] == "acme/tenant-b"

    for me, mine, theirs in ((a, a_item["id"], b_item["id"]), (b, b_item["id"], a_item["id"])):
        _sees_only(me, mine, theirs)
        _cannot_touch(me, errors, theirs)
        for filters in REFUSED_FILTERS:
            with pytest.raises(errors.ValidationError):
                me.search("what does the user drink?", filters=filters)
            with pytest.raises(errors.ValidationError):
                me.get_all(filters=filters)

    # Entity-wide deletes act within the caller's grants only.
    assert a.delete_users(user_id="shared")["message"]
    assert a.get_all(filters={"user_id": "*"})["count"] == 0
    assert b.get(b_item["id"])["memory"] == "tenant B's user likes black coffee"
    [a_again] = a.add("tenant A's user likes jasmine tea", user_id="shared", infer=False)["results"]
    assert a.delete_all(user_id="*")["deleted"] == 1
    [a_last] = a.add("tenant A's agent prefers short answers", agent_id="bot", infer=False)[
        "results"
    ]
    assert a.reset()["message"]  # every entity a can see, then deleted: only a's
    with pytest.raises(errors.MemoryNotFoundError):
        a.get(a_last["id"])
    del a_again

    survivor = b.get(b_item["id"])
    assert survivor["memory"] == "tenant B's user likes black coffee"
    assert b.get_all(filters={"user_id": "*"})["count"] == 1
    assert [h["event"] for h in b.history(b_item["id"])] == ["ADD"]

    # Routes of mem0's cloud that this server does not serve answer 404 for both keys alike;
    # none of them may hand one key the other's data.
    for unserved in (
        lambda: a.get_summary(filters={"user_id": "*"}),
        lambda: a.create_memory_export(schema="{}", filters={"user_id": "*"}),
        lambda: a.get_memory_export(filters={"user_id": "*"}),
    ):
        with pytest.raises(errors.MemoryError) as raised:
            unserved()
        assert "black coffee" not in str(raised.value)
