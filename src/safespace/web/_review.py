"""The review console: ``/console/queue`` and ``/console/items/{id}``.

Reviewer protection by default: the hash match and metadata come first; stored media is
sent to the page but shown blurred and in greyscale, revealed on a click (counted, audited,
CSRF-checked POST) and blurred again when the pointer leaves or after a few seconds.
Pages, forms, CSRF and errors are the console's own (:mod:`safespace.web._console`).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from safespace.accounts import SessionInfo, role_allows, tokens_match
from safespace.errors import InvalidInput, NotFound
from safespace.exchanges._flood import FloodGuard, FloodPolicy, quarantine_of
from safespace.exchanges._opinions import opinions_of_item
from safespace.reports._exposure import ExposureCounter
from safespace.reports._item_context import (
    MAX_NOTE,
    add_note,
    entry_provenance,
    item_history,
    item_neighbours,
)
from safespace.reports._queue import (
    BULK_ACTIONS,
    CATEGORIES,
    QUEUE_SORTS,
    QueueFilter,
    ReviewQueue,
    adjacent_items,
    bulk_action,
    claim_next_filtered,
    count_filtered,
    filter_choices,
    item_stamp,
    list_filtered,
    parse_selection,
    view_counts,
)
from safespace.reports._queue_feeds import OPEN_STATUSES
from safespace.reports._referrals import Reporter
from safespace.reports._text_excerpts import item_excerpts
from safespace.store._models_queue import ITEM_SOURCES
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
from safespace.web._wellbeing import review_context, skip_categories

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
    flt = QueueFilter.from_query(request.query_params)  # InvalidInput: the 400 page
    if not flt.active:  # the default view leaves out the categories the reviewer opted out of
        skip = await run_in_threadpool(skip_categories, request, session)
        flt_shown = replace(flt, skip_categories=skip)
    else:
        flt_shown = flt
    await run_in_threadpool(queue.sync)
    page = _page_number(request.query_params.get("page"))
    waiting = await run_in_threadpool(count_filtered, queue, flt_shown)
    pages = max(1, -(-waiting // QUEUE_PAGE_SIZE))
    page = min(page, pages)
    items = await run_in_threadpool(
        list_filtered, queue, flt_shown, limit=QUEUE_PAGE_SIZE, offset=(page - 1) * QUEUE_PAGE_SIZE
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
        flt=flt,
        filter_query=flt.query(),
        view=_view_of(flt),
        views=await run_in_threadpool(view_counts, queue),
        choices=await run_in_threadpool(filter_choices, queue),
        sources=ITEM_SOURCES,
        statuses=OPEN_STATUSES,
        sorts=QUEUE_SORTS,
        stamps={i.id: item_stamp(i) for i in items},
        may_bulk_fp=role_allows(session.user.role, "lead"),
        presets=_presets(request),
        **await run_in_threadpool(review_context, request, session),
    )


def _view_of(flt: QueueFilter) -> str:
    """Which of the queue's tabs the filter is: escalations, retro-matches, or all."""
    if flt == QueueFilter(status="escalated", sort=flt.sort):
        return "escalations"
    if flt == QueueFilter(source="retro", sort=flt.sort):
        return "retro"
    return "" if flt.active else "all"


def _presets(request: Request) -> list[str]:
    reasons: list[str] = request.app.state.safespace.settings.review_reasons()
    return reasons


def _with_filter(url: str, filter_query: str) -> str:
    """``url`` carrying the queue filter (checked again: it may come from a form)."""
    query = QueueFilter.from_query_string(filter_query).query() if filter_query else ""
    return f"{url}?filter={quote(query, safe='')}" if query else url


FilterField = Annotated[str, Form(max_length=2000)]


@router.post("/queue/next")
def claim_next(
    request: Request, csrf_token: CsrfField = None, filter: FilterField = ""
) -> Response:
    """Claim the most urgent free item, within the queue page's filter when one is sent."""
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    return _claim_next_response(request, session, filter)


def _claim_next_response(request: Request, session: SessionInfo, filter_query: str) -> Response:
    flt = QueueFilter.from_query_string(filter_query)
    skip = skip_categories(request, session)  # never hand a reviewer what they opted out of
    item = claim_next_filtered(
        _queue(request), flt, _actor(session), session.user.role, skip_categories=skip
    )
    if item is None:
        back = f"/console/queue?{flt.query(notice='Nothing to claim')}"
        return _redirect(back)
    return _redirect(_with_filter(f"/console/items/{item.id}", flt.query()))


@router.post("/queue/bulk")
def bulk(
    request: Request,
    action: Annotated[str, Form(max_length=32)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
    preset: Annotated[str, Form(max_length=400)] = "",
    items: Annotated[list[str], Form(max_length=600)] = [],  # noqa: B006 (FastAPI copies it)
    confirmed: Annotated[str, Form(max_length=8)] = "",
    filter: FilterField = "",
    csrf_token: CsrfField = None,
) -> Response:
    """Bulk false positive (leads) or release of the rows ticked on the queue page: first a
    page that lists them and asks to confirm, then the action, then what was done."""
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    if action not in BULK_ACTIONS:
        raise InvalidInput(f"choose what to do with the selected items: {', '.join(BULK_ACTIONS)}")
    selected = parse_selection(items)
    reason = reason.strip() or (preset if preset in _presets(request) else "")
    flt = QueueFilter.from_query_string(filter)
    if confirmed != "yes":
        queue = _queue(request)
        rows = []
        for item_id in sorted(selected):
            with suppress(NotFound):  # gone: the action reports it as skipped
                rows.append(queue.get(item_id))
        return _render(
            request,
            "review/bulk.html",
            session=session,
            title="Confirm a bulk action",
            section="queue",
            action=action,
            rows=rows,
            selection=[f"{i}:{s}" for i, s in sorted(selected.items())],
            reason=reason,
            filter_query=flt.query(),
            now=queue.clock(),
        )
    result = bulk_action(
        _queue(request), action, selected, _actor(session), session.user.role, reason
    )
    return _render(
        request,
        "review/bulk.html",
        session=session,
        title="Bulk action done",
        section="queue",
        action=action,
        result=result,
        filter_query=flt.query(),
    )


@router.get("/items/{item_id}")
def item_page(request: Request, item_id: ItemId) -> Response:
    return _item_response(request, _signed_in(request), item_id)


def _queue_nav(request: Request, item_id: int, filter_query: str) -> dict[str, object]:
    """Where the item sits in the queue it was opened from: previous and next items (the
    keyboard's k and j) and the filter they keep."""
    flt = QueueFilter.from_query_string(filter_query)
    before, after = adjacent_items(_queue(request), flt, item_id)
    query = flt.query()
    return {
        "filter_query": query,
        "prev_url": _with_filter(f"/console/items/{before}", query) if before else "",
        "next_url": _with_filter(f"/console/items/{after}", query) if after else "",
        "queue_url": f"/console/queue?{query}" if query else "/console/queue",
    }


def _filter_of(request: Request) -> str:
    """The queue filter the item page was opened with (``?filter=``, or a refused form's)."""
    kept = getattr(request.state, "queue_filter", None)
    text = kept if isinstance(kept, str) else request.query_params.get("filter", "")
    return text[:2000]


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
        excerpts=item_excerpts(queue.db, request.app.state.safespace.settings, item.text_spans),
        actions=actions,
        categories=CATEGORIES,
        reveals=exposure.count_today(_actor(session)),
        cap=exposure.cap,
        reveal_seconds=REVEAL_SECONDS,
        second_look=queue.policy.second_look,
        evidence=evidence_panel(request, session, item),
        referral_ready=bool(request.app.state.safespace.settings.reporter_email.strip()),
        **_item_context(request, queue, item_id),
        form_error=form_error,
        typed={"decision": "", "category": "", "reason": "", **(typed or {})},
        presets=_presets(request),
        nav=_queue_nav(request, item_id, _filter_of(request)),
        **review_context(request, session),
    )
    response.status_code = status_code
    # The reveal script POSTs with fetch, and videos load as media: same origin only.
    csp = _SECURITY_HEADERS["Content-Security-Policy"]
    response.headers["Content-Security-Policy"] = f"{csp}; connect-src 'self'; media-src 'self'"
    return response


@router.post("/items/{item_id}/claim")
def claim(
    request: Request, item_id: ItemId, csrf_token: CsrfField = None, filter: FilterField = ""
) -> Response:
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    _queue(request).claim(item_id, _actor(session), session.user.role)
    return _redirect(_with_filter(f"/console/items/{item_id}", filter))


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
    preset: Annotated[str, Form(max_length=400)] = "",
    next: Annotated[str, Form(max_length=8)] = "",
    filter: FilterField = "",
    csrf_token: CsrfField = None,
) -> Response:
    """Record a decision; with ``next``, claim and open the next item of the same filter.
    An empty reason takes the preset reason picked (one of the configured ones)."""
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    given = reason.strip() or (preset if preset in _presets(request) else "")
    try:
        _queue(request).decide(
            item_id, _actor(session), session.user.role, decision, given, category or None
        )
    except InvalidInput as exc:  # say what to fix on the same page, keeping what was typed
        typed = {"decision": decision, "category": category, "reason": reason}
        request.state.queue_filter = filter
        return _item_response(
            request, session, item_id, status_code=400, form_error=exc.message, typed=typed
        )
    if next == "yes":
        return _claim_next_response(request, session, filter)
    return _redirect(_with_filter(f"/console/items/{item_id}", filter))


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


# --- the item's history, neighbours, provenance and notes (issue 11) ------------------------


def _item_context(request: Request, queue: ReviewQueue, item_id: int) -> dict[str, Any]:
    """What the item page shows around the item; a refused note is kept to fix."""
    item = queue.get(item_id)
    return {
        "history": item_history(queue.db, item_id),
        "neighbours": item_neighbours(queue.db, item_id),
        "provenance": entry_provenance(queue.db, item.entry_id),
        "note_max": MAX_NOTE,
        "note_error": getattr(request.state, "note_error", ""),
        "note_text": getattr(request.state, "note_text", ""),
    }


@router.post("/items/{item_id}/notes")
def add_item_note(
    request: Request,
    item_id: ItemId,
    text: Annotated[str, Form(max_length=4 * MAX_NOTE)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    """A reviewer's note on the item (anyone signed in may add one, claimed or not)."""
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    queue = _queue(request)
    try:
        add_note(queue.db, item_id, _actor(session), text, clock=queue.clock)
    except InvalidInput as exc:  # say what to fix on the same page, keeping the text
        request.state.note_error, request.state.note_text = exc.message, text
        return _item_response(request, session, item_id, status_code=400)
    return _redirect(f"/console/items/{item_id}#history-heading")
