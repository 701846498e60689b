"""The retention error tree.

Every message here is written by us and never carries stored data, so a run record may show it.
"""

from __future__ import annotations


class RetentionError(Exception):
    """Base of every error the retention package raises on purpose."""


class InvalidScopePattern(RetentionError, ValueError):
    """A policy's scope pattern does not follow the scope grammar."""


class InvalidPolicy(RetentionError, ValueError):
    """A retention policy is malformed (unknown target, non-positive age)."""


class InvalidSchedule(RetentionError, ValueError):
    """A job schedule is neither a positive interval nor a five-field cron expression."""


class UnknownJob(RetentionError):
    """No job is registered under that name."""


class PurgeNotVerified(RetentionError):
    """Purged ids were still found in a store afterwards."""


class LeaseLost(RetentionError):
    """The lease could not be renewed while the job ran, so another worker may have run it too."""
