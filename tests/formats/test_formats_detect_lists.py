"""Detecting the one-value-per-line lists (``urls``, ``urls-sha256``, ``keywords``).

Their content says nothing of their type (64 hex digits per line is also a bare HMA PDQ
list), so their own file extension decides before content sniffing; an HMA list under a
generic name is still told by its content.
"""

from __future__ import annotations

import hashlib

import pytest

from safespace.banks.formats import FORMATS, detect_format, parse
from safespace.errors import ImportFormatError
from safespace.signals import URL_SHA256

DIGEST = hashlib.sha256(b"example.org/listed/page.html").hexdigest()


@pytest.mark.parametrize(
    ("filename", "data", "expected"),
    [
        ("x.urls-sha256", f"{DIGEST}\n".encode(), "urls-sha256"),
        ("LIST.URLS-SHA256", f"# hashed\n{DIGEST.upper()}\n".encode(), "urls-sha256"),
        ("x.urls", b"https://example.org/listed/page.html\n", "urls"),
        ("x.keywords", b"placeholder-term-1\n", "keywords"),
        # the same bytes under a generic or no name are still an HMA PDQ list
        ("x.txt", f"{DIGEST}\n".encode(), "hma"),
        (None, f"{DIGEST}\n".encode(), "hma"),
    ],
)
def test_a_line_list_extension_wins_over_content(
    filename: str | None, data: bytes, expected: str
) -> None:
    assert detect_format(data, filename=filename) is FORMATS[expected]


def test_a_hashed_url_list_parses_as_url_sha256_by_its_extension() -> None:
    result = parse(f"{DIGEST}\n".encode(), filename="hotline.urls-sha256")
    assert [(r.signal_type, r.value) for _, r in result.records] == [(URL_SHA256.name, DIGEST)]


def test_an_undetectable_file_is_still_refused() -> None:
    with pytest.raises(ImportFormatError, match=r"cannot tell the hash-list format of 'x\.bin'"):
        detect_format(b"not a list at all\n", filename="x.bin")
