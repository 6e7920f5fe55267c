"""The hot path: ``POST /v1/match`` with JSON hashes, answered below FastAPI's routing.

A platform calls this once per upload, thousands of times a second. Profiled at 5,000
requests/s, routing through a hundred routes, solving dependencies and wrapping the request
cost more than the lookup itself. So this middleware answers that one request itself, with
the functions the route uses (the same key check, validation, matching, problem details and
metrics label); everything else, multipart uploads to ``/v1/match`` included, goes on to the
app. The route stays the documented contract (OpenAPI) and the reference: tests send the
same requests both ways and compare the answers.

HMA's clients look hashes up with ``GET /m/lookup`` (and ``/m/raw_lookup``) at the same rate,
so those are answered here too, by the functions their routes call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from safespace.api._auth import authenticate, bearer_token
from safespace.api._problems import problem_for
from safespace.api._routes import hma, matching
from safespace.api._uploads import is_multipart

__all__ = ["HMA_HOT_PATHS", "HOT_PATH", "HotPathMiddleware"]

HOT_PATH = "/v1/match"
# HMA's lookups by hash (GET, query string only): path -> the function its route calls.
HMA_HOT_PATHS: dict[str, Callable[[Request], Awaitable[dict[str, Any]]]] = {
    "/m/lookup": hma.lookup_get,
    "/m/raw_lookup": hma.raw_lookup_get,
}


class HotPathMiddleware:
    """Pure ASGI; sits inside the metrics and body-limit middleware, like the router."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The route labels the request in the metrics, as if the router had found it.
        self.route = next(
            r
            for r in matching.router.routes
            if isinstance(r, Route) and r.path == HOT_PATH and "POST" in (r.methods or ())
        )
        self.hma_routes = {
            r.path: r
            for r in hma.router.routes
            if isinstance(r, Route) and r.path in HMA_HOT_PATHS and "GET" in (r.methods or ())
        }
        self.hma_enabled: bool | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "GET" and scope["path"] in HMA_HOT_PATHS and self._serves_hma(scope):
            await self._hma(scope, receive, send)
            return
        if scope["path"] != HOT_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if is_multipart(request):  # an upload: the route reads the form
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        response: Response | None
        try:
            key = await authenticate(request, "match", bearer_token(request))
            response = JSONResponse(await matching.match_json(request, key))
        except Exception as exc:  # answered exactly as the app's handlers would
            response = await problem_for(request, exc)
            if response is None:
                raise  # a bug: the server-error middleware logs it and answers 500
        await response(scope, receive, send)

    def _serves_hma(self, scope: Scope) -> bool:
        """Whether the app has the HMA routes (an app may be built without them)."""
        if self.hma_enabled is None:
            routes = getattr(scope["app"].state, "routes", ())
            self.hma_enabled = any(r is self.hma_routes["/m/lookup"] for r in routes)
        return self.hma_enabled

    async def _hma(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An HMA lookup: the key (or listed network), then the route's own function."""
        path = scope["path"]
        scope["route"] = self.hma_routes[path]
        request = Request(scope, receive)
        response: Response | None
        try:
            await authenticate(request, "match", bearer_token(request))
            response = JSONResponse(await HMA_HOT_PATHS[path](request))
        except Exception as exc:  # answered exactly as the app's handlers would
            response = await problem_for(request, exc)
            if response is None:
                raise
        await response(scope, receive, send)
