"""Per-request context: the caller and a request id."""

from __future__ import annotations

import time
import uuid
from typing import Any

from litestar import Litestar, Request
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from memory_service.domain.grants import Caller
from memory_service.http.auth import principal_of

REQUEST_ID_HEADER = "x-request-id"


def request_id_of(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("state", {}).get("request_id") or "")


def caller_of(request: Request[Any, Any, Any]) -> Caller:
    return Caller(principal=principal_of(request), request_id=request_id_of(request))


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Give every request a server-made id (never trust the client's) and echo it back."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        await app(scope, receive, send_with_id)

    return middleware


SERVER_TIMING_HEADER = "server-timing"


def server_timing_middleware(app: ASGIApp) -> ASGIApp:
    """``Server-Timing: app;dur=<ms>``: the time from the request's arrival in the app to its
    response's start, so that a benchmark can tell the service's share from the client's and
    the network's. Opt-in (MEMORY_SERVER_TIMING): timings help whoever probes the service."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed_ms = (time.perf_counter() - started) * 1000
                MutableScopeHeaders.from_message(message)[SERVER_TIMING_HEADER] = (
                    f"app;dur={elapsed_ms:.3f}"
                )
            await send(message)

        await app(scope, receive, send_with_timing)

    return middleware


def with_request_context(app: Litestar, *, server_timing: bool) -> Litestar:
    """The request id (and, switched on, the timing) around the whole app, its own exception
    handling included: a request refused by the key middleware (401) gets them too, which it
    did not while they were in the middleware list."""
    handler = request_id_middleware(app.asgi_handler)
    app.asgi_handler = server_timing_middleware(handler) if server_timing else handler
    return app
