"""/v1/policies: classification policy per scope pattern (permission policy:admin)."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from memory_service.domain.grants import Permission
from memory_service.domain.models import PolicyRecord
from memory_service.http import schemas
from memory_service.http.auth import principal_of, require_somewhere
from memory_service.http.requests import caller_of
from memory_service.services.policies import PolicyService


def _out(record: PolicyRecord) -> schemas.PolicyOut:
    return schemas.PolicyOut(
        name=record.name,
        scope=record.scope,
        secret=record.secret,
        pii=record.pii,
        injection=record.injection,
        pii_types=record.pii_types,
        min_score=record.min_score,
        updated_at=record.updated_at,
        updated_by=record.updated_by,
        two_person_release=record.two_person_release,
        hold_unclassified=record.hold_unclassified,
    )


class PolicyController(Controller):
    path = "/v1/policies"
    tags = ["policies"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/", summary="Classification policies the key administers")
    async def list_policies(
        self, request: Request[Any, Any, Any], policies: NamedDependency[PolicyService]
    ) -> schemas.PolicyList:
        require_somewhere(request, Permission.POLICY_ADMIN)
        records = await anyio.to_thread.run_sync(policies.list_for, principal_of(request))
        return schemas.PolicyList(items=[_out(r) for r in records])

    @put("/{name:str}", status_code=200, summary="Create or replace a policy")
    async def put_policy(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        data: JSONBody[schemas.PutPolicy],
        policies: NamedDependency[PolicyService],
    ) -> schemas.PolicyOut:
        require_somewhere(request, Permission.POLICY_ADMIN)
        record = await anyio.to_thread.run_sync(
            partial(
                policies.put,
                caller_of(request),
                name,
                scope=data.scope,
                secret=data.secret,
                pii=data.pii,
                injection=data.injection,
                pii_types=dict(data.pii_types or {}),
                min_score=data.min_score if data.min_score is not None else 0.0,
                two_person_release=data.two_person_release,
                hold_unclassified=data.hold_unclassified,
            )
        )
        return _out(record)

    @delete("/{name:str}", status_code=204, summary="Delete a policy")
    async def delete_policy(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        policies: NamedDependency[PolicyService],
    ) -> None:
        require_somewhere(request, Permission.POLICY_ADMIN)
        await anyio.to_thread.run_sync(policies.delete, caller_of(request), name)
