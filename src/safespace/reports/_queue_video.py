"""A matched video on its review item (issue 15): where it matched, and a few frames.

A video match (a ``FRAMES`` type such as vPDQ, or a video's frame against an image hash)
reports how much of each video matched and the matched time ranges (``Match.frames``). Match
events have no column for that, so the ``/v1/match`` upload path hands it, with the upload's
own exact hashes (its MD5 and SHA-256: what a referral names), to :func:`note_video` once the
events are recorded: the queue is synced and the content's open item gets them. The details
live in the item's JSON ``hashes`` under :data:`VIDEO_KEY` (a name no signal type has) and
are split out when the item is read (:func:`split_hashes`).

With ``SAFESPACE_REVIEW_STORE_MEDIA`` on (and a sealing key), up to :data:`MAX_THUMBNAILS`
frames at the matched times are decoded with PyAV, scaled down and kept side by side as one
sealed JPEG: the item's media, shown blurred and greyscale, revealed on a click and counted
like a reported image. Only the thumbnails are kept, never the video.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from safespace.banks._match_results import Match
from safespace.reports._queue_feeds import QueueFeeds
from safespace.reports._sealing import MediaSealer, seal_media
from safespace.store import Database
from safespace.store._models_queue import ReviewMedia

__all__ = [
    "MAX_THUMBNAILS",
    "VIDEO_KEY",
    "VideoInfo",
    "VideoMatchInfo",
    "clock_text",
    "frame_times",
    "note_video",
    "split_hashes",
    "thumbnail_sheet",
    "video_details",
]

log = logging.getLogger("safespace.review")

VIDEO_KEY = "video_matches"
"""Where an item's video details sit in its JSON ``hashes`` (no signal type has this name)."""
MAX_MATCHES = 10
MAX_THUMBNAILS = 4
THUMB_WIDTH = 160
_MEDIA_TYPE = "image/jpeg"


def clock_text(seconds: float) -> str:
    """``0:03``, ``12:05``, ``1:02:03``: a time in a video as a player shows it."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _ranges_text(ranges: Sequence[tuple[float, float]]) -> str:
    return ", ".join(f"{clock_text(a)}–{clock_text(b)}" for a, b in ranges) or "—"


def _ranges(value: Any) -> tuple[tuple[float, float], ...]:
    out = []
    for pair in value or ():
        if isinstance(pair, Sequence) and len(pair) == 2:
            out.append((float(pair[0]), float(pair[1])))
    return tuple(out)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class VideoMatchInfo:
    """One bank entry a video matched: the share of frames and the time ranges of each side
    (a ``FRAMES`` match), or the first time a frame matched an image hash."""

    bank: str
    entry_id: int
    signal_type: str
    query_ranges: tuple[tuple[float, float], ...] = ()
    compared_ranges: tuple[tuple[float, float], ...] = ()
    query_match_percent: float | None = None
    compared_match_percent: float | None = None
    query_timestamp: float | None = None

    @property
    def query_text(self) -> str:
        return _ranges_text(self.query_ranges)

    @property
    def compared_text(self) -> str:
        return _ranges_text(self.compared_ranges)

    @property
    def timestamp_text(self) -> str:
        return "—" if self.query_timestamp is None else clock_text(self.query_timestamp)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VideoMatchInfo:
        return cls(
            str(d.get("bank", "")), int(d.get("entry_id", 0)), str(d.get("signal_type", "")),
            _ranges(d.get("query_ranges")), _ranges(d.get("compared_ranges")),
            _number(d.get("query_match_percent")), _number(d.get("compared_match_percent")),
            _number(d.get("query_timestamp")),
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "bank": self.bank,
            "entry_id": self.entry_id,
            "signal_type": self.signal_type,
            "query_ranges": [list(r) for r in self.query_ranges],
        }
        if self.query_timestamp is not None:
            out["query_timestamp"] = self.query_timestamp
        else:
            out["compared_ranges"] = [list(r) for r in self.compared_ranges]
            out["query_match_percent"] = self.query_match_percent
            out["compared_match_percent"] = self.compared_match_percent
        return out


@dataclass(frozen=True)
class VideoInfo:
    """An item's video details: its matches, and the times of the kept thumbnails."""

    matches: tuple[VideoMatchInfo, ...]
    frame_times: tuple[float, ...] = ()

    @property
    def frames_text(self) -> str:
        return ", ".join(clock_text(t) for t in self.frame_times)

    def to_dict(self) -> dict[str, Any]:
        return {
            "matches": [m.to_dict() for m in self.matches],
            "frame_times": list(self.frame_times),
        }


def video_details(matches: Iterable[Match]) -> list[VideoMatchInfo]:
    """The video matches among ``matches`` (those with ``frames``), at most ten."""
    found = []
    for m in matches:
        if m.frames:
            info = {"bank": m.bank, "entry_id": m.entry_id, "signal_type": m.signal_type}
            found.append(VideoMatchInfo.from_dict({**dict(m.frames), **info}))
    return found[:MAX_MATCHES]


def split_hashes(raw: Mapping[str, Any] | None) -> tuple[dict[str, str], VideoInfo | None]:
    """An item row's ``hashes``: the content's hashes, and its video details if any."""
    hashes = {str(k): v for k, v in (raw or {}).items() if k != VIDEO_KEY and isinstance(v, str)}
    stored = (raw or {}).get(VIDEO_KEY)
    if not isinstance(stored, Mapping):
        return hashes, None
    matches = tuple(
        VideoMatchInfo.from_dict(m) for m in stored.get("matches") or () if isinstance(m, Mapping)
    )
    times = tuple(float(t) for t in stored.get("frame_times") or ())
    return hashes, VideoInfo(matches, times)


def frame_times(matches: Sequence[VideoMatchInfo], limit: int = MAX_THUMBNAILS) -> list[float]:
    """Up to ``limit`` times in the query video worth a thumbnail: each matched frame's time,
    each range's start, then the middles and ends of the ranges."""
    starts = [m.query_timestamp for m in matches if m.query_timestamp is not None]
    ranges = [r for m in matches for r in m.query_ranges]
    starts += [a for a, _ in ranges]
    later = [(a + b) / 2 for a, b in ranges] + [b for _, b in ranges]
    chosen: list[float] = []
    for t in [*starts, *later]:
        if len(chosen) >= limit:
            break
        if all(abs(t - c) >= 0.5 for c in chosen):
            chosen.append(round(float(t), 3))
    return sorted(chosen)


def thumbnail_sheet(
    video: bytes, times: Sequence[float], width: int = THUMB_WIDTH
) -> tuple[bytes, list[float]] | None:
    """The frames shown at ``times`` (seconds), scaled to ``width`` and put side by side in
    one JPEG, with the times found; None when none could be decoded. Decoded with PyAV, as
    the hashing code decodes (:mod:`safespace.signals._video`), seeking to each time."""
    import av  # lazy: the review queue does not need the video stack otherwise
    from PIL import Image

    wanted = sorted(times)
    if not wanted:
        return None
    shots: list[tuple[float, Any]] = []
    try:
        with av.open(io.BytesIO(video), mode="r", metadata_errors="ignore") as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            shots = _frames_at(container, stream, wanted)
    except (av.FFmpegError, ValueError, OSError) as exc:
        log.warning("video thumbnails: cannot decode: %s", exc)
    if not shots:
        return None
    images = []
    for _, picture in shots:
        scaled = picture.convert("RGB")
        height = max(1, round(scaled.height * width / max(1, scaled.width)))
        images.append(scaled.resize((width, height)))
    sheet = Image.new("RGB", (width * len(images), max(i.height for i in images)))
    for k, picture in enumerate(images):
        sheet.paste(picture, (k * width, 0))
    out = io.BytesIO()
    sheet.save(out, "JPEG", quality=80)
    return out.getvalue(), [t for t, _ in shots]


class _Policy(Protocol):
    @property
    def store_media(self) -> bool: ...


class _Queue(Protocol):
    """What :func:`note_video` needs of a :class:`~safespace.reports.ReviewQueue`."""

    db: Database
    sealer: MediaSealer | None

    @property
    def policy(self) -> _Policy: ...

    def sync(self) -> int: ...

    def clock(self) -> datetime: ...


_SEEK_GAP = 2.0  # seconds: a later time is reached by seeking, a nearer one by decoding on


def _frames_at(container: Any, stream: Any, times: Sequence[float]) -> list[tuple[float, Any]]:
    """The picture shown at each of ``times`` (sorted; the first frame at or after each),
    seeking to the key frame before a time that is far ahead; times past the end are left."""
    length = container.duration / 1_000_000 if container.duration else None  # AV_TIME_BASE
    shots: list[tuple[float, Any]] = []
    frames: Iterator[Any] | None = None
    position = 0.0
    for t in times:
        if length is not None and t > length:
            break
        if frames is None or t - position > _SEEK_GAP:
            if t > 0 and stream.time_base:
                container.seek(int(t / stream.time_base), stream=stream, backward=True)
            frames = iter(container.decode(stream))
        for frame in frames:
            position = float(frame.time or 0.0)
            if position + 1e-6 >= t:
                shots.append((t, frame.to_image()))
                break
    return shots


def note_video(
    queue: _Queue,
    content_id: str,
    matches: Sequence[Match],
    hashes: Mapping[str, str],
    video: bytes | None = None,
) -> int | None:
    """Put a video's match details (and ``hashes``, the upload's exact hashes) on the open
    item of ``content_id``, after syncing the queue so the just-recorded events have made
    it; with media storage on, keep thumbnails of ``video`` at the matched times. Returns
    the item's id, or None when there is no video match or no open item."""
    details = video_details(matches)
    if not details:
        return None
    queue.sync()
    sheet = None
    if video is not None and queue.policy.store_media and queue.sealer is not None:
        sheet = thumbnail_sheet(video, frame_times(details))
    with queue.db.transaction() as s:
        item = QueueFeeds._open_for(s, content_id)
        if item is None:
            return None
        stored = (item.hashes or {}).get(VIDEO_KEY)
        old = stored.get("matches", []) if isinstance(stored, Mapping) else []
        known = {(m.get("bank"), m.get("entry_id")) for m in old if isinstance(m, Mapping)}
        new = [d.to_dict() for d in details if (d.bank, d.entry_id) not in known]
        times = list(stored.get("frame_times", [])) if isinstance(stored, Mapping) else []
        if sheet is not None and s.get(ReviewMedia, item.id) is None:
            data, times = sheet
            sealed = seal_media(queue.sealer, item.id, data)
            if sealed is not None:
                s.add(
                    ReviewMedia(
                        item_id=item.id, media_type=_MEDIA_TYPE,
                        sha256=hashlib.sha256(data).hexdigest(), data=sealed.data,
                        key_id=sealed.key_id, wrapped_key=sealed.wrapped_key,
                        created_at=queue.clock(),
                    )
                )  # fmt: skip
        video_value = {"matches": [*old, *new][:MAX_MATCHES], "frame_times": times}
        item.hashes = {**dict(hashes), **(item.hashes or {}), VIDEO_KEY: video_value}
        return int(item.id)
