"""Whether the running call is its process's only request in flight, so may use every core.

The HTTP layer knows how many requests are in flight; the embedder knows how to use more than
one core. This flag, set around a call, is all either needs of the other. It is a context
variable set only around a call run inline, so a call handed to a worker thread (other
requests in flight) starts from a copy of the context without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

_SOLO: Final[ContextVar[bool]] = ContextVar("solo", default=False)


@contextmanager
def running_solo() -> Iterator[None]:
    """Mark the calls made inside as their process's only work in flight."""
    token = _SOLO.set(True)
    try:
        yield
    finally:
        _SOLO.reset(token)


def is_solo() -> bool:
    return _SOLO.get()
