"""Prometheus gauges per bank source (exchange), read from the database at scrape time.

Read from the source rows, so every worker and machine reports the same figures whichever
process fetched: entries held, entries fetched and removed so far, pages applied,
consecutive failures, whether the last try succeeded, and when it last succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from safespace.store import Database
from safespace.store._models_exchanges import ExchangeEntry, ExchangeSource

__all__ = ["ExchangeCollector"]

log = logging.getLogger("safespace.api")


class ExchangeCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        try:
            with self.db.session() as s:
                x = ExchangeSource
                rows = s.execute(
                    select(
                        x.id, x.name, x.type, x.fetched, x.removed, x.pages,
                        x.consecutive_failures, x.last_success_at,
                    ).order_by(x.name)
                ).all()  # fmt: skip
                held = dict(
                    s.execute(
                        select(ExchangeEntry.source_id, func.count()).group_by(
                            ExchangeEntry.source_id
                        )
                    ).all()
                )
        except Exception as exc:  # a scrape must not fail because the database is down
            log.warning("metrics: exchange gauges skipped: %s", type(exc).__name__)
            return
        labels = ["source", "type"]
        gauges = {
            "entries": GaugeMetricFamily(
                "safespace_exchange_entries", "Bank entries a source holds now", labels=labels
            ),
            "fetched": GaugeMetricFamily(
                "safespace_exchange_fetched", "Entries a source added or changed", labels=labels
            ),
            "removed": GaugeMetricFamily(
                "safespace_exchange_removed", "Entries a source removed", labels=labels
            ),
            "pages": GaugeMetricFamily(
                "safespace_exchange_pages", "Pages applied from a source", labels=labels
            ),
            "failures": GaugeMetricFamily(
                "safespace_exchange_consecutive_failures",
                "Failed fetches of a source since its last success",
                labels=labels,
            ),
            "up": GaugeMetricFamily(
                "safespace_exchange_up",
                "1 when a source's last fetch succeeded (0: failing or never fetched)",
                labels=labels,
            ),
            "success": GaugeMetricFamily(
                "safespace_exchange_last_success_timestamp_seconds",
                "When a source's last successful fetch ended (Unix time)",
                labels=labels,
            ),
        }
        for row in rows:
            key = [row.name, row.type]
            gauges["entries"].add_metric(key, float(held.get(row.id, 0)))
            gauges["fetched"].add_metric(key, float(row.fetched))
            gauges["removed"].add_metric(key, float(row.removed))
            gauges["pages"].add_metric(key, float(row.pages))
            gauges["failures"].add_metric(key, float(row.consecutive_failures))
            ok = row.last_success_at is not None and row.consecutive_failures == 0
            gauges["up"].add_metric(key, 1.0 if ok else 0.0)
            if row.last_success_at is not None:
                gauges["success"].add_metric(key, row.last_success_at.timestamp())
        yield from gauges.values()
