"""What one app instance holds: settings, database, services, key cache, limiter, matcher."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request

from safespace.access import KeyCache, KeyService, RateLimiter
from safespace.api._freshness import MatcherHolder
from safespace.banks import BankService
from safespace.config import Settings
from safespace.signals import DecodeLimits
from safespace.store import Database

__all__ = ["KEY_CACHE_SECONDS", "RATE_LIMIT_FILE", "ServiceState", "get_state"]

# Revocation must take effect within a second on every worker; see safespace.access._cache.
KEY_CACHE_SECONDS = 0.5
# The API keys' token buckets, shared by the workers on this machine.
RATE_LIMIT_FILE = "ratelimits.bin"


@dataclass
class ServiceState:
    settings: Settings
    db: Database
    banks: BankService
    keys: KeyService
    key_cache: KeyCache
    limiter: RateLimiter
    matcher: MatcherHolder
    limits: DecodeLimits

    @classmethod
    def build(cls, settings: Settings, db: Database, *, serving: bool = False) -> ServiceState:
        """``serving``: this process is a server worker (see :mod:`safespace._serving`)."""
        keys = KeyService(db)
        per_cluster = settings.rate_limit_scope == "cluster"
        return cls(
            settings=settings,
            db=db,
            banks=BankService(db),
            keys=keys,
            key_cache=KeyCache(keys.lookup, ttl=KEY_CACHE_SECONDS),
            limiter=RateLimiter(
                settings.rate_limit_per_second,
                settings.rate_limit_burst,
                shared_path=settings.data_dir / RATE_LIMIT_FILE,
                cluster_db=db if per_cluster else None,
                clock=time.time if per_cluster else time.monotonic,  # machines share wall time
            ),
            matcher=MatcherHolder(
                db,
                min_quality=settings.min_pdq_quality,
                interval=settings.matcher_refresh_seconds,
                snapshot_dir=settings.data_dir / "snapshots"
                if settings.matcher_snapshots
                else None,
                snapshot_min_changes=settings.snapshot_min_changes,
                freeze_gc=serving,
                change_log_retention=timedelta(days=settings.change_log_retention_days)
                if settings.change_log_retention_days
                else None,
                max_lag=settings.readiness_max_lag_changes or None,
            ),
            limits=DecodeLimits.from_settings(settings),
        )


def get_state(request: Request) -> ServiceState:
    state = request.app.state.safespace
    assert isinstance(state, ServiceState)
    return state
