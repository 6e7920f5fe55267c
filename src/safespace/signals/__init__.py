"""Media to signals: PDQ, MD5 and SHA-256 of images; MD5, SHA-256 and vPDQ frames of videos.

See docs/signals.md for the formats read, the limits, the errors and the measured accuracy
of the fast decoding mode.
"""

import importlib
from typing import TYPE_CHECKING, Any

from safespace.signals._decode import DecodeLimits
from safespace.signals._hashing import (
    Signals,
    hash_bytes,
    hash_file,
    pdq_dihedral_from_bytes,
    pdq_dihedral_from_file,
    pdq_dihedral_from_image,
    pdq_from_image,
)
from safespace.signals._keyword import KEYWORD
from safespace.signals._md5 import MD5
from safespace.signals._pdq import DIHEDRAL_NAMES, dihedral_variants, hamming, is_matchable
from safespace.signals._pdq_type import PDQ
from safespace.signals._registry import (
    SIGNAL_TYPES,
    bare_hex_type,
    check_thresholds,
    effective_thresholds,
    exchange_type,
    get_signal_type,
    normalize,
    signal_types_in_text,
    signal_types_with_index,
)
from safespace.signals._sha256 import SHA256
from safespace.signals._types import (
    DISTANCE,
    HexSignalType,
    IndexKind,
    MediaKind,
    SignalType,
    TextSource,
    Threshold,
)
from safespace.signals._url import URL, URL_SHA256

if TYPE_CHECKING:
    from safespace.signals._video import VideoFrameHash, VideoLimits, hash_video

__all__ = [
    "DIHEDRAL_NAMES",
    "DISTANCE",
    "KEYWORD",
    "MD5",
    "PDQ",
    "SHA256",
    "SIGNAL_TYPES",
    "URL",
    "URL_SHA256",
    "DecodeLimits",
    "HexSignalType",
    "IndexKind",
    "MediaKind",
    "SignalType",
    "Signals",
    "TextSource",
    "Threshold",
    "VideoFrameHash",
    "VideoLimits",
    "bare_hex_type",
    "check_thresholds",
    "dihedral_variants",
    "effective_thresholds",
    "exchange_type",
    "get_signal_type",
    "hamming",
    "hash_bytes",
    "hash_file",
    "hash_video",
    "is_matchable",
    "normalize",
    "pdq_dihedral_from_bytes",
    "pdq_dihedral_from_file",
    "pdq_dihedral_from_image",
    "pdq_from_image",
    "signal_types_in_text",
    "signal_types_with_index",
]

_VIDEO = {"VideoFrameHash", "VideoLimits", "hash_video"}


def __getattr__(name: str) -> Any:
    """Load the video names on first use: they import PyAV (FFmpeg), which images never need."""
    if name in _VIDEO:
        return getattr(importlib.import_module("safespace.signals._video"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
