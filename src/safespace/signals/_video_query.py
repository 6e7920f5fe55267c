"""A hashed video as the matcher's query: its file signals plus its frame hashes.

The matcher reads an attribute named after each signal type; a video's frames are the value
of the registered type computed from video frames (``IndexKind.FRAMES``, ``MediaKind.VIDEO``),
so this module asks the registry for that name instead of writing it.
"""

from __future__ import annotations

import os
from typing import Any

from safespace.signals._registry import signal_types_with_index
from safespace.signals._types import IndexKind, MediaKind

__all__ = ["WithFrames", "video_frames_type", "video_query"]


def video_frames_type() -> str | None:
    """The name of the registered signal type a video's frame hashes are (None: none is)."""
    kinds = signal_types_with_index(IndexKind.FRAMES)
    return next((t.name for t in kinds if MediaKind.VIDEO in t.media), None)


class WithFrames:
    """``signals`` (a :class:`~safespace.signals.Signals`) with the video's frames under the
    frame type's name; everything else is read from ``signals``. Picklable."""

    def __init__(self, signals: Any, frames: list[Any]) -> None:
        self._signals = signals
        self._frames = frames
        name = video_frames_type()
        if name is not None:
            setattr(self, name, frames)

    @property
    def frames(self) -> list[Any]:
        return self._frames

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # unpickling looks attributes up before the state is set
            raise AttributeError(name)
        return getattr(self._signals, name)


def video_query(
    source: str | os.PathLike[str] | bytes,
    signals: Any,
    *,
    seconds_per_hash: float = 1.0,
    crop_borders: bool = False,
    threads: int = 0,
) -> Any:
    """``signals`` itself for an image; for a video, :class:`WithFrames` with its frames
    (hashed from ``source``, the file or its bytes)."""
    if getattr(signals, "media_kind", None) != "video" or video_frames_type() is None:
        return signals
    from safespace.signals._video import hash_video  # lazy: PyAV

    frames = hash_video(
        source, seconds_per_hash=seconds_per_hash, crop_borders=crop_borders, threads=threads
    )
    return WithFrames(signals, frames)
