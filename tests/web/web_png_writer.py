"""A small PNG writer for the browser decoder's tests: what Pillow cannot write.

Pillow writes no Adam7-interlaced PNGs, no 16-bit colour with alpha, and picks its own
scanline filters. This writer takes samples as they should be stored and writes any legal
colour type, bit depth and interlacing, with every one of the five filters in turn (or a
chosen one) and the zlib data split over several IDAT chunks, so the decoder meets each
case. The server (Pillow) then reads the same bytes independently.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ADAM7", "SAMPLES_PER_PIXEL", "chunk", "encode_png", "filter_rows"]

SAMPLES_PER_PIXEL = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2))
ADAM7 += ((0, 1, 1, 2),)


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _pack_rows(samples: npt.NDArray[np.uint16], bit_depth: int) -> npt.NDArray[np.uint8]:
    """Rows of (h, w, spp) samples as the bytes PNG stores, before filtering."""
    h, w, spp = samples.shape
    flat = samples.reshape(h, w * spp)
    if bit_depth == 16:
        return flat.astype(">u2").view(np.uint8).reshape(h, w * spp * 2)
    if bit_depth == 8:
        return flat.astype(np.uint8)
    per = 8 // bit_depth
    width = -(-w * spp // per)
    padded = np.zeros((h, width * per), dtype=np.uint16)
    padded[:, : w * spp] = flat
    groups = padded.reshape(h, width, per)
    out = np.zeros((h, width), dtype=np.uint16)
    for k in range(per):
        out |= groups[:, :, k] << (8 - bit_depth * (k + 1))
    return out.astype(np.uint8)


def _paeth(a: npt.NDArray[np.int32], b: npt.NDArray[np.int32], c: npt.NDArray[np.int32]) -> Any:
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def filter_rows(raw: npt.NDArray[np.uint8], bpp: int, kinds: Sequence[int]) -> bytes:
    """Filter each row with kinds[row % len(kinds)]; encoding only needs the raw bytes."""
    out = bytearray()
    prev = np.zeros(raw.shape[1], dtype=np.int32)
    for y in range(raw.shape[0]):
        x = raw[y].astype(np.int32)
        left = np.concatenate([np.zeros(bpp, np.int32), x[:-bpp]]) if x.size else x
        upleft = np.concatenate([np.zeros(bpp, np.int32), prev[:-bpp]]) if x.size else x
        kind = kinds[y % len(kinds)]
        pred = [0 * x, left, prev, (left + prev) // 2, _paeth(left, prev, upleft)][kind]
        out.append(kind)
        out += ((x - pred) & 255).astype(np.uint8).tobytes()
        prev = x
    return bytes(out)


def encode_png(
    samples: npt.NDArray[np.uint16],
    bit_depth: int,
    color_type: int,
    *,
    interlace: bool = False,
    palette: bytes | None = None,
    trns: bytes | None = None,
    filters: Sequence[int] = (0, 1, 2, 3, 4),
    idat_pieces: int = 3,
    extra_before_idat: bytes = b"",
) -> bytes:
    """A PNG of ``samples`` (height, width, samples per pixel) stored as given."""
    h, w, spp = samples.shape
    assert spp == SAMPLES_PER_PIXEL[color_type]
    bpp = max(1, spp * bit_depth // 8)
    passes = ADAM7 if interlace else ((0, 0, 1, 1),)
    data = b""
    for x0, y0, dx, dy in passes:
        part = samples[y0::dy, x0::dx]
        if part.shape[0] and part.shape[1]:
            data += filter_rows(_pack_rows(part, bit_depth), bpp, filters)
    z = zlib.compress(data, 6)
    cuts = sorted({0, len(z), *(len(z) * k // idat_pieces for k in range(1, idat_pieces))})
    head = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head)
    if palette is not None:
        out += chunk(b"PLTE", palette)
    if trns is not None:
        out += chunk(b"tRNS", trns)
    out += extra_before_idat
    for a, b in itertools.pairwise(cuts):
        out += chunk(b"IDAT", z[a:b])
    return out + chunk(b"IEND", b"")
