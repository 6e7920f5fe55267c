"""Liveness and readiness, for load balancers and orchestrators: no API key needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from safespace.api.problems import Problem
from safespace.api.state import get_state
from safespace.errors import ServiceUnavailable

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the matcher is loaded and current",
    responses={503: {"model": Problem, "description": "Still loading, or refreshes failing"}},
)
def readyz(request: Request) -> dict[str, Any]:
    status = get_state(request).matcher.status()
    if not status["ready"]:
        raise ServiceUnavailable(str(status["detail"]), 2.0)
    return {"status": "ready", "entries": status["entries"], "seq": status["seq"]}
