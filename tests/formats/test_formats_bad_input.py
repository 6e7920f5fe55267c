"""Hostile or broken hash-list files: a rejected line or ImportFormatError, never a crash.

Every parser either returns a result whose every string can be stored (encoded as UTF-8:
no lone surrogates) or raises :class:`ImportFormatError`; any other exception would be a
500 from the API and a traceback from the CLI. Hypothesis fuzzes each format with arbitrary
bytes and text besides the named cases.
"""

from __future__ import annotations

import sys
from dataclasses import fields

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from safespace.banks.formats import FORMATS, HashRecord, ParseResult, parse
from safespace.errors import ImportFormatError

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d35c785545392755e7e4164457657269"
HUGE = "9" * (sys.get_int_max_str_digits() + 700)  # over Python's int-from-text limit


def _texts(record: HashRecord) -> list[str]:
    found = [getattr(record, f.name) for f in fields(record)]
    return [v for v in found if isinstance(v, str)] + [*record.extra.keys(), *record.extra.values()]


def storable(result: ParseResult) -> None:
    """Every string in the result encodes as UTF-8 (what the database and JSON need)."""
    strings: list[str] = []
    for _, record in result.records:
        strings += _texts(record)
    for reject in result.rejects:
        strings += [reject.text, reject.reason]
    for w in result.withdrawn:
        strings += [w.reason, *w.ref.keys(), *w.ref.values()]
        if w.record is not None:
            strings += _texts(w.record)
    for text in strings:
        text.encode("utf-8")


def outcome(data: bytes, fmt: str | None) -> ParseResult | ImportFormatError:
    try:
        result = parse(data, fmt)
    except ImportFormatError as exc:
        error = exc
    else:
        storable(result)
        return result
    error.message.encode("utf-8")
    assert "\n" not in error.message  # one line for the CLI
    for reject in error.rejects:
        (reject.text + reject.reason).encode("utf-8")
    return error


# --- StopNCII JSON ------------------------------------------------------------------------


def _rec(fields: str = "", value: str = PDQ, kind: str = "ImagePDQ") -> str:
    """One hash record as JSON text; ``fields`` is more raw JSON members (with escapes)."""
    more = f", {fields}" if fields else ""
    return f'{{"hashValue": "{value}", "signalType": "{kind}"{more}}}'


def _page(record: str) -> bytes:
    return f'{{"hashRecords": [{record}, {_rec()}]}}'.encode()


@pytest.mark.parametrize("field", ["lastModtimestamp", "caseNumbers", "hashRegions"])
def test_stopncii_integer_over_the_digit_limit_is_a_rejected_record(field: str) -> None:
    result = outcome(_page(_rec(f'"{field}": {HUGE}')), "stopncii")
    assert isinstance(result, ParseResult)
    assert [line for line, _ in result.records] == [2]
    [reject] = result.rejects
    assert reject.line == 1
    assert f"{len(HUGE)} digits" in reject.reason


def test_stopncii_huge_integer_in_json_lines_and_page_fields() -> None:
    huge_extra = _rec(f'"x": [{HUGE}]', MD5, "VideoMD5")
    lines = (
        f'{{"count": {HUGE}, "hashRecords": [{_rec()}]}}\n{{"hashRecords": [{huge_extra}]}}\n'
    ).encode()
    result = outcome(lines, "stopncii")
    assert isinstance(result, ParseResult)
    assert [line for line, _ in result.records] == [1]  # a page's own count is never stored
    assert [r.line for r in result.rejects] == [2]


@pytest.mark.parametrize(
    "record",
    [
        _rec('"note": "a\\udfffb"'),
        _rec('"source": "\\ud800"'),
        _rec('"category": "\\uDBFF"'),
        _rec('"caseNumbers": {"k": ["\\udc00"]}'),
        _rec('"x\\udfff": "y"'),
        _rec('"hashStatus": "\\udfff"'),
        _rec(value="\\udfff" + PDQ),
        _rec(kind="Image\\udfffPDQ"),
    ],
)
def test_stopncii_lone_surrogate_is_a_rejected_record(record: str) -> None:
    result = outcome(_page(record), "stopncii")
    assert isinstance(result, ParseResult)
    assert [line for line, _ in result.records] == [2]
    [reject] = result.rejects
    assert reject.line == 1
    assert "surrogate" in reject.reason or "hash" in reject.reason or "signalType" in reject.reason


def test_stopncii_surrogate_reason_is_clear() -> None:
    result = outcome(_page(_rec('"note": "\\udfff"')), "stopncii")
    assert isinstance(result, ParseResult)
    [reject] = result.rejects
    assert "lone surrogate" in reject.reason
    assert "note" in reject.reason
    assert reject.text.encode("utf-8")  # shown as an escape, storable


def test_stopncii_valid_surrogate_pair_is_kept() -> None:
    result = outcome(_page(_rec('"note": "\\ud83d\\ude00"')), "stopncii")
    assert isinstance(result, ParseResult)
    assert not result.rejects
    assert result.records[0][1].note == "\U0001f600"


def test_stopncii_surrogate_in_a_withdrawn_record_is_rejected() -> None:
    result = outcome(_page(_rec('"hashStatus": "Withdrawn", "note": "\\udfff"')), "stopncii")
    assert isinstance(result, ParseResult)
    assert not result.withdrawn
    assert [r.line for r in result.rejects] == [1]


# --- NCMEC XML ------------------------------------------------------------------------------


def _xml(declaration: str, note: str = "n") -> bytes:
    return (
        f"{declaration}<queryResult><images><image><note>{note}</note>"
        f"<fingerprints><pdq>{PDQ}</pdq></fingerprints></image></images></queryResult>"
    ).encode("latin-1")


@pytest.mark.parametrize(
    "encoding", ["x-no-such-encoding", "rot13", "hex", "idna", "utf-7", "utf-32", "shift_jis", ""]
)
def test_xml_declaring_an_unusable_encoding_is_a_format_error(encoding: str) -> None:
    result = outcome(_xml(f'<?xml version="1.0" encoding="{encoding}"?>'), "ncmec")
    assert isinstance(result, ImportFormatError)
    assert "encoding" in result.message
    assert repr(encoding) in result.message


@pytest.mark.parametrize(
    "encoding", ["UTF-8", "utf8", "UTF-16", "ISO-8859-1", "latin-1", "US-ASCII", "ascii"]
)
def test_xml_with_a_usable_encoding_parses(encoding: str) -> None:
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>'
    if encoding == "UTF-16":
        data = (declaration + _xml("").decode("latin-1")).encode("utf-16")
    else:
        data = _xml(declaration)
    result = outcome(data, "ncmec")
    assert isinstance(result, ParseResult), result
    assert [r.value for _, r in result.records] == [PDQ]


def test_xml_latin1_text_is_decoded_as_declared() -> None:
    data = _xml('<?xml version="1.0" encoding="ISO-8859-1"?>', note="caf\xe9")
    result = outcome(data, "ncmec")
    assert isinstance(result, ParseResult)
    assert result.records[0][1].note == "caf\xe9"


def test_xml_surrogate_character_reference_is_a_format_error() -> None:
    result = outcome(_xml("", note="&#xDFFF;"), "ncmec")
    assert isinstance(result, ImportFormatError)


# --- CSV ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        f"signal_type,value\rpdq,{PDQ}\n".encode(),
        f"signal_type\r,value\npdq,{PDQ}\n".encode(),
        f"signal_type,value\r\rpdq,{PDQ}\r\r".encode(),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", None])
def test_csv_header_with_a_bare_cr_is_a_format_error(data: bytes, fmt: str | None) -> None:
    result = outcome(data, fmt)
    assert isinstance(result, ImportFormatError)
    assert "line 1" in result.message
    assert "carriage return" in result.message


def test_csv_row_with_a_bare_cr_is_a_rejected_line() -> None:
    data = f"signal_type,value\npdq,{PDQ}\rx\nmd5,{MD5}\n".encode()
    result = outcome(data, "csv")
    assert isinstance(result, ParseResult)
    assert [line for line, _ in result.records] == [3]
    [reject] = result.rejects
    assert reject.line == 2
    assert "carriage return" in reject.reason


def test_csv_header_field_over_the_csv_limit_is_a_format_error() -> None:
    data = ("value," + "x" * 200_000 + "\n" + PDQ + ",y\n").encode()
    result = outcome(data, "csv")
    assert isinstance(result, ImportFormatError)
    assert "line 1" in result.message


# --- every format, fuzzed -------------------------------------------------------------------

_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_NAMES = [*FORMATS, None]

# Text made of the pieces that matter to these formats, so the fuzzing reaches their parsers.
_PIECES = st.sampled_from(
    [
        "pdq",
        "md5",
        "sha256",
        PDQ,
        MD5,
        ",",
        ";",
        "\t",
        " ",
        "\n",
        "\r",
        "\r\n",
        '"',
        "#",
        "{",
        "}",
        "[",
        "]",
        ":",
        '"hashValue"',
        '"signalType"',
        '"ImagePDQ"',
        '"hashRecords"',
        '"lastModtimestamp"',
        "\\udfff",
        "\\ud800",
        "\\u00e9",
        HUGE[:5000],
        "1e999",
        "-0",
        "<",
        ">",
        "/",
        "=",
        "<?xml version='1.0' encoding='",
        "?>",
        "<queryResult>",
        "<image>",
        "</image>",
        "<fingerprints>",
        "</fingerprints>",
        "<pdq>",
        "</pdq>",
        "<timestamp>",
        "</timestamp>",
        "<member id='",
        "'>",
        "&#xD800;",
        "&amp;",
        "<!DOCTYPE x>",
        "signal_type,value",
        "value",
        "hash",
        "added_at",
        "2024-05-01T00:00:00Z",
        "\x00",
        "\ufeff",
    ]
)
_SURROGATES = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=2)
_SHAPED = st.lists(_PIECES | st.text(max_size=8) | _SURROGATES, max_size=40).map("".join)


@_FUZZ
@given(data=st.binary(max_size=400), fmt=st.sampled_from(_NAMES))
@example(data=b'<?xml version="1.0" encoding="rot13"?><a/>', fmt=None)
@example(data=b"\xff\xfe" + "<a/>".encode("utf-16-le"), fmt="ncmec")
def test_fuzz_bytes(data: bytes, fmt: str | None) -> None:
    outcome(data, fmt)


@_FUZZ
@given(text=_SHAPED, fmt=st.sampled_from(_NAMES), encoding=st.sampled_from(["utf-8", "utf-16"]))
def test_fuzz_shaped_text(text: str, fmt: str | None, encoding: str) -> None:
    outcome(text.encode(encoding, "surrogatepass"), fmt)
