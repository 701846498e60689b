"""Errors the API answers with, as exceptions (problem+json, RFC 9457)."""

from __future__ import annotations

from typing import Any

import msgspec


class ApiError(Exception):
    """A 4xx/5xx answer. ``title``/``detail`` come from the server's problem document."""

    def __init__(self, status: int, title: str, detail: str, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")
        self.status = status
        self.title = title
        self.detail = detail
        self.body = body


class Unauthorized(ApiError):
    """401: missing, unknown, revoked or expired key."""


class Forbidden(ApiError):
    """403: the key lacks the permission on that scope."""


class NotFound(ApiError):
    """404: no such id in the scopes the key can read (another scope's id looks the same)."""


class Conflict(ApiError):
    """409: the state changed (e.g. a quarantine item was already decided)."""


class PreconditionFailed(ApiError):
    """412: ``If-Match`` named a version that is no longer the latest."""


class RejectedByPolicy(ApiError):
    """422 with ``status: rejected``: the scope's policy refuses this content."""

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list(self.body.get("findings") or [])


class InvalidRequest(ApiError):
    """Any other 4xx: the request was malformed; nothing changed."""


class ServiceUnavailable(ApiError):
    """5xx: the service could not serve (e.g. a store is down); nothing was acknowledged."""


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
}
_SERVER_ERROR = 500
_UNPROCESSABLE = 422


def error_for(status: int, content: bytes) -> ApiError:
    try:
        body = msgspec.json.decode(content) if content else {}
    except msgspec.DecodeError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    title = str(body.get("title") or "error")
    detail = str(body.get("detail") or "")
    cls = _BY_STATUS.get(status)
    if cls is None:
        if status == _UNPROCESSABLE and body.get("status") == "rejected":
            cls = RejectedByPolicy
        elif status >= _SERVER_ERROR:
            cls = ServiceUnavailable
        else:
            cls = InvalidRequest
    return cls(status, title, detail, body)
