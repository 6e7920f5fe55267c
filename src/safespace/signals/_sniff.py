"""Recognise media by its first bytes, never by its file name.

Only formats listed here are ever handed to a decoder: content that matches no signature is
refused before Pillow sees it, which keeps rarely used (and rarely hardened) decoders such as
EPS (which would run Ghostscript), TGA or PCX out of reach of uploaded files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["HEAD_BYTES", "Sniffed", "sniff"]

HEAD_BYTES = 4096
"""How much of the start of a file :func:`sniff` needs to see."""


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes say: the media kind, a format name, and Pillow plugins to try."""

    kind: Literal["image", "video"]
    format: str
    pillow_formats: tuple[str, ...] = ()


_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_AVIF_BRANDS = {b"avif", b"avis"}
_GENERIC_IMAGE_BRANDS = {b"mif1", b"msf1"}
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


def _image(fmt: str, *pillow: str) -> Sniffed:
    return Sniffed("image", fmt, pillow or (fmt,))


def _video(fmt: str) -> Sniffed:
    return Sniffed("video", fmt)


def _sniff_iso_bmff(head: bytes) -> Sniffed:
    """An ISO base media file (``ftyp`` box): HEIF/AVIF stills, otherwise a video container."""
    major = head[8:12]
    size = int.from_bytes(head[0:4], "big")
    end = min(max(size, 16), len(head))
    compatible = {head[i : i + 4] for i in range(16, end - 3, 4)}
    if major in _HEIF_BRANDS:
        return _image("HEIF")
    if major in _AVIF_BRANDS:
        return _image("AVIF")
    if major in _GENERIC_IMAGE_BRANDS:
        if compatible & _AVIF_BRANDS:
            return _image("AVIF", "AVIF", "HEIF")
        return _image("HEIF", "HEIF", "AVIF")
    if major.startswith(b"qt"):
        return _video("QuickTime")
    if major.startswith((b"3gp", b"3g2")):
        return _video("3GPP")
    return _video("MP4")


def _is_mpeg_ts(head: bytes, offset: int, packet: int) -> bool:
    positions = [offset + packet * n for n in range(3)]
    return len(head) > positions[-1] and all(head[p] == 0x47 for p in positions)


def sniff(head: bytes) -> Sniffed | None:
    """Classify media from its first bytes (ideally :data:`HEAD_BYTES` of them); None if unknown."""
    if head.startswith(b"\xff\xd8\xff"):
        return _image("JPEG", "JPEG", "MPO")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _image("PNG")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return _image("GIF")
    if head.startswith(b"RIFF") and len(head) >= 12:
        riff_type = head[8:12]
        if riff_type == b"WEBP":
            return _image("WEBP")
        if riff_type == b"AVI ":
            return _video("AVI")
        return None
    if head.startswith(b"BM") and len(head) >= 14:
        return _image("BMP")
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return _image("TIFF")
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xffO\xffQ")):
        return _image("JPEG2000")
    if head.startswith(b"qoif"):
        return _image("QOI")
    if head.startswith(b"\x00\x00\x01\x00") and len(head) >= 6 and head[4:6] != b"\x00\x00":
        return _image("ICO")
    if len(head) >= 3 and head[0:1] == b"P" and head[1:2] in b"123456" and head[2:3].isspace():
        return _image("PPM")
    if head[4:8] == b"ftyp" and len(head) >= 12:
        return _sniff_iso_bmff(head)
    if head[4:8] in _QUICKTIME_ATOMS:
        return _video("QuickTime")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _video("Matroska/WebM")
    if head.startswith(b"FLV\x01"):
        return _video("FLV")
    if head.startswith(_ASF_GUID):
        return _video("ASF/WMV")
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return _video("MPEG-PS")
    if _is_mpeg_ts(head, 0, 188) or _is_mpeg_ts(head, 4, 192):
        return _video("MPEG-TS")
    return None
