"""Bearer API keys with scopes, and the per-key rate limit, as FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from safespace.access import SCOPES, KeyInfo
from safespace.api._state import get_state
from safespace.errors import AccessDenied, Unauthenticated

__all__ = ["authenticate", "bearer", "bearer_token", "require", "required_scope"]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `safespace keys create`, sent as `Authorization: Bearer KEY`.",
)

# Where a request's checked (token, key) is kept (its ``request.state``), and the marker a
# :func:`require` dependency carries.
_CHECKED = "safespace_checked_key"
_SCOPE_ATTR = "safespace_scope"


async def authenticate(request: Request, scope: str, token: str | None) -> KeyInfo:
    """The caller's key, which must be active, within its rate limit and allow ``scope``.

    Async with a memory fast path: a thread-pool hop per request costs more than the match
    itself; only a cache miss (once per key per TTL) goes to the database. A key already
    checked for this request (before its body was read, see :mod:`safespace.api._limits`)
    is not looked up or counted against the rate limit again.
    """
    state = get_state(request)
    if token is None:
        raise Unauthenticated("missing API key: send 'Authorization: Bearer <key>'")
    checked = request.scope.get("state", {}).get(_CHECKED)
    earlier = checked[1] if checked is not None and checked[0] == token else None
    key: KeyInfo | None
    if isinstance(earlier, KeyInfo):
        key = earlier
    else:
        found, key = state.key_cache.cached(token)
        if not found:
            key = await run_in_threadpool(state.key_cache.get, token)
        if key is None:
            raise Unauthenticated("unknown or revoked API key")
        state.limiter.check(key.id)
        setattr(request.state, _CHECKED, (token, key))
    if not key.allows(scope):
        raise AccessDenied(f"this API key lacks the {scope!r} scope")
    request.state.api_key = key
    return key


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, as :data:`bearer` reads it."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def required_scope(route: BaseRoute) -> str | None:
    """The scope a route's :func:`require` dependency asks for; None for a public route."""
    if not isinstance(route, APIRoute):
        return None
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        scope = getattr(dependant.call, _SCOPE_ATTR, None)
        if isinstance(scope, str):
            return scope
        pending.extend(dependant.dependencies)
    return None


def require(scope: str) -> Callable[..., Awaitable[KeyInfo]]:
    """A dependency: the caller's key, which must be active and allow ``scope``."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> KeyInfo:
        return await authenticate(request, scope, credentials.credentials if credentials else None)

    dependency.__name__ = f"require_{scope}"
    setattr(dependency, _SCOPE_ATTR, scope)
    return dependency
