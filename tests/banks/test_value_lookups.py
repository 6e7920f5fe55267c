"""Finding a bank's entries by (signal type, value): exact, and through the bank's key.

The API's lookups, the console's search and removals by value all ask for entries by pairs.
A pair must match only its own type's value (``sha256`` and ``url_sha256`` values look
alike), and the query must be answered by the bank's key rather than a scan of the bank.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import event, inspect, select

from safespace.api._lookups import entries_for
from safespace.banks import BankService, Matcher
from safespace.banks._bulk import pairs_condition, remove_values
from safespace.banks.formats import HashRecord
from safespace.store import Bank, BankEntry, Database, open_database, upgrade
from safespace.store._database import alembic_config


def _sha(i: int) -> str:
    return hashlib.sha256(f"benign-{i}".encode()).hexdigest()


def _md5(i: int) -> str:
    return hashlib.md5(f"benign-{i}".encode()).hexdigest()


def _fill(db: Database) -> BankService:
    service = BankService(db)
    for name in ("one", "two"):
        service.create_bank(name)
    records = [
        HashRecord("sha256", _sha(1)),
        HashRecord("url_sha256", _sha(2)),
        HashRecord("sha256", _sha(3)),
        HashRecord("md5", _md5(4)),
    ]
    service.add_entries("one", records)
    service.add_entries("two", records)
    return service


def _pairs_in(db: Database, bank: str) -> set[tuple[str, str]]:
    with db.session() as s:
        rows = s.execute(
            select(BankEntry.signal_type, BankEntry.value).join(Bank).where(Bank.name == bank)
        )
        return {(t, v) for t, v in rows}


def test_pairs_match_only_their_own_type_and_bank(database: Database) -> None:
    _fill(database)
    # sha256 of 2 and url_sha256 of 1 are not in the bank, though each value is, as the
    # other type: a query by types and values alone would find both
    wanted = [("sha256", _sha(2)), ("url_sha256", _sha(1)), ("sha256", _sha(3))]
    found = entries_for(database, "one", wanted)
    assert [(e.signal_type, e.value) for e in found] == [("sha256", _sha(3))]
    assert [(e.signal_type, e.value) for e in entries_for(database, "one", wanted[2:])] == [
        ("sha256", _sha(3))
    ]
    assert entries_for(database, "one", [("md5", _md5(4))])[0].bank == "one"


def test_removal_by_value_leaves_look_alikes_and_other_banks(database: Database) -> None:
    _fill(database)
    with database.transaction() as s:
        bank_id = s.scalar(select(Bank.id).where(Bank.name == "one"))
        assert bank_id is not None
        removed = remove_values(
            s, bank_id, [("sha256", _sha(2)), ("url_sha256", _sha(2)), ("md5", _md5(4))]
        )
    assert removed == 2
    assert _pairs_in(database, "one") == {("sha256", _sha(1)), ("sha256", _sha(3))}
    assert len(_pairs_in(database, "two")) == 4


def test_lookups_by_value_search_the_banks_key(tmp_path: object) -> None:
    """SQLite's plan: every column of the key is searched, for one type and for several
    (a row value ``IN`` alone is searched by the bank only: a scan of the whole bank)."""
    db = open_database(f"sqlite:///{tmp_path}/plan.db")
    try:
        _fill(db)
        for pairs in (
            [("sha256", _sha(1)), ("sha256", _sha(3))],
            [("sha256", _sha(1)), ("url_sha256", _sha(2)), ("md5", _md5(4))],
        ):
            query = select(BankEntry.id).join(Bank).where(Bank.name == "one")
            query = query.where(pairs_condition(pairs))
            with db.engine.connect() as conn:
                compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
                plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
            searches = [step for step in plan if "bank_entries" in step]
            assert searches == [
                "SEARCH bank_entries USING COVERING INDEX "
                "sqlite_autoindex_bank_entries_1 (bank_id=? AND signal_type=? AND value=?)"
            ], plan
    finally:
        db.close()


def test_migration_0030_drops_the_cross_bank_index_and_down_restores_it(db_url: str) -> None:
    from alembic import command

    def indexes(db: Database) -> set[str]:
        return {str(i["name"]) for i in inspect(db.engine).get_indexes("bank_entries")}

    db = open_database(db_url)
    try:
        _fill(db)
        assert "ix_bank_entries_signal_type_value" not in indexes(db)
        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0029")
        assert "ix_bank_entries_signal_type_value" in indexes(db)
        upgrade(db)
        assert "ix_bank_entries_signal_type_value" not in indexes(db)
        assert len(_pairs_in(db, "one")) == 4
    finally:
        db.close()


def test_keyword_entries_are_read_bank_by_bank_through_the_key(tmp_path: object) -> None:
    """A matcher loaded from a snapshot reads the keyword entries (not in snapshots) from
    the database: through each bank's key, never a scan of every entry of every bank."""
    db = open_database(f"sqlite:///{tmp_path}/words.db")
    statements: list[tuple[str, Any]] = []

    def seen(conn: object, cursor: object, statement: str, parameters: Any, *rest: object) -> None:
        if "bank_entries" in statement and "signal_type IN" in statement:
            statements.append((statement, parameters))

    try:
        service = _fill(db)
        service.add_entries("two", [HashRecord.of("keyword", "placeholder-token")])
        built = Matcher.from_database(db)
        path = built.save_snapshot(f"{tmp_path}/snapshots")
        event.listen(db.engine, "before_cursor_execute", seen)
        loaded = Matcher.from_snapshot(db, path)
        event.remove(db.engine, "before_cursor_execute", seen)
        assert loaded.match_text("a placeholder-token here").matches
        assert len(statements) == 1
        with db.engine.connect() as conn:
            statement, parameters = statements[0]
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        searches = [row[-1] for row in plan if "bank_entries" in row[-1]]
        assert searches == [
            "SEARCH bank_entries USING INDEX sqlite_autoindex_bank_entries_1 "
            "(bank_id=? AND signal_type=?)"
        ], plan
    finally:
        db.close()
