"""Where the async handlers run the service's blocking calls: on the event loop or a worker thread.

A worker thread costs two thread wake-ups per call, and on this kind of VM a core woken from
idle runs the next few milliseconds of work markedly slower (measured: one query embedding
took 1.7 ms back to back and 2.7 ms after 5 ms asleep). A scoped search at 100k memories, p50
over HTTP: on asyncio's loop 7.4-7.7 ms with both hops on the loop against 8.5-9.2 ms through
the threads; on uvloop (which wakes threads more cheaply) the app's own time was 8.45 against
9.08 ms, median of four alternations on a slower host.

So a *short* call (authentication, a search, a get: a few ms, bounded by the request's limits)
runs on the event loop when its request is the only one in flight. When others are in flight
it goes to a worker thread as before, so that concurrent requests still share both cores
(onnxruntime, SQLite and Qdrant Edge release the GIL).

Long calls (writes: classification, batches) always take a worker thread: they would hold
up every other request for tens of milliseconds.

A call run inline is marked :func:`~memory_service.solo.running_solo`: with the machine to
itself, the query embedding may use both cores (the ONNX embedder's ``solo_threads``, off
by default).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

import anyio.lowlevel
import anyio.to_thread
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from memory_service.solo import running_solo

BLOCKING_STATE: Final = "blocking_calls"

# Before deciding, a short call yields this many times: a request whose bytes are already
# waiting is read in one loop iteration, its task created in the next and started (counted)
# in the one after, so it is seen in flight before this call takes the loop.
_YIELDS_TO_SEE_WAITING: Final = 3

T = TypeVar("T")


class BlockingCalls:
    """Counts the HTTP requests in flight (its :meth:`middleware` must be outermost) and runs
    blocking calls accordingly; one per app."""

    def __init__(self, *, inline_when_alone: bool) -> None:
        self._inline_when_alone = inline_when_alone
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def counting(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            # Only the event loop's thread touches the count: no lock.
            self._in_flight += 1
            try:
                await app(scope, receive, send)
            finally:
                self._in_flight -= 1

        return counting

    async def short(self, func: Callable[[], T]) -> T:
        """Run ``func`` (a few ms at most) on the loop if its request is alone, else on a
        worker thread."""
        if self._inline_when_alone:
            for _ in range(_YIELDS_TO_SEE_WAITING):
                await anyio.lowlevel.checkpoint()
            if self._in_flight <= 1:
                with running_solo():
                    return func()
        return await anyio.to_thread.run_sync(func)


def blocking_calls(connection: ASGIConnection[Any, Any, Any, Any]) -> BlockingCalls:
    calls: BlockingCalls = connection.app.state[BLOCKING_STATE]
    return calls
