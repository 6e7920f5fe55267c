"""Retro-matching with videos (issue 13): a remembered video keeps its good sampled frames (PDQ
rows with their time); a still of it banked later finds it (the item says when in the video),
its vPDQ banked later finds it with vPDQ semantics (both percentages on the item), and another
video's vPDQ finds nothing. Generated benign clips (tests/video_clips.py), on each backend."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from safespace.banks import BankService
from safespace.banks.formats._base import HashRecord
from safespace.reports._queue import ReviewQueue
from safespace.retro import ContentStore, RetroMatcher
from safespace.signals import get_signal_type, hash_bytes, hash_video
from safespace.store import Database
from video_clips import IMAGE_TYPE, VIDEO_TYPE, scene, video

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class _Upload:
    """What ``/v1/match`` hands the store for a video upload: an attribute per type, the
    frames under the video type's name."""

    def __init__(self, frames: list[Any]) -> None:
        setattr(self, VIDEO_TYPE, frames)


@pytest.fixture(scope="module")
def clip_frames() -> list[Any]:
    return list(hash_video(video(seconds=8.0, seed=0), seconds_per_hash=1.0))


def _remembered(database: Database, frames: list[Any]) -> ContentStore:
    store = ContentStore(database, clock=Clock(T0))
    assert store.remember("old-video", _Upload(frames)) > 0
    return store


def _vpdq(frames: list[Any]) -> str:
    value = get_signal_type(VIDEO_TYPE).compute(_Upload(frames))
    assert value is not None
    return value


def test_a_video_keeps_its_good_frames_with_their_times(
    database: Database, clip_frames: list[Any]
) -> None:
    store = _remembered(database, clip_frames)
    rows = store.signals_of("old-video")
    floor = get_signal_type(VIDEO_TYPE).frame_quality
    good = {f.pdq for f in clip_frames if f.quality >= floor}
    assert good
    assert {r.value for r in rows} == good
    assert {r.signal_type for r in rows} == {IMAGE_TYPE}
    assert all(r.frame_seconds is not None for r in rows)
    first = {}
    for f in clip_frames:
        first.setdefault(f.pdq, f.timestamp)
    assert all(r.frame_seconds == pytest.approx(first[r.value]) for r in rows)
    # the signal string (JSON hashes) keeps the same rows; sending again adds nothing
    assert store.remember("old-video", {VIDEO_TYPE: _vpdq(clip_frames)}) == 0
    assert store.remember("again", {VIDEO_TYPE: _vpdq(clip_frames)}) == len(rows)
    assert store.forget("old-video") == len(rows)


def test_a_still_banked_later_finds_the_old_video_with_its_time(
    database: Database, clip_frames: list[Any]
) -> None:
    _remembered(database, clip_frames)
    matcher = RetroMatcher(database, clock=Clock(T0 + timedelta(days=1)))
    matcher.sweep_changes()
    png = io.BytesIO()
    Image.fromarray(scene(3.0, seed=0)).save(png, "PNG")
    still = hash_bytes(png.getvalue()).pdq
    assert still is not None
    banks = BankService(database)
    banks.create_bank("stills")
    banks.add_entries("stills", [HashRecord.of(IMAGE_TYPE, still)])
    result = matcher.sweep_changes()
    assert result.queued == 1
    (item,) = ReviewQueue(database).list_items()
    assert (item.source, item.content_id, item.bank) == ("retro", "old-video", "stills")
    assert item.video is not None
    (found,) = item.video.matches
    assert found.query_timestamp is not None
    assert abs(found.query_timestamp - 3.0) <= 1.0
    assert "video frame at" in (item.reason or "")
    assert all(v for v in item.hashes.values())  # frames are not the item's hashes


def test_the_videos_vpdq_banked_later_finds_it_with_both_percentages(
    database: Database, clip_frames: list[Any]
) -> None:
    _remembered(database, clip_frames)
    matcher = RetroMatcher(database, clock=Clock(T0 + timedelta(days=1)))
    matcher.sweep_changes()
    banks = BankService(database)
    banks.create_bank("videos")
    banks.add_entries("videos", [HashRecord.of(VIDEO_TYPE, _vpdq(clip_frames), category="A1")])
    result = matcher.sweep_changes()
    assert (result.entries, result.queued) == (1, 1)
    (item,) = ReviewQueue(database).list_items()
    assert (item.source, item.content_id, item.signal_type) == ("retro", "old-video", VIDEO_TYPE)
    assert item.distance == 0
    assert item.video is not None
    (found,) = item.video.matches
    assert found.query_match_percent == 100.0  # of the stored video's frames
    assert found.compared_match_percent == 100.0  # of the entry's frames
    assert found.query_ranges
    assert found.compared_ranges
    assert "% of the entry's frames" in (item.reason or "")
    assert matcher.sweep_bank("videos").queued == 0  # once per (content, entry)


def test_a_different_video_finds_nothing(database: Database, clip_frames: list[Any]) -> None:
    _remembered(database, clip_frames)
    other = list(hash_video(video(start=40.0, seconds=8.0, seed=3), seconds_per_hash=1.0))
    matcher = RetroMatcher(database, clock=Clock(T0 + timedelta(days=1)))
    matcher.sweep_changes()
    banks = BankService(database)
    banks.create_bank("videos")
    banks.add_entries("videos", [HashRecord.of(VIDEO_TYPE, _vpdq(other))])
    result = matcher.sweep_changes()
    assert (result.entries, result.hits, result.queued) == (1, 0, 0)
    assert ReviewQueue(database).list_items() == []


def test_an_allow_bank_listing_a_frame_keeps_the_video_out_of_the_queue(
    database: Database, clip_frames: list[Any]
) -> None:
    _remembered(database, clip_frames)
    matcher = RetroMatcher(database, clock=Clock(T0 + timedelta(days=1)))
    matcher.sweep_changes()
    banks = BankService(database)
    banks.create_bank("fp", kind="allow")
    banks.create_bank("videos")
    banks.add_entries("fp", [HashRecord.of(IMAGE_TYPE, clip_frames[0].pdq)])
    banks.add_entries("videos", [HashRecord.of(VIDEO_TYPE, _vpdq(clip_frames))])
    result = matcher.sweep_changes()
    assert (result.queued, result.allowed) == (0, 1)
    assert ReviewQueue(database).list_items() == []


def test_backfill_keeps_a_videos_frames(database: Database, db_url: str, tmp_path: Path) -> None:
    from safespace.cli._backfill import backfill_store
    from safespace.config import Settings

    media = tmp_path / "media"
    media.mkdir()
    # the frames expected are those of these very bytes: two encodes of one clip need not
    # match bit for bit (x264's output can vary within one process), nor then their frames
    clip = video(seconds=8.0, seed=0)
    (media / "clip.mp4").write_bytes(clip)
    clip_frames = list(hash_video(clip, seconds_per_hash=1.0))
    png = io.BytesIO()
    Image.fromarray(scene(1.0, seed=1)).save(png, "PNG")
    (media / "still.png").write_bytes(png.getvalue())
    settings = Settings(database_url=db_url, data_dir=tmp_path / "state", content_retention=True)
    backfill_store(settings, str(media), id_prefix="up/", progress=False)
    rows = ContentStore(database).signals_of("up/clip.mp4")
    frames = {r.value: r.frame_seconds for r in rows if r.frame_seconds is not None}
    floor = get_signal_type(VIDEO_TYPE).frame_quality
    assert set(frames) == {f.pdq for f in clip_frames if f.quality >= floor}
    still = ContentStore(database).signals_of("up/still.png")
    assert still
    assert all(r.frame_seconds is None for r in still)  # an image keeps no frame rows
