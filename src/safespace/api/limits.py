"""Request body limits, enforced while the body streams in, never after buffering it.

A declared ``Content-Length`` over the limit is refused before a byte is read; a body that
grows past it (chunked, or lying about its length) is cut off at the limit. Which limit
applies depends on the route: media uploads, hash-list imports, or JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safespace.api.problems import ProblemException, problem_response
from safespace.config import Settings
from safespace.errors import MediaTooLarge, RequestTooLarge, SafeSpaceError

__all__ = ["BodyLimit", "BodyLimitMiddleware", "limits_from_settings"]

# Room for the multipart envelope and the small form fields sent beside a file.
MULTIPART_SLACK = 64 * 1024


@dataclass(frozen=True)
class BodyLimit:
    max_bytes: int
    error: Callable[[str], SafeSpaceError]
    setting: str

    def exceeded(self) -> SafeSpaceError:
        return self.error(
            f"request body is over the limit of {self.max_bytes} bytes ({self.setting})"
        )


def limits_from_settings(settings: Settings) -> Callable[[Scope], BodyLimit]:
    """The limit for a request: imports, media uploads (multipart), or anything else (JSON)."""
    media = BodyLimit(settings.max_media_bytes + MULTIPART_SLACK, MediaTooLarge, "max_media_bytes")
    imports = BodyLimit(
        settings.max_import_bytes + MULTIPART_SLACK, RequestTooLarge, "max_import_bytes"
    )
    json = BodyLimit(settings.max_json_bytes, RequestTooLarge, "max_json_bytes")

    def limit_for(scope: Scope) -> BodyLimit:
        path: str = scope.get("path", "")
        if path.endswith("/import"):
            return imports
        for name, value in scope.get("headers", ()):
            if name == b"content-type" and value.lower().startswith(b"multipart/"):
                return media
        return json

    return limit_for


class BodyLimitMiddleware:
    """Pure ASGI middleware (no response buffering, works under streaming uploads)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], BodyLimit]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0  # the server itself rejects a malformed length
                if declared > limit.max_bytes:
                    response = problem_response(limit.exceeded(), headers={"Connection": "close"})
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
