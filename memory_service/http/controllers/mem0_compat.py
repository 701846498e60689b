"""mem0 ``MemoryClient`` wire compatibility (shared/COMPAT.md): thin adapters to the services.

The mapping from mem0's entities to our scopes and subjects is documented in
:mod:`memory_service.services.mem0_mapping`.

Litestar matches paths without their trailing slash, so mem0's ``/v1/memories/`` and
``/v1/memories/{id}/`` would land on our native ``/v1/memories`` handlers. mem0 clients always
send ``Authorization: Token <key>`` and a trailing slash; our clients send ``Bearer`` and
none. :func:`with_mem0_compat` wraps the app so that a request with both mem0 traits under
``/v1/memories`` is routed to :data:`MEM0_PREFIX` + its path before Litestar routes it. Every
other mem0 path (``/v1/ping/``, ``/v3/...``, ``/v2/...``) is free and served where mem0 puts it.

Errors on these routes are ``application/json`` with a ``detail`` (mem0's client reads
``detail`` only from a body whose content type starts with ``application/json``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import anyio.to_thread
from litestar import Controller, Litestar, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.types import ASGIApp, Receive, Scope, Send

from memory_service.http.blocking import blocking_calls
from memory_service.http.problems import EXCEPTION_HANDLERS
from memory_service.http.requests import caller_of
from memory_service.services import mem0_mapping as m0
from memory_service.services.memories import MemoryService

MEM0_PREFIX = "/mem0"
_NATIVE_COLLISIONS = "/v1/memories"


def _mem0_error(
    handler: Callable[[Request[Any, Any, Any], Any], Response[Any]],
) -> Callable[[Request[Any, Any, Any], Any], Response[dict[str, Any]]]:
    """Our problem response, re-typed as plain JSON with a ``detail`` that mem0 reads."""

    def wrapped(request: Request[Any, Any, Any], exc: Any) -> Response[dict[str, Any]]:
        response = handler(request, exc)
        body = dict(response.content) if isinstance(response.content, Mapping) else {}
        if response.status_code == 401:  # noqa: PLR2004 - the one status worth spelling out
            body["detail"] = "missing, unknown, revoked or expired API key"
        body.setdefault("detail", body.get("title") or "error")
        return Response(
            body,
            status_code=response.status_code,
            media_type="application/json",
            headers=dict(response.headers),
        )

    return wrapped


def _bad_request(
    request: Request[Any, Any, Any], exc: m0.Mem0RequestError
) -> Response[dict[str, Any]]:
    # mem0 answers malformed requests with 400; the message is ours, never the input.
    del request
    return Response(
        {"type": "about:blank", "title": "Bad request", "status": 400, "detail": str(exc)},
        status_code=400,
        media_type="application/json",
    )


def _mem0_exception_handlers() -> dict[Any, Any]:
    handlers: dict[Any, Any] = {
        cls: _mem0_error(handler) for cls, handler in EXCEPTION_HANDLERS.items()
    }
    handlers[m0.Mem0RequestError] = _bad_request
    return handlers


async def _run(fn: Callable[[], Any]) -> Any:
    return await anyio.to_thread.run_sync(fn)


class Mem0CompatController(Controller):
    """The mem0 routes. Every handler goes through :class:`MemoryService` with the caller."""

    path = ""
    tags = ["mem0 compatibility"]  # noqa: RUF012 - Litestar reads this class attribute
    exception_handlers = _mem0_exception_handlers()

    @get("/v1/ping", summary="mem0: validate the key")
    async def ping(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        principal = caller_of(request).principal
        # The client requires both ids (it refuses to start otherwise). They name this service
        # and the caller's own key; mem0's project API is not served (404).
        return {
            "status": "ok",
            "org_id": "memory-service",
            "project_id": principal.key_id,
            "user_email": None,
        }

    @post("/v3/memories/add", status_code=200, summary="mem0: add (messages stored as given)")
    async def add_v3(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[dict[str, Any]],
        memories: NamedDependency[MemoryService],
    ) -> dict[str, Any]:
        parsed = m0.parse_add(data, api="v3")
        result: dict[str, Any] = await _run(partial(m0.add, memories, caller_of(request), parsed))
        return result

    @post(
        ["/v3/memories/search", "/v2/memories/search"],
        status_code=200,
        summary="mem0: search (v3, and v2 for older clients)",
    )
    async def search(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[dict[str, Any]],
        memories: NamedDependency[MemoryService],
    ) -> dict[str, Any]:
        result: dict[str, Any] = await blocking_calls(request).short(
            partial(m0.search, memories, caller_of(request), data)
        )
        return result

    @post("/v3/memories", status_code=200, summary="mem0: get_all (paginated)")
    async def get_all_v3(
        self,
        request: Request[Any, Any, Any],
        memories: NamedDependency[MemoryService],
        data: JSONBody[dict[str, Any] | None] = None,
        page: FromQuery[str | None] = None,
        page_size: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        return await _get_all(
            request, memories, data or {}, page=page, page_size=page_size, path="/v3/memories/"
        )

    @post("/v2/memories", status_code=200, summary="mem0 (legacy): get_all")
    async def get_all_v2(
        self,
        request: Request[Any, Any, Any],
        memories: NamedDependency[MemoryService],
        data: JSONBody[dict[str, Any] | None] = None,
        page: FromQuery[str | None] = None,
        page_size: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        return await _get_all(
            request, memories, data or {}, page=page, page_size=page_size, path="/v2/memories/"
        )

    @post(MEM0_PREFIX + "/v1/memories", status_code=200, include_in_schema=False)
    async def add_v1(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[dict[str, Any]],
        memories: NamedDependency[MemoryService],
    ) -> dict[str, Any]:
        parsed = m0.parse_add(data, api="v1")
        result: dict[str, Any] = await _run(partial(m0.add, memories, caller_of(request), parsed))
        return result

    @get(MEM0_PREFIX + "/v1/memories", include_in_schema=False)
    async def get_all_v1(  # noqa: PLR0917 - Litestar binds query parameters by name
        self,
        request: Request[Any, Any, Any],
        memories: NamedDependency[MemoryService],
        user_id: FromQuery[str | None] = None,
        agent_id: FromQuery[str | None] = None,
        app_id: FromQuery[str | None] = None,
        run_id: FromQuery[str | None] = None,
        page: FromQuery[str | None] = None,
        page_size: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        body = {"user_id": user_id, "agent_id": agent_id, "app_id": app_id, "run_id": run_id}
        return await _get_all(
            request, memories, body, page=page, page_size=page_size, path="/v1/memories/"
        )

    @post(MEM0_PREFIX + "/v1/memories/search", status_code=200, include_in_schema=False)
    async def search_v1(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[dict[str, Any]],
        memories: NamedDependency[MemoryService],
    ) -> dict[str, Any]:
        result: dict[str, Any] = await blocking_calls(request).short(
            partial(m0.search, memories, caller_of(request), data)
        )
        return result

    @delete(MEM0_PREFIX + "/v1/memories", status_code=200, include_in_schema=False)
    async def delete_all(  # noqa: PLR0917 - Litestar binds query parameters by name
        self,
        request: Request[Any, Any, Any],
        memories: NamedDependency[MemoryService],
        user_id: FromQuery[str | None] = None,
        agent_id: FromQuery[str | None] = None,
        app_id: FromQuery[str | None] = None,
        run_id: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        params = {"user_id": user_id, "agent_id": agent_id, "app_id": app_id, "run_id": run_id}
        result: dict[str, Any] = await _run(
            partial(m0.delete_all, memories, caller_of(request), params)
        )
        return result

    @get(MEM0_PREFIX + "/v1/memories/{memory_id:str}", include_in_schema=False)
    async def get_one(
        self,
        request: Request[Any, Any, Any],
        memory_id: FromPath[str],
        memories: NamedDependency[MemoryService],
    ) -> dict[str, Any]:
        memory = await blocking_calls(request).short(
            partial(memories.get, caller_of(request), m0.parse_id(memory_id))
        )
        return m0.memory_out(memory)

    @put(MEM0_PREFIX + "/v1/memories/{memory_id:str}", include_in_schema=False)
    async def update(
        self,
        request: Request[Any, Any, Any],
        memory_id: FromPath[str],
        data: JSONBody[dict[str, Any]],
        memories: NamedDependency[MemoryService],
    ) -> Response[dict[str, Any]]:
        status, body = await _run(
            partial(m0.update, memories, caller_of(request), m0.parse_id(memory_id), data)
        )
        return Response(body, status_code=status)

    @delete(MEM0_PREFIX + "/v1/memories/{memory_id:str}", status_code=200, include_in_schema=False)
    async def delete_one(
        self,
        request: Request[Any, Any, Any],
        memory_id: FromPath[str],
        memories: NamedDependency[MemoryService],
    ) -> dict[str, Any]:
        await _run(partial(memories.forget, caller_of(request), m0.parse_id(memory_id)))
        return {"message": "Memory deleted successfully!"}

    @get(MEM0_PREFIX + "/v1/memories/{memory_id:str}/history", include_in_schema=False)
    async def history(
        self,
        request: Request[Any, Any, Any],
        memory_id: FromPath[str],
        memories: NamedDependency[MemoryService],
    ) -> list[dict[str, Any]]:
        versions = await _run(partial(memories.history, caller_of(request), m0.parse_id(memory_id)))
        return m0.history_out(versions)

    @get("/v1/entities", summary="mem0: users, agents, apps and runs with memories")
    async def entities(
        self, request: Request[Any, Any, Any], memories: NamedDependency[MemoryService]
    ) -> dict[str, Any]:
        result: dict[str, Any] = await _run(partial(m0.entities, memories, caller_of(request)))
        return result

    @delete(
        "/v2/entities/{kind:str}/{name:str}",
        status_code=200,
        summary="mem0: delete an entity's memories",
    )
    async def delete_entity(
        self,
        request: Request[Any, Any, Any],
        kind: FromPath[str],
        name: FromPath[str],
        memories: NamedDependency[MemoryService],
    ) -> dict[str, Any]:
        entity = m0.entity_filter_for(kind, name)
        result: dict[str, Any] = await _run(
            partial(m0.forget_matching, memories, caller_of(request), entity)
        )
        return {**result, "message": "Entity deleted successfully."}

    @put("/v1/batch", summary="mem0: update up to 100 memories")
    async def batch_update(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[dict[str, Any]],
        memories: NamedDependency[MemoryService],
    ) -> dict[str, Any]:
        items = m0.batch_items(data)
        result: dict[str, Any] = await _run(
            partial(m0.batch_update, memories, caller_of(request), items)
        )
        return result

    @delete("/v1/batch", status_code=200, summary="mem0: delete up to 100 memories")
    async def batch_delete(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[dict[str, Any]],
        memories: NamedDependency[MemoryService],
    ) -> dict[str, Any]:
        items = m0.batch_items(data)
        result: dict[str, Any] = await _run(
            partial(m0.batch_delete, memories, caller_of(request), items)
        )
        return result


async def _get_all(
    request: Request[Any, Any, Any],
    memories: MemoryService,
    body: dict[str, Any],
    *,
    page: str | None,
    page_size: str | None,
    path: str,
) -> dict[str, Any]:
    number, size = m0.page_bounds(page or body.get("page"), page_size or body.get("page_size"))
    base_url = str(request.base_url).rstrip("/") + path
    result: dict[str, Any] = await _run(
        partial(
            m0.get_all,
            memories,
            caller_of(request),
            body,
            page=number,
            page_size=size,
            base_url=base_url,
        )
    )
    return result


def _is_mem0_request(scope: Scope) -> bool:
    if scope["type"] != ScopeType.HTTP:
        return False
    path: str = scope["path"]
    if not path.startswith(_NATIVE_COLLISIONS) or not path.endswith("/"):
        return False
    rest = path[len(_NATIVE_COLLISIONS) :]
    if rest and not rest.startswith("/"):
        return False  # /v1/memoriesfoo/ is not ours to touch
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.split(b" ", 1)[0].lower() == b"token"
    return False


def mem0_dialect_router(app: ASGIApp) -> ASGIApp:
    """Send mem0's ``/v1/memories...`` requests (Token auth + trailing slash) to our mem0 routes.

    Runs before Litestar's router, which cannot tell ``/v1/memories/`` from ``/v1/memories``.
    """

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        if _is_mem0_request(scope):
            path = MEM0_PREFIX + scope["path"]
            scope = {**scope, "path": path, "raw_path": path.encode()}  # type: ignore[assignment]
        await app(scope, receive, send)

    return route


def with_mem0_compat(app: Litestar) -> Litestar:
    """Register the mem0 routes on ``app`` and route mem0-shaped requests to them."""
    app.register(Mem0CompatController)
    app.asgi_handler = mem0_dialect_router(app.asgi_handler)
    return app


__all__ = [
    "MEM0_PREFIX",
    "Mem0CompatController",
    "mem0_dialect_router",
    "with_mem0_compat",
]
