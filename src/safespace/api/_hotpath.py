"""The hot path: ``POST /v1/match`` with JSON hashes, answered below FastAPI's routing.

A platform calls this once per upload, thousands of times a second. Profiled at 5,000
requests/s, routing through a hundred routes, solving dependencies and wrapping the request
cost more than the lookup itself. So this middleware answers that one request itself, with
the functions the route uses (the same key check, validation, matching, problem details and
metrics label); everything else, multipart uploads to ``/v1/match`` included, goes on to the
app. The route stays the documented contract (OpenAPI) and the reference: tests send the
same requests both ways and compare the answers.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from safespace.api._auth import authenticate, bearer_token
from safespace.api._problems import problem_for
from safespace.api._routes import matching
from safespace.api._uploads import is_multipart

__all__ = ["HOT_PATH", "HotPathMiddleware"]

HOT_PATH = "/v1/match"


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != HOT_PATH or scope["method"] != "POST":
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
