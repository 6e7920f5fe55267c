"""Hash-list file formats: pure parse and write, no database.

Every format turns bytes into a :class:`ParseResult` (records with their line numbers, and a
:class:`~safespace.errors.Reject` for every unusable line) and records back into bytes.
Line-level problems never raise; whole-file problems (not UTF-8, unparseable XML/JSON)
raise :class:`~safespace.errors.ImportFormatError`. Duplicates within one file are kept:
deduplication is the bank service's job. Entries the source withdrew or deleted are never
records: they are listed in ``ParseResult.withdrawn``. :data:`FORMATS` is the one registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from safespace.errors import ImportFormatError, InvalidInput

from ._base import HashListFormat, HashRecord, ParseResult, Withdrawal
from ._csvfmt import CsvFormat
from ._hma import HmaFormat
from ._lines import line_list_formats
from ._ncmec import NcmecFormat
from ._stopncii import StopNciiFormat

__all__ = [
    "FORMATS",
    "HashListFormat",
    "HashRecord",
    "ParseResult",
    "Withdrawal",
    "detect_format",
    "get_format",
    "parse",
]

_ALL: tuple[HashListFormat, ...] = (
    HmaFormat(),
    CsvFormat(),
    StopNciiFormat(),
    NcmecFormat(),
    *line_list_formats(),
)

FORMATS: Mapping[str, HashListFormat] = MappingProxyType({f.name: f for f in _ALL})

# Content sniffing is tried in this order: the most distinctive shapes first.
_SNIFF_ORDER = ("ncmec", "stopncii", "csv", "hma")
_SNIFF_BYTES = 64 * 1024


def get_format(name: str) -> HashListFormat:
    """The registered format called ``name`` (case-insensitive)."""
    fmt = FORMATS.get(name.strip().lower())
    if fmt is None:
        raise InvalidInput(f"unknown hash-list format {name!r} (known: {', '.join(FORMATS)})")
    return fmt


def detect_format(data: bytes, filename: str | None = None) -> HashListFormat:
    """Tell a document's format by its content first, then by its file extension.

    A format that content cannot tell (the one-value-per-line lists: 64 hex digits per
    line read as HMA PDQ, so ``x.urls-sha256`` would be taken for an HMA list) is chosen
    by its own extension before any sniffing.
    """
    lowered = filename.lower() if filename else ""
    if lowered:
        for listed in FORMATS.values():
            if listed.name in _SNIFF_ORDER:
                continue
            if any(lowered.endswith(ext) for ext in listed.extensions):
                return listed
    head = data[:_SNIFF_BYTES]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = head.decode("utf-16", errors="replace")
    else:
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    for name in _SNIFF_ORDER:
        fmt = FORMATS.get(name)
        if fmt is not None and fmt.sniff(text):
            return fmt
    if lowered:
        for fmt in FORMATS.values():
            if any(lowered.endswith(ext) for ext in fmt.extensions):
                return fmt
    raise ImportFormatError(
        "cannot tell the hash-list format"
        + (f" of {filename!r}" if filename else "")
        + f"; name one of: {', '.join(FORMATS)}"
    )


def parse(
    data: bytes,
    fmt: str | None = None,
    filename: str | None = None,
    *,
    default_signal_type: str | None = None,
) -> ParseResult:
    """Parse a hash list, naming its format or letting :func:`detect_format` tell it.

    ``default_signal_type`` says what a hash with no stated type is (for HMA bare lines,
    where 64 hex digits would otherwise be read as PDQ).
    """
    chosen = get_format(fmt) if fmt else detect_format(data, filename)
    return chosen.parse(data, default_signal_type=default_signal_type)
