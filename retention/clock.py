"""The injected clock: retention logic never reads the wall clock itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The production clock; tests pass their own."""
    return datetime.now(UTC)


def require_aware(moment: datetime) -> datetime:
    """Return ``moment`` if it carries a time zone; naive times would compare as local time."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("retention needs time-zone-aware datetimes")
    return moment
