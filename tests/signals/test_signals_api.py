"""The small public API: hamming, quality flag, hash-domain variants, Signals, limits, sniffing."""

from __future__ import annotations

import json
import pickle
import random

import pytest

import safespace.signals as signals_api
from datafiles import BRIDGE, PDQ_DIR
from safespace.config import Settings
from safespace.errors import InvalidSignal
from safespace.signals import (
    DIHEDRAL_NAMES,
    DecodeLimits,
    Signals,
    dihedral_variants,
    hamming,
    hash_file,
    is_matchable,
)
from safespace.signals._sniff import sniff

LOW_QUALITY = PDQ_DIR / "misc-images/small.jpg"  # quality 0


def random_hash(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def test_public_names() -> None:
    # The signal type contract and registry are exported too (pinned in tests/test_public_api.py).
    assert set(signals_api.__all__) >= {
        "DIHEDRAL_NAMES",
        "DecodeLimits",
        "Signals",
        "dihedral_variants",
        "hamming",
        "hash_bytes",
        "hash_file",
        "is_matchable",
        "pdq_dihedral_from_bytes",
        "pdq_dihedral_from_file",
        "pdq_dihedral_from_image",
        "pdq_from_image",
    }


def test_hamming() -> None:
    assert hamming("00" * 32, "00" * 32) == 0
    assert hamming("00" * 32, "ff" * 32) == 256
    assert hamming("0f", "F0") == 8
    with pytest.raises(InvalidSignal):
        hamming("00", "000")
    with pytest.raises(InvalidSignal):
        hamming("0g", "00")
    with pytest.raises(InvalidSignal):
        hamming("0_1", "001")


def test_is_matchable() -> None:
    assert is_matchable(50)
    assert is_matchable(100)
    assert not is_matchable(49)
    assert not is_matchable(None)
    assert is_matchable(10, min_quality=10)
    assert not is_matchable(10, min_quality=11)


def test_low_quality_flag_follows_the_configured_threshold() -> None:
    default = hash_file(LOW_QUALITY, exact=True)
    assert default.pdq_quality == 0
    assert default.pdq_low_quality
    relaxed = hash_file(LOW_QUALITY, exact=True, limits=DecodeLimits(min_pdq_quality=0))
    assert not relaxed.pdq_low_quality
    strict = hash_file(BRIDGE, exact=True, limits=DecodeLimits(min_pdq_quality=100))
    assert strict.pdq_quality == 100
    assert not strict.pdq_low_quality


def test_limits_from_settings_and_defaults() -> None:
    assert DecodeLimits.from_settings(Settings()) == DecodeLimits()
    custom = Settings(max_media_bytes=10, max_image_pixels=20, min_pdq_quality=30)
    assert DecodeLimits.from_settings(custom) == DecodeLimits(10, 20, 30)


def test_signals_as_dict_is_json_ready_and_path_free() -> None:
    result = hash_file(BRIDGE)
    data = result.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {
        "media_kind", "media_format", "pdq", "pdq_quality", "pdq_low_quality", "md5", "sha256",
        "size_bytes", "width", "height",
    }  # fmt: skip
    assert "aaa-orig" not in json.dumps(data)
    assert pickle.loads(pickle.dumps(result)) == result  # crosses process pools


def test_signals_can_be_built_by_hand() -> None:
    built = Signals("image", "0" * 32, "0" * 64, "f" * 64, 40, 10, 1, 1)
    assert built.pdq_low_quality
    assert not Signals("video", "0" * 32, "0" * 64, None, None, 10, None, None).pdq_low_quality


def test_hash_domain_variants_form_the_dihedral_group() -> None:
    rng = random.Random(5)
    index = {name: i for i, name in enumerate(DIHEDRAL_NAMES)}
    for _ in range(50):
        pdq = random_hash(rng)
        variants = dihedral_variants(pdq)
        assert variants[0] == pdq
        assert len(set(variants)) == 8
        for name in ("rotate180", "flipx", "flipy", "flip_plus1", "flip_minus1"):
            assert dihedral_variants(variants[index[name]])[index[name]] == pdq  # involutions
        assert dihedral_variants(variants[index["rotate90"]])[index["rotate270"]] == pdq
        twice = dihedral_variants(variants[index["rotate90"]])[index["rotate90"]]
        assert twice == variants[index["rotate180"]]
        flip_then_turn = dihedral_variants(variants[index["flipx"]])[index["rotate90"]]
        assert flip_then_turn in variants


def test_hash_domain_variants_validate_and_normalise() -> None:
    pdq = "D8F8F0CEE0F4A84F0637022A078F67F0B36E2ED596621E1D33E6339C4E9C9B22"
    assert dihedral_variants(pdq)[0] == pdq.lower()
    with pytest.raises(InvalidSignal):
        dihedral_variants("abc")


def test_bit_layout_transpose_swaps_row_and_column() -> None:
    # coefficient (i, j) is bit j of 16-bit word i, words written from i = 15 down to 0
    def with_bit(i: int, j: int) -> str:
        return f"{1 << (16 * i + j):064x}"

    transposed = dihedral_variants(with_bit(2, 5))[DIHEDRAL_NAMES.index("flip_plus1")]
    assert transposed == with_bit(5, 2)


@pytest.mark.parametrize(
    ("head", "kind", "fmt"),
    [
        (b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heicmiaf", "image", "HEIF"),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heicmiaf", "image", "HEIF"),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf", "image", "AVIF"),
        (b"\x00\x00\x00\x20ftypavif\x00\x00\x00\x00avifmif1miafMA1B", "image", "AVIF"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41", "video", "MP4"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image", "JPEG"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image", "WEBP"),
        (b"II*\x00\x08\x00\x00\x00", "image", "TIFF"),
        (b"P6\n64 48\n255\n", "image", "PPM"),
    ],
)
def test_sniff(head: bytes, kind: str, fmt: str) -> None:
    found = sniff(head + b"\x00" * 32)
    assert found is not None
    assert (found.kind, found.format) == (kind, fmt)


@pytest.mark.parametrize(
    "head", [b"", b"RIFF\x00\x00\x00\x00WAVEfmt ", b"%!PS-Adobe-3.0 EPSF-3.0", b"hello"]
)
def test_sniff_unknown(head: bytes) -> None:
    assert sniff(head) is None
