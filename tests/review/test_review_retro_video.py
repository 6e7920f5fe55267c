"""A retro-matched old video on its console item page (issue 13): a still banked later shows
the frame's time, a vPDQ banked later shows both percentages and the ranges, as live video
matches show them. Generated benign clip (tests/video_clips.py)."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from safespace.banks import BankService
from safespace.banks.formats._base import HashRecord
from safespace.retro import ContentStore, RetroMatcher
from safespace.signals import hash_bytes
from safespace.signals._video import hash_video, signal_from_frames
from video_clips import IMAGE_TYPE, VIDEO_TYPE, scene, video


class _Upload:
    def __init__(self, frames: list[Any]) -> None:
        setattr(self, VIDEO_TYPE, frames)


def test_retro_video_item_page_shows_the_frame_time_and_the_percentages(make_app: Any) -> None:
    app = make_app(content_retention=True, retro_match_seconds=3600)
    db = app.app.state.safespace.db
    frames = list(hash_video(video(seconds=6.0)))
    assert ContentStore(db).remember("old-clip", _Upload(frames)) > 0
    matcher = RetroMatcher(db)
    matcher.sweep_changes()
    png = io.BytesIO()
    Image.fromarray(scene(2.0)).save(png, "PNG")
    still = hash_bytes(png.getvalue()).pdq
    assert still is not None
    banks = BankService(db)
    banks.create_bank("stills")
    banks.create_bank("videos")
    banks.add_entries("stills", [HashRecord.of(IMAGE_TYPE, still)])
    banks.add_entries("videos", [HashRecord(VIDEO_TYPE, signal_from_frames(frames))])
    assert matcher.sweep_changes().queued == 2
    queue = app.app.state.review.queue
    [listed] = [i for i in queue.list_items() if i.content_id == "old-clip"]
    item = queue.get(listed.id)
    assert item.source == "retro"
    assert item.video is not None
    by_bank = {m.bank: m for m in item.video.matches}
    assert by_bank["videos"].query_match_percent == 100.0
    assert by_bank["stills"].query_timestamp is not None
    page = app.signed_in("ann").get(f"/console/items/{item.id}")
    assert page.status_code == 200
    assert 'id="video-matches"' in page.text
    assert by_bank["videos"].query_text in page.text
    assert f'the frame at <strong class="video-time">{by_bank["stills"].timestamp_text}' in (
        page.text
    )
    assert "Retro-match" in page.text
