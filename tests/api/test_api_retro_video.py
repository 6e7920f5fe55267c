"""Retro-matching of an old video upload through the service (issue 13): sent to
``/v1/match`` with a content id while retention is on, a video keeps its good frames (hashes
and times only); once its vPDQ reaches a bank, the ``retro-match`` task queues it with both
percentages on the item. Generated benign clip (tests/video_clips.py)."""

from __future__ import annotations

from api_helpers import MakeApi
from test_api_retro import _run_retro

from safespace.banks import BankService
from safespace.banks.formats._base import HashRecord
from safespace.reports._queue import ReviewQueue
from safespace.retro import ContentStore
from safespace.signals import IndexKind, signal_types_with_index
from safespace.signals._video import hash_video, signal_from_frames
from video_clips import IMAGE_TYPE, VIDEO_TYPE, video

EXACT = {t.name for t in signal_types_with_index(IndexKind.EXACT)}


def test_an_old_video_upload_is_queued_when_its_vpdq_is_banked_later(make_api: MakeApi) -> None:
    api = make_api(content_retention=True, retro_match_seconds=3600)
    clip = video(seconds=6.0)
    answer = api.upload("/v1/match", clip, "match", content_id="clip-1")
    assert answer.status_code == 200, answer.text
    assert answer.json()["matched"] is False
    stored = ContentStore(api.state.db).signals_of("clip-1")
    frames = [s for s in stored if s.frame_seconds is not None]
    assert frames
    assert {s.signal_type for s in frames} == {IMAGE_TYPE}
    assert all(s.signal_type in EXACT for s in stored if s.frame_seconds is None)
    _run_retro(api)
    assert ReviewQueue(api.state.db).list_items() == []

    banks = BankService(api.state.db)
    banks.create_bank("videos")
    banks.add_entries("videos", [HashRecord(VIDEO_TYPE, signal_from_frames(hash_video(clip)))])
    _run_retro(api)
    [item] = ReviewQueue(api.state.db).list_items()
    assert (item.source, item.content_id, item.signal_type) == ("retro", "clip-1", VIDEO_TYPE)
    assert item.video is not None
    [found] = item.video.matches
    assert found.query_match_percent == 100.0
    assert found.compared_match_percent == 100.0
    assert set(item.hashes) <= EXACT  # the upload's exact hashes; its frames are not listed
