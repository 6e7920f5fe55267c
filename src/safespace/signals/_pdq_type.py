"""The PDQ signal type: Meta's 256-bit perceptual photo hash, matched by Hamming distance.

Computing it lives in ``_pdq.py`` and ``_hashing.py``; this module is its contract.
"""

from __future__ import annotations

from types import MappingProxyType

from safespace.signals._types import DISTANCE, HexSignalType, IndexKind, MediaKind, Threshold

__all__ = ["PDQ", "PdqSignalType"]


class PdqSignalType(HexSignalType):
    name = "pdq"
    aliases = ("photo_pdq", "pdq_photo")
    description = "PDQ perceptual photo hash, 256 bits, matched by Hamming distance"
    hex_length = 64
    media = frozenset({MediaKind.IMAGE})
    index = IndexKind.PDQ_MIH
    thresholds = (
        Threshold(DISTANCE, 31, 0, 128, "largest Hamming distance that matches (0..128)"),
    )
    exchange_names = MappingProxyType(
        {"threatexchange": "pdq", "stopncii": "ImagePDQ", "ncmec": "pdq", "cybertip": "PDQ"}
    )
    exchange_aliases = MappingProxyType({"stopncii": ("PhotoPDQ",)})
    threatexchange_content = ("photo",)
    quality_field = "pdq_quality"
    bare_hex = 64  # shared bare 64-hex lists (HMA, StopNCII exports) are PDQ, not SHA-256

    def distance(self, a: str, b: str) -> int:
        return self.hamming(a, b)


PDQ = PdqSignalType()
