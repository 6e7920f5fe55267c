"""HMA / python-threatexchange local file format."""

from __future__ import annotations

import pytest

from safespace.banks.formats import FORMATS, HashRecord, get_format, parse
from safespace.errors import ImportFormatError

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "0123456789abcdef0123456789abcdef"


def test_typed_and_bare_lines() -> None:
    data = f"pdq {PDQ}\nvideo_md5 {MD5.upper()}\n{PDQ}\n{MD5}\n".encode()
    result = parse(data, "hma")
    assert result.rejects == []
    assert result.records == [
        (1, HashRecord("pdq", PDQ)),
        (2, HashRecord("md5", MD5)),
        (3, HashRecord("pdq", PDQ)),
        (4, HashRecord("md5", MD5)),
    ]


def test_round_trip() -> None:
    records = [HashRecord("pdq", PDQ), HashRecord("md5", MD5), HashRecord("sha256", PDQ)]
    fmt = get_format("hma")
    assert [r for _, r in fmt.parse(fmt.write(records)).records] == records


def test_not_utf8_is_whole_file_error() -> None:
    with pytest.raises(ImportFormatError, match="UTF-8"):
        FORMATS["hma"].parse(b"pdq \xff\xfe\xfa\n")
