"""/v1/keys: permission keys:admin on any scope (keys are global objects)."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from memory_service.domain.grants import Grant, Permission
from memory_service.domain.models import ApiKeyRecord
from memory_service.domain.scopes import ScopePattern
from memory_service.errors import InvalidInput, ScopeDenied
from memory_service.http import schemas
from memory_service.http.auth import principal_of
from memory_service.http.controllers.memories import parse_id
from memory_service.http.requests import caller_of
from memory_service.services.keys import KeyService


def _require_keys_admin(request: Request[Any, Any, Any]) -> None:
    # A key admin can mint any grant, so only a grant on everything ("**") may hold keys:admin.
    principal = principal_of(request)
    if not any(
        g.pattern.is_everything and Permission.KEYS_ADMIN in g.permissions for g in principal.grants
    ):
        raise ScopeDenied(Permission.KEYS_ADMIN.value)


def _grants(items: list[schemas.GrantIn]) -> list[Grant]:
    grants = []
    for item in items:
        try:
            permissions = frozenset(Permission(p) for p in item.permissions)
        except ValueError:
            raise InvalidInput(
                "unknown permission; one of: " + ", ".join(p.value for p in Permission)
            ) from None
        grants.append(Grant(ScopePattern.parse(item.scope), permissions))
    return grants


def _key_out(record: ApiKeyRecord) -> schemas.KeyOut:
    return schemas.KeyOut(
        id=str(record.id),
        name=record.name,
        grants=[g.to_json() for g in record.grants],
        created_at=record.created_at,
        expires_at=record.expires_at,
        revoked_at=record.revoked_at,
    )


class KeyController(Controller):
    path = "/v1/keys"
    tags = ["keys"]  # noqa: RUF012 - Litestar reads this class attribute

    @post("/", status_code=201, summary="Issue a key; the secret is shown once")
    async def issue(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[schemas.CreateKey],
        keys: NamedDependency[KeyService],
    ) -> schemas.IssuedKeyOut:
        _require_keys_admin(request)
        issued = await anyio.to_thread.run_sync(
            partial(
                keys.issue, data.name, _grants(data.grants), data.expires_at, by=caller_of(request)
            )
        )
        return schemas.IssuedKeyOut(
            id=str(issued.record.id),
            key=issued.key,
            name=issued.record.name,
            grants=[g.to_json() for g in issued.record.grants],
            created_at=issued.record.created_at,
            expires_at=issued.record.expires_at,
        )

    @get("/", summary="List keys (never the secret)")
    async def list_keys(
        self, request: Request[Any, Any, Any], keys: NamedDependency[KeyService]
    ) -> schemas.KeyList:
        _require_keys_admin(request)
        records = await anyio.to_thread.run_sync(keys.list_keys)
        return schemas.KeyList(items=[_key_out(r) for r in records])

    @delete("/{key_id:str}", status_code=204, summary="Revoke a key at once")
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        key_id: FromPath[str],
        keys: NamedDependency[KeyService],
    ) -> None:
        _require_keys_admin(request)
        await anyio.to_thread.run_sync(
            partial(keys.revoke, parse_id(key_id), by=caller_of(request))
        )
