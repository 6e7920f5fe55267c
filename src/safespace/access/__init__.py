"""Access to the HTTP service: API keys with scopes, their cache, rate limits, match events.

Public API: :class:`KeyService` (issue, list, revoke, look up keys), :class:`KeyInfo`,
:data:`SCOPES` and :func:`parse_scopes`; :class:`KeyCache` (brief per-process memory of
lookups); :class:`RateLimiter` (per-key token buckets); :func:`record_matches` (match events).
"""

from __future__ import annotations

from safespace.access._cache import KeyCache
from safespace.access._events import (
    MatchEventInfo,
    check_content_id,
    list_events,
    record_matches,
)
from safespace.access._keys import SCOPES, KeyInfo, KeyService, hash_key, parse_scopes
from safespace.access._ratelimit import RateLimiter

__all__ = [
    "SCOPES",
    "KeyCache",
    "KeyInfo",
    "KeyService",
    "MatchEventInfo",
    "RateLimiter",
    "check_content_id",
    "hash_key",
    "list_events",
    "parse_scopes",
    "record_matches",
]
