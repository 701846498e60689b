from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from qdrant_client import QdrantClient

from classifiers.pipeline import ClassificationPipeline
from memory_service.app import Runtime, build_embedder, build_pipeline, build_runtime, create_app
from memory_service.domain.ports import Embedder
from memory_service.settings import Settings
from memory_service.storage.qdrant_client_index import QdrantClientMemoryIndex
from tests.conftest import reset_postgres

ADMIN_KEY = "msk_0000000000000000_testadminsecretvalue0000000000"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return build_embedder(Settings())


@pytest.fixture(scope="session")
def pipeline() -> ClassificationPipeline:
    """The real classifiers, loaded once per session."""
    return build_pipeline(Settings())


@pytest.fixture(
    params=[
        "edge+sqlite",
        pytest.param("edge+postgresql", marks=pytest.mark.postgres),
        "qdrant-client+sqlite",
    ]
)
def runtime(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    embedder: Embedder,
    pipeline: ClassificationPipeline,
) -> Iterator[Runtime]:
    """The API suite runs on the embedded default and on each scale-out store."""
    database_url = None
    if "postgresql" in request.param:
        database_url = request.getfixturevalue("postgres_url")
        reset_postgres(database_url)
    index = None
    if request.param.startswith("qdrant-client"):
        # qdrant-client's local mode speaks the server's API; it stands in for a cluster here.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Payload indexes have no effect", UserWarning)
            index = QdrantClientMemoryIndex(
                QdrantClient(":memory:"), "memories", embedder.dimension
            )
    settings = Settings(
        data_dir=tmp_path / "data", bootstrap_admin_key=ADMIN_KEY, database_url=database_url
    )
    rt = build_runtime(settings, embedder=embedder, index=index, pipeline=pipeline)
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
