"""Short reads run on the event loop only while their request is the only one in flight, and
only those calls are marked solo (free to use every core)."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from memory_service.http.blocking import BlockingCalls
from memory_service.solo import is_solo

HTTP: Any = {"type": "http", "path": "/v1/memories/search"}


async def _receive() -> Any:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(_message: Any) -> None:
    return None


def _request_calling_short(
    calls: BlockingCalls, threads: list[int], before: Any = None, solo: list[bool] | None = None
) -> Any:
    """An ASGI app, behind ``calls.middleware``, whose request makes one short call and
    records the thread it ran on (and in ``solo``, whether it was marked solo)."""

    def call() -> int:
        if solo is not None:
            solo.append(is_solo())
        return threading.get_ident()

    async def app(_scope: Any, _receive: Any, _send: Any) -> None:
        if before is not None:
            await before()
        threads.append(await calls.short(call))

    return calls.middleware(app)


def _loop_thread_of(scenario: Callable[[], Awaitable[None]]) -> int:
    """Run ``scenario`` in a fresh event loop; the loop's thread id."""

    async def main() -> int:
        await scenario()
        return threading.get_ident()

    return anyio.run(main)


@pytest.mark.parametrize("inline_when_alone", [True, False])
def test_a_lone_requests_short_call_runs_on_the_loop_only_with_the_setting_on(
    *, inline_when_alone: bool
) -> None:
    calls = BlockingCalls(inline_when_alone=inline_when_alone)
    threads: list[int] = []
    solo: list[bool] = []
    after: list[bool] = []

    async def scenario() -> None:
        await _request_calling_short(calls, threads, solo=solo)(HTTP, _receive, _send)
        after.append(is_solo())  # same task: the flag must not outlive the call

    loop_thread = _loop_thread_of(scenario)
    assert len(threads) == 1
    assert (threads[0] == loop_thread) is inline_when_alone
    assert solo == [inline_when_alone]
    assert after == [False]
    assert calls.in_flight == 0


def test_a_request_that_finds_another_in_flight_takes_a_worker_thread() -> None:
    calls = BlockingCalls(inline_when_alone=True)
    threads: list[int] = []
    solo: list[bool] = []
    first_inside = anyio.Event()
    release_first = anyio.Event()

    async def wait_for_release() -> None:
        first_inside.set()
        await release_first.wait()

    async def scenario() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(
                _request_calling_short(calls, threads, wait_for_release, solo),
                HTTP,
                _receive,
                _send,
            )
            await first_inside.wait()
            # The first request is in flight (awaiting): the second must not take the loop.
            await _request_calling_short(calls, threads, solo=solo)(HTTP, _receive, _send)
            release_first.set()

    loop_thread = _loop_thread_of(scenario)
    assert len(threads) == 2
    second, first = threads
    assert second != loop_thread
    assert first == loop_thread  # alone again once the second had finished
    assert solo == [False, True]
    assert calls.in_flight == 0


def test_requests_that_start_together_see_each_other() -> None:
    """Two requests started in the same loop iteration: the first one's short call yields
    before deciding, sees the second in flight, and leaves the loop free."""
    calls = BlockingCalls(inline_when_alone=True)
    threads: list[int] = []

    async def scenario() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(2):
                group.start_soon(_request_calling_short(calls, threads), HTTP, _receive, _send)

    loop_thread = _loop_thread_of(scenario)
    assert len(threads) == 2
    assert threads[0] != loop_thread


def test_lifespan_and_websocket_scopes_are_not_counted() -> None:
    calls = BlockingCalls(inline_when_alone=True)
    seen: list[int] = []

    async def app(_scope: Any, _receive: Any, _send: Any) -> None:
        seen.append(calls.in_flight)

    async def scenario() -> None:
        lifespan: Any = {"type": "lifespan"}
        await calls.middleware(app)(lifespan, _receive, _send)
        await calls.middleware(app)(HTTP, _receive, _send)

    anyio.run(scenario)
    assert seen == [0, 1]


def test_the_count_drops_when_a_request_fails() -> None:
    calls = BlockingCalls(inline_when_alone=True)

    async def failing(_scope: Any, _receive: Any, _send: Any) -> None:
        raise RuntimeError("boom")

    async def scenario() -> None:
        with pytest.raises(RuntimeError):
            await calls.middleware(failing)(HTTP, _receive, _send)

    anyio.run(scenario)
    assert calls.in_flight == 0
