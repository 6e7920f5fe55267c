"""Request body limits, enforced while the body streams in, never after buffering it.

A declared ``Content-Length`` over the limit is refused before a byte is read; a body that
grows past it (chunked, or lying about its length) is cut off at the limit. Which limit
applies depends on the route AND the method: the big import limit only for ``POST`` to the
import routes, the media limit only for a multipart upload to a route that takes one, and
the small JSON limit for everything else (a ``PATCH`` to an import path, an unknown route or
method). A request to a route that needs an API key, whose body may be large, has its key
checked before a byte of the body is read: an unauthenticated caller cannot make a worker
buffer megabytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safespace.api._auth import authenticate, bearer_token, required_scope
from safespace.api._problems import (
    ProblemException,
    is_hma_path,
    problem_for,
    problem_response,
)
from safespace.config import Settings
from safespace.errors import MediaTooLarge, RequestTooLarge, SafeSpaceError

__all__ = [
    "AUTH_FIRST_BYTES",
    "IMPORT_ROUTES",
    "BodyLimit",
    "BodyLimitMiddleware",
    "BodyLimits",
    "limits_from_settings",
]

# Room for the multipart envelope and the small form fields sent beside a file.
MULTIPART_SLACK = 64 * 1024
# A body larger than this (or of unknown length) waits for the API key check.
AUTH_FIRST_BYTES = 64 * 1024
# The routes (path templates, POST only) that take a hash-list file: the import limit.
IMPORT_ROUTES = frozenset({"/v1/banks/{name}/import", "/v1/banks/{name}/imports"})
# The console's import upload: the import size only for a signed-in lead (checked before the
# body is read); anyone else gets the media size, as for any other console form.
CONSOLE_IMPORT_ROUTES = frozenset({"/console/banks/{name}/import"})
_UPLOAD_METHODS = frozenset({"POST", "PUT"})


@dataclass(frozen=True)
class BodyLimit:
    max_bytes: int
    error: Callable[[str], SafeSpaceError]
    setting: str

    def exceeded(self) -> SafeSpaceError:
        return self.error(
            f"request body is over the limit of {self.max_bytes} bytes ({self.setting})"
        )


@dataclass(frozen=True)
class BodyLimits:
    """The three limits: hash-list imports, media uploads (multipart), anything else."""

    imports: BodyLimit
    media: BodyLimit
    json: BodyLimit


def limits_from_settings(settings: Settings) -> BodyLimits:
    return BodyLimits(
        imports=BodyLimit(
            settings.max_import_bytes + MULTIPART_SLACK, RequestTooLarge, "max_import_bytes"
        ),
        media=BodyLimit(
            settings.max_media_bytes + MULTIPART_SLACK, MediaTooLarge, "max_media_bytes"
        ),
        json=BodyLimit(settings.max_json_bytes, RequestTooLarge, "max_json_bytes"),
    )


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return bytes(value)
    return None


def _is_multipart(scope: Scope) -> bool:
    kind = _header(scope, b"content-type") or b""
    return kind.split(b";")[0].strip().lower() == b"multipart/form-data"


def _declared_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return 0  # the server itself rejects a malformed length


class BodyLimitMiddleware:
    """Pure ASGI middleware (no response buffering, works under streaming uploads).

    ``routes`` are the app's routes (its routers' own, with their prefixes): a request is
    matched against them only when its body may be big or is an upload, so small JSON
    requests (the hot path) pay nothing for it.
    """

    def __init__(self, app: ASGIApp, limits: BodyLimits, routes: Iterable[BaseRoute]) -> None:
        self.app = app
        self.limits = limits
        self._routes = [r for r in routes if isinstance(r, Route)]
        self._scopes: dict[int, str | None] = {}

    def route_for(self, scope: Scope) -> Route | None:
        """The route that will answer this request (path and method), if any."""
        for route in self._routes:
            if isinstance(route, Route):
                match, _ = route.matches(scope)
                if match is Match.FULL:
                    return route
        return None

    def limit_for(self, scope: Scope, route: Route | None) -> BodyLimit:
        if route is None or scope["method"] not in _UPLOAD_METHODS:
            return self.limits.json
        if scope["method"] == "POST" and route.path in IMPORT_ROUTES:
            return self.limits.imports
        if scope["method"] == "POST" and route.path in CONSOLE_IMPORT_ROUTES:
            from safespace.web._console import signed_in_as

            lead = signed_in_as(Request(scope), "lead")
            return self.limits.imports if lead else self.limits.media
        if _is_multipart(scope):
            return self.limits.media
        return self.limits.json

    def _scope_of(self, route: Route) -> str | None:
        key = id(route)
        if key not in self._scopes:
            self._scopes[key] = required_scope(route)
        return self._scopes[key]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        big = declared is None or declared > AUTH_FIRST_BYTES
        if not declared and _header(scope, b"transfer-encoding") is None:
            # No body at all: neither Content-Length nor Transfer-Encoding means none (RFC 9112
            # 6.3), as in every GET; no route lookup or early key check for it (HMA's GET
            # /m/lookup goes straight on to the hot path).
            big = False
        route = self.route_for(scope) if big or _is_multipart(scope) else None
        limit = self.limit_for(scope, route) if route is not None else self.limits.json
        if big and route is not None and (needed := self._scope_of(route)) is not None:
            request = Request(scope, receive)
            try:
                await authenticate(request, needed, bearer_token(request))
            except Exception as exc:  # answered as the route would, the body left unread
                response = await problem_for(request, exc)
                if response is None:
                    raise
                response.headers["Connection"] = "close"
                await response(scope, receive, send)
                return
        if declared is not None and declared > limit.max_bytes:
            response = problem_response(
                limit.exceeded(), headers={"Connection": "close"}, hma=is_hma_path(scope["path"])
            )
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    raise ProblemException(limit.exceeded())
            return message

        await self.app(scope, limited, send)
