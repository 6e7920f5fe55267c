"""Same file, browser decoder: hashing.js on real files against the server's reference hashes.

The browser decodes with its own decoders (createImageBitmap), so PDQ may differ from the
server by a few bits; the PDQ reference allows 10 when quality >= 80. MD5 must be exact.
Run with ``-s`` to see the distance table that docs/browser-hashing.md reports.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from datafiles import REFERENCE_CSV, VIDEOS
from safespace.signals import hamming, hash_bytes

HASH_URL = """async ([url, opts]) => {
    const blob = await (await fetch(url)).blob();
    return await SafeSpaceHashing.hashFile(blob, opts || {});
}"""


def _reference() -> list[dict[str, str]]:
    with REFERENCE_CSV.open(newline="") as fh:
        return list(csv.DictReader(fh))


def hash_url(page: Any, url: str, **options: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(HASH_URL, [url, options])
    return result


def test_every_reference_image_within_tolerance(harness: Any, site: Any) -> None:
    rows = _reference()
    assert len(rows) == 44  # every image in tests/data/pdq (tests/signals checks the list)
    distances: dict[str, int] = {}
    for row in rows:
        r = hash_url(harness, f"{site.url}/testdata/pdq/{row['path']}")
        assert r["media_kind"] == "image", row["path"]
        assert r["md5"] == row["md5"], row["path"]
        assert (r["width"], r["height"]) == (int(row["width"]), int(row["height"])), row["path"]
        assert r["pdq"] is not None, f"{row['path']}: {r['error']}"
        distances[row["path"]] = hamming(r["pdq"], row["pdq"])
        if int(row["quality"]) >= 80:
            assert distances[row["path"]] <= 10, (row["path"], distances[row["path"]])
            assert abs(r["pdq_quality"] - int(row["quality"])) <= 10, row["path"]
    spread = sorted(Counter(distances.values()).items())
    print(
        f"\nbrowser vs server PDQ over {len(rows)} files: max {max(distances.values())} bits, "
        f"distribution (bits: files) {spread}"
    )


@pytest.mark.parametrize("orientation", [3, 6, 8])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_orientation_is_not_applied(harness: Any, site: Any, fmt: str, orientation: int):
    """A file with an EXIF orientation hashes as stored, as on the server."""
    y, x = np.mgrid[0:300, 0:420]
    pixels = np.stack([x * 255 // 419, y * 255 // 299, ((x // 30 + y // 30) % 2) * 255], -1)
    image = Image.fromarray(pixels.astype(np.uint8), mode="RGB")
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    extra = {"quality": 92} if fmt == "JPEG" else {"lossless": True} if fmt == "WEBP" else {}
    image.save(buf, format=fmt, exif=exif, **extra)
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as check:
        assert check.getexif().get(0x0112) == orientation
    name = f"exif-{orientation}.{fmt.lower()}"
    (site.pages / name).write_bytes(data)
    server = hash_bytes(data, exact=True)
    r = hash_url(harness, f"{site.url}/{name}")
    assert (r["width"], r["height"]) == (420, 300)
    assert r["md5"] == server.md5  # the file's own bytes, not the patched copy
    assert server.pdq is not None
    assert r["pdq"] == server.pdq
    assert r["pdq_quality"] == server.pdq_quality


def test_orientation_reset_leaves_upright_files_alone(harness: Any, site: Any) -> None:
    for path in ("reg-test-input/exif-rotn/exif-rotn-1.jpg", "misc-images/c.png"):
        changed = harness.evaluate(
            """async (url) => {
                const b = new Uint8Array(await (await fetch(url)).arrayBuffer());
                return SafeSpaceHashing.resetOrientation(b, SafeSpaceHashing.sniff(b).format);
            }""",
            f"{site.url}/testdata/pdq/{path}",
        )
        assert changed is False


@pytest.mark.parametrize("alpha", ["left-half-clear", "ramp", "opaque"])
def test_transparent_png_is_exact(harness: Any, site: Any, alpha: str) -> None:
    """PNGs are decoded by png.js, which keeps the colour stored under clear pixels as the
    server does (the canvas premultiplies and loses it): same hash, transparent or not.
    tests/web/test_web_png_alpha.py covers every PNG layout."""
    y, x = np.mgrid[0:400, 0:600]
    rgb = np.stack([x * 255 // 599, y * 255 // 399, ((x // 37 + y // 29) % 2) * 255], -1)
    a = {"left-half-clear": np.where(x < 300, 0, 255), "ramp": x * 255 // 599}.get(
        alpha, 255 + 0 * x
    )
    rgba = np.concatenate([rgb, a[..., None]], -1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG")
    (site.pages / f"alpha-{alpha}.png").write_bytes(buf.getvalue())
    r = hash_url(harness, f"{site.url}/alpha-{alpha}.png")
    canvas = hash_url(harness, f"{site.url}/alpha-{alpha}.png", decoder="canvas")
    server = hash_bytes(buf.getvalue(), exact=True)
    assert server.pdq is not None
    assert canvas["pdq"] is not None
    distance = hamming(canvas["pdq"], server.pdq)
    print(f"\nPNG alpha {alpha}: png.js 0 bits, canvas {distance} bits from the server")
    assert (r["decoder"], r["alpha_lost"], r["pdq"]) == ("png", False, server.pdq)
    assert (canvas["decoder"], canvas["alpha_lost"]) == ("canvas", alpha != "opaque")
    if alpha == "opaque":
        assert distance == 0


def test_heif_is_refused_with_md5(harness: Any, site: Any) -> None:
    """Chromium has no HEIF decoder: no PDQ, a reason, and the MD5 of the file."""
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(buf, format="HEIF")
    (site.pages / "photo.heic").write_bytes(buf.getvalue())
    r = hash_url(harness, f"{site.url}/photo.heic")
    assert (r["media_kind"], r["media_format"], r["pdq"]) == ("image", "HEIF", None)
    assert "cannot decode" in r["error"]
    assert r["md5"] == hashlib.md5(buf.getvalue()).hexdigest()


def test_avif_decodes_in_the_browser(harness: Any, site: Any) -> None:
    """AVIF is decodable in Chromium; lossy, so compared within the decoder tolerance."""
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    y, x = np.mgrid[0:240, 0:320]
    pixels = np.stack([x * 255 // 319, y * 255 // 239, ((x // 40 + y // 40) % 2) * 255], -1)
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="RGB").save(buf, format="AVIF", quality=90)
    (site.pages / "photo.avif").write_bytes(buf.getvalue())
    r = hash_url(harness, f"{site.url}/photo.avif")
    server = hash_bytes(buf.getvalue(), exact=True)
    assert r["media_format"] == "AVIF"
    assert r["pdq"] is not None, r["error"]
    assert server.pdq is not None
    distance = hamming(r["pdq"], server.pdq)
    print(f"\nAVIF: browser vs server {distance} bits")
    assert distance <= 10


@pytest.mark.parametrize("video", VIDEOS, ids=[v.name for v in VIDEOS])
@pytest.mark.parametrize("where", ["worker", "page"])
def test_video_md5_streamed(harness: Any, site: Any, video: Path, where: str) -> None:
    """Videos get MD5 only, read in slices (an odd slice size to cross block boundaries)."""
    r = hash_url(
        harness,
        f"{site.url}/testdata/video/{video.name}",
        chunkSize=65_537,
        worker=where == "worker",
    )
    assert r["where"] == where
    assert (r["media_kind"], r["pdq"], r["pdq_quality"]) == ("video", None, None)
    assert r["md5"] == hashlib.md5(video.read_bytes()).hexdigest()


def test_md5_rfc1321_vectors(harness: Any) -> None:
    vectors = {
        "": "d41d8cd98f00b204e9800998ecf8427e",
        "a": "0cc175b9c0f1b6a831c399e269772661",
        "abc": "900150983cd24fb0d6963f7d28e17f72",
        "message digest": "f96b697d7cb7938d525a2f31aaf161d0",
        "abcdefghijklmnopqrstuvwxyz": "c3fcd3d76192e4007dfb496cca67e13b",
        "12345678901234567890123456789012345678901234567890123456789012345678901234567890": (
            "57edf4a22be3c955ac49da2e2107b67a"
        ),
    }
    for text, digest in vectors.items():
        got = harness.evaluate(
            "(t) => SafeSpaceMD5.md5Hex(new TextEncoder().encode(t))",
            text,
        )
        assert got == digest, text


def test_md5_any_split(harness: Any) -> None:
    """Feeding the same bytes in uneven pieces gives the one-shot digest, at every length."""
    data = bytes(range(256)) * 3
    got = harness.evaluate(
        """(n) => {
            const all = new Uint8Array(n);
            for (let i = 0; i < n; i++) all[i] = i & 255;
            const out = [];
            for (let len = 0; len <= n; len += 7) {
                const h = new SafeSpaceMD5.MD5();
                let i = 0, step = 1;
                while (i < len) {
                    h.update(all.subarray(i, Math.min(len, i + step)));
                    i += step;
                    step = (step * 5) % 67 + 1;
                }
                out.push(h.hex());
            }
            return out;
        }""",
        len(data),
    )
    assert got == [hashlib.md5(data[:n]).hexdigest() for n in range(0, len(data) + 1, 7)]


@pytest.mark.slow
def test_md5_over_512_mib(harness: Any) -> None:
    """A Blob past 2^29 bytes (the bit length needs its high word), streamed in slices."""
    block = bytes((i * 31 + 7) & 255 for i in range(1 << 20))
    count = 513
    tail = b"tail"
    got = harness.evaluate(
        """async (n) => {
            const block = new Uint8Array(1 << 20);
            for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 255;
            const parts = new Array(n).fill(block);
            parts.push(new TextEncoder().encode("tail"));
            return await SafeSpaceMD5.md5Blob(new Blob(parts));
        }""",
        count,
    )
    h = hashlib.md5()
    for _ in range(count):
        h.update(block)
    h.update(tail)
    assert got == h.hexdigest()
