"""A source's upstream-id mappings go with their bank entry or their source, on both
databases: by triggers since migration 0028 (the foreign keys' per-row checks were the
largest cost of a fetch's mapping), as the keys' cascades did before; and a migration round
trip keeps the mappings that still point somewhere."""

from __future__ import annotations

import os

from sqlalchemy import select, text

from safespace.banks import BankService
from safespace.exchanges import FetchPage, SourceEntry
from safespace.exchanges._service import ExchangeService
from safespace.store import Database, open_database, upgrade
from safespace.store._database import alembic_config
from safespace.store._models_exchanges import ExchangeEntry, ExchangeSource

A, B, C = "a" * 32, "b" * 32, "c" * 32


def _mappings(db: Database) -> set[tuple[str, str]]:
    """(source name, upstream id) of every mapping."""
    with db.session() as s:
        rows = s.execute(
            select(ExchangeSource.name, ExchangeEntry.upstream_id).join(
                ExchangeSource, ExchangeSource.id == ExchangeEntry.source_id, isouter=True
            )
        ).all()
    return {(str(name), str(upstream)) for name, upstream in rows}


def _fetched(db: Database, source: str, entries: list[SourceEntry]) -> None:
    service = ExchangeService(db, master_key=os.urandom(32))
    source_id = service.open_source(source)[2]
    service.apply_pages(source_id, [FetchPage(entries, [], {"seq": 1}, more=False)], expected=None)


def _two_sources(db: Database) -> BankService:
    banks = BankService(db)
    banks.create_bank("common")
    service = ExchangeService(db, master_key=os.urandom(32))
    for name in ("left", "right"):
        service.add(name, type="list", bank="common", config={"url": "/none.txt"}, paused=True)
    _fetched(db, "left", [SourceEntry("l1", "md5", A), SourceEntry("l2", "md5", B)])
    _fetched(db, "right", [SourceEntry("r1", "md5", A), SourceEntry("r3", "md5", C)])
    return banks


def _entry_id(banks: BankService, value: str) -> int:
    (entry,) = [e for e in banks.list_entries("common") if e.value == value]
    return entry.id


def test_a_removed_entry_and_a_removed_source_take_their_mappings(database: Database) -> None:
    banks = _two_sources(database)
    assert _mappings(database) == {("left", "l1"), ("left", "l2"), ("right", "r1"), ("right", "r3")}
    banks.remove_entries([_entry_id(banks, B)])
    assert _mappings(database) == {("left", "l1"), ("right", "r1"), ("right", "r3")}
    ExchangeService(database).remove("right", keep_entries=True)
    assert _mappings(database) == {("left", "l1")}
    assert sorted(e.value for e in banks.list_entries("common")) == [A, C]  # entries kept


def test_a_deleted_bank_takes_the_mappings_of_its_entries(database: Database) -> None:
    banks = _two_sources(database)
    banks.create_bank("elsewhere")
    ExchangeService(database).add(
        "far", type="list", bank="elsewhere", config={"url": "/none.txt"}, paused=True
    )
    _fetched(database, "far", [SourceEntry("f1", "md5", A)])
    banks.delete_bank("common")  # its entries and sources go by the bank's cascades
    assert _mappings(database) == {("far", "f1")}
    with database.session() as s:
        assert s.scalar(text("SELECT count(*) FROM exchange_sources")) == 1


def test_migration_0028_round_trip_keeps_the_mappings_that_point_somewhere(db_url: str) -> None:
    from alembic import command

    db = open_database(db_url)
    try:
        banks = _two_sources(db)
        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0027")
        banks.remove_entries([_entry_id(banks, B)])  # by the foreign key's cascade now
        assert _mappings(db) == {("left", "l1"), ("right", "r1"), ("right", "r3")}
        upgrade(db, "0028")
        banks.remove_entries([_entry_id(banks, C)])  # by the trigger again
        assert _mappings(db) == {("left", "l1"), ("right", "r1")}
    finally:
        db.close()
