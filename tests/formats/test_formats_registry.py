"""The format registry, detection, the top-level parse, and shared helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from safespace.banks import formats
from safespace.banks.formats import FORMATS, HashListFormat, HashRecord, detect_format, get_format
from safespace.banks.formats._base import format_datetime, parse_datetime
from safespace.errors import ImportFormatError, InvalidInput, InvalidSignal

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d35c785545392755e7e4164457657269"


def test_registry_holds_the_formats() -> None:
    assert list(FORMATS) == [
        "hma", "csv", "stopncii", "ncmec", "urls", "urls-sha256", "keywords"
    ]  # fmt: skip
    for name, fmt in FORMATS.items():
        assert isinstance(fmt, HashListFormat)
        assert fmt.name == name
        assert fmt.description
        assert fmt.extensions
    with pytest.raises(TypeError):
        FORMATS["x"] = FORMATS["hma"]  # type: ignore[index]


def test_get_format_is_case_insensitive_and_lists_names_when_unknown() -> None:
    assert get_format(" CSV ") is FORMATS["csv"]
    with pytest.raises(InvalidInput, match="hma, csv, stopncii, ncmec"):
        get_format("photodna")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (f"pdq {PDQ}\n".encode(), "hma"),
        (f"# list\n\n{PDQ}\n".encode(), "hma"),
        (f"\ufeff{MD5}\r\n".encode(), "hma"),
        (f"signal_type,value\npdq,{PDQ}\n".encode(), "csv"),
        (f"# c\nType;Hash\npdq;{PDQ}\n".encode(), "csv"),
        (f"pdq {PDQ}\r\n".encode("utf-16"), "hma"),
        (b'  {"hashRecords": []}', "stopncii"),
        (b'[{"hashValue": "x"}]', "stopncii"),
        (b'<?xml version="1.0"?><queryResult/>', "ncmec"),
    ],
)
def test_detect_by_content(data: bytes, expected: str) -> None:
    assert detect_format(data, filename="misleading.xml").name == expected


@pytest.mark.parametrize(
    ("filename", "expected"),
    [("list.TXT", "hma"), ("x.csv", "csv"), ("p.jsonl", "stopncii"), ("a.b.xml", "ncmec")],
)
def test_detect_falls_back_to_the_extension(filename: str, expected: str) -> None:
    assert detect_format(b"???", filename=filename).name == expected


def test_detect_cannot_tell() -> None:
    with pytest.raises(ImportFormatError, match=r"cannot tell the hash-list format of 'x\.bin'"):
        detect_format(b"\x00\x01 binary", filename="x.bin")
    with pytest.raises(InvalidInput, match="name one of: hma, csv, stopncii, ncmec"):
        detect_format(b"")


def test_parse_detects_or_uses_the_named_format() -> None:
    data = f"signal_type,value\npdq,{PDQ}\n".encode()
    assert formats.parse(data).records == [(2, HashRecord("pdq", PDQ))]
    # Named explicitly as HMA, the header line is a bad line, not a CSV header.
    as_hma = formats.parse(data, "hma")
    assert [r.line for r in as_hma.rejects] == [1, 2]
    as_hma_sha = formats.parse(f"{PDQ}\n".encode(), "hma", default_signal_type="sha256")
    assert as_hma_sha.records == [(1, HashRecord("sha256", PDQ))]


def test_hash_record_of_normalises_or_raises() -> None:
    assert HashRecord.of("photo_pdq", " 0x" + PDQ.upper(), note="n") == HashRecord(
        "pdq", PDQ, note="n"
    )
    with pytest.raises(InvalidSignal):
        HashRecord.of("md5", "xyz")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00.250z", datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01 10:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("1714557600", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("1714557600.5", datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_parse_datetime_accepts(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.tzinfo == UTC


@pytest.mark.parametrize("text", ["", "tomorrow", "01/05/2024", "2024-13-01", "1e400"])
def test_parse_datetime_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"date|epoch"):
        parse_datetime(text)


def test_format_datetime_is_utc_with_z() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert format_datetime(datetime(2024, 5, 1, 12, tzinfo=plus2)) == "2024-05-01T10:00:00Z"
    assert format_datetime(datetime(2024, 5, 1)) == "2024-05-01T00:00:00Z"


@pytest.mark.parametrize("name", ["hma", "csv", "stopncii", "ncmec"])
def test_parsers_leave_the_garbage_collector_as_they_found_it(name: str) -> None:
    import gc

    assert gc.isenabled()
    FORMATS[name].write([HashRecord("pdq", PDQ)])
    FORMATS[name].parse(FORMATS[name].write([HashRecord("pdq", PDQ)]))
    assert gc.isenabled()
    with pytest.raises(ImportFormatError):
        FORMATS[name].parse(b"\xff\xfe\x00\xd8" if name != "ncmec" else b"<a")
    assert gc.isenabled()
