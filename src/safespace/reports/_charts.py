"""The figures behind the console overview's charts, cached.

A small team looks at these to notice a surge or a bad list: matches per day by bank (the
last 30 days), review items in versus decided per day, the oldest item still waiting, the
false-positive rate per bank and the entries with the most false positives (both over final
decisions of the last 30 days). Days are UTC. :class:`OverviewCharts` recomputes them at
most once per ``ttl`` (a minute by default) by its injected clock: a busy console costs a
few grouped queries a minute, not a few per page view.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from safespace.store import Database, MatchEvent
from safespace.store._models import utcnow
from safespace.store._models_queue import OPEN_ITEM_STATUSES, ReviewItem

__all__ = [
    "CHART_DAYS",
    "WORST_ENTRIES",
    "BankRate",
    "EntryRate",
    "OverviewCharts",
    "OverviewFigures",
    "compute_figures",
]

CHART_DAYS = 30
WORST_ENTRIES = 10
MAX_BANKS = 8  # banks drawn by name per chart; the rest are summed as "other banks"
OTHER_BANKS = "other banks"


@dataclass(frozen=True)
class BankRate:
    bank: str
    decided: int
    false_positives: int

    @property
    def rate(self) -> float:
        return self.false_positives / self.decided if self.decided else 0.0


@dataclass(frozen=True)
class EntryRate:
    bank: str
    entry_id: int
    decided: int
    false_positives: int

    @property
    def rate(self) -> float:
        return self.false_positives / self.decided if self.decided else 0.0


@dataclass(frozen=True)
class OverviewFigures:
    """``days``: the chart's UTC days, oldest first; series are aligned with it."""

    computed_at: datetime
    days: tuple[str, ...]
    matches_by_bank: tuple[tuple[str, tuple[int, ...]], ...]
    items_in: tuple[int, ...]
    items_decided: tuple[int, ...]
    waiting: int
    oldest_waiting_id: int | None
    oldest_waiting_since: datetime | None
    bank_rates: tuple[BankRate, ...]
    worst_entries: tuple[EntryRate, ...]

    def oldest_waiting_hours(self) -> float | None:
        if self.oldest_waiting_since is None:
            return None
        return max(0.0, (self.computed_at - self.oldest_waiting_since).total_seconds() / 3600)


def _day(s: Session, column: Any) -> ColumnElement[str]:
    """The UTC day (``YYYY-MM-DD``) of a stored time, computed by the database."""
    if s.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(column, 1, 10)  # SQLite keeps naive UTC text: "YYYY-MM-DD HH:MM:SS"


def _per_day(s: Session, column: Any, since: datetime, *extra: Any) -> dict[Any, int]:
    day = _day(s, column).label("day")
    query = select(*extra, day, func.count()).where(column >= since).group_by(*extra, day)
    return {tuple(row[:-1]): int(row[-1]) for row in s.execute(query)}


def compute_figures(db: Database, now: datetime, *, days: int = CHART_DAYS) -> OverviewFigures:
    """Every figure the overview draws, at ``now``."""
    first = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    labels = tuple((first + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(days))
    with db.session() as s:
        matches = _per_day(s, MatchEvent.created_at, first, MatchEvent.bank)
        items_in = _per_day(s, ReviewItem.created_at, first)
        decided = _per_day(s, ReviewItem.final_at, first)
        open_items = ReviewItem.status.in_(OPEN_ITEM_STATUSES)
        waiting = int(s.scalar(select(func.count()).where(open_items)) or 0)
        oldest = s.execute(
            select(ReviewItem.id, ReviewItem.created_at)
            .where(open_items)
            .order_by(ReviewItem.created_at, ReviewItem.id)
            .limit(1)
        ).first()
        final = (
            ReviewItem.final_at >= first,
            ReviewItem.status.in_(("confirmed", "false-positive")),
            ReviewItem.bank.is_not(None),
        )
        is_fp = func.sum(case((ReviewItem.status == "false-positive", 1), else_=0))
        bank_rows = s.execute(
            select(ReviewItem.bank, func.count(), is_fp).where(*final).group_by(ReviewItem.bank)
        ).all()
        entry_rows = s.execute(
            select(ReviewItem.bank, ReviewItem.entry_id, func.count(), is_fp)
            .where(*final, ReviewItem.entry_id.is_not(None))
            .group_by(ReviewItem.bank, ReviewItem.entry_id)
            .having(is_fp > 0)
            .order_by(is_fp.desc(), func.count().desc(), ReviewItem.entry_id)
            .limit(WORST_ENTRIES)
        ).all()
    totals: dict[str, int] = {}
    for (bank, _), n in matches.items():
        totals[bank] = totals.get(bank, 0) + n
    ranked = sorted(totals, key=lambda b: (-totals[b], b))
    named = ranked[:MAX_BANKS]
    series: list[tuple[str, tuple[int, ...]]] = [
        (b, tuple(matches.get((b, d), 0) for d in labels)) for b in sorted(named)
    ]
    rest = ranked[MAX_BANKS:]
    if rest:
        other = tuple(sum(matches.get((b, d), 0) for b in rest) for d in labels)
        series.append((OTHER_BANKS, other))
    rates = sorted(
        (BankRate(b, int(n), int(fp or 0)) for b, n, fp in bank_rows),
        key=lambda r: (-r.rate, -r.decided, r.bank),
    )
    worst = tuple(EntryRate(b, int(e), int(n), int(fp or 0)) for b, e, n, fp in entry_rows)
    return OverviewFigures(
        computed_at=now,
        days=labels,
        matches_by_bank=tuple(series),
        items_in=tuple(items_in.get((d,), 0) for d in labels),
        items_decided=tuple(decided.get((d,), 0) for d in labels),
        waiting=waiting,
        oldest_waiting_id=None if oldest is None else int(oldest[0]),
        oldest_waiting_since=None if oldest is None else oldest[1],
        bank_rates=tuple(rates),
        worst_entries=worst,
    )


class OverviewCharts:
    """The figures, recomputed at most once per ``ttl`` by ``clock``; thread-safe."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        ttl: timedelta = timedelta(minutes=1),
    ) -> None:
        self.db = db
        self.clock = clock
        self.ttl = ttl
        self.computed = 0  # how many times the figures were computed (tests read it)
        self._lock = threading.Lock()
        self._figures: OverviewFigures | None = None

    def figures(self) -> OverviewFigures:
        now = self.clock()
        with self._lock:
            cached = self._figures
            if cached is not None and timedelta(0) <= now - cached.computed_at < self.ttl:
                return cached
            self._figures = compute_figures(self.db, now)
            self.computed += 1
            return self._figures

    def invalidate(self) -> None:
        with self._lock:
            self._figures = None
