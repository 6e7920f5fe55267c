"""``/v1/entries/{id}``: one bank entry by the id that match results quote (scope ``curate``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from safespace.api._deps import CurateKey, State
from safespace.api._problems import PROBLEM_RESPONSES
from safespace.api._schemas import EntryUpdate
from safespace.errors import NotFound
from safespace.reports._audit import api_key_actor

__all__ = ["router"]

router = APIRouter(prefix="/v1/entries", tags=["banks"], responses=PROBLEM_RESPONSES)
EntryId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The entry id.")]


@router.get("/{entry_id}", summary="One bank entry")
def get_entry(entry_id: EntryId, state: State, key: CurateKey) -> dict[str, Any]:
    return state.banks.get_entry(entry_id).to_dict()


@router.patch("/{entry_id}", summary="Enable or disable an entry")
def update_entry(
    entry_id: EntryId, body: EntryUpdate, state: State, key: CurateKey
) -> dict[str, Any]:
    entry = state.banks.set_entry_enabled(entry_id, body.enabled, actor=api_key_actor(key.id))
    state.matcher.refresh_now()
    return entry.to_dict()


@router.delete("/{entry_id}", status_code=204, summary="Delete an entry")
def delete_entry(entry_id: EntryId, state: State, key: CurateKey) -> Response:
    if state.banks.remove_entries([entry_id], actor=api_key_actor(key.id)) == 0:
        raise NotFound(f"no bank entry with id {entry_id}")
    state.matcher.refresh_now()
    return Response(status_code=204)
