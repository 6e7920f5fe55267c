import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

RunCli = Callable[..., Any]  # the run_cli fixture (tests/cli/conftest.py)

PDQ_A = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"  # bridge aaa-orig
MD5_A = "d35c785545392755e7e4164457657269"


def _hma(tmp_path: Path, lines: list[str], name: str = "list.txt") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bank_lifecycle(run_cli: RunCli, tmp_path: Path) -> None:
    created = run_cli("bank", "create", "known", "--distance", "20", "--description", "test list")
    assert created.exit_code == 0, created.stderr
    assert created.rows[0]["name"] == "known"
    assert created.rows[0]["pdq_distance"] == 20

    src = _hma(tmp_path, [f"pdq {PDQ_A}", f"md5 {MD5_A}"])
    imported = run_cli("bank", "import", "known", str(src))
    assert imported.exit_code == 0, imported.stderr
    assert imported.rows[0] | {} == {
        "bank": "known",
        "added": 2,
        "duplicates": 0,
        "removed": 0,
        "rejected": 0,
        "rejects_file": None,
    }
    again = run_cli("bank", "import", "known", str(src))
    assert (again.rows[0]["added"], again.rows[0]["duplicates"]) == (0, 2)

    listed = run_cli("bank", "list", "--json")
    (bank,) = listed.rows
    assert bank["name"] == "known"

    out = tmp_path / "export.txt"
    exported = run_cli("bank", "export", "known", "--format", "hma", "-o", str(out))
    assert exported.exit_code == 0
    text = out.read_text()
    assert PDQ_A in text
    assert MD5_A in text

    csv_out = run_cli("bank", "export", "known", "--format", "csv")
    assert csv_out.stdout.splitlines()[0].startswith("signal_type,value")

    deleted = run_cli("bank", "delete", "known", "--yes")
    assert deleted.exit_code == 0
    assert run_cli("bank", "list", "--json").rows == []


def test_bank_errors_are_one_line_with_exit_codes(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("bank", "create", "dup").exit_code == 0
    clash = run_cli("bank", "create", "dup")
    assert clash.exit_code == 4
    assert clash.stderr.startswith("error: ")
    assert len(clash.stderr.strip().splitlines()) == 1

    missing = run_cli("bank", "export", "nope")
    assert missing.exit_code == 3
    assert "nope" in missing.stderr

    bad_name = run_cli("bank", "create", "bad name!")
    assert bad_name.exit_code == 2

    bad_distance = run_cli("bank", "create", "far", "--distance", "-1")
    assert bad_distance.exit_code == 2

    bad_format = run_cli("bank", "export", "dup", "--format", "nonsense")
    assert bad_format.exit_code == 2
    assert "nonsense" in bad_format.stderr

    no_file = run_cli("bank", "import", "dup", str(tmp_path / "absent.txt"))
    assert no_file.exit_code == 2


def test_import_is_all_or_nothing_unless_skip_invalid(run_cli: RunCli, tmp_path: Path) -> None:
    run_cli("bank", "create", "known")
    src = _hma(tmp_path, [f"pdq {PDQ_A}", "pdq 1234", f"md5 {MD5_A}", "tlsh abc"])
    refused = run_cli("bank", "import", "known", str(src), "--format", "hma")
    assert refused.exit_code == 2
    assert "line 2" in refused.stderr
    assert "line 4" in refused.stderr
    assert "nothing was imported" in refused.stderr
    assert run_cli("bank", "export", "known").stdout.strip() == ""

    rejects = tmp_path / "rejects.jsonl"
    partial = run_cli(
        "bank", "import", "known", str(src), "--skip-invalid", "--rejects", str(rejects)
    )
    assert partial.exit_code == 0, partial.stderr
    assert (partial.rows[0]["added"], partial.rows[0]["rejected"]) == (2, 2)
    lines = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert [x["line"] for x in lines] == [2, 4]
    assert all(x["reason"] for x in lines)


def test_the_data_folder_the_cli_creates_is_private(run_cli: RunCli, tmp_path: Path) -> None:
    """The first command creates the data folder 0700 and the database 0600: they hold
    self-report contacts, the audit log and wrapped keys."""
    import stat

    old = os.umask(0o022)
    try:
        assert run_cli("bank", "create", "private-check").exit_code == 0
    finally:
        os.umask(old)
    data = tmp_path / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "safespace.db").stat().st_mode) == 0o600
