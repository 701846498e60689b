from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from memory_service.app import Runtime, build_embedder, build_runtime, create_app
from memory_service.domain.ports import Embedder
from memory_service.settings import Settings

ADMIN_KEY = "msk_0000000000000000_testadminsecretvalue0000000000"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return build_embedder(Settings())


@pytest.fixture
def runtime(tmp_path: Path, embedder: Embedder) -> Iterator[Runtime]:
    settings = Settings(data_dir=tmp_path / "data", bootstrap_admin_key=ADMIN_KEY)
    rt = build_runtime(settings, embedder=embedder)
    yield rt
    rt.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(app=create_app(runtime=runtime)) as c:
        yield c


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def make_key(client: TestClient[Any], name: str, *grants: tuple[str, list[str]]) -> str:
    response = client.post(
        "/v1/keys",
        json={"name": name, "grants": [{"scope": s, "permissions": p} for s, p in grants]},
        headers=auth(ADMIN_KEY),
    )
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


RW = ["memory:read", "memory:write", "memory:delete"]
