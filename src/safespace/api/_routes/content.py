"""``DELETE /v1/content/{content_id}``: forget a content's stored hashes (retro-matching).

Scope ``match``: the platform that sends content with ``/v1/match`` may ask for its hashes to
go. The answer says how many were deleted (0 when none was kept); nothing else is kept of
the content, so nothing else needs deleting.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from safespace.api._deps import MatchKey, State
from safespace.api._problems import PROBLEM_RESPONSES
from safespace.retro import ContentStore

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["matching"], responses=PROBLEM_RESPONSES)
ContentId = Annotated[str, PathParam(min_length=1, max_length=256)]


@router.delete("/content/{content_id}", summary="Forget a content's stored hashes")
async def forget_content(content_id: ContentId, state: State, key: MatchKey) -> dict[str, Any]:
    """Delete every hash kept for retro-matching of ``content_id``; ``forgotten`` counts them."""
    store = ContentStore.from_settings(state.db, state.settings)
    gone = await run_in_threadpool(store.forget, content_id)
    return {"content_id": content_id, "forgotten": gone}
