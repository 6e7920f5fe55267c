"""HMA / python-threatexchange local file format."""

from __future__ import annotations

import pytest

from safespace.banks.formats import FORMATS, HashRecord, get_format, parse
from safespace.banks.formats._hma import HmaFormat
from safespace.errors import ImportFormatError, InvalidSignal

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "0123456789abcdef0123456789abcdef"
SHA = "b5b0799616df52d475a3968dc7e54f1d0724c912244ffa6175bc786375dd7298"


def test_typed_and_bare_lines() -> None:
    data = f"pdq {PDQ}\nvideo_md5 {MD5.upper()}\n{PDQ}\n{MD5}\nsha256\t{SHA}\n".encode()
    result = parse(data, "hma")
    assert result.rejects == []
    assert result.records == [
        (1, HashRecord("pdq", PDQ)),
        (2, HashRecord("md5", MD5)),
        (3, HashRecord("pdq", PDQ)),
        (4, HashRecord("md5", MD5)),
        (5, HashRecord("sha256", SHA)),
    ]


def test_realistic_document_with_comments_bom_crlf(hexes) -> None:
    pdqs = [hexes(64) for _ in range(3)]
    md5 = hexes(32)
    text = (
        "# PDQ list exported 2024-05-01\r\n"
        "\r\n"
        f"pdq {pdqs[0]}\r\n"
        f"  pdq   {pdqs[1]}  \r\n"
        "   # indented comment\r\n"
        f"photo_md5 {md5}\r\n"
        f"0x{pdqs[2].upper()}\r\n"
    )
    result = parse(b"\xef\xbb\xbf" + text.encode(), "hma")
    assert result.rejects == []
    assert result.records == [
        (3, HashRecord("pdq", pdqs[0])),
        (4, HashRecord("pdq", pdqs[1])),
        (6, HashRecord("md5", md5)),
        (7, HashRecord("pdq", pdqs[2])),
    ]


def test_every_rejection_has_its_line_and_reason() -> None:
    data = (
        f"pdq {PDQ}\n"  # 1 ok
        "tlsh https://example.org/\n"  # 2 unknown type
        f"pdq {MD5}\n"  # 3 wrong length for the type
        f"md5 {'g' * 32}\n"  # 4 not hex
        "abc\n"  # 5 bare, unknown length
        f"pdq {PDQ} extra\n"  # 6 too many fields
        f"{PDQ}\n"  # 7 ok
    ).encode()
    result = parse(data, "hma")
    assert [n for n, _ in result.records] == [1, 7]
    by_line = {r.line: r for r in result.rejects}
    assert sorted(by_line) == [2, 3, 4, 5, 6]
    assert "unknown signal type 'tlsh'" in by_line[2].reason
    assert "64 hex digits" in by_line[3].reason
    assert "hexadecimal" in by_line[4].reason
    assert "cannot tell its signal type" in by_line[5].reason
    assert "got 3 fields" in by_line[6].reason
    assert by_line[2].text == "tlsh https://example.org/"


def test_bare_64_hex_is_pdq_unless_a_default_is_given() -> None:
    assert parse(PDQ.encode(), "hma").records == [(1, HashRecord("pdq", PDQ))]
    as_sha = parse(f"{SHA}\npdq {PDQ}\n".encode(), "hma", default_signal_type="sha256")
    assert as_sha.records == [(1, HashRecord("sha256", SHA)), (2, HashRecord("pdq", PDQ))]
    # With a default, every bare hash is that type: a 32-hex MD5 is then a bad SHA-256.
    wrong = parse(MD5.encode(), "hma", default_signal_type="sha256")
    assert wrong.records == []
    assert "64 hex digits" in wrong.rejects[0].reason


def test_unknown_default_signal_type_is_the_callers_error() -> None:
    with pytest.raises(InvalidSignal):
        parse(PDQ.encode(), "hma", default_signal_type="sha1")


def test_duplicates_are_kept() -> None:
    result = parse(f"pdq {PDQ}\npdq {PDQ.upper()}\n".encode(), "hma")
    assert [r for _, r in result.records] == [HashRecord("pdq", PDQ)] * 2


def test_write_and_round_trip() -> None:
    records = [
        HashRecord("pdq", PDQ, source="x", note="dropped"),
        HashRecord("md5", MD5),
        HashRecord("sha256", SHA),
    ]
    fmt = get_format("hma")
    out = fmt.write(records)
    # python-threatexchange's names, so its local-file reader keeps every line
    assert out == f"pdq {PDQ}\nvideo_md5 {MD5}\nvideo_sha256 {SHA}\n".encode()
    # HMA carries only type and value: everything else is lossy by design.
    assert [r for _, r in fmt.parse(out).records] == [
        HashRecord("pdq", PDQ),
        HashRecord("md5", MD5),
        HashRecord("sha256", SHA),
    ]


def test_threatexchange_md5_spelling_by_default() -> None:
    out = HmaFormat().write([HashRecord("md5", MD5)])
    assert out == f"video_md5 {MD5}\n".encode()
    assert parse(out, "hma").records == [(1, HashRecord("md5", MD5))]
    own = HmaFormat(threatexchange_names=False).write([HashRecord("md5", MD5)])
    assert own == f"md5 {MD5}\n".encode()
    assert parse(own, "hma").records == [(1, HashRecord("md5", MD5))]


def test_empty_and_comment_only_files_give_nothing() -> None:
    assert parse(b"", "hma").records == []
    result = parse(b"# nothing\n\n   \n", "hma")
    assert result.records == []
    assert result.rejects == []
    assert FORMATS["hma"].write([]) == b""


def test_utf16_with_bom_is_read() -> None:
    data = f"pdq {PDQ}\r\n".encode("utf-16")
    assert parse(data, "hma").records == [(1, HashRecord("pdq", PDQ))]


def test_not_utf8_is_whole_file_error() -> None:
    with pytest.raises(ImportFormatError, match="UTF-8"):
        FORMATS["hma"].parse(b"pdq \xff\xfe\xfa\n")


def test_long_bad_line_is_clipped_in_the_reject() -> None:
    result = parse(b"x" * 10_000, "hma")
    assert len(result.rejects[0].text) <= 201
