"""Evidence in the console: on a confirmed item's page, what is kept, and for leads and admins
opening it (a download, audited) and setting or clearing a legal hold.

Everyone who can see the item sees the metadata. Opening and holds go through
:class:`~safespace.reports.EvidenceStore`, which checks the role and audits every opening,
refusal and hold: a reviewer who tries gets a 403 page and an ``evidence.refused`` record.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi import Path as PathParam

from safespace.accounts import SessionInfo
from safespace.errors import EvidenceNotFound, NotConfigured
from safespace.reports._evidence import EVIDENCE_ROLES, EvidenceInfo, EvidenceStore, list_items
from safespace.reports._queue import QueueItem, ReviewQueue
from safespace.web._console import (
    _SECURITY_HEADERS,
    ConsoleRoute,
    CsrfField,
    _check_post,
    _redirect,
    _signed_in,
)

__all__ = ["EvidencePanel", "evidence_panel", "router"]

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
ItemId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
EvidenceId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]
Reason = Annotated[str, Form(max_length=2000)]


@dataclass(frozen=True)
class EvidencePanel:
    """The Evidence section of an item page."""

    items: list[EvidenceInfo]
    configured: bool
    can_manage: bool


def _runtime_store(request: Request) -> EvidenceStore | None:
    store = request.app.state.review.evidence
    assert store is None or isinstance(store, EvidenceStore)
    return store


def _store(request: Request) -> EvidenceStore:
    store = _runtime_store(request)
    if store is None:
        raise NotConfigured("evidence storage is not configured (SAFESPACE_EVIDENCE_KEY)")
    return store


def evidence_panel(request: Request, session: SessionInfo, item: QueueItem) -> EvidencePanel:
    """What the item page shows; empty for items that are not confirmed."""
    queue = request.app.state.review.queue
    assert isinstance(queue, ReviewQueue)
    items = list_items(queue.db, f"review-{item.id}") if item.status == "confirmed" else []
    return EvidencePanel(
        items,
        _runtime_store(request) is not None,
        session.user.active and session.user.role in EVIDENCE_ROLES,
    )


def _of_item(store: EvidenceStore, item_id: int, evidence_id: str) -> EvidenceInfo:
    """The evidence item, only when it belongs to this review item's case."""
    info = store.get(evidence_id)
    if info.case_id != f"review-{item_id}":
        raise EvidenceNotFound(f"no evidence item {evidence_id} for review item {item_id}")
    return info


def _filename(info: EvidenceInfo) -> str:
    ext = mimetypes.guess_extension(info.media_type) or ".bin"
    name = f"evidence-{info.case_id}-{info.id[:12]}{ext}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


@router.get("/items/{item_id}/evidence/{evidence_id}")
def open_evidence(request: Request, item_id: ItemId, evidence_id: EvidenceId) -> Response:
    """The decrypted file as a download, never shown inline, never cached."""
    session = _signed_in(request)
    store = _store(request)
    info = _of_item(store, item_id, evidence_id)
    data = store.open_item(evidence_id, f"user:{session.user.name}", session.user.role)
    headers = {
        **_SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{_filename(info)}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
    }
    return Response(data, media_type="application/octet-stream", headers=headers)


def _hold_route(action: str, *, on: bool, doc: str) -> None:
    """POST .../hold and .../release take the same form; only the change differs."""

    def change_hold(
        request: Request,
        item_id: ItemId,
        evidence_id: EvidenceId,
        reason: Reason = "",
        csrf_token: CsrfField = None,
    ) -> Response:
        session = _signed_in(request)
        _check_post(request, session.csrf_token, csrf_token)
        store = _store(request)
        _of_item(store, item_id, evidence_id)
        change = store.set_hold if on else store.clear_hold
        change(evidence_id, f"user:{session.user.name}", session.user.role, reason)
        return _redirect(f"/console/items/{item_id}#evidence-heading")

    change_hold.__name__ = change_hold.__qualname__ = action
    change_hold.__doc__ = doc
    router.post(f"/items/{{item_id}}/evidence/{{evidence_id}}/{action}")(change_hold)


_hold_route(
    "hold",
    on=True,
    doc="Keep the item past its retention date (a legal hold): leads and admins, with a reason.",
)
_hold_route(
    "release",
    on=False,
    doc="End a legal hold; an item already past its date goes at the next hourly purge.",
)
