"""StopNCII.org hash-exchange FetchHashes pages (JSON).

A page is ``{"count", "nextPageToken", "nextSetTimestamp", "hasMoreRecords", "hashRecords"}``
and each hash record carries ``hashValue``, ``signalType`` (``ImagePDQ``, ``VideoMD5``...),
``lastModtimestamp`` (Unix seconds), ``hashStatus``, ``caseNumbers`` and ``CSPFeedbacks``.
Accepted input: one page, a JSON array of pages, JSON lines of pages, or a bare array of
hash records. Positions are the 1-based index of the hash record in the whole document.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO

from safespace.errors import ImportFormatError, Reject
from safespace.signals import SIGNAL_TYPES, get_signal_type

from ._base import (
    HashRecord,
    ParseResult,
    TextFormat,
    Withdrawal,
    check_signal,
    decode_text,
    gc_paused,
    has_lone_surrogate,
    parse_datetime,
    reject,
)

__all__ = ["STOPNCII_SOURCE", "StopNciiFormat"]

STOPNCII_SOURCE = "StopNCII"
FORMAT_NAME = "stopncii"


def _fold(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


# StopNCII signalType (lower-cased, '_' and '-' removed) -> SafeSpace signal type, and the
# spelling written, both from each type's ``exchange_names["stopncii"]`` and read aliases.
_SIGNAL_TYPES = {
    _fold(n): kind.name
    for kind in SIGNAL_TYPES.values()
    if kind.exchange_name(FORMAT_NAME) is not None
    for n in (
        kind.exchange_name(FORMAT_NAME) or "",
        kind.name,
        *kind.aliases,
        *kind.exchange_aliases.get(FORMAT_NAME, ()),
    )
}
_WRITE_TYPES = {
    kind.name: wire
    for kind in SIGNAL_TYPES.values()
    if (wire := kind.exchange_name(FORMAT_NAME)) is not None
}
_READ_HELP = ", ".join(_WRITE_TYPES.values())
_WITHDRAWN = frozenset({"withdrawn", "deleted"})

# Field-name variants, compared lower-cased.
_VALUE_KEYS = ("hashvalue", "hash_value", "hash", "value")
_TYPE_KEYS = ("signaltype", "signal_type", "hashtype", "type")
_TIME_KEYS = ("lastmodtimestamp", "last_mod_timestamp", "lastmodifiedtimestamp", "timestamp")
_STATUS_KEYS = ("hashstatus", "hash_status")
_RECORDS_KEYS = ("hashrecords", "hash_records", "records")
# SafeSpace extension keys, so a bank exported as StopNCII JSON keeps its own metadata.
_OWN_KEYS = ("source", "category", "note")
_CONSUMED = frozenset(_VALUE_KEYS + _TYPE_KEYS + _TIME_KEYS + _OWN_KEYS)
# Extra fields whose JSON structure is restored on write.
_STRUCTURED = frozenset({"caseNumbers", "CSPFeedbacks", "hashRegions"})
# A JSON escape that decodes to half a surrogate pair (\ud800-\udfff): only then can a
# parsed string hold a lone surrogate (strict decoding of the bytes lets none through).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


class StopNciiFormat(TextFormat):
    """StopNCII FetchHashes JSON: ImagePDQ and VideoMD5 records; withdrawn hashes set apart."""

    name = FORMAT_NAME
    description = "StopNCII.org FetchHashes JSON pages (one page, an array, or JSON lines)"
    extensions = (".json", ".jsonl", ".ndjson")

    def parse(self, data: bytes, *, default_signal_type: str | None = None) -> ParseResult:
        if default_signal_type is not None:
            get_signal_type(default_signal_type)
        with gc_paused():
            return self._parse(data, default_signal_type)

    def _parse(self, data: bytes, default_signal_type: str | None) -> ParseResult:
        records: list[tuple[int, HashRecord]] = []
        rejects: list[Reject] = []
        withdrawn: list[Withdrawal] = []
        text = decode_text(data)
        values, huge_numbers = _load(text)
        # Rare: only then is every record walked for what cannot be stored.
        suspect = huge_numbers or _SURROGATE_ESCAPE.search(text) is not None
        for index, item in enumerate(_hash_records(values), 1):
            outcome = (suspect and _unstorable(item)) or _record(item, default_signal_type)
            if isinstance(outcome, str):
                rejects.append(reject(index, _compact(item), outcome))
                continue
            status = outcome.extra.get("hashStatus", "")
            if status.lower() in _WITHDRAWN:
                withdrawn.append(
                    Withdrawal(index, outcome, {}, f"hashStatus is {status}: remove, never match")
                )
            else:
                records.append((index, outcome))
        return ParseResult(records, rejects, withdrawn)

    def write_to(self, records: Iterable[HashRecord], stream: BinaryIO) -> None:
        """One page, one hash record per line; page totals follow the records (streamed)."""
        stream.write(b'{"hashRecords": [')
        count = 0
        latest = 0
        for record in records:
            item = _to_json(record)
            latest = max(latest, int(item.get("lastModtimestamp", 0)))
            stream.write((",\n" if count else "\n").encode())
            stream.write(json.dumps(item, ensure_ascii=False).encode())
            count += 1
        tail = {
            "count": count,
            "nextPageToken": "",
            "nextSetTimestamp": latest,
            "hasMoreRecords": False,
        }
        stream.write(b"\n], " + json.dumps(tail)[1:].encode() + b"\n")

    def sniff(self, head: str) -> bool:
        """Any JSON document: this is the only JSON format."""
        return head.lstrip()[:1] in ("{", "[")


def _compact(item: object) -> str:
    try:
        return json.dumps(item, ensure_ascii=False, separators=(",", ":"), default=str)
    except RecursionError:
        return "(nested too deeply to show)"


class _HugeNumber:
    """An integer literal too long for Python to read (over ``sys.get_int_max_str_digits``)."""

    __slots__ = ("digits",)

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("-"))

    def __str__(self) -> str:
        return f"<a number of {self.digits} digits>"

    __repr__ = __str__


def _read_int(text: str) -> int | _HugeNumber:
    limit = sys.get_int_max_str_digits()
    if limit and len(text.lstrip("-")) > limit:
        return _HugeNumber(text)
    return int(text)


def _loads(text: str, huge: bool) -> Any:
    """One JSON value; with ``huge``, over-long integers become :class:`_HugeNumber`."""
    return json.loads(text, parse_int=_read_int) if huge else json.loads(text)


def _load(text: str) -> tuple[list[Any], bool]:
    """The document's top-level JSON values (one, or one per line for JSON lines), and
    whether any integer in it was too long to read (each is then a :class:`_HugeNumber`).

    Python refuses to read integers of more than 4,300 digits (a ValueError, not a JSON
    error); such a document is read again, slower, keeping those numbers as markers, so
    only the records holding one are rejected.
    """
    try:
        return _load_values(text, huge=False), False
    except ImportFormatError:
        raise
    except ValueError:  # an integer over the digit limit (JSONDecodeError is caught inside)
        return _load_values(text, huge=True), True


def _load_values(text: str, *, huge: bool) -> list[Any]:
    if not text.strip():
        return []
    try:
        return [_loads(text, huge)]
    except RecursionError:
        raise ImportFormatError("JSON is nested too deeply to be a StopNCII page") from None
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise ImportFormatError(
                f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
    values = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            values.append(_loads(line, huge))
        except RecursionError:
            raise ImportFormatError(f"line {lineno}: JSON nested too deeply") from None
        except json.JSONDecodeError as exc:
            raise ImportFormatError(
                f"not valid JSON lines: line {lineno} column {exc.colno}: {exc.msg}"
            ) from None
    return values


def _unstorable(item: Any) -> str | None:
    """Why a hash record cannot be stored as it is, or None: a lone surrogate in any of its
    text (keys included), or a number too long to read. Walks nested values without
    recursion, so the deepest JSON that parsed cannot overflow the stack here."""
    if not isinstance(item, dict):
        return None
    for top, value in item.items():
        where = f"field {top!r}"
        if isinstance(top, str) and has_lone_surrogate(top):
            return f"{where}: its name holds a lone surrogate escape, which is not valid Unicode"
        stack = [value]
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                if has_lone_surrogate(node):
                    return (
                        f"{where}: text holds a lone surrogate escape (such as \\udfff), "
                        "which is not valid Unicode"
                    )
            elif isinstance(node, _HugeNumber):
                return f"{where}: a number of {node.digits} digits is too long to read"
            elif isinstance(node, dict):
                stack.extend(node.keys())
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
    return None


def _lower_keys(obj: Mapping[str, Any]) -> dict[str, str]:
    return {k.lower(): k for k in obj}


def _find(obj: Mapping[str, Any], lowered: Mapping[str, str], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in lowered:
            return obj[lowered[key]]
    return None


def _records_of(page: Mapping[str, Any]) -> list[Any] | None:
    found = _find(page, _lower_keys(page), _RECORDS_KEYS)
    return found if isinstance(found, list) else None


def _looks_like_record(obj: object) -> bool:
    return isinstance(obj, dict) and any(k.lower() in _VALUE_KEYS for k in obj)


def _hash_records(values: list[Any]) -> Iterable[Any]:
    """Every hash-record object in the document's values, in order, whatever the layout."""
    if len(values) == 1 and isinstance(values[0], list):
        values = values[0]
        if values and all(_looks_like_record(v) for v in values):
            yield from values
            return
    for n, page in enumerate(values, 1):
        if isinstance(page, dict):
            items = _records_of(page)
            if items is not None:
                yield from items
                continue
            if _looks_like_record(page):
                yield page
                continue
        raise ImportFormatError(
            f"page {n} is not a StopNCII FetchHashes page (no 'hashRecords' list)"
        )


def _record(item: Any, default_signal_type: str | None) -> HashRecord | str:
    """The hash record as a HashRecord, or why it cannot be one."""
    if not isinstance(item, dict):
        return "hash record is not a JSON object"
    lowered = _lower_keys(item)
    value = _find(item, lowered, _VALUE_KEYS)
    if not isinstance(value, str) or not value.strip():
        return "missing or non-text hashValue"
    raw_type = _find(item, lowered, _TYPE_KEYS)
    if raw_type is None:
        if default_signal_type is None:
            return "missing signalType"
        signal_type = default_signal_type
    elif not isinstance(raw_type, str):
        return "signalType must be text"
    else:
        key = raw_type.lower().replace("_", "").replace("-", "")
        if key not in _SIGNAL_TYPES:
            return f"unsupported StopNCII signalType {raw_type!r} (SafeSpace reads {_READ_HELP})"
        signal_type = _SIGNAL_TYPES[key]
    checked = check_signal(signal_type, value)
    if isinstance(checked, str):
        return checked
    added_at: datetime | None = None
    stamp = _find(item, lowered, _TIME_KEYS)
    if stamp is not None:
        parsed = _timestamp(stamp)
        if isinstance(parsed, str):
            return parsed
        added_at = parsed
    own: dict[str, str | None] = {}
    for key in _OWN_KEYS:
        if key in lowered:
            field_value = item[lowered[key]]
            if field_value is not None and not isinstance(field_value, str):
                return f"{key} must be text"
            own[key] = field_value or None
    extra = {
        k: v if isinstance(v, str) else _compact(v)
        for k, v in item.items()
        if k.lower() not in _CONSUMED
    }
    return HashRecord(
        checked[0],
        checked[1],
        source=own.get("source", STOPNCII_SOURCE),
        category=own.get("category"),
        note=own.get("note"),
        added_at=added_at,
        extra=extra,
    )


def _timestamp(stamp: Any) -> datetime | str:
    if isinstance(stamp, bool):
        return "lastModtimestamp must be a number of seconds"
    if isinstance(stamp, int | float):
        try:
            return datetime.fromtimestamp(stamp, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return f"lastModtimestamp out of range: {stamp!r}"
    if isinstance(stamp, str):
        try:
            return parse_datetime(stamp)
        except ValueError as exc:
            return str(exc)
    return "lastModtimestamp must be a number of seconds"


def _to_json(record: HashRecord) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if record.added_at is not None:
        item["lastModtimestamp"] = math.floor(record.added_at.timestamp())
    item["signalType"] = _WRITE_TYPES.get(record.signal_type, record.signal_type)
    item["hashValue"] = record.value
    for key, value in record.extra.items():
        if key.lower() in _CONSUMED or key.lower() in _RECORDS_KEYS:
            continue
        if key in _STRUCTURED:
            try:
                item[key] = json.loads(value)
                continue
            except ValueError:
                pass
        item[key] = value
    if record.source != STOPNCII_SOURCE:
        item["source"] = record.source
    if record.category is not None:
        item["category"] = record.category
    if record.note is not None:
        item["note"] = record.note
    return item
