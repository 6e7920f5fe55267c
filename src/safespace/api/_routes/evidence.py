"""``POST`` and ``GET /v1/cases/{case_id}/evidence``: the platform preserves a confirmed file.

Scope ``curate``, like referrals: evidence is case data. A file is accepted only for a
confirmed review item (``review-<id>``, the ``case_id`` of the ``preserve_evidence``
webhook action) and is encrypted at once (:class:`~safespace.reports.EvidenceStore`).
Answers carry metadata only: there is no API path to the content; leads and admins open it
in the console, each opening audited.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from safespace.api._deps import CurateKey, Review
from safespace.api._problems import PROBLEM_RESPONSES
from safespace.api._runtimes import ReviewRuntime
from safespace.api._uploads import openapi_body, read_upload
from safespace.errors import Conflict, NotConfigured, NotFound
from safespace.reports._evidence import EvidenceInfo, EvidenceStore, list_items

__all__ = ["public_info", "review_item_id", "router"]

router = APIRouter(prefix="/v1", tags=["review"], responses=PROBLEM_RESPONSES)
CaseId = Annotated[str, PathParam(min_length=1, max_length=128)]
_CASE = re.compile(r"review-([1-9][0-9]{0,17})")


def review_item_id(case_id: str) -> int:
    """The review item behind a case id; NotFound for any other shape."""
    found = _CASE.fullmatch(case_id)
    if found is None:
        raise NotFound(f"no case {case_id[:128]!r}: case ids look like review-123")
    return int(found.group(1))


def public_info(info: EvidenceInfo) -> dict[str, Any]:
    """What a platform sees of an item: never the content, nor the legal hold's reason."""

    def iso(value: Any) -> Any:
        return None if value is None else value.isoformat().replace("+00:00", "Z")

    return {
        "id": info.id,
        "case_id": info.case_id,
        "sha256": info.sha256,
        "size": info.size,
        "media_type": info.media_type,
        "created_at": iso(info.created_at),
        "retain_until": iso(info.retain_until),
        "legal_hold": info.legal_hold,
        "purged_at": iso(info.purged_at),
    }


def _store(rt: ReviewRuntime) -> EvidenceStore:
    if rt.evidence is None:
        raise NotConfigured(
            "evidence storage is not configured: the operator must set SAFESPACE_EVIDENCE_KEY"
        )
    return rt.evidence


async def _confirmed(rt: ReviewRuntime, case_id: str) -> None:
    item = await run_in_threadpool(rt.queue.get, review_item_id(case_id))
    if item.status != "confirmed":
        raise Conflict(f"case {case_id} is {item.status}, not confirmed: no evidence is kept")


@router.post(
    "/cases/{case_id}/evidence",
    status_code=201,
    summary="Preserve the file of a confirmed case as encrypted evidence",
    openapi_extra=openapi_body(
        form={"media_type": "The file's media type, e.g. image/jpeg (default: unknown)."}
    ),
)
async def upload(request: Request, case_id: CaseId, rt: Review, key: CurateKey) -> JSONResponse:
    """Encrypt and keep the file for the retention period; 200 with the existing item when
    the same file (same SHA-256) is already kept for the case."""
    store = _store(rt)
    await _confirmed(rt, case_id)
    sent = await read_upload(request, allowed={"media_type"})
    media_type = (sent.get("media_type") or "application/octet-stream").strip().lower()
    digest = hashlib.sha256(sent.data).hexdigest()
    kept = await run_in_threadpool(list_items, rt.queue.db, case_id)
    for info in kept:
        if info.sha256 == digest and info.purged_at is None:
            return JSONResponse(public_info(info), status_code=200)
    info = await run_in_threadpool(store.store, case_id, sent.data, media_type, f"api-key:{key.id}")
    return JSONResponse(public_info(info), status_code=201)


@router.get("/cases/{case_id}/evidence", summary="Evidence kept for a case (metadata only)")
async def listing(case_id: CaseId, rt: Review, key: CurateKey) -> dict[str, Any]:
    """Every item stored for the case, purged ones included (with ``purged_at``)."""
    await run_in_threadpool(rt.queue.get, review_item_id(case_id))
    items = await run_in_threadpool(list_items, rt.queue.db, case_id)
    return {"case_id": case_id, "items": [public_info(i) for i in items]}
