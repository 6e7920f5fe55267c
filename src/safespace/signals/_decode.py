"""Safe image decoding down to the 512x512 RGB grid that PDQ is computed on.

The grid is the one the PDQ reference tool uses: when either side exceeds 512 pixels, rows
and columns are taken at ``floor(i * H / 512)`` and ``floor(j * W / 512)`` (nearest
neighbour, no smoothing); smaller images are hashed as they are. EXIF orientation is not
applied, as in the reference, so a rotated phone photo hashes as stored.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from safespace.config import Settings
from safespace.errors import CorruptMedia, MediaTooLarge, UnsupportedMedia
from safespace.signals._sniff import Sniffed

__all__ = ["FAST_DRAFT_MIN_SIDE", "PDQ_GRID", "DecodeLimits", "DecodedImage", "decode_image"]

PDQ_GRID = 512
FAST_DRAFT_MIN_SIDE = 1024
"""Fast mode decodes JPEGs at 1/2, 1/4 or 1/8 scale only while both sides stay >= this.

1024 (twice the PDQ grid) rather than 512: measured on 124 large JPEGs it cuts the bits that
differ from the reference from a mean of 2.6 to 1.5 (more than 4 bits: 4 images instead of
13) for about 3% more CPU time; see docs/signals.md.
"""

# Modes for which Pillow's convert("RGB") is a per-pixel map, so sampling the grid first and
# converting afterwards gives exactly the pixels of converting first and sampling afterwards.
_SAMPLE_FIRST_MODES = frozenset(
    {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB"}
    | {"HSV", "I", "F"}
)

_heif_lock = threading.Lock()


@dataclass(frozen=True)
class DecodeLimits:
    """The knobs that govern hashing one file; defaults equal the Settings defaults."""

    max_bytes: int = 100 * 1024 * 1024
    max_pixels: int = 128_000_000
    min_pdq_quality: int = 50

    @classmethod
    def from_settings(cls, settings: Settings) -> DecodeLimits:
        return cls(
            max_bytes=settings.max_media_bytes,
            max_pixels=settings.max_image_pixels,
            min_pdq_quality=settings.min_pdq_quality,
        )


@dataclass(frozen=True)
class DecodedImage:
    """The PDQ input grid of one image, with the size and format its header declared."""

    rgb: npt.NDArray[np.uint8]
    width: int
    height: int
    format: str
    draft_scale: int


def _ensure_heif_opener() -> None:
    """Register pillow-heif's opener once, on the first HEIF file (it costs an import)."""
    if "HEIF" in Image.OPEN:
        return
    with _heif_lock:
        if "HEIF" not in Image.OPEN:
            from pillow_heif import register_heif_opener

            register_heif_opener()


@contextmanager
def quiet_pillow() -> Iterator[None]:
    """Silence Pillow's warnings: metadata noise, and its bomb warning (we check pixels)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def draft_scale_for(width: int, height: int) -> int:
    """The JPEG DCT scale (1, 2, 4 or 8) fast mode decodes at; 1 means a full decode."""
    ratio = min(width // FAST_DRAFT_MIN_SIDE, height // FAST_DRAFT_MIN_SIDE)
    for scale in (8, 4, 2):
        if ratio >= scale:
            return scale
    return 1


def sample_grid(image: Image.Image) -> Image.Image:
    """Nearest-neighbour sample to the PDQ grid at floor(i*H/512), floor(j*W/512).

    An affine map with a half-pixel offset makes Pillow's nearest sampling land exactly on
    those indices (all factors are multiples of 1/512, so the arithmetic is exact).
    """
    width, height = image.size
    if width <= PDQ_GRID and height <= PDQ_GRID:
        return image
    sx, sy = width / PDQ_GRID, height / PDQ_GRID
    return image.transform(
        (PDQ_GRID, PDQ_GRID),
        Image.Transform.AFFINE,
        (sx, 0.0, -0.5 * sx, 0.0, sy, -0.5 * sy),
        Image.Resampling.NEAREST,
    )


def rgb_grid(image: Image.Image) -> npt.NDArray[np.uint8]:
    """The RGB PDQ grid of a loaded or loadable image, converting as convert("RGB") does."""
    if image.mode in _SAMPLE_FIRST_MODES:
        grid = sample_grid(image).convert("RGB")
    else:
        grid = sample_grid(image.convert("RGB"))
    return np.ascontiguousarray(np.asarray(grid, dtype=np.uint8))


def decode_image(
    data: bytes, sniffed: Sniffed, *, exact: bool, limits: DecodeLimits
) -> DecodedImage:
    """Decode the first frame of ``data`` to the PDQ grid, enforcing the pixel limit first."""
    if "HEIF" in sniffed.pillow_formats:
        _ensure_heif_opener()
    Image.init()
    formats = [name for name in sniffed.pillow_formats if name in Image.OPEN]
    if not formats:
        raise UnsupportedMedia(f"this installation cannot decode {sniffed.format} images")
    with quiet_pillow():
        try:
            image = Image.open(io.BytesIO(data), formats=formats)
        except Image.DecompressionBombError:  # its message names Pillow's limit, not ours
            raise MediaTooLarge(
                f"image is over the limit of {limits.max_pixels} pixels (max_image_pixels)"
            ) from None
        except UnidentifiedImageError:
            raise CorruptMedia(
                f"content starts like {sniffed.format} but cannot be read as one"
            ) from None
        except Exception as exc:  # decoders raise many types on hostile input
            raise CorruptMedia(f"damaged {sniffed.format} header: {_why(exc)}") from None
        with image:
            return _decode_opened(image, sniffed, exact=exact, limits=limits)


def _decode_opened(
    image: Image.Image, sniffed: Sniffed, *, exact: bool, limits: DecodeLimits
) -> DecodedImage:
    width, height = image.size
    if width * height > limits.max_pixels:
        raise MediaTooLarge(
            f"image is {width}x{height} = {width * height} pixels, over the limit of "
            f"{limits.max_pixels} (max_image_pixels)"
        )
    scale = 1
    if not exact and image.format in ("JPEG", "MPO"):
        scale = draft_scale_for(width, height)
        if scale > 1:
            # "L": the JPEG's own luma channel, skipping chroma and colour conversion
            image.draft("L", (FAST_DRAFT_MIN_SIDE, FAST_DRAFT_MIN_SIDE))
    try:
        image.load()
    except MemoryError:
        raise MediaTooLarge("not enough memory to decode this image") from None
    except Exception as exc:  # truncated or damaged pixel data
        raise CorruptMedia(f"damaged {sniffed.format} data: {_why(exc)}") from None
    try:
        rgb = rgb_grid(image)
    except ValueError as exc:
        raise UnsupportedMedia(f"image mode {image.mode} is not supported: {_why(exc)}") from None
    return DecodedImage(rgb, width, height, image.format or sniffed.format, scale)


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__
