"""``POST /v1/reports`` (a platform's user reports), ``GET /v1/cases/{id}/referral`` and
``GET /v1/cases/{id}/opinions`` (what the decision told the bank sources).

All need the ``curate`` scope: a report puts content in front of reviewers, and a
referral is case data. The review thread (:class:`~safespace.api._runtimes.ReviewRuntime`)
runs in every worker: it turns new match events and self-reports into queue items, delivers
due webhook actions and, hourly, destroys evidence past its retention date
(``EvidenceStore.purge_expired``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from safespace.access import check_content_id
from safespace.api._deps import CurateKey, Review, State
from safespace.api._problems import PROBLEM_RESPONSES
from safespace.api._uploads import is_multipart, json_body, openapi_body, read_upload
from safespace.exchanges._opinions import opinions_of_item
from safespace.reports._queue import UserReport
from safespace.reports._referrals import Reporter
from safespace.signals import SIGNAL_TYPES, hash_bytes

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["review"], responses=PROBLEM_RESPONSES)


class ReportRequest(BaseModel):
    """A user report without a file: the content id and the reporter's reason."""

    model_config = ConfigDict(extra="forbid", strict=True)

    content_id: str = Field(min_length=1, max_length=256)
    reason: str = Field(min_length=1, max_length=2000)
    account_id: str | None = Field(default=None, min_length=1, max_length=256)
    urls: list[str] = Field(default_factory=list, max_length=20)


def _media_type(fmt: str | None, kind: str) -> str:
    if kind == "video":
        return "video/mp4" if (fmt or "").upper() in ("MP4", "MOV") else "video/octet-stream"
    return f"image/{(fmt or 'octet-stream').lower()}"


@router.post(
    "/reports",
    status_code=201,
    summary="Report content for review (a platform's user report)",
    openapi_extra=openapi_body(
        json_model=ReportRequest,
        form={
            "content_id": "Your reference for the content (required).",
            "reason": "The reporting user's reason (required).",
            "account_id": "The account that shared the content, if known.",
        },
    ),
)
async def report(
    request: Request, response: Response, state: State, review: Review, key: CurateKey
) -> dict[str, Any]:
    """Queue the content for review; an upload is hashed and matched (kept only if the
    operator stores review media)."""
    queue = review.queue
    if is_multipart(request):
        upload = await read_upload(request, allowed={"content_id", "reason", "account_id"})
        content_id = check_content_id(upload.get("content_id") or "")
        account_id = (upload.get("account_id") or "").strip()[:256] or None
        signals = await run_in_threadpool(hash_bytes, upload.data, limits=state.limits)
        matcher = state.matcher.matcher
        result = await run_in_threadpool(matcher.match, signals)
        hashes = {k.name: v for k in SIGNAL_TYPES.values() if (v := k.compute(signals))}
        new = UserReport(
            content_id=content_id,
            reason=upload.get("reason") or "",
            account_id=account_id,
            hashes=hashes,
            matches=result.matches,
            media=upload.data,
            media_type=_media_type(signals.media_format, signals.media_kind),
        )
    else:
        body = await json_body(request, ReportRequest)
        new = UserReport(
            content_id=check_content_id(body.content_id),
            reason=body.reason,
            account_id=body.account_id,
            urls=tuple(body.urls),
        )
    item, created = await run_in_threadpool(queue.report, new)
    if not created:
        response.status_code = 200
    return {
        "item_id": item.id,
        "new": created,
        "status": item.status,
        "priority": item.priority,
        "reports": item.reports,
        "matched": item.bank is not None,
        "media_stored": item.media_type is not None,
    }


@router.get(
    "/cases/{item_id}/referral",
    summary="The hotline referral of a confirmed review item",
    response_class=Response,
)
async def referral(
    item_id: Annotated[int, PathParam(ge=1, le=2**63 - 1)],
    state: State,
    review: Review,
    key: CurateKey,
    fmt: Annotated[Literal["xml", "json"], Query(alias="format")] = "xml",
) -> Response:
    """CyberTipline XML (validated against NCMEC's schema) or the generic JSON referral."""
    reporter = Reporter.from_settings(state.settings)
    body, media_type = await run_in_threadpool(
        review.queue.export_referral, item_id, fmt, f"api-key:{key.id}", reporter
    )
    name = f"referral-review-{item_id}.{fmt}"
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/cases/{item_id}/opinions",
    summary="The opinions a review item's decision sent to bank sources, and how each went",
)
async def opinions(
    item_id: Annotated[int, PathParam(ge=1, le=2**63 - 1)],
    state: State,
    review: Review,
    key: CurateKey,
) -> dict[str, Any]:
    """One row per source that listed the matched entry: verdict, status (``pending``,
    ``sent``, ``rejected``), attempts, last error, next attempt, when sent."""
    item = await run_in_threadpool(review.queue.get, item_id)  # 404 for an unknown item
    found = await run_in_threadpool(opinions_of_item, state.db, item_id)
    return {
        "item": item.id,
        "status": item.status,
        "decision": item.decision,
        "opinions": [o.to_dict() for o in found],
    }
