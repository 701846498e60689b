"""Limits on what a write may carry, beyond what the wire schema checks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from memory_service.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Limits:
    max_content_chars: int = 32_768
    max_metadata_bytes: int = 16 * 1024
    max_metadata_depth: int = 5
    max_tags: int = 64
    max_tag_chars: int = 128
    max_subject_chars: int = 256


def _depth(value: Any, level: int = 1) -> int:
    if isinstance(value, Mapping):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level - 1


def check_content(content: str, limits: Limits) -> None:
    if not content.strip():
        raise InvalidInput("content must not be empty")
    if len(content) > limits.max_content_chars:
        raise InvalidInput(f"content is longer than {limits.max_content_chars} characters")


def check_metadata(metadata: Mapping[str, Any], limits: Limits) -> None:
    if _depth(metadata) > limits.max_metadata_depth:
        raise InvalidInput(f"metadata is nested deeper than {limits.max_metadata_depth} levels")
    if len(json.dumps(metadata, separators=(",", ":"))) > limits.max_metadata_bytes:
        raise InvalidInput(f"metadata is larger than {limits.max_metadata_bytes} bytes")


def check_tags(tags: list[str], limits: Limits) -> tuple[str, ...]:
    if len(tags) > limits.max_tags:
        raise InvalidInput(f"at most {limits.max_tags} tags")
    for tag in tags:
        if not tag or len(tag) > limits.max_tag_chars:
            raise InvalidInput(f"tags must be 1..{limits.max_tag_chars} characters")
    return tuple(dict.fromkeys(tags))


def check_subject(subject: str | None, limits: Limits) -> str | None:
    if subject is None:
        return None
    if not subject.strip() or len(subject) > limits.max_subject_chars:
        raise InvalidInput(f"subject must be 1..{limits.max_subject_chars} characters")
    return subject


def resolve_expiry(
    now: datetime, ttl_seconds: int | None, expires_at: datetime | None
) -> datetime | None:
    """One expiry from ``ttl_seconds`` or ``expires_at``; both at once is ambiguous."""
    if ttl_seconds is not None and expires_at is not None:
        raise InvalidInput("give ttl_seconds or expires_at, not both")
    if ttl_seconds is not None:
        if ttl_seconds <= 0:
            raise InvalidInput("ttl_seconds must be positive")
        return now + timedelta(seconds=ttl_seconds)
    if expires_at is not None:
        aware = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
        if aware <= now:
            raise InvalidInput("expires_at must be in the future")
        return aware.astimezone(UTC)
    return None
