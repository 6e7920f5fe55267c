"""One index for the frames of every banked video, and vPDQ's match semantics on top of it.

A banked video is its list of frame PDQ hashes. Frames below the quality floor are dropped
and repeated hashes are kept once, as python-threatexchange's vPDQ matcher does; the distinct
hashes of all videos go into one :class:`~safespace.index.PDQIndex` (a hash shared by several
videos is stored once), so a query video costs one batched search whatever the bank holds.

A query video matches a banked one when at least ``query_percent`` of the query's distinct
good frames have a banked frame within ``distance`` and at least ``compared_percent`` of the
banked video's distinct good frames were matched (python-threatexchange's
``query_match_percent`` and ``compared_match_percent``). Each match also says where: the
time ranges of the matched frames in both videos.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from safespace.errors import InvalidInput
from safespace.signals import dihedral_variants, hamming

__all__ = [
    "DEFAULT_COMPARED_PERCENT",
    "DEFAULT_DISTANCE",
    "DEFAULT_QUALITY",
    "DEFAULT_QUERY_PERCENT",
    "FrameIndex",
    "FrameLike",
    "VideoMatch",
    "VideoThresholds",
    "brute_force_match",
    "good_frames",
    "time_ranges",
]

_FREE = -2  # owner of a row no video holds
_SHARED = -1  # owner of a row several videos hold

DEFAULT_QUALITY = 50
DEFAULT_DISTANCE = 31
DEFAULT_QUERY_PERCENT = 80.0
DEFAULT_COMPARED_PERCENT = 0.0


class FrameLike(Protocol):
    """What matching needs of a frame: its PDQ hex, quality (0-100) and time in seconds."""

    @property
    def pdq(self) -> str: ...
    @property
    def quality(self) -> int: ...
    @property
    def timestamp(self) -> float: ...


@dataclass(frozen=True)
class VideoThresholds:
    """When a query matches a banked video; per bank, so each bank can be stricter."""

    distance: int = DEFAULT_DISTANCE
    query_percent: float = DEFAULT_QUERY_PERCENT
    compared_percent: float = DEFAULT_COMPARED_PERCENT

    def __post_init__(self) -> None:
        if isinstance(self.distance, bool) or not 0 <= int(self.distance) <= 128:
            raise InvalidInput(f"frame distance must be 0..128, got {self.distance!r}")
        for name in ("query_percent", "compared_percent"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0.0 <= float(value) <= 100.0):
                raise InvalidInput(f"{name} must be 0..100, got {value!r}")


@dataclass(frozen=True)
class VideoMatch:
    """A banked video that the query matched, with the figures the decision rests on."""

    video_id: int
    query_match_percent: float
    compared_match_percent: float
    distance: int  # the smallest frame distance seen
    query_ranges: tuple[tuple[float, float], ...]  # seconds in the query video
    compared_ranges: tuple[tuple[float, float], ...]  # seconds in the banked video


@dataclass(frozen=True)
class _Video:
    rows: npt.NDArray[np.int64]  # the index row of each good frame, in time order
    times: npt.NDArray[np.float64]  # the time of each good frame
    hashes: tuple[str, ...]  # its distinct good hashes


@dataclass
class _Query:
    hashes: list[str]  # distinct good query hashes
    times: list[list[float]]  # the times each one was seen at


def good_frames(
    frames: Iterable[FrameLike], quality: int = DEFAULT_QUALITY
) -> tuple[list[str], list[list[float]]]:
    """The distinct hashes of frames at or above ``quality``, each with the times it shows."""
    order: dict[str, list[float]] = {}
    for frame in frames:
        if frame.quality >= quality:
            order.setdefault(frame.pdq.lower(), []).append(float(frame.timestamp))
    return list(order), list(order.values())


def time_ranges(
    times: Iterable[float], step: float | None = None
) -> tuple[tuple[float, float], ...]:
    """Merge frame times into ``(start, end)`` ranges: frames at most 1.5 sampling steps
    apart belong to one range. The step is the median gap between times unless given."""
    ts = sorted(set(times))
    if not ts:
        return ()
    if step is None:
        step = _step(ts)
    limit = 1.5 * step + 1e-9
    ranges: list[tuple[float, float]] = []
    start = prev = ts[0]
    for t in ts[1:]:
        if t - prev > limit:
            ranges.append((start, prev))
            start = t
        prev = t
    ranges.append((start, prev))
    return tuple(ranges)


class FrameIndex:
    """Banked videos by id, searchable by a query video's frames.

    Adding a video id that is present replaces it. Searches may run from several threads;
    writes are serialised by a lock and replace what searches read.
    """

    def __init__(self, quality: int = DEFAULT_QUALITY) -> None:
        from safespace.index import PDQIndex  # here: the package imports this module

        self.quality = quality
        self._pdq = PDQIndex()
        self._row_of: dict[str, int] = {}  # distinct hash -> index row
        # The video holding each row (FREE, or SHARED: then _shared says which): an array,
        # not a dict of sets, because a bank of 10M frames would spend gigabytes on those.
        self._owner = np.full(1024, _FREE, dtype=np.int64)
        self._shared: dict[int, set[int]] = {}
        self._videos: dict[int, _Video] = {}
        self._next_row = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._videos)

    @property
    def frame_count(self) -> int:
        """Distinct good frame hashes held, over all videos."""
        return len(self._row_of)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._videos

    def add(self, video_id: int, frames: Sequence[FrameLike]) -> int:
        """Index a video's good frames; returns how many distinct hashes it has (0: the video
        has no frame good enough to match and is not indexed). Adding an id again replaces."""
        return self.add_many([(video_id, frames)])[0]

    def add_many(self, videos: Iterable[tuple[int, Sequence[FrameLike]]]) -> list[int]:
        """:meth:`add` for many videos with one index update (how a bank is loaded)."""
        counts: list[int] = []
        new_rows: list[int] = []
        new_hashes: list[str] = []
        with self._lock:
            for video_id, frames in videos:
                hashes, times = good_frames(frames, self.quality)
                self._remove(video_id)
                counts.append(len(hashes))
                if hashes:
                    self._videos[video_id] = self._place(
                        video_id, hashes, times, new_rows, new_hashes
                    )
            if new_rows:
                self._pdq.add(new_rows, new_hashes)
        return counts

    def _place(
        self,
        video_id: int,
        hashes: list[str],
        times: list[list[float]],
        new_rows: list[int],
        new_hashes: list[str],
    ) -> _Video:
        rows_in_order: list[int] = []
        times_in_order: list[float] = []
        for h, seen in zip(hashes, times, strict=True):
            row = self._row_of.get(h)
            if row is None:
                row = self._new_row()
                self._row_of[h] = row
                self._owner[row] = video_id
                new_rows.append(row)
                new_hashes.append(h)
            else:
                current = int(self._owner[row])
                if current == _SHARED:
                    self._shared[row].add(video_id)
                elif current != video_id:
                    self._shared[row] = {current, video_id}
                    self._owner[row] = _SHARED
            rows_in_order.extend([row] * len(seen))
            times_in_order.extend(seen)
        order = np.argsort(np.asarray(times_in_order), kind="stable")
        return _Video(
            np.asarray(rows_in_order, dtype=np.int64)[order],
            np.asarray(times_in_order, dtype=np.float64)[order],
            tuple(hashes),
        )

    def _new_row(self) -> int:
        row = self._next_row
        self._next_row += 1
        if row >= len(self._owner):
            grown = np.full(2 * len(self._owner), _FREE, dtype=np.int64)
            grown[: len(self._owner)] = self._owner
            self._owner = grown
        return row

    def _owners(self, row: int) -> Iterable[int]:
        current = int(self._owner[row])
        if current >= 0:
            return (current,)
        return self._shared.get(row, ()) if current == _SHARED else ()

    def remove(self, video_id: int) -> bool:
        """Forget a video; its hashes leave the index unless another video holds them."""
        with self._lock:
            return self._remove(video_id)

    def _remove(self, video_id: int) -> bool:
        video = self._videos.pop(video_id, None)
        if video is None:
            return False
        gone: list[int] = []
        for h in video.hashes:
            row = self._row_of[h]
            if int(self._owner[row]) == _SHARED:
                holders = self._shared[row]
                holders.discard(video_id)
                if len(holders) == 1:
                    self._owner[row] = holders.pop()
                    del self._shared[row]
            else:
                self._owner[row] = _FREE
                del self._row_of[h]
                gone.append(row)
        if gone:
            self._pdq.remove(gone)
        return True

    def search(
        self,
        frames: Sequence[FrameLike],
        thresholds: VideoThresholds | Callable[[int], VideoThresholds] = VideoThresholds(),
        *,
        max_distance: int | None = None,
        dihedral: bool = False,
    ) -> list[VideoMatch]:
        """Banked videos the query matches, best first (query percent, then compared).

        ``thresholds`` is one value for every video or a function of the video id (a bank's
        thresholds); then ``max_distance`` must bound every distance it returns. With
        ``dihedral``, each query frame also matches in its 8 rotations and mirrors (derived
        from the hash), so a mirrored or rotated upload matches its original.
        """
        fixed = thresholds if isinstance(thresholds, VideoThresholds) else None
        radius = fixed.distance if fixed is not None else max_distance
        if radius is None:
            raise InvalidInput("max_distance is needed when thresholds vary by video")
        hashes, times = good_frames(frames, self.quality)
        if not hashes or not self._videos:
            return []
        query = _Query(hashes, times)
        probes, owner = self._probes(query, dihedral)
        hits = self._pdq.search(probes, radius=radius)
        # video -> (matched query hashes, matched rows, best distance)
        found: dict[int, tuple[set[int], set[int], list[int]]] = {}
        videos = self._videos
        for probe, pairs in enumerate(hits):
            q = owner[probe]
            for row, dist in pairs:
                for video_id in self._owners(row):
                    if video_id not in videos:
                        continue
                    limit = fixed.distance if fixed is not None else _call(thresholds, video_id)
                    if dist > limit:
                        continue
                    entry = found.setdefault(video_id, (set(), set(), [dist]))
                    entry[0].add(q)
                    entry[1].add(row)
                    entry[2][0] = min(entry[2][0], dist)
        matches: list[VideoMatch] = []
        n_query = len(query.hashes)
        query_step = _step([t for seen in query.times for t in seen])  # once, not per match
        for video_id, (qs, rows, best) in found.items():
            video = videos[video_id]
            t = fixed if fixed is not None else _thresholds(thresholds, video_id)
            query_percent = 100.0 * len(qs) / n_query
            compared_percent = 100.0 * len(rows) / len(video.hashes)
            if query_percent + 1e-9 < t.query_percent:
                continue
            if compared_percent + 1e-9 < t.compared_percent:
                continue
            q_times = [ts for i in qs for ts in query.times[i]]
            mask = np.isin(video.rows, np.fromiter(rows, dtype=np.int64, count=len(rows)))
            matches.append(
                VideoMatch(
                    video_id,
                    round(query_percent, 3),
                    round(compared_percent, 3),
                    best[0],
                    time_ranges(q_times, query_step),
                    time_ranges(video.times[mask].tolist(), _step(video.times.tolist())),
                )
            )
        matches.sort(key=lambda m: (-m.query_match_percent, -m.compared_match_percent, m.video_id))
        return matches

    def _probes(self, query: _Query, dihedral: bool) -> tuple[list[str], list[int]]:
        if not dihedral:
            return query.hashes, list(range(len(query.hashes)))
        probes: list[str] = []
        owner: list[int] = []
        for i, h in enumerate(query.hashes):
            for variant in dict.fromkeys(dihedral_variants(h)):
                probes.append(variant)
                owner.append(i)
        return probes, owner


def _call(thresholds: VideoThresholds | Callable[[int], VideoThresholds], video_id: int) -> int:
    return _thresholds(thresholds, video_id).distance


def _thresholds(
    thresholds: VideoThresholds | Callable[[int], VideoThresholds], video_id: int
) -> VideoThresholds:
    return thresholds if isinstance(thresholds, VideoThresholds) else thresholds(video_id)


def _step(times: list[float]) -> float:
    """The sampling step of a video: the median gap between its distinct frame times."""
    ts = sorted(set(times))
    gaps = [b - a for a, b in itertools.pairwise(ts) if b > a]
    return float(np.median(gaps)) if gaps else 1.0


def brute_force_match(
    query: Sequence[FrameLike],
    banked: Sequence[FrameLike],
    distance: int = DEFAULT_DISTANCE,
    quality: int = DEFAULT_QUALITY,
) -> tuple[float, float]:
    """``(query_match_percent, compared_match_percent)`` by comparing every pair: the
    definition the index must agree with (tests and the benchmark use it)."""
    q, _ = good_frames(query, quality)
    c, _ = good_frames(banked, quality)
    if not q or not c:
        return 0.0, 0.0
    q_hit = sum(any(hamming(a, b) <= distance for b in c) for a in q)
    c_hit = sum(any(hamming(a, b) <= distance for a in q) for b in c)
    return round(100.0 * q_hit / len(q), 3), round(100.0 * c_hit / len(c), 3)
