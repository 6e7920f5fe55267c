"""CSV hash lists with a header row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from safespace.banks.formats import HashRecord, get_format, parse
from safespace.errors import ImportFormatError

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d35c785545392755e7e4164457657269"
SHA = "b5b0799616df52d475a3968dc7e54f1d0724c912244ffa6175bc786375dd7298"


def test_realistic_hotline_export(hexes) -> None:
    pdq, md5 = hexes(64), hexes(32)
    text = (
        "# Exported by an example hotline, benign test data\r\n"
        "Type,Hash,Source,Classification,Notes,Date Added,Case Ref\r\n"
        f'pdq,{pdq.upper()},Example Hotline,A,"reviewed, twice",2024-03-01T10:00:00Z,HX-1\r\n'
        "\r\n"
        f"MD5,{md5},Example Hotline,B,,2024-03-02,\r\n"
        f'sha256,{SHA},,C,"two\r\nlines",1709287200,HX-3\r\n'
    )
    result = parse(b"\xef\xbb\xbf" + text.encode(), "csv")
    assert result.rejects == []
    assert result.records == [
        (
            3,
            HashRecord(
                "pdq",
                pdq,
                source="Example Hotline",
                category="A",
                note="reviewed, twice",
                added_at=datetime(2024, 3, 1, 10, tzinfo=UTC),
                extra={"Case Ref": "HX-1"},
            ),
        ),
        (
            5,
            HashRecord(
                "md5",
                md5,
                source="Example Hotline",
                category="B",
                added_at=datetime(2024, 3, 2, tzinfo=UTC),
            ),
        ),
        (
            6,
            HashRecord(
                "sha256",
                SHA,
                category="C",
                note="two\nlines",
                added_at=datetime(2024, 3, 1, 10, tzinfo=UTC),
                extra={"Case Ref": "HX-3"},
            ),
        ),
    ]


def test_minimal_header_and_column_order() -> None:
    result = parse(f"hash,signal_type\n{MD5},md5\n".encode(), "csv")
    assert result.records == [(2, HashRecord("md5", MD5))]


def test_semicolon_and_tab_delimiters() -> None:
    semi = parse(f"signal_type;value;note\npdq;{PDQ};a, b\n".encode(), "csv")
    assert semi.records == [(2, HashRecord("pdq", PDQ, note="a, b"))]
    tab = parse(f"signal_type\tvalue\npdq\t{PDQ}\n".encode(), "csv")
    assert tab.records == [(2, HashRecord("pdq", PDQ))]


def test_every_rejection_has_its_line_and_reason() -> None:
    text = (
        "signal_type,value,added_at\n"  # 1
        f"pdq,{PDQ},\n"  # 2 ok
        f"sha1,{MD5},\n"  # 3 unknown type
        f"md5,{PDQ},\n"  # 4 wrong length
        f"pdq,{PDQ}\n"  # 5 too few columns
        f"pdq,{PDQ},,x\n"  # 6 too many columns
        f",{PDQ},\n"  # 7 missing type
        "pdq,,\n"  # 8 missing value
        f"pdq,{PDQ},31/12/2024\n"  # 9 bad date
        "# a comment\n"  # 10
        f"md5,{MD5},2024-02-30\n"  # 11 impossible date
        f'pdq,"{PDQ}\n'  # 12 unterminated quote
    )
    result = parse(text.encode(), "csv")
    assert [n for n, _ in result.records] == [2]
    by_line = {r.line: r.reason for r in result.rejects}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8, 9, 11, 12]
    assert "unknown signal type 'sha1'" in by_line[3]
    assert "32 hex digits" in by_line[4]
    assert by_line[5] == "expected 3 columns, got 2"
    assert by_line[6] == "expected 3 columns, got 4"
    assert by_line[7] == "missing signal_type"
    assert by_line[8] == "missing value"
    assert "bad date '31/12/2024'" in by_line[9]
    assert "bad date" in by_line[11]
    assert "never closed" in by_line[12]
    assert result.rejects[0].text == f"sha1,{MD5},"


def test_malformed_quoting_is_rejected_per_line() -> None:
    text = f'signal_type,value\n"bad,"x\npdq,"{PDQ}"x\npdq,{PDQ}\n'
    result = parse(text.encode(), "csv")
    assert result.records == [(4, HashRecord("pdq", PDQ))]
    assert [(r.line, r.text) for r in result.rejects] == [(2, '"bad,"x'), (3, f'pdq,"{PDQ}"x')]
    assert all("malformed CSV" in r.reason for r in result.rejects)


def test_default_signal_type_allows_a_value_only_csv() -> None:
    data = f"hash,note\n{SHA},x\n".encode()
    with pytest.raises(ImportFormatError, match="signal_type"):
        parse(data, "csv")
    result = parse(data, "csv", default_signal_type="sha256")
    assert result.records == [(2, HashRecord("sha256", SHA, note="x"))]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("signal_type,note", "'value'"),
        ("signal_type,hash,value", "two columns for 'value'"),
        ("signal_type,value,ref,ref", "repeats the column 'ref'"),
    ],
)
def test_unusable_header_is_whole_file_error(header: str, message: str) -> None:
    with pytest.raises(ImportFormatError, match=message):
        parse(f"{header}\npdq,{PDQ},x,y\n".encode(), "csv")


def test_header_only_and_empty_files() -> None:
    assert parse(b"signal_type,value\n", "csv").records == []
    empty = parse(b"# nothing here\n\n", "csv")
    assert empty.records == []
    assert empty.rejects == []


def test_write_full_header_and_round_trip() -> None:
    records = [
        HashRecord(
            "pdq",
            PDQ,
            source="NCMEC",
            category="A1",
            note='quote " and, comma',
            added_at=datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
            extra={"case": "7", "batch": "b1"},
        ),
        HashRecord("md5", MD5, extra={"batch": "b2"}),
    ]
    fmt = get_format("csv")
    out = fmt.write(records)
    header = out.split(b"\r\n", 1)[0]
    assert header == b"signal_type,value,source,category,note,added_at,batch,case"
    assert [r for _, r in fmt.parse(out).records] == records


def test_extra_keys_that_would_read_back_as_standard_columns_are_left_out() -> None:
    out = get_format("csv").write([HashRecord("md5", MD5, extra={"Hash": "x", "ok": "y"})])
    assert out.split(b"\r\n", 1)[0] == b"signal_type,value,source,category,note,added_at,ok"


def test_not_utf8_is_whole_file_error() -> None:
    with pytest.raises(ImportFormatError, match="UTF-8"):
        parse(b"signal_type,value\npdq,\xe9\n", "csv")
