"""Bulk writes for the bank service: adding and removing many entries in one transaction.

A million-line import must stay quick, so rows go straight to the driver (``executemany`` on
SQLite, ``COPY`` into a staging table on PostgreSQL) using SQLAlchemy's own value
conversions, and duplicates are skipped by the database (``ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Connection, Table, delete, func, insert, literal, select
from sqlalchemy import tuple_ as sql_tuple
from sqlalchemy.orm import Session

from safespace.banks.formats import HashRecord
from safespace.banks.info import AddResult
from safespace.store import BankEntry, Change
from safespace.store.models import UTCDateTime, utcnow

__all__ = ["CHUNK", "add_records", "batched", "delete_where", "insert_chunk", "remove_values"]

CHUNK = 2000  # rows per driver call
_STAGE = "safespace_import_stage"
_entries = cast(Table, BankEntry.__table__)
_changes = cast(Table, Change.__table__)
_COLUMNS = (
    "bank_id", "signal_type", "value", "enabled", "source", "category", "note", "added_at",
    "extra", "created_at",
)  # fmt: skip
_COLS = ", ".join(_COLUMNS)
_CONFLICT = "ON CONFLICT (bank_id, signal_type, value) DO NOTHING"

T = TypeVar("T")


def batched(items: Iterator[T], n: int) -> Iterator[list[T]]:
    while chunk := list(islice(items, n)):
        yield chunk


def insert_chunk(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Write one batch through the driver (a seam: tests make it fail midway)."""
    if conn.dialect.name == "postgresql":
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    else:
        conn.exec_driver_sql(sql, rows)


def _processor(conn: Connection, column: str) -> Callable[[Any], Any]:
    """SQLAlchemy's own conversion for a column, so stored values read back as usual."""
    proc = _entries.c[column].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return proc if proc is not None else (lambda v: v)


def add_records(s: Session, bank_id: int, records: Sequence[HashRecord]) -> AddResult:
    """Add canonical records to a bank, skipping ones it has, and log each addition.

    Writers are serialised, so the rows this call added are exactly those with an id above
    the largest before it; the change-log rows are then one INSERT .. SELECT.
    """
    conn = s.connection()
    before = s.scalar(select(func.coalesce(func.max(BankEntry.id), 0))) or 0
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE {_STAGE} ON COMMIT DROP AS "
            f"SELECT {_COLS} FROM {_entries.name} WITH NO DATA"
        )
        sql = f"COPY {_STAGE} ({_COLS}) FROM STDIN"
    else:
        marks = ", ".join("?" * len(_COLUMNS))
        sql = f"INSERT INTO {_entries.name} ({_COLS}) VALUES ({marks}) {_CONFLICT}"
    when, json = _processor(conn, "created_at"), _processor(conn, "extra")
    enabled = _processor(conn, "enabled")(True)
    now = utcnow()
    created, no_extra = when(now), json({})
    for chunk in batched(iter(records), CHUNK):
        rows = [
            (
                bank_id, r.signal_type, r.value, enabled, r.source, r.category, r.note,
                None if r.added_at is None else when(r.added_at),
                json(dict(r.extra)) if r.extra else no_extra,
                created,
            )
            for r in chunk
        ]  # fmt: skip
        insert_chunk(conn, sql, rows)
    if postgres:
        conn.exec_driver_sql(
            f"INSERT INTO {_entries.name} ({_COLS}) SELECT {_COLS} FROM {_STAGE} {_CONFLICT}"
        )
        conn.exec_driver_sql(f"DROP TABLE {_STAGE}")
    mine = (BankEntry.bank_id == bank_id) & (BankEntry.id > before)
    new = select(BankEntry.bank_id, BankEntry.id, literal("add"), literal(now, UTCDateTime()))
    conn.execute(
        insert(_changes).from_select(
            ["bank_id", "entry_id", "op", "at"], new.where(mine).order_by(BankEntry.id)
        )
    )
    added = s.scalar(select(func.count()).select_from(BankEntry).where(mine)) or 0
    return AddResult(added, len(records) - added)


def delete_where(s: Session, where: ColumnElement[bool]) -> int:
    """Delete the entries ``where`` selects, logging each removal; returns how many."""
    rows = s.execute(select(BankEntry.id, BankEntry.bank_id).where(where))
    found = [(int(i), int(b)) for i, b in rows]
    if found:
        s.execute(delete(BankEntry).where(BankEntry.id.in_([i for i, _ in found])))
        now = utcnow()
        s.execute(
            insert(_changes),
            [{"bank_id": b, "entry_id": i, "op": "remove", "at": now} for i, b in found],
        )
    return len(found)


def remove_values(s: Session, bank_id: int, pairs: Sequence[tuple[str, str]]) -> int:
    """Delete a bank's entries by (signal type, value); returns how many there were."""
    removed = 0
    key = sql_tuple(BankEntry.signal_type, BankEntry.value)
    for chunk in batched(iter(pairs), 500):
        removed += delete_where(s, (BankEntry.bank_id == bank_id) & key.in_(chunk))
    return removed
