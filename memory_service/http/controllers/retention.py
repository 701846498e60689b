"""/v1/retention/policies: how long memories, quarantine items and the trash are kept."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from memory_service.domain.grants import Permission
from memory_service.http import schemas
from memory_service.http.auth import principal_of, require_somewhere
from memory_service.http.requests import caller_of
from memory_service.services.retention import RetentionPolicies
from retention.policies import RetentionPolicy


def _out(policy: RetentionPolicy) -> schemas.RetentionPolicyOut:
    return schemas.RetentionPolicyOut(
        name=policy.name,
        scope=policy.scope,
        applies_to=policy.applies_to,
        max_age_seconds=None if policy.max_age is None else int(policy.max_age.total_seconds()),
    )


class RetentionPolicyController(Controller):
    path = "/v1/retention/policies"
    tags = ["retention"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/", summary="Retention policies the key administers")
    async def list_policies(
        self,
        request: Request[Any, Any, Any],
        retention_policies: NamedDependency[RetentionPolicies],
    ) -> schemas.RetentionPolicyList:
        require_somewhere(request, Permission.POLICY_ADMIN)
        found = await anyio.to_thread.run_sync(retention_policies.list_for, principal_of(request))
        return schemas.RetentionPolicyList(items=[_out(p) for p in found])

    @put("/{name:str}", status_code=200, summary="Create or replace a retention policy")
    async def put_policy(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        data: JSONBody[schemas.PutRetentionPolicy],
        retention_policies: NamedDependency[RetentionPolicies],
    ) -> schemas.RetentionPolicyOut:
        require_somewhere(request, Permission.POLICY_ADMIN)
        policy = await anyio.to_thread.run_sync(
            partial(
                retention_policies.put,
                caller_of(request),
                name,
                scope=data.scope,
                max_age_seconds=data.max_age_seconds,
                applies_to=data.applies_to,
            )
        )
        return _out(policy)

    @delete("/{name:str}", status_code=204, summary="Delete a retention policy")
    async def delete_policy(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        retention_policies: NamedDependency[RetentionPolicies],
    ) -> None:
        require_somewhere(request, Permission.POLICY_ADMIN)
        await anyio.to_thread.run_sync(retention_policies.delete, caller_of(request), name)
