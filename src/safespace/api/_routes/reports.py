"""``POST /v1/reports`` (a platform's user reports) and ``GET /v1/cases/{id}/referral``.

Both need the ``curate`` scope: a report puts content in front of reviewers, and a
referral is case data. The review thread (:class:`ReviewRuntime`) runs in every worker: it
turns new match events and self-reports into queue items, delivers due webhook actions and,
hourly, destroys evidence past its retention date (``EvidenceStore.purge_expired``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from safespace.access import KeyInfo, check_content_id
from safespace.api._auth import require
from safespace.api._problems import PROBLEM_RESPONSES
from safespace.api._state import ServiceState, get_state
from safespace.api._uploads import is_multipart, json_body, openapi_body, read_upload
from safespace.reports._evidence import EvidenceStore
from safespace.reports._queue import ReviewQueue, UserReport
from safespace.reports._referrals import Reporter
from safespace.reports._webhooks import HttpPost, httpx_post
from safespace.signals import hash_bytes

__all__ = ["EVIDENCE_PURGE_SECONDS", "ReviewRuntime", "router"]

router = APIRouter(prefix="/v1", tags=["review"], responses=PROBLEM_RESPONSES)
log = logging.getLogger(__name__)
EVIDENCE_PURGE_SECONDS = 3600.0


class ReportRequest(BaseModel):
    """A user report without a file: the content id and the reporter's reason."""

    model_config = ConfigDict(extra="forbid", strict=True)

    content_id: str = Field(min_length=1, max_length=256)
    reason: str = Field(min_length=1, max_length=2000)
    account_id: str | None = Field(default=None, min_length=1, max_length=256)
    urls: list[str] = Field(default_factory=list, max_length=20)


@dataclass
class ReviewRuntime:
    """The queue and its background thread (feeds, webhook delivery, evidence expiry).

    ``evidence`` is None when no ``SAFESPACE_EVIDENCE_KEY`` is set; a key that is set but
    unusable, or review media kept without a key, stops the app at start-up.
    """

    queue: ReviewQueue
    interval: float
    post: HttpPost | None = None
    evidence: EvidenceStore | None = None
    purge_seconds: float = EVIDENCE_PURGE_SECONDS
    _next_purge: float = 0.0
    _stop: threading.Event | None = None
    _thread: threading.Thread | None = None

    @classmethod
    def build(cls, state: ServiceState) -> ReviewRuntime:
        settings = state.settings
        queue = ReviewQueue.from_settings(state.db, settings)
        evidence = None
        if settings.evidence_key is not None:
            evidence = EvidenceStore.from_settings(state.db, settings)
        return cls(queue, settings.review_poll_seconds, evidence=evidence)

    def purge_due(self, *, force: bool = False) -> list[str]:
        """Destroy expired evidence not on hold, at most every ``purge_seconds`` unless forced."""
        if self.evidence is None:
            return []
        now = time.monotonic()
        if not force and now < self._next_purge:
            return []
        self._next_purge = now + self.purge_seconds
        purged = self.evidence.purge_expired()
        if purged:
            log.info("evidence purge: %d expired item(s) destroyed", len(purged))
        return purged

    def run_once(self) -> None:
        try:  # expiry is a legal duty: a failing feed or delivery must not hold it up
            self.purge_due()
        except Exception:
            log.exception("evidence purge")
        self.queue.sync()
        if self.post is None:
            self.post = httpx_post()
        self.queue.webhooks.deliver_due(self.post)

    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # a database hiccup must not end the thread
                log.exception("review queue thread")
            stop.wait(self.interval)

    def start(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, args=(self._stop,), name="safespace-review", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._stop is not None and self._thread is not None:
            self._stop.set()
            self._thread.join(10)


def runtime(request: Request) -> ReviewRuntime:
    found = request.app.state.review
    assert isinstance(found, ReviewRuntime)
    return found


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
    request: Request, response: Response, key: Annotated[KeyInfo, Depends(require("curate"))]
) -> dict[str, Any]:
    """Queue the content for review; an upload is hashed and matched (kept only if the
    operator stores review media)."""
    state = get_state(request)
    queue = runtime(request).queue
    if is_multipart(request):
        upload = await read_upload(request, allowed={"content_id", "reason", "account_id"})
        content_id = check_content_id(upload.get("content_id") or "")
        account_id = (upload.get("account_id") or "").strip()[:256] or None
        signals = await run_in_threadpool(hash_bytes, upload.data, limits=state.limits)
        matcher = state.matcher.matcher
        result = await run_in_threadpool(matcher.match, signals)
        hashes = {k: v for k in ("pdq", "md5", "sha256") if (v := getattr(signals, k, None))}
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
    request: Request,
    item_id: Annotated[int, PathParam(ge=1, le=2**63 - 1)],
    key: Annotated[KeyInfo, Depends(require("curate"))],
    fmt: Annotated[Literal["xml", "json"], Query(alias="format")] = "xml",
) -> Response:
    """CyberTipline XML (validated against NCMEC's schema) or the generic JSON referral."""
    state = get_state(request)
    reporter = Reporter.from_settings(state.settings)
    body, media_type = await run_in_threadpool(
        runtime(request).queue.export_referral, item_id, fmt, f"api-key:{key.id}", reporter
    )
    name = f"referral-review-{item_id}.{fmt}"
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
