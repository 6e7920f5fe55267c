"""The matcher's side for signal types matched frame by frame (``IndexKind.FRAMES``).

Each such type gets one :class:`~safespace.index.FrameIndex` over the enabled entries of
enabled banks (video ids are entry ids), so a query video costs one batched search however
many videos the banks hold. The good frames (at or above the type's ``frame_quality``) of
each entry are also kept as compact arrays (32 bytes of PDQ, a time and a quality per frame),
which is what a snapshot writes and loads instead of re-reading the database. Which types
these are, and their thresholds, come from the registry; nothing here names a type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from safespace.index import FrameIndex, VideoMatch, VideoThresholds
from safespace.signals import DISTANCE, IndexKind, SignalType, signal_types_with_index

__all__ = [
    "COMPARED_PERCENT",
    "FRAME_TYPES",
    "QUERY_PERCENT",
    "FrameArrays",
    "FrameEntries",
    "video_thresholds",
]

FRAME_TYPES: Mapping[str, SignalType] = {
    t.name: t for t in signal_types_with_index(IndexKind.FRAMES)
}
QUERY_PERCENT = "query_match_percent"
"""The threshold a ``FRAMES`` type has for the share of the query's frames that must match."""
COMPARED_PERCENT = "compared_match_percent"
"""... and for the share of the banked video's frames."""


class Frame(NamedTuple):
    pdq: str
    quality: int
    timestamp: float


@dataclass(frozen=True)
class FrameArrays:
    """Every held frame of one type, as arrays (one row per frame, entries in id order)."""

    ids: npt.NDArray[np.int64]
    pdq: npt.NDArray[np.uint8]  # (n, 32)
    times: npt.NDArray[np.float64]
    quality: npt.NDArray[np.uint8]

    @classmethod
    def empty(cls) -> FrameArrays:
        return cls(
            np.zeros(0, np.int64), np.zeros((0, 32), np.uint8), np.zeros(0, np.float64),
            np.zeros(0, np.uint8),
        )  # fmt: skip


@dataclass(frozen=True)
class _Held:
    signal_type: str
    pdq: bytes  # 32 bytes a frame
    times: npt.NDArray[np.float64]
    quality: npt.NDArray[np.uint8]

    def frames(self) -> list[Frame]:
        raw = self.pdq
        return [
            Frame(raw[32 * i : 32 * i + 32].hex(), int(q), float(t))
            for i, (t, q) in enumerate(zip(self.times, self.quality, strict=True))
        ]


def video_thresholds(thresholds: Mapping[str, int]) -> VideoThresholds:
    """A bank's thresholds of a ``FRAMES`` type as the frame index takes them."""
    return VideoThresholds(
        int(thresholds[DISTANCE]),
        float(thresholds[QUERY_PERCENT]),
        float(thresholds[COMPARED_PERCENT]),
    )


class FrameEntries:
    """Frame indexes by signal type, and the held frames of each indexed entry."""

    def __init__(self) -> None:
        self.indexes: dict[str, FrameIndex] = {
            name: FrameIndex(quality=kind.frame_quality) for name, kind in FRAME_TYPES.items()
        }
        self._held: dict[int, _Held] = {}

    def __len__(self) -> int:
        return len(self._held)

    def add(self, rows: Iterable[tuple[int, str, str]]) -> None:
        """Index ``(entry id, signal type, canonical value)`` rows (an id held is replaced)."""
        by_type: dict[str, list[tuple[int, list[Frame]]]] = {}
        for entry_id, signal_type, value in rows:
            kind = FRAME_TYPES[signal_type]
            good = [
                Frame(f.pdq.lower(), int(f.quality), float(f.timestamp))
                for f in kind.frames(value)
                if f.quality >= kind.frame_quality
            ]
            self._hold(entry_id, signal_type, good)
            by_type.setdefault(signal_type, []).append((entry_id, good))
        for signal_type, videos in by_type.items():
            self.indexes[signal_type].add_many(videos)

    def _hold(self, entry_id: int, signal_type: str, frames: Sequence[Frame]) -> None:
        self._held[entry_id] = _Held(
            signal_type,
            bytes.fromhex("".join(f.pdq for f in frames)),
            np.fromiter((f.timestamp for f in frames), np.float64, len(frames)),
            np.fromiter((f.quality for f in frames), np.uint8, len(frames)),
        )

    def discard(self, ids: Iterable[int]) -> None:
        if not self._held:
            return
        for entry_id in ids:
            held = self._held.pop(int(entry_id), None)
            if held is not None:
                self.indexes[held.signal_type].remove(int(entry_id))

    def arrays(self) -> dict[str, FrameArrays]:
        """The held frames of each type (what a snapshot writes)."""
        out: dict[str, tuple[list[int], list[bytes], list[Any], list[Any]]] = {}
        for entry_id in sorted(self._held):
            held = self._held[entry_id]
            ids, raw, times, quality = out.setdefault(held.signal_type, ([], [], [], []))
            ids.extend([entry_id] * len(held.times))
            raw.append(held.pdq)
            times.append(held.times)
            quality.append(held.quality)
        result = {}
        for signal_type, (ids, raw, times, quality) in out.items():
            result[signal_type] = FrameArrays(
                np.asarray(ids, dtype=np.int64),
                np.frombuffer(b"".join(raw), dtype=np.uint8).reshape(-1, 32).copy(),
                np.concatenate(times) if times else np.zeros(0, np.float64),
                np.concatenate(quality) if quality else np.zeros(0, np.uint8),
            )
        return result

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, FrameArrays]) -> FrameEntries:
        """Rebuild from :meth:`arrays` (a snapshot's frames)."""
        out = cls()
        for signal_type, a in arrays.items():
            if signal_type not in out.indexes:
                continue
            ids = np.asarray(a.ids, dtype=np.int64)
            if not len(ids):
                continue
            # Arrays straight into the index, and one slice per entry: no object per frame.
            order = np.argsort(ids, kind="stable")
            ids = ids[order]
            raw = np.ascontiguousarray(np.asarray(a.pdq, dtype=np.uint8)[order])
            times = np.asarray(a.times, dtype=np.float64)[order]
            quality = np.asarray(a.quality, dtype=np.uint8)[order]
            starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
            ends = np.r_[starts[1:], len(ids)]
            for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
                out._held[int(ids[lo])] = _Held(
                    signal_type, raw[lo:hi].tobytes(), times[lo:hi].copy(), quality[lo:hi].copy()
                )
            out.indexes[signal_type].add_arrays(ids, raw, times, quality)
        return out

    def search(
        self,
        signal_type: str,
        frames: Sequence[Frame],
        thresholds: Callable[[int], VideoThresholds | None],
        max_distance: int,
        dihedral: bool,
    ) -> list[VideoMatch]:
        """Entries of ``signal_type`` the query video matches; ``thresholds`` gives each
        entry's bank thresholds, None for an entry not to report."""
        index = self.indexes.get(signal_type)
        if index is None or not len(index):
            return []
        never = VideoThresholds(0, 100.0, 100.0)

        def limits(entry_id: int) -> VideoThresholds:
            return thresholds(entry_id) or never

        found = index.search(frames, limits, max_distance=max_distance, dihedral=dihedral)
        return [m for m in found if thresholds(m.video_id) is not None]
