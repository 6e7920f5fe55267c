"""Run the ``safespace`` command in-process, as a user would call it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from datafiles import TESTDATA
from safespace.cli import main


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]


RunCli = Callable[..., CliResult]


@pytest.fixture
def run_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> RunCli:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("SAFESPACE_DATA_DIR", str(data_dir))
    monkeypatch.delenv("SAFESPACE_DATABASE_URL", raising=False)

    def run(*args: str, input_text: str | None = None) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["safespace", *args])
        if input_text is not None:
            import io

            monkeypatch.setattr(sys, "stdin", io.StringIO(input_text))
        capsys.readouterr()
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture
def testdata() -> Path:
    assert TESTDATA.exists(), f"test data not found at {TESTDATA}"
    return TESTDATA


@pytest.fixture
def known_bank(run_cli: RunCli, testdata: Path, tmp_path: Path) -> Path:
    """A bank made from the original bridge photo (benign) by hashing it."""
    orig = testdata / "pdq" / "bridge-mods" / "aaa-orig.jpg"
    (row,) = run_cli("hash", str(orig)).rows
    src = tmp_path / "known.txt"
    src.write_text(f"pdq {row['pdq']}\nmd5 {row['md5']}\n")
    assert run_cli("bank", "create", "known").exit_code == 0
    assert run_cli("bank", "import", "known", str(src)).exit_code == 0
    return orig
