"""A refusal to retry is a 503 (not classified in time) or a 429 (too many waiting), each with
``Retry-After`` and our own message, never the request's content."""

from __future__ import annotations

from typing import Any

import pytest

from memory_service import errors
from memory_service.http.problems import handle_domain_error


@pytest.mark.parametrize(
    ("error", "status"),
    [(errors.Overloaded("not classified in time", 5), 503), (errors.RateLimited("wait", 3), 429)],
)
def test_a_retryable_refusal_says_when_to_retry(error: errors.RetryLater, status: int) -> None:
    response = handle_domain_error(None, error)  # type: ignore[arg-type]
    assert response.status_code == status
    assert response.headers["Retry-After"] == str(error.retry_after)
    body: dict[str, Any] = response.content
    assert body["detail"] == str(error)
    assert body["status"] == status
