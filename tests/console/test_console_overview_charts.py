"""The overview's charts: inline SVG with a title, a description and the numbers in tables,
no external asset, figures cached for a minute by the injected clock (never by sleeping)."""

from __future__ import annotations

import re

from console_helpers import Console

from safespace.access import record_matches
from safespace.banks._match_results import Match
from safespace.banks.formats import HashRecord
from safespace.reports._charts import OverviewCharts
from safespace.reports._queue import ReviewQueue, UserReport

MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def _matches(console: Console, bank: str, count: int, first: int = 0) -> None:
    state = console.app.state.safespace
    entry = state.banks.list_entries(bank)[0].id
    for i in range(first, first + count):
        record_matches(
            state.db, f"post-{bank}-{i}", [Match(bank, "normal", entry, "md5", MD5, 0)], None
        )


def test_overview_draws_the_charts_with_tables_and_the_oldest_item(console: Console) -> None:
    state = console.app.state.safespace
    state.banks.create_bank("surge-list")
    state.banks.add_entries("surge-list", [HashRecord("md5", MD5, category="B")])
    _matches(console, "surge-list", 4)
    queue = ReviewQueue(state.db, clock=console.clock)
    item, _ = queue.report(UserReport("post-waiting", "please look"))
    console.app.state.overview_charts = OverviewCharts(state.db, clock=console.clock)
    console.clock.advance(hours=3)
    page = console.signed_in("alice").get("/console").text
    for chart in ("chart-matches", "chart-items"):
        assert f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart}"' in page
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in page
        assert f'<title id="{chart}-title">' in page
        assert f'<desc id="{chart}-desc">' in page
    assert 'id="matches-table"' in page
    assert '<th scope="col">surge-list</th>' in page
    assert re.search(r'<td class="num">4</td>', page)
    assert f'href="/console/items/{item.id}">item #{item.id}</a>' in page
    assert re.search(r'id="oldest-hours">3\.\d hours', page)
    assert "No final decisions on bank matches" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert " style=" not in page  # the CSP allows no inline style


def test_overview_figures_are_cached_for_a_minute(console: Console) -> None:
    state = console.app.state.safespace
    state.banks.create_bank("slow-list")
    state.banks.add_entries("slow-list", [HashRecord("md5", MD5)])
    _matches(console, "slow-list", 1)
    charts = OverviewCharts(state.db, clock=console.clock)
    console.app.state.overview_charts = charts
    client = console.signed_in("alice")

    def total() -> str:
        found = re.search(
            r'<desc id="chart-matches-desc">(\d+) matches', client.get("/console").text
        )
        assert found
        return found.group(1)

    assert total() == "1"
    _matches(console, "slow-list", 2, first=1)
    assert total() == "1"  # the same minute: the cached figures
    assert charts.computed == 1
    console.clock.advance(seconds=61)
    assert total() == "3"
    assert charts.computed == 2
