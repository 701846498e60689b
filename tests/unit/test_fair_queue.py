"""The classification queue: owners take turns, none holds every worker, late work never runs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from memory_service.services.fair_queue import DeadlinePassed, FairQueue, Stop

WAIT = 10.0  # a bound for a hung test, never reached when the code is right


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def queues() -> Iterator[list[FairQueue]]:
    made: list[FairQueue] = []
    yield made
    for queue in made:
        queue.close()


def blocked(
    started: threading.Event, release: threading.Event, ran: list[str], name: str
) -> Callable[[Stop], str]:
    def work(_stop: Stop) -> str:
        ran.append(name)
        started.set()
        assert release.wait(WAIT)
        return name

    return work


def done(ran: list[str], name: str) -> Callable[[Stop], str]:
    def work(_stop: Stop) -> str:
        ran.append(name)
        return name

    return work


def test_one_owner_never_holds_every_worker(queues: list[FairQueue]) -> None:
    queue = FairQueue(2)
    queues.append(queue)
    release = threading.Event()
    ran: list[str] = []
    started = threading.Event()
    heavy = [
        queue.submit("a", blocked(started, release, ran, f"a{i}"), timeout=WAIT) for i in range(5)
    ]
    assert started.wait(WAIT)
    # a's first unit holds one worker; the other stays free for anyone else, at once.
    assert queue.submit("b", done(ran, "b"), timeout=WAIT).future.result(WAIT) == "b"
    assert ran == ["a0", "b"]
    assert queue.waiting("a") == 4
    release.set()
    assert [t.future.result(WAIT) for t in heavy] == [f"a{i}" for i in range(5)]


def test_owners_take_turns(queues: list[FairQueue]) -> None:
    queue = FairQueue(1)
    queues.append(queue)
    release = threading.Event()
    started = threading.Event()
    ran: list[str] = []
    first = queue.submit("a", blocked(started, release, ran, "a0"), timeout=WAIT)
    assert started.wait(WAIT)
    later = [queue.submit("a", done(ran, f"a{i}"), timeout=WAIT) for i in (1, 2)]
    later.append(queue.submit("b", done(ran, "b0"), timeout=WAIT))
    release.set()
    for ticket in [first, *later]:
        ticket.future.result(WAIT)
    assert ran == ["a0", "a1", "b0", "a2"]


def test_work_past_its_deadline_is_never_started(queues: list[FairQueue]) -> None:
    clock = FakeClock()
    queue = FairQueue(1, clock=clock)
    queues.append(queue)
    release = threading.Event()
    started = threading.Event()
    ran: list[str] = []
    first = queue.submit("a", blocked(started, release, ran, "a0"), timeout=100)
    assert started.wait(WAIT)
    late = queue.submit("b", done(ran, "b0"), timeout=1)
    clock.now = 2  # b's time is up while the only worker is busy
    release.set()
    assert first.future.result(WAIT) == "a0"
    with pytest.raises(DeadlinePassed):
        late.future.result(WAIT)
    assert ran == ["a0"]


def test_giving_up_tells_running_work_to_stop(queues: list[FairQueue]) -> None:
    queue = FairQueue(1)
    queues.append(queue)
    started = threading.Event()
    stopped = threading.Event()

    def endless(stop: Stop) -> str:
        started.set()
        while not stop():
            stopped.wait(0.001)
        stopped.set()
        return "stopped"

    ticket = queue.submit("a", endless, timeout=WAIT)
    assert started.wait(WAIT)
    ticket.give_up()
    assert stopped.wait(WAIT)
    # The worker is free again for the next unit.
    assert queue.submit("b", lambda _stop: "next", timeout=WAIT).future.result(WAIT) == "next"


def test_closing_fails_what_is_still_queued(queues: list[FairQueue]) -> None:
    queue = FairQueue(1)
    release = threading.Event()
    started = threading.Event()
    ran: list[str] = []
    queue.submit("a", blocked(started, release, ran, "a0"), timeout=WAIT)
    assert started.wait(WAIT)
    queued = queue.submit("a", done(ran, "a1"), timeout=WAIT)
    queue.close()
    release.set()
    with pytest.raises(DeadlinePassed):
        queued.future.result(WAIT)
    assert ran == ["a0"]
