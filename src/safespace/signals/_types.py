"""Signal types: the kinds of hash SafeSpace stores and matches, with their validation.

This is the one seam for signal types. A signal is always a normalised string (lowercase
hex for every built-in type), which keeps storage, exchange formats and the API simple.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from safespace.errors import InvalidSignal

__all__ = ["MD5", "PDQ", "SHA256", "SIGNAL_TYPES", "SignalType", "get_signal_type", "normalize"]

_ALIASES = {
    "pdq": "pdq",
    "photo_pdq": "pdq",
    "pdq_photo": "pdq",
    "md5": "md5",
    "video_md5": "md5",
    "photo_md5": "md5",
    "sha256": "sha256",
    "sha-256": "sha256",
}


@dataclass(frozen=True)
class SignalType:
    """A hash kind: stable name, size in hex digits, and whether it matches by distance."""

    name: str
    hex_length: int
    by_distance: bool
    description: str

    def normalize(self, value: str) -> str:
        """Return the canonical form of ``value`` or raise :class:`InvalidSignal` saying why."""
        text = value.strip().lower()
        if text.startswith("0x"):
            text = text[2:]
        if len(text) != self.hex_length:
            raise InvalidSignal(
                f"{self.name} hash must be {self.hex_length} hex digits, got {len(text)}"
            )
        if not _HEX.fullmatch(text):
            raise InvalidSignal(f"{self.name} hash must be hexadecimal (0-9, a-f)")
        return text


_HEX = re.compile(r"[0-9a-f]+")

PDQ = SignalType(
    "pdq", 64, True, "PDQ perceptual photo hash, 256 bits, matched by Hamming distance"
)
MD5 = SignalType("md5", 32, False, "MD5 of the file bytes, exact match")
SHA256 = SignalType("sha256", 64, False, "SHA-256 of the file bytes, exact match")

SIGNAL_TYPES: dict[str, SignalType] = {t.name: t for t in (PDQ, MD5, SHA256)}


def get_signal_type(name: str) -> SignalType:
    """Look a signal type up by its name or a common alias (``photo_pdq``, ``video_md5``)."""
    key = _ALIASES.get(name.strip().lower())
    if key is None:
        known = ", ".join(sorted(SIGNAL_TYPES))
        raise InvalidSignal(f"unknown signal type {name!r} (known: {known})")
    return SIGNAL_TYPES[key]


def normalize(signal_type: str, value: str) -> tuple[str, str]:
    """Validate a ``(signal_type, value)`` pair and return it in canonical form."""
    kind = get_signal_type(signal_type)
    return kind.name, kind.normalize(value)
