"""vPDQ hashing of videos: the reference ``vpdq`` 0.2.5 as the oracle, limits and bad input,
black-border cropping and the two text forms of a vPDQ hash.

The videos are the clips in tests/data/video and benign ones generated here with PyAV
(moving gradients and shapes). The oracle needs the ``oracle`` extra (``vpdq``, built against
the system FFmpeg); without it those tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafiles import PATTERN_SD_VIDEO, VIDEO_DIR
from safespace.errors import EmptyMedia, InvalidSignal, InvalidVideo, VideoTooLarge
from safespace.signals import get_signal_type
from safespace.signals._video import (
    CropBox,
    VideoFrameHash,
    VideoLimits,
    VpdqFeature,
    detect_borders,
    frames_from_vpdq_text,
    frames_to_vpdq_text,
    hash_video,
    signal_from_frames,
    signal_to_features,
)

CLIPS = [
    VIDEO_DIR / "doorknob-hd-no-bar.mp4",
    PATTERN_SD_VIDEO,
    VIDEO_DIR / "test-padded-dimensions.mp4",
]
HEX_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _vpdq() -> Any:
    try:
        import vpdq
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("vpdq is not installed but CI=true: install the oracle extra")
        pytest.skip("the reference vpdq is not installed (pip install -e '.[oracle]')")
    return vpdq


# --- benign generated videos ------------------------------------------------------------------


def scene(width: int, height: int, t: float, seed: int = 0) -> np.ndarray:
    """A moving picture: diagonal gradients, a drifting bright box and a disc, mild noise."""
    rng = np.random.default_rng(seed * 1000 + int(t * 1000))
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    red = 127 + 120 * np.sin((x / width * 3 + t * (0.7 + seed * 0.2)) * math.pi)
    green = 127 + 120 * np.cos((y / height * 2 - t * 0.5) * math.pi)
    blue = 255 * (x + y) / (width + height)
    rgb = np.stack([red, green, blue], axis=-1)
    bx = int((0.1 + 0.6 * ((t * 0.3 + seed * 0.17) % 1.0)) * width)
    by = int(0.2 * height)
    rgb[by : by + height // 3, bx : bx + width // 4] = (250, 240, 40)
    cy, cx = height * (0.6 + 0.1 * math.sin(t)), width * (0.3 + 0.2 * math.cos(t * 0.8))
    rgb[(y - cy) ** 2 + (x - cx) ** 2 < (min(width, height) / 6) ** 2] = (30, 60, 200)
    rgb += rng.normal(0, 4, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def make_video(
    path: Path,
    width: int,
    height: int,
    seconds: float,
    fps: int = 30,
    codec: str = "libx264",
    seed: int = 0,
    pad: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> Path:
    """Encode ``scene`` frames; ``pad`` (top, bottom, left, right) adds black bars around it."""
    top, bottom, left, right = pad
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width = width + left + right
        stream.height = height + top + bottom
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        for i in range(int(seconds * fps)):
            picture = np.zeros((stream.height, stream.width, 3), dtype=np.uint8)
            picture[top : top + height, left : left + width] = scene(width, height, i / fps, seed)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        samples = np.zeros((1, 1024), dtype=np.float32)
        for i in range(30):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 44100
            frame.pts = i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


GENERATED: dict[str, Callable[[Path], Path]] = {
    "h264-320x240-25fps": lambda d: make_video(d / "a.mp4", 320, 240, 3, fps=25),
    "h264-odd-250x142": lambda d: make_video(d / "b.mp4", 250, 142, 2, fps=24, seed=1),
    "mpeg4-640x360-avi": lambda d: make_video(d / "c.avi", 640, 360, 2, codec="mpeg4", seed=2),
    "vp9-webm-200x300": lambda d: make_video(d / "d.webm", 200, 300, 2, codec="libvpx-vp9"),
    "mjpeg-full-range": lambda d: make_video(d / "e.mkv", 160, 120, 2, codec="mjpeg", seed=3),
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {name: make(folder) for name, make in GENERATED.items()}


# --- the reference as the oracle --------------------------------------------------------------

_COMPARED: list[tuple[str, int, int, int]] = []  # (video, frames, bit-identical, max bits)


def _bits(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _compare(name: str, path: Path, seconds_per_hash: float) -> None:
    vpdq = _vpdq()
    ref = vpdq.computeHash(str(path), seconds_per_hash=seconds_per_hash)
    ours = hash_video(path, seconds_per_hash=seconds_per_hash)
    assert len(ours) == len(ref) > 0
    assert [f.frame_number for f in ours] == [f.frame_number for f in ref]
    assert [f.timestamp for f in ours] == [f.timestamp for f in ref]
    bits = [_bits(a.pdq, b.hex) for a, b in zip(ours, ref, strict=True)]
    for a, b, off in zip(ours, ref, bits, strict=True):
        assert off <= 8, (name, a.frame_number, off)
        if off == 0:
            assert a.quality == b.quality
        else:
            assert abs(a.quality - b.quality) <= 2
    _COMPARED.append((f"{name}@{seconds_per_hash}", len(bits), bits.count(0), max(bits)))


@pytest.mark.slow
@pytest.mark.parametrize("seconds_per_hash", [1.0, 0.0])
@pytest.mark.parametrize("clip", CLIPS, ids=[c.name for c in CLIPS])
def test_clips_hash_as_the_reference(clip: Path, seconds_per_hash: float) -> None:
    _compare(clip.name, clip, seconds_per_hash)


@pytest.mark.slow
@pytest.mark.parametrize("seconds_per_hash", [1.0, 0.0, 0.5])
@pytest.mark.parametrize("name", list(GENERATED))
def test_generated_videos_hash_as_the_reference(
    generated: dict[str, Path], name: str, seconds_per_hash: float
) -> None:
    _compare(name, generated[name], seconds_per_hash)


@pytest.mark.slow
def test_at_least_999_per_mille_of_frames_are_bit_identical() -> None:
    """Runs after the two tests above (file order) and totals what they compared."""
    if not _COMPARED:
        _vpdq()
        pytest.skip("the comparisons above did not run (selected alone)")
    frames = sum(c[1] for c in _COMPARED)
    identical = sum(c[2] for c in _COMPARED)
    print(f"\nvPDQ vs reference: {identical} of {frames} frames bit-identical, "
          f"max {max(c[3] for c in _COMPARED)} bits")  # fmt: skip
    assert identical >= 0.999 * frames
    assert max(c[3] for c in _COMPARED) <= 8


# --- sampling ---------------------------------------------------------------------------------


def _decoded_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_every_frame_when_seconds_per_hash_is_zero(generated: dict[str, Path]) -> None:
    path = generated["h264-320x240-25fps"]
    frames = hash_video(path, seconds_per_hash=0)
    assert [f.frame_number for f in frames] == list(range(_decoded_count(path))) == list(range(75))
    assert frames[1].timestamp == pytest.approx(1 / 25)
    assert all(len(f.pdq) == 64 and 0 <= f.quality <= 100 for f in frames)


def test_one_frame_per_interval(generated: dict[str, Path]) -> None:
    path = generated["h264-320x240-25fps"]
    assert [f.frame_number for f in hash_video(path)] == [0, 25, 50]
    assert [f.frame_number for f in hash_video(path, seconds_per_hash=2)] == [0, 50]
    assert [f.timestamp for f in hash_video(path)] == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="seconds_per_hash"):
        hash_video(path, seconds_per_hash=-1)


def test_threads_and_bytes_give_the_same_frames(generated: dict[str, Path]) -> None:
    path = generated["h264-odd-250x142"]
    one = hash_video(path, seconds_per_hash=0, threads=1)
    assert hash_video(path, seconds_per_hash=0, threads=3) == one
    assert hash_video(path.read_bytes(), seconds_per_hash=0) == one
    assert hash_video(str(path), seconds_per_hash=0) == one


# --- limits and bad input ---------------------------------------------------------------------


def test_limits_raise_video_too_large(generated: dict[str, Path]) -> None:
    path = generated["h264-320x240-25fps"]  # 3 s, 75 frames of 320x240
    size = path.stat().st_size
    for limits in (
        VideoLimits(max_bytes=size - 1),
        VideoLimits(max_duration_s=2.0),
        VideoLimits(max_frames=74),
        VideoLimits(max_pixels=320 * 240 - 1),
        VideoLimits(max_packets=10),
    ):
        with pytest.raises(VideoTooLarge):
            hash_video(path, limits=limits)
    hash_video(path, limits=VideoLimits(max_bytes=size, max_frames=75, max_pixels=320 * 240))


def test_limits_hold_while_decoding_when_the_header_says_nothing(tmp_path: Path) -> None:
    """Matroska declares no frame count: the frame limit is enforced as frames arrive."""
    path = make_video(tmp_path / "v.mkv", 64, 48, 2, fps=10)
    with av.open(str(path)) as container:
        assert not container.streams.video[0].frames
    with pytest.raises(VideoTooLarge, match="over 15 frames"):
        hash_video(path, limits=VideoLimits(max_frames=15))
    assert len(hash_video(path, seconds_per_hash=0, limits=VideoLimits(max_frames=20))) == 20


def test_bad_input_gets_typed_errors(tmp_path: Path, generated: dict[str, Path]) -> None:
    data = (VIDEO_DIR / "doorknob-hd-no-bar.mp4").read_bytes()
    damaged = bytearray(data)
    for i in range(len(data) // 3, len(data) // 3 + 50_000, 7):
        damaged[i] ^= 0x55
    bad = {
        "garbage": b"this is not a video " * 100,
        "head only": data[:1000],
        "truncated": data[: len(data) // 2],
        "damaged": bytes(damaged),
        "audio only": audio_only(tmp_path / "a.m4a").read_bytes(),
        "png": _png(),
        "tiny frames": make_video(tmp_path / "t.mp4", 4, 4, 1, codec="mpeg4").read_bytes(),
    }
    for name, blob in bad.items():
        with pytest.raises(InvalidVideo) as caught:
            hash_video(blob)
        assert str(caught.value), name
        path = tmp_path / f"bad-{len(blob)}.bin"
        path.write_bytes(blob)
        with pytest.raises(InvalidVideo):
            hash_video(path)
    with pytest.raises(EmptyMedia):
        hash_video(b"")
    with pytest.raises(InvalidVideo):
        hash_video(tmp_path / "missing.mp4")


def test_a_video_with_no_frames_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "empty.mkv"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height = 64, 48
    with pytest.raises(InvalidVideo):
        hash_video(path)


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(scene(64, 48, 0)).save(buffer, "PNG")
    return buffer.getvalue()


# --- black borders ----------------------------------------------------------------------------


def test_borders_are_found_despite_noise() -> None:
    rng = np.random.default_rng(5)
    picture = np.zeros((240, 320, 3), dtype=np.uint8)
    picture[30:210, 40:280] = scene(240, 180, 0.3)
    noisy = np.clip(picture.astype(int) + rng.integers(0, 20, picture.shape), 0, 255)
    noisy = noisy.astype(np.uint8)
    noisy[5, 5] = (255, 255, 255)  # a stray bright pixel in the bar
    assert detect_borders([noisy]) == CropBox(30, 210, 40, 280)
    black = np.zeros_like(picture)
    assert detect_borders([black, noisy, black]) == CropBox(30, 210, 40, 280)
    assert detect_borders([black]) is None
    assert detect_borders([scene(320, 240, 0)]) is None


def test_borders_are_the_union_over_frames_and_dark_content_is_kept() -> None:
    a = np.zeros((100, 100, 3), dtype=np.uint8)
    b = a.copy()
    a[20:80, 10:90] = 200
    b[10:70, 30:95] = 200
    assert detect_borders([a, b]) == CropBox(10, 80, 10, 95)
    small = np.zeros((100, 100, 3), dtype=np.uint8)
    small[45:55, 45:55] = 200  # a small lit object on a dark scene is not a letterbox
    assert detect_borders([small]) is None


def test_lifted_bars_are_borders_and_bright_even_edges_are_not() -> None:
    picture = np.full((240, 320, 3), 40, dtype=np.uint8)  # a brightened copy's bars: level 40
    picture[30:210, 40:280] = scene(240, 180, 0.3)
    assert detect_borders([picture]) == CropBox(30, 210, 40, 280)
    sky = scene(320, 240, 0.3)
    sky[:60] = 200  # an even bright sky at the top is content, not a bar
    assert detect_borders([sky]) is None


FRAME_DISTANCE = next(t.default for t in get_signal_type("vpdq").thresholds if t.name == "distance")


@pytest.mark.parametrize(
    ("pad", "name"), [((30, 30, 0, 0), "letterbox"), ((0, 0, 48, 48), "pillarbox")]
)
def test_a_boxed_copy_matches_its_original_with_crop_borders(
    tmp_path: Path, pad: tuple[int, int, int, int], name: str
) -> None:
    original = make_video(tmp_path / "o.mp4", 320, 180, 3, fps=10, seed=4)
    boxed = make_video(tmp_path / f"{name}.mp4", 320, 180, 3, fps=10, seed=4, pad=pad)
    base = hash_video(original)
    cropped = hash_video(boxed, crop_borders=True)
    plain = hash_video(boxed)
    assert [f.frame_number for f in cropped] == [f.frame_number for f in base]
    near = [_bits(a.pdq, b.pdq) for a, b in zip(base, cropped, strict=True)]
    far = [_bits(a.pdq, b.pdq) for a, b in zip(base, plain, strict=True)]
    # each cropped frame matches at vPDQ's own default distance and no uncropped one does;
    # no tighter bound, as two x264 encodes of the same frames can differ (over repeated
    # runs the cropped distances ranged 2-20, the uncropped 38-84)
    assert max(near) <= FRAME_DISTANCE, near
    assert min(far) > FRAME_DISTANCE, far
    assert sum(near) < sum(far)
    # an unboxed video is not changed by the option
    assert hash_video(original, crop_borders=True) == base


# --- text forms -------------------------------------------------------------------------------


def test_vpdq_text_round_trip(generated: dict[str, Path]) -> None:
    frames = hash_video(generated["h264-320x240-25fps"], seconds_per_hash=0.5)
    text = frames_to_vpdq_text(frames)
    assert text.splitlines()[1].startswith(f"12,{frames[1].quality},{frames[1].pdq},0.480")
    back = frames_from_vpdq_text(text)
    assert [(f.frame_number, f.quality, f.pdq) for f in back] == [
        (f.frame_number, f.quality, f.pdq) for f in frames
    ]
    assert [f.timestamp for f in back] == [round(f.timestamp, 3) for f in frames]
    assert frames_to_vpdq_text(back) == text


def test_threatexchange_signal_round_trip() -> None:
    frames = [
        VideoFrameHash(0, 0.0, 100, HEX_A),
        VideoFrameHash(30, 1.0, 87, HEX_A[::-1]),
        VideoFrameHash(366, 12.345, 49, HEX_A.upper()[:-1] + "0"),
    ]
    signal = signal_from_frames(frames)
    # python-threatexchange writes each frame as f"{hex},{quality},{timestamp:.3}"
    assert json.loads(signal) == [
        f"{HEX_A},100,0.0",
        f"{HEX_A[::-1]},87,1.0",
        f"{HEX_A.upper()[:-1]}0,49,12.3",
    ]
    features = signal_to_features(signal)
    assert features == [
        VpdqFeature(HEX_A, 100, 0.0),
        VpdqFeature(HEX_A[::-1], 87, 1.0),
        VpdqFeature(HEX_A[:-1] + "0", 49, 12.3),
    ]
    assert json.loads(signal_from_frames(features)) == [s.lower() for s in json.loads(signal)]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        f"0,100,{HEX_A}",
        f"0,100,{HEX_A},0.000,extra",
        f"-1,100,{HEX_A},0.000",
        f"x,100,{HEX_A},0.000",
        f"0,101,{HEX_A},0.000",
        f"0,-5,{HEX_A},0.000",
        f"0,100,{HEX_A[:-1]},0.000",
        f"0,100,{HEX_A[:-1]}g,0.000",
        f"0,100,{HEX_A},-1.0",
        f"0,100,{HEX_A},nan",
        f"0,100,{HEX_A},inf",
        f"0,100,{HEX_A},soon",
        f"5,100,{HEX_A},0.1\n5,100,{HEX_A},0.2",
        f"5,100,{HEX_A},0.1\n4,100,{HEX_A},0.2",
        f"٣,100,{HEX_A},0.0",
    ],
)
def test_vpdq_text_refuses_bad_lines(text: str) -> None:
    with pytest.raises(InvalidSignal):
        frames_from_vpdq_text(text)


@pytest.mark.parametrize(
    "signal",
    [
        "",
        "[]",
        "{}",
        "[1]",
        "not json",
        json.dumps([f"{HEX_A},100"]),
        json.dumps([f"{HEX_A},100,1.0,extra"]),
        json.dumps([f"{HEX_A},1000,1.0"]),
        json.dumps([f"{HEX_A[:10]},100,1.0"]),
        json.dumps([f"{HEX_A},100,-1"]),
        json.dumps([f"{HEX_A},100,NaN"]),
        "[" * 100_000,
    ],
)
def test_threatexchange_signal_refuses_bad_strings(signal: str) -> None:
    with pytest.raises(InvalidSignal):
        signal_to_features(signal)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789abcdefABX,.-+e \n\t")), max_size=200))
def test_the_parsers_accept_only_well_formed_text(text: str) -> None:
    """Any text: either frames that are all well formed, or InvalidSignal (never another error)."""
    for parse in (frames_from_vpdq_text, lambda t: signal_to_features(json.dumps([t]))):
        try:
            frames = parse(text)
        except InvalidSignal:
            continue
        for frame in frames:
            assert len(frame.pdq) == 64
            assert int(frame.pdq, 16) >= 0
            assert 0 <= frame.quality <= 100
            assert math.isfinite(frame.timestamp)
            assert frame.timestamp >= 0


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 10**6),
            st.integers(0, 100),
            st.binary(min_size=32, max_size=32),
            st.fractions(0, 10**5, max_denominator=1000),
        ),
        min_size=1,
        max_size=20,
        unique_by=lambda t: t[0],
    )
)
def test_well_formed_frames_round_trip(rows: list[tuple[int, int, bytes, Fraction]]) -> None:
    rows.sort()
    frames = [VideoFrameHash(n, float(ts), q, h.hex()) for n, q, h, ts in rows]
    back = frames_from_vpdq_text(frames_to_vpdq_text(frames))
    assert [(f.frame_number, f.quality, f.pdq) for f in back] == [
        (f.frame_number, f.quality, f.pdq) for f in frames
    ]
    features = signal_to_features(signal_from_frames(frames))
    assert [(f.pdq, f.quality) for f in features] == [(f.pdq, f.quality) for f in frames]
