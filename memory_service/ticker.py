"""A daemon thread that calls a function every few seconds until stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

_log = structlog.get_logger("memory_service.ticker")


class Ticker:
    def __init__(self, name: str, interval_seconds: float, tick: Callable[[], object]) -> None:
        self._name = name
        self._interval = interval_seconds
        self._tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._tick()
            except Exception as exc:  # noqa: BLE001 - keep ticking; the next tick retries
                # The type only: messages from stores can quote values.
                _log.warning("tick_failed", ticker=self._name, error_type=type(exc).__name__)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)


class Trigger:
    """Runs ``action`` on a daemon thread soon after :meth:`fire`; fires while it runs are
    merged into one more run, so a burst of requests costs at most two runs."""

    def __init__(self, name: str, action: Callable[[], object], delay_seconds: float = 0.5) -> None:
        self._name = name
        self._action = action
        self._delay = delay_seconds
        self._fired = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Trigger:
        self._thread.start()
        return self

    def fire(self) -> None:
        self._fired.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self._fired.wait(timeout=1.0):
                continue
            if self._stop.wait(self._delay):
                return
            self._fired.clear()
            try:
                self._action()
            except Exception as exc:  # noqa: BLE001 - the next fire (or the job) retries
                _log.warning("trigger_failed", trigger=self._name, error_type=type(exc).__name__)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)
