"""``/v1/match`` puts a matched video's details on its review item (issue 15): the ranges in
both videos, the upload's MD5 (which the referral API then names) and, with media storage
on, a sealed sheet of thumbnails; a JSON vPDQ query gets the ranges but no thumbnails."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from api_helpers import Api, MakeApi

from safespace.banks import BankService
from safespace.banks.formats._base import HashRecord
from safespace.signals._video import hash_video, signal_from_frames
from video_clips import VIDEO_TYPE, poll, video

KEY = base64.b64encode(bytes(range(32))).decode()


def _bank_original(api: Api) -> bytes:
    original = video()
    banks = BankService(api.state.db)
    banks.create_bank("videos")
    banks.add_entries("videos", [HashRecord(VIDEO_TYPE, signal_from_frames(hash_video(original)))])
    return original


def _match(api: Api, data: bytes, **fields: str) -> dict[str, Any]:
    response = api.upload("/v1/match", data, "match", **fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_upload_puts_ranges_md5_and_thumbnails_on_the_item(make_api: MakeApi) -> None:
    api = make_api(review_store_media=True, evidence_key=KEY, reporter_email="t@example.org")
    _bank_original(api)
    query = video(start=2.0, seconds=4.0)
    assert poll(lambda: _match(api, query)["matched"])
    body = _match(api, query, content_id="clip-1")
    [entry] = body["matches"][0]["entries"]
    queue = api.client.app.state.review.queue  # type: ignore[attr-defined]
    [listed] = queue.list_items()
    item = queue.get(listed.id)
    assert item.content_id == "clip-1"
    md5 = hashlib.md5(query).hexdigest()
    assert item.hashes["md5"] == md5
    assert item.hashes["sha256"] == hashlib.sha256(query).hexdigest()
    [found] = item.video.matches
    assert [list(r) for r in found.query_ranges] == entry["query_ranges"]
    assert [list(r) for r in found.compared_ranges] == entry["compared_ranges"]
    assert found.query_match_percent == entry["query_match_percent"]
    assert item.media_type == "image/jpeg"
    _, data = queue.media(item.id)
    assert data[:2] == b"\xff\xd8"

    queue.claim(item.id, "ann", "lead")
    queue.decide(item.id, "ann", "lead", "confirm", "the banked clip, trimmed", "B")
    referral = api.get(f"/v1/cases/{item.id}/referral?format=json", "curate")
    assert referral.status_code == 200, referral.text
    assert {"type": "md5", "value": md5} in referral.json()["content"]["hashes"]
    xml = api.get(f"/v1/cases/{item.id}/referral?format=xml", "curate")
    assert md5 in xml.text


def test_a_json_vpdq_query_gets_the_ranges_without_thumbnails(make_api: MakeApi) -> None:
    api = make_api(review_store_media=True, evidence_key=KEY)
    _bank_original(api)
    value = signal_from_frames(hash_video(video(start=2.0, seconds=4.0)))
    signals = {"signals": {VIDEO_TYPE: value}}

    def post(**extra: str) -> dict[str, Any]:
        response = api.post("/v1/match", "match", json={**signals, **extra})
        assert response.status_code == 200, response.text
        out: dict[str, Any] = response.json()
        return out

    assert poll(lambda: post()["matched"])
    assert post(content_id="clip-2")["events_recorded"] == 1
    queue = api.client.app.state.review.queue  # type: ignore[attr-defined]
    [listed] = queue.list_items()
    item = queue.get(listed.id)
    assert item.video is not None
    assert item.video.matches[0].query_ranges
    assert item.media_type is None
    assert "md5" not in item.hashes
