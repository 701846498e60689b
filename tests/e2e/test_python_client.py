"""Our typed client (sync and async) driving the whole native API of a started server."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from memory_service.client import AsyncMemoryClient, MemoryClient, errors, memory_body
from memory_service.client import models as m
from tests.e2e.conftest import ADMIN_KEY, RW, Server, create_key

pytestmark = pytest.mark.e2e

AWS = "AKIA" + "ZX3Q7PLM2RT4VB6N"  # split: not a secret in our repo
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYZQ3WXK9PLM"


def test_memories_round_trip_through_the_sync_client(module_server: Server) -> None:
    agent_key = create_key(module_server, "py-agent", ("acme/**", RW))
    other_key = create_key(module_server, "py-other", ("globex/**", RW))
    with (
        MemoryClient(module_server.base_url, agent_key) as agent,
        MemoryClient(module_server.base_url, other_key) as other,
    ):
        clean = agent.remember(
            "The staging database is rebuilt every Sunday night",
            "acme/ops",
            tags=["infra"],
            metadata={"source": "runbook"},
            subject="team-ops",
        )
        assert isinstance(clean, m.Stored)
        memory = clean.memory
        assert (memory.scope, memory.tags, memory.subject) == ("acme/ops", ["infra"], "team-ops")
        assert memory.classification.action == "clean"

        personal = agent.remember("Call Maria Gonzalez on +1 415 555 0134", "acme/ops")
        assert isinstance(personal, m.Stored)
        assert personal.memory.classification.action == "redacted"
        assert "555 0134" not in personal.memory.content

        held = agent.remember(f"aws creds {AWS} {AWS_SECRET}", "acme/ops")
        assert isinstance(held, m.Quarantined)
        assert held.quarantine_id
        assert {f.kind for f in held.findings} == {"secret"}

        batch = agent.remember_batch(
            [
                memory_body("Deploys freeze on Fridays", "acme/ops", tags=["infra"]),
                memory_body("Lunch is at noon", "acme/ops"),
            ]
        )
        assert [type(r) for r in batch] == [m.Stored, m.Stored]

        assert agent.get(memory.id) == memory
        listed = {x.id for x in agent.iter_memories(scope="acme/ops", tag="infra", limit=1)}
        assert listed == {memory.id, batch[0].memory.id}  # type: ignore[union-attr]
        assert agent.list_memories(scope="acme/ops", limit=2).next_cursor is not None

        updated = agent.update(memory.id, content="Staging is rebuilt on Saturdays", if_match=1)
        assert isinstance(updated, m.Stored)
        assert updated.memory.version == 2
        with pytest.raises(errors.PreconditionFailed):
            agent.update(memory.id, tags=["stale"], if_match=1)
        assert [h.version for h in agent.history(memory.id)] == [1, 2]

        hits = agent.search("when is staging rebuilt", limit=3, tags_any=["infra"])
        assert hits
        assert hits[0].memory.id == memory.id
        assert other.search("when is staging rebuilt") == []
        with pytest.raises(errors.NotFound):
            other.get(memory.id)  # another scope's id is a 404, never a 403

        agent.delete(memory.id)
        with pytest.raises(errors.NotFound):
            agent.get(memory.id)
        assert agent.restore(memory.id).content == "Staging is rebuilt on Saturdays"

        with pytest.raises(errors.Forbidden):
            agent.create_key("escalate", [m.Grant(scope="**", permissions=["keys:admin"])])
        with pytest.raises(errors.InvalidRequest) as bad:
            agent.remember("x", "Not A Scope")
        assert bad.value.status == 422
        with pytest.raises(errors.NotFound):
            agent.get(str(uuid.uuid4()))
        with pytest.raises(errors.NotFound):
            agent.get("../keys")  # quoted into one path segment: never another route


def test_admin_routes_through_the_sync_client(module_server: Server) -> None:
    agent_key = create_key(module_server, "py-writer", ("acme/**", RW))
    with (
        MemoryClient(module_server.base_url, ADMIN_KEY) as admin,
        MemoryClient(module_server.base_url, agent_key) as agent,
    ):
        assert admin.ready() is True
        first = agent.remember(f"deploy key {AWS} {AWS_SECRET}", "acme/admin")
        second = agent.remember(f"again {AWS} {AWS_SECRET}", "acme/admin")
        assert isinstance(first, m.Quarantined)
        assert isinstance(second, m.Quarantined)
        assert first.quarantine_id
        assert second.quarantine_id

        pending = admin.quarantine(scope="acme/admin", status="pending")
        assert {i.id for i in pending.items} == {first.quarantine_id, second.quarantine_id}
        item = admin.quarantine_item(first.quarantine_id)
        assert AWS not in (item.preview or "")
        assert item.findings
        assert AWS in admin.reveal(first.quarantine_id, "checking a client test")
        released = admin.release(first.quarantine_id, "redacted", "client test")
        assert isinstance(released, m.Stored)
        assert AWS not in released.memory.content
        assert admin.reject(second.quarantine_id, "client test").status == "rejected"
        with pytest.raises(errors.Conflict):
            admin.reject(second.quarantine_id, "twice")

        policy = admin.put_policy("py-strict", scope="acme/strict/**", pii="reject")
        assert policy.pii == "reject"
        assert "py-strict" in {p.name for p in admin.list_policies()}
        with pytest.raises(errors.RejectedByPolicy) as refused:
            agent.remember("Email maria.gonzalez@example.com about it", "acme/strict/x")
        assert refused.value.findings
        admin.delete_policy("py-strict")

        kept = admin.put_retention_policy(
            "py-week", scope="acme/admin/**", applies_to="memories", max_age_seconds=604800
        )
        assert kept.max_age_seconds == 604800
        assert "py-week" in {p.name for p in admin.list_retention_policies()}
        admin.delete_retention_policy("py-week")
        assert "purge_expired" in {j.name for j in admin.jobs()}
        run = admin.run_job("purge_expired")
        assert run.job == "purge_expired"
        assert any(r.id == run.id for r in admin.job_runs("purge_expired"))


def test_erasure_audit_and_keys_through_the_sync_client(module_server: Server) -> None:
    agent_key = create_key(module_server, "py-eraser", ("acme/**", RW))
    with (
        MemoryClient(module_server.base_url, ADMIN_KEY) as admin,
        MemoryClient(module_server.base_url, agent_key) as agent,
    ):
        subject = f"user-{uuid.uuid4().hex[:8]}"
        kept = agent.remember("Prefers morning meetings", "acme/admin", subject=subject)
        assert isinstance(kept, m.Stored)
        dry = admin.purge(subject=subject, dry_run=True)
        assert (dry.matched, dry.purged, dry.dry_run) == (1, 0, True)
        erased = admin.erase_subject(subject)
        assert erased.purged["memories"] == 1
        receipt = admin.receipt(erased.receipt_id)
        assert receipt.kind == "erasure"
        assert subject not in str(receipt.selector)
        found = agent.search("morning meetings", scopes=["acme/admin"], limit=100)
        assert kept.memory.id not in {hit.memory.id for hit in found}

        creates = admin.audit(action="memory.create", order="desc", limit=5)
        assert creates.items
        assert all(e.action == "memory.create" for e in creates.items)
        assert admin.audit_verify().ok
        exported = admin.audit_export()
        assert [e.seq for e in exported] == sorted(e.seq for e in exported)

        keys = {k.name: k for k in admin.list_keys()}
        admin.revoke_key(keys["py-eraser"].id)
        with pytest.raises(errors.Unauthorized):
            agent.search("anything")


def test_async_client_speaks_the_same_contract(module_server: Server) -> None:
    key = create_key(module_server, "py-async", ("acme/async/**", RW))

    async def scenario() -> None:
        async with AsyncMemoryClient(module_server.base_url, key) as agent:
            stored = await agent.remember("The office wifi is named acme-guest", "acme/async")
            assert isinstance(stored, m.Stored)
            results = await asyncio.gather(
                agent.search("what is the wifi called"), agent.get(stored.memory.id)
            )
            assert results[0][0].memory.id == stored.memory.id
            assert results[1] == stored.memory
            assert [x.id async for x in agent.iter_memories(scope="acme/async")] == [
                stored.memory.id
            ]
            await agent.delete(stored.memory.id)
            with pytest.raises(errors.NotFound):
                await agent.get(stored.memory.id)
        async with AsyncMemoryClient(module_server.base_url, "msk_0000_wrong") as stranger:
            with pytest.raises(errors.Unauthorized):
                await stranger.search("anything")

    asyncio.run(scenario())
