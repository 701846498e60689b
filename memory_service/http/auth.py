"""Key authentication for every /v1 route, before the body is even parsed.

``Authorization: Bearer <key>`` is our scheme; ``Token <key>`` is accepted too because mem0's
``MemoryClient`` sends that. Both carry the same key and are checked the same way.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from memory_service import errors
from memory_service.domain.grants import Permission, Principal
from memory_service.http.blocking import blocking_calls
from memory_service.services.keys import KeyService

KEY_SERVICE_STATE = "key_service"


_SCHEMES = frozenset({"bearer", "token"})


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in _SCHEMES or not token.strip():
        return None
    return token.strip()


class KeyAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        keys: KeyService = connection.app.state[KEY_SERVICE_STATE]
        token = bearer_token(connection.headers.get("authorization"))
        try:
            principal = await blocking_calls(connection).short(lambda: keys.authenticate(token))
        except errors.Unauthenticated as exc:
            raise NotAuthorizedException from exc
        return AuthenticationResult(user=principal, auth=None)


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise errors.Unauthenticated
    return user


def require_somewhere(
    connection: ASGIConnection[Any, Any, Any, Any], permission: Permission
) -> None:
    """403 unless the key holds ``permission`` on some scope (the service narrows further)."""
    if not principal_of(connection).can_anywhere(permission):
        raise errors.ScopeDenied(permission.value)
