"""``banks._bulk.add_narrow_rows`` tells its ``then`` hook how staged rows pair with their
new entries. On SQLite: where the new entries start when every staged row became one, in
staging order (a peer fetch then maps upstream ids by position), and nothing when it cannot
vouch for that (a value already in the bank, a value staged twice). On PostgreSQL, whose ids
come from a shared sequence: a table of exactly the entries the call added."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from safespace.banks import BankService
from safespace.banks import _bulk as bulk
from safespace.store import Bank, BankEntry, Change, Database


def _md5(n: int) -> str:
    return hashlib.md5(f"value {n}".encode()).hexdigest()


def _add(database: Database, bank: str, values: list[str]) -> tuple[int | None, list[Any]]:
    """Stage ``values`` into ``bank``; (the first id ``then`` was told, the stage's (rowid,
    value) on SQLite, or the moved table's (id, type, value) on PostgreSQL)."""
    seen: dict[str, Any] = {}

    def then(conn: Connection, stage: str, moved: bulk.Moved) -> None:
        seen["first"] = moved.first
        if conn.dialect.name == "sqlite":
            assert moved.table is None
            seen["stage"] = conn.exec_driver_sql(
                f"SELECT rowid, value FROM {stage} ORDER BY rowid"
            ).all()
        else:
            assert moved.first is None
            assert moved.table is not None
            seen["stage"] = conn.exec_driver_sql(
                f"SELECT id, signal_type, value FROM {moved.table} ORDER BY id"
            ).all()

    with database.transaction() as s:
        bank_id = s.scalar(select(Bank.id).where(Bank.name == bank))
        assert bank_id is not None
        rows = [("md5", v, None, "{}") for v in values]
        bulk.add_narrow_rows(s, bank_id, rows, source="test", then=then)
    return seen["first"], seen.get("stage", [])


def _values_by_id(database: Database) -> dict[int, str]:
    with database.session() as s:
        return {e.id: e.value for e in s.scalars(select(BankEntry))}


def test_all_new_rows_start_at_first_in_staging_order(database: Database) -> None:
    banks = BankService(database)
    banks.create_bank("other")
    banks.create_bank("peer")
    _add(database, "other", [_md5(n) for n in range(5)])  # ids before ours, another bank
    first, stage = _add(database, "peer", [_md5(n) for n in range(100, 160)])
    if database.url.startswith("postgresql"):  # the moved table: each new entry, its value
        ours = {_md5(n) for n in range(100, 160)}
        added = {(i, "md5", v) for i, v in _values_by_id(database).items() if v in ours}
        assert len(stage) == 60
        assert set(stage) == added
        return
    assert first is not None
    by_id = _values_by_id(database)
    assert [by_id[first + rowid - 1] for rowid, _ in stage] == [v for _, v in stage]


def test_nothing_is_vouched_for_when_a_row_was_left_out(database: Database) -> None:
    banks = BankService(database)
    banks.create_bank("peer")
    _add(database, "peer", [_md5(1)])
    first, moved = _add(database, "peer", [_md5(n) for n in range(0, 20)])  # _md5(1) is there
    assert first is None
    if database.url.startswith("postgresql"):  # only what this call added is in the table
        assert sorted(v for _, _, v in moved) == sorted(_md5(n) for n in range(20) if n != 1)
    first, moved = _add(database, "peer", [_md5(50), _md5(51), _md5(50)])  # staged twice
    assert first is None
    if database.url.startswith("postgresql"):
        assert sorted(v for _, _, v in moved) == sorted([_md5(50), _md5(51)])
    assert len(_values_by_id(database)) == 1 + 19 + 2


def test_rows_become_entries_in_value_order_and_a_repeat_keeps_its_first(
    database: Database,
) -> None:
    """Entries are written in (type, value) order, whatever order they came in (the value
    indexes then grow in key order); the first of a repeated value is the one kept, and a
    caller's own column stays beside its row."""
    banks = BankService(database)
    banks.create_bank("peer")
    values = [_md5(n) for n in range(30)]
    given = [*reversed(values), values[3]]  # arrival order, then a repeat of one value
    rows = [("md5", v, None, "{}", f"up-{i}") for i, v in enumerate(given)]
    staged: list[Any] = []

    def then(conn: Connection, stage: str, moved: bulk.Moved) -> None:
        order = "rowid" if conn.dialect.name == "sqlite" else "ctid"
        staged.extend(conn.exec_driver_sql(f"SELECT value, upstream FROM {stage} ORDER BY {order}"))

    with database.transaction() as s:
        bank_id = s.scalar(select(Bank.id).where(Bank.name == "peer"))
        assert bank_id is not None
        added = bulk.add_narrow_rows(
            s, bank_id, rows, source="test", columns=[("upstream", "VARCHAR(32)")], then=then
        )
    assert added == 30
    by_id = _values_by_id(database)
    assert [by_id[i] for i in sorted(by_id)] == sorted(values)
    assert [v for v, _ in staged] == sorted(given)
    assert sorted(staged) == sorted((r[1], r[4]) for r in rows)  # each with its own column
    repeat = [u for v, u in staged if v == values[3]]
    assert repeat == ["up-26", "up-30"]  # the first to arrive is still staged first


def test_rows_of_several_types_are_ordered_by_type_then_value(database: Database) -> None:
    """Several types in one call (the sort's key is then the pair): the entries follow
    (type, value), a repeat within a type is found, and without one every row is new."""
    banks = BankService(database)
    banks.create_bank("peer")
    md5s = [_md5(n) for n in range(10)]
    sha256s = [hashlib.sha256(f"value {n}".encode()).hexdigest() for n in range(10)]
    given = [v for pair in zip(reversed(sha256s), md5s, strict=True) for v in pair]
    with database.transaction() as s:
        bank_id = s.scalar(select(Bank.id).where(Bank.name == "peer"))
        assert bank_id is not None
        rows = [("sha256" if len(v) == 64 else "md5", v, None, "{}") for v in given]
        assert bulk.add_narrow_rows(s, bank_id, [*rows, rows[4]], source="test") == 20
    with database.session() as s:
        entries = s.execute(select(BankEntry.signal_type, BankEntry.value).order_by(BankEntry.id))
        assert list(map(tuple, entries)) == [
            *(("md5", v) for v in sorted(md5s)),
            *(("sha256", v) for v in sorted(sha256s)),
        ]
    more = [_md5(n) for n in range(20, 25)] + [hashlib.sha256(b"new").hexdigest()]
    with database.transaction() as s:
        told: list[int | None] = []
        rows = [("sha256" if len(v) == 64 else "md5", v, None, "{}") for v in more]
        bulk.add_narrow_rows(
            s,
            bank_id,
            rows,
            source="test",
            then=lambda conn, stage, moved: told.append(moved.first),
        )
    if not database.url.startswith("postgresql"):
        assert told[0] is not None  # no repeat: every staged row became an entry


def test_a_row_missing_a_required_value_fails_the_call_not_skipped(database: Database) -> None:
    """The move skips only hashes the bank has (its unique key), never a row that breaks
    another rule: a row without its ``extra`` fails the whole call, and nothing is written."""
    banks = BankService(database)
    banks.create_bank("peer")
    rows = [("md5", _md5(1), None, "{}"), ("md5", _md5(2), None, None)]
    with database.session() as s:
        bank_id = s.scalar(select(Bank.id).where(Bank.name == "peer"))
    assert bank_id is not None

    def add() -> None:
        with database.transaction() as s:
            bulk.add_narrow_rows(s, bank_id, rows, source="test")

    with pytest.raises(IntegrityError):
        add()
    assert _values_by_id(database) == {}


def _log(database: Database, bank_id: int) -> list[tuple[int, str]]:
    with database.session() as s:
        rows = s.execute(
            select(Change.entry_id, Change.op).where(Change.bank_id == bank_id).order_by(Change.seq)
        )
        return [(int(e), str(op)) for e, op in rows if e is not None]  # not the bank's own


@pytest.mark.parametrize("known", [False, True])
def test_the_change_log_lists_exactly_the_new_entries_in_id_order(
    database: Database, known: bool
) -> None:
    """Every new entry gets one 'add' row, in id order, whether SQLite could pair the staged
    rows with the new ids by position (the log is then written from the staging table) or
    not (a value the bank had, and a repeat, were left out); nothing for what was skipped."""
    banks = BankService(database)
    banks.create_bank("other")
    banks.create_bank("peer")
    _add(database, "other", [_md5(n) for n in range(3)])
    values = [_md5(n) for n in range(1000, 1300)]  # past the rows staged one at a time
    if known:
        _add(database, "peer", [_md5(1000)])
    first, _ = _add(database, "peer", [*values, values[7]] if known else values)
    with database.session() as s:
        bank_id = s.scalar(select(Bank.id).where(Bank.name == "peer"))
        assert bank_id is not None
        ids = list(s.scalars(select(BankEntry.id).where(BankEntry.bank_id == bank_id)))
    if database.url.startswith("sqlite"):
        assert (first is None) == known
    assert _log(database, bank_id) == [(i, "add") for i in sorted(ids)]
    assert len(ids) == 300


def test_extra_around_writes_the_json_of_a_staged_column_where_extra_is_null(
    database: Database,
) -> None:
    banks = BankService(database)
    banks.create_bank("peer")
    odd = ["plain-1", 'with "quotes" and \\ slash', "tab\tand\nnewline", "ünï ✓"]
    rows = [
        ("md5", _md5(n), None, None if n % 2 == 0 else f'{{"given": {n}}}', odd[n % 4] + str(n))
        for n in range(200)
    ]
    with database.transaction() as s:
        bank_id = s.scalar(select(Bank.id).where(Bank.name == "peer"))
        assert bank_id is not None
        head, tail = '{"exchange": "a \\"peer\\"", "upstream_id": ', ', "categories": []}'
        bulk.add_narrow_rows(
            s, bank_id, rows, source="test", columns=[("upstream", "VARCHAR(64)")],
            extra_around=(head, "upstream", tail),
        )  # fmt: skip
        with pytest.raises(ValueError, match="no staged column"):
            bulk.add_narrow_rows(s, bank_id, [], source="test", extra_around=("", "x", ""))
    with database.session() as s:
        extras = {e.value: e.extra for e in s.scalars(select(BankEntry))}
    for n, (_, value, _, _, upstream) in enumerate(rows):
        if n % 2:
            assert extras[value] == {"given": n}
        else:
            assert extras[value] == {
                "exchange": 'a "peer"',
                "upstream_id": upstream,
                "categories": [],
            }
