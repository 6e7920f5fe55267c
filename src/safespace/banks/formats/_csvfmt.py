"""CSV hash lists with a header row: the format spreadsheets and hotline exports end up in."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from safespace.errors import ImportFormatError, Reject
from safespace.signals import SignalType, get_signal_type

from ._base import (
    NO_EXTRA,
    HashRecord,
    ParseResult,
    TextFormat,
    check_signal,
    decode_text,
    format_datetime,
    gc_paused,
    optional_text,
    parse_datetime,
    reject,
)

__all__ = ["COLUMNS", "CsvFormat"]

COLUMNS = ("signal_type", "value", "source", "category", "note", "added_at")

# Header spellings (after lower-casing, trimming, and ' '/'-' -> '_') for each field.
_ALIASES: dict[str, str] = {
    **dict.fromkeys(("signal_type", "type", "signaltype", "hash_type", "algorithm"), "signal_type"),
    **dict.fromkeys(("value", "hash", "hash_value", "hashvalue", "signal_value"), "value"),
    **dict.fromkeys(("source", "supplier", "provider", "origin"), "source"),
    **dict.fromkeys(("category", "classification"), "category"),
    **dict.fromkeys(("note", "notes", "comment", "comments", "description"), "note"),
    **dict.fromkeys(
        ("added_at", "added", "date", "date_added", "created", "created_at", "timestamp"),
        "added_at",
    ),
}

_FLUSH_ROWS = 4096


def _header_key(cell: str) -> str:
    return cell.strip().lower().replace(" ", "_").replace("-", "_")


def _delimiter(header: str) -> str:
    """Comma unless the header line plainly uses tabs or semicolons (spreadsheet exports)."""
    counts = {d: header.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class CsvFormat(TextFormat):
    """Header row required; ``value`` (or ``hash``) and ``signal_type`` (or ``type``) columns."""

    name = "csv"
    description = "CSV with a header row: signal_type,value[,source,category,note,added_at,...]"
    extensions = (".csv", ".tsv")

    def supports(self, signal_type: SignalType) -> bool:
        return True  # any type, under its name

    def parse(self, data: bytes, *, default_signal_type: str | None = None) -> ParseResult:
        with gc_paused():
            return self._parse(decode_text(data), default_signal_type)

    def _parse(self, text: str, default_signal_type: str | None) -> ParseResult:
        if default_signal_type is not None:
            get_signal_type(default_signal_type)  # a bad default is the caller's error
        source_lines = text.split("\n")
        numbers: list[int] = []
        lines = _content_lines(source_lines, numbers)
        first = next(lines, None)
        if first is None:
            return ParseResult([], [])
        lines = _chain(first, lines)
        reader = csv.reader(lines, delimiter=_delimiter(first), strict=True)
        try:
            header = next(reader)
        except csv.Error as exc:
            raise ImportFormatError(
                f"line {numbers[0]}: malformed CSV header: {_csv_problem(exc)}"
            ) from None
        fields, extras = _read_header(header, numbers[0], default_signal_type is not None)
        width = len(header)

        records: list[tuple[int, HashRecord]] = []
        rejects: list[Reject] = []
        consumed = reader.line_num
        while True:
            try:
                row = next(reader)
                error = None
            except StopIteration:
                break
            except csv.Error as exc:
                error = f"malformed CSV: {_csv_problem(exc)}"
            # The row began at the first line pulled since the previous row.
            lineno = numbers[min(consumed, len(numbers) - 1)]
            raw = source_lines[lineno - 1].rstrip("\r")
            consumed = reader.line_num
            if error is not None:
                rejects.append(reject(lineno, raw, error))
                continue
            if len(row) != width:
                rejects.append(reject(lineno, raw, f"expected {width} columns, got {len(row)}"))
                continue
            outcome = _row_record(row, fields, extras, default_signal_type)
            if isinstance(outcome, str):
                rejects.append(reject(lineno, raw, outcome))
            else:
                records.append((lineno, outcome))
        return ParseResult(records, rejects)

    def write_to(self, records: Iterable[HashRecord], stream: BinaryIO) -> None:
        """Write the full header, then one row per record.

        Extra keys become extra columns (sorted); the records are held in memory to learn
        them. An extra key that would read back as a standard column is left out.
        """
        rows = list(records)
        extra_keys = sorted(
            {k for r in rows for k in r.extra if k.strip() and _header_key(k) not in _ALIASES}
        )
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow([*COLUMNS, *extra_keys])
        for n, r in enumerate(rows, 1):
            writer.writerow(
                [
                    r.signal_type,
                    r.value,
                    r.source or "",
                    r.category or "",
                    r.note or "",
                    format_datetime(r.added_at) if r.added_at else "",
                    *(r.extra.get(k, "") for k in extra_keys),
                ]
            )
            if n % _FLUSH_ROWS == 0:
                stream.write(buf.getvalue().encode())
                buf.seek(0)
                buf.truncate()
        stream.write(buf.getvalue().encode())

    def sniff(self, head: str) -> bool:
        """A CSV if the first meaningful line is a header naming a value/hash column."""
        first = next(_content_lines(head.split("\n"), []), None)
        if first is None:
            return False
        delimiter = _delimiter(first)
        if delimiter not in first:
            return False
        try:
            cells = next(csv.reader([first], delimiter=delimiter), [])
        except csv.Error:  # parse() says what is wrong with it (a bare CR, say)
            cells = [c for part in first.split("\r") for c in part.split(delimiter)]
        return any(_ALIASES.get(_header_key(c)) == "value" for c in cells)


def _csv_problem(exc: csv.Error) -> str:
    """The csv module's complaint in words for the person who made the file."""
    text = str(exc)
    if text.startswith("new-line character seen in unquoted field"):
        return (
            "a bare carriage return (CR) inside a line; save the file with LF or CRLF line endings"
        )
    if "end of data" in text:
        return f"{text} (a quote opened on this line is never closed)"
    return text


def _content_lines(lines: list[str], numbers: list[int]) -> Iterator[str]:
    """Lines for the csv reader, skipping blanks and ``#`` comments outside quoted fields.

    ``numbers[i]`` receives the 1-based input line of the i-th line yielded, so rows can be
    reported by their real line even after skipped lines.
    """
    inside_quotes = False
    for lineno, raw in enumerate(lines, 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not inside_quotes:
            stripped = line.strip()
            if not stripped or stripped[0] == "#":
                continue
        numbers.append(lineno)
        yield line + "\n"
        if line.count('"') % 2:
            inside_quotes = not inside_quotes


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _read_header(
    header: list[str], lineno: int, has_default: bool
) -> tuple[dict[str, int], dict[str, int]]:
    """Map standard fields and extra columns to their indexes; refuse unusable headers."""
    fields: dict[str, int] = {}
    extras: dict[str, int] = {}
    for i, cell in enumerate(header):
        name = cell.strip()
        field = _ALIASES.get(_header_key(name))
        if field is not None:
            if field in fields:
                raise ImportFormatError(
                    f"line {lineno}: CSV header has two columns for {field!r} "
                    f"({header[fields[field]].strip()!r} and {name!r})"
                )
            fields[field] = i
            continue
        key = name or f"column_{i + 1}"
        if key in extras:
            raise ImportFormatError(f"line {lineno}: CSV header repeats the column {key!r}")
        extras[key] = i
    if "value" not in fields:
        raise ImportFormatError(
            f"line {lineno}: CSV header must name a 'value' (or 'hash') column; "
            f"got {','.join(header)[:120]!r}"
        )
    if "signal_type" not in fields and not has_default:
        raise ImportFormatError(
            f"line {lineno}: CSV header must name a 'signal_type' (or 'type') column, "
            "or a default signal type must be given"
        )
    return fields, extras


def _row_record(
    row: list[str],
    fields: dict[str, int],
    extras: dict[str, int],
    default_signal_type: str | None,
) -> HashRecord | str:
    """The row as a record, or the reason it cannot be one."""

    def cell(field: str) -> str | None:
        i = fields.get(field)
        return None if i is None else optional_text(row[i])

    signal_type = cell("signal_type") or default_signal_type
    value = cell("value")
    if signal_type is None:
        return "missing signal_type"
    if value is None:
        return "missing value"
    if "\n" in value or "\n" in signal_type:
        return "hash field spans several lines (an unbalanced quote?)"
    checked = check_signal(signal_type, value)
    if isinstance(checked, str):
        return checked
    added = cell("added_at")
    try:
        added_at = parse_datetime(added) if added else None
    except ValueError as exc:
        return str(exc)
    extra = {k: v for k, i in extras.items() if (v := row[i].strip())} or NO_EXTRA
    return HashRecord(
        checked[0],
        checked[1],
        source=cell("source"),
        category=cell("category"),
        note=cell("note"),
        added_at=added_at,
        extra=extra,
    )
