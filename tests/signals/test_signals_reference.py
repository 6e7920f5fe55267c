"""Hashes of the test-data images against the reference values computed by the C++ tool's
method (reference-hashes.csv), the bridge edits, and the dihedral set."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from datafiles import PDQ_DIR, PHOTO_12MP, REFERENCE_CSV, VIDEOS
from safespace.signals import (
    DIHEDRAL_NAMES,
    dihedral_variants,
    hamming,
    hash_bytes,
    hash_file,
    pdq_dihedral_from_bytes,
    pdq_dihedral_from_file,
)
from safespace.signals._decode import draft_scale_for

IMAGE_SUFFIXES = {".jpg", ".png", ".webp"}
with REFERENCE_CSV.open(newline="") as _handle:
    ROWS = list(csv.DictReader(_handle))
BY_PATH = {row["path"]: row for row in ROWS}
DIH = sorted((PDQ_DIR / "reg-test-input" / "dih").glob("bridge-*.jpg"))


def test_reference_set_is_complete() -> None:
    """Every image under pdq/ has its reference row, and every row its image."""
    images = {
        path.relative_to(PDQ_DIR).as_posix()
        for path in PDQ_DIR.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES
    }
    assert sorted(BY_PATH) == sorted(images)
    assert len(ROWS) == len(BY_PATH) == 44
    assert len(DIH) == 8
    assert len(VIDEOS) >= 1


@pytest.mark.parametrize("row", ROWS, ids=[r["path"] for r in ROWS])
def test_exact_mode_reproduces_reference(row: dict[str, str]) -> None:
    signals = hash_file(PDQ_DIR / row["path"], exact=True)
    assert signals.media_kind == "image"
    assert signals.pdq == row["pdq"]
    assert signals.pdq_quality == int(row["quality"])
    assert signals.md5 == row["md5"]
    assert signals.sha256 == row["sha256"]
    assert (signals.width, signals.height) == (int(row["width"]), int(row["height"]))
    assert signals.size_bytes == (PDQ_DIR / row["path"]).stat().st_size


@pytest.mark.parametrize("row", ROWS, ids=[r["path"] for r in ROWS])
def test_fast_mode_is_close_and_equal_without_draft(row: dict[str, str]) -> None:
    signals = hash_file(PDQ_DIR / row["path"])
    assert signals.pdq is not None
    distance = hamming(signals.pdq, row["pdq"])
    if draft_scale_for(int(row["width"]), int(row["height"])) == 1 or not row["path"].endswith(
        ".jpg"
    ):
        assert distance == 0
        assert signals.pdq_quality == int(row["quality"])
    else:
        assert distance <= 4
    assert signals.md5 == row["md5"]
    assert signals.sha256 == row["sha256"]


def test_fast_mode_uses_draft_on_the_12mp_photos() -> None:
    assert draft_scale_for(4032, 3024) == 2
    assert draft_scale_for(1600, 1004) == 1


def test_low_quality_reference_images_are_flagged() -> None:
    low = [r for r in ROWS if int(r["quality"]) < 50]
    assert low, "the test set has low-quality images"
    for row in ROWS:
        signals = hash_file(PDQ_DIR / row["path"], exact=True)
        assert signals.pdq_low_quality == (int(row["quality"]) < 50)
        assert signals.as_dict()["pdq_low_quality"] == signals.pdq_low_quality


def test_bridge_edits_match_the_original() -> None:
    original = BY_PATH["bridge-mods/aaa-orig.jpg"]["pdq"]
    edits = [r for r in ROWS if r["path"].startswith("bridge-mods/")]
    assert len(edits) == 12
    for row in edits:
        for exact in (True, False):
            pdq = hash_file(PDQ_DIR / row["path"], exact=exact).pdq
            assert pdq is not None
            assert hamming(pdq, original) <= 31, row["path"]


@pytest.mark.parametrize("video", VIDEOS, ids=[v.name for v in VIDEOS])
def test_videos_get_cryptographic_hashes_only(video: Path) -> None:
    import hashlib

    data = video.read_bytes()
    signals = hash_file(video)
    assert signals.media_kind == "video"
    assert signals.pdq is None
    assert signals.pdq_quality is None
    assert not signals.pdq_low_quality
    assert signals.width is None
    assert signals.height is None
    assert signals.md5 == hashlib.md5(data).hexdigest()
    assert signals.sha256 == hashlib.sha256(data).hexdigest()
    assert signals.size_bytes == len(data)


def test_exact_dihedral_variants_match_rotated_and_flipped_copies() -> None:
    variants = pdq_dihedral_from_file(DIH[0], exact=True)
    assert len(variants) == len(DIHEDRAL_NAMES) == 8
    assert variants[0] == hash_file(DIH[0], exact=True).pdq
    assert len(set(variants)) == 8
    for index, path in enumerate(DIH):
        pdq = hash_file(path, exact=True).pdq
        assert pdq is not None
        distances = [hamming(pdq, v) for v in variants]
        # each file matches the variant of its own name, and only that one
        assert distances[index] <= 31, (path.name, distances)
        assert min(d for i, d in enumerate(distances) if i != index) > 90
        # without dihedral matching, the transformed copies do not match
        if index:
            assert hamming(pdq, variants[0]) > 31


def test_hash_domain_variants_match_rotated_and_flipped_copies() -> None:
    original = hash_file(DIH[0], exact=True).pdq
    assert original is not None
    derived = dihedral_variants(original)
    exact = pdq_dihedral_from_bytes(DIH[0].read_bytes(), exact=True)
    assert derived[0] == original
    # measured on bridge-1: 0, 10, 2, 4, 4, 10, 0, 2 bits from the pixel-exact variants
    assert all(hamming(a, b) <= 16 for a, b in zip(derived, exact, strict=True))
    assert derived[6] == exact[6]  # the transpose is exact in both domains
    for index, path in enumerate(DIH):
        pdq = hash_file(path, exact=True).pdq
        assert pdq is not None
        distances = [hamming(pdq, v) for v in derived]
        assert distances[index] <= 31, (path.name, distances)
        assert min(d for i, d in enumerate(distances) if i != index) > 90


def test_dihedral_fast_mode_agrees_with_exact_below_draft_size() -> None:
    assert pdq_dihedral_from_file(DIH[1]) == pdq_dihedral_from_file(DIH[1], exact=True)


@pytest.mark.parametrize("variant", ["MPO", "CMYK", "L", "progressive"])
def test_fast_mode_on_large_jpeg_variants(variant: str) -> None:
    """Draft decoding also covers multi-picture, CMYK, greyscale and progressive JPEGs."""
    import io

    from PIL import Image

    with Image.open(PHOTO_12MP) as photo:
        picture = photo.convert("RGB").resize((2400, 2100))
    buffer = io.BytesIO()
    if variant == "MPO":
        picture.save(buffer, "MPO", save_all=True, append_images=[picture.rotate(90)])
    elif variant == "progressive":
        picture.save(buffer, "JPEG", progressive=True)
    else:
        picture.convert(variant).save(buffer, "JPEG")
    data = buffer.getvalue()
    assert draft_scale_for(2400, 2100) == 2
    fast, exact = hash_bytes(data), hash_bytes(data, exact=True)
    assert fast.media_format == exact.media_format == ("MPO" if variant == "MPO" else "JPEG")
    assert fast.pdq is not None
    assert exact.pdq is not None
    assert hamming(fast.pdq, exact.pdq) <= 4
    assert (fast.width, fast.height) == (2400, 2100)
