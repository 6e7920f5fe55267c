"""``GET /metrics``: Prometheus text format, per process.

Each app has its own registry (no global state, so tests and workers never share one).
Request counts and latencies are counted by a pure ASGI middleware, labelled by the route
*template* (``/v1/banks/{name}``, never the raw path) so label values stay few. Index size,
import jobs by status and matcher freshness are read when scraped. With several workers
each answers for itself (docs/api.md, "Metrics").
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safespace.api._auth import bearer
from safespace.api._deps import State, admin_key
from safespace.api._exchange_metrics import ExchangeCollector
from safespace.api._freshness import MatcherHolder
from safespace.api._state import ServiceState
from safespace.banks._match_results import Match
from safespace.store import Bank, BankEntry, Database

__all__ = ["MetricsMiddleware", "ServiceMetrics", "observe_matches", "router"]

log = logging.getLogger("safespace.api")

_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_UNMATCHED = "<unmatched>"
_INDEX_CACHE_SECONDS = 30.0


class _StateCollector(Collector):
    """Gauges read at scrape time from the matcher and the database."""

    def __init__(
        self, holder: MatcherHolder, db: Database, job_counts: Callable[[], dict[str, int]] | None
    ) -> None:
        self.holder = holder
        self.db = db
        self.job_counts = job_counts
        self._index: tuple[float, int | None, dict[str, int]] = (0.0, None, {})

    def collect(self) -> Iterator[Metric]:
        status = self.holder.status()
        seq = int(status["seq"]) if status.get("ready") else None
        yield GaugeMetricFamily(
            "safespace_matcher_ready", "1 when this worker's matcher is loaded and current",
            value=1.0 if status.get("ready") else 0.0,
        )  # fmt: skip
        if seq is not None:
            yield GaugeMetricFamily(
                "safespace_matcher_entries", "Entries in this worker's matcher",
                value=float(status["entries"]),
            )  # fmt: skip
            yield GaugeMetricFamily(
                "safespace_matcher_change_seq", "Last change-log sequence number applied",
                value=float(seq),
            )  # fmt: skip
        if status.get("lag") is not None:
            yield GaugeMetricFamily(
                "safespace_matcher_lag_changes",
                "Change-log entries not yet applied to this worker's matcher",
                value=float(status["lag"]),
            )
        age = _refresh_age(self.holder)
        if age is not None:
            yield GaugeMetricFamily(
                "safespace_matcher_refresh_age_seconds",
                "Seconds since this worker's matcher last refreshed from the change log",
                value=age,
            )
        try:
            index = GaugeMetricFamily(
                "safespace_index_entries",
                "Active entries (entry and bank enabled) by signal type",
                labels=["signal_type"],
            )
            for kind, n in sorted(self._index_counts(seq).items()):
                index.add_metric([kind], float(n))
            yield index
            if self.job_counts is not None:
                jobs = GaugeMetricFamily(
                    "safespace_import_jobs", "Import jobs by status", labels=["status"]
                )
                for name, n in self.job_counts().items():
                    jobs.add_metric([name], float(n))
                yield jobs
        except Exception as exc:  # a scrape must not fail because the database is down
            log.warning("metrics: database gauges skipped: %s", type(exc).__name__)

    def _index_counts(self, seq: int | None) -> dict[str, int]:
        """Counted in the database, again only when the change log moved (or every 30 s)."""
        at, cached_seq, counts = self._index
        now = time.monotonic()
        fresh = seq == cached_seq if seq is not None else now - at < _INDEX_CACHE_SECONDS
        if at and fresh:
            return counts
        e = BankEntry
        with self.db.session() as s:
            rows = s.execute(
                select(e.signal_type, func.count())
                .join(Bank, Bank.id == e.bank_id)
                .where(e.enabled.is_(True), Bank.enabled.is_(True))
                .group_by(e.signal_type)
            )
            counts = {str(k): int(n) for k, n in rows}
        self._index = (now, seq, counts)
        return counts


def _refresh_age(holder: MatcherHolder) -> float | None:
    """Seconds since the holder's last successful refresh, where it tells."""
    last = getattr(holder, "_last_ok", None)
    if not isinstance(last, float) or last <= 0:
        return None
    return max(0.0, time.monotonic() - last)


class ServiceMetrics:
    """One app's registry: request counters and histograms, matches, and the state gauges."""

    def __init__(
        self, state: ServiceState, job_counts: Callable[[], dict[str, int]] | None = None
    ) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "safespace_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "safespace_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.matches = Counter(
            "safespace_matches",
            "Bank entries matched (after allow banks), by bank and signal type",
            ["bank", "signal_type"],
            registry=self.registry,
        )
        self.registry.register(_StateCollector(state.matcher, state.db, job_counts))
        self.registry.register(ExchangeCollector(state.db))

    def observe_matches(self, matches: Iterable[Match]) -> None:
        for m in matches:
            self.matches.labels(m.bank, m.signal_type).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def observe_matches(request: Request, matches: Iterable[Match]) -> None:
    """Count reported matches (a no-op on an app built without metrics)."""
    metrics = getattr(request.app.state, "metrics", None)
    if isinstance(metrics, ServiceMetrics):
        metrics.observe_matches(matches)


class MetricsMiddleware:
    """Counts every HTTP request once, by the template of the route that answered it."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or _UNMATCHED
            method = str(scope.get("method", "GET"))
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - start)


async def _metrics_reader(
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """The metrics token, if one is configured, or else an admin key."""
    token = state.settings.metrics_token
    if token is not None and credentials is not None:
        given = credentials.credentials.encode("utf-8")
        if hmac.compare_digest(given, token.get_secret_value().encode("utf-8")):
            return
    await admin_key(request, credentials)


router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    summary="Prometheus metrics of this worker (admin key or the metrics token)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
def metrics(request: Request, _: Annotated[None, Depends(_metrics_reader)]) -> Response:
    registry: Any = getattr(request.app.state, "metrics", None)
    body = registry.render() if isinstance(registry, ServiceMetrics) else b""
    return Response(body, media_type=CONTENT_TYPE_LATEST)
