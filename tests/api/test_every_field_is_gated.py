"""Every field of every write goes through the gate, through every route.

The regression suite for one class of bug: a credential or personal data in a field other than
``content`` (metadata keys and values, tags, subject, source, mem0 roles and entity ids, MCP
tool arguments, batch items, PATCH fields) stored in the clear, returned to readers, found by
filters, or shown to reviewers. One server (embedded default) takes every write; the tests then
read it back as every reader would, and grep the data directory and the logs.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from anthropic.lib.tools import ToolError
from anthropic.types.beta import BetaMemoryTool20250818CreateCommand
from litestar.testing import TestClient
from litestar.testing import transport as litestar_transport

from classifiers.pipeline import ClassificationPipeline
from memory_service.app import Runtime, build_runtime, create_app
from memory_service.client import MemoryClient
from memory_service.client import models as m
from memory_service.client.anthropic_memory import ScopedMemoryTool
from memory_service.domain.ports import Embedder
from memory_service.settings import Settings
from tests.api.conftest import ADMIN_KEY, RW, auth, make_key

# Split so that our own repository holds no credential-shaped string.
SECRETS = {
    "github": "ghp_" + "R8c2Lq9ZtX4vN7bW1kY6mP3sD5fH0jA2gE8u",
    "aws_id": "AKIA" + "ZX3Q7PLM2RT4VB6N",
    "aws_secret": "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYZQ3WXK9PLM",
    "stripe": "sk_live_" + "51H8xQ2eZvKYlo2C9mN4pR7tW",
    "openai": "sk-proj-" + "Qm3T9xZ2vB7nL4kP8rW1yC6fH0jD5sA2gE9uK3oI7eR1tY4",
    "password": "Tr0ub4dor&3xyz",
}
PASSWORD = "password=" + SECRETS["password"]
AWS_PAIR = f"{SECRETS['aws_id']} / {SECRETS['aws_secret']}"
EMAIL = "emily.clarke" + "@example.com"
PHONE = "+1 415 555 " + "0134"
SSN = "536-22-" + "8725"
PERSONAL = {"email": EMAIL, "phone": PHONE, "ssn": SSN}
EVERY_VALUE = {*SECRETS.values(), *PERSONAL.values()}
PSEUDONYM = re.compile(r"<[A-Z_]+_[0-9a-f]{6}>")
LOCAL = "http://127.0.0.1:8080"  # /mcp answers loopback Host headers only
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}
SCOPE = "acme/gated"

# (field, body fragment) for a native create: one credential in one field each.
SECRET_IN_FIELD: list[tuple[str, dict[str, Any]]] = [
    ("metadata value", {"metadata": {"ci": SECRETS["github"]}}),
    ("metadata key", {"metadata": {SECRETS["github"]: True}}),
    ("nested metadata", {"metadata": {"deploy": {"keys": ["x", SECRETS["stripe"]]}}}),
    ("metadata password", {"metadata": {"db": {"password": SECRETS["password"]}}}),
    ("source", {"source": {"aws": AWS_PAIR}}),
    ("tags", {"tags": ["billing", SECRETS["stripe"]]}),
    ("subject", {"subject": SECRETS["openai"]}),
]


@dataclass
class Gated:
    """The shared server and everything the writes through every route answered."""

    client: TestClient[Any]
    runtime: Runtime
    data_dir: Path
    writer: str
    answers: list[tuple[str, int, str]] = field(default_factory=list)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    logs: str = ""

    def note(self, route: str, response: Any) -> Any:
        self.answers.append((route, response.status_code, response.text))
        return response


def _token(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}", "Mem0-User-ID": "0" * 32}


def _mcp(g: Gated, tool: str, **arguments: Any) -> dict[str, Any]:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    response = g.note(
        f"mcp {tool}", g.client.post("/mcp", json=body, headers=MCP_HEADERS | auth(g.writer))
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


def _native(g: Gated) -> None:
    for name, fragment in SECRET_IN_FIELD:
        body = {"content": "an ordinary note", "scope": SCOPE, **fragment}
        response = g.note(f"create {name}", g.client.post("/v1/memories", json=body))
        assert response.status_code == 202, (name, response.text)
    personal = {
        "content": "Prefers e-mail over calls",
        "scope": SCOPE,
        "subject": EMAIL,
        "tags": ["contact", PHONE],
        "metadata": {"plan": "pro", "ssn": SSN, "who": {"mail": EMAIL}},
        "source": {"kind": "user", "callback": PHONE},
    }
    response = g.note("create personal", g.client.post("/v1/memories", json=personal))
    assert response.status_code == 201, response.text
    g.stored["native"] = response.json()["memory"]

    items = [
        {"content": "batch clean", "scope": SCOPE, "tags": ["ok"]},
        {"content": "batch tag", "scope": SCOPE, "tags": [SECRETS["github"]]},
        {"content": "batch subject", "scope": SCOPE, "subject": SECRETS["openai"]},
        {"content": "batch meta", "scope": SCOPE, "metadata": {"note": PASSWORD}},
    ]
    response = g.note("batch", g.client.post("/v1/memories/batch", json={"items": items}))
    assert [r["status"] for r in response.json()["results"]] == [
        "stored",
        "quarantined",
        "quarantined",
        "quarantined",
    ], response.text

    memory_id = g.stored["native"]["id"]
    for name, change in [
        ("metadata", {"metadata": {"ci": SECRETS["github"]}}),
        ("tags", {"tags": [SECRETS["stripe"]]}),
        ("metadata key", {"metadata": {SECRETS["openai"]: 1}}),
    ]:
        response = g.note(f"patch {name}", g.client.patch(f"/v1/memories/{memory_id}", json=change))
        assert response.status_code == 202, (name, response.text)


def _mem0(g: Gated, key: str) -> None:
    def add(path: str, **body: Any) -> Any:
        message = body.pop("message", {"role": "user", "content": "likes green tea"})
        payload = {"messages": [message], "infer": False, **body}
        return g.note(f"mem0 {path}", g.client.post(path, json=payload, headers=_token(key)))

    held = [
        add("/v3/memories/add/", user_id=SECRETS["openai"]),
        add("/v3/memories/add/", agent_id=SECRETS["github"]),
        add("/v1/memories/", run_id=SECRETS["stripe"]),
        add("/v1/memories/", message={"role": PASSWORD, "content": "likes green tea"}),
        add("/v3/memories/add/", metadata={"aws": AWS_PAIR}),
    ]
    for response in held:
        assert response.status_code == 200, response.text
        assert [r["event"] for r in response.json()["results"]] == ["QUARANTINED"], response.text
    stored = add("/v3/memories/add/", user_id=EMAIL, run_id=PHONE)
    [result] = stored.json()["results"]
    assert result["event"] == "ADD", stored.text
    g.stored["mem0"] = result
    updated = g.note(
        "mem0 update",
        g.client.put(
            f"/v1/memories/{result['id']}/",
            json={"metadata": {"token": SECRETS["github"]}},
            headers=_token(key),
        ),
    )
    assert updated.status_code in {200, 202}, updated.text
    assert SECRETS["github"] not in updated.text


def _mcp_routes(g: Gated) -> None:
    stored = _mcp(g, "store_memory", content="mcp note", scope=SCOPE, tags=[SECRETS["stripe"]])
    assert '"quarantined"' in str(stored), stored
    stored = _mcp(
        g, "store_memory", content="mcp note", scope=SCOPE, metadata={"k": SECRETS["github"]}
    )
    assert '"quarantined"' in str(stored), stored
    stored = _mcp(g, "store_memory", content="mcp note", scope=SCOPE, subject=SECRETS["openai"])
    assert '"quarantined"' in str(stored), stored
    clean = _mcp(g, "store_memory", content="mcp clean note", scope=SCOPE)
    memory_id = re.search(r'"id": ?"([0-9a-f-]{36})"', str(clean["content"][0]["text"]))
    assert memory_id, clean
    updated = _mcp(g, "update_memory", memory_id=memory_id.group(1), tags=[SECRETS["github"]])
    assert '"quarantined"' in str(updated), updated


class _InProcess(httpx.BaseTransport):
    """Our client's requests, served by the test app in this process."""

    def __init__(self, client: TestClient[Any]) -> None:
        self._app = litestar_transport.TestClientTransport(client)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._app.handle_request(request)


def _python_client(g: Gated) -> None:
    with MemoryClient(LOCAL, g.writer, transport=_InProcess(g.client)) as client:
        held = client.remember("client note", SCOPE, metadata={"aws": AWS_PAIR})
        assert isinstance(held, m.Quarantined)
        clean = client.remember("client clean note", SCOPE)
        assert isinstance(clean, m.Stored)
        changed = client.update(clean.memory.id, tags=[SECRETS["stripe"]])
        assert isinstance(changed, m.Quarantined)
        tool = ScopedMemoryTool(client, SCOPE)
        # Claude's file path is stored as metadata: a credential in it holds the file back.
        with pytest.raises(ToolError, match="held for human review"):
            tool.execute(
                BetaMemoryTool20250818CreateCommand(
                    command="create", path=f"/memories/{SECRETS['github']}.md", file_text="notes"
                )
            )
        assert changed.quarantine_id


@pytest.fixture(scope="module")
def gated(
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    pipeline: ClassificationPipeline,
) -> Iterator[Gated]:
    data_dir = tmp_path_factory.mktemp("gated") / "data"
    runtime = build_runtime(
        Settings(data_dir=data_dir, bootstrap_admin_key=ADMIN_KEY),
        embedder=embedder,
        pipeline=pipeline,
    )
    printed = io.StringIO()
    logged = io.StringIO()
    handler = logging.StreamHandler(logged)
    logging.getLogger().addHandler(handler)
    try:
        with TestClient(app=create_app(runtime=runtime), base_url=LOCAL) as client:
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
                writer = make_key(client, "gated-writer", (f"{SCOPE}/**", RW))
                mem0_key = make_key(client, "gated-mem0", ("acme/mem0/**", RW))
                g = Gated(client, runtime, data_dir, writer)
                client.headers.update(auth(writer))
                _native(g)
                _mem0(g, mem0_key)
                _mcp_routes(g)
                _python_client(g)
            g.logs = printed.getvalue() + logged.getvalue()
            yield g
    finally:
        logging.getLogger().removeHandler(handler)
        runtime.close()


def test_no_answer_of_any_route_echoes_a_planted_value(gated: Gated) -> None:
    routes = {route.split()[0] for route, _, _ in gated.answers}
    assert routes == {"create", "batch", "patch", "mem0", "mcp"}
    assert len(gated.answers) == 24  # every write the fixture made
    echoed = [
        (route, value[:6])
        for route, _, text in gated.answers
        for value in EVERY_VALUE
        if value in text
    ]
    assert echoed == []


def test_personal_data_is_rewritten_in_the_field_it_was_in(gated: Gated) -> None:
    memory = gated.stored["native"]
    assert PSEUDONYM.fullmatch(memory["subject"])
    assert memory["tags"][0] == "contact"
    assert PSEUDONYM.fullmatch(memory["tags"][1])
    assert memory["metadata"]["plan"] == "pro"  # clean values are kept as they are
    assert PSEUDONYM.fullmatch(memory["metadata"]["ssn"])
    assert PSEUDONYM.fullmatch(memory["metadata"]["who"]["mail"])
    assert PSEUDONYM.search(memory["provenance"]["source"]["callback"])
    fields = {(f["field"], f["type"]) for f in memory["classification"]["findings"]}
    assert {("subject", "EMAIL_ADDRESS"), ("tags", "PHONE_NUMBER")} <= fields
    assert ("metadata", "US_SSN") in fields
    assert memory["classification"]["action"] == "redacted"


def test_no_reader_gets_a_planted_value_back(gated: Gated) -> None:
    client = gated.client
    admin = auth(ADMIN_KEY)
    reads = [
        client.get("/v1/memories", params={"limit": 500}, headers=admin),
        client.get("/v1/quarantine", params={"limit": 500}, headers=admin),
        client.get("/v1/audit", params={"limit": 500}, headers=admin),
        client.get("/v1/audit/export", headers=admin),
        client.post("/v3/memories/", json={"filters": {"user_id": "*"}}, headers=_token(ADMIN_KEY)),
    ]
    reads += [
        client.post("/v1/memories/search", json={"query": value}, headers=admin)
        for value in EVERY_VALUE
    ]
    for response in reads:
        assert response.status_code == 200, response.text
        assert [v[:6] for v in EVERY_VALUE if v in response.text] == []
    listed = reads[1].json()["items"]
    assert len(listed) >= 20
    masked = [i for i in listed if "[secret:" in str(i["metadata"]) + str(i["tags"])]
    assert masked, "held metadata and tags are listed with their findings masked"


def test_no_filter_finds_a_held_value(gated: Gated) -> None:
    client = gated.client
    admin = auth(ADMIN_KEY)
    probes = [
        client.get("/v1/memories", params={"subject": SECRETS["openai"]}, headers=admin),
        client.get("/v1/memories", params={"tag": SECRETS["stripe"]}, headers=admin),
        client.post(
            "/v1/memories/search",
            json={"query": "note", "filters": {"metadata": {"ci": SECRETS["github"]}}},
            headers=admin,
        ),
        client.post(
            "/v1/memories/search",
            json={"query": "note", "filters": {"tags_any": [SECRETS["stripe"]]}},
            headers=admin,
        ),
        client.post(
            "/v3/memories/",
            json={"filters": {"agent_id": SECRETS["github"]}},
            headers=_token(ADMIN_KEY),
        ),
    ]
    for response in probes:
        assert response.status_code == 200, response.text
        body = response.json()
        assert not body.get("items"), response.text
        assert not body.get("results"), response.text


def test_filters_still_find_a_rewritten_value_by_what_the_caller_knows(gated: Gated) -> None:
    client = gated.client
    admin = auth(ADMIN_KEY)
    native_id = gated.stored["native"]["id"]
    by_subject = client.get("/v1/memories", params={"subject": EMAIL}, headers=admin).json()
    # mem0's user_id is the subject too: both memories name the same person.
    mem0_id = gated.stored["mem0"]["id"]
    assert {i["id"] for i in by_subject["items"]} == {native_id, mem0_id}
    by_tag = client.post(
        "/v1/memories/search",
        json={"query": "e-mail", "filters": {"tags_any": [PHONE], "subject": EMAIL}},
        headers=admin,
    ).json()["results"]
    assert [h["memory"]["id"] for h in by_tag] == [native_id]
    by_meta = client.post(
        "/v1/memories/search",
        json={"query": "e-mail", "filters": {"metadata": {"ssn": SSN}}},
        headers=admin,
    ).json()["results"]
    assert [h["memory"]["id"] for h in by_meta] == [native_id]
    mem0 = client.post(
        "/v3/memories/",
        json={"filters": {"user_id": EMAIL, "run_id": PHONE}},
        headers=_token(ADMIN_KEY),
    ).json()
    assert [r["id"] for r in mem0["results"]] == [mem0_id]


def test_nothing_planted_reaches_the_data_dir_or_the_logs(gated: Gated) -> None:
    # Flushed and checkpointed as a shutdown would: SQLite's WAL and Qdrant's files included.
    gated.runtime.compactor.run()
    files = {p: p.read_bytes() for p in gated.data_dir.rglob("*") if p.is_file()}
    assert any(p.name == "control.sqlite3" for p in files), sorted(files)
    assert any("qdrant" in str(p) for p in files)
    leaked = sorted(
        (str(p.relative_to(gated.data_dir)), value[:6])
        for value in EVERY_VALUE
        for p, blob in files.items()
        if value.encode() in blob
    )
    assert leaked == []
    assert "memory.quarantine" in gated.logs  # the audit log lines were captured
    assert [v[:6] for v in EVERY_VALUE if v in gated.logs] == []


def test_erasing_a_subject_finds_it_under_its_pseudonym(gated: Gated) -> None:
    response = gated.client.delete(f"/v1/subjects/{EMAIL}", headers=auth(ADMIN_KEY))
    assert response.status_code == 200, response.text
    purged = response.json()["purged"]
    # The native memory (subject), the mem0 memory (user_id) and its held update.
    assert purged["memories"] == 2
    assert purged["quarantine"] >= 1
    left = gated.client.get("/v1/memories", params={"subject": EMAIL}, headers=auth(ADMIN_KEY))
    assert left.json()["items"] == []


def test_a_credential_in_free_text_for_the_audit_trail_is_refused(gated: Gated) -> None:
    client = gated.client
    admin = auth(ADMIN_KEY)
    lowercase_stripe = "sk_live_" + "51h8xq2ezvkylo2c9mn4pr7tw"
    held = client.get("/v1/quarantine", params={"status": "pending"}, headers=admin).json()
    item = held["items"][0]["id"]
    before = client.get("/v1/audit", params={"order": "desc", "limit": 1}, headers=admin)
    last_seq = before.json()["items"][0]["seq"]
    refused = [
        (
            "name",
            client.post(
                "/v1/keys", json={"name": f"bot {SECRETS['github']}", "grants": []}, headers=admin
            ),
        ),
        (
            "name",
            client.put(
                f"/v1/policies/{lowercase_stripe}", json={"scope": "acme/**"}, headers=admin
            ),
        ),
        (
            "name",
            client.put(
                f"/v1/retention/policies/{lowercase_stripe}",
                json={"scope": "acme/**", "applies_to": "memories"},
                headers=admin,
            ),
        ),
        (
            "reason",
            client.post(f"/v1/quarantine/{item}/reveal", json={"reason": PASSWORD}, headers=admin),
        ),
        (
            "reason",
            client.post(
                f"/v1/quarantine/{item}/release",
                json={"mode": "redacted", "reason": f"ok {SECRETS['openai']}"},
                headers=admin,
            ),
        ),
        (
            "reason",
            client.post(f"/v1/quarantine/{item}/reject", json={"reason": AWS_PAIR}, headers=admin),
        ),
    ]
    for field_name, response in refused:
        assert response.status_code == 422, response.text
        assert f"{field_name}:" in response.json()["detail"]
        assert [v[:6] for v in EVERY_VALUE | {lowercase_stripe} if v in response.text] == []
    # Nothing happened: no event was appended, the item is still pending, no key was made.
    after = client.get("/v1/audit", params={"order": "desc", "limit": 10}, headers=admin)
    new_events = [e["action"] for e in after.json()["items"] if e["seq"] > last_seq]
    assert set(new_events) <= {"audit.query"}, new_events  # our own reads of the trail
    assert client.get(f"/v1/quarantine/{item}", headers=admin).json()["status"] == "pending"
    names = [k["name"] for k in client.get("/v1/keys", headers=admin).json()["items"]]
    assert not any(SECRETS["github"] in n for n in names)
    # Ordinary free text still passes.
    ok = client.post(
        "/v1/keys", json={"name": "support bot (emily's team)", "grants": []}, headers=admin
    )
    assert ok.status_code == 201, ok.text
