"""The review queue page for thousands of items: filters and search as GET parameters with
totals and paging that keep them, a 400 page for bad ones, the escalation and retro-match
views, decide-and-next within a filter with a preset reason, and bulk actions with a
confirm step."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from console_helpers import Console

from queue_rows import add_items
from safespace.reports._queue import QueueFilter, ReviewQueue, count_filtered

COUNT = 260
_ROW = re.compile(r'name="items" value="(\d+):([0-9a-f]{12})"')


def _queue(console: Console) -> ReviewQueue:
    queue = console.app.state.review.queue
    assert isinstance(queue, ReviewQueue)
    return queue


@pytest.fixture
def filled(console: Console) -> Console:
    add_items(_queue(console).db, COUNT)
    return console


def _rows(html: str) -> list[tuple[int, str]]:
    return [(int(i), s) for i, s in _ROW.findall(html)]


def test_a_filter_sets_the_total_and_paging_keeps_it(filled: Console) -> None:
    client = filled.signed_in("ann")
    whole = client.get("/console/queue")
    assert f"Waiting ({COUNT})" in whole.text
    total = count_filtered(_queue(filled), QueueFilter(source="match"))
    assert 100 < total < COUNT
    first = client.get("/console/queue", params={"source": "match"})
    assert first.status_code == 200
    assert f"Waiting, filtered ({total})" in first.text
    assert f"of {total} matching the filter" in first.text
    assert 'href="/console/queue?source=match&amp;page=2"' in first.text
    second = client.get("/console/queue", params={"source": "match", "page": "2"})
    seen = {i for i, _ in _rows(first.text)} | {i for i, _ in _rows(second.text)}
    assert len(seen) == 200
    assert {_queue(filled).get(i).source for i in seen} == {"match"}
    # The item links carry the filter, for next and previous on the item page.
    assert "/console/items/" in first.text
    assert "?filter=source%3Dmatch" in first.text


def test_search_views_and_sorting(filled: Console) -> None:
    client = filled.signed_in("ann")
    found = client.get("/console/queue", params={"q": "content-17"})
    assert len(_rows(found.text)) == 1
    assert "Waiting, filtered (1)" in found.text
    retro = client.get("/console/queue", params={"view": "retro"})
    assert f"Retro-matches ({COUNT // 10})" in retro.text
    assert f"Waiting, filtered ({COUNT // 10})" in retro.text
    assert re.search(r'id="view-retro" aria-current="page"', retro.text)
    esc = client.get("/console/queue", params={"view": "escalations"})
    assert "Escalations (0)" in esc.text
    assert "No waiting item matches this filter" in esc.text
    oldest = _rows(client.get("/console/queue", params={"sort": "oldest"}).text)
    newest = _rows(client.get("/console/queue", params={"sort": "newest"}).text)
    queue = _queue(filled)
    assert queue.get(oldest[0][0]).created_at < queue.get(newest[0][0]).created_at


@pytest.mark.parametrize(
    "params",
    [
        {"source": "nowhere"},
        {"status": "confirmed"},
        {"sort": "random"},
        {"older": "soon"},
        {"view": "everything"},
        {"claimed": "<script>"},
        {"q": "x" * 400},
    ],
)
def test_bad_parameters_get_the_console_400_page(console: Console, params: dict[str, str]) -> None:
    client = console.signed_in("ann")
    response = client.get("/console/queue", params=params)
    assert response.status_code == 400
    assert "<h1>Bad request</h1>" in response.text
    assert "must" in response.text  # says what is allowed
    assert "<script>" not in response.text.split("<main", 1)[1]


def test_decide_and_next_stays_in_the_filter_with_a_preset_reason(filled: Console) -> None:
    client = filled.signed_in("ann")
    token = filled.csrf(client)
    queue = _queue(filled)
    claimed = client.post(
        "/console/queue/next", data={"csrf_token": token, "filter": "source=retro"}
    )
    assert claimed.status_code == 303
    first = urlsplit(claimed.headers["location"])
    assert parse_qs(first.query) == {"filter": ["source=retro"]}
    first_id = int(first.path.rsplit("/", 1)[1])
    assert queue.get(first_id).source == "retro"
    preset = filled.app.state.safespace.settings.review_reasons()[1]
    form = {"csrf_token": token, "decision": "false-positive", "reason": "", "preset": preset}
    decided = client.post(
        f"/console/items/{first_id}/decide", data={**form, "next": "yes", "filter": "source=retro"}
    )
    assert decided.status_code == 303
    second = urlsplit(decided.headers["location"])
    second_id = int(second.path.rsplit("/", 1)[1])
    assert second_id != first_id
    assert queue.get(second_id).source == "retro"
    assert queue.get(second_id).claimed_by == "ann"
    assert queue.get(first_id).status == "false-positive"
    assert queue.decisions(first_id)[-1].reason == preset
    # A reason that is not one of the presets is not taken from the preset field.
    refused = client.post(
        f"/console/items/{second_id}/decide", data={**form, "preset": "made up here"}
    )
    assert refused.status_code == 400
    assert queue.get(second_id).status == "open"


def test_item_page_has_keyboard_help_and_queue_neighbours(filled: Console) -> None:
    client = filled.signed_in("ann")
    retro = _rows(client.get("/console/queue", params={"view": "retro"}).text)
    middle = retro[3][0]
    page = client.get(f"/console/items/{middle}", params={"filter": "source=retro"})
    assert page.status_code == 200, page.text
    html = page.text
    assert re.search(r'<script src="/static/js/review-keys\.js\?v=[^"]+" defer>', html)
    assert "<summary>Keyboard shortcuts</summary>" in html
    assert f'href="/console/items/{retro[2][0]}?filter=source%3Dretro" id="prev-item"' in html
    assert f'href="/console/items/{retro[4][0]}?filter=source%3Dretro" id="next-item"' in html
    js = client.get("/static/js/review-keys.js")
    assert js.status_code == 200
    assert "isContentEditable" in js.text


def test_bulk_false_positive_needs_a_lead_and_a_confirmation(filled: Console) -> None:
    queue = _queue(filled)
    lead = filled.signed_in("lea", "lead")
    reviewer = filled.signed_in("ann")
    rows = _rows(lead.get("/console/queue", params={"source": "match"}).text)[:4]
    picked = [f"{i}:{s}" for i, s in rows]
    token = filled.csrf(lead)
    form = {"csrf_token": token, "action": "false-positive", "items": picked}
    # Someone else claims one row after the page was drawn.
    queue.claim(rows[0][0], "ann", "reviewer")
    no_reason = lead.post("/console/queue/bulk", data={**form, "confirmed": "yes"})
    assert no_reason.status_code == 400
    check = lead.post("/console/queue/bulk", data={**form, "reason": "benign: not listed"})
    assert check.status_code == 200
    assert "Confirm: mark as false positive 4 items" in check.text
    assert {queue.get(i).status for i, _ in rows} == {"open"}  # nothing changed yet
    done = lead.post(
        "/console/queue/bulk", data={**form, "reason": "benign: not listed", "confirmed": "yes"}
    )
    assert done.status_code == 200
    assert "Marked as false positive: 3 items" in done.text
    assert f'<a href="/console/items/{rows[0][0]}">#{rows[0][0]}</a>: changed' in done.text
    assert [queue.get(i).status for i, _ in rows] == ["open"] + ["false-positive"] * 3
    ann_form = {**form, "csrf_token": filled.csrf(reviewer), "reason": "x" * 5}
    refused = reviewer.post("/console/queue/bulk", data={**ann_form, "confirmed": "yes"})
    assert refused.status_code == 403
    assert "lead" in refused.text


def test_bulk_release_of_your_claims(filled: Console) -> None:
    queue = _queue(filled)
    ann = filled.signed_in("ann")
    token = filled.csrf(ann)
    for _ in range(2):
        assert ann.post("/console/queue/next", data={"csrf_token": token}).status_code == 303
    page = ann.get("/console/queue", params={"claimed": "ann"})
    rows = _rows(page.text)
    assert len(rows) == 2
    assert 'value="false-positive"' not in page.text  # a reviewer is offered release only
    form = {"csrf_token": token, "action": "release", "reason": "end of my shift"}
    form |= {"items": [f"{i}:{s}" for i, s in rows], "confirmed": "yes"}
    done = ann.post("/console/queue/bulk", data={**form, "filter": "claimed=ann"})
    assert "Released: 2 items" in done.text
    assert 'href="/console/queue?claimed=ann" id="back-to-queue"' in done.text
    assert all(queue.get(i).claimed_by is None for i, _ in rows)
    bad = ann.post("/console/queue/bulk", data={**form, "items": ["12:nothex"]})
    assert bad.status_code == 400
