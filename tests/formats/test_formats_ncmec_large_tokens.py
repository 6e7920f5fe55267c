"""Huge attributes and text in NCMEC XML: linear parsing, and the entry refused.

Fed to expat in 64 KiB pieces, a token spanning many pieces was scanned again with each new
piece: work grew with the square of its length (a 40 MB attribute took about a minute).
These tests count how the document reaches expat instead of timing anything: in one piece,
each token is scanned once, so doubling the size doubles the work. The entry holding an
over-long field is rejected with a reason; the rest of the file imports.
"""

from __future__ import annotations

from typing import Any

import pytest

from safespace.banks.formats import ParseResult, parse
from safespace.banks.formats._ncmec import MAX_FIELD_CHARS

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d35c785545392755e7e4164457657269"
MIB = 1024 * 1024


def _doc(member_id: str = "42", note: str = "n") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<queryResult><images>\n'
        f'<image><member id="{member_id}">Member</member><id>big</id><note>{note}</note>'
        f"<fingerprints><pdq>{PDQ}</pdq></fingerprints></image>\n"
        f"<image><id>small</id><fingerprints><md5>{MD5}</md5></fingerprints></image>\n"
        "</images></queryResult>\n"
    ).encode()


@pytest.fixture
def feeds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every non-empty piece of document handed to expat."""
    from defusedxml.expatreader import DefusedExpatParser

    pieces: list[int] = []
    real = DefusedExpatParser.feed

    def feed(self: Any, data: bytes, isFinal: bool = False) -> None:  # noqa: N803 (SAX API)
        if data:
            pieces.append(len(data))
        real(self, data, isFinal)

    monkeypatch.setattr(DefusedExpatParser, "feed", feed)
    return pieces


def _check_refused(result: ParseResult, label: str, length: int) -> None:
    assert [r.value for _, r in result.records] == [MD5]
    [reject] = result.rejects
    assert reject.line == 3
    assert reject.reason == f"{label} is {length} characters long (at most {MAX_FIELD_CHARS})"
    assert len(reject.text) < 300  # the reject never echoes the huge value


@pytest.mark.parametrize("size", [8 * MIB, 16 * MIB])
def test_huge_attribute_reaches_expat_in_one_piece(feeds: list[int], size: int) -> None:
    data = _doc(member_id="7" * size)
    result = parse(data, "ncmec")
    # One scan of the document whatever its size: linear work (16 MiB in 64 KiB pieces
    # was 256 pieces, each scanning the attribute so far again).
    assert feeds == [len(data)]
    _check_refused(result, "<member id>", size)


def test_huge_text_is_refused_and_reaches_expat_in_one_piece(feeds: list[int]) -> None:
    data = _doc(note="x" * (4 * MIB))
    result = parse(data, "ncmec")
    assert feeds == [len(data)]
    _check_refused(result, "<note>", 4 * MIB)


def test_fields_up_to_the_limit_are_kept() -> None:
    result = parse(_doc(member_id="7" * MAX_FIELD_CHARS), "ncmec")
    assert not result.rejects
    assert result.records[0][1].extra["member_id"] == "7" * MAX_FIELD_CHARS
