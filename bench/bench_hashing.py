"""Hashing speed (images per second on one core) and fast-mode accuracy.

Compares, on the same JPEG bytes in memory and in the same run:

* ours, fast:   ``safespace.signals.hash_bytes(data)`` (JPEG draft decoding, PDQ on 512x512,
                plus MD5 and SHA-256)
* ours, exact:  ``hash_bytes(data, exact=True)`` (full decode, reference 512x512 grid)
* common path:  Pillow full decode + ``pdqhash.compute`` at full resolution, what most Python
                code does (no MD5/SHA-256)

and prints ratios against the common path. The accuracy part counts the PDQ bits fast mode
changes against exact mode, on the 12 MP photos and on JPEGs cut from them, for the draft
target in use and for the alternative of 512.

    python bench/bench_hashing.py            # full run (a few minutes)
    python bench/bench_hashing.py --quick    # short run
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image

from safespace.signals import hamming, hash_bytes
from safespace.signals._decode import FAST_DRAFT_MIN_SIDE, DecodeLimits, decode_image, rgb_grid
from safespace.signals._pdq import pdq_from_rgb
from safespace.signals._sniff import HEAD_BYTES, sniff

PDQ_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "pdq"  # the repo's test data
# The 12 MP photos: the repository keeps one; --photos points at a folder with more.
LARGE = sorted((PDQ_DIR / "reg-test-input" / "exif-rotn").glob("*.jpg"))
LIMITS = DecodeLimits()
BRIDGES = [
    PDQ_DIR / "bridge-mods" / "aaa-orig.jpg",
    *sorted((PDQ_DIR / "reg-test-input" / "dih").glob("bridge-*.jpg")),
]


def common_path(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        pdqhash.compute(np.asarray(image.convert("RGB")))


def ours_fast(data: bytes) -> None:
    hash_bytes(data)


def ours_exact(data: bytes) -> None:
    hash_bytes(data, exact=True)


def ours_fast_pdq_only(data: bytes) -> None:
    """Fast mode without MD5 and SHA-256, to compare like with like."""
    found = sniff(data[:HEAD_BYTES])
    assert found is not None
    pdq_from_rgb(decode_image(data, found, exact=False, limits=LIMITS).rgb)


def per_second(
    methods: dict[str, Callable[[bytes], None]], images: list[bytes], rounds: int
) -> dict[str, float]:
    """Each method's best round in images per CPU-second, one image at a time, one thread.

    CPU time of this process rather than wall time, and the best round rather than the
    median: on a shared machine wall time mostly measures the neighbours. Rounds alternate
    between the methods so that all see the same conditions.
    """
    for fn in methods.values():
        for data in images[:2]:
            fn(data)  # warm caches and lazy imports
    best = dict.fromkeys(methods, 0.0)
    for _ in range(rounds):
        for name, fn in methods.items():
            start = time.process_time()
            for data in images:
                fn(data)
            best[name] = max(best[name], len(images) / (time.process_time() - start))
    return best


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def medium_set(count: int) -> list[bytes]:
    """The 1600x1004 bridge photos plus ~2 MP JPEGs made by resizing the 12 MP photos."""
    images = [p.read_bytes() for p in BRIDGES]
    sizes = [(1920, 1080), (1632, 1224), (1200, 1600), (1760, 1320)]
    for index in range(count):
        with Image.open(LARGE[index % len(LARGE)]) as photo:
            size = sizes[index % len(sizes)]
            images.append(jpeg(photo.convert("RGB").resize(size, Image.Resampling.LANCZOS)))
    return images


def speed(rounds: int, medium_count: int) -> None:
    sets = {
        "large 12 MP (4032x3024)": [p.read_bytes() for p in LARGE],
        "medium 1.6-2 MP": medium_set(medium_count),
    }
    methods = {
        "common": common_path,
        "exact": ours_exact,
        "fast": ours_fast,
        "fast PDQ only": ours_fast_pdq_only,
    }
    print(f"speed: images per CPU-second (best of {rounds} rounds), (ratio vs common path)")
    print(f"{'set':24} {'n':>3} " + " ".join(f"{name:>20}" for name in methods))
    for name, images in sets.items():
        rate = per_second(methods, images, rounds)
        cells = [f"{rate[m]:9.1f} ({rate[m] / rate['common']:5.1f}x)" for m in methods]
        print(f"{name:24} {len(images):3d} " + " ".join(f"{c:>20}" for c in cells))


def fast_with_target(data: bytes, target: int) -> str:
    """Fast mode with another draft target, for comparison (same steps as ours)."""
    with Image.open(io.BytesIO(data)) as image:
        if min(image.size) // target >= 2:
            image.draft("L", (target, target))
        return pdq_from_rgb(rgb_grid(image))[0]


def crops(count: int, seed: int = 2) -> list[bytes]:
    """JPEGs cut from the 12 MP photos, every one large enough for draft decoding."""
    rng = random.Random(seed)
    photos = []
    for path in LARGE:
        with Image.open(path) as photo:
            photos.append(photo.convert("RGB"))
    out = []
    for _ in range(count):
        photo = rng.choice(photos)
        width, height = rng.randint(2048, 4032), rng.randint(2048, 3024)
        left, top = rng.randint(0, 4032 - width), rng.randint(0, 3024 - height)
        cut = photo.crop((left, top, left + width, top + height))
        if rng.random() < 0.3:
            cut = cut.resize((width * 2, height * 2))
        out.append(jpeg(cut, quality=rng.choice([70, 85, 95])))
    return out


def accuracy(crop_count: int) -> None:
    sets = {"12 MP photos": [p.read_bytes() for p in LARGE], "crops": crops(crop_count)}
    print("\naccuracy: PDQ bits that differ between fast and exact mode")
    for name, images in sets.items():
        reference = [hash_bytes(data, exact=True).pdq or "" for data in images]
        for target in sorted({FAST_DRAFT_MIN_SIDE, 512}):
            label = f"draft target {target}" + (
                " (in use)" if target == FAST_DRAFT_MIN_SIDE else ""
            )
            bits = [
                hamming(fast_with_target(data, target), ref)
                for data, ref in zip(images, reference, strict=True)
            ]
            spread = ", ".join(f"{k}:{v}" for k, v in sorted(Counter(bits).items()))
            print(
                f"  {name:13} {label:26} n={len(bits):3d} mean {statistics.mean(bits):.2f}"
                f" max {max(bits)}  over 4: {sum(b > 4 for b in bits)}  (bits:count {spread})"
            )
        fast = [hash_bytes(data).pdq or "" for data in images]
        assert fast == [fast_with_target(data, FAST_DRAFT_MIN_SIDE) for data in images]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run: fewer rounds and images")
    parser.add_argument("--no-accuracy", action="store_true", help="skip the accuracy part")
    parser.add_argument(
        "--photos",
        type=Path,
        help="folder of 12 MP (4032x3024) JPEGs to use instead of the one in tests/data",
    )
    args = parser.parse_args()
    if args.photos is not None:
        LARGE[:] = sorted(args.photos.glob("*.jpg"))
        if not LARGE:
            parser.error(f"--photos: no .jpg files in {args.photos}")
    rounds, medium_count, crop_count = (2, 4, 12) if args.quick else (7, 12, 120)
    speed(rounds, medium_count)
    if not args.no_accuracy:
        accuracy(crop_count)


if __name__ == "__main__":
    main()
