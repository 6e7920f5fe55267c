"""PDQ from pixels (the reference C++ code through ``pdqhash``) and in the hash domain.

Bit layout (checked against ``pdqhash.compute_float`` on the test images): PDQ thresholds a
16x16 block of DCT coefficients ``C[i][j]`` at its median, ``i`` the vertical and ``j`` the
horizontal frequency index (frequencies 1..16: the DC term is not in the block). Coefficient
``(i, j)`` is bit ``k = 16*i + j``; the hex string is the 16-bit words for ``i = 15, 14, ..., 0``,
each as 4 hex digits, so bit ``j`` of word ``i`` (LSB = 0) is coefficient ``(i, j)``.

A dihedral transform of the image permutes and negates coefficients: a transpose swaps
``(i, j)``; mirroring the rows (top-bottom) negates every coefficient whose vertical index
``i`` is even (odd frequency ``i + 1``), mirroring the columns negates those with even ``j``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt
import pdqhash

from safespace.errors import InvalidSignal
from safespace.signals._pdq_type import PDQ

__all__ = [
    "DIHEDRAL_NAMES",
    "dihedral_from_rgb",
    "dihedral_variants",
    "hamming",
    "is_matchable",
    "pdq_from_rgb",
]

DIHEDRAL_NAMES = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flip_plus1",
    "flip_minus1",
)
"""The order of every 8-variant list, which is the order of ``pdqhash.compute_dihedral``.

Geometrically (checked on testdata bridge-1..8): rotate90 is a quarter turn counter-clockwise,
rotate270 clockwise; flipx mirrors top-bottom, flipy left-right; flip_plus1 is the transpose
(mirror in the main diagonal), flip_minus1 the mirror in the anti-diagonal.
"""

# (transpose, negate even rows, negate even columns) for each variant, in DIHEDRAL_NAMES order.
_TRANSFORMS = (
    (False, False, False),
    (True, True, False),
    (False, True, True),
    (True, False, True),
    (False, True, False),
    (False, False, True),
    (True, False, False),
    (True, True, True),
)
_EVEN = np.arange(16) % 2 == 0
_HEX = re.compile(r"[0-9a-fA-F]+")


def _hex(bits: Any) -> str:
    return bytes(np.packbits(np.asarray(bits, dtype=np.uint8))).hex()


def pdq_from_rgb(rgb: npt.NDArray[np.uint8]) -> tuple[str, int]:
    """PDQ hex and quality (0-100) of an HxWx3 uint8 array, hashed as given."""
    bits, quality = pdqhash.compute(rgb)
    return _hex(bits), int(quality)


def dihedral_from_rgb(rgb: npt.NDArray[np.uint8]) -> tuple[list[str], int]:
    """The 8 exact dihedral PDQ hashes (see :data:`DIHEDRAL_NAMES`) and the quality."""
    variants, quality = pdqhash.compute_dihedral(rgb)
    return [_hex(bits) for bits in variants], int(quality)


def _hex_to_block(pdq_hex: str) -> npt.NDArray[np.bool_]:
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(pdq_hex), dtype=np.uint8))
    return bits[::-1].reshape(16, 16).astype(bool)


def _block_to_hex(block: npt.NDArray[np.bool_]) -> str:
    return _hex(block.reshape(256)[::-1])


def dihedral_variants(pdq_hex: str) -> list[str]:
    """The 8 dihedral variants of a PDQ hash, derived from the hash alone (original first).

    Approximate: a negated coefficient is taken to flip its bit, which holds when the median
    the reference thresholds at is near zero. Prefer the pixel-exact variants when the image
    is at hand; these are for callers that only have a hex string.
    """
    block = _hex_to_block(PDQ.normalize(pdq_hex))
    out: list[str] = []
    for transpose, rows, cols in _TRANSFORMS:
        variant = block.T.copy() if transpose else block.copy()
        if rows:
            variant[_EVEN, :] ^= True
        if cols:
            variant[:, _EVEN] ^= True
        out.append(_block_to_hex(variant))
    return out


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two hex hashes of the same length."""
    if len(a_hex) != len(b_hex):
        raise InvalidSignal(f"cannot compare hashes of {len(a_hex)} and {len(b_hex)} hex digits")
    if not (_HEX.fullmatch(a_hex) and _HEX.fullmatch(b_hex)):
        raise InvalidSignal("hashes must be hexadecimal (0-9, a-f)")
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def is_matchable(quality: int | None, min_quality: int = 50) -> bool:
    """Whether a PDQ hash of this quality is informative enough to match on.

    Flat or tiny images give low-quality hashes that collide with many others; the reference
    recommends not matching below 50.
    """
    return quality is not None and quality >= min_quality
