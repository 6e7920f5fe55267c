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

import functools
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

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
    distinct: npt.NDArray[np.int64]  # the rows of its distinct good hashes


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
        self._row_of: dict[bytes, int] = {}  # distinct hash (32 bytes) -> index row
        # Per row: the video holding it (FREE, or SHARED: then _shared says which) and its
        # hash. Arrays, not a dict of sets, because a bank of 10M frames would spend
        # gigabytes on those, and because a search maps its hits to videos in one step.
        self._owner = np.full(1024, _FREE, dtype=np.int64)
        self._keys = np.zeros((1024, 32), dtype=np.uint8)
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
        items = [(int(video_id), frames) for video_id, frames in videos]
        last = {video_id: k for k, (video_id, _) in enumerate(items)}
        ids: list[int] = []
        hexes: list[str] = []
        times: list[float] = []
        quality: list[int] = []
        for k, (video_id, frames) in enumerate(items):
            if last[video_id] != k:
                continue  # replaced by a later item of this call
            for f in frames:
                ids.append(video_id)
                hexes.append(f.pdq)
                times.append(float(f.timestamp))
                quality.append(int(f.quality))
        try:
            raw = bytes.fromhex("".join(hexes))
        except ValueError as exc:
            raise InvalidInput(f"a frame hash is not 64 hex digits: {exc}") from None
        if len(raw) != 32 * len(hexes) or any(len(h) != 64 for h in hexes):
            raise InvalidInput("a frame hash is not 64 hex digits")
        counts = self.add_arrays(
            np.asarray(ids, dtype=np.int64),
            np.frombuffer(raw, dtype=np.uint8).reshape(-1, 32),
            np.asarray(times, dtype=np.float64),
            np.asarray(quality, dtype=np.int64),
            video_ids=list(last),
        )
        return [
            counts[video_id] if last[video_id] == k else len(good_frames(frames, self.quality)[0])
            for k, (video_id, frames) in enumerate(items)
        ]

    def add_arrays(
        self,
        ids: npt.NDArray[np.int64],
        pdq: npt.NDArray[np.uint8],
        times: npt.NDArray[np.float64],
        quality: npt.NDArray[np.integer],
        video_ids: Iterable[int] | None = None,
    ) -> dict[int, int]:
        """Index videos given as frame arrays, with no Python object per frame (how a
        snapshot is loaded): frame ``k`` of video ``ids[k]`` has hash ``pdq[k]`` (32 bytes),
        time ``times[k]`` and quality ``quality[k]``. The frames of one id form one video,
        which replaces any video of that id; ``video_ids`` names more ids to replace (or
        empty). Returns each id's number of distinct good hashes (0: not indexed)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        pdq = np.ascontiguousarray(pdq, dtype=np.uint8).reshape(-1, 32)
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        quality = np.asarray(quality).reshape(-1)
        if not len(ids) == len(pdq) == len(times) == len(quality):
            raise InvalidInput("ids, hashes, times and qualities differ in length")
        named = _distinct(np.concatenate([ids, np.fromiter(video_ids or (), dtype=np.int64)]))
        good = quality >= self.quality
        ids, pdq, times = ids[good], pdq[good], times[good]
        batch = _Batch.of(named, ids, pdq, times)
        with self._lock:
            gone: list[int] = []
            for video_id in named.tolist():
                self._remove(video_id, gone)
            if gone:
                self._pdq.remove(gone)
            rows = self._rows_for(batch)
            self._own(batch, rows)
            counts = batch.counts()
            for p, (lo, hi), (dlo, dhi) in batch.spans():
                self._videos[int(named[p])] = _Video(
                    rows[batch.frame_key[lo:hi]],
                    batch.frame_time[lo:hi],
                    rows[batch.pair_key[dlo:dhi]],
                )
        return dict(zip(named.tolist(), counts.tolist(), strict=True))

    def _rows_for(self, batch: _Batch) -> npt.NDArray[np.int64]:
        """The index row of each distinct hash of ``batch``, adding the new ones."""
        n = len(batch.uniq)
        if self._row_of:
            get = self._row_of.get
            keys = _as_keys(batch.uniq)
            rows = np.fromiter((get(k, -1) for k in keys), dtype=np.int64, count=n)
        else:
            rows = np.full(n, -1, dtype=np.int64)
        fresh = np.flatnonzero(rows < 0)
        if len(fresh):
            new = self._new_rows(len(fresh))
            rows[fresh] = new
            hashes = batch.uniq[fresh]
            self._keys[new] = hashes
            self._row_of.update(zip(_as_keys(hashes), new.tolist(), strict=True))
            self._pdq.add(new, hashes)
        return rows

    def _own(self, batch: _Batch, rows: npt.NDArray[np.int64]) -> None:
        """Record which video holds each row: one array write when a row has one holder."""
        pair_rows = rows[batch.pair_key]
        pair_videos = batch.named[batch.pair_video]
        holders = np.bincount(batch.pair_key, minlength=len(rows))[batch.pair_key]
        alone = (holders == 1) & (self._owner[pair_rows] == _FREE)
        self._owner[pair_rows[alone]] = pair_videos[alone]
        rest = np.flatnonzero(~alone)
        for row, video_id in zip(pair_rows[rest].tolist(), pair_videos[rest].tolist(), strict=True):
            current = int(self._owner[row])
            if current == _FREE:
                self._owner[row] = video_id
            elif current == _SHARED:
                self._shared[row].add(video_id)
            elif current != video_id:
                self._shared[row] = {current, video_id}
                self._owner[row] = _SHARED

    def _new_rows(self, count: int) -> npt.NDArray[np.int64]:
        first = self._next_row
        self._next_row += count
        size = len(self._owner)
        if self._next_row > size:
            while size < self._next_row:
                size *= 2
            owner = np.full(size, _FREE, dtype=np.int64)
            owner[: len(self._owner)] = self._owner
            keys = np.zeros((size, 32), dtype=np.uint8)
            keys[: len(self._keys)] = self._keys
            self._owner, self._keys = owner, keys
        return np.arange(first, self._next_row, dtype=np.int64)

    def remove(self, video_id: int) -> bool:
        """Forget a video; its hashes leave the index unless another video holds them."""
        with self._lock:
            gone: list[int] = []
            found = self._remove(video_id, gone)
            if gone:
                self._pdq.remove(gone)
            return found

    def _remove(self, video_id: int, gone: list[int]) -> bool:
        """Forget a video; rows no video holds any more are added to ``gone`` (the caller
        removes them from the PDQ index)."""
        video = self._videos.pop(video_id, None)
        if video is None:
            return False
        rows = video.distinct
        shared = self._owner[rows] == _SHARED
        own = rows[~shared]
        self._owner[own] = _FREE
        for key in _as_keys(self._keys[own]):
            del self._row_of[key]
        gone.extend(own.tolist())
        for row in rows[shared].tolist():
            holders = self._shared[row]
            holders.discard(video_id)
            if len(holders) == 1:
                self._owner[row] = holders.pop()
                del self._shared[row]
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

        All query frames (and their variants) go to the PDQ index in one batch, and the hits
        are counted per video with array operations: Python work grows with the videos that
        match, not with the hits.
        """
        fixed = thresholds if isinstance(thresholds, VideoThresholds) else None
        radius = fixed.distance if fixed is not None else max_distance
        if radius is None:
            raise InvalidInput("max_distance is needed when thresholds vary by video")
        hashes, times = good_frames(frames, self.quality)
        videos = self._videos
        if not hashes or not videos:
            return []
        probes, probe_of = _probes(hashes, dihedral)
        qi, rows, dist = self._pdq.search_arrays(probes, radius=radius)
        q = probe_of[qi]
        owner = self._owner[rows]
        if bool((owner < 0).any()):
            q, rows, dist, owner = self._expand_shared(q, rows, dist, owner)
        if not len(owner):
            return []
        video_ids, at = np.unique(owner, return_inverse=True)
        limits: list[VideoThresholds | None] = [
            (fixed or _thresholds(thresholds, v)) if v in videos else None
            for v in video_ids.tolist()
        ]
        cut = np.array([-1 if t is None else t.distance for t in limits], dtype=np.int64)
        keep = dist <= cut[at]
        if not bool(keep.all()):
            q, rows, dist, at = q[keep], rows[keep], dist[keep], at[keep]
        if not len(at):
            return []
        n_query = len(hashes)
        n_rows = max(self._next_row, 1)
        # Distinct (video, query hash) and (video, row) pairs, grouped by video.
        q_pairs = np.unique(at * n_query + q)
        r_pairs = np.unique(at * n_rows + rows)
        n_videos = len(video_ids)
        q_bounds = np.searchsorted(q_pairs // n_query, np.arange(n_videos + 1))
        r_bounds = np.searchsorted(r_pairs // n_rows, np.arange(n_videos + 1))
        best = np.full(n_videos, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(best, at, dist)
        matches: list[VideoMatch] = []
        query_step: float | None = None
        for j in np.flatnonzero(np.diff(q_bounds)).tolist():
            video_id = int(video_ids[j])
            video = videos.get(video_id)
            t = limits[j]
            if video is None or t is None:  # removed since (no lock), or kept no hit
                continue
            query_percent = 100.0 * int(q_bounds[j + 1] - q_bounds[j]) / n_query
            compared_percent = 100.0 * int(r_bounds[j + 1] - r_bounds[j]) / len(video.distinct)
            if query_percent + 1e-9 < t.query_percent:
                continue
            if compared_percent + 1e-9 < t.compared_percent:
                continue
            if query_step is None:  # once, not per match
                query_step = _step([ts for seen in times for ts in seen])
            matched_q = (q_pairs[q_bounds[j] : q_bounds[j + 1]] % n_query).tolist()
            matched_rows = r_pairs[r_bounds[j] : r_bounds[j + 1]] % n_rows
            mask = np.isin(video.rows, matched_rows)
            matches.append(
                VideoMatch(
                    video_id,
                    round(query_percent, 3),
                    round(compared_percent, 3),
                    int(best[j]),
                    time_ranges([ts for i in matched_q for ts in times[i]], query_step),
                    time_ranges(video.times[mask].tolist(), _step(video.times.tolist())),
                )
            )
        matches.sort(key=lambda m: (-m.query_match_percent, -m.compared_match_percent, m.video_id))
        return matches

    def _expand_shared(
        self, q: _I64, rows: _I64, dist: _I64, owner: _I64
    ) -> tuple[_I64, _I64, _I64, _I64]:
        """Hits on rows several videos hold become one hit per holder; rows no video holds
        (none, unless a write is under way) are dropped."""
        plain = np.flatnonzero(owner >= 0)
        at: list[int] = []
        holder: list[int] = []
        for k in np.flatnonzero(owner == _SHARED).tolist():
            for video_id in self._shared.get(int(rows[k]), ()):
                at.append(k)
                holder.append(video_id)
        sel = np.concatenate([plain, np.asarray(at, dtype=np.int64)])
        owners = np.concatenate([owner[plain], np.asarray(holder, dtype=np.int64)])
        return q[sel], rows[sel], dist[sel], owners


_I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class _Batch:
    """Videos to add, as arrays: their frames sorted by video then time, and the distinct
    hashes and (video, hash) pairs among them."""

    named: _I64  # the ids being replaced, sorted; videos are numbered by position here
    frame_video: _I64  # per frame (sorted by video, then time): its video's position
    frame_key: _I64  # ... and the number of its hash in ``uniq``
    frame_time: npt.NDArray[np.float64]
    uniq: npt.NDArray[np.uint8]  # (k, 32): the distinct hashes
    pair_video: _I64  # distinct (video, hash) pairs, sorted by video
    pair_key: _I64

    @classmethod
    def of(
        cls, named: _I64, ids: _I64, pdq: npt.NDArray[np.uint8], times: npt.NDArray[np.float64]
    ) -> _Batch:
        words = pdq.view(np.uint64)
        n = len(ids)
        # Sort by the first word, then fully only where first words tie (repeats, mostly).
        order = np.argsort(words[:, 0], kind="stable")
        first = words[order, 0]
        tie = np.zeros(n, dtype=np.bool_)
        tie[1:] = first[1:] == first[:-1]
        tie[:-1] |= tie[1:]
        if bool(tie.any()):
            sub = order[tie]
            w = words[sub]
            order[tie] = sub[np.lexsort((w[:, 3], w[:, 2], w[:, 1], w[:, 0]))]
        sorted_words = words[order]
        starts = np.ones(n, dtype=np.bool_)
        starts[1:] = np.any(sorted_words[1:] != sorted_words[:-1], axis=1)
        key = np.empty(n, dtype=np.int64)
        key[order] = np.cumsum(starts) - 1
        uniq = pdq[order[starts]]
        video = np.searchsorted(named, ids).astype(np.int64)
        by_time = np.lexsort((times, video))
        pairs = _distinct(video * max(len(uniq), 1) + key)
        return cls(
            named,
            video[by_time],
            key[by_time],
            times[by_time],
            uniq,
            pairs // max(len(uniq), 1),
            pairs % max(len(uniq), 1),
        )

    def counts(self) -> _I64:
        """Distinct good hashes per named video."""
        return np.bincount(self.pair_video, minlength=len(self.named)).astype(np.int64)

    def spans(self) -> Iterator[tuple[int, tuple[int, int], tuple[int, int]]]:
        """Per video with good frames: its position, its frames' span and its pairs' span."""
        positions = np.arange(len(self.named) + 1)
        f = np.searchsorted(self.frame_video, positions).tolist()
        p = np.searchsorted(self.pair_video, positions).tolist()
        for k in range(len(self.named)):
            if f[k + 1] > f[k]:
                yield k, (f[k], f[k + 1]), (p[k], p[k + 1])


def _distinct(values: _I64) -> _I64:
    """The distinct values, sorted (``np.unique`` without its overheads)."""
    out = np.sort(values)
    if len(out) > 1:
        out = out[np.r_[True, out[1:] != out[:-1]]]
    return out


def _as_keys(hashes: npt.NDArray[np.uint8]) -> list[bytes]:
    """Rows of 32 bytes as ``bytes`` (the keys of the hash -> row map)."""
    if not len(hashes):
        return []
    flat = np.ascontiguousarray(hashes, dtype=np.uint8).view(np.dtype((np.void, 32)))
    return cast(list[bytes], flat.ravel().tolist())


def _probes(hashes: list[str], dihedral: bool) -> tuple[npt.NDArray[np.uint8], _I64]:
    """The hashes to search for (32 bytes each), and the query hash each one stands for."""
    raw = np.frombuffer(bytes.fromhex("".join(hashes)), dtype=np.uint8).reshape(-1, 32)
    n = len(hashes)
    if not dihedral:
        return raw, np.arange(n, dtype=np.int64)
    perm, masks = _dihedral_maps()
    bits = np.unpackbits(raw, axis=1)[:, perm] ^ masks  # (n, 8, 256)
    probes = np.packbits(bits, axis=2).reshape(-1, 32)
    return probes, np.repeat(np.arange(n, dtype=np.int64), len(masks))


@functools.lru_cache(maxsize=1)
def _dihedral_maps() -> tuple[_I64, npt.NDArray[np.uint8]]:
    """:func:`~safespace.signals.dihedral_variants` as arrays, for a whole query at once.

    Each variant moves the hash's bits to fixed places and flips a fixed set: bit ``j`` of
    variant ``k`` is ``bits[perm[k, j]] ^ masks[k, j]``. Both are read off the function
    itself (the zero hash gives the flips, each one-bit hash a place), so they cannot drift
    from it; a test compares the two on random hashes.
    """

    def bits_of(variants: list[str]) -> npt.NDArray[np.uint8]:
        raw = np.frombuffer(bytes.fromhex("".join(variants)), dtype=np.uint8)
        return np.unpackbits(raw.reshape(-1, 32), axis=1)

    masks = bits_of(dihedral_variants("0" * 64))
    perm = np.full(masks.shape, -1, dtype=np.int64)
    for i in range(256):
        one = np.zeros(256, dtype=np.uint8)
        one[i] = 1
        moved = bits_of(dihedral_variants(np.packbits(one).tobytes().hex())) ^ masks
        k, j = np.nonzero(moved)
        if len(k) != len(masks) or sorted(k.tolist()) != list(range(len(masks))):
            raise AssertionError("dihedral variants are not bit moves and flips")
        perm[k, j] = i
    if bool((perm < 0).any()):
        raise AssertionError("dihedral variants are not bit moves and flips")
    return perm, masks


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
