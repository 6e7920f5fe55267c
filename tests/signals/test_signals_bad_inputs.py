"""Bad and unusual input: every one gets a typed MediaError with a one-line message."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from datafiles import PHOTO_12MP, VIDEO_DIR
from safespace.errors import CorruptMedia, EmptyMedia, MediaError, MediaTooLarge, UnsupportedMedia
from safespace.signals import (
    DecodeLimits,
    hamming,
    hash_bytes,
    hash_file,
    pdq_dihedral_from_bytes,
    pdq_from_image,
)

VIDEO = VIDEO_DIR / "doorknob-hd-no-bar.mp4"


def photo_like(width: int = 640, height: int = 480, seed: int = 1) -> Image.Image:
    """A benign synthetic picture: gradients, a few shapes and mild noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    red = (x * 255 // max(width - 1, 1)).astype(np.uint8)
    green = (y * 255 // max(height - 1, 1)).astype(np.uint8)
    blue = ((np.sin(x / 23.0) + np.cos(y / 17.0)) * 60 + 128).astype(np.uint8)
    rgb = np.stack([red, green, blue], axis=-1)
    rgb[height // 4 : height // 2, width // 5 : width // 2] = (240, 240, 30)
    noise = rng.integers(-12, 12, rgb.shape)
    return Image.fromarray(np.clip(rgb.astype(int) + noise, 0, 255).astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a size its (tiny) data does not have."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def jpeg_claiming(data: bytes, width: int, height: int) -> bytes:
    """A copy of a baseline JPEG with the frame header's size replaced."""
    at = data.index(b"\xff\xc0")
    return data[: at + 5] + struct.pack(">HH", height, width) + data[at + 9 :]


def assert_one_line(error: MediaError) -> None:
    assert str(error)
    assert "\n" not in str(error)


# --- empty, unknown, text -------------------------------------------------------------------


def test_zero_bytes(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(EmptyMedia, match="empty"):
        hash_file(empty)
    with pytest.raises(EmptyMedia):
        hash_bytes(b"")


def test_random_bytes_are_unsupported() -> None:
    rng = np.random.default_rng(7)
    for size in (1, 5, 100, 10_000):
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        with pytest.raises(UnsupportedMedia) as info:
            hash_bytes(data)
        assert_one_line(info.value)


def test_text_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("just some words\nand another line\n")
    with pytest.raises(UnsupportedMedia, match="text"):
        hash_file(path)
    with pytest.raises(UnsupportedMedia, match="text"):
        hash_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>")


@pytest.mark.parametrize(
    ("fmt", "mode"), [("TGA", "RGB"), ("PCX", "RGB"), ("EPS", "RGB"), ("XBM", "1")]
)
def test_formats_outside_the_allow_list_are_refused(fmt: str, mode: str) -> None:
    data = encode(photo_like(64, 48).convert(mode), fmt)
    with pytest.raises(UnsupportedMedia):
        hash_bytes(data)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no such file"):
        hash_file(tmp_path / "nope.png")
    with pytest.raises(MediaError, match="directory"):
        hash_file(tmp_path)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(MediaError, match="not a regular file"):
        hash_file(fifo)


# --- truncated and damaged ------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.95])
@pytest.mark.parametrize("which", ["jpeg", "png"])
def test_truncated_images_are_corrupt(
    which: str, fraction: float, jpeg_bytes: bytes, png_bytes: bytes, tmp_path: Path
) -> None:
    data = jpeg_bytes if which == "jpeg" else png_bytes
    cut = data[: max(12, int(len(data) * fraction))]
    path = tmp_path / f"cut.{which}"
    path.write_bytes(cut)
    for exact in (True, False):
        with pytest.raises(CorruptMedia) as info:
            hash_file(path, exact=exact)
        assert_one_line(info.value)


def test_truncated_large_jpeg_in_fast_mode_is_corrupt() -> None:
    big = PHOTO_12MP.read_bytes()
    with pytest.raises(CorruptMedia, match="truncated"):
        hash_bytes(big[: len(big) // 2])


def test_damaged_bytes_never_escape_as_other_errors(jpeg_bytes: bytes, png_bytes: bytes) -> None:
    rng = np.random.default_rng(3)
    for data in (jpeg_bytes, png_bytes, encode(photo_like(), "GIF"), encode(photo_like(), "WEBP")):
        for _ in range(15):
            damaged = bytearray(data)
            for position in rng.integers(20, len(data), 30):
                damaged[position] = int(rng.integers(0, 256))
            try:
                signals = hash_bytes(bytes(damaged))
            except MediaError as error:
                assert_one_line(error)
            else:  # decoders conceal some damage; the result is still a well-formed hash
                assert signals.pdq is not None
                assert len(signals.pdq) == 64


def test_starts_like_bmp_but_is_not() -> None:
    with pytest.raises(CorruptMedia, match="BMP"):
        hash_bytes(b"BM" + b"\x00" * 100)


# --- size limits ----------------------------------------------------------------------------


def test_byte_limit(tmp_path: Path, jpeg_bytes: bytes) -> None:
    limits = DecodeLimits(max_bytes=len(jpeg_bytes) - 1)
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg_bytes)
    with pytest.raises(MediaTooLarge, match="max_media_bytes"):
        hash_file(path, limits=limits)
    with pytest.raises(MediaTooLarge):
        hash_bytes(jpeg_bytes, limits=limits)
    with pytest.raises(MediaTooLarge):
        hash_file(VIDEO, limits=DecodeLimits(max_bytes=1000))
    assert hash_file(path, limits=DecodeLimits(max_bytes=len(jpeg_bytes))).pdq


def test_pixel_limit_checked_from_header(jpeg_bytes: bytes) -> None:
    with pytest.raises(MediaTooLarge, match="max_image_pixels"):
        hash_bytes(jpeg_bytes, limits=DecodeLimits(max_pixels=1600 * 1004 - 1))
    assert hash_bytes(jpeg_bytes, limits=DecodeLimits(max_pixels=1600 * 1004)).pdq


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (12_000, 10_000), (5000, 5000)])
def test_header_claiming_a_huge_png(width: int, height: int) -> None:
    limits = DecodeLimits(max_pixels=20_000_000)
    with pytest.raises(MediaTooLarge) as info:
        hash_bytes(png_claiming(width, height), limits=limits)
    assert_one_line(info.value)


def test_header_claiming_a_huge_jpeg(jpeg_bytes: bytes) -> None:
    with pytest.raises(MediaTooLarge):
        hash_bytes(jpeg_claiming(jpeg_bytes, 60_000, 60_000))
    # 90 MP: above Pillow's warning level, so its warning must not leak out either
    claiming = jpeg_claiming(jpeg_bytes, 10_000, 9_000)
    with pytest.raises(MediaTooLarge, match="10000x9000"):
        hash_bytes(claiming, limits=DecodeLimits(max_pixels=50_000_000))
    # within the default limit: libjpeg pads the missing scan data (grey), as it would for
    # the reference tool, and the header's size is reported
    signals = hash_bytes(claiming, exact=True)
    assert (signals.width, signals.height) == (10_000, 9_000)


def test_pixel_limit_does_not_rely_on_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(MediaTooLarge, match="max_image_pixels"):
        hash_bytes(png_claiming(100_000, 100_000))


def test_a_claimed_size_within_limits_but_missing_data_is_corrupt() -> None:
    with pytest.raises(CorruptMedia):
        hash_bytes(png_claiming(3000, 2000))


def test_load_truncated_images_is_never_switched_on(jpeg_bytes: bytes) -> None:
    from PIL import ImageFile

    with pytest.raises(CorruptMedia):
        hash_bytes(jpeg_bytes[: len(jpeg_bytes) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# --- content decides, not the name ----------------------------------------------------------


def test_wrong_extensions(tmp_path: Path, png_bytes: bytes, jpeg_bytes: bytes) -> None:
    expected_png = hash_bytes(png_bytes, exact=True)
    for name in ("really-a-png.jpg", "no-extension", "image.txt"):
        path = tmp_path / name
        path.write_bytes(png_bytes)
        signals = hash_file(path, exact=True)
        assert signals == expected_png
        assert signals.media_format == "PNG"
    path = tmp_path / "really-a-jpeg.png"
    path.write_bytes(jpeg_bytes)
    assert hash_file(path).media_format == "JPEG"
    video = tmp_path / "clip.jpg"
    video.write_bytes(VIDEO.read_bytes())
    assert hash_file(video).media_kind == "video"


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"\x1a\x45\xdf\xa3" + b"\x00" * 60, "Matroska/WebM"),
        (b"RIFF\x00\x10\x00\x00AVI LIST" + b"\x00" * 60, "AVI"),
        (b"\x00\x00\x00\x18ftypqt  \x00\x00\x02\x00qt  " + b"\x00" * 60, "QuickTime"),
        (b"\x00\x00\x00\x08wide\x00\x00\x00\x10mdat" + b"\x00" * 60, "QuickTime"),
        (b"\x00\x00\x00\x1cftyp3gp4\x00\x00\x02\x00isom3gp4" + b"\x00" * 60, "3GPP"),
        (b"FLV\x01\x05" + b"\x00" * 60, "FLV"),
        ((b"\x47" + b"\x00" * 187) * 3, "MPEG-TS"),
    ],
)
def test_video_containers_are_sniffed(head: bytes, fmt: str) -> None:
    signals = hash_bytes(head)
    assert (signals.media_kind, signals.media_format, signals.pdq) == ("video", fmt, None)


def test_dihedral_of_a_video_is_refused() -> None:
    with pytest.raises(UnsupportedMedia, match="video"):
        pdq_dihedral_from_bytes(VIDEO.read_bytes())


# --- animated, HEIF, AVIF, alpha ------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animated_images_hash_their_first_frame(fmt: str) -> None:
    frames = [photo_like(seed=seed).rotate(angle) for seed, angle in ((1, 0), (2, 90), (3, 180))]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(io.BytesIO(data)) as opened:
        assert getattr(opened, "n_frames", 1) == 3
        first = pdq_from_image(opened)  # frame 0 as Pillow decodes it
    signals = hash_bytes(data, exact=True)
    assert (signals.pdq, signals.pdq_quality) == first
    assert signals.pdq is not None
    still = hash_bytes(encode(frames[2], "PNG"), exact=True).pdq
    assert still is not None
    assert hamming(signals.pdq, still) > 31


def test_heic_written_with_pillow_heif(tmp_path: Path) -> None:
    source = photo_like(800, 600)
    path = tmp_path / "photo.bin"
    pillow_heif.from_pillow(source).save(str(path), format="HEIF", quality=90)
    signals = hash_file(path, exact=True)
    assert (signals.media_kind, signals.media_format) == ("image", "HEIF")
    assert (signals.width, signals.height) == (800, 600)
    direct, _ = pdq_from_image(source)
    assert signals.pdq is not None
    assert hamming(signals.pdq, direct) <= 16
    assert hash_file(path).pdq == signals.pdq


def test_avif() -> None:
    source = photo_like(700, 500)
    signals = hash_bytes(encode(source, "AVIF", quality=90), exact=True)
    assert signals.media_format == "AVIF"
    direct, _ = pdq_from_image(source)
    assert signals.pdq is not None
    assert hamming(signals.pdq, direct) <= 16


def test_alpha_is_dropped_not_composited() -> None:
    """Like convert('RGB'): transparent pixels hash as the colour stored under them."""
    rgb = photo_like(300, 200)
    rgba = rgb.copy()
    rgba.putalpha(0)
    assert (
        hash_bytes(encode(rgba, "PNG"), exact=True).pdq
        == hash_bytes(encode(rgb, "PNG"), exact=True).pdq
    )


def test_batch_of_bad_files_all_raise_media_errors(tmp_path: Path, jpeg_bytes: bytes) -> None:
    bad = {
        "empty": b"",
        "random": os.urandom(3000),
        "text": b"hello world\n" * 10,
        "cut": jpeg_bytes[:5000],
        "bomb": png_claiming(100_000, 100_000),
        "liar": b"\x89PNG\r\n\x1a\n" + b"\x00" * 50,
    }
    outcomes: dict[str, str] = {}
    for name, data in bad.items():
        path = tmp_path / name
        path.write_bytes(data)
        try:
            hash_file(path)
        except MediaError as error:
            outcomes[name] = error.code
    assert outcomes == {
        "empty": "empty-media",
        "random": "unsupported-media",
        "text": "unsupported-media",
        "cut": "corrupt-media",
        "bomb": "media-too-large",
        "liar": "corrupt-media",
    }
