"""The domain error tree. No HTTP status codes here: ``http/problems.py`` maps them."""

from __future__ import annotations


class MemoryServiceError(Exception):
    """Base of every error the service raises on purpose."""


class InvalidInput(MemoryServiceError):
    """The caller sent something we refuse; the message is safe to show (never echoes content)."""


class InvalidScope(InvalidInput):
    """A scope or scope pattern does not follow the grammar."""


class Unauthenticated(MemoryServiceError):
    """No key, an unknown key, a revoked or an expired key."""


class ScopeDenied(MemoryServiceError):
    """Authenticated, but the key's grants do not allow this on that scope."""


class NotFound(MemoryServiceError):
    """Absent, or outside the caller's scopes: existence is never leaked."""


class VersionConflict(MemoryServiceError):
    """``If-Match`` named a version that is no longer current."""


class Conflict(MemoryServiceError):
    """The request does not fit the resource's current state (e.g. an item already decided)."""


class IdempotencyConflict(MemoryServiceError):
    """An ``Idempotency-Key`` was reused with a different request body."""


class PolicyRejected(MemoryServiceError):
    """The scope's classification policy rejects this write."""

    def __init__(self, message: str, findings: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.findings = findings


class StoreUnavailable(MemoryServiceError):
    """A backing store did not answer; the write was not acknowledged."""


class RetryLater(MemoryServiceError):
    """Nothing was done, and the same request may succeed later: ``retry_after`` says in how
    many seconds. The message is ours and safe to show."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Overloaded(RetryLater):
    """The write could not be classified in time (or at all); nothing was stored."""


class RateLimited(RetryLater):
    """The key has too many requests waiting already; nothing was done."""


class SealMismatch(MemoryServiceError):
    """A sealed record does not open under the binding given (another row, scope or format)."""
