"""Migration 0031: the change log's check on ``op`` names each value (``op = 'add' OR ...``)
on SQLite, which rebuilt an IN list's lookup table for every row it checked. The check still
refuses what it refused, before and after a round trip down and up, on both databases."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy.exc import IntegrityError

from safespace.banks import BankService
from safespace.banks.formats import HashRecord
from safespace.store import Database, open_database, upgrade
from safespace.store._database import alembic_config


def _table_sql(db: Database) -> str:
    with db.engine.connect() as conn:
        return str(
            conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'changes'"
            ).scalar_one()
        )


def _refuses_unknown_op(db: Database) -> None:
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO changes (bank_id, entry_id, op, at) "
            "VALUES (1, 1, 'rename', '2026-12-08 00:00:00')"
        )


def _ops(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return [str(r[0]) for r in conn.exec_driver_sql("SELECT op FROM changes ORDER BY seq")]


def test_check_names_each_op_and_round_trips(db_url: str) -> None:
    db = open_database(db_url)
    try:
        banks = BankService(db)
        banks.create_bank("b")
        banks.add_entries("b", [HashRecord("md5", f"{i:032x}") for i in range(3)])
        sqlite = db.engine.dialect.name == "sqlite"
        if sqlite:
            sql = _table_sql(db)
            assert "op = 'add' OR op = 'enable'" in sql
            assert "op IN" not in sql
        _refuses_unknown_op(db)
        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0030")
        if sqlite:
            assert "CHECK (op IN ('add', 'enable', 'disable', 'remove', 'bank-update', " in (
                _table_sql(db)
            )
        _refuses_unknown_op(db)
        upgrade(db)
        if sqlite:
            assert "op IN" not in _table_sql(db)
        _refuses_unknown_op(db)
        banks.add_entries("b", [HashRecord("md5", f"{i:032x}") for i in range(3, 5)])
        assert _ops(db)[-5:] == ["add"] * 5  # every op allowed before is allowed after
        banks.delete_bank("b")
        assert _ops(db)[-1] == "bank-delete"
    finally:
        db.close()
