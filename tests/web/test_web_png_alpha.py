"""PNGs decoded in the browser by png.js: the server's pixels, transparent or not, bit for bit.

Every case is a PNG made here (Pillow, or ``web_png_writer`` for what Pillow cannot write:
Adam7, 16-bit colour with alpha, chosen filters). The browser's PDQ and quality must equal
the server's exact path (``hash_bytes(exact=True)``), its MD5 hashlib's, and png.js's PDQ
grid the server's grid pixel for pixel. Damaged files must be refused, quickly, by both.
Run with ``-s`` to see how far the canvas decoder lands (docs/browser-hashing.md).
"""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from web_png_writer import chunk, encode_png

from safespace.errors import MediaError
from safespace.signals import hamming, hash_bytes
from safespace.signals._decode import DecodeLimits, decode_image
from safespace.signals._sniff import sniff

Samples = npt.NDArray[np.uint16]
GAMMA_1 = struct.pack(">I", 100_000)  # gAMA 1.0: Pillow ignores it; a browser may not

HASH = """async ([url, opts]) => {
    const blob = await (await fetch(url)).blob();
    const timer = new Promise((_, fail) => setTimeout(() => fail(new Error("hung")), 20000));
    return await Promise.race([SafeSpaceHashing.hashFile(blob, opts || {}), timer]);
}"""

GRID = """async (url) => {
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    const g = await SafeSpacePNG.decodeGrid(bytes, {});
    let s = "";
    for (let i = 0; i < g.pixels.length; i += 8192) {
        s += String.fromCharCode.apply(null, g.pixels.subarray(i, i + 8192));
    }
    return {b64: btoa(s), gw: g.gw, gh: g.gh, alpha: g.alpha};
}"""


def _picture(width: int, height: int, seed: int) -> npt.NDArray[np.int64]:
    """An RGB picture in 0-255 with structure (blocks, gradients) and noise: decent quality."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    blocks = ((x * 7 // max(width, 1) + y * 5 // max(height, 1)) % 3) * 90
    base = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), blocks], -1)
    return np.asarray((base + rng.integers(0, 40, base.shape)) % 256, dtype=np.int64)


def _under_alpha(width: int, height: int, seed: int) -> npt.NDArray[np.int64]:
    """Alpha: a clear left third, an alpha ramp in the middle, opaque on the right."""
    x = np.mgrid[0:height, 0:width][1]
    ramp = (x - width // 3) * 255 // max(width // 3, 1)
    return np.asarray(np.where(x < width // 3, 0, np.clip(ramp, 0, 255)), dtype=np.int64)


def _pillow(image: Image.Image, **params: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", **params)
    return buf.getvalue()


def _rgba8(w: int, h: int) -> bytes:
    rgb = _picture(w, h, 1)
    a = _under_alpha(w, h, 1)
    return _pillow(Image.fromarray(np.dstack([rgb, a]).astype(np.uint8), "RGBA"))


def _ramp8(w: int, h: int) -> bytes:
    rgb = _picture(w, h, 2)
    a = np.mgrid[0:h, 0:w][1] * 255 // max(w - 1, 1)
    return _pillow(Image.fromarray(np.dstack([rgb, a]).astype(np.uint8), "RGBA"))


def _la8(w: int, h: int) -> bytes:
    grey = _picture(w, h, 3)[..., 0]
    return _pillow(Image.fromarray(np.dstack([grey, _under_alpha(w, h, 3)]).astype(np.uint8), "LA"))


def _palette_trns(w: int, h: int) -> bytes:
    rng = np.random.default_rng(4)
    idx = (_picture(w, h, 4) // 64 * 4).sum(-1) % 64
    image = Image.frombytes("P", (w, h), idx.astype(np.uint8).tobytes())
    image.putpalette(rng.integers(0, 256, 64 * 3).astype(np.uint8).tobytes())
    alpha = bytes([0] * 16 + [128] * 16 + [255] * 8)  # 40 entries: the rest are opaque
    return _pillow(image, transparency=alpha)


def _samples(w: int, h: int, spp: int, top: int, seed: int) -> Samples:
    rgb = _picture(w, h, seed)
    rng = np.random.default_rng(seed)
    chans = [
        rgb[..., k % 3] * (top // 255) + rng.integers(0, top // 255 + 1, (h, w)) for k in range(spp)
    ]
    if spp in (2, 4):  # alpha last: clear, ramp and opaque regions
        chans[-1] = _under_alpha(w, h, seed) * (top // 255)
    return np.stack(chans, -1).astype(np.uint16)


def _writer(
    bit_depth: int, color_type: int, *, opaque: bool = False, **kw: Any
) -> Callable[[int, int], bytes]:
    spp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]

    def make(w: int, h: int) -> bytes:
        top = (1 << bit_depth) - 1
        if color_type == 3:
            n = 1 << bit_depth
            idx = _picture(w, h, 5).sum(-1, keepdims=True) % n
            pal = np.random.default_rng(5).integers(0, 256, 3 * max(1, n - 1)).astype(np.uint8)
            trns = bytes(range(0, 256, max(1, 256 // n)))[: max(1, n // 2)]
            return encode_png(
                idx.astype(np.uint16), bit_depth, 3, palette=pal.tobytes(), trns=trns, **kw
            )
        if top < 255:  # grey of 1, 2, 4 bits
            samples = (_picture(w, h, 6)[..., :1] * top // 255).astype(np.uint16)
        elif color_type == 0 and bit_depth == 16:  # mostly under 256: Pillow clips the rest
            samples = _picture(w, h, 7)[..., :1] + (np.arange(w) % 7 == 0)[:, None] * 300
        else:
            samples = _samples(w, h, spp, top, 8 + color_type)
        trns = struct.pack(">H", 1) * (1 if spp == 1 else 3) if color_type in (0, 2) else None
        if opaque:
            trns = None
        return encode_png(samples.astype(np.uint16), bit_depth, color_type, trns=trns, **kw)

    return make


CASES: dict[str, Callable[[int, int], bytes]] = {
    "rgba8-clear-regions": _rgba8,
    "rgba8-alpha-ramp": _ramp8,
    "la8": _la8,
    "palette-trns": _palette_trns,
    "rgba16": _writer(16, 6),
    "la16": _writer(16, 4),
    "rgb16-trns": _writer(16, 2),
    "grey16-trns": _writer(16, 0),
    "grey1": _writer(1, 0),
    "grey2": _writer(2, 0),
    "grey4": _writer(4, 0),
    "palette1": _writer(1, 3),
    "palette2": _writer(2, 3),
    "palette4": _writer(4, 3),
    "palette8": _writer(8, 3),
    "rgba8-adam7": _writer(8, 6, interlace=True),
    "rgba16-adam7": _writer(16, 6, interlace=True),
    "la16-adam7": _writer(16, 4, interlace=True),
    "palette2-adam7": _writer(2, 3, interlace=True),
    "grey1-adam7": _writer(1, 0, interlace=True),
    "rgb8-adam7-paeth": _writer(8, 2, interlace=True, filters=(4,)),
    # Opaque, yet the canvas is not the server here: Pillow clips 16-bit grey at 255.
    "grey16-opaque": _writer(16, 0, opaque=True),
    "grey2-opaque": _writer(2, 0, opaque=True),
    "rgb16-opaque": _writer(16, 2, opaque=True),
    "rgb8-gama": _writer(8, 2, opaque=True, extra_before_idat=chunk(b"gAMA", GAMMA_1)),
}
SIZES = [(37, 23), (700, 530)]


def _serve(site: Any, name: str, data: bytes) -> str:
    (site.pages / name).write_bytes(data)
    return f"{site.url}/{name}"


def _server_grid(data: bytes) -> npt.NDArray[np.uint8]:
    sniffed = sniff(data[:512])
    assert sniffed is not None
    return decode_image(data, sniffed, exact=True, limits=DecodeLimits()).rgb


def _check_exact(
    page: Any, site: Any, name: str, data: bytes, *, worker: bool = True
) -> dict[str, Any]:
    url = _serve(site, name, data)
    server = hash_bytes(data, exact=True)
    r: dict[str, Any] = page.evaluate(HASH, [url, {"worker": worker}])
    assert r["error"] is None, (name, r["error"])
    assert (r["decoder"], r["alpha_lost"]) == ("png", False), name
    assert (r["pdq"], r["pdq_quality"]) == (server.pdq, server.pdq_quality), name
    assert r["md5"] == server.md5 == hashlib.md5(data).hexdigest()
    assert (r["width"], r["height"]) == (server.width, server.height)
    return r


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("case", list(CASES))
def test_png_pdq_equals_server(harness: Any, site: Any, case: str, size: tuple[int, int]) -> None:
    data = CASES[case](*size)
    name = f"{case}-{size[0]}x{size[1]}.png"
    _check_exact(harness, site, name, data)
    canvas = harness.evaluate(HASH, [f"{site.url}/{name}", {"decoder": "canvas"}])
    server = hash_bytes(data, exact=True)
    assert server.pdq is not None
    if canvas["pdq"] is not None:
        far = hamming(canvas["pdq"], server.pdq)
        print(f"\n{name}: png.js 0 bits, canvas {far} bits (alpha_lost {canvas['alpha_lost']})")


@pytest.mark.parametrize(
    "case", ["rgba8-clear-regions", "rgba16-adam7", "palette-trns", "grey16-trns"]
)
def test_png_grid_pixels_equal_server(harness: Any, site: Any, case: str) -> None:
    """Stronger than equal hashes: the grid png.js hands to PDQ is the server's, byte for byte."""
    for w, h in SIZES:
        data = CASES[case](w, h)
        url = _serve(site, f"grid-{case}-{w}x{h}.png", data)
        got = harness.evaluate(GRID, url)
        pixels = np.frombuffer(base64.b64decode(got["b64"]), np.uint8).reshape(
            got["gh"], got["gw"], 3
        )
        assert np.array_equal(pixels, _server_grid(data)), (case, w, h)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    case=st.sampled_from(
        [
            *[(1, 0), (2, 0), (4, 0), (8, 0), (16, 0), (8, 2), (16, 2), (1, 3), (2, 3)],
            *[(4, 3), (8, 3), (8, 4), (16, 4), (8, 6), (16, 6)],
        ]
    ),
    width=st.integers(1, 70),
    height=st.integers(1, 70),
    interlace=st.booleans(),
    filt=st.sampled_from([(0,), (1,), (2,), (3,), (4,), (4, 3, 2, 1, 0)]),
)
def test_png_any_layout(
    harness: Any,
    site: Any,
    case: tuple[int, int],
    width: int,
    height: int,
    interlace: bool,
    filt: tuple[int, ...],
) -> None:
    """Odd sizes (Adam7 passes that are empty, rows of a few bits), every depth and filter."""
    data = _writer(case[0], case[1], interlace=interlace, filters=filt)(width, height)
    _check_exact(harness, site, "any.png", data, worker=False)


def test_png_on_the_page_and_opaque(harness: Any, site: Any) -> None:
    """Without a worker too; an opaque Pillow RGB PNG goes through png.js as well."""
    _check_exact(harness, site, "page-rgba.png", _rgba8(300, 200), worker=False)
    rgb = Image.fromarray(_picture(640, 480, 9).astype(np.uint8), "RGB")
    r = _check_exact(harness, site, "opaque.png", _pillow(rgb))
    canvas = harness.evaluate(HASH, [f"{site.url}/opaque.png", {"decoder": "canvas"}])
    assert (canvas["decoder"], canvas["pdq"], canvas["alpha_lost"]) == ("canvas", r["pdq"], False)


def test_png_quirks_follow_pillow(harness: Any, site: Any) -> None:
    """Palette indices past PLTE are black; a zlib stream that ends early leaves zero rows;
    unknown chunks are skipped; data after the last row (and a missing IEND) is ignored."""
    idx = (np.arange(48 * 40).reshape(40, 48, 1) % 9).astype(np.uint16)
    pal = bytes([200, 10, 10, 10, 200, 10, 10, 10, 200, 90, 90, 90])  # 4 of 9 used indices
    _check_exact(harness, site, "short-plte.png", encode_png(idx, 8, 3, palette=pal))
    _check_exact(harness, site, "no-plte.png", encode_png(idx, 8, 3))
    odd = encode_png(idx, 8, 3, palette=pal + b"\x01", extra_before_idat=chunk(b"zzZz", b"?"))
    _check_exact(harness, site, "odd-chunks.png", odd)
    samples = _samples(40, 30, 3, 255, 11)
    whole = encode_png(samples, 8, 2, idat_pieces=1)
    raw_start = whole.index(b"IDAT") + 4
    z = zlib.decompress(whole[raw_start : whole.index(b"IEND") - 8])
    head = whole[: raw_start - 8]
    for name, body in (("short-rows.png", z[: len(z) // 2]), ("long-rows.png", z + z[:500])):
        data = head + chunk(b"IDAT", zlib.compress(body))
        _check_exact(harness, site, name, data + chunk(b"IEND", b""))
    _check_exact(harness, site, "no-iend.png", head + chunk(b"IDAT", zlib.compress(z)))


def test_png_data_ending_early_follows_pillow(harness: Any, site: Any) -> None:
    """A complete zlib stream with too few rows: kept when it ends between two rows (of any
    Adam7 pass) after at least one, refused otherwise, by both."""
    for interlace in (False, True):
        whole = encode_png(_samples(20, 16, 3, 255, 13), 8, 2, interlace=interlace, idat_pieces=1)
        at = whole.index(b"IDAT")
        raw = zlib.decompress(whole[at + 4 : whole.index(b"IEND") - 8])
        # Adam7 of 20x16 RGB: passes end at 20, 34, 66, 130, 254, 502, 990 bytes.
        ends = [20, 34, 66, 130, 254] if interlace else [61 * k for k in (1, 2, 9, 15)]
        for cut in sorted({0, 1, 5, 25, 40, 100, 300, *ends}):
            data = whole[: at - 4] + chunk(b"IDAT", zlib.compress(raw[:cut])) + chunk(b"IEND", b"")
            name = f"ends-{int(interlace)}-{cut}.png"
            try:
                server = hash_bytes(data, exact=True)
            except MediaError:
                r = harness.evaluate(HASH, [_serve(site, name, data), {}])
                assert r["pdq"] is None, (interlace, cut)
                assert "PNG file is damaged" in r["error"], (interlace, cut)
                continue
            assert cut in ends, (interlace, cut)
            assert _check_exact(harness, site, name, data)["pdq"] == server.pdq


def _damaged() -> dict[str, bytes]:
    good = encode_png(_samples(64, 48, 4, 255, 12), 8, 6, idat_pieces=1)
    end = good.index(b"IEND") - 4
    idat_at = good.index(b"IDAT") - 4
    ihdr = struct.pack(">IIBBBBB", 64, 48, 8, 6, 0, 0, 0)
    sig = good[:8]

    def with_ihdr(raw: bytes) -> bytes:
        return sig + chunk(b"IHDR", raw) + good[33:]

    bad_crc = bytearray(good)
    bad_crc[29] ^= 1
    bad_filter = bytearray(zlib.decompress(good[idat_at + 8 : end - 4]))
    bad_filter[0] = 7
    return {
        "truncated-idat": good[: idat_at + 8 + (end - idat_at) // 2],
        "cut-zlib": good[:idat_at] + chunk(b"IDAT", good[idat_at + 8 : end - 4][:-40]),
        "bad-ihdr-depth": with_ihdr(ihdr[:8] + b"\x03" + ihdr[9:]),
        "bad-ihdr-colour": with_ihdr(ihdr[:9] + b"\x05" + ihdr[10:]),
        "zero-width": with_ihdr(b"\0\0\0\0" + ihdr[4:]),
        "short-ihdr": with_ihdr(ihdr[:10]),
        "bad-ihdr-crc": bytes(bad_crc),
        "bad-filter": good[:idat_at] + chunk(b"IDAT", zlib.compress(bytes(bad_filter))),
        "no-idat": good[:idat_at] + chunk(b"IEND", b""),
        "huge": with_ihdr(struct.pack(">IIBBBBB", 100_000, 100_000, 8, 6, 0, 0, 0)),
        "huge-adam7": with_ihdr(struct.pack(">IIBBBBB", 20_000, 7_000, 16, 6, 0, 0, 1)),
    }


@pytest.mark.parametrize("where", ["worker", "page"])
def test_damaged_png_is_refused_clearly(harness: Any, site: Any, where: str) -> None:
    for name, data in _damaged().items():
        url = _serve(site, f"damaged-{name}.png", data)
        r = harness.evaluate(HASH, [url, {"worker": where == "worker"}])
        assert r["pdq"] is None, (name, r)
        assert r["error"], (name, r)
        assert r["md5"] == hashlib.md5(data).hexdigest()
        expected = "too large" if name.startswith("huge") else "PNG file is damaged"
        assert expected in r["error"], (name, r["error"])
        with pytest.raises(MediaError):  # the server refuses these too
            hash_bytes(data, exact=True, limits=DecodeLimits(max_pixels=128_000_000))
