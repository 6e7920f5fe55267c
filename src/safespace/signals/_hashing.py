"""Media in, signals out: MD5, SHA-256 and (for images) PDQ with its quality."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from typing import BinaryIO, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image

from safespace.errors import CorruptMedia, EmptyMedia, MediaError, MediaTooLarge, UnsupportedMedia
from safespace.signals._decode import DecodeLimits, decode_image, quiet_pillow, rgb_grid
from safespace.signals._pdq import dihedral_from_rgb, is_matchable, pdq_from_rgb
from safespace.signals._sniff import HEAD_BYTES, Sniffed, sniff

__all__ = [
    "Signals",
    "hash_bytes",
    "hash_file",
    "pdq_dihedral_from_bytes",
    "pdq_dihedral_from_file",
    "pdq_dihedral_from_image",
    "pdq_from_image",
]

_CHUNK = 1 << 20
StrPath = str | os.PathLike[str]


@dataclass(frozen=True)
class Signals:
    """Every signal of one media file. Holds no path, so it can be logged and exported as is."""

    media_kind: Literal["image", "video"]
    md5: str
    sha256: str
    pdq: str | None
    pdq_quality: int | None
    size_bytes: int
    width: int | None
    height: int | None
    media_format: str | None = None
    min_pdq_quality: int = 50

    @property
    def pdq_low_quality(self) -> bool:
        """True when there is a PDQ hash but its quality is under the threshold: do not match."""
        return self.pdq is not None and not is_matchable(self.pdq_quality, self.min_pdq_quality)

    def as_dict(self) -> dict[str, object]:
        return {
            "media_kind": self.media_kind,
            "media_format": self.media_format,
            "pdq": self.pdq,
            "pdq_quality": self.pdq_quality,
            "pdq_low_quality": self.pdq_low_quality,
            "md5": self.md5,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "width": self.width,
            "height": self.height,
        }


@dataclass
class _Read:
    sniffed: Sniffed
    data: bytes | None
    md5: str
    sha256: str
    size: int


def _check_size(size: int, limits: DecodeLimits) -> None:
    if size == 0:
        raise EmptyMedia("file is empty (0 bytes)")
    if size > limits.max_bytes:
        raise MediaTooLarge(
            f"file is {size} bytes, over the limit of {limits.max_bytes} (max_media_bytes)"
        )


def _sniff(head: bytes) -> Sniffed:
    found = sniff(head)
    if found is not None:
        return found
    if head.lstrip()[:1] in (b"<", b"{", b"[") or _looks_like_text(head):
        raise UnsupportedMedia("content is text, not an image or video")
    raise UnsupportedMedia("content matches no supported image or video format")


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head[:512].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch.isspace() for ch in text)


def _read_bytes(data: bytes | bytearray | memoryview, limits: DecodeLimits) -> _Read:
    data = bytes(data)
    _check_size(len(data), limits)
    sniffed = _sniff(data[:HEAD_BYTES])
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    sha256 = hashlib.sha256(data).hexdigest()
    keep = data if sniffed.kind == "image" else None
    return _Read(sniffed, keep, md5, sha256, len(data))


def _open(path: StrPath) -> BinaryIO:
    """Open a regular file; anything else (a FIFO would block the batch) is refused first."""
    try:
        if os.path.isdir(path):
            raise IsADirectoryError
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise MediaError("cannot read file: not a regular file")
        return open(path, "rb")
    except FileNotFoundError:
        raise MediaError("cannot read file: no such file") from None
    except IsADirectoryError:
        raise MediaError("cannot read file: it is a directory") from None
    except PermissionError:
        raise MediaError("cannot read file: permission denied") from None
    except OSError as exc:
        raise MediaError(f"cannot read file: {exc.strerror or exc}") from None


def _read_file(path: StrPath, limits: DecodeLimits) -> _Read:
    """Stream the file once: hash every chunk, and keep the bytes only if it is an image."""
    with _open(path) as handle:
        try:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise MediaError("cannot read file: not a regular file")
            _check_size(info.st_size, limits)
            head = handle.read(HEAD_BYTES)
            _check_size(len(head), limits)
            sniffed = _sniff(head)
            md5 = hashlib.md5(head, usedforsecurity=False)
            sha256 = hashlib.sha256(head)
            kept: list[bytes] | None = [head] if sniffed.kind == "image" else None
            size = len(head)
            while chunk := handle.read(_CHUNK):
                size += len(chunk)
                _check_size(size, limits)
                md5.update(chunk)
                sha256.update(chunk)
                if kept is not None:
                    kept.append(chunk)
        except OSError as exc:
            raise MediaError(f"cannot read file: {exc.strerror or exc}") from None
    data = b"".join(kept) if kept is not None else None
    return _Read(sniffed, data, md5.hexdigest(), sha256.hexdigest(), size)


def _signals(read: _Read, *, exact: bool, limits: DecodeLimits) -> Signals:
    if read.data is None:
        return Signals(
            media_kind="video",
            md5=read.md5,
            sha256=read.sha256,
            pdq=None,
            pdq_quality=None,
            size_bytes=read.size,
            width=None,
            height=None,
            media_format=read.sniffed.format,
            min_pdq_quality=limits.min_pdq_quality,
        )
    decoded = decode_image(read.data, read.sniffed, exact=exact, limits=limits)
    pdq, quality = pdq_from_rgb(decoded.rgb)
    return Signals(
        media_kind="image",
        md5=read.md5,
        sha256=read.sha256,
        pdq=pdq,
        pdq_quality=quality,
        size_bytes=read.size,
        width=decoded.width,
        height=decoded.height,
        media_format=decoded.format,
        min_pdq_quality=limits.min_pdq_quality,
    )


def hash_file(path: StrPath, *, exact: bool = False, limits: DecodeLimits | None = None) -> Signals:
    """Hash one file; the content decides what it is, never the file name.

    ``exact=True`` reproduces the PDQ reference bit for bit; the default fast mode decodes
    large JPEGs at reduced scale (a few bits from the reference, several times faster).
    Raises a :class:`~safespace.errors.MediaError` subclass for anything it cannot hash.
    """
    limits = limits or DecodeLimits()
    return _signals(_read_file(path, limits), exact=exact, limits=limits)


def hash_bytes(
    data: bytes | bytearray | memoryview,
    *,
    exact: bool = False,
    limits: DecodeLimits | None = None,
) -> Signals:
    """Like :func:`hash_file` for media already in memory (an upload, say)."""
    limits = limits or DecodeLimits()
    return _signals(_read_bytes(data, limits), exact=exact, limits=limits)


def _dihedral(read: _Read, *, exact: bool, limits: DecodeLimits) -> list[str]:
    if read.data is None:
        raise UnsupportedMedia(f"PDQ needs an image, this is a {read.sniffed.format} video")
    decoded = decode_image(read.data, read.sniffed, exact=exact, limits=limits)
    return dihedral_from_rgb(decoded.rgb)[0]


def pdq_dihedral_from_file(
    path: StrPath, *, exact: bool = False, limits: DecodeLimits | None = None
) -> list[str]:
    """The 8 pixel-exact dihedral PDQ variants of an image file, in ``DIHEDRAL_NAMES`` order."""
    limits = limits or DecodeLimits()
    return _dihedral(_read_file(path, limits), exact=exact, limits=limits)


def pdq_dihedral_from_bytes(
    data: bytes | bytearray | memoryview,
    *,
    exact: bool = False,
    limits: DecodeLimits | None = None,
) -> list[str]:
    """Like :func:`pdq_dihedral_from_file` for an image in memory."""
    limits = limits or DecodeLimits()
    return _dihedral(_read_bytes(data, limits), exact=exact, limits=limits)


def _grid_of(image: Image.Image, limits: DecodeLimits | None) -> npt.NDArray[np.uint8]:
    limits = limits or DecodeLimits()
    width, height = image.size
    if width * height > limits.max_pixels:
        raise MediaTooLarge(
            f"image is {width}x{height} pixels, over the limit of {limits.max_pixels}"
        )
    with quiet_pillow():
        try:
            image.load()
        except Exception as exc:  # the caller's image may be lazily opened and damaged
            raise CorruptMedia(f"cannot decode image: {exc}") from None
        try:
            return rgb_grid(image)
        except ValueError as exc:
            raise UnsupportedMedia(f"image mode {image.mode} is not supported: {exc}") from None


def pdq_from_image(image: Image.Image, *, limits: DecodeLimits | None = None) -> tuple[str, int]:
    """PDQ hex and quality of a Pillow image, computed exactly as the reference does."""
    return pdq_from_rgb(_grid_of(image, limits))


def pdq_dihedral_from_image(image: Image.Image, *, limits: DecodeLimits | None = None) -> list[str]:
    """The 8 pixel-exact dihedral PDQ variants of a Pillow image (original first)."""
    return dihedral_from_rgb(_grid_of(image, limits))[0]
