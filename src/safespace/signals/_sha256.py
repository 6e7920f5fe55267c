"""The SHA-256 signal type: SHA-256 of a file's bytes, matched exactly.

StopNCII has no SHA-256 type; ``SHA256`` is the spelling SafeSpace writes and reads.
python-threatexchange (and so HMA) calls it ``video_sha256``.
"""

from __future__ import annotations

from types import MappingProxyType

from safespace.signals._types import HexSignalType, IndexKind, MediaKind

__all__ = ["SHA256", "Sha256SignalType"]


class Sha256SignalType(HexSignalType):
    name = "sha256"
    aliases = ("sha-256",)
    description = "SHA-256 of the file bytes, exact match"
    hex_length = 64
    media = frozenset({MediaKind.FILE})
    index = IndexKind.EXACT
    exchange_names = MappingProxyType(
        {
            "threatexchange": "video_sha256",
            "stopncii": "SHA256",
            "ncmec": "sha256",
            "cybertip": "SHA256",
        }
    )
    exchange_aliases = MappingProxyType({"stopncii": ("ImageSHA256", "VideoSHA256")})


SHA256 = Sha256SignalType()
