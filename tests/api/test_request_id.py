"""Every response carries a server-made X-Request-Id, refusals by the key check included."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import pytest
from litestar.testing import TestClient

from memory_service.app import Runtime, create_app
from tests.api.conftest import ADMIN_KEY, auth

SEARCH = {"query": "what does the team prefer", "limit": 3}


def _request_id(headers: Mapping[str, str]) -> uuid.UUID:
    return uuid.UUID(headers["x-request-id"])


@pytest.mark.parametrize("runtime", ["edge+sqlite"], indirect=True)
def test_answers_problems_and_refusals_carry_their_own_request_id(runtime: Runtime) -> None:
    with TestClient(app=create_app(runtime=runtime)) as client:
        responses = [
            client.post("/v1/memories/search", json=SEARCH, headers=auth(ADMIN_KEY)),
            client.get(f"/v1/memories/{uuid.uuid4()}", headers=auth(ADMIN_KEY)),
            client.post("/v1/memories/search", json=SEARCH),  # no key
            client.post("/v1/memories/search", json=SEARCH, headers=auth("msk_bad_key")),
            client.get("/v1/no-such-route", headers=auth(ADMIN_KEY)),
        ]
    assert [r.status_code for r in responses] == [200, 404, 401, 401, 404]
    ids = {_request_id(r.headers) for r in responses}
    assert len(ids) == len(responses)


@pytest.mark.parametrize("runtime", ["edge+sqlite"], indirect=True)
def test_a_client_chosen_request_id_is_replaced(runtime: Runtime) -> None:
    chosen = str(uuid.uuid4())
    with TestClient(app=create_app(runtime=runtime)) as client:
        response = client.post(
            "/v1/memories/search", json=SEARCH, headers={**auth(ADMIN_KEY), "X-Request-Id": chosen}
        )
    assert response.status_code == 200
    assert str(_request_id(response.headers)) != chosen


@pytest.mark.parametrize("runtime", ["edge+sqlite"], indirect=True)
def test_the_request_id_is_the_one_in_the_requests_audit_event(runtime: Runtime) -> None:
    with TestClient(app=create_app(runtime=runtime)) as client:
        search = client.post("/v1/memories/search", json=SEARCH, headers=auth(ADMIN_KEY))
        trail = client.get(
            "/v1/audit", params={"order": "desc", "limit": 50}, headers=auth(ADMIN_KEY)
        ).json()["items"]
    searched = [e["request_id"] for e in trail if e["action"] == "memory.search"]
    assert searched[0] == search.headers["x-request-id"]
