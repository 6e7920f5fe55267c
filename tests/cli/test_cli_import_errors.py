"""``safespace bank import`` with hostile files: rejected lines or one clear error, no traceback.

A huge JSON integer, a lone surrogate escape, an XML declaration naming an unknown encoding
and a CSV header with a bare carriage return used to end in a Python traceback (exit 1).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app_factory import safespace_command

RunCli = Callable[..., Any]

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d35c785545392755e7e4164457657269"
HUGE = "9" * (sys.get_int_max_str_digits() + 1)


def _stopncii(bad_field: str) -> bytes:
    good = f'{{"hashValue": "{MD5}", "signalType": "VideoMD5"}}'
    bad = f'{{"hashValue": "{PDQ}", "signalType": "ImagePDQ", {bad_field}}}'
    return f'{{"hashRecords": [{bad}, {good}]}}'.encode()


# name -> (file name, content, line of the rejected record or None for a whole-file error)
CASES: dict[str, tuple[str, bytes, int | None]] = {
    "huge-int": ("page.json", _stopncii(f'"lastModtimestamp": {HUGE}'), 1),
    "surrogate": ("page.json", _stopncii('"note": "\\udfff"'), 1),
    "xml-encoding": ("list.xml", b'<?xml version="1.0" encoding="x-nope"?><queryResult/>', None),
    "csv-bare-cr": ("list.csv", f"signal_type,value\rmd5,{MD5}\n".encode(), None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_is_refused_clearly(run_cli: RunCli, tmp_path: Path, case: str) -> None:
    name, data, line = CASES[case]
    path = tmp_path / name
    path.write_bytes(data)
    assert run_cli("bank", "create", "b").exit_code == 0
    result = run_cli("bank", "import", "b", str(path))
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ")
    if line is None:
        assert len(lines) == 1, result.stderr  # one line
    else:
        assert lines[0].startswith(f"line {line}: ")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("case", [c for c, (_, _, line) in CASES.items() if line is not None])
def test_skip_invalid_imports_the_rest(run_cli: RunCli, tmp_path: Path, case: str) -> None:
    name, data, line = CASES[case]
    path = tmp_path / name
    path.write_bytes(data)
    assert run_cli("bank", "create", "b").exit_code == 0
    result = run_cli("bank", "import", "b", str(path), "--skip-invalid")
    assert result.exit_code == 0, result.stderr
    [row] = result.rows
    assert (row["added"], row["rejected"]) == (1, 1)
    rejects = Path(row["rejects_file"]).read_text(encoding="utf-8")
    assert f'"line": {line}' in rejects


def test_real_process_answers_one_line(tmp_path: Path) -> None:
    env = {"SAFESPACE_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    run = [*safespace_command()]
    created = subprocess.run(
        [*run, "bank", "create", "b"], env=env, capture_output=True, timeout=120
    )
    assert created.returncode == 0, created.stderr
    for case in ("xml-encoding", "csv-bare-cr"):
        name, data, _ = CASES[case]
        path = tmp_path / name
        path.write_bytes(data)
        done = subprocess.run(
            [*run, "bank", "import", "b", str(path)], env=env, capture_output=True, timeout=120
        )
        assert done.returncode == 2, done.stderr
        [message] = done.stderr.decode().strip().splitlines()
        assert message.startswith("error: ")
        assert "Traceback" not in message
