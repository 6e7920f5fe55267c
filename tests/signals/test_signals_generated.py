"""Generated images of every size and mode: hashing never fails where the reference method
works, and exact mode equals a direct numpy computation of the reference method."""

from __future__ import annotations

import io

import numpy as np
import pdqhash
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from safespace.errors import UnsupportedMedia
from safespace.signals import hash_bytes, pdq_dihedral_from_image, pdq_from_image

MODES = [
    "1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV",
    "I", "I;16", "I;16B", "I;16L", "F",
]  # fmt: skip

# Formats a generated image is saved in, by mode, to go through the file decoders as well.
SAVE_AS = {
    "1": ["PNG", "BMP", "TIFF"],
    "L": ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"],
    "LA": ["PNG", "TIFF"],
    "P": ["PNG", "GIF", "BMP", "TIFF"],
    "RGB": ["PNG", "JPEG", "WEBP", "BMP", "TIFF", "PPM", "QOI", "JPEG2000"],
    "RGBA": ["PNG", "WEBP", "TIFF", "QOI"],
    "CMYK": ["JPEG", "TIFF"],
    "I;16": ["PNG", "TIFF"],
    "I": ["TIFF"],
    "F": ["TIFF"],
}


def reference_pdq(image: Image.Image) -> tuple[str, int]:
    """The reference method written out plainly: RGB, then rows/cols at floor(i*H/512)."""
    rgb = np.asarray(image.convert("RGB"))
    height, width = rgb.shape[:2]
    if height > 512 or width > 512:
        rows = np.arange(512) * height // 512
        cols = np.arange(512) * width // 512
        rgb = rgb[rows][:, cols]
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return np.packbits(bits).tobytes().hex(), int(quality)


def make_image(mode: str, width: int, height: int, seed: int) -> Image.Image:
    """Noise plus a smooth gradient, so hashes are neither all noise nor flat."""
    rng = np.random.default_rng(seed)
    size = len(Image.new(mode, (width, height)).tobytes())
    raw = rng.integers(0, 256, size=size, dtype=np.uint8)
    if mode == "F":
        ramp = np.linspace(-20.0, 300.0, width * height, dtype=np.float32)
        values = ramp + rng.normal(0, 30, width * height).astype(np.float32)
        return Image.frombytes("F", (width, height), values.tobytes())
    if mode == "I":
        ramp = np.linspace(-50, 400, width * height).astype(np.int32)
        values = ramp + rng.integers(-40, 40, width * height, dtype=np.int32)
        return Image.frombytes("I", (width, height), values.tobytes())
    image = Image.frombytes(mode, (width, height), raw.tobytes())
    if mode in ("P", "PA"):
        image.putpalette(rng.integers(0, 256, 768, dtype=np.uint8).tobytes())
    if mode in ("L", "RGB"):
        gradient = Image.linear_gradient("L").resize((width, height)).convert(mode)
        image = Image.blend(image, gradient, 0.7)
    return image


sizes = st.one_of(
    st.integers(1, 16),
    st.integers(17, 511),
    st.just(512),
    st.integers(513, 1400),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mode=st.sampled_from(MODES),
    width=sizes,
    height=sizes,
    seed=st.integers(0, 2**32 - 1),
)
def test_generated_images_hash_like_the_reference(
    mode: str, width: int, height: int, seed: int
) -> None:
    image = make_image(mode, width, height, seed)
    expected = reference_pdq(image)
    assert pdq_from_image(image) == expected
    assert pdq_dihedral_from_image(image)[0] == expected[0]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mode=st.sampled_from(sorted(SAVE_AS)),
    width=sizes,
    height=sizes,
    seed=st.integers(0, 2**32 - 1),
    pick=st.integers(0, 7),
)
def test_generated_files_hash_like_the_reference(
    mode: str, width: int, height: int, seed: int, pick: int
) -> None:
    formats = SAVE_AS[mode]
    fmt = formats[pick % len(formats)]
    image = make_image(mode, width, height, seed)
    if fmt == "JPEG2000" and min(width, height) < 8:
        image = image.resize((max(width, 8), max(height, 8)))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as decoded:
        expected = reference_pdq(decoded)
        size = decoded.size
    signals = hash_bytes(data, exact=True)
    assert (signals.pdq, signals.pdq_quality) == expected
    assert (signals.width, signals.height) == size
    fast = hash_bytes(data)
    assert fast.pdq == signals.pdq  # generated images are below the draft size


def test_mode_without_rgb_conversion_is_unsupported() -> None:
    image = Image.new("La", (20, 20))
    with pytest.raises(UnsupportedMedia, match="La"):
        pdq_from_image(image)
