"""Connection options both clients share."""

from __future__ import annotations

from typing import Any

USER_AGENT = "memory-service-client/1"


def client_options(base_url: str, api_key: str, timeout: float) -> dict[str, Any]:
    if not api_key.strip():
        raise ValueError("api_key is required")
    return {
        "base_url": base_url.rstrip("/"),
        "headers": {"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT},
        "timeout": timeout,
        # A memory service never redirects; following one could send the key elsewhere.
        "follow_redirects": False,
    }
