"""Bank sources (exchanges) over HTTP.

- ``/v1/exchanges`` (``curate``): each source's status, last fetch, checkpoint, counts,
  last error and next run; ``POST /v1/exchanges/{name}/fetch`` fetches one now.
- ``/v1/exchange/banks/{bank}/feed`` and ``/opinions`` (``exchange``): what this server
  serves a peer SafeSpace (federation), see :mod:`safespace.exchanges._feed`.
- HMA's ``/c/exchanges``, ``/c/exchanges/apis``, ``/c/exchanges/api/{name}/schema`` and
  ``/c/exchange/{name}`` (``curate``), backed by the same sources.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from safespace.api._deps import CurateKey, ExchangeKey, State
from safespace.api._problems import PROBLEM_RESPONSES, problem_response
from safespace.api._state import ServiceState
from safespace.errors import InvalidInput, StaleCheckpoint
from safespace.exchanges import ExchangeService, SourceInfo, available_source_types
from safespace.exchanges._feed import FEED_MAX, Feed

__all__ = ["router"]

router = APIRouter(tags=["exchanges"], responses=PROBLEM_RESPONSES)


def exchange_service(state: ServiceState) -> ExchangeService:
    from safespace.reports._evidence import load_master_key

    key = state.settings.evidence_key
    return ExchangeService(state.db, master_key=load_master_key(key) if key else None)


# --- /v1/exchanges: the sources this server fetches ----------------------------------------


@router.get("/v1/exchanges", summary="Every bank source with its status")
def list_exchanges(state: State, key: CurateKey) -> dict[str, Any]:
    return {"sources": [s.to_dict() for s in exchange_service(state).list()]}


@router.get("/v1/exchanges/{name}", summary="One bank source with its status")
def get_exchange(name: str, state: State, key: CurateKey) -> dict[str, Any]:
    return exchange_service(state).get(name).to_dict()


@router.post("/v1/exchanges/{name}/fetch", summary="Fetch one bank source now")
async def fetch_exchange(name: str, state: State, key: CurateKey) -> dict[str, Any]:
    service = exchange_service(state)
    service.get(name)  # 404 before any work
    report = await run_in_threadpool(service.fetch_once, name)
    return report.to_dict()


# --- the feed this server serves its peers --------------------------------------------------


@router.get("/v1/exchange/banks/{bank}/feed", summary="A bank's changes for a peer SafeSpace")
def feed(
    bank: str,
    state: State,
    key: ExchangeKey,
    seq: Annotated[int, Query(ge=0)] = 0,
    after_id: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=FEED_MAX)] = 1000,
    format: Annotated[Literal["entries", "columns"], Query()] = "entries",
) -> Any:
    try:
        page = Feed(state.db).page(bank, seq, after_id, limit)
        # plain JSON types already: written as they are, not walked by the encoder
        body = json.dumps(page.to_dict(format), separators=(",", ":"), ensure_ascii=False)
        return Response(body.encode(), media_type="application/json")
    except StaleCheckpoint as exc:
        response: JSONResponse = problem_response(exc)
        response.status_code = 410  # Gone: start over
        return response


class OpinionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    upstream_id: str = Field(max_length=64)
    signal_type: str = Field(max_length=32)
    value: str = Field(max_length=100_000)
    verdict: str = Field(max_length=32)
    reason: str | None = Field(default=None, max_length=2000)
    decided_at: datetime | None = None
    opinion_id: str = Field(min_length=1, max_length=64)


@router.post("/v1/exchange/banks/{bank}/opinions", summary="A peer's opinion on an entry")
def opinion(bank: str, body: OpinionBody, state: State, key: ExchangeKey) -> dict[str, Any]:
    counts = Feed(state.db).opinion(
        bank, body.upstream_id, body.signal_type, body.value, body.verdict,
        opinion_id=f"{key.id}:{body.opinion_id}", decided_at=body.decided_at,
    )  # fmt: skip
    return {"upstream_id": body.upstream_id, "peer_opinions": counts}


# --- HMA's exchange surface -----------------------------------------------------------------


def _hma_exchange(info: SourceInfo) -> dict[str, Any]:
    """A source as HMA's ``/c/exchange/NAME`` shows a collaboration."""
    return {
        "name": info.name,
        "api": info.type,
        "bank": info.bank,
        "enabled": not info.paused,
        "retain_api_data": True,
        "status": info.status,
        "last_fetch_time": info.last_fetch_at.isoformat() if info.last_fetch_at else None,
        "last_fetch_succeeded": info.consecutive_failures == 0 and info.last_fetch_at is not None,
        "up_to_date": info.status == "ok",
        "fetched_items": info.entries,
        "checkpoint": info.checkpoint,
        "last_error": info.last_error,
    }


@router.get("/c/exchanges", summary="HMA: the names of the bank sources")
def hma_exchanges(state: State, key: CurateKey) -> list[str]:
    return [s.name for s in exchange_service(state).list()]


@router.get("/c/exchanges/apis", summary="HMA: the source types")
def hma_exchange_apis(state: State, key: CurateKey) -> list[str]:
    return list(available_source_types())


@router.get("/c/exchanges/api/{name}/schema", summary="HMA: a source type's settings schema")
def hma_exchange_schema(name: str, state: State, key: CurateKey) -> dict[str, Any]:
    types = available_source_types()
    if name not in types:
        raise InvalidInput(f"no source type {name!r} (known: {', '.join(types)})")
    cls = types[name]
    return {
        "name": name,
        "description": cls.description,
        "config_schema": cls.config_schema(),
        "credentials": list(cls.credential_names),
        "supports_opinions": cls.supports_opinions,
    }


@router.get("/c/exchange/{name}", summary="HMA: one bank source")
def hma_exchange(name: str, state: State, key: CurateKey) -> dict[str, Any]:
    return _hma_exchange(exchange_service(state).get(name))
