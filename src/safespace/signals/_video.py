"""vPDQ: PDQ hashes of a video's frames, sampled and hashed as Meta's reference ``vpdq`` does.

Frames come from PyAV (FFmpeg). The reference's choices, kept here so its output is ours:

- frame numbers count the frames the decoder outputs, from 0;
- the frame rate is the stream's average rate, or its base (``r_frame_rate``) when that is
  unknown; one frame in ``int(seconds_per_hash * fps)`` (at least 1) is hashed, starting with
  frame 0, so ``seconds_per_hash=0`` hashes every frame;
- a sampled frame is converted to RGB24 at the stream's size with swscale's ``AREA`` flags,
  and hashed by :func:`safespace.signals._frame_pdq.frame_pdq` (float32 luma, as the
  reference; see there);
- its timestamp is ``float32(frame_number) / float32(fps)``.

Only sampled frames are converted; decoding uses FFmpeg's threads and hashing runs on a pool
of threads beside it (the hash kernel releases the GIL). Every input is bounded by
:class:`VideoLimits`, and bad input gets :class:`~safespace.errors.InvalidVideo` or
:class:`~safespace.errors.VideoTooLarge`, never a hang.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from safespace.errors import EmptyMedia, InvalidSignal, InvalidVideo, VideoTooLarge
from safespace.signals._frame_pdq import MIN_HASHABLE_SIDE, frame_pdq

__all__ = [
    "CropBox",
    "VideoFrameHash",
    "VideoLimits",
    "VpdqFeature",
    "detect_borders",
    "frames_from_vpdq_text",
    "frames_to_vpdq_text",
    "hash_video",
    "signal_from_frames",
    "signal_to_features",
]

BORDER_MAX_LEVEL = 100
"""A border is dark: its brightest channel's level (of 255) at the frame's edge is at most
this. Not only black, since a brightened or re-graded copy lifts its bars (+40 is common)."""
BORDER_SPREAD = 32
"""A pixel belongs to a border when its level is within this of the border's level (the
ringing a codec leaves beside a sharp edge stays within it)."""
BORDER_TOLERANCE = 0.02
"""A row or column is border when at most this share of its pixels is off its level (noise)."""
BORDER_FRAMES = 5
"""How many sampled frames (not wholly black) decide a video's crop."""
_TRUNCATED_SHARE = 0.9
"""A stream that ends before this share of its declared duration, short of frames, is cut."""
MIN_CROP_SHARE = 0.25
"""A crop keeping less than this share of a side is not a border but dark content: no crop."""


@dataclass(frozen=True)
class VideoLimits:
    """Bounds on one video; each is checked against the header first and the stream after."""

    max_bytes: int = 2 * 1024 * 1024 * 1024
    max_duration_s: float = 4 * 3600.0
    max_frames: int = 2_000_000
    max_pixels: int = 8192 * 4352  # one frame: 8K and a little more
    max_packets: int = 4_000_000  # demuxed packets of the video stream (frames that decode to
    # nothing still cost work: this bounds a stream of empty or broken packets)


@dataclass(frozen=True)
class VideoFrameHash:
    """One hashed frame: its number in decode order, time in seconds, PDQ quality and hex."""

    frame_number: int
    timestamp: float
    quality: int
    pdq: str

    def as_dict(self) -> dict[str, int | float | str]:
        """The frame as ``safespace hash`` and ``/v1/hash`` print it (time to the millisecond)."""
        return {
            "frame": self.frame_number,
            "timestamp": round(self.timestamp, 3),
            "quality": self.quality,
            "pdq": self.pdq,
        }


@dataclass(frozen=True)
class VpdqFeature:
    """A frame as python-threatexchange's vPDQ signal string carries it (no frame number)."""

    pdq: str
    quality: int
    timestamp: float


@dataclass(frozen=True)
class CropBox:
    """Rows ``top:bottom`` and columns ``left:right`` of a frame kept after border removal."""

    top: int
    bottom: int
    left: int
    right: int


# --- decoding ---------------------------------------------------------------------------------


def _open(source: str | os.PathLike[str] | bytes, limits: VideoLimits) -> Any:
    if isinstance(source, bytes | bytearray | memoryview):
        size = len(source)
        target: Any = io.BytesIO(bytes(source))
        name = "video"
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InvalidVideo(f"cannot read {path.name}: {exc.strerror or exc}") from None
        target = str(path)
        name = path.name
    if size == 0:
        raise EmptyMedia(f"{name} is empty (0 bytes)")
    if size > limits.max_bytes:
        raise VideoTooLarge(f"{name} is {size} bytes, over the video limit of {limits.max_bytes}")
    try:
        return av.open(target, mode="r", metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise InvalidVideo(f"{name} cannot be read as a video: {_why(exc)}") from None
    except (OSError, ValueError) as exc:
        raise InvalidVideo(f"{name} cannot be read as a video: {_why(exc)}") from None


def _is_still_image(format_name: str) -> bool:
    """FFmpeg reads a PNG or JPEG as a one-frame video; SafeSpace hashes those as images."""
    return format_name in ("image2", "image2pipe") or format_name.endswith("_pipe")


def _frame_rate(stream: Any) -> float:
    """The reference's rate: the average rate, else ``r_frame_rate``; 0 when neither is known."""
    for rate in (stream.average_rate, stream.base_rate):
        if rate is not None and Fraction(rate).numerator and Fraction(rate).denominator:
            return float(rate.numerator) / float(rate.denominator)
    return 0.0


def _check_header(container: Any, stream: Any, fps: float, limits: VideoLimits) -> None:
    width, height = int(stream.codec_context.width), int(stream.codec_context.height)
    if width <= 0 or height <= 0:
        raise InvalidVideo("the video stream declares no frame size")
    if width * height > limits.max_pixels:
        raise VideoTooLarge(
            f"frames are {width}x{height} = {width * height} pixels, over the limit of "
            f"{limits.max_pixels}"
        )
    if fps <= 0 or not math.isfinite(fps):
        raise InvalidVideo("the video stream declares no frame rate")
    seconds = _seconds(container)
    if math.isfinite(seconds) and seconds > limits.max_duration_s:
        raise VideoTooLarge(
            f"video lasts {seconds:.1f} s, over the limit of {limits.max_duration_s:g} s"
        )
    if stream.frames and stream.frames > limits.max_frames:
        raise VideoTooLarge(
            f"video declares {stream.frames} frames, over the limit of {limits.max_frames}"
        )


def _decoded_frames(container: Any, stream: Any, fps: float, limits: VideoLimits) -> Iterator[Any]:
    """Every frame the decoder outputs, in order, with the limits checked as they come."""
    packets = 0
    count = 0
    try:
        for packet in container.demux(stream):
            packets += 1
            if packets > limits.max_packets:
                raise VideoTooLarge(
                    f"video stream has over {limits.max_packets} packets (max_packets)"
                )
            for frame in packet.decode():
                count += 1
                if count > limits.max_frames:
                    raise VideoTooLarge(f"video has over {limits.max_frames} frames")
                if (count - 1) / fps > limits.max_duration_s:
                    raise VideoTooLarge(
                        f"video lasts over {limits.max_duration_s:g} s (frame {count - 1})"
                    )
                if frame.width * frame.height > limits.max_pixels:
                    raise VideoTooLarge(
                        f"frame {count - 1} is {frame.width}x{frame.height}, over the limit of "
                        f"{limits.max_pixels} pixels"
                    )
                yield frame
    except av.FFmpegError as exc:
        raise InvalidVideo(f"damaged video data after frame {count}: {_why(exc)}") from None
    if count == 0:
        raise InvalidVideo("the video stream has no frames")
    declared = int(stream.frames or 0)
    if declared and count < declared and count / fps < _TRUNCATED_SHARE * _seconds(container):
        # Fewer frames than the sample table lists, and short of the declared duration too
        # (an edit list that trims a copy also leaves fewer frames, but its duration agrees).
        raise InvalidVideo(f"truncated video: {count} of the {declared} frames it declares")


def _seconds(container: Any) -> float:
    """The container's declared duration in seconds; infinity when it declares none."""
    if container.duration is None or container.duration <= 0:
        return math.inf
    return float(container.duration / av.time_base)


def _to_rgb(frame: Any, width: int, height: int) -> npt.NDArray[np.uint8]:
    """RGB24 at the stream's size, converted as the reference's swscale context does."""
    if frame.width == width and frame.height == height:
        rgb = frame.reformat(format="rgb24", interpolation="AREA")
    else:  # the reference scales every frame to the size the stream declared
        rgb = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA")
    return np.asarray(rgb.to_ndarray(), dtype=np.uint8)


# --- black borders ----------------------------------------------------------------------------


def _border_lines(levels: npt.NDArray[np.int16]) -> int:
    """How many lines (rows of ``levels``, from the edge inwards) are border: one even, dark
    level, the outermost line's."""
    level = int(np.median(levels[0]))
    if level > BORDER_MAX_LEVEL:
        return 0
    off = (np.abs(levels - level) > BORDER_SPREAD).mean(axis=1) > BORDER_TOLERANCE
    first_content = np.flatnonzero(off)
    return int(first_content[0]) if first_content.size else len(levels)


def _frame_content(rgb: npt.NDArray[np.uint8]) -> CropBox | None:
    """The box outside which the frame is an even dark border; None for a frame that is all
    one dark level (a fade, a black frame)."""
    levels = rgb.max(axis=2).astype(np.int16)
    height, width = levels.shape
    top = _border_lines(levels)
    if top == height:
        return None
    bottom = height - _border_lines(levels[::-1])
    left = _border_lines(levels.T)
    right = width - _border_lines(levels.T[::-1])
    return CropBox(top, bottom, left, right)


def detect_borders(frames: Sequence[npt.NDArray[np.uint8]]) -> CropBox | None:
    """One crop for a video from some of its frames: the union of their content boxes.

    Wholly black frames say nothing and are skipped. None when there is nothing to crop, or
    when the crop would keep under :data:`MIN_CROP_SHARE` of a side (dark content, not bars).
    """
    boxes = [box for box in map(_frame_content, frames) if box is not None]
    if not boxes:
        return None
    height, width = frames[0].shape[:2]
    box = CropBox(
        min(b.top for b in boxes),
        max(b.bottom for b in boxes),
        min(b.left for b in boxes),
        max(b.right for b in boxes),
    )
    if box == CropBox(0, height, 0, width):
        return None
    kept_h, kept_w = box.bottom - box.top, box.right - box.left
    if kept_h < max(MIN_CROP_SHARE * height, MIN_HASHABLE_SIDE):
        return None
    if kept_w < max(MIN_CROP_SHARE * width, MIN_HASHABLE_SIDE):
        return None
    return box


def _crop(rgb: npt.NDArray[np.uint8], box: CropBox | None) -> npt.NDArray[np.uint8]:
    return rgb if box is None else rgb[box.top : box.bottom, box.left : box.right]


# --- hashing ----------------------------------------------------------------------------------


def _hash_one(number: int, fps32: np.float32, rgb: npt.NDArray[np.uint8]) -> VideoFrameHash:
    # contiguous: one compiled kernel for every frame (a padded or cropped view would add one)
    pdq, quality = frame_pdq(np.ascontiguousarray(rgb))
    timestamp = float(np.float32(number) / fps32)
    return VideoFrameHash(number, timestamp, quality, pdq)


def hash_video(
    source: str | os.PathLike[str] | bytes,
    *,
    seconds_per_hash: float = 1.0,
    limits: VideoLimits | None = None,
    crop_borders: bool = False,
    threads: int = 0,
) -> list[VideoFrameHash]:
    """vPDQ of a video file (a path) or of its bytes: one entry per sampled frame, in order.

    ``seconds_per_hash``: one frame per this many seconds (0: every frame). ``threads``: the
    decoder's and the hashing pool's threads (0: one per core; 1: all work on this thread).
    ``crop_borders``: find black bars (letterbox, pillarbox) in the first few sampled frames
    and hash every sampled frame without them (the reference never crops).
    """
    if not math.isfinite(seconds_per_hash) or seconds_per_hash < 0:
        raise ValueError("seconds_per_hash must be a finite number >= 0")
    if threads < 0:
        raise ValueError("threads must be >= 0")
    limits = limits or VideoLimits()
    workers = threads or _usable_cores()
    with _open(source, limits) as container:
        if _is_still_image(container.format.name):
            raise InvalidVideo(f"this is a still image ({container.format.name}), not a video")
        if not container.streams.video:
            raise InvalidVideo("the file has no video stream")
        stream = container.streams.video[0]
        fps = _frame_rate(stream)
        _check_header(container, stream, fps, limits)
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
        if min(width, height) < MIN_HASHABLE_SIDE:
            raise InvalidVideo(f"frames of {width}x{height} are too small to hash")
        stream.thread_type = "AUTO"
        stream.thread_count = 0 if threads == 0 else threads
        every = max(int(seconds_per_hash * fps), 1)
        fps32 = np.float32(fps)
        sampled = (
            (number, frame)
            for number, frame in enumerate(_decoded_frames(container, stream, fps, limits))
            if number % every == 0
        )
        if workers == 1:
            return _hash_inline(sampled, width, height, fps32, crop_borders)
        return _hash_pooled(sampled, width, height, fps32, crop_borders, workers)


def _usable_cores() -> int:
    """Cores this process may run on (a container's CPU set), not the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


def _hash_inline(
    sampled: Iterator[tuple[int, Any]],
    width: int,
    height: int,
    fps32: np.float32,
    crop_borders: bool,
) -> list[VideoFrameHash]:
    box: CropBox | None = None
    pending: list[tuple[int, npt.NDArray[np.uint8]]] = []
    out: list[VideoFrameHash] = []
    for number, frame in sampled:
        rgb = _to_rgb(frame, width, height)
        if crop_borders and len(pending) < BORDER_FRAMES:
            pending.append((number, rgb))
            if len(pending) == BORDER_FRAMES:
                box = detect_borders([p[1] for p in pending])
                out.extend(_hash_one(n, fps32, _crop(r, box)) for n, r in pending)
            continue
        out.append(_hash_one(number, fps32, _crop(rgb, box)))
    if crop_borders and len(pending) < BORDER_FRAMES and pending:
        box = detect_borders([p[1] for p in pending])
        out.extend(_hash_one(n, fps32, _crop(r, box)) for n, r in pending)
    return out


def _hash_pooled(
    sampled: Iterator[tuple[int, Any]],
    width: int,
    height: int,
    fps32: np.float32,
    crop_borders: bool,
    workers: int,
) -> list[VideoFrameHash]:
    """Hash on ``workers`` threads while this one decodes; at most 2 frames per worker wait."""
    out: list[VideoFrameHash] = []
    waiting: deque[Future[VideoFrameHash]] = deque()
    box: CropBox | None = None
    pending: list[tuple[int, npt.NDArray[np.uint8]]] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vpdq") as pool:

        def submit(number: int, rgb: npt.NDArray[np.uint8]) -> None:
            while len(waiting) >= 2 * workers:
                out.append(waiting.popleft().result())
            waiting.append(pool.submit(_hash_one, number, fps32, _crop(rgb, box)))

        try:
            for number, frame in sampled:
                rgb = _to_rgb(frame, width, height)
                if crop_borders and len(pending) < BORDER_FRAMES:
                    pending.append((number, rgb))
                    if len(pending) == BORDER_FRAMES:
                        box = detect_borders([p[1] for p in pending])
                        for n, r in pending:
                            submit(n, r)
                    continue
                submit(number, rgb)
            if crop_borders and 0 < len(pending) < BORDER_FRAMES:
                box = detect_borders([p[1] for p in pending])
                for n, r in pending:
                    submit(n, r)
            out.extend(f.result() for f in waiting)
        finally:
            for future in waiting:
                future.cancel()
    return out


# --- text forms -------------------------------------------------------------------------------

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def frames_to_vpdq_text(frames: Sequence[VideoFrameHash]) -> str:
    """The reference's hash-file lines: ``frame_number,quality,pdq_hex,timestamp`` (3 places).

    This is what ``vpdq-hash-video`` writes and ThreatExchange's vPDQ sample hashes use.
    """
    return "".join(f"{f.frame_number},{f.quality},{f.pdq},{f.timestamp:.3f}\n" for f in frames)


def _fail(line_no: int, text: str, why: str) -> InvalidSignal:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return InvalidSignal(f"vPDQ line {line_no} ({shown!r}): {why}")


def _quality(text: str, where: Any) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 3 or int(text) > 100:
        raise where("quality must be an integer from 0 to 100")
    return int(text)


def _timestamp(text: str, where: Any) -> float:
    try:
        value = float(text)
    except ValueError:
        raise where("timestamp must be a number of seconds") from None
    if not math.isfinite(value) or value < 0 or text.strip() != text or "_" in text:
        raise where("timestamp must be a finite number of seconds >= 0")
    return value


def _pdq(text: str, where: Any) -> str:
    if not _HEX64.fullmatch(text):
        raise where("PDQ hash must be 64 hexadecimal digits")
    return text.lower()


def frames_from_vpdq_text(text: str) -> list[VideoFrameHash]:
    """Parse :func:`frames_to_vpdq_text`'s lines back, refusing anything malformed.

    Frame numbers must be integers >= 0 and strictly increasing; blank lines (such as a final
    line end) are allowed; at least one frame is required.
    """
    frames: list[VideoFrameHash] = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue

        def where(why: str, line_no: int = line_no, line: str = line) -> InvalidSignal:
            return _fail(line_no, line, why)

        parts = line.split(",")
        if len(parts) != 4:
            raise where("expected 4 fields: frame_number,quality,pdq_hex,timestamp")
        number_text, quality_text, pdq_text, time_text = parts
        if not number_text.isascii() or not number_text.isdigit() or len(number_text) > 12:
            raise where("frame number must be an integer >= 0")
        number = int(number_text)
        if frames and number <= frames[-1].frame_number:
            raise where("frame numbers must increase")
        frames.append(
            VideoFrameHash(
                number, _timestamp(time_text, where), _quality(quality_text, where),
                _pdq(pdq_text, where),
            )
        )  # fmt: skip
    if not frames:
        raise InvalidSignal("a vPDQ hash needs at least one frame")
    return frames


def signal_from_frames(frames: Sequence[VideoFrameHash | VpdqFeature]) -> str:
    """python-threatexchange's vPDQ signal string: a JSON list of ``"pdq,quality,timestamp"``.

    Written exactly as ``threatexchange`` writes it (``json.dumps``, timestamp formatted with
    ``{:.3}``: three significant digits, so 12.345 s reads 12.3), so a signal made here equals
    the one HMA makes for the same frames.
    """
    return json.dumps([f"{f.pdq},{f.quality},{f.timestamp:.3}" for f in frames])


def signal_to_features(signal: str) -> list[VpdqFeature]:
    """Parse a python-threatexchange vPDQ signal string, refusing anything malformed."""
    try:
        items = json.loads(signal or "[]")
    except (ValueError, RecursionError):
        raise InvalidSignal("a vPDQ signal must be a JSON list of strings") from None
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise InvalidSignal("a vPDQ signal must be a JSON list of strings")
    if not items:
        raise InvalidSignal("a vPDQ hash needs at least one frame")
    features: list[VpdqFeature] = []
    for index, item in enumerate(items, start=1):

        def where(why: str, index: int = index, item: str = item) -> InvalidSignal:
            return _fail(index, item, why)

        parts = item.split(",")
        if len(parts) != 3:
            raise where("expected 3 fields: pdq_hex,quality,timestamp")
        features.append(
            VpdqFeature(
                _pdq(parts[0], where), _quality(parts[1], where), _timestamp(parts[2], where)
            )
        )
    return features


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__
