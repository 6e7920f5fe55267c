"""``POST /v1/match`` with ``text``: listed links and keywords in a post, with spans, beside
hash matches; the text is never echoed or stored; match events reach the review queue.

Placeholder data only (example.com/.org/.net, ``placeholder-term-N``)."""

from __future__ import annotations

import hashlib

import pytest
from api_helpers import Api, problem

from safespace.access import list_events
from safespace.reports._queue import ReviewQueue
from safespace.signals import KEYWORD, URL, URL_SHA256

POST = "look hxxps://www[.]example[.]org/listed/page.html?ref=2 and placeholder-term-1 here"


@pytest.fixture
def text_banks(api: Api) -> dict[str, int]:
    ids = {}
    expression = URL.normalize("example.org/listed/page.html")
    lists = {
        "urls": [{"signal_type": URL.name, "value": "https://example.org/listed/page.html"}],
        "hashed": [
            {
                "signal_type": URL_SHA256.name,
                "value": hashlib.sha256(expression.encode()).hexdigest(),
            }
        ],
        "words": [{"signal_type": KEYWORD.name, "value": "placeholder-term-1", "category": "B"}],
    }
    for bank, entries in lists.items():
        assert api.post("/v1/banks", json={"name": bank}).is_success
        response = api.post(f"/v1/banks/{bank}/entries", json={"entries": entries})
        assert response.status_code == 201, response.text
        ids[bank] = response.json()["entries"][0]["id"]
    return ids


def test_text_alone_gives_link_and_keyword_matches_with_spans(
    api: Api, text_banks: dict[str, int]
) -> None:
    response = api.post("/v1/match", "match", json={"text": POST})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["matched"] is True
    assert body["matches"] == []  # no hashes were given
    assert POST not in response.text  # never echoed
    groups = {g["bank"]["name"]: g["entries"] for g in body["text"]["matches"]}
    assert set(groups) == {"urls", "hashed", "words"}
    for bank, entries in groups.items():
        (entry,) = entries
        assert entry["entry_id"] == text_banks[bank]
        written = POST[entry["start"] : entry["end"]]
        if bank == "words":
            assert written == "placeholder-term-1"
            assert entry["signal_type"] == KEYWORD.name
        else:
            assert written == "hxxps://www[.]example[.]org/listed/page.html?ref=2"
    assert groups["urls"][0]["value"] == "example.org/listed/page.html"


def test_text_with_hashes_and_bank_filter(api: Api, text_banks: dict[str, int]) -> None:
    body = api.post(
        "/v1/match",
        "match",
        json={"text": POST, "signals": {"md5": "0" * 32}, "banks": ["words"]},
    ).json()
    assert body["signals"]["md5"] == "0" * 32
    assert [g["bank"]["name"] for g in body["text"]["matches"]] == ["words"]
    clean = api.post("/v1/match", "match", json={"text": "weather tomorrow, example.org/"})
    assert clean.json()["matched"] is False
    assert clean.json()["text"]["matches"] == []


def test_text_in_a_multipart_upload(
    api: Api, text_banks: dict[str, int], bridge_jpeg: bytes
) -> None:
    body = api.upload("/v1/match", bridge_jpeg, "match", text=POST).json()
    assert body["matched"] is True
    assert {g["bank"]["name"] for g in body["text"]["matches"]} == {"urls", "hashed", "words"}
    assert "text" not in api.upload("/v1/match", bridge_jpeg, "match").json()


def test_bad_text_requests(api: Api, text_banks: dict[str, int]) -> None:
    problem(api.post("/v1/match", "match", json={"text": 5}), 422, "invalid-request")
    assert (
        "give text"
        in problem(api.post("/v1/match", "match", json={}), 400, "invalid-signal")["detail"]
    )
    huge = {"text": "a " * 60_000}
    response = api.post("/v1/match", "match", json=huge)
    assert response.status_code == 400
    assert "longer than" in response.json()["detail"]


def test_text_matches_become_events_and_review_items(api: Api, text_banks: dict[str, int]) -> None:
    body = api.post("/v1/match", "match", json={"text": POST, "content_id": "post/t1"}).json()
    assert body["events_recorded"] == 3
    events = list_events(api.state.db, content_id="post/t1")
    assert {e.bank for e in events} == {"urls", "hashed", "words"}
    assert all(e.query_value is None for e in events)  # the text is not stored
    queue = ReviewQueue(api.state.db)
    assert queue.sync() >= 1
    item = next(i for i in queue.list_items() if i.content_id == "post/t1")
    assert item.signal_type in {URL.name, URL_SHA256.name, KEYWORD.name}
    assert POST not in repr(item)


def test_a_false_positive_on_a_post_allows_no_url_or_keyword(
    api: Api, text_banks: dict[str, int]
) -> None:
    api.post("/v1/match", "match", json={"text": POST, "content_id": "post/t2"})
    queue = ReviewQueue(api.state.db)
    queue.sync()
    item = next(i for i in queue.list_items() if i.content_id == "post/t2")
    queue.claim(item.id, "ann", "reviewer")
    queue.decide(item.id, "ann", "reviewer", "false-positive", "a news report")
    again = api.post("/v1/match", "match", json={"text": POST}).json()
    assert again["matched"] is True  # the listed page and the keyword still match elsewhere
    assert again["text"]["allowed"] == []
