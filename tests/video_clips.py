"""Benign generated videos for tests (issue 15): a drifting gradient with a sliding box and a
circling disc, encoded with PyAV; and a poll with a ceiling."""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import av
import numpy as np
import numpy.typing as npt

from safespace.signals import IndexKind, signal_types_with_index
from waiting import WAIT_SECONDS

FPS = 10
W, H = 160, 120
VIDEO_TYPE = next(t.name for t in signal_types_with_index(IndexKind.FRAMES))
IMAGE_TYPE = next(t.name for t in signal_types_with_index(IndexKind.PDQ_MIH))


def poll(check: Callable[[], bool]) -> bool:
    """True as soon as ``check()`` is; False after WAIT_SECONDS (a ceiling, not a timing)."""
    end = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return check()


def scene(t: float, seed: int = 0) -> npt.NDArray[np.uint8]:
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    red = 127 + 120 * np.sin((x / W * 3 + t * (0.7 + seed * 0.2)) * np.pi)
    green = 127 + 120 * np.cos((y / H * 2 - t * 0.5) * np.pi)
    blue = 255 * (x + y) / (W + H)
    rgb = np.stack([red, green, blue], axis=-1)
    bx = int((0.1 + 0.6 * ((t * 0.3 + seed * 0.17) % 1.0)) * W)
    rgb[int(0.2 * H) : int(0.2 * H) + H // 3, bx : bx + W // 4] = (250, 240, 40)
    cy, cx = H * (0.6 + 0.1 * np.sin(t)), W * (0.3 + 0.2 * np.cos(t * 0.8))
    rgb[(y - cy) ** 2 + (x - cx) ** 2 < (min(W, H) / 6) ** 2] = (30, 60, 200)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def video(start: float = 0.0, seconds: float = 8.0, seed: int = 0) -> bytes:
    """An mp4 (H.264) of the scene from ``start`` for ``seconds``."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.height, stream.width = H, W
        stream.pix_fmt = "yuv420p"
        for i in range(int(seconds * FPS)):
            picture = scene(start + i / FPS, seed)
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()
