"""/v1/quarantine: masked review, audited reveal, release (redacted, as-is, two-person), reject."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import select

from memory_service.app import Runtime, build_sealer
from memory_service.domain.models import HeldFinding, Provenance, QuarantineItem
from memory_service.services.quarantine import sealing_aad
from memory_service.storage.sql.governance import SqlQuarantineStore
from memory_service.storage.sql.schema import quarantine
from tests.api.conftest import ADMIN_KEY, RW, auth, make_key

ADMIN = auth(ADMIN_KEY)
KEY_ID = "AKIAZWKRA4UZEPZ1QSSK"
KEY_SECRET = "797TPNbpjava1bMZwIMlvdp5gjTrD8Osj/LnZ5R+"
HELD_TEXT = f"Deploy creds: aws_access_key_id={KEY_ID} aws_secret_access_key={KEY_SECRET} ok"
REVIEW = ["quarantine:review"]
REVEAL = ["quarantine:review", "quarantine:reveal"]


def hold(client: TestClient[Any], headers: dict[str, str], scope: str = "acme/bot") -> str:
    response = client.post(
        "/v1/memories", json={"content": HELD_TEXT, "scope": scope}, headers=headers
    )
    assert response.status_code == 202, response.text
    item_id: str = response.json()["quarantine_id"]
    return item_id


def test_agents_cannot_see_the_quarantine(client: TestClient[Any]) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    item = hold(client, agent)
    assert client.get("/v1/quarantine", headers=agent).status_code == 403
    assert client.get(f"/v1/quarantine/{item}", headers=agent).status_code == 404
    assert (
        client.post(
            f"/v1/quarantine/{item}/reveal", json={"reason": "x"}, headers=agent
        ).status_code
        == 404
    )
    release = {"mode": "as_is", "reason": "x"}
    assert (
        client.post(f"/v1/quarantine/{item}/release", json=release, headers=agent).status_code
        == 404
    )
    assert client.get(f"/v1/memories/{item}", headers=agent).status_code == 404


def test_review_shows_where_the_secret_is_never_the_secret(client: TestClient[Any]) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    reviewer = auth(make_key(client, "reviewer", ("acme/**", REVIEW)))
    item = hold(client, agent)
    page = client.get("/v1/quarantine", params={"status": "pending"}, headers=reviewer)
    assert page.status_code == 200, page.text
    [listed] = page.json()["items"]
    shown = client.get(f"/v1/quarantine/{item}", headers=reviewer).json()
    for view in (listed, shown):
        assert view["id"] == item
        assert view["status"] == "pending"
        assert view["created_by"] == "agent"
        assert KEY_ID not in str(view)
        assert KEY_SECRET not in str(view)
        assert "[secret:" in view["preview"]
        assert view["preview"].startswith("Deploy creds:")
        assert any(f["kind"] == "secret" for f in view["findings"])
        start = next(f["start"] for f in view["findings"] if f["kind"] == "secret")
        assert HELD_TEXT[start:].startswith((KEY_ID, KEY_SECRET))


def test_reveal_needs_its_permission_and_a_reason_and_is_audited(client: TestClient[Any]) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    reviewer = auth(make_key(client, "reviewer", ("acme/**", REVIEW)))
    revealer = auth(make_key(client, "revealer", ("acme/**", REVEAL)))
    item = hold(client, agent)
    denied = client.post(
        f"/v1/quarantine/{item}/reveal", json={"reason": "check"}, headers=reviewer
    )
    assert denied.status_code == 403
    for bad in ({}, {"reason": ""}, {"reason": "x" * 1001}):
        response = client.post(f"/v1/quarantine/{item}/reveal", json=bad, headers=revealer)
        assert response.status_code in {400, 422}
    shown = client.post(
        f"/v1/quarantine/{item}/reveal",
        json={"reason": "INC-42: is it a real key?"},
        headers=revealer,
    )
    assert shown.status_code == 200
    assert shown.json()["content"] == HELD_TEXT
    trail = client.get("/v1/audit", params={"action": "quarantine.reveal"}, headers=ADMIN).json()
    [event] = trail["items"]
    assert event["actor"] == "revealer"
    assert event["details"] == {"quarantine_id": item, "reason": "INC-42: is it a real key?"}
    assert KEY_ID not in str(trail)


def test_release_redacted_stores_a_clean_memory(client: TestClient[Any]) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    reviewer = auth(make_key(client, "reviewer", ("acme/**", REVIEW)))
    item = hold(client, agent)
    body = {"mode": "redacted", "reason": "useful note, key is not needed"}
    released = client.post(f"/v1/quarantine/{item}/release", json=body, headers=reviewer)
    assert released.status_code == 201, released.text
    memory = released.json()["memory"]
    assert KEY_ID not in memory["content"]
    assert KEY_SECRET not in memory["content"]
    assert memory["content"].startswith("Deploy creds:")
    assert memory["classification"]["action"] == "redacted"
    assert memory["provenance"]["created_by"] == "agent"
    assert memory["provenance"]["review"]["reviewed_by"] == "reviewer"
    assert memory["provenance"]["review"]["mode"] == "redacted"
    assert (
        client.get(f"/v1/memories/{memory['id']}", headers=agent).json()["content"]
        == memory["content"]
    )
    found = client.post("/v1/memories/search", json={"query": "deploy creds"}, headers=agent).json()
    assert memory["id"] in [r["memory"]["id"] for r in found["results"]]
    shown = client.get(f"/v1/quarantine/{item}", headers=reviewer).json()
    assert (shown["status"], shown["preview"], shown["decided_by"]) == (
        "released",
        None,
        "reviewer",
    )
    again = client.post(f"/v1/quarantine/{item}/release", json=body, headers=reviewer)
    assert again.status_code == 409


def test_release_as_is_keeps_the_text_and_records_the_decision(client: TestClient[Any]) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    reviewer = auth(make_key(client, "reviewer", ("acme/**", REVEAL)))
    item = hold(client, agent)
    body = {"mode": "as_is", "reason": "test fixture key, revoked"}
    released = client.post(f"/v1/quarantine/{item}/release", json=body, headers=reviewer)
    assert released.status_code == 201, released.text
    memory = released.json()["memory"]
    assert memory["content"] == HELD_TEXT
    assert {f["action"] for f in memory["classification"]["findings"]} == {"allow"}
    assert memory["provenance"]["review"]["reason"] == "test fixture key, revoked"
    trail = client.get("/v1/audit", params={"action": "quarantine.release"}, headers=ADMIN).json()
    [event] = trail["items"]
    assert event["decision"]["mode"] == "as_is"
    assert event["memory_ids"] == [memory["id"]]


def test_reject_destroys_the_sealed_text(client: TestClient[Any], runtime: Runtime) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    revealer = auth(make_key(client, "revealer", ("acme/**", REVEAL)))
    item = hold(client, agent)
    rejected = client.post(
        f"/v1/quarantine/{item}/reject", json={"reason": "live key"}, headers=revealer
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    with runtime.control.engine.connect() as conn:  # type: ignore[attr-defined]
        row = conn.execute(select(quarantine).where(quarantine.c.id == item)).mappings().one()
    assert (row["ciphertext"], row["nonce"], row["status"]) == (None, None, "rejected")
    reveal = client.post(f"/v1/quarantine/{item}/reveal", json={"reason": "x"}, headers=revealer)
    assert reveal.status_code == 409
    release = client.post(
        f"/v1/quarantine/{item}/release", json={"mode": "as_is", "reason": "x"}, headers=revealer
    )
    assert release.status_code == 409


def test_two_person_rule_for_releasing_a_secret_as_is(client: TestClient[Any]) -> None:
    policy = {"scope": "acme/vault/**", "two_person_release": True}
    assert client.put("/v1/policies/vault", json=policy, headers=ADMIN).status_code == 200
    writer = auth(make_key(client, "writer", ("acme/**", RW + REVIEW)))
    first = auth(make_key(client, "first", ("acme/**", REVEAL)))
    second = auth(make_key(client, "second", ("acme/**", REVEAL)))
    item = hold(client, writer, scope="acme/vault")
    body = {"mode": "as_is", "reason": "needed for the runbook"}
    assert (
        client.post(f"/v1/quarantine/{item}/release", json=body, headers=writer).status_code == 403
    )
    pending = client.post(f"/v1/quarantine/{item}/release", json=body, headers=first)
    assert pending.status_code == 202, pending.text
    assert pending.json() == {"id": item, "approvals": 1, "status": "awaiting_second_review"}
    assert client.get(f"/v1/quarantine/{item}", headers=first).json()["status"] == "pending"
    assert (
        client.post(f"/v1/quarantine/{item}/release", json=body, headers=first).status_code == 409
    )
    assert (
        client.post(f"/v1/quarantine/{item}/release", json=body, headers=writer).status_code == 403
    )
    done = client.post(f"/v1/quarantine/{item}/release", json=body, headers=second)
    assert done.status_code == 201, done.text
    review = done.json()["memory"]["provenance"]["review"]
    assert review["reviewed_by"] == "second"
    assert len(review["approvals"]) == 2
    # Outside the policy's scope one reviewer is enough.
    elsewhere = hold(client, writer, scope="acme/bot")
    assert (
        client.post(f"/v1/quarantine/{elsewhere}/release", json=body, headers=first).status_code
        == 201
    )


def test_a_held_update_is_applied_to_its_memory_on_release(client: TestClient[Any]) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    reviewer = auth(make_key(client, "reviewer", ("acme/**", REVIEW)))
    memory = client.post(
        "/v1/memories", json={"content": "deploy notes", "scope": "acme"}, headers=agent
    ).json()["memory"]
    held = client.patch(f"/v1/memories/{memory['id']}", json={"content": HELD_TEXT}, headers=agent)
    assert held.status_code == 202
    item = held.json()["quarantine_id"]
    assert (
        client.get(f"/v1/quarantine/{item}", headers=reviewer).json()["memory_id"] == memory["id"]
    )
    released = client.post(
        f"/v1/quarantine/{item}/release",
        json={"mode": "redacted", "reason": "ok"},
        headers=reviewer,
    )
    assert released.status_code == 201, released.text
    after = released.json()["memory"]
    assert (after["id"], after["version"]) == (memory["id"], 2)
    history = client.get(f"/v1/memories/{memory['id']}/history", headers=agent).json()["items"]
    assert [h["version"] for h in history] == [1, 2]


def test_reviewers_stay_in_their_scopes(client: TestClient[Any]) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    globex = auth(make_key(client, "globex-reviewer", ("acme/globex/**", REVEAL)))
    foreign = hold(client, agent, scope="acme/initech")
    own = hold(client, agent, scope="acme/globex")
    listed = client.get("/v1/quarantine", headers=globex).json()["items"]
    assert [i["id"] for i in listed] == [own]
    assert client.get(f"/v1/quarantine/{foreign}", headers=globex).status_code == 404
    reveal = client.post(f"/v1/quarantine/{foreign}/reveal", json={"reason": "x"}, headers=globex)
    assert reveal.status_code == 404
    reject = client.post(f"/v1/quarantine/{foreign}/reject", json={"reason": "x"}, headers=globex)
    assert reject.status_code == 404
    assert (
        client.get("/v1/quarantine", params={"scope": "acme/initech"}, headers=globex).status_code
        == 403
    )
    assert client.get(f"/v1/quarantine/{'0' * 8}", headers=globex).status_code in {400, 404, 422}


# Every role combination against every review action on a held write of the "agent" key:
# (permissions of the acting key, acting key is the writer) -> status per action.
ACTIONS = ("show", "reveal", "release_redacted", "release_as_is", "reject")
ROLE_MATRIX: list[tuple[str, list[str], bool, dict[str, int]]] = [
    ("writer only", RW, True, dict.fromkeys(ACTIONS, 404)),
    (
        "writer who reviews",
        RW + REVEAL,
        True,
        {"show": 200, "reveal": 403, "release_redacted": 403, "release_as_is": 403, "reject": 403},
    ),
    (
        "reviewer",
        REVIEW,
        False,
        {"show": 200, "reveal": 403, "release_redacted": 201, "release_as_is": 403, "reject": 200},
    ),
    (
        "revealer",
        REVEAL,
        False,
        {"show": 200, "reveal": 200, "release_redacted": 201, "release_as_is": 201, "reject": 200},
    ),
    ("outsider", ["memory:read"], False, dict.fromkeys(ACTIONS, 404)),
]


def _act(client: TestClient[Any], action: str, item: str, headers: dict[str, str]) -> Any:
    why = {"reason": "INC-7"}
    if action == "show":
        return client.get(f"/v1/quarantine/{item}", headers=headers)
    if action.startswith("release"):
        mode = action.removeprefix("release_")
        body = {"mode": mode, **why}
        return client.post(f"/v1/quarantine/{item}/release", json=body, headers=headers)
    return client.post(f"/v1/quarantine/{item}/{action}", json=why, headers=headers)


def test_review_rules_for_every_role_combination(client: TestClient[Any]) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    seen: dict[tuple[str, str], int] = {}
    for name, perms, is_writer, expected in ROLE_MATRIX:
        acting = auth(make_key(client, name.replace(" ", "-"), ("acme/**", perms)))
        for action in ACTIONS:
            # The writer's own key acts on its own held write; everyone else on the agent's.
            item = hold(client, acting if is_writer else agent)
            response = _act(client, action, item, acting)
            seen[name, action] = response.status_code
            # A key that may not see the raw text never gets it, whatever it was refused.
            if "quarantine:reveal" not in perms or expected[action] >= 400:
                assert KEY_SECRET not in response.text, (name, action)
    assert seen == {(n, a): e[a] for n, _, _, e in ROLE_MATRIX for a in ACTIONS}


def test_a_held_write_keeps_every_field_sealed_and_releases_them_all(
    client: TestClient[Any],
) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    revealer = auth(make_key(client, "revealer", ("acme/**", REVEAL)))
    body = {
        "content": "deploy notes",
        "scope": "acme/bot",
        "metadata": {"aws": KEY_ID, "env": "prod"},
        "tags": ["ops", KEY_SECRET],
        "subject": "team-ops",
    }
    held = client.post("/v1/memories", json=body, headers=agent)
    assert held.status_code == 202, held.text
    item = held.json()["quarantine_id"]
    listed = client.get(f"/v1/quarantine/{item}", headers=revealer).json()
    assert listed["metadata"] == {"aws": "[secret:AWS_ACCESS_KEY_ID]", "env": "prod"}
    assert listed["tags"][0] == "ops"
    assert KEY_SECRET not in str(listed)
    assert {f["field"] for f in listed["findings"]} == {"metadata", "tags"}
    shown = client.post(f"/v1/quarantine/{item}/reveal", json={"reason": "INC-9"}, headers=revealer)
    assert shown.json()["metadata"] == {"aws": KEY_ID, "env": "prod"}
    assert shown.json()["tags"] == ["ops", KEY_SECRET]
    redacted = client.post(
        f"/v1/quarantine/{item}/release",
        json={"mode": "redacted", "reason": "keep the note"},
        headers=revealer,
    )
    assert redacted.status_code == 201, redacted.text
    memory = redacted.json()["memory"]
    assert memory["metadata"]["env"] == "prod"
    assert KEY_ID not in str(memory)
    assert KEY_SECRET not in str(memory)
    assert memory["subject"] == "team-ops"
    assert memory["content"] == "deploy notes"


def break_the_classifiers(runtime: Runtime, monkeypatch: Any) -> None:
    def broken(_texts: Any, _stop: Any = None) -> Any:
        raise RuntimeError

    monkeypatch.setattr(runtime.gate._pipeline, "findings_many", broken)


def test_a_write_that_could_not_be_classified_is_refused_not_held(
    client: TestClient[Any], runtime: Runtime, monkeypatch: Any
) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    break_the_classifiers(runtime, monkeypatch)
    body = {"content": f"innocent text {KEY_ID}", "scope": "acme/bot", "tags": ["mine"]}
    refused = client.post("/v1/memories", json=body, headers=agent)
    assert refused.status_code == 503, refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert KEY_ID not in refused.text
    batch = client.post("/v1/memories/batch", json={"items": [body, body]}, headers=agent)
    assert batch.status_code == 503
    # Nothing was stored, held or indexed: no reviewer ever sees the unread text.
    assert client.get("/v1/quarantine", headers=ADMIN).json()["items"] == []
    assert client.get("/v1/memories", headers=agent).json()["items"] == []


def test_a_policy_may_hold_what_could_not_be_classified_shown_to_nobody(
    client: TestClient[Any], runtime: Runtime, monkeypatch: Any
) -> None:
    policy = {"scope": "acme/bot/**", "hold_unclassified": True}
    put = client.put("/v1/policies/hold-bot", json=policy, headers=ADMIN)
    assert put.status_code == 200, put.text
    assert put.json()["hold_unclassified"] is True
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    reviewer = auth(make_key(client, "reviewer", ("acme/**", REVEAL)))
    break_the_classifiers(runtime, monkeypatch)
    body = {"content": f"innocent text {KEY_ID}", "scope": "acme/bot", "tags": ["mine"]}
    held = client.post("/v1/memories", json=body, headers=agent)
    assert held.status_code == 202, held.text
    # Elsewhere the same failure is still a refusal.
    elsewhere = client.post("/v1/memories", json={**body, "scope": "acme/ops"}, headers=agent)
    assert elsewhere.status_code == 503
    item = held.json()["quarantine_id"]
    shown = client.get(f"/v1/quarantine/{item}", headers=reviewer).json()
    assert shown["reason"] == "classifier_failed"
    assert (shown["preview"], shown["tags"], shown["metadata"]) == (None, [], {})
    assert KEY_ID not in str(shown)
    monkeypatch.undo()  # the classifiers are back (the reason is classified too)
    revealed = client.post(
        f"/v1/quarantine/{item}/reveal", json={"reason": "INC-3"}, headers=reviewer
    )
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["tags"] == ["mine"]
    assert KEY_ID in revealed.json()["content"]


def test_one_reviewer_with_two_keys_is_not_two_reviewers(client: TestClient[Any]) -> None:
    policy = {"scope": "acme/vault/**", "two_person_release": True}
    assert client.put("/v1/policies/vault", json=policy, headers=ADMIN).status_code == 200
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    first = auth(make_key(client, "dana", ("acme/**", REVEAL)))
    again = auth(make_key(client, "dana", ("acme/**", REVEAL)))
    item = hold(client, agent, scope="acme/vault")
    body = {"mode": "as_is", "reason": "needed for the runbook"}
    assert (
        client.post(f"/v1/quarantine/{item}/release", json=body, headers=first).status_code == 202
    )
    second = client.post(f"/v1/quarantine/{item}/release", json=body, headers=again)
    assert second.status_code == 409, second.text


def test_another_key_of_the_writers_name_is_the_writer(client: TestClient[Any]) -> None:
    writer = auth(make_key(client, "ops-bot", ("acme/**", RW)))
    same_name = auth(make_key(client, "ops-bot", ("acme/**", REVEAL)))
    item = hold(client, writer)
    for action in ("reveal", "release_as_is", "release_redacted", "reject"):
        assert _act(client, action, item, same_name).status_code == 403, action


def test_an_item_held_before_every_field_was_sealed_is_classified_before_release(
    client: TestClient[Any], runtime: Runtime
) -> None:
    # As the service held writes before: the content sealed alone, the rest in clear columns.
    sealer = build_sealer(runtime.settings)
    item_id = uuid.uuid4()
    legacy = QuarantineItem(
        id=item_id,
        scope="acme/bot",
        status="pending",
        reason="findings",
        findings=(HeldFinding("secret", "AWS_ACCESS_KEY_ID", 0, len(KEY_ID)),),
        sealed=sealer.seal(f"{KEY_ID} in the notes", sealing_aad(item_id, "acme/bot")),
        metadata={"aws": KEY_SECRET},
        tags=("ops",),
        subject="team-ops",
        expires_at=None,
        provenance=Provenance("old-agent", "r1", {}, key_id="k-old"),
        created_at=datetime.now(UTC),
    )
    SqlQuarantineStore(runtime.control).add_quarantine(legacy)
    reviewer = auth(make_key(client, "reviewer", ("acme/**", REVEAL)))
    shown = client.get(f"/v1/quarantine/{item_id}", headers=reviewer).json()
    assert (shown["metadata"], shown["tags"], shown["subject"]) == ({}, [], None)
    assert KEY_SECRET not in str(shown)
    assert KEY_ID not in str(shown)
    revealed = client.post(
        f"/v1/quarantine/{item_id}/reveal", json={"reason": "INC-5"}, headers=reviewer
    ).json()
    assert revealed["metadata"] == {"aws": KEY_SECRET}
    released = client.post(
        f"/v1/quarantine/{item_id}/release",
        json={"mode": "redacted", "reason": "keep the note"},
        headers=reviewer,
    )
    assert released.status_code == 201, released.text
    memory = released.json()["memory"]
    assert KEY_SECRET not in str(memory)
    assert KEY_ID not in str(memory)
    assert (memory["tags"], memory["subject"]) == (["ops"], "team-ops")
