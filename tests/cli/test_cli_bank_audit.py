"""Bank changes made with ``safespace bank ...`` are audited as ``cli:`` and the OS user."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from safespace.store import open_database
from safespace.store._models_reports import AuditRecord

RunCli = Callable[..., Any]  # the run_cli fixture (tests/cli/conftest.py)


def test_bank_commands_name_the_cli_user(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("bank", "create", "b1").exit_code == 0
    assert run_cli("bank", "update", "b1", "--distance", "20").exit_code == 0
    assert run_cli("bank", "delete", "b1", "--yes").exit_code == 0
    db = open_database(f"sqlite:///{tmp_path / 'data' / 'safespace.db'}")
    try:
        with db.session() as s:
            rows = s.execute(
                select(AuditRecord.actor, AuditRecord.action).order_by(AuditRecord.seq)
            ).all()
    finally:
        db.close()
    bank_rows = [(a, act) for a, act in rows if act.startswith("bank.")]
    user = f"cli:{getpass.getuser()}"
    assert bank_rows == [
        (user, "bank.create"),
        (user, "bank.update"),
        (user, "bank.delete"),
    ]
