"""Media to signals: PDQ, MD5 and SHA-256 of images, MD5 and SHA-256 of videos.

See docs/signals.md for the formats read, the limits, the errors and the measured accuracy
of the fast decoding mode.
"""

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
from safespace.signals._pdq import DIHEDRAL_NAMES, dihedral_variants, hamming, is_matchable
from safespace.signals._types import (
    MD5,
    PDQ,
    SHA256,
    SIGNAL_TYPES,
    SignalType,
    get_signal_type,
    normalize,
)

__all__ = [
    "DIHEDRAL_NAMES",
    "MD5",
    "PDQ",
    "SHA256",
    "SIGNAL_TYPES",
    "DecodeLimits",
    "SignalType",
    "Signals",
    "dihedral_variants",
    "get_signal_type",
    "hamming",
    "hash_bytes",
    "hash_file",
    "is_matchable",
    "normalize",
    "pdq_dihedral_from_bytes",
    "pdq_dihedral_from_file",
    "pdq_dihedral_from_image",
    "pdq_from_image",
]
