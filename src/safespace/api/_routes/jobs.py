"""``/v1/import-jobs``: asynchronous hash-list imports and their rejected lines (``curate``).

Jobs are submitted with ``POST /v1/banks/{name}/imports`` (in the banks router); each worker
process runs a :class:`~safespace.banks._jobs.JobRunner` thread that picks them up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from safespace.access import KeyInfo
from safespace.api._auth import require
from safespace.api._problems import PROBLEM_RESPONSES
from safespace.api._state import ServiceState
from safespace.banks._jobs import ImportJobs, JobInfo, JobRunner

__all__ = ["ImportRuntime", "import_runtime", "router"]

router = APIRouter(prefix="/v1/import-jobs", tags=["imports"], responses=PROBLEM_RESPONSES)
Curator = Annotated[KeyInfo, Depends(require("curate"))]
JobId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The job id.")]


@dataclass
class ImportRuntime:
    """This process's view of import jobs: the store and its worker thread."""

    jobs: ImportJobs
    runner: JobRunner

    @classmethod
    def build(cls, state: ServiceState) -> ImportRuntime:
        settings = state.settings
        jobs = ImportJobs(state.db, lease_seconds=settings.import_job_lease_seconds)

        def refresh(info: JobInfo) -> None:
            if info.status == "succeeded":
                state.matcher.refresh_now()

        runner = JobRunner(jobs, poll_seconds=settings.import_job_poll_seconds, on_done=refresh)
        return cls(jobs, runner)


def import_runtime(request: Request) -> ImportRuntime:
    runtime = request.app.state.import_jobs
    assert isinstance(runtime, ImportRuntime)
    return runtime


@router.get("", summary="Recent import jobs, newest first")
def list_jobs(
    request: Request,
    key: Curator,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    bank: str | None = None,
    status: Annotated[str | None, Query(description="queued, running, succeeded, failed")] = None,
) -> dict[str, Any]:
    jobs = import_runtime(request).jobs.list_jobs(limit=limit, bank=bank, status=status)
    return {"jobs": [j.to_dict() for j in jobs]}


@router.get("/{job_id}", summary="One import job: status, counts, timing")
def get_job(job_id: JobId, request: Request, key: Curator) -> dict[str, Any]:
    return import_runtime(request).jobs.get(job_id).to_dict()


@router.get("/{job_id}/rejects", summary="The lines an import job rejected, by line number")
def get_rejects(
    job_id: JobId,
    request: Request,
    key: Curator,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    runtime = import_runtime(request)
    job = runtime.jobs.get(job_id)
    stored, rejects = runtime.jobs.rejects(job_id, offset=offset, limit=limit)
    return {
        "job_id": job_id,
        "total": job.rejected,
        "stored": stored,
        "offset": offset,
        "limit": limit,
        "rejects": [{"line": r.line, "text": r.text, "reason": r.reason} for r in rejects],
    }
