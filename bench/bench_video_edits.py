"""Which edits a re-uploaded video survives: SafeSpace's vPDQ options against the reference.

Each source clip is edited the ways a re-upload meets (re-encoded, downscaled, trimmed,
brightened, greyscale, cropped, frame rate halved, a logo, mirrored, rotated, letterboxed,
pillarboxed), and each edited copy is matched against its original with python-threatexchange's
vPDQ semantics (frames below quality 50 ignored, frame distance <= 31, at least 80% of the
query's frames matched, 0% of the original's):

* reference: both videos hashed by Meta's ``vpdq`` 0.2.5 (the ``oracle`` extra), matched by
  brute force, as python-threatexchange matches them;
* safespace: hashed by SafeSpace (bit-identical to the reference), matched by the frame index;
* + dihedral: the frame index also tries each query frame's 8 rotations and mirrors;
* + dihedral, crop borders: both videos hashed with black borders cropped first.

Every edited copy is also matched against the other clips' originals: a match there is a
false positive, and the script fails if any option finds one.

    python bench/bench_video_edits.py                # the clips in tests/data/video
    python bench/bench_video_edits.py --clips a.mp4 b.mp4
    python bench/bench_video_edits.py --quick        # two generated clips, four edits
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from safespace.index._frames import FrameIndex, VideoThresholds, brute_force_match
from safespace.signals._video import VideoFrameHash, hash_video

VIDEO_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "video"
Picture = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Edit:
    name: str
    frame: Callable[[Picture, int], Picture | None] = lambda rgb, i: rgb  # None: drop it
    crf: int = 18  # x264 quality of the edited copy (lower: closer to the source)
    rate_divisor: int = 1  # keep one frame in this many, at that lower frame rate


def _even(rgb: Picture) -> Picture:
    h, w = rgb.shape[:2]
    return rgb[: h - h % 2, : w - w % 2]


def _resize(rgb: Picture, scale: float) -> Picture:
    from PIL import Image

    h, w = rgb.shape[:2]
    size = (max(2, round(w * scale)) // 2 * 2, max(2, round(h * scale)) // 2 * 2)
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))


def _pad(rgb: Picture, top: int, left: int) -> Picture:
    h, w = rgb.shape[:2]
    out = np.zeros((h + 2 * top, w + 2 * left, 3), dtype=np.uint8)
    out[top : top + h, left : left + w] = rgb
    return out


def _letterbox(rgb: Picture, _: int) -> Picture:
    return _pad(rgb, top=(rgb.shape[0] // 4) // 2 * 2, left=0)


def _pillarbox(rgb: Picture, _: int) -> Picture:
    return _pad(rgb, top=0, left=(rgb.shape[1] // 4) // 2 * 2)


def _crop(rgb: Picture, _: int) -> Picture:
    h, w = rgb.shape[:2]
    dy, dx = h // 10, w // 10
    return _even(rgb[dy : h - dy, dx : w - dx])


def _brighten(rgb: Picture, _: int) -> Picture:
    return np.clip(rgb.astype(np.int16) + 40, 0, 255).astype(np.uint8)


def _grey(rgb: Picture, _: int) -> Picture:
    y = (rgb @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    return np.repeat(y[:, :, None], 3, axis=2)


def _logo(rgb: Picture, _: int) -> Picture:
    out = rgb.copy()
    h, w = out.shape[:2]
    out[h // 20 : h // 20 + h // 8, w - w // 20 - w // 5 : w - w // 20] = (250, 250, 250)
    return out


def _trim(fps: float) -> Callable[[Picture, int], Picture | None]:
    return lambda rgb, i: None if i < round(fps) else rgb  # the first second goes


EDITS: dict[str, Callable[[float], Edit]] = {
    "re-encoded (x264 CRF 32)": lambda fps: Edit("reencode", crf=32),
    "downscaled to half": lambda fps: Edit("half", lambda rgb, i: _resize(rgb, 0.5)),
    "trimmed (first second cut)": lambda fps: Edit("trim", _trim(fps)),
    "brightened (+40 levels)": lambda fps: Edit("bright", _brighten),
    "greyscale": lambda fps: Edit("grey", _grey),
    "frame rate halved": lambda fps: Edit("halfrate", rate_divisor=2),
    "logo in a corner (4% of the picture)": lambda fps: Edit("logo", _logo),
    "cropped (10% off each edge)": lambda fps: Edit("crop", _crop),
    "mirrored (left-right)": lambda fps: Edit("mirror", lambda rgb, i: rgb[:, ::-1]),
    "rotated 90 degrees": lambda fps: Edit("rot90", lambda rgb, i: np.rot90(rgb)),
    "letterboxed (black bars, +25% height)": lambda fps: Edit("letterbox", _letterbox),
    "pillarboxed (black bars, +25% width)": lambda fps: Edit("pillarbox", _pillarbox),
}
QUICK_EDITS = (
    "brightened (+40 levels)",
    "mirrored (left-right)",
    "letterboxed (black bars, +25% height)",
    "greyscale",
)


def frames_of(path: Path) -> Iterator[tuple[Picture, float]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or stream.guessed_rate or 30)
        for frame in container.decode(stream):
            yield frame.to_ndarray(format="rgb24"), fps


def frame_rate(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return float(stream.average_rate or stream.guessed_rate or 30)


def write_edit(source: Path, edit: Edit, out: Path) -> Path:
    fps = frame_rate(source)
    rate = max(1, round(fps / edit.rate_divisor))
    with av.open(str(out), "w") as container:
        stream: Any = None
        for i, (rgb, _) in enumerate(frames_of(source)):
            if i % edit.rate_divisor:
                continue
            picture = edit.frame(rgb, i)
            if picture is None:
                continue
            picture = _even(np.ascontiguousarray(picture))
            if stream is None:
                stream = container.add_stream("libx264", rate=rate)
                stream.height, stream.width = picture.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(edit.crf), "preset": "veryfast"}
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out


def make_clip(path: Path, seed: int, seconds: int = 4, width: int = 480, height: int = 270) -> Path:
    """A benign generated scene: drifting two-dimensional waves and a moving box, different per
    seed. The waves vary down the picture as well as across it: a picture that varies only across
    has most of its PDQ coefficients near the median, so its hash flips bits under any re-encode
    and the rotations and mirrors derived from the hash miss by chance."""
    fps = 30
    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * math.pi, 3)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(seconds * fps):
            t = i / fps
            waves = [
                np.sin((x / width * (3 + k) + t + p) * math.pi)
                * np.cos((y / height * (2 + k) - t / 2 + p) * math.pi)
                for k, p in enumerate(phase)
            ]
            rgb = (127 + 120 * np.stack(waves, axis=2)).astype(np.uint8)
            bx = int((0.1 + 0.7 * ((t * (0.2 + 0.1 * seed)) % 1)) * width)
            rgb[height // 3 : height // 3 + height // 4, bx : bx + width // 6] = (20, 200, 60)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


@dataclass
class Hashed:
    plain: list[VideoFrameHash]
    cropped: list[VideoFrameHash]
    reference: list[Any] | None


def hash_all(path: Path, vpdq: Any) -> Hashed:
    reference = vpdq.computeHash(str(path), seconds_per_hash=1.0) if vpdq is not None else None
    return Hashed(hash_video(path), hash_video(path, crop_borders=True), reference)


@dataclass(frozen=True)
class _RefFrame:
    pdq: str
    quality: int
    timestamp: float


def _ref_frames(features: list[Any]) -> list[_RefFrame]:
    return [_RefFrame(f.hex, f.quality, f.timestamp) for f in features]


OPTIONS = ("reference", "safespace", "+ dihedral", "+ dihedral, crop borders")


def matches(query: Hashed, originals: list[Hashed]) -> dict[str, set[int]]:
    """For each option, the indexes of the originals the query matches."""
    found: dict[str, set[int]] = {}
    thresholds = VideoThresholds()
    if query.reference is not None:
        q = _ref_frames(query.reference)
        found["reference"] = {
            i
            for i, o in enumerate(originals)
            if o.reference is not None
            and _is_match(brute_force_match(q, _ref_frames(o.reference)), thresholds)
        }
    for option, field, dihedral in (
        ("safespace", "plain", False),
        ("+ dihedral", "plain", True),
        ("+ dihedral, crop borders", "cropped", True),
    ):
        index = FrameIndex()
        index.add_many((i, getattr(o, field)) for i, o in enumerate(originals))
        hits = index.search(getattr(query, field), thresholds, dihedral=dihedral)
        found[option] = {m.video_id for m in hits}
    return found


def _is_match(percents: tuple[float, float], t: VideoThresholds) -> bool:
    return percents[0] >= t.query_percent and percents[1] >= t.compared_percent


def run(clips: list[Path], edit_names: list[str], folder: Path) -> int:
    try:
        import vpdq
    except ImportError:
        vpdq = None
        print("reference: not installed (pip install -e '.[oracle]'); SafeSpace columns only")
    originals = [hash_all(c, vpdq) for c in clips]
    print(f"clips: {len(clips)} ({', '.join(c.name for c in clips)})")
    options = [o for o in OPTIONS if vpdq is not None or o != "reference"]
    print("| edit | " + " | ".join(options) + " |")
    print("| --- |" + " --- |" * len(options))
    totals = dict.fromkeys(options, 0)
    false_positives = dict.fromkeys(options, 0)
    for name in edit_names:
        matched = dict.fromkeys(options, 0)
        for i, clip in enumerate(clips):
            edit = EDITS[name](frame_rate(clip))
            copy = write_edit(clip, edit, folder / f"{clip.stem}-{edit.name}.mp4")
            found = matches(hash_all(copy, vpdq), originals)
            for option in options:
                matched[option] += i in found[option]
                false_positives[option] += len(found[option] - {i})
        cells = [f"{matched[o]}/{len(clips)}" for o in options]
        print(f"| {name} | " + " | ".join(cells) + " |")
        for option in options:
            totals[option] += matched[option] == len(clips)
    total = len(edit_names)
    print()
    for option in options:
        key = option.replace(" ", "_").replace(",", "").replace("+", "plus")
        print(f"edit types matched on every clip, {option}: {totals[option]} of {total}")
        print(f"false_positives_{key}: {false_positives[option]}")
    if "reference" in options and totals["reference"]:
        ratio = totals["+ dihedral, crop borders"] / totals["reference"]
        print(f"edit types ratio, safespace with options / reference: {ratio:.2f}x")
    return 1 if any(false_positives.values()) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="+", type=Path, help="source videos (benign)")
    parser.add_argument("--quick", action="store_true", help="two generated clips, four edits")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="safespace-edits-") as tmp:
        folder = Path(tmp)
        if args.quick:
            clips = [make_clip(folder / f"clip{seed}.mp4", seed, seconds=3) for seed in (1, 2)]
            names = list(QUICK_EDITS)
        else:
            clips = args.clips or sorted(VIDEO_DIR.glob("*.mp4"))
            names = list(EDITS)
        return run(clips, names, folder)


if __name__ == "__main__":
    sys.exit(main())
