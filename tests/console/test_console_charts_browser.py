"""In Chromium against a real server: the overview's SVG charts render (no CSP complaint, no
request leaves the server), and the item page shows its history, related items and notes,
and takes a note."""

from __future__ import annotations

from typing import Any

from console_helpers import PASSWORD, LiveServer

from safespace.access import record_matches
from safespace.banks._match_results import Match
from safespace.banks.formats import HashRecord
from safespace.reports._item_context import add_note
from safespace.reports._queue import ReviewQueue, UserReport

MD5 = "d35c785545392755e7e4164457657269"


def _sign_in(page: Any, server: LiveServer, name: str) -> None:
    page.goto(f"{server.url}/console")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_charts_render_and_the_item_page_shows_history_neighbours_notes(
    page: Any, live_server: LiveServer
) -> None:
    state = live_server.app.state.safespace
    state.banks.create_bank("chart-bank")
    state.banks.add_entries("chart-bank", [HashRecord("md5", MD5, source="test list")])
    entry = state.banks.list_entries("chart-bank")[0].id
    for i in range(3):
        record_matches(state.db, f"post/{i}", [Match("chart-bank", "normal", entry, "md5", MD5, 0)],
                       None)  # fmt: skip
    queue = ReviewQueue(state.db)
    queue.sync()  # the matched posts become items now, not when the review thread next wakes
    first, _ = queue.report(UserReport("post/a", "looks wrong", account_id="acct-1",
                                       hashes={"md5": MD5}))  # fmt: skip
    second, _ = queue.report(UserReport("post/b", "again", account_id="acct-1"))
    add_note(state.db, first.id, "rita", "Asked the platform for context.")
    live_server.accounts.users.create("rita", "reviewer", PASSWORD)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    outside: list[str] = []
    page.on(
        "request", lambda r: None if r.url.startswith(live_server.url) else outside.append(r.url)
    )

    _sign_in(page, live_server, "rita")
    for chart in ("#chart-matches", "#chart-items"):
        svg = page.locator(f"svg{chart}")
        assert svg.is_visible()
        box = svg.bounding_box()
        assert box is not None
        assert box["width"] > 300
        assert box["height"] > 80
        assert svg.get_attribute("role") == "img"
    assert page.locator("svg#chart-matches rect[fill]").count() >= 2  # a column and the legend
    assert "item #" in page.locator("#oldest-waiting").inner_text()
    page.get_by_text("Matches per day by bank: the numbers").click()
    assert page.locator("#matches-table").is_visible()

    page.goto(f"{live_server.url}/console/items/{first.id}")
    history = page.locator("#history")
    assert history.is_visible()
    assert "Asked the platform for context." in history.inner_text()
    assert page.locator("#same-account").is_visible()
    assert f"Item #{second.id}" in page.locator("#same-account").inner_text()
    assert page.locator("#same-hash").is_visible()  # the matched posts share its MD5
    page.get_by_label("Add a note for the next reviewer").fill("Second note, from the browser.")
    page.get_by_role("button", name="Add note").click()
    page.wait_for_load_state()
    assert "Second note, from the browser." in page.locator("#history").inner_text()
    page.set_viewport_size({"width": 320, "height": 700})  # a small phone: nothing sideways
    for path in ("/console", f"/console/items/{first.id}"):
        page.goto(f"{live_server.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, (path, width)
    assert not [p for p in problems if "Content Security Policy" in p], problems
    assert outside == []
