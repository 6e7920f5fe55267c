"""The overview page's charts: the cached figures (:mod:`safespace.reports._charts`) drawn as
inline SVG by :mod:`safespace.web._svg`, each with the table of its numbers."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from safespace.reports._charts import CHART_DAYS, OverviewCharts, OverviewFigures
from safespace.web._svg import bar_rows, columns_by_day

__all__ = ["OverviewSvgs", "charts_of", "draw"]


@dataclass(frozen=True)
class OverviewSvgs:
    figures: OverviewFigures
    matches: str
    items: str
    bank_rates: str
    worst_entries: str


def charts_of(request: Request) -> OverviewCharts:
    """The app's one cache (made on first use, on the review queue's clock when there is
    one, so a test that moves the queue's clock moves the charts' too)."""
    state = request.app.state
    charts = getattr(state, "overview_charts", None)
    if isinstance(charts, OverviewCharts):
        return charts
    queue = getattr(getattr(state, "review", None), "queue", None)
    db = state.safespace.db
    if queue is not None and callable(getattr(queue, "clock", None)):
        charts = OverviewCharts(db, clock=lambda: queue.clock())
    else:
        charts = OverviewCharts(db)
    state.overview_charts = charts
    return charts


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def draw(figures: OverviewFigures) -> OverviewSvgs:
    days = figures.days
    total_matches = sum(sum(v) for _, v in figures.matches_by_bank)
    matches = columns_by_day(
        "chart-matches",
        f"Matches per day by bank, last {CHART_DAYS} days",
        f"{total_matches} matches in {len(figures.matches_by_bank)} banks from {days[0]} to "
        f"{days[-1]} (UTC days), one stacked column per day. The table below has every number.",
        days,
        figures.matches_by_bank,
    )
    items = columns_by_day(
        "chart-items",
        f"Review items in and decided per day, last {CHART_DAYS} days",
        f"{sum(figures.items_in)} items came in and {sum(figures.items_decided)} were decided "
        f"for good from {days[0]} to {days[-1]}; two columns per day, in then decided.",
        days,
        [("in", figures.items_in), ("decided", figures.items_decided)],
        stacked=False,
    )
    rates = bar_rows(
        "chart-bank-rates",
        f"False-positive rate per bank, last {CHART_DAYS} days",
        "The share of final decisions on each bank's matches that were false positives.",
        [(r.bank, r.rate, f"{_percent(r.rate)} of {r.decided}") for r in figures.bank_rates[:12]],
    )
    most = max((e.false_positives for e in figures.worst_entries), default=1)
    worst = bar_rows(
        "chart-worst-entries",
        "Entries with the most false positives",
        "Bank entries whose matches reviewers most often found to be false positives.",
        [
            (
                f"{e.bank} #{e.entry_id}",
                float(e.false_positives),
                f"{e.false_positives} of {e.decided}",
            )
            for e in figures.worst_entries
        ],
        maximum=float(most),
    )
    return OverviewSvgs(figures, matches, items, rates, worst)
