"""Same pixels, same hash: the browser's PDQ (pdq.js) against the server's, bit for bit.

Every case is an RGB array made here (fixed seeds), hashed by the server's exact path
(``pdq_from_image``: the 512 grid, then ``pdqhash``) and by ``SafeSpacePDQ.pdqFromPixels`` in
Chromium on the same bytes. Hash and quality must be identical.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from safespace.signals import pdq_from_image

Pixels = npt.NDArray[np.uint8]

PATTERNS = (
    "noise",
    "gradient",
    "checker",
    "stripes",
    "blocks",
    "flat",
    "rings",
    "faint",
    "speck",
)

FIXED_SIZES = (
    (1, 1),
    (2, 3),
    (4, 4),
    (4, 100),
    (100, 4),
    (5, 5),
    (5, 6),
    (7, 13),
    (33, 17),
    (63, 65),
    (64, 64),
    (65, 64),
    (127, 129),
    (128, 128),
    (255, 257),
    (511, 512),
    (512, 512),
    (512, 513),
    (513, 512),
    (513, 7),
    (6, 700),
    (1004, 1600),
    (1333, 777),
)


def make_pixels(height: int, width: int, pattern: str, seed: int) -> Pixels:
    """A benign generated picture: noise, gradients, geometric shapes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    if pattern == "noise":
        return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if pattern == "gradient":
        r = x * 255 / max(width - 1, 1)
        g = y * 255 / max(height - 1, 1)
        b = (x + y) * 255 / max(width + height - 2, 1)
        return np.stack([r, g, b], axis=-1).round().astype(np.uint8)
    if pattern == "checker":
        cell = int(rng.integers(1, 40))
        on = ((x // cell + y // cell) % 2).astype(bool)
        colours = rng.integers(0, 256, (2, 3), dtype=np.uint8)
        return np.where(on[..., None], colours[0], colours[1]).astype(np.uint8)
    if pattern == "stripes":
        period = float(rng.uniform(2, 60))
        angle = float(rng.uniform(0, np.pi))
        v = np.sin((x * np.cos(angle) + y * np.sin(angle)) * 2 * np.pi / period)
        grey = (127.5 + 127.5 * v).round().astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    if pattern == "blocks":
        small = rng.integers(0, 256, (max(height // 9, 1), max(width // 9, 1), 3), dtype=np.uint8)
        big = small.repeat(9, axis=0).repeat(9, axis=1)
        pad = ((0, max(height - big.shape[0], 0)), (0, max(width - big.shape[1], 0)), (0, 0))
        return np.ascontiguousarray(np.pad(big, pad, mode="edge")[:height, :width])
    if pattern == "flat":
        return np.full((height, width, 3), rng.integers(0, 256, 3), dtype=np.uint8)
    if pattern == "rings":
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        d = np.hypot(x - cx, y - cy)
        v = np.cos(d / float(rng.uniform(3, 30)))
        rgb = np.stack([v, np.roll(v, 3, axis=1), -v], axis=-1)
        return (127.5 + 127.5 * rgb).round().astype(np.uint8)
    if pattern == "faint":  # near-constant: many near-equal DCT values around the median
        base = rng.integers(100, 150)
        return (base + rng.integers(0, 2, (height, width, 3))).astype(np.uint8)
    if pattern == "speck":  # flat with one small bright square
        out = np.full((height, width, 3), 30, dtype=np.uint8)
        top, left = int(rng.integers(0, height)), int(rng.integers(0, width))
        out[top : top + max(height // 10, 1), left : left + max(width // 10, 1)] = 230
        return out
    raise AssertionError(pattern)


def cases() -> list[tuple[int, int, str, int]]:
    out = [(h, w, PATTERNS[i % len(PATTERNS)], 1000 + i) for i, (h, w) in enumerate(FIXED_SIZES)]
    out += [(64, 64, p, 2000 + i) for i, p in enumerate(PATTERNS)]
    out += [(700, 900, p, 3000 + i) for i, p in enumerate(PATTERNS)]
    rng = np.random.default_rng(20240601)
    for seed in range(60):  # random sizes, log-uniform from 1 to 1400 pixels a side
        h, w = (int(v) for v in np.exp(rng.uniform(0, np.log(1400), 2)).round())
        out.append((max(h, 1), max(w, 1), PATTERNS[int(rng.integers(len(PATTERNS)))], seed))
    return out


def server_pdq(pixels: Pixels) -> tuple[str, int]:
    return pdq_from_image(Image.fromarray(pixels, mode="RGB"))


def browser_pdq(page: Any, pixels: Pixels, channels: int = 3) -> tuple[str, int]:
    height, width = pixels.shape[:2]
    result = page.evaluate(
        """([b64, w, h, c]) => {
            const bin = atob(b64);
            const px = new Uint8Array(bin.length);
            for (let i = 0; i < bin.length; i++) px[i] = bin.charCodeAt(i);
            const r = SafeSpacePDQ.pdqFromPixels(px, w, h, c);
            return [r.hash, r.quality];
        }""",
        [base64.b64encode(pixels.tobytes()).decode("ascii"), width, height, channels],
    )
    return str(result[0]), int(result[1])


CASES = cases()


@pytest.mark.parametrize(
    ("height", "width", "pattern", "seed"),
    CASES,
    ids=[f"{h}x{w}-{p}-{s}" for h, w, p, s in CASES],
)
def test_same_pixels_same_hash(harness: Any, height: int, width: int, pattern: str, seed: int):
    pixels = make_pixels(height, width, pattern, seed)
    assert pixels.shape == (height, width, 3)
    assert browser_pdq(harness, pixels) == server_pdq(pixels)


def test_alpha_is_ignored(harness: Any) -> None:
    """RGBA input (ImageData's layout) hashes as its RGB: the server drops alpha too."""
    rng = np.random.default_rng(7)
    for height, width in ((300, 200), (900, 1300)):
        rgb = make_pixels(height, width, "rings", int(rng.integers(1000)))
        alpha = rng.integers(0, 256, (height, width, 1), dtype=np.uint8)
        rgba = np.ascontiguousarray(np.concatenate([rgb, alpha], axis=-1))
        assert browser_pdq(harness, rgba, channels=4) == server_pdq(rgb)


def test_tiny_images_hash_to_zero(harness: Any) -> None:
    """Under 5 pixels a side (and at most 512 on the other, or the grid makes it 512x512)."""
    for height, width in ((4, 4), (1, 500), (500, 4)):
        pixels = make_pixels(height, width, "noise", 3)
        assert browser_pdq(harness, pixels) == ("0" * 64, 0) == server_pdq(pixels)


def test_grid_indices_match_the_server(harness: Any) -> None:
    """floor(i * size / 512) for i = 0..511, computed exactly (no float drift)."""
    for size in (513, 777, 1004, 4032, 12345, 100_000):
        got = harness.evaluate("(n) => Array.from(SafeSpacePDQ.gridIndices(n))", size)
        assert got == [i * size // 512 for i in range(512)]


def test_hamming(harness: Any) -> None:
    a, b = "f" * 64, "0" * 63 + "7"
    assert harness.evaluate("([a, b]) => SafeSpacePDQ.hamming(a, b)", [a, b]) == 253
