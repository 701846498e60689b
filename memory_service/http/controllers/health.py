"""Liveness, readiness and metrics; no authentication."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
from litestar import Controller, Response, get
from litestar.datastructures import State

from memory_service.http.problems import problem

READINESS_STATE = "readiness_check"


class HealthController(Controller):
    path = "/"
    include_in_schema = False

    @get("/healthz", exclude_from_auth=True)
    async def healthz(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", exclude_from_auth=True)
    async def readyz(self, state: State) -> Response[Any]:
        check: Callable[[], None] | None = state.get(READINESS_STATE)
        if check is None:
            return problem(503, "Not ready", "the service is starting")
        try:
            await anyio.to_thread.run_sync(check)
        except Exception:  # noqa: BLE001 - any failing store means "not ready", nothing more
            return problem(503, "Not ready", "a backing store does not answer")
        return Response({"status": "ready"})
