"""Errors as RFC 9457 problem details (``application/problem+json``), translated in one place.

Every :class:`~safespace.errors.SafeSpaceError` becomes a problem whose ``type`` is
``/problems/<code>`` (a relative URI, stable across deployments), with the class's HTTP
status. Framework errors (validation, unknown route, wrong method) are mapped onto the same
classes, so a client only ever sees one shape and one table of types (docs/api.md).

On the HMA-compatible surface (``/h/``, ``/m/``, ``/c/``) a problem also carries HMA's own
error member, ``message`` (the same text as ``detail``), and the media and URL errors HMA
answers with 400 are 400 there, with their own problem types (docs/hma-compat.md).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from safespace.errors import (
    AccessDenied,
    Conflict,
    ImportFormatError,
    InvalidInput,
    InvalidRequest,
    MediaError,
    MethodNotAllowed,
    NotFound,
    RateLimited,
    RequestTooLarge,
    SafeSpaceError,
    ServiceUnavailable,
    Unauthenticated,
    UrlFetchFailed,
    UrlNotAllowed,
)

__all__ = [
    "MAX_LISTED_REJECTS",
    "PROBLEM_RESPONSES",
    "Problem",
    "ProblemException",
    "install_problem_handlers",
    "is_hma_path",
    "problem_for",
    "problem_response",
    "problem_type",
    "validation_problem",
]

log = logging.getLogger("safespace.api")

MEDIA_TYPE = "application/problem+json"
MAX_LISTED_REJECTS = 1000
_REALM = 'Bearer realm="safespace"'


class Problem(BaseModel):
    """The body of every error response (for the OpenAPI document)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": text}
    for status, text in (
        (400, "Bad input (a malformed hash, an unknown signal type...)"),
        (401, "Missing, unknown or revoked API key"),
        (403, "The API key lacks the scope"),
        (422, "The request does not fit the endpoint's schema"),
        (429, "Rate limit exceeded; see Retry-After"),
    )
}


class ProblemException(StarletteHTTPException):
    """Carries a SafeSpaceError through code that re-raises only HTTP exceptions (FastAPI's
    body reading does), so it still comes out as its own problem type."""

    def __init__(self, error: SafeSpaceError) -> None:
        super().__init__(status_code=error.status, detail=error.message)
        self.error = error


# HMA's clients read ``message``; HMA answers 400 where SafeSpace's media and URL errors
# have their own status (415, 422, 403): on HMA's paths they are 400 too.
HMA_PREFIXES = ("/h/", "/m/", "/c/")
_HMA_400 = (MediaError, UrlFetchFailed, UrlNotAllowed)


def is_hma_path(path: str) -> bool:
    """Whether ``path`` is on the HMA-compatible surface."""
    return path.startswith(HMA_PREFIXES)


def _hma_status(error: SafeSpaceError) -> int:
    if isinstance(error, _HMA_400) and error.status not in (413, 429, 503):
        return 400
    return error.status


def problem_type(code: str) -> str:
    return f"/problems/{code}"


def _title(code: str) -> str:
    return code.replace("-", " ").capitalize()


def problem_response(
    error: SafeSpaceError,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
    hma: bool = False,
) -> JSONResponse:
    """The problem for ``error``; ``hma``: shaped for an HMA client (``message``, 400s)."""
    status = _hma_status(error) if hma else error.status
    body: dict[str, Any] = {
        "type": problem_type(error.code),
        "title": _title(error.code),
        "status": status,
        "detail": error.message,
    }
    out_headers = dict(headers or {})
    if isinstance(error, ImportFormatError):
        body["rejects"] = [
            {"line": r.line, "text": r.text, "reason": r.reason}
            for r in error.rejects[:MAX_LISTED_REJECTS]
        ]
        body["rejects_total"] = len(error.rejects)
    if isinstance(error, InvalidRequest) and error.errors:
        body["errors"] = error.errors
    if isinstance(error, RateLimited | ServiceUnavailable):
        out_headers["Retry-After"] = str(max(1, round(error.retry_after)))
    if isinstance(error, Unauthenticated):
        out_headers.setdefault("WWW-Authenticate", _REALM)
    elif isinstance(error, AccessDenied):
        out_headers["WWW-Authenticate"] = f'{_REALM}, error="insufficient_scope"'
    body.update(extra or {})
    if hma:
        body["message"] = error.message
    return JSONResponse(body, status_code=status, headers=out_headers, media_type=MEDIA_TYPE)


def validation_problem(errors: list[Any]) -> InvalidRequest:
    """Pydantic's errors, minus the echoed input (which may be large or hold secrets)."""
    cleaned = [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": e.get("type", ""),
        }
        for e in errors
    ]
    first = cleaned[0] if cleaned else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"])
    summary = f"{where}: {first['msg']}" if where else str(first["msg"])
    more = f" (and {len(cleaned) - 1} more)" if len(cleaned) > 1 else ""
    return InvalidRequest(f"invalid request: {summary}{more}", cleaned)


def _from_http(exc: StarletteHTTPException, request: Request) -> SafeSpaceError:
    detail = exc.detail if isinstance(exc.detail, str) else ""
    if exc.status_code == 404:
        return NotFound(f"no such endpoint: {request.url.path}")
    if exc.status_code == 405:
        return MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}")
    if exc.status_code == 413:
        return RequestTooLarge(detail or "request body too large")
    if exc.status_code == 409:
        return Conflict(detail or "conflict")
    return InvalidInput(detail or "bad request")


async def _on_safespace(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SafeSpaceError)
    headers = {}
    if isinstance(exc, Unauthenticated) and request.headers.get("authorization"):
        headers["WWW-Authenticate"] = f'{_REALM}, error="invalid_token"'
    return problem_response(exc, headers=headers, hma=_hma(request))


def _hma(request: Request) -> bool:
    return is_hma_path(request.url.path)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(validation_problem(list(exc.errors())), hma=_hma(request))


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, ProblemException):
        return await _on_safespace(request, exc.error)
    error = _from_http(exc, request)
    keep = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
    if exc.status_code == 405:
        keep = {"Allow": _allowed(request) or ", ".join(keep.values())}
    return problem_response(error, headers=keep, hma=_hma(request))


def _allowed(request: Request) -> str:
    """Every method the path supports (the router names only the first route's)."""
    methods: set[str] = set()
    for route in getattr(request.app.state, "routes", ()):
        if isinstance(route, Route) and route.path_regex.match(request.url.path):
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


async def _on_operational(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", str(exc).splitlines()[0])
    error = ServiceUnavailable("the database is unavailable or busy; try again", 2.0)
    return problem_response(error, hma=_hma(request))


async def _on_integrity(request: Request, exc: Exception) -> JSONResponse:
    # Two requests raced to create the same thing: the loser gets the conflict.
    error = Conflict("the change clashes with a concurrent one; retry")
    return problem_response(error, hma=_hma(request))


async def _on_bug(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    body = {
        "type": problem_type("internal-error"),
        "title": "Internal error",
        "status": 500,
        "detail": "an unexpected error occurred; it has been logged",
    }
    if _hma(request):
        body["message"] = body["detail"]
    return JSONResponse(body, status_code=500, media_type=MEDIA_TYPE)


# Looked up like Starlette does: the most specific class of the exception first.
_HANDLERS: dict[type[Exception], Callable[[Request, Exception], Awaitable[JSONResponse]]] = {
    SafeSpaceError: _on_safespace,
    RequestValidationError: _on_validation,
    StarletteHTTPException: _on_http,
    OperationalError: _on_operational,
    IntegrityError: _on_integrity,
    Exception: _on_bug,
}


def install_problem_handlers(app: FastAPI) -> None:
    """Register the translations; each error class is mapped exactly once, here."""
    for cls, handler in _HANDLERS.items():
        app.add_exception_handler(cls, handler)


async def problem_for(request: Request, exc: Exception) -> JSONResponse | None:
    """The response the app's handlers give ``exc``, or None for a bug (no handler but the
    catch-all): for code that answers below routing and re-raises bugs to the server."""
    for cls in type(exc).__mro__:
        handler = _HANDLERS.get(cls)
        if handler is _on_bug:
            return None
        if handler is not None:
            return await handler(request, exc)
    return None
