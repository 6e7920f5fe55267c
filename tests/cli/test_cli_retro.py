"""``safespace retro-match --bank NAME [--since DATE]`` and ``safespace content forget|purge``:
a bank imported after content was stored is swept on demand, once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from safespace.retro import ContentStore
from safespace.signals import PDQ
from safespace.store import open_database

RunCli = Callable[..., Any]  # the run_cli fixture (tests/cli/conftest.py)

PDQ_A = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"  # bridge aaa-orig


def test_retro_match_sweeps_a_bank_on_demand_once(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("bank", "create", "known").exit_code == 0
    db = open_database(f"sqlite:///{tmp_path / 'data' / 'safespace.db'}")
    try:
        assert ContentStore(db).remember("old-upload", {PDQ.name: PDQ_A}) == 1
    finally:
        db.close()
    src = tmp_path / "list.txt"
    src.write_text(f"{PDQ.name} {PDQ_A}\n")
    assert run_cli("bank", "import", "known", str(src)).exit_code == 0

    swept = run_cli("retro-match", "--bank", "known", "--since", "2000-01-01")
    assert swept.exit_code == 0, swept.stderr
    (row,) = swept.rows
    assert (row["bank"], row["entries"], row["hits"], row["queued"]) == ("known", 1, 1, 1)
    again = run_cli("retro-match", "--bank", "known").rows[0]
    assert (again["queued"], again["already"]) == (0, 1)
    later = run_cli("retro-match", "--bank", "known", "--since", "2999-01-01T00:00:00Z").rows[0]
    assert later["entries"] == 0
    assert run_cli("retro-match", "--bank", "known", "--since", "soon").exit_code == 2
    assert run_cli("retro-match", "--bank", "missing").exit_code != 0

    forgot = run_cli("content", "forget", "old-upload")
    assert forgot.exit_code == 0, forgot.stderr
    assert forgot.rows == [{"content_id": "old-upload", "forgotten": 1}]
    assert run_cli("content", "purge").rows == [{"purged": 0}]
