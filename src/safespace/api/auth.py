"""Bearer API keys with scopes, and the per-key rate limit, as FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from safespace.access import SCOPES, KeyInfo
from safespace.api.state import get_state
from safespace.errors import AccessDenied, Unauthenticated

__all__ = ["authenticate", "bearer", "bearer_token", "require"]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `safespace keys create`, sent as `Authorization: Bearer KEY`.",
)


async def authenticate(request: Request, scope: str, token: str | None) -> KeyInfo:
    """The caller's key, which must be active, within its rate limit and allow ``scope``.

    Async with a memory fast path: a thread-pool hop per request costs more than the match
    itself; only a cache miss (once per key per TTL) goes to the database.
    """
    state = get_state(request)
    if token is None:
        raise Unauthenticated("missing API key: send 'Authorization: Bearer <key>'")
    found, key = state.key_cache.cached(token)
    if not found:
        key = await run_in_threadpool(state.key_cache.get, token)
    if key is None:
        raise Unauthenticated("unknown or revoked API key")
    state.limiter.check(key.id)
    if not key.allows(scope):
        raise AccessDenied(f"this API key lacks the {scope!r} scope")
    request.state.api_key = key
    return key


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, as :data:`bearer` reads it."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


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
    return dependency
