"""Server-Timing: off by default, the app's own time when switched on."""

from __future__ import annotations

import re
import uuid

import pytest
from litestar.testing import TestClient

from memory_service.app import Runtime, create_app
from tests.api.conftest import ADMIN_KEY, auth

SEARCH = {"query": "what does the team prefer", "limit": 3}


@pytest.mark.parametrize("runtime", ["edge+sqlite"], indirect=True)
def test_no_timing_header_unless_switched_on(runtime: Runtime) -> None:
    with TestClient(app=create_app(runtime=runtime)) as client:
        response = client.post("/v1/memories/search", json=SEARCH, headers=auth(ADMIN_KEY))
    assert response.status_code == 200
    assert "server-timing" not in response.headers


@pytest.mark.parametrize("runtime", ["edge+sqlite"], indirect=True)
def test_the_header_carries_the_apps_time_on_answers_problems_and_refusals(
    runtime: Runtime,
) -> None:
    settings = runtime.settings.model_copy(update={"server_timing": True})
    with TestClient(app=create_app(settings=settings, runtime=runtime)) as client:
        found = client.post("/v1/memories/search", json=SEARCH, headers=auth(ADMIN_KEY))
        missing = client.get(f"/v1/memories/{uuid.uuid4()}", headers=auth(ADMIN_KEY))
        refused = client.post("/v1/memories/search", json=SEARCH)
    for response in (found, missing, refused):
        match = re.fullmatch(r"app;dur=(\d+\.\d{3})", response.headers["server-timing"])
        assert match is not None, response.headers["server-timing"]
        assert 0.0 < float(match.group(1)) < 60_000.0
    assert missing.status_code == 404
    assert refused.status_code == 401
