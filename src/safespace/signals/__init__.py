"""Media to signals: PDQ, MD5 and SHA-256 of images, MD5 and SHA-256 of videos.

See docs/signals.md for the formats read, the limits, the errors and the measured accuracy
of the fast decoding mode.
"""

from safespace.signals.decode import DecodeLimits
from safespace.signals.hashing import (
    Signals,
    hash_bytes,
    hash_file,
    pdq_dihedral_from_bytes,
    pdq_dihedral_from_file,
    pdq_dihedral_from_image,
    pdq_from_image,
)
from safespace.signals.pdq import DIHEDRAL_NAMES, dihedral_variants, hamming, is_matchable

__all__ = [
    "DIHEDRAL_NAMES",
    "DecodeLimits",
    "Signals",
    "dihedral_variants",
    "hamming",
    "hash_bytes",
    "hash_file",
    "is_matchable",
    "pdq_dihedral_from_bytes",
    "pdq_dihedral_from_file",
    "pdq_dihedral_from_image",
    "pdq_from_image",
]
