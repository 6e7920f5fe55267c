"""vPDQ hashing speed: video seconds hashed per second, SafeSpace against the reference.

On the same files and in the same run, for 1 frame per second and for every frame, with one
thread and with one per core:

* safespace: ``safespace.signals._video.hash_video(path, seconds_per_hash=S, threads=T)``
  (PyAV decoding with FFmpeg's threads, only sampled frames converted to RGB, frames hashed by
  the GIL-free kernel on T threads);
* reference: Meta's ``vpdq.computeHash(path, seconds_per_hash=S, thread_count=T)`` (0.2.5,
  the ``oracle`` extra; T is its number of hashing threads, its decoder picks its own).

Each line prints both rates (best of the rounds), their ratio, whether the two outputs are
identical (frame numbers, timestamps, qualities and hashes) and the decode share: the time a
decode-and-convert pass alone takes, over SafeSpace's whole time.

    python bench/bench_video.py             # the clips in tests/data/video, 3 rounds
    python bench/bench_video.py --quick     # one small generated clip, 1 round
    python bench/bench_video.py --videos a.mp4 b.mkv --rounds 5
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np

from safespace.signals._video import VideoFrameHash, _frame_rate, _to_rgb, hash_video

VIDEO_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "video"


def _reference() -> Any:
    try:
        import vpdq
    except ImportError:
        return None
    return vpdq


def make_clip(path: Path, width: int = 320, height: int = 240, seconds: int = 3) -> Path:
    """A benign moving gradient with a drifting box, encoded with x264 at 30 frames/s."""
    fps = 30
    y, x = np.mgrid[0:height, 0:width]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(seconds * fps):
            t = i / fps
            rgb = np.stack(
                [
                    127 + 120 * np.sin((x / width * 3 + t) * math.pi),
                    127 + 120 * np.cos((y / height * 2 - t / 2) * math.pi),
                    255 * (x + y) / (width + height),
                ],
                axis=-1,
            )
            left = int((0.1 + 0.6 * ((t * 0.3) % 1.0)) * width)
            rgb[height // 5 : height // 2, left : left + width // 4] = (250, 240, 40)
            frame = av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def video_seconds(path: Path) -> tuple[float, int]:
    """Duration as frames / frame rate (what is hashed), and the frame count."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return frames / _frame_rate(stream), frames


def decode_only(path: Path, seconds_per_hash: float, threads: int) -> None:
    """SafeSpace's decode and RGB conversion of the sampled frames, without hashing."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.thread_count = threads
        every = max(int(seconds_per_hash * _frame_rate(stream)), 1)
        width, height = stream.codec_context.width, stream.codec_context.height
        for number, frame in enumerate(container.decode(stream)):
            if number % every == 0:
                _to_rgb(frame, width, height)


def best(rounds: int, run: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def same(ours: list[VideoFrameHash], ref: list[Any]) -> tuple[bool, int]:
    """Whether the outputs are identical, and how many frames have identical hashes."""
    alike = sum(a.pdq == b.hex for a, b in zip(ours, ref, strict=False))
    identical = len(ours) == len(ref) and all(
        (a.frame_number, a.timestamp, a.quality, a.pdq)
        == (b.frame_number, b.timestamp, b.quality, b.hex)
        for a, b in zip(ours, ref, strict=True)
    )
    return identical, alike


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", nargs="*", type=Path, help="files (default: tests/data)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds; the best counts")
    parser.add_argument("--quick", action="store_true", help="one small generated clip, 1 round")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        if args.quick:
            videos, rounds = [make_clip(Path(tmp) / "clip.mp4")], 1
        else:
            videos, rounds = args.videos or sorted(VIDEO_DIR.glob("*.mp4")), args.rounds
        return run(videos, rounds, cores)


def _ours(video: Path, seconds_per_hash: float, threads: int) -> Callable[[], Any]:
    return lambda: hash_video(video, seconds_per_hash=seconds_per_hash, threads=threads)


def _decode(video: Path, seconds_per_hash: float, threads: int) -> Callable[[], Any]:
    return lambda: decode_only(video, seconds_per_hash, threads)


def _ref(vpdq: Any, video: Path, seconds_per_hash: float, threads: int) -> Callable[[], Any]:
    return lambda: vpdq.computeHash(
        str(video), seconds_per_hash=seconds_per_hash, thread_count=threads
    )


def run(videos: list[Path], rounds: int, cores: int) -> int:
    vpdq = _reference()
    durations = [video_seconds(v) for v in videos]
    total_s = sum(d[0] for d in durations)
    print(f"videos: {len(videos)} ({', '.join(v.name for v in videos)})")
    print(f"video seconds: {total_s:.1f} ({sum(d[1] for d in durations)} frames)")
    print(f"cores: {cores}")
    print(f"pyav: {av.__version__} (FFmpeg {av.ffmpeg_version_info})")
    if vpdq is None:
        print("reference: not installed (pip install -e '.[oracle]'); SafeSpace figures only")
    hash_video(videos[0], seconds_per_hash=0, threads=1)  # compile (or load) the kernel first
    for seconds_per_hash, sampling in ((1.0, "1 frame/s"), (0.0, "every frame")):
        for threads in sorted({1, cores}):
            label = f"{sampling}, {threads} thread{'s' if threads > 1 else ''}"
            ours_t = ref_t = decode_t = 0.0
            identical, alike, frames = True, 0, 0
            for video in videos:
                t, ours = best(rounds, _ours(video, seconds_per_hash, threads))
                ours_t += t
                frames += len(ours)
                decode_t += best(rounds, _decode(video, seconds_per_hash, threads))[0]
                if vpdq is not None:
                    t, ref = best(rounds, _ref(vpdq, video, seconds_per_hash, threads))
                    ref_t += t
                    same_all, same_frames = same(ours, ref)
                    identical &= same_all
                    alike += same_frames
            line = f"{label}: safespace {total_s / ours_t:.1f} video-s/s"
            if vpdq is not None:
                line += (
                    f", reference {total_s / ref_t:.1f} video-s/s, ratio {ref_t / ours_t:.2f}x"
                    f", identical {identical} ({alike} of {frames} frames)"
                )
            line += f", decode share {100 * min(decode_t / ours_t, 1.0):.0f}%"
            print(line)
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
