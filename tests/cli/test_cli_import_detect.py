"""``safespace bank import NAME FILE`` without ``--format``: a hashed URL list named
``*.urls-sha256`` is imported as URL SHA-256 entries, not as HMA PDQ hashes (64 hex digits
per line looks like both), and a file nothing can tell is one clear error. Placeholder data
only."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from safespace.signals import PDQ, URL_SHA256

RunCli = Callable[..., Any]

DIGEST = hashlib.sha256(b"example.org/listed/page.html").hexdigest()
POST = "see https://www.example.org/listed/page.html?ref=1 today"


def test_hashed_url_list_is_detected_by_its_extension(run_cli: RunCli, tmp_path: Path) -> None:
    listed = tmp_path / "hotline.urls-sha256"
    listed.write_text(f"# placeholder hashed list\n{DIGEST}\n")
    assert run_cli("bank", "create", "hashed").exit_code == 0
    result = run_cli("bank", "import", "hashed", str(listed))
    assert result.exit_code == 0, result.stderr
    assert (result.rows[0]["added"], result.rows[0].get("rejected", 0)) == (1, 0)
    (bank,) = [b for b in run_cli("bank", "list").rows if b["name"] == "hashed"]
    assert bank["entry_counts"] == {URL_SHA256.name: 1}
    assert PDQ.name not in bank["entry_counts"]
    matches = run_cli("match", "--text", POST)
    assert matches.exit_code == 0, matches.stderr
    assert [(r["bank"], r["signal_type"]) for r in matches.rows] == [("hashed", URL_SHA256.name)]


def test_an_undetectable_file_is_one_line_and_a_nonzero_exit(
    run_cli: RunCli, tmp_path: Path
) -> None:
    odd = tmp_path / "list.bin"
    odd.write_bytes(b"not a list at all\n")
    assert run_cli("bank", "create", "b").exit_code == 0
    result = run_cli("bank", "import", "b", str(odd))
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "cannot tell the hash-list format" in lines[0]
    assert "Traceback" not in result.stderr
    assert result.rows == []  # nothing imported, nothing reported as imported
