"""Migration 0013: each bank's ``pdq_distance`` becomes its ``pdq``/``distance`` threshold,
on SQLite (where the column sits in a CHECK constraint and entries hang off the table by a
cascading foreign key) and on PostgreSQL; down again restores the column."""

from __future__ import annotations

from sqlalchemy import inspect, text

from safespace.banks import BankService, Matcher
from safespace.store import open_database, upgrade
from safespace.store._database import alembic_config

PDQ_A = "f" * 64
PDQ_NEAR = "f" * 62 + "00"  # 8 bits from PDQ_A


def test_migration_0013_keeps_each_banks_distance(db_url: str) -> None:
    from alembic import command

    db = open_database(db_url, migrate=False)
    try:
        upgrade(db, "0012")
        with db.transaction() as s:
            for name, distance in (("strict", 4), ("loose", 31), ("edge", 128)):
                s.execute(
                    text(
                        "INSERT INTO banks (name, kind, pdq_distance, enabled, description, "
                        "created_at, updated_at) VALUES (:n, 'normal', :d, :e, '', :t, :t)"
                    ),
                    {"n": name, "d": distance, "e": True, "t": "2026-01-01 00:00:00"},
                )
            ids = dict(s.execute(text("SELECT name, id FROM banks")).all())
            for name in ("strict", "loose"):
                s.execute(
                    text(
                        "INSERT INTO bank_entries (bank_id, signal_type, value, enabled, extra, "
                        "created_at) VALUES (:b, 'pdq', :v, :e, '{}', :t)"
                    ),
                    {"b": ids[name], "v": PDQ_A, "e": True, "t": "2026-01-01 00:00:00"},
                )
        upgrade(db)

        assert "pdq_distance" not in {c["name"] for c in inspect(db.engine).get_columns("banks")}
        with db.session() as s:
            query = (
                "SELECT b.name, t.signal_type, t.name, t.value FROM bank_thresholds t "
                "JOIN banks b ON b.id = t.bank_id"
            )
            rows = s.execute(text(query)).all()
            entries = s.scalar(text("SELECT count(*) FROM bank_entries"))
        assert sorted(rows) == [
            ("edge", "pdq", "distance", 128),
            ("loose", "pdq", "distance", 31),
            ("strict", "pdq", "distance", 4),
        ]
        assert entries == 2  # the column went without recreating (and emptying) the table
        service = BankService(db)
        kept = {b.name: {"pdq": b.thresholds["pdq"]} for b in service.list_banks()}
        assert kept == {  # (other types have their defaults)
            "edge": {"pdq": {"distance": 128}},
            "loose": {"pdq": {"distance": 31}},
            "strict": {"pdq": {"distance": 4}},
        }
        found = Matcher.from_database(db).match([("pdq", PDQ_NEAR)])
        assert {m.bank for m in found.matches} == {"loose"}  # 8 bits: beyond strict's 4

        service.update_bank("strict", pdq_distance=10)
        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0012")
        with db.session() as s:
            back = dict(s.execute(text("SELECT name, pdq_distance FROM banks")).all())
        assert back == {"edge": 128, "loose": 31, "strict": 10}
        upgrade(db)  # and up again
        assert BankService(db).get_bank("strict").thresholds["pdq"] == {"distance": 10}
    finally:
        db.close()
