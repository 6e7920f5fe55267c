"""The shared shapes of every hash-list format: records, parse results, and small helpers.

Kept apart from the registry so each format module can import it without a cycle.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from types import MappingProxyType
from typing import BinaryIO, Protocol, runtime_checkable

from safespace._gc import gc_paused
from safespace.errors import ImportFormatError, InvalidSignal, Reject
from safespace.signals import SignalType, normalize

__all__ = [
    "NO_EXTRA",
    "HashListFormat",
    "HashRecord",
    "ParseResult",
    "TextFormat",
    "Withdrawal",
    "check_signal",
    "decode_text",
    "format_datetime",
    "gc_paused",
    "has_lone_surrogate",
    "optional_text",
    "parse_datetime",
    "reject",
]

NO_EXTRA: Mapping[str, str] = MappingProxyType({})
"""One shared, immutable empty ``extra`` for records that have none (saves a dict each)."""

# Rejected text is echoed back to people and stored in reports; a runaway line must not be.
_MAX_REJECT_TEXT = 200
# Half of a UTF-16 surrogate pair on its own: JSON's "\\udfff" decodes to one. It is not a
# Unicode character, so it cannot be encoded as UTF-8 for the database or a response.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class HashRecord:
    """One hash from a list, in canonical form, with what the list said about it."""

    signal_type: str
    value: str
    source: str | None = None
    category: str | None = None
    note: str | None = None
    added_at: datetime | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, signal_type: str, value: str, **fields: object) -> HashRecord:
        """Build a record from loose input, normalising it; raises InvalidSignal if unusable."""
        kind, canonical = normalize(signal_type, value)
        return cls(kind, canonical, **fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Withdrawal:
    """An entry the list's owner has withdrawn or deleted: never a record to match against.

    ``record`` is the hash when the format names it (StopNCII); ``ref`` is the format's own
    identity for the entry (NCMEC deletions carry only an entry id, no hash).
    """

    line: int
    record: HashRecord | None
    ref: Mapping[str, str]
    reason: str


@dataclass(frozen=True)
class ParseResult:
    """Every usable record with its position, and every unusable line or entry with why.

    ``withdrawn`` lists entries the source marked as withdrawn or deleted; they are kept out
    of ``records`` so a naive import never adds them, and are there for a sync that removes.
    """

    records: list[tuple[int, HashRecord]]
    rejects: list[Reject]
    withdrawn: list[Withdrawal] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejects


@runtime_checkable
class HashListFormat(Protocol):
    """A file format for hash lists: pure bytes in, records out, and back."""

    @property
    def name(self) -> str:
        """Registry key, e.g. ``hma``."""
        ...

    @property
    def description(self) -> str: ...

    @property
    def extensions(self) -> tuple[str, ...]:
        """File-name endings used as a fallback when content sniffing cannot tell."""
        ...

    def parse(self, data: bytes, *, default_signal_type: str | None = None) -> ParseResult: ...

    def write(self, records: Iterable[HashRecord]) -> bytes: ...

    def write_to(self, records: Iterable[HashRecord], stream: BinaryIO) -> None: ...

    def sniff(self, head: str) -> bool:
        """True if the start of a decoded document looks like this format."""
        ...

    def supports(self, signal_type: SignalType) -> bool:
        """True if this format can carry hashes of ``signal_type``."""
        ...


class TextFormat:
    """Base for formats: ``write`` is ``write_to`` into memory."""

    name: str = ""
    description: str = ""
    extensions: tuple[str, ...] = ()

    def write(self, records: Iterable[HashRecord]) -> bytes:
        buf = BytesIO()
        self.write_to(records, buf)
        return buf.getvalue()

    def write_to(self, records: Iterable[HashRecord], stream: BinaryIO) -> None:
        raise NotImplementedError

    def supports(self, signal_type: SignalType) -> bool:
        """A format that names signal types in its own words carries the types that give
        it a name (``SignalType.exchange_names``); generic formats override this."""
        return signal_type.exchange_name(self.name) is not None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def reject(line: int, text: str, reason: str) -> Reject:
    """A Reject with its text clipped, so a huge bad line cannot flood a report.

    Lone surrogates in the text or reason are written as ``\\udfff`` escapes, so the reject
    itself can be stored and shown.
    """
    if len(text) > _MAX_REJECT_TEXT:
        text = text[:_MAX_REJECT_TEXT] + "…"
    return Reject(line, _escape_surrogates(text), _escape_surrogates(reason))


def has_lone_surrogate(text: str) -> bool:
    """True if ``text`` holds half a surrogate pair (only JSON escapes can produce one)."""
    return _LONE_SURROGATE.search(text) is not None


def _escape_surrogates(text: str) -> str:
    if _LONE_SURROGATE.search(text) is None:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def decode_text(data: bytes) -> str:
    """Decode a text hash list: UTF-8 (with or without BOM), or UTF-16 when it has a BOM."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ImportFormatError(
                f"not valid UTF-16 text: {exc.reason} at byte {exc.start}"
            ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            f"not UTF-8 text: invalid byte at offset {exc.start} (save the file as UTF-8)"
        ) from None


def parse_datetime(text: str) -> datetime:
    """Read a timestamp: ISO 8601 (``Z`` allowed; naive means UTC) or Unix epoch seconds.

    Raises ValueError with a short reason.
    """
    text = text.strip()
    if not text:
        raise ValueError("empty date")
    if text.lstrip("-").replace(".", "", 1).isdigit():
        try:
            return datetime.fromtimestamp(float(text), tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"epoch timestamp out of range: {text!r}") from None
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError(
            f"bad date {text!r} (expected ISO 8601, e.g. 2024-05-01T12:00:00Z)"
        ) from None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix; naive datetimes are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def check_signal(signal_type: str, value: str) -> tuple[str, str] | str:
    """Normalise a pair, or return the reason it is unusable (no exception: line-level)."""
    try:
        return normalize(signal_type, value)
    except InvalidSignal as exc:
        return exc.message


def optional_text(value: str | None) -> str | None:
    """Trimmed text, or None for a missing or blank field."""
    if value is None:
        return None
    value = value.strip()
    return value or None
