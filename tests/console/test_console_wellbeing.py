"""Looking after reviewers in the console (issue 11): ``/console/me`` (settings, summary,
support), the blur classes on the item page, the break notice with a moved clock (no
waiting), category opt-outs in the queue and "Claim the next item", and the lead's
``/console/reviewers``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from console_helpers import Clock, Console, MakeConsole, form_token

from queue_rows import add_items
from safespace.reports._queue import ReviewQueue

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _queue(console: Console) -> ReviewQueue:
    queue = console.app.state.review.queue
    assert isinstance(queue, ReviewQueue)
    return queue


def _clocked(make_console: MakeConsole, **overrides: Any) -> tuple[Console, Clock]:
    console = make_console(review_poll_seconds=3600, **overrides)
    clock = Clock(START)
    console.accounts.set_clock(clock)
    _queue(console).clock = clock
    return console, clock


def _token(client: Any, url: str = "/console/me") -> str:
    return form_token(client.get(url).text)


def test_settings_are_saved_checked_and_applied(make_console: MakeConsole) -> None:
    console, clock = _clocked(make_console, review_support_url="https://support.example.org/")
    ids = add_items(_queue(console).db, 3, now=clock.now)
    ann = console.signed_in("ann")
    page = ann.get("/console/me")
    assert page.status_code == 200
    assert 'id="blur-strong" name="blur" value="strong" checked' in page.text
    assert 'id="keep-grey" name="keep_grey" value="yes" checked' in page.text
    assert 'href="https://support.example.org/"' in page.text
    form = {"blur": "medium", "break_minutes": "40", "opt_out": ["C"]}
    refused = ann.post("/console/me", data={**form, "csrf_token": "forged"})
    assert refused.status_code == 403
    bad = ann.post("/console/me", data={**form, "blur": "none", "csrf_token": _token(ann)})
    assert bad.status_code == 400
    assert 'id="settings-error"' in bad.text
    assert 'value="40"' in bad.text  # what was typed is kept
    assert re.search(r'value="C" checked', bad.text)
    bad = ann.post("/console/me", data={**form, "break_minutes": "soon", "csrf_token": _token(ann)})
    assert bad.status_code == 400
    assert 'value="soon"' in bad.text
    saved = ann.post("/console/me", data={**form, "csrf_token": _token(ann)})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/console/me?saved=1"
    assert 'id="settings-saved"' in ann.get(saved.headers["location"]).text
    # keep_grey unticked: revealed media is in colour; the strength is a class, not a style.
    item = ann.get(f"/console/items/{ids[0]}")
    assert item.status_code == 200
    assert 'id="wellbeing-line"' in item.text
    assert "style=" not in item.text


def test_item_page_media_gets_the_reviewer_classes(make_console: MakeConsole) -> None:
    from fastapi.testclient import TestClient

    from datafiles import BRIDGE

    key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # test-only, bytes 0..31
    console, _ = _clocked(make_console, review_store_media=True, evidence_key=key)
    _, secret = console.app.state.safespace.keys.create(["match", "curate"], name="t")
    api = TestClient(console.app)
    with BRIDGE.open("rb") as f:
        response = api.post(
            "/v1/reports",
            headers={"Authorization": f"Bearer {secret}"},
            files={"file": ("a.jpg", f, "image/jpeg")},
            data={"content_id": "img-1", "reason": "reported"},
        )
    assert response.status_code == 201, response.text
    item = response.json()["item_id"]
    ann = console.signed_in("ann")
    page = ann.get(f"/console/items/{item}").text
    assert 'class="protected-media blur-strong keep-grey"' in page
    form = {"blur": "light", "break_minutes": "", "csrf_token": _token(ann)}
    assert ann.post("/console/me", data=form).status_code == 303
    page = ann.get(f"/console/items/{item}").text
    assert 'class="protected-media blur-light"' in page


def test_break_notice_after_continuous_review_and_not_now(make_console: MakeConsole) -> None:
    console, clock = _clocked(make_console, review_break_minutes=30)
    ids = add_items(_queue(console).db, 10, now=clock.now)
    ann = console.signed_in("ann")
    for n in range(4):  # a claim every 10 minutes: 30 minutes of continuous review
        token = _token(ann, "/console/queue")
        assert ann.post(f"/console/items/{ids[n]}/claim", data={"csrf_token": token}).is_redirect
        if n < 3:
            clock.advance(minutes=10)
    queue_page = ann.get("/console/queue").text
    assert 'id="break-notice"' in queue_page
    assert "reviewing for 30 minutes" in queue_page
    assert 'id="break-notice"' in ann.get(f"/console/items/{ids[0]}").text
    token = _token(ann, "/console/queue")
    back = f"/console/items/{ids[0]}"
    done = ann.post("/console/me/break", data={"csrf_token": token, "back": back})
    assert done.status_code == 303
    assert done.headers["location"] == back
    assert 'id="break-notice"' not in ann.get("/console/queue").text
    # Never an open redirect.
    away = ann.post("/console/me/break", data={"csrf_token": token, "back": "https://x.test/"})
    assert away.headers["location"] == "/console"
    # Others are not reminded of ann's work.
    bob = console.signed_in("bob")
    assert 'id="break-notice"' not in bob.get("/console/queue").text


def test_opted_out_categories_are_never_handed_over(make_console: MakeConsole) -> None:
    console, clock = _clocked(make_console)
    ids = add_items(_queue(console).db, 4, now=clock.now, category="C")
    ann = console.signed_in("ann")
    form = {"blur": "strong", "keep_grey": "yes", "opt_out": ["C"], "csrf_token": _token(ann)}
    assert ann.post("/console/me", data=form).status_code == 303
    queue_page = ann.get("/console/queue").text
    assert 'id="opt-out-note"' in queue_page
    assert "Waiting (0)" in queue_page
    token = _token(ann, "/console/queue")
    nothing = ann.post("/console/queue/next", data={"csrf_token": token})
    assert "Nothing+to+claim" in nothing.headers["location"]
    filtered = ann.get("/console/queue?category=C").text  # asked for: shown, still not handed
    assert "Waiting, filtered (4)" in filtered
    nothing = ann.post("/console/queue/next", data={"csrf_token": token, "filter": "category=C"})
    assert "Nothing+to+claim" in nothing.headers["location"]
    assert ann.get(f"/console/items/{ids[0]}").status_code == 200  # a linked item opens
    bob = console.signed_in("bob")
    got = bob.post("/console/queue/next", data={"csrf_token": _token(bob, "/console/queue")})
    assert got.headers["location"].startswith("/console/items/")


def test_lead_view_of_reviewers(make_console: MakeConsole) -> None:
    console, clock = _clocked(make_console, review_break_minutes=20)
    ids = add_items(_queue(console).db, 4, now=clock.now)
    ann = console.signed_in("ann")
    form = {"blur": "strong", "keep_grey": "yes", "opt_out": ["B"], "csrf_token": _token(ann)}
    assert ann.post("/console/me", data=form).status_code == 303
    for n in range(3):
        token = _token(ann, "/console/queue")
        ann.post(f"/console/items/{ids[n]}/claim", data={"csrf_token": token})
        clock.advance(minutes=10)
    assert ann.get("/console/reviewers").status_code == 403
    lee = console.signed_in("lee", "lead")
    page = lee.get("/console/reviewers")
    assert page.status_code == 200
    row = re.search(r"<th scope=\"row\">ann .*?</tr>", page.text, re.S)
    assert row is not None
    assert "<td>B</td>" in row.group(0)
    assert "over the break time" in row.group(0)
    assert "<td>30 min</td>" in row.group(0)  # claims at 0, 10, 20 minutes; now 30
    assert console.signed_in("ada", "admin").get("/console/reviewers").status_code == 200
