"""/v1/jobs: the scheduled jobs, running one now, and the run log (policy:admin on ``**``)."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from memory_service.domain.grants import Permission
from memory_service.errors import ScopeDenied
from memory_service.http import schemas
from memory_service.http.auth import principal_of
from memory_service.services.jobs import JobService
from retention.runs import JobRun


def _require_global_admin(request: Request[Any, Any, Any]) -> None:
    # Jobs act on every scope at once, so only an administrator of everything runs them.
    if not any(
        p.is_everything for p in principal_of(request).patterns_for(Permission.POLICY_ADMIN)
    ):
        raise ScopeDenied(Permission.POLICY_ADMIN.value)


def run_out(run: JobRun) -> schemas.JobRunOut:
    return schemas.JobRunOut(
        id=str(run.id),
        job=run.job,
        holder=run.holder,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        counts=run.counts,
        error=run.error,
    )


class JobController(Controller):
    path = "/v1/jobs"
    tags = ["jobs"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/", summary="Jobs: schedule, next run, last run")
    async def list_jobs(
        self, request: Request[Any, Any, Any], jobs: NamedDependency[JobService]
    ) -> schemas.JobList:
        _require_global_admin(request)
        found = await anyio.to_thread.run_sync(jobs.jobs)
        return schemas.JobList(
            items=[
                schemas.JobOut(
                    name=j.name,
                    schedule=j.schedule,
                    next_run=j.next_run,
                    last_run=run_out(j.last_run) if j.last_run else None,
                )
                for j in found
            ]
        )

    @get("/runs", summary="Recorded runs, newest first")
    async def list_runs(
        self,
        request: Request[Any, Any, Any],
        jobs: NamedDependency[JobService],
        name: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> schemas.JobRunList:
        _require_global_admin(request)
        found = await anyio.to_thread.run_sync(jobs.runs, name, limit)
        return schemas.JobRunList(items=[run_out(r) for r in found])

    @post("/{name:str}/run", status_code=200, summary="Run a job now; returns its run record")
    async def run_now(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        jobs: NamedDependency[JobService],
    ) -> schemas.JobRunOut:
        _require_global_admin(request)
        return run_out(await anyio.to_thread.run_sync(jobs.run_now, name))
