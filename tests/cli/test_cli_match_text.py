"""``safespace match --text`` / ``--text-file`` and importing the ``urls``, ``urls-sha256``
and ``keywords`` formats with ``safespace bank import``. Placeholder data only."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from safespace.signals import KEYWORD, URL, URL_SHA256

RunCli = Callable[..., Any]

POST = "see hxxps://www.example[.]org/listed/page.html?ref=1 and placeholder-term-1 here"


@pytest.fixture
def text_banks(run_cli: RunCli, tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("# placeholder list\nhttps://example.org/listed/page.html\nexample.net/\n")
    digest = hashlib.sha256(b"example.org/listed/page.html").hexdigest()
    hashed = tmp_path / "hashed.txt"
    hashed.write_text(digest + "\n")
    words = tmp_path / "words.txt"
    words.write_text("placeholder-term-1\nplaceholder term two\n")
    for bank, path, fmt in [
        ("urls", urls, "urls"),
        ("hashed", hashed, "urls-sha256"),
        ("words", words, "keywords"),
    ]:
        assert run_cli("bank", "create", bank).exit_code == 0
        result = run_cli("bank", "import", bank, str(path), "--format", fmt)
        assert result.exit_code == 0, result.stderr


def test_match_text_gives_one_line_per_match_with_spans(run_cli: RunCli, text_banks: None) -> None:
    result = run_cli("match", "--text", POST)
    assert result.exit_code == 0, result.stderr
    rows = {(r["bank"], r["signal_type"]): r for r in result.rows}
    assert set(rows) == {
        ("urls", URL.name),
        ("hashed", URL_SHA256.name),
        ("words", KEYWORD.name),
    }
    link = rows[("urls", URL.name)]
    assert link["value"] == "example.org/listed/page.html"
    assert POST[link["start"] : link["end"]] == "hxxps://www.example[.]org/listed/page.html?ref=1"
    word = rows[("words", KEYWORD.name)]
    assert POST[word["start"] : word["end"]] == "placeholder-term-1"
    assert POST not in result.stdout
    only = run_cli("match", "--bank", "words", "--text", POST)
    assert {r["bank"] for r in only.rows} == {"words"}


def test_match_a_text_file_one_post_per_line(
    run_cli: RunCli, text_banks: None, tmp_path: Path
) -> None:
    posts = tmp_path / "posts.txt"
    posts.write_text(f"nothing here\n\n{POST}\nvisit sub.example.net/a today\n")
    result = run_cli("match", "--text-file", str(posts))
    assert result.exit_code == 0, result.stderr
    assert sorted({r["line"] for r in result.rows}) == [3, 4]
    (net,) = [r for r in result.rows if r["line"] == 4]
    assert net["value"] == "example.net/"


def test_text_and_hashes_do_not_mix(run_cli: RunCli, text_banks: None) -> None:
    assert run_cli("match", "--text", POST, "--md5", "0" * 32).exit_code == 2
    assert run_cli("match", "--text", POST, "--text-file", "x").exit_code == 2


def test_import_rejects_bad_lines_saying_why(run_cli: RunCli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("example.org/fine\nnot a url\n")
    assert run_cli("bank", "create", "b").exit_code == 0
    result = run_cli("bank", "import", "b", str(bad), "--format", "urls")
    assert result.exit_code == 2
    assert "line 2: url must not contain spaces" in result.stderr
