"""The one-value-per-line list formats: ``urls``, ``urls-sha256`` and ``keywords``, import
(through the bank service) and export, and the other formats' view of the new types."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from safespace.banks import BankService, Matcher
from safespace.banks.formats import FORMATS, get_format, parse
from safespace.signals import KEYWORD, URL, URL_SHA256
from safespace.store import open_database

URLS = b"""# a placeholder URL list
https://www.example.org/listed/page.html
example.net/

http://EXAMPLE.com/a/../dir/
not a url
"""


def test_urls_format_reads_canonical_expressions_and_rejects_bad_lines() -> None:
    result = parse(URLS, "urls")
    assert [(n, r.signal_type, r.value) for n, r in result.records] == [
        (2, URL.name, "www.example.org/listed/page.html"),
        (3, URL.name, "example.net/"),
        (5, URL.name, "example.com/dir/"),
    ]
    assert [(r.line, r.text) for r in result.rejects] == [(6, "not a url")]
    assert "spaces" in result.rejects[0].reason


def test_each_format_round_trips_its_type() -> None:
    expressions = ["example.org/a", "example.net/", "www.example.com/b?c=d"]
    digests = [hashlib.sha256(e.encode()).hexdigest() for e in expressions]
    cases = {
        "urls": (URL, expressions),
        "urls-sha256": (URL_SHA256, digests),
        "keywords": (KEYWORD, ["piacehoider term 1", "piacehoider term two"]),
    }
    for name, (kind, values) in cases.items():
        fmt = get_format(name)
        assert fmt.supports(kind)
        assert not any(
            fmt.supports(other) for other in (URL, URL_SHA256, KEYWORD) if other is not kind
        )
        written = fmt.write(
            parse("\n".join(values).encode(), name).records[i][1] for i in range(len(values))
        )
        assert written.decode().splitlines() == values
        assert [r.value for _, r in fmt.parse(written).records] == values


def test_hashed_lists_take_hex_digests_only() -> None:
    good = hashlib.sha256(b"example.org/a").hexdigest()
    result = parse(f"{good.upper()}\nexample.org/a\n{good[:-1]}\n".encode(), "urls-sha256")
    assert [r.value for _, r in result.records] == [good]
    assert [r.line for r in result.rejects] == [2, 3]


def test_keywords_with_spaces_do_not_go_in_whitespace_split_files() -> None:
    assert not FORMATS["hma"].supports(KEYWORD)
    assert FORMATS["csv"].supports(KEYWORD)
    assert FORMATS["hma"].supports(URL)
    assert FORMATS["hma"].supports(URL_SHA256)


def test_bank_import_and_export_of_the_new_formats(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'f.db'}")
    try:
        service = BankService(db)
        service.create_bank("urls")
        service.create_bank("words")
        service.import_data("urls", URLS, fmt="urls", skip_invalid=True)
        service.import_data("words", b"placeholder-term-1\nPlaceholder Term Two\n", fmt="keywords")
        matcher = Matcher.from_database(db)
        text = "go to http://www.example.org/listed/page.html?x=1 placeholder term two please"
        found = matcher.match_text(text)
        assert {m.match.bank for m in found.matches} == {"urls", "words"}
        exported = service.export_data("urls", "urls").decode().splitlines()
        assert sorted(exported) == [
            "example.com/dir/",
            "example.net/",
            "www.example.org/listed/page.html",
        ]
        assert service.export_data("words", "keywords").decode().splitlines() == [
            "piacehoider term 1",
            "piacehoider term two",
        ]
    finally:
        db.close()


@pytest.mark.parametrize("name", ["urls", "urls-sha256", "keywords"])
def test_line_lists_are_never_guessed(name: str) -> None:
    assert not FORMATS[name].sniff("example.org/page\n")


def test_a_hex_string_is_no_url_in_an_hma_file() -> None:
    result = parse(("url " + "ab" * 32 + "\nurl example.org/a\n").encode(), "hma")
    assert [r.value for _, r in result.records] == ["example.org/a"]
    assert [r.line for r in result.rejects] == [1]
