"""Map domain errors and framework errors to RFC 9457 problem+json. Nothing echoes input."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from memory_service import errors

PROBLEM_JSON = "application/problem+json"
_log = structlog.get_logger("memory_service.http")

_DOMAIN: dict[type[errors.MemoryServiceError], tuple[int, str]] = {
    errors.InvalidInput: (422, "Invalid input"),
    errors.Unauthenticated: (401, "Unauthenticated"),
    errors.ScopeDenied: (403, "Forbidden"),
    errors.NotFound: (404, "Not found"),
    errors.VersionConflict: (412, "Precondition failed"),
    errors.Conflict: (409, "Conflict"),
    errors.IdempotencyConflict: (422, "Idempotency key reused"),
    errors.PolicyRejected: (422, "Rejected by policy"),
    errors.StoreUnavailable: (503, "Store unavailable"),
    errors.Overloaded: (503, "Not classified in time"),
    errors.RateLimited: (429, "Too many requests"),
}


def problem(
    status: int, title: str, detail: str = "", extra: dict[str, Any] | None = None
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra or {})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None  # noqa: PLR2004
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _domain_detail(exc: errors.MemoryServiceError) -> str:
    # Only InvalidInput carries a message we wrote for the caller; the rest stay generic so an
    # error never tells one scope about another.
    if isinstance(exc, errors.InvalidInput | errors.PolicyRejected | errors.RetryLater):
        return str(exc)
    if isinstance(exc, errors.ScopeDenied):
        return f"the key lacks {exc} on that scope" if str(exc) else "not permitted"
    return ""


def describe(exc: errors.MemoryServiceError) -> tuple[int, str, str]:
    """Status, title and a detail safe to show the caller (it never quotes content)."""
    for cls in type(exc).__mro__:
        if cls in _DOMAIN:
            status, title = _DOMAIN[cls]
            return status, title, _domain_detail(exc)
    return 500, "Internal error", ""


def handle_domain_error(
    _request: Request[Any, Any, Any], exc: errors.MemoryServiceError
) -> Response[dict[str, Any]]:
    status, title, detail = describe(exc)
    extra: dict[str, Any] = {}
    if isinstance(exc, errors.PolicyRejected):
        # API.md: a policy rejection is a 422 problem whose "status" reads "rejected".
        extra = {"status": "rejected", "findings": exc.findings}
    response = problem(status, title, detail, extra)
    if isinstance(exc, errors.RetryLater):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def handle_validation_error(
    _request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    # Litestar's extra may hold the offending value; keep only where and what, never the value.
    items = exc.extra if isinstance(exc.extra, list) else []
    fields = [
        {"field": item.get("key"), "message": item.get("message")}
        for item in items
        if isinstance(item, dict)
    ]
    malformed = "malformed" in (exc.detail or "").lower() or "decode" in (exc.detail or "").lower()
    if malformed:
        return problem(400, "Malformed request body", "the body is not valid JSON")
    return problem(
        422, "Invalid input", "the request does not match the schema", {"errors": fields}
    )


def handle_http_error(
    _request: Request[Any, Any, Any], exc: HTTPException
) -> Response[dict[str, Any]]:
    status = exc.status_code
    title = {404: "Not found", 405: "Method not allowed", 413: "Request body too large"}.get(
        status,
        "Bad request" if status < 500 else "Internal error",  # noqa: PLR2004
    )
    return problem(status, title)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # Log the type and route only: exception messages may quote submitted content.
    _log.error("unhandled_error", error_type=type(exc).__name__, path=request.scope.get("path"))
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "Internal error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    errors.MemoryServiceError: handle_domain_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_error,
    Exception: handle_unexpected,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "MediaType", "problem"]
