"""One-value-per-line lists of a single signal type: ``urls``, ``urls-sha256``, ``keywords``.

Hotlines ship URL lists as one URL per line (plain) or one SHA-256 hex digest per line
(hashed, so the operator never holds the plain URLs), and keyword lists as one keyword or
phrase per line. Each format carries exactly one signal type: the registered type that
names the format in its ``exchange_names`` (so nothing here names a type). Blank lines and
lines starting with ``#`` are skipped; every other line is one value, normalised by its
type (a URL becomes its canonical Safe Browsing expression) or rejected saying why.
Writing gives one canonical value per line, which reads back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

from safespace.errors import InvalidSignal, Reject
from safespace.signals import SIGNAL_TYPES, SignalType

from ._base import NO_EXTRA, HashRecord, ParseResult, TextFormat, decode_text, gc_paused, reject

__all__ = ["LineListFormat", "line_list_formats"]

_BATCH = 4096


class LineListFormat(TextFormat):
    """A list of one type's values, one per line; the type is the one whose
    ``exchange_names`` has this format's name."""

    def __init__(self, name: str, description: str, extensions: tuple[str, ...] = ()) -> None:
        self.name = name
        self.description = description
        self.extensions = extensions

    @property
    def signal_type(self) -> SignalType:
        for kind in SIGNAL_TYPES.values():
            if kind.exchange_name(self.name) is not None:
                return kind
        raise LookupError(f"no registered signal type is carried by the {self.name} format")

    def parse(self, data: bytes, *, default_signal_type: str | None = None) -> ParseResult:
        kind = self.signal_type
        records: list[tuple[int, HashRecord]] = []
        rejects: list[Reject] = []
        with gc_paused():
            for lineno, raw in enumerate(decode_text(data).split("\n"), 1):
                line = raw.strip()
                if not line or line[0] == "#":
                    continue
                try:
                    value = kind.normalize(line)
                except InvalidSignal as exc:
                    rejects.append(reject(lineno, line, exc.message))
                    continue
                records.append((lineno, HashRecord(kind.name, value, extra=NO_EXTRA)))
        return ParseResult(records, rejects)

    def write_to(self, records: Iterable[HashRecord], stream: BinaryIO) -> None:
        name = self.signal_type.name
        batch: list[str] = []
        for record in records:
            if record.signal_type != name:
                continue  # a one-type list: other types' entries do not belong in it
            batch.append(f"{record.value}\n")
            if len(batch) >= _BATCH:
                stream.write("".join(batch).encode())
                batch.clear()
        if batch:
            stream.write("".join(batch).encode())

    def sniff(self, head: str) -> bool:
        return False  # a bare list says nothing of its type: name it, or its extension

    def supports(self, signal_type: SignalType) -> bool:
        return signal_type.exchange_name(self.name) is not None


def line_list_formats() -> tuple[LineListFormat, ...]:
    return (
        LineListFormat("urls", "URL list: one URL per line (IWF URL List style)", (".urls",)),
        LineListFormat(
            "urls-sha256",
            "hashed URL list: one SHA-256 hex digest per line",
            (".urls-sha256",),
        ),
        LineListFormat("keywords", "keyword list: one keyword or phrase per line", (".keywords",)),
    )
