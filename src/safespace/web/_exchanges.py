"""Bank sources (exchanges) in the console: every source with its status, a page per source,
"Fetch now" for leads and admins, and the flood guard's quarantined entries with a release.

The figures are what ``/v1/exchanges`` returns, from the same :class:`ExchangeService`;
"Fetch now" is the call ``safespace exchange fetch`` makes (one fetch until the source has no
more pages), audited as ``exchange.fetch``. Releasing a quarantined entry is the flood
guard's own release (the review page's "release entry" uses the same), audited by the bank
service as ``bank.entry.enable``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam

from safespace.api._routes.exchanges import exchange_service
from safespace.exchanges import ExchangeService
from safespace.exchanges._flood import FloodGuard, FloodPolicy
from safespace.reports import _audit as audit
from safespace.reports._audit import user_actor
from safespace.web._console import (
    ConsoleRoute,
    CsrfField,
    _check_post,
    _need,
    _redirect,
    _render,
    _signed_in,
)

__all__ = ["router"]

router = APIRouter(prefix="/console/exchanges", include_in_schema=False, route_class=ConsoleRoute)
SourceName = Annotated[
    str, PathParam(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
]
EntryId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
Count = Annotated[int | None, Query(ge=0, le=2**63 - 1)]


def _service(request: Request) -> ExchangeService:
    return exchange_service(request.app.state.safespace)


def _guard(request: Request) -> FloodGuard:
    return FloodGuard(request.app.state.safespace.db, FloodPolicy())


@router.get("")
def sources_page(request: Request, released: Count = None) -> Response:
    session = _signed_in(request)
    service = _service(request)
    quarantines = [(q, service.sources_of_entry(q.entry_id)) for q in _guard(request).list()]
    return _render(
        request,
        "exchanges/sources.html",
        session=session,
        title="Exchanges",
        section="exchanges",
        sources=service.list(),
        quarantines=quarantines,
        notice=f"Entry {released} was released: it matches again." if released else None,
    )


@router.get("/{name}")
def source_page(
    request: Request,
    name: SourceName,
    fetched: Annotated[int, Query(ge=0, le=1)] = 0,
    pages: Count = None,
    added: Count = None,
    updated: Count = None,
    removed: Count = None,
) -> Response:
    session = _signed_in(request)
    source = _service(request).get(name)
    notice = None
    if fetched:
        notice = (
            f"Fetched: {pages or 0} pages, {added or 0} entries added, {updated or 0} updated, "
            f"{removed or 0} removed."
        )
    return _render(
        request,
        "exchanges/source.html",
        session=session,
        title=f"Exchange {source.name}",
        section="exchanges",
        source=source,
        notice=notice,
        failed=bool(fetched) and source.last_error is not None and source.consecutive_failures > 0,
    )


@router.post("/{name}/fetch")
def fetch_now(request: Request, name: SourceName, csrf_token: CsrfField = None) -> Response:
    """One fetch now (the CLI's ``safespace exchange fetch``); a fault is recorded on the
    source and shown on its page, as the periodic fetch records it."""
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    _need(session, "lead")
    service = _service(request)
    service.get(name)  # 404 before any work
    report = service.fetch_once(name)
    with service.db.transaction() as s:
        audit.append(
            s, user_actor(session.user.name), "exchange.fetch", f"exchange:{name}",
            report.to_dict(),
        )  # fmt: skip
    query = urlencode(
        {
            "fetched": 1,
            "pages": report.pages,
            "added": report.added,
            "updated": report.updated,
            "removed": report.removed,
        }
    )
    return _redirect(f"/console/exchanges/{quote(name, safe='')}?{query}")


@router.post("/quarantine/{entry_id}/release")
def release_entry(request: Request, entry_id: EntryId, csrf_token: CsrfField = None) -> Response:
    """A lead lets a quarantined entry match again (the flood guard's release)."""
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    _need(session, "lead")
    _guard(request).release(entry_id, session.user.name, session.user.role)
    return _redirect(f"/console/exchanges?released={entry_id}")
