"""The MD5 signal type: MD5 of a file's bytes, matched exactly.

python-threatexchange and HMA call it ``video_md5`` (their only MD5 type).
"""

from __future__ import annotations

from types import MappingProxyType

from safespace.signals._types import HexSignalType, IndexKind, MediaKind

__all__ = ["MD5", "Md5SignalType"]


class Md5SignalType(HexSignalType):
    name = "md5"
    aliases = ("video_md5", "photo_md5")
    description = "MD5 of the file bytes, exact match"
    hex_length = 32
    media = frozenset({MediaKind.FILE})
    index = IndexKind.EXACT
    exchange_names = MappingProxyType(
        {"threatexchange": "video_md5", "stopncii": "VideoMD5", "ncmec": "md5", "cybertip": "MD5"}
    )
    exchange_aliases = MappingProxyType({"stopncii": ("ImageMD5",)})
    threatexchange_content = ("video",)
    bare_hex = 32


MD5 = Md5SignalType()
