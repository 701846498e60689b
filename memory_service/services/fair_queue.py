"""Work for many owners (API keys) on a few threads: no owner can make another one wait.

A plain thread pool serves in arrival order, so one key that sends a heavy batch fills every
worker and the queue, and every other key's writes wait behind it until they time out. Here
each owner has its own queue, free workers take the owners in turn (round robin), and one
owner never runs on more than ``per_owner`` workers at once (by default all but one): with two
workers, one worker is always free for the other keys, whatever one key sends.

Work that its waiter has given up on (the deadline passed) is not started, and work that is
running is told to stop (``stop()`` turns true) so that it can end at its next check.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

Stop = Callable[[], bool]
"""True once the work should end: its waiter gave up, or its deadline passed."""


class DeadlinePassed(TimeoutError):
    """The work's deadline passed before a worker could start it; it never ran."""


@dataclass(eq=False)
class Ticket(Generic[T]):
    """One unit of work in the queue: its result, and a way to tell it to stop."""

    work: Callable[[Stop], T]
    deadline: float
    clock: Callable[[], float]
    future: Future[T] = field(default_factory=Future)
    _given_up: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> bool:
        return self._given_up.is_set() or self.clock() >= self.deadline

    def give_up(self) -> None:
        """The waiter no longer wants the result: not started if still queued, told to stop
        if running."""
        self._given_up.set()
        self.future.cancel()


class FairQueue:
    """Round robin between owners over ``workers`` threads, at most ``per_owner`` each."""

    def __init__(
        self,
        workers: int,
        *,
        per_owner: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        name: str = "fair",
    ) -> None:
        if workers < 1:
            raise ValueError("a queue needs at least one worker")
        self._per_owner = per_owner or max(1, workers - 1)
        self._clock = clock
        self._ready = threading.Condition()
        self._queues: dict[str, deque[Ticket[object]]] = {}
        self._running: dict[str, int] = {}
        self._turn: deque[str] = deque()  # owners with queued work, in serving order
        self._closed = False
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, owner: str, work: Callable[[Stop], T], *, timeout: float) -> Ticket[T]:
        """Queue ``work(stop)`` for ``owner``; it must be done within ``timeout`` seconds."""
        ticket: Ticket[T] = Ticket(work, self._clock() + timeout, self._clock)
        with self._ready:
            if self._closed:
                raise RuntimeError("the queue is closed")
            queue = self._queues.setdefault(owner, deque())
            if not queue and owner not in self._turn:
                self._turn.append(owner)
            queue.append(ticket)  # type: ignore[arg-type]
            self._ready.notify()
        return ticket

    def waiting(self, owner: str) -> int:
        """How many units of ``owner`` are queued (not yet started)."""
        with self._ready:
            return len(self._queues.get(owner, ()))

    def close(self) -> None:
        """Stop the workers; queued work fails with :class:`DeadlinePassed`."""
        with self._ready:
            self._closed = True
            for queue in self._queues.values():
                for ticket in queue:
                    ticket.future.set_exception(DeadlinePassed())
            self._queues.clear()
            self._turn.clear()
            self._ready.notify_all()

    def _next(self) -> tuple[str, Ticket[object]] | None:
        """The first owner in turn that may run one more unit; it goes to the back."""
        for _ in range(len(self._turn)):
            owner = self._turn[0]
            self._turn.rotate(-1)
            if self._running.get(owner, 0) < self._per_owner:
                queue = self._queues[owner]
                ticket = queue.popleft()
                if not queue:
                    self._turn.remove(owner)
                    del self._queues[owner]
                return owner, ticket
        return None

    def _serve(self) -> None:
        while True:
            with self._ready:
                picked = None
                while not self._closed and (picked := self._next()) is None:
                    self._ready.wait()
                if picked is None:
                    return
                owner, ticket = picked
                self._running[owner] = self._running.get(owner, 0) + 1
            try:
                self._run(ticket)
            finally:
                with self._ready:
                    self._running[owner] -= 1
                    if not self._running[owner]:
                        del self._running[owner]
                    self._ready.notify_all()

    @staticmethod
    def _run(ticket: Ticket[object]) -> None:
        if ticket.stop():
            if not ticket.future.cancelled():
                ticket.future.set_exception(DeadlinePassed())
            return
        if not ticket.future.set_running_or_notify_cancel():
            return
        try:
            ticket.future.set_result(ticket.work(ticket.stop))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiter, whatever it is
            ticket.future.set_exception(exc)
