"""Benign demo content: generated pattern images, edited copies and unrelated images.

``make run`` uses these to show SafeSpace end to end without any real-world imagery: the
"known" images go into a demo bank, the "uploads" folder holds edited copies (resized,
recompressed, brightened, rotated) mixed with unrelated images, and a scan finds the copies.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

__all__ = [
    "DEMO_DETER_DIR",
    "DEMO_KEY_FILE",
    "DEMO_PLACEHOLDER_TERMS",
    "DEMO_REVIEW_ITEMS",
    "DemoSet",
    "demo_deter_secret",
    "demo_evidence_key",
    "make_demo_set",
    "pattern_image",
]

DEMO_KEY_FILE = "evidence-demo.key"

# Placeholder tokens only: the demo's Deter term list, so that a tester can see a warning
# without typing anything real. Never put real search terms here (docs/deter.md).
DEMO_PLACEHOLDER_TERMS = ("demo-blocked-term", "demo-placeholder-query")

# The demo's review items: (content id, the demo image it sends, the reporting user's reason).
# Each is a generated pattern image (known ones are edited copies that match the demo bank);
# no photo of anyone.
DEMO_REVIEW_ITEMS = (
    (
        "demo-post-1",
        "upload-1-resized.jpg",
        "Demo: a user reports this post (matches the demo bank)",
    ),
    (
        "demo-post-2",
        "upload-2-brighter.jpg",
        "Demo: a user reports this post (matches the demo bank)",
    ),
    ("demo-post-3", "upload-3-rotated.jpg", "Demo: a rotated copy of a demo bank image"),
    ("demo-post-4", "unrelated-1.jpg", "Demo: a user report that matches nothing"),
)

# The demo's Deter folder (package data): the placeholder term list above and an experiment
# file that turns the support chatbot on for messages; the rest is the packaged vocabulary.
DEMO_DETER_DIR = Path(__file__).resolve().parent / "web" / "demo_deter"


def pattern_image(seed: int, size: tuple[int, int] = (960, 720)) -> Image.Image:
    """A smooth random colour field with shapes: structured enough for a high PDQ quality."""
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    img = Image.fromarray(low, "RGB").resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    width, height = size
    for _ in range(12):
        x0, y0 = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 40))
        x1 = min(width, x0 + int(rng.integers(40, width // 2)))
        y1 = min(height, y0 + int(rng.integers(40, height // 2)))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    return img


@dataclass(frozen=True)
class DemoSet:
    known_dir: Path
    uploads_dir: Path
    known: list[Path]
    expected_matches: list[Path]
    unrelated: list[Path]


def make_demo_set(root: Path, *, known_count: int = 4, unrelated_count: int = 4) -> DemoSet:
    """Write the demo images under ``root`` (idempotent: same seeds give the same files)."""
    known_dir, uploads_dir = root / "known", root / "uploads"
    known_dir.mkdir(parents=True, exist_ok=True)
    uploads_dir.mkdir(parents=True, exist_ok=True)
    known: list[Path] = []
    expected: list[Path] = []
    for i in range(known_count):
        img = pattern_image(1000 + i)
        path = known_dir / f"known-{i + 1}.png"
        img.save(path)
        known.append(path)
        edits = {
            "resized.jpg": img.resize((480, 360), Image.Resampling.LANCZOS),
            "recompressed.jpg": img,
            "brighter.jpg": ImageEnhance.Brightness(img).enhance(1.2),
            "rotated.jpg": img.transpose(Image.Transpose.ROTATE_90),
        }
        for suffix, edited in edits.items():
            out = uploads_dir / f"upload-{i + 1}-{suffix}"
            edited.save(out, quality=70)
            expected.append(out)
    unrelated: list[Path] = []
    for j in range(unrelated_count):
        out = uploads_dir / f"unrelated-{j + 1}.jpg"
        pattern_image(5000 + j).save(out, quality=85)
        unrelated.append(out)
    (uploads_dir / "notes.txt").write_text("Not an image: the scan lists it as an error.\n")
    return DemoSet(known_dir, uploads_dir, known, expected, unrelated)


def _demo_secret(path: Path, make: str) -> tuple[str, Path]:
    """``make`` kept in ``path`` (mode 0600) unless a value is already there."""
    if path.exists():
        return path.read_text().strip(), path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(make + "\n")
    return make, path


def demo_evidence_key(root: Path) -> tuple[str, Path]:
    """A random evidence master key for the demo only, kept in ``root`` (mode 0600) so that
    evidence stored in one demo run still opens in the next. Never used outside ``demo``.
    The served demo also seals its review media with it."""
    return _demo_secret(root / DEMO_KEY_FILE, base64.b64encode(secrets.token_bytes(32)).decode())


def demo_deter_secret() -> str:
    """A random Deter secret for one served demo (widget tokens, arm assignment), never
    written anywhere: tokens from an earlier run stop working, which a demo can afford."""
    return secrets.token_urlsafe(32)
