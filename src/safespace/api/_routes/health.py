"""Liveness and readiness, for load balancers and orchestrators: no API key needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from safespace.api._deps import State
from safespace.api._problems import Problem, problem_response
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
def readyz(state: State) -> Any:
    status = state.matcher.status()
    if not status["ready"]:
        error = ServiceUnavailable(str(status["detail"]), 2.0)
        return problem_response(error, extra={"lag": status.get("lag")})
    return {
        "status": "ready",
        "entries": status["entries"],
        "seq": status["seq"],
        "lag": status["lag"],
    }
