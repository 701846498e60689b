"""Keeping a lease alive while a job runs."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from types import TracebackType
from typing import Self

from retention.clock import Clock
from retention.store import LeaseStore

logger = logging.getLogger(__name__)


class LeaseHeartbeat:
    """Renews a held lease every ``every`` seconds on a daemon thread, until the block exits.

    If a renewal fails or raises, the lease may have passed to another worker; ``lost`` turns
    True and renewing stops, since a lease once lost cannot be trusted again for this run.
    """

    def __init__(
        self,
        leases: LeaseStore,
        name: str,
        holder: str,
        *,
        ttl: timedelta,
        clock: Clock,
        every: float,
    ) -> None:
        self._leases = leases
        self._name = name
        self._holder = holder
        self._ttl = ttl
        self._clock = clock
        self._every = every
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease:{name}", daemon=True)

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._every):
            try:
                renewed = self._leases.renew(
                    self._name, self._holder, ttl=self._ttl, now=self._clock()
                )
            except Exception:  # noqa: BLE001 - any failure means we can no longer prove we hold it
                logger.warning("lease %s: renewal raised", self._name)
                renewed = False
            if not renewed:
                self._lost.set()
                return
