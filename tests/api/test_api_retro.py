"""Retro-matching through the service: an old upload, sent to ``/v1/match`` with a content id
while retention is on and matching nothing then, reaches the review queue as a retro-match
once its hash is added to a bank; the content's hashes can be forgotten; with retention off
nothing is kept. The ``retro-match`` task is triggered explicitly and awaited."""

from __future__ import annotations

from collections.abc import Callable

from api_helpers import Api, MakeApi, poll

from safespace.reports._queue import ReviewQueue
from safespace.retro import ContentStore
from safespace.runtime import AppContext, TaskRunner
from safespace.signals import MD5, PDQ, hash_bytes


def _run_retro(api: Api) -> None:
    """Trigger the app's retro-match task and wait until that run has finished."""
    tasks: TaskRunner[AppContext] = api.client.app.state.tasks  # type: ignore[attr-defined]
    assert poll(lambda: tasks.stats("retro-match")["runs"] >= 1)  # the first run at start
    before = tasks.stats("retro-match")["runs"]
    tasks.trigger("retro-match")
    assert poll(lambda: tasks.stats("retro-match")["runs"] > before)
    assert tasks.stats("retro-match")["last_error"] is None


def _flip(pdq: str, bits: int) -> str:
    value = int(pdq, 16) ^ ((1 << bits) - 1)
    return f"{value:064x}"


def test_an_old_upload_reaches_the_queue_when_its_hash_is_banked_later(
    make_api: MakeApi, noise_png: Callable[[int], bytes]
) -> None:
    api = make_api(content_retention=True, retro_match_seconds=3600)
    upload = noise_png(7)
    signals = hash_bytes(upload)
    assert signals.pdq is not None
    answer = api.upload("/v1/match", upload, "match", content_id="upload-1")
    assert answer.status_code == 200, answer.text
    assert answer.json()["matched"] is False  # nothing is banked yet
    stored = ContentStore(api.state.db).signals_of("upload-1")
    assert {s.signal_type for s in stored} >= {PDQ.name}
    assert all(s.value != upload.hex() for s in stored)  # hashes only
    sent = api.post(
        "/v1/match", "match", json={"signals": {MD5.name: "cd" * 16}, "content_id": "json-1"}
    )
    assert sent.status_code == 200, sent.text
    assert [(s.signal_type, s.value) for s in ContentStore(api.state.db).signals_of("json-1")] == [
        (MD5.name, "cd" * 16)
    ]
    _run_retro(api)
    assert ReviewQueue(api.state.db).list_items() == []

    # a hotline's list arrives later with a near copy's hash (7 bits apart)
    assert api.post("/v1/banks", "curate", json={"name": "later"}).is_success
    entries = [{"signal_type": PDQ.name, "value": _flip(signals.pdq, 7), "category": "A1"}]
    added = api.post("/v1/banks/later/entries", "curate", json={"entries": entries})
    assert added.status_code == 201, added.text
    _run_retro(api)
    items = ReviewQueue(api.state.db).list_items()
    assert [(i.source, i.content_id, i.bank, i.distance) for i in items] == [
        ("retro", "upload-1", "later", 7)
    ]
    assert items[0].priority == 0  # category A1, as a live match would be
    assert "Retro-match: content first seen" in (items[0].reason or "")
    _run_retro(api)  # again: no second item
    assert len(ReviewQueue(api.state.db).list_items()) == 1

    gone = api.delete("/v1/content/upload-1", "match")
    assert gone.status_code == 200, gone.text
    assert gone.json() == {"content_id": "upload-1", "forgotten": len(stored)}
    assert ContentStore(api.state.db).signals_of("upload-1") == []
    assert api.delete("/v1/content/upload-1", "match").json()["forgotten"] == 0


def test_with_retention_off_nothing_is_kept(
    make_api: MakeApi, noise_png: Callable[[int], bytes]
) -> None:
    api = make_api()
    answer = api.upload("/v1/match", noise_png(8), "match", content_id="upload-2")
    assert answer.status_code == 200, answer.text
    sent = api.post(
        "/v1/match", "match", json={"signals": {MD5.name: "ab" * 16}, "content_id": "upload-3"}
    )
    assert sent.status_code == 200, sent.text
    assert ContentStore(api.state.db).count() == 0
