"""A video backfilled from an fsspec URL keeps its frames as a local video does (issue 13).

The benign SD test clip (tests/data/video) is put in fsspec's ``memory://`` filesystem and
backfilled from there: the content-hash store gets the same frame rows (PDQ with their times)
as a backfill of the same clip from a folder, and a still of one of its frames, banked
afterwards, retro-matches the video. Needs fsspec (the cluster extra); under CI=true its
absence fails.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from datafiles import BRIDGE, PATTERN_SD_VIDEO
from safespace.banks import BankService
from safespace.banks.formats._base import HashRecord
from safespace.reports._queue import ReviewQueue
from safespace.retro import ContentStore, RetroMatcher
from safespace.store import Database
from video_clips import IMAGE_TYPE


def _fsspec() -> Any:
    try:
        import fsspec
    except ImportError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"fsspec (the cluster extra) is missing but CI=true: {exc}")
        pytest.skip(f"needs fsspec (the cluster extra): {exc}")
    return fsspec


def _frames(database: Database, content_id: str) -> dict[str, float]:
    rows = ContentStore(database).signals_of(content_id)
    return {r.value: r.frame_seconds for r in rows if r.frame_seconds is not None}


def test_a_video_backfilled_from_a_url_keeps_its_frames_and_retro_matches(
    database: Database, db_url: str, tmp_path: Path
) -> None:
    from safespace.cli._backfill import backfill_store
    from safespace.config import Settings

    fs = _fsspec().filesystem("memory")
    base = f"/backfill-video-{os.getpid()}-{tmp_path.name}"
    fs.pipe_file(f"{base}/clips/clip.mp4", PATTERN_SD_VIDEO.read_bytes())
    fs.pipe_file(f"{base}/photo.jpg", BRIDGE.read_bytes())
    folder = tmp_path / "media"
    (folder / "clips").mkdir(parents=True)
    (folder / "clips" / "clip.mp4").write_bytes(PATTERN_SD_VIDEO.read_bytes())
    settings = Settings(database_url=db_url, data_dir=tmp_path / "state", content_retention=True)
    try:
        backfill_store(settings, f"memory://{base}", id_prefix="url/", progress=False)
    finally:
        fs.rm(base, recursive=True)
    backfill_store(settings, str(folder), id_prefix="dir/", progress=False)

    from_url = _frames(database, "url/clips/clip.mp4")
    assert from_url, "the video's frames were not kept"
    assert from_url == _frames(database, "dir/clips/clip.mp4")  # as a local video
    photo = ContentStore(database).signals_of("url/photo.jpg")
    assert photo
    assert all(r.frame_seconds is None for r in photo)

    matcher = RetroMatcher(database)
    matcher.sweep_changes()
    still, at = sorted(from_url.items(), key=lambda kv: kv[1])[len(from_url) // 2]
    banks = BankService(database)
    banks.create_bank("stills")
    banks.add_entries("stills", [HashRecord.of(IMAGE_TYPE, still)])
    result = matcher.sweep_changes()
    assert result.queued >= 1
    items = [i for i in ReviewQueue(database).list_items() if i.content_id.startswith("url/")]
    (item,) = items
    assert (item.source, item.content_id, item.bank) == ("retro", "url/clips/clip.mp4", "stills")
    assert item.video is not None
    assert any(m.query_timestamp == pytest.approx(at) for m in item.video.matches)
