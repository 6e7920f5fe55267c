"""Bearer API keys with scopes, and the per-key rate limit, as FastAPI dependencies.

One exception, off by default: an operator may let HMA's clients, which send no key, reach
the HMA-compatible routes (``/h``, ``/m``, ``/c``) from listed loopback or private networks
(``SAFESPACE_HMA_KEYLESS_NETWORKS``); such a request acts as :data:`NETWORK_KEY`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from safespace.access import SCOPES, KeyInfo
from safespace.api._problems import is_hma_path
from safespace.api._state import get_state
from safespace.config import Settings
from safespace.errors import AccessDenied, Unauthenticated

__all__ = [
    "NETWORK_ACTOR",
    "NETWORK_KEY",
    "NETWORK_KEY_ID",
    "authenticate",
    "bearer",
    "bearer_token",
    "log_keyless_networks",
    "require",
    "required_scope",
]

log = logging.getLogger("safespace.api")

# The stand-in key of a keyless HMA client on a listed network: no stored key has id 0.
NETWORK_KEY_ID = 0
NETWORK_ACTOR = "hma-network"
NETWORK_KEY = KeyInfo(
    id=NETWORK_KEY_ID,
    name="keyless HMA client (hma_keyless_networks)",
    prefix="",
    scopes=("match", "curate"),
    created_at=datetime(1970, 1, 1, tzinfo=UTC),
)

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
    if token is None and not _keyless(request, state.settings):
        raise Unauthenticated("missing API key: send 'Authorization: Bearer <key>'")
    checked = request.scope.get("state", {}).get(_CHECKED)
    earlier = checked[1] if checked is not None and checked[0] == token else None
    key: KeyInfo | None
    if isinstance(earlier, KeyInfo):
        key = earlier
    elif token is None:  # a keyless HMA client on a listed network: one shared rate limit
        key = NETWORK_KEY
        state.limiter.check(key.id)
        setattr(request.state, _CHECKED, (token, key))
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


def _keyless(request: Request, settings: Settings) -> bool:
    """Whether this keyless request is an HMA route called from a listed network."""
    if not settings.hma_keyless_networks or not is_hma_path(request.url.path):
        return False
    host = request.client.host if request.client else ""
    try:
        address = ip_address(host)
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in settings.hma_keyless_network_list())


def log_keyless_networks(settings: Settings) -> None:
    """Check ``hma_keyless_networks`` (ConfigError for a public range) and, when set, say so
    loudly: callers there reach the HMA routes, curation included, with no key."""
    networks = settings.hma_keyless_network_list()
    if networks:
        log.warning(
            "KEYLESS HMA ACCESS IS ON: clients from %s may call /h, /m and /c (hashing, "
            "matching AND bank curation) without an API key (SAFESPACE_HMA_KEYLESS_NETWORKS)",
            ", ".join(str(n) for n in networks),
        )


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
