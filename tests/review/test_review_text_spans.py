"""Text matches in the review queue: a match event keeps the listed expression and the span,
never the post's text; items, webhooks and referrals carry them; the item page shows them,
and a bounded, sealed excerpt only when the operator allows one.

Placeholder data only (example.org, ``placeholder-term-N``)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from review_helpers import EVIDENCE_KEY
from sqlalchemy import select

from safespace.access import list_events, record_matches
from safespace.banks._match_results import Match
from safespace.banks._text_match import TextMatch
from safespace.reports._evidence import load_master_key
from safespace.reports._queue import ReviewPolicy, ReviewQueue
from safespace.reports._referrals import Reporter, validate_cybertip
from safespace.reports._text_excerpts import ExcerptSealer, rewrap_excerpts
from safespace.signals import KEYWORD, URL
from safespace.store import Database, MatchEvent
from safespace.store._models_reports import WebhookAction

POST = "pony hxxps://www[.]example[.]org/listed/page.html?ref=2 and placeholder-term-1 here"
LINK = "hxxps://www[.]example[.]org/listed/page.html?ref=2"
SECRET = "w" * 32


def _text_matches() -> list[TextMatch]:
    start = POST.index(LINK)
    kw = POST.index("placeholder-term-1")
    return [
        TextMatch(
            Match("urls", "normal", 1, URL.name, "example.org/listed/page.html", 0),
            start,
            start + len(LINK),
        ),
        TextMatch(
            Match("words", "normal", 2, KEYWORD.name, "placeholder-term-1", 0),
            kw,
            kw + len("placeholder-term-1"),
        ),
    ]


def _all_stored_text(database: Database) -> str:
    with database.session() as s:
        rows = s.scalars(select(MatchEvent)).all()
        return json.dumps([[str(v) for v in vars(r).values()] for r in rows])


def test_events_keep_expression_and_span_and_items_carry_them(database: Database) -> None:
    assert record_matches(database, "post-t1", _text_matches(), None, {}) == 2
    events = sorted(list_events(database, content_id="post-t1"), key=lambda e: e.id)
    assert [(e.signal_type, e.expression) for e in events] == [
        (URL.name, "example.org/listed/page.html"),
        (KEYWORD.name, "placeholder-term-1"),
    ]
    assert POST[events[0].span_start : events[0].span_end] == LINK  # type: ignore[misc]
    assert POST[events[1].span_start : events[1].span_end] == "placeholder-term-1"  # type: ignore[misc]
    stored = _all_stored_text(database)
    assert "pony" not in stored
    assert "here" not in stored
    assert LINK not in stored

    queue = ReviewQueue(
        database, ReviewPolicy(webhook_url="http://127.0.0.1:9/h", webhook_secret=SECRET)
    )
    assert queue.sync() == 1  # one item per content id
    (item,) = [i for i in queue.list_items() if i.content_id == "post-t1"]
    spans = [(t["signal_type"], t["expression"], t["start"], t["end"]) for t in item.text_spans]
    assert spans == [(e.signal_type, e.expression, e.span_start, e.span_end) for e in events]
    assert item.to_dict()["text_spans"][0]["excerpt"] is False

    queue.claim(item.id, "ann", "reviewer")
    queue.decide(item.id, "ann", "reviewer", "confirm", "clear", "B1")
    with database.session() as s:
        payloads = [json.loads(a.payload) for a in s.scalars(select(WebhookAction))]
    assert payloads
    for payload in payloads:
        target = payload.get("target", payload)
        found = json.dumps(payload)
        assert "example.org/listed/page.html" in found
        assert "placeholder-term-1" in found
        assert "pony" not in found
        assert LINK not in found
        assert target is not None
    take_down = json.dumps(payloads)
    assert f'"start": {events[0].span_start}' in take_down or (
        f'"start":{events[0].span_start}' in take_down
    )

    reporter = Reporter(email="safety@example.org", platform="Example")
    body, _ = queue.export_referral(item.id, "json", "user:ann", reporter)
    referral = json.loads(body)
    xml, _ = queue.export_referral(item.id, "xml", "user:ann", reporter)
    validate_cybertip(xml, what="report")
    assert b"example.org/listed/page.html" in xml
    assert LINK.encode() not in xml
    assert referral["content"]["text_matches"] == [
        {"signal_type": s[0], "expression": s[1], "start": s[2], "end": s[3]} for s in spans
    ]
    assert LINK.encode() not in body
    assert b"pony" not in body


def test_excerpts_are_sealed_bounded_and_rewrapped(database: Database) -> None:
    key = load_master_key(EVIDENCE_KEY)
    sealer = ExcerptSealer(key, 6)
    (url_match, _) = _text_matches()
    sealed = sealer.seal("post-t2", POST, url_match.start, url_match.end)
    assert b"example" not in sealed.data
    assert b"pony" not in sealed.data
    opened = sealer.open("post-t2", url_match.start, url_match.end, sealed)
    assert (opened.before, opened.matched, opened.after) == ("pony ", LINK, " and p")

    def seal(t: TextMatch) -> tuple[bytes, str, bytes]:
        s = sealer.seal("post-t2", POST, t.start, t.end)
        return s.data, s.key_id, s.wrapped_key

    record_matches(database, "post-t2", [url_match], None, {}, excerpt=seal)
    new_key = bytes(range(32, 64))
    assert rewrap_excerpts(database, key, new_key) == 1
    with database.session() as s:
        row = s.scalars(select(MatchEvent).where(MatchEvent.content_id == "post-t2")).one()
        assert row.excerpt is not None
        assert row.excerpt_wrapped_key is not None
        from safespace.reports._text_excerpts import SealedExcerpt

        again = ExcerptSealer(new_key, 6).open(
            "post-t2",
            url_match.start,
            url_match.end,
            SealedExcerpt(row.excerpt, row.excerpt_key_id or "", row.excerpt_wrapped_key),
        )
    assert again.matched == LINK


def _post_text(app: Any, content_id: str) -> None:
    client = TestClient(app.app)
    headers = app.api_key("match,curate")
    lists = {
        "urls": [{"signal_type": URL.name, "value": "https://example.org/listed/page.html"}],
        "words": [{"signal_type": KEYWORD.name, "value": "placeholder-term-1"}],
    }
    for bank, entries in lists.items():
        assert client.post("/v1/banks", json={"name": bank}, headers=headers).is_success
        url = f"/v1/banks/{bank}/entries"
        assert client.post(url, json={"entries": entries}, headers=headers).status_code == 201
    body = {"text": POST, "content_id": content_id}
    response = client.post("/v1/match", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["events_recorded"] == 2
    app.app.state.review.queue.sync()


def test_item_page_shows_expression_and_span_and_no_text_by_default(make_app: Any) -> None:
    app = make_app()
    _post_text(app, "post-p1")
    queue = app.app.state.review.queue
    (item,) = [i for i in queue.list_items() if i.content_id == "post-p1"]
    page = app.signed_in("ann").get(f"/console/items/{item.id}").text
    assert 'id="text-matches"' in page
    assert [t["signal_type"] for t in item.text_spans] == [URL.name, KEYWORD.name], item
    assert "example.org/listed/page.html" in page
    assert KEYWORD.normalize("placeholder-term-1") in page  # the keyword as listed
    start = POST.index(LINK)
    assert f"{start}–{start + len(LINK)}" in page
    assert 'class="excerpt"' not in page
    assert "pony" not in page
    assert "ref=2" not in page
    assert "pony" not in _all_stored_text(app.app.state.safespace.db)


def test_item_page_shows_a_bounded_excerpt_when_the_operator_allows(make_app: Any) -> None:
    app = make_app(review_text_context_chars=6, evidence_key=EVIDENCE_KEY)
    _post_text(app, "post-p2")
    queue = app.app.state.review.queue
    (item,) = [i for i in queue.list_items() if i.content_id == "post-p2"]
    assert all(span["excerpt"] for span in item.text_spans)
    page = app.signed_in("ann").get(f"/console/items/{item.id}").text
    assert 'class="excerpt"' in page
    assert "<mark>placeholder-term-1</mark>" in page
    assert "2 and " in page  # six characters before the keyword
    assert f"…pony <mark>{LINK}</mark> and p…" in page  # six characters either side
    assert POST not in page
    assert "pony" not in _all_stored_text(app.app.state.safespace.db)  # sealed at rest
