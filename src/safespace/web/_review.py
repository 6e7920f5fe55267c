"""The review console: ``/console/queue`` and ``/console/items/{id}``.

Reviewer protection by default: the hash match and metadata come first; stored media is
sent to the page but shown blurred and in greyscale, revealed on a click (counted, audited,
CSRF-checked POST) and blurred again when the pointer leaves or after a few seconds.
Pages, forms, CSRF and errors are the console's own (:mod:`safespace.web._console`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from safespace.accounts import SessionInfo, role_allows, tokens_match
from safespace.errors import InvalidInput
from safespace.exchanges._flood import FloodGuard, FloodPolicy, quarantine_of
from safespace.exchanges._opinions import opinions_of_item
from safespace.reports._exposure import ExposureCounter
from safespace.reports._queue import CATEGORIES, ReviewQueue
from safespace.reports._referrals import Reporter
from safespace.web._console import (
    _SECURITY_HEADERS,
    ConsoleRoute,
    CsrfField,
    _check_post,
    _redirect,
    _render,
    _same_origin,
    _signed_in,
)
from safespace.web._evidence import evidence_panel

__all__ = ["router"]

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
ItemId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
REVEAL_SECONDS = 4


def _queue(request: Request) -> ReviewQueue:
    queue = request.app.state.review.queue
    assert isinstance(queue, ReviewQueue)
    return queue


def _exposure(request: Request) -> ExposureCounter:
    settings = request.app.state.safespace.settings
    queue = _queue(request)
    return ExposureCounter(queue.db, settings.review_reveal_soft_cap, clock=queue.clock)


def _actor(session: SessionInfo) -> str:
    return session.user.name


QUEUE_PAGE_SIZE = 100


def _page_number(text: str | None) -> int:
    """``?page=N`` (from 1); anything else is page 1, as a mistyped link should be."""
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 6:
        return 1
    return max(1, int(text))


@router.get("/queue")
async def queue_page(request: Request) -> Response:
    session = _signed_in(request)
    queue = _queue(request)
    await run_in_threadpool(queue.sync)
    page = _page_number(request.query_params.get("page"))
    waiting = await run_in_threadpool(queue.count_items, open_only=True)
    pages = max(1, -(-waiting // QUEUE_PAGE_SIZE))
    page = min(page, pages)
    items = await run_in_threadpool(
        queue.list_items,
        open_only=True,
        limit=QUEUE_PAGE_SIZE,
        offset=(page - 1) * QUEUE_PAGE_SIZE,
    )
    decided = await run_in_threadpool(queue.list_items, open_only=False, limit=25)
    return _render(
        request,
        "review/queue.html",
        session=session,
        title="Review queue",
        section="queue",
        items=items,
        waiting=waiting,
        page=page,
        pages=pages,
        first=(page - 1) * QUEUE_PAGE_SIZE + 1,
        decided=decided,
        now=queue.clock(),
        notice=request.query_params.get("notice", "")[:200],
    )


@router.post("/queue/next")
def claim_next(request: Request, csrf_token: CsrfField = None) -> Response:
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    item = _queue(request).claim_next(_actor(session), session.user.role)
    if item is None:
        return _redirect("/console/queue?notice=Nothing+to+claim")
    return _redirect(f"/console/items/{item.id}")


@router.get("/items/{item_id}")
def item_page(request: Request, item_id: ItemId) -> Response:
    return _item_response(request, _signed_in(request), item_id)


def _item_response(
    request: Request,
    session: SessionInfo,
    item_id: int,
    *,
    status_code: int = 200,
    form_error: str = "",
    typed: dict[str, str] | None = None,
) -> Response:
    """The item page; after a refused decision, with the error and what was typed kept."""
    queue = _queue(request)
    item = queue.get(item_id)
    actions = []
    for action_id in queue.action_ids(item_id):
        actions.append((queue.webhooks.get(action_id), queue.webhooks.attempts(action_id)))
    exposure = _exposure(request)
    now = queue.clock()
    response = _render(
        request,
        "review/item.html",
        session=session,
        title=f"Review item {item.id}",
        section="queue",
        item=item,
        holder=item.claimed(now),
        mine=item.claimed(now) == _actor(session),
        decisions=queue.decisions(item_id),
        opinions=opinions_of_item(queue.db, item_id),
        quarantine=quarantine_of(queue.db, item.entry_id),
        may_release=role_allows(session.user.role, "lead"),
        case=queue.case(item_id),
        actions=actions,
        categories=CATEGORIES,
        reveals=exposure.count_today(_actor(session)),
        cap=exposure.cap,
        reveal_seconds=REVEAL_SECONDS,
        second_look=queue.policy.second_look,
        evidence=evidence_panel(request, session, item),
        referral_ready=bool(request.app.state.safespace.settings.reporter_email.strip()),
        form_error=form_error,
        typed={"decision": "", "category": "", "reason": "", **(typed or {})},
    )
    response.status_code = status_code
    # The reveal script POSTs with fetch, and videos load as media: same origin only.
    csp = _SECURITY_HEADERS["Content-Security-Policy"]
    response.headers["Content-Security-Policy"] = f"{csp}; connect-src 'self'; media-src 'self'"
    return response


@router.post("/items/{item_id}/claim")
def claim(request: Request, item_id: ItemId, csrf_token: CsrfField = None) -> Response:
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    _queue(request).claim(item_id, _actor(session), session.user.role)
    return _redirect(f"/console/items/{item_id}")


@router.post("/items/{item_id}/release")
def release(request: Request, item_id: ItemId, csrf_token: CsrfField = None) -> Response:
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    _queue(request).release(item_id, _actor(session))
    return _redirect("/console/queue")


@router.post("/items/{item_id}/decide")
def decide(
    request: Request,
    item_id: ItemId,
    decision: Annotated[str, Form(max_length=32)],
    reason: Annotated[str, Form(max_length=4000)] = "",
    category: Annotated[str, Form(max_length=8)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    try:
        _queue(request).decide(
            item_id, _actor(session), session.user.role, decision, reason, category or None
        )
    except InvalidInput as exc:  # say what to fix on the same page, keeping what was typed
        typed = {"decision": decision, "category": category, "reason": reason}
        return _item_response(
            request, session, item_id, status_code=400, form_error=exc.message, typed=typed
        )
    return _redirect(f"/console/items/{item_id}")


@router.post("/items/{item_id}/release-entry")
def release_entry(request: Request, item_id: ItemId, csrf_token: CsrfField = None) -> Response:
    """A lead lets the item's quarantined entry match again (the flood guard's release)."""
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    queue = _queue(request)
    item = queue.get(item_id)
    if item.entry_id is None:
        raise InvalidInput(f"item {item_id} matched no bank entry")
    FloodGuard(queue.db, FloodPolicy()).release(item.entry_id, _actor(session), session.user.role)
    return _redirect(f"/console/items/{item_id}")


@router.get("/items/{item_id}/media")
def media(request: Request, item_id: ItemId) -> Response:
    """The stored file, for the blurred view only: never cached, never framed."""
    _signed_in(request)
    found = _queue(request).media(item_id)
    if found is None:
        return Response(status_code=404, headers=_SECURITY_HEADERS)
    media_type, data = found
    headers = {**_SECURITY_HEADERS, "Content-Disposition": "inline"}
    return Response(data, media_type=media_type, headers=headers)


@router.post("/items/{item_id}/reveal")
def reveal(
    request: Request,
    item_id: ItemId,
    confirmed: Annotated[str, Form(max_length=8)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    """Count one reveal (JSON for the page's script); over the cap, 409 until confirmed."""
    session = _signed_in(request)
    if not _same_origin(request) or not tokens_match(session.csrf_token, csrf_token):
        return JSONResponse({"error": "form refused"}, status_code=403, headers=_SECURITY_HEADERS)
    queue = _queue(request)
    if queue.media(item_id) is None:
        return JSONResponse({"error": "no media"}, status_code=404, headers=_SECURITY_HEADERS)
    result = _exposure(request).reveal(_actor(session), item_id, confirmed=confirmed == "yes")
    status = 200 if result.allowed else 409
    return JSONResponse(result.to_dict(), status_code=status, headers=_SECURITY_HEADERS)


@router.get("/items/{item_id}/referral")
def referral(request: Request, item_id: ItemId, format: str = "xml") -> Response:
    session = _signed_in(request)
    reporter = Reporter.from_settings(request.app.state.safespace.settings)
    body, media_type = _queue(request).export_referral(
        item_id, format, f"user:{_actor(session)}", reporter
    )
    headers = {
        **_SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="referral-review-{item_id}.{format}"',
    }
    return Response(body, media_type=media_type, headers=headers)
