"""The python-threatexchange / HMA local file: one ``signal_type value`` per line.

This is what threatexchange's ``LocalFileSignalExchangeAPI`` reads: the type (by its
python-threatexchange name, e.g. ``video_md5``), one space, the hash. It also accepts
bare hashes (no type), which is how most shared PDQ lists look.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

from safespace.errors import InvalidSignal, Reject
from safespace.signals import (
    SIGNAL_TYPES,
    HexSignalType,
    SignalType,
    bare_hex_type,
    exchange_type,
    get_signal_type,
)

from ._base import NO_EXTRA, HashRecord, ParseResult, TextFormat, decode_text, gc_paused, reject

__all__ = ["HmaFormat"]

_BATCH = 4096
_TE = "threatexchange"  # SignalType.exchange_names key: python-threatexchange's names


class HmaFormat(TextFormat):
    """``signal_type value`` lines; a bare hash's type is told by its length
    (``SignalType.bare_hex``: 32 hex digits are MD5, 64 are PDQ) unless the caller says."""

    name = "hma"
    description = "python-threatexchange / HMA local file: 'signal_type value' per line"
    extensions = (".txt", ".hma", ".te")

    def __init__(self, threatexchange_names: bool = True) -> None:
        # Types are written as python-threatexchange and HMA spell them (each signal type's
        # ``exchange_names["threatexchange"]``: MD5 is "video_md5" there), so their tools read
        # an export unchanged: python-threatexchange's local-file reader silently drops a line
        # whose type it does not know. Reading accepts both spellings.
        self._names: dict[str, str] = {}
        if threatexchange_names:
            for kind in SIGNAL_TYPES.values():
                self._names[kind.name] = kind.exchange_name(_TE) or kind.name

    def parse(self, data: bytes, *, default_signal_type: str | None = None) -> ParseResult:
        with gc_paused():
            return self._parse(decode_text(data), default_signal_type)

    def _parse(self, text: str, default_signal_type: str | None) -> ParseResult:
        records: list[tuple[int, HashRecord]] = []
        rejects: list[Reject] = []
        kinds: dict[str, SignalType | str] = {}  # type token -> type, or why it is unknown
        default: SignalType | None = None
        if default_signal_type is not None:
            default = get_signal_type(default_signal_type)

        for lineno, raw in enumerate(text.split("\n"), 1):
            line = raw.strip()
            if not line or line[0] == "#":
                continue
            parts = line.split()
            if len(parts) > 2 and _rest_is_value(parts[0]):
                parts = line.split(None, 1)  # a structured value with spaces (JSON)
            if len(parts) == 2:
                token, value = parts
                kind = kinds.get(token)
                if kind is None:
                    try:  # python-threatexchange's name (video_sha256), or SafeSpace's
                        kind = exchange_type(_TE, token) or get_signal_type(token)
                    except InvalidSignal as exc:
                        kind = exc.message
                    kinds[token] = kind
                if isinstance(kind, str):
                    rejects.append(reject(lineno, line, kind))
                    continue
            elif len(parts) == 1:
                value = parts[0]
                kind = default or _by_length(value)
                if kind is None:
                    rejects.append(
                        reject(
                            lineno,
                            line,
                            f"bare hash of {len(value)} characters: cannot tell its signal type "
                            f"({_BARE_HELP}; or write 'signal_type value')",
                        )
                    )
                    continue
            else:
                rejects.append(
                    reject(lineno, line, f"expected 'signal_type value', got {len(parts)} fields")
                )
                continue
            canonical = value.lower()
            # Fast path: a token (no whitespace after split) of the right length that
            # bytes.fromhex accepts is canonical hex; normalize() handles 0x and says why not.
            try:
                if not isinstance(kind, HexSignalType) or len(canonical) != 2 * kind.width:
                    raise ValueError
                bytes.fromhex(canonical)
            except ValueError:
                try:
                    canonical = kind.normalize(value)
                except InvalidSignal as exc:
                    rejects.append(reject(lineno, line, exc.message))
                    continue
            records.append((lineno, HashRecord(kind.name, canonical, extra=NO_EXTRA)))
        return ParseResult(records, rejects)

    def write_to(self, records: Iterable[HashRecord], stream: BinaryIO) -> None:
        names = self._names
        batch: list[str] = []
        for record in records:
            batch.append(f"{names.get(record.signal_type, record.signal_type)} {record.value}\n")
            if len(batch) >= _BATCH:
                stream.write("".join(batch).encode())
                batch.clear()
        if batch:
            stream.write("".join(batch).encode())

    def supports(self, signal_type: SignalType) -> bool:
        # any type, under its name, whose values have no spaces (lines split on whitespace)
        return not signal_type.free_text

    def sniff(self, head: str) -> bool:
        """Looks like HMA if the first meaningful line is one or two hex-ish tokens."""
        for raw in head.split("\n")[:50]:
            line = raw.strip()
            if not line or line[0] == "#":
                continue
            parts = line.split()
            if len(parts) == 2:
                return parts[0].isidentifier() and _is_hexish(parts[1])
            if len(parts) == 1:
                return _is_hexish(parts[0]) and len(parts[0]) >= 32
            return False
        return False


def _by_length(value: str) -> SignalType | None:
    return bare_hex_type(len(value) - (2 if value[:2].lower() == "0x" else 0))


_BARE_HELP = ", ".join(
    f"{k.bare_hex} hex = {k.name}" for k in SIGNAL_TYPES.values() if k.bare_hex is not None
)


_HEX_CHARS = frozenset("0123456789abcdefABCDEFxX")


def _is_hexish(token: str) -> bool:
    return bool(token) and all(c in _HEX_CHARS for c in token)


def _rest_is_value(token: str) -> bool:
    """True when ``token`` names a type whose values are structured strings that may hold
    spaces (``digest_stored``: a vPDQ value is a JSON list), so the rest of the line is one."""
    try:
        return get_signal_type(token).digest_stored
    except InvalidSignal:
        return False
