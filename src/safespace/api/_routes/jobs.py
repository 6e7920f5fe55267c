"""``/v1/import-jobs``: asynchronous hash-list imports and their rejected lines (``curate``).

Jobs are submitted with ``POST /v1/banks/{name}/imports`` (in the banks router); each worker
process runs a :class:`~safespace.banks._jobs.JobRunner` thread that picks them up (see
:class:`~safespace.api._runtimes.ImportRuntime`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from safespace.api._deps import CurateKey, Imports
from safespace.api._problems import PROBLEM_RESPONSES

__all__ = ["router"]

router = APIRouter(prefix="/v1/import-jobs", tags=["imports"], responses=PROBLEM_RESPONSES)
JobId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The job id.")]


@router.get("", summary="Recent import jobs, newest first")
def list_jobs(
    runtime: Imports,
    key: CurateKey,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    bank: str | None = None,
    status: Annotated[str | None, Query(description="queued, running, succeeded, failed")] = None,
) -> dict[str, Any]:
    jobs = runtime.jobs.list_jobs(limit=limit, bank=bank, status=status)
    return {"jobs": [j.to_dict() for j in jobs]}


@router.get("/{job_id}", summary="One import job: status, counts, timing")
def get_job(job_id: JobId, runtime: Imports, key: CurateKey) -> dict[str, Any]:
    return runtime.jobs.get(job_id).to_dict()


@router.get("/{job_id}/rejects", summary="The lines an import job rejected, by line number")
def get_rejects(
    job_id: JobId,
    runtime: Imports,
    key: CurateKey,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
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
