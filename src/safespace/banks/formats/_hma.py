"""The python-threatexchange / HMA local file: one ``signal_type value`` per line.

This is what threatexchange's ``LocalFileSignalExchangeAPI`` reads: the type, one space,
the hash. It also accepts bare hashes (no type), which is how most shared PDQ lists look.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

from safespace.errors import InvalidSignal, Reject
from safespace.signals import SignalType, get_signal_type

from ._base import NO_EXTRA, HashRecord, ParseResult, TextFormat, decode_text, gc_paused, reject

__all__ = ["HmaFormat"]

_BATCH = 4096


class HmaFormat(TextFormat):
    """``signal_type value`` lines; bare 32-hex is MD5 and bare 64-hex is PDQ unless told."""

    name = "hma"
    description = "python-threatexchange / HMA local file: 'signal_type value' per line"
    extensions = (".txt", ".hma", ".te")

    def __init__(self, md5_name: str = "md5") -> None:
        # threatexchange itself only knows "video_md5"; a caller feeding its files to HMA can
        # ask for that spelling. Every other type is written under its SafeSpace name.
        self._names = {"md5": md5_name}

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
            if len(parts) == 2:
                token, value = parts
                kind = kinds.get(token)
                if kind is None:
                    try:
                        kind = get_signal_type(token)
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
                            "(32 hex = md5, 64 hex = pdq; or write 'signal_type value')",
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
                if len(canonical) != kind.hex_length:
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
    size = len(value) - (2 if value[:2].lower() == "0x" else 0)
    if size == 32:
        return get_signal_type("md5")
    if size == 64:
        # Ambiguous with SHA-256; shared bare 64-hex lists (HMA, StopNCII exports) are PDQ.
        return get_signal_type("pdq")
    return None


_HEX_CHARS = frozenset("0123456789abcdefABCDEFxX")


def _is_hexish(token: str) -> bool:
    return bool(token) and all(c in _HEX_CHARS for c in token)
