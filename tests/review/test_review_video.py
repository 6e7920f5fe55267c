"""A matched video on its review item (issue 15): the matched ranges in both videos and the
match percentages, a still's timestamp, thumbnails of the matched frames kept sealed and
shown blurred (reveals counted), and the video's MD5 in referrals."""

from __future__ import annotations

import hashlib
from typing import Any

from review_helpers import EVIDENCE_KEY, csrf
from video_helpers import video_banks

from safespace.banks._match_results import Match
from safespace.reports._queue_video import (
    VideoMatchInfo,
    clock_text,
    frame_times,
    split_hashes,
    thumbnail_sheet,
    video_details,
)
from safespace.reports._referrals import validate_cybertip
from video_clips import video


def test_clock_text_and_the_thumbnail_times() -> None:
    assert [clock_text(t) for t in (0, 3.4, 71, 3723)] == ["0:00", "0:03", "1:11", "1:02:03"]
    matches = [
        VideoMatchInfo("v", 1, "t", ((3.0, 11.0),), ((0.0, 8.0),), 90.0, 50.0),
        VideoMatchInfo("s", 2, "p", ((5.0, 5.0),), query_timestamp=5.0),
    ]
    assert matches[0].query_text == "0:03–0:11"
    assert frame_times(matches) == [3.0, 5.0, 7.0, 11.0]  # starts first, then middles, ends
    assert len(frame_times(matches, limit=2)) == 2


def test_details_come_from_video_matches_only_and_split_from_the_hashes() -> None:
    frames = {"query_match_percent": 100.0, "compared_match_percent": 50.0,
              "query_ranges": [[0.0, 3.0]], "compared_ranges": [[2.0, 5.0]]}  # fmt: skip
    plain = Match("b", "normal", 1, "t", "x", 0)
    found = video_details([plain, Match("v", "normal", 2, "t", "y", 3, frames=frames)])
    assert [d.entry_id for d in found] == [2]
    raw = {"md5": "a" * 32, "video_matches": {"matches": [found[0].to_dict()], "frame_times": [1]}}
    hashes, info = split_hashes(raw)
    assert hashes == {"md5": "a" * 32}
    assert info is not None
    assert info.matches == tuple(found)
    assert info.frame_times == (1.0,)
    assert split_hashes({"md5": "b" * 32}) == ({"md5": "b" * 32}, None)


def test_thumbnail_sheet_puts_the_frames_side_by_side() -> None:
    from io import BytesIO

    from PIL import Image

    made = thumbnail_sheet(video(seconds=3.0), [0.5, 2.0, 9.0], width=80)
    assert made is not None
    data, times = made
    assert times == [0.5, 2.0]  # 9 s is past the end
    assert Image.open(BytesIO(data)).size == (160, 60)
    assert thumbnail_sheet(b"not a video", [1.0]) is None


def test_video_item_shows_ranges_keeps_blurred_thumbnails_and_refers_the_md5(
    make_app: Any,
) -> None:
    app = make_app(
        review_store_media=True, evidence_key=EVIDENCE_KEY, matcher_refresh_seconds=0.05,
        reporter_email="trust@example.org",
    )  # fmt: skip
    banks = video_banks(app)
    query = video(start=2.0, seconds=4.0)  # seconds 2-6 of the banked video
    body = banks.match(query, content_id="clip-7")
    assert body["events_recorded"] >= 2
    queue = app.app.state.review.queue
    [listed] = [i for i in queue.list_items() if i.content_id == "clip-7"]
    item = queue.get(listed.id)  # with its media type (the list leaves it out)
    assert item.hashes["md5"] == hashlib.md5(query).hexdigest()
    assert item.video is not None
    by_bank = {m.bank: m for m in item.video.matches}
    ranged = by_bank["videos"]
    assert ranged.query_match_percent is not None
    assert ranged.query_match_percent >= 80
    (q0, q1), (c0, c1) = ranged.query_ranges[0], ranged.compared_ranges[0]
    assert q0 <= 0.5
    assert q1 >= 3.0
    assert 1.5 <= c0 <= 2.5
    assert c1 >= 4.5
    still = by_bank["stills"]
    assert still.query_timestamp is not None
    assert 0.5 <= still.query_timestamp <= 1.5
    assert 1 <= len(item.video.frame_times) <= 4
    assert item.media_type == "image/jpeg"
    assert item.to_dict()["video"]["matches"]

    ann = app.signed_in("ann")
    page = ann.get(f"/console/items/{item.id}").text
    assert 'id="video-matches"' in page
    assert f'query: <strong class="video-range">{ranged.query_text}</strong>' in page
    assert ranged.compared_text in page
    assert "0:0" in ranged.compared_text
    assert f'the frame at <strong class="video-time">{still.timestamp_text}' in page
    assert 'class="protected"' in page
    assert 'id="video-frames"' in page
    assert "video_matches" not in page  # the details are not listed as a content hash
    media = ann.get(f"/console/items/{item.id}/media")
    assert media.headers["content-type"] == "image/jpeg"
    assert media.content[:2] == b"\xff\xd8"
    reveal = ann.post(f"/console/items/{item.id}/reveal", data={"csrf_token": csrf(ann)})
    assert reveal.json()["count"] == 1

    # A second match of the same upload joins the item: no second copy of the details.
    banks.match(query, content_id="clip-7")
    again = queue.get(item.id)
    assert again.video is not None
    assert len(again.video.matches) == len(item.video.matches)

    # Confirmed, the referral names the video's MD5 (CyberTipline XML and JSON).
    lead = app.signed_in("lee", "lead")
    token = csrf(lead)
    lead.post(f"/console/items/{item.id}/claim", data={"csrf_token": token})
    decided = lead.post(
        f"/console/items/{item.id}/decide",
        data={"csrf_token": token, "decision": "confirm", "category": "B",
              "reason": "the known clip, trimmed"},
    )  # fmt: skip
    assert decided.status_code == 303, decided.text
    xml = lead.get(f"/console/items/{item.id}/referral?format=xml")
    assert xml.status_code == 200, xml.text
    md5 = hashlib.md5(query).hexdigest()
    assert md5 in xml.text
    validate_cybertip(xml.content)
    referral = lead.get(f"/console/items/{item.id}/referral?format=json").json()
    assert {"type": "md5", "value": md5} in referral["content"]["hashes"]


def test_without_media_storage_the_ranges_show_and_nothing_is_kept(make_app: Any) -> None:
    app = make_app(matcher_refresh_seconds=0.05)
    banks = video_banks(app)
    banks.match(video(start=2.0, seconds=4.0), content_id="clip-8")
    queue = app.app.state.review.queue
    [listed] = [i for i in queue.list_items() if i.content_id == "clip-8"]
    item = queue.get(listed.id)
    assert item.video is not None
    assert item.video.matches
    assert item.video.frame_times == ()
    assert item.media_type is None
    assert queue.media(item.id) is None


def test_a_match_without_a_content_id_makes_no_item(make_app: Any) -> None:
    app = make_app(matcher_refresh_seconds=0.05)
    banks = video_banks(app)
    assert banks.match(video(start=2.0, seconds=4.0))["matched"]
    app.app.state.review.queue.sync()
    assert not app.app.state.review.queue.list_items()
