"""``safespace scan --text``: text files, one post per line, JSON lines of listed links and
keywords with file, line and span; bad input is one line of error and a non-zero exit.
Placeholder data only (example.org/.net, ``placeholder-term-N``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from safespace.signals import KEYWORD, URL

RunCli = Callable[..., Any]

POST = "see hxxps://www.example[.]org/listed/page.html?ref=1 and placeholder-term-1 here"


@pytest.fixture
def text_banks(run_cli: RunCli, tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("https://example.org/listed/page.html\nexample.net/\n")
    words = tmp_path / "words.txt"
    words.write_text("placeholder-term-1\n")
    for bank, path, fmt in [("urls", urls, "urls"), ("words", words, "keywords")]:
        assert run_cli("bank", "create", bank).exit_code == 0
        result = run_cli("bank", "import", bank, str(path), "--format", fmt)
        assert result.exit_code == 0, result.stderr


def test_scan_text_files_one_post_per_line(
    run_cli: RunCli, text_banks: None, tmp_path: Path
) -> None:
    folder = tmp_path / "posts"
    (folder / "more").mkdir(parents=True)
    first = folder / "a.txt"
    first.write_text(f"nothing here\n\n{POST}\n")
    second = folder / "more" / "b.log"
    second.write_text("visit sub.example.net/a today\n")
    result = run_cli("scan", "--text", str(folder))
    assert result.exit_code == 0, result.stderr
    rows = sorted(result.rows, key=lambda r: (r["file"], r["line"], r["start"]))
    assert [(Path(r["file"]).name, r["line"], r["signal_type"]) for r in rows] == [
        ("a.txt", 3, URL.name),
        ("a.txt", 3, KEYWORD.name),
        ("b.log", 1, URL.name),
    ]
    link, word, net = rows
    assert link["value"] == "example.org/listed/page.html"
    assert POST[link["start"] : link["end"]] == "hxxps://www.example[.]org/listed/page.html?ref=1"
    assert POST[word["start"] : word["end"]] == "placeholder-term-1"
    assert net["value"] == "example.net/"
    assert POST not in result.stdout  # the text is never printed
    assert "3 matches in 3 posts, 2 files" in result.stderr
    one = run_cli("scan", "--text", "--bank", "words", str(first))
    assert [r["signal_type"] for r in one.rows] == [KEYWORD.name]


def test_scan_text_refuses_binary_and_unreadable_input(
    run_cli: RunCli, text_banks: None, tmp_path: Path
) -> None:
    binary = tmp_path / "image.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 example.net/\n".encode("latin-1"))
    for path, why in [
        (binary, "not a text file"),
        (latin, "not UTF-8 text"),
        (tmp_path / "missing.txt", "cannot read"),
    ]:
        result = run_cli("scan", "--text", str(path))
        assert result.exit_code == 2
        assert why in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.rows == []
