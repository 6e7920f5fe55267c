"""Bulk writes for the bank service: adding and removing many entries in one transaction.

A million-line import must stay quick, so rows go straight to the driver into a staging
table (on SQLite the columns that vary as JSON arrays, or ``executemany``; ``COPY`` on
PostgreSQL: :func:`insert_chunk`) using SQLAlchemy's own value conversions; the database then
moves the new, distinct ones into the bank in one statement.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Executable,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy import tuple_ as sql_tuple
from sqlalchemy.orm import Session

from safespace.banks._info import AddResult
from safespace.banks.formats import HashRecord
from safespace.signals import get_signal_type
from safespace.store import BankEntry, Change
from safespace.store._models import UTCDateTime, utcnow
from safespace.store._models_values import BankEntryValue

__all__ = [
    "CHUNK",
    "Moved",
    "NarrowRow",
    "StagedRow",
    "add_narrow_rows",
    "add_records",
    "add_rows",
    "batched",
    "delete_where",
    "insert_chunk",
    "remove_values",
    "stored_pairs",
    "whole_values",
]

CHUNK = 2000  # rows per driver call
_STAGE = "safespace_import_stage"
_MOVED = "safespace_import_moved"  # PostgreSQL: the entries a narrow move added
_entries = cast(Table, BankEntry.__table__)
_changes = cast(Table, Change.__table__)
_values = cast(Table, BankEntryValue.__table__)
_COLUMNS = (
    "bank_id", "signal_type", "value", "enabled", "source", "category", "note", "added_at",
    "extra", "created_at",
)  # fmt: skip
_COLS = ", ".join(_COLUMNS)
_S_COLS = ", ".join(f"s.{c}" for c in _COLUMNS)
_IS_NEW = (
    f"NOT EXISTS (SELECT 1 FROM {_entries.name} AS e WHERE e.bank_id = s.bank_id "
    "AND e.signal_type = s.signal_type AND e.value = s.value)"
)
# The same test as one index probe a staged row. PostgreSQL plans NOT EXISTS as an anti
# join, and while a fetch grows a bank faster than its statistics it can pick one that sorts
# the whole bank for every group (seen at 1,000,000: 1.5 s of a group's 4.0 s); a scalar
# subquery is never turned into a join, so its cost never depends on the statistics.
_IS_NEW_PROBED = (
    f"(SELECT e.id FROM {_entries.name} AS e WHERE e.bank_id = s.bank_id "
    "AND e.signal_type = s.signal_type AND e.value = s.value) IS NULL"
)
# A fetch's move on SQLite: a staged hash the bank has (or a repeat of one staged before it,
# as rows go in staging order) is skipped by the unique key's own check as it is inserted,
# not found by one more probe of that index a row beforehand. Only that key: a NULL still
# fails loudly. A skipped row spends an id (AUTOINCREMENT counts it), so the plain import,
# whose ids follow the file with no gap for a duplicate, keeps the probe.
_SKIP_KNOWN = "ON CONFLICT (bank_id, signal_type, value) DO NOTHING"
# Staged rows into the bank: first occurrence of each hash, in file order (ids, listings
# and exports follow the file), new ones only.
_MOVE_SQLITE = (
    f"INSERT INTO {_entries.name} ({_COLS}) SELECT {_S_COLS} FROM {_STAGE} AS s "
    f"WHERE s.rowid IN (SELECT min(rowid) FROM {_STAGE} GROUP BY signal_type, value) "
    f"AND {_IS_NEW} ORDER BY s.rowid"
)
_MOVE_POSTGRES = (
    f"INSERT INTO {_entries.name} ({_COLS}) SELECT {_S_COLS} FROM ("
    f"SELECT DISTINCT ON (signal_type, value) {_COLS}, ctid AS pos FROM {_STAGE} "
    f"ORDER BY signal_type, value, ctid) AS s WHERE {_IS_NEW} ORDER BY s.pos"
)

T = TypeVar("T")
StagedRow = tuple[str, str, str | None, str | None, str]
"""A row for :func:`add_rows`: signal type, stored value (not a digest type's whole value),
source, category, and ``extra`` already as JSON text."""


@dataclass(frozen=True)
class Moved:
    """How :func:`add_narrow_rows`' staged rows pair with the entries they became.

    ``first``: on SQLite, when every staged row became a new entry, the id the staging
    table's first row got; the k-th (``rowid`` k) has id ``first + k - 1``. ``table``: on
    PostgreSQL, a temporary table (id, signal_type, value) of the entries just added (its
    ids come from a sequence other transactions draw from too, so not by position). Both
    None: look each staged value up in the bank. A staged value that is not in ``table``
    was in the bank before (or repeated an earlier staged row).
    """

    first: int | None = None
    table: str | None = None


def batched(items: Iterator[T], n: int) -> Iterator[list[T]]:
    while chunk := list(islice(items, n)):
        yield chunk


def insert_chunk(
    conn: Connection, table: str, names: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Write one batch of rows of columns ``names`` into ``table`` (a seam: tests make it
    fail midway): ``COPY`` on PostgreSQL; on SQLite, columns as JSON arrays (see
    :func:`_insert_columns`) or, for a few rows, ``executemany``."""
    cols = ", ".join(names)
    if conn.dialect.name == "postgresql":
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    elif len(rows) < _COLUMNS_FROM or not _insert_columns(conn, table, names, rows):
        marks = ", ".join("?" * len(names))
        conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(rows))


_COLUMNS_FROM = 64  # rows: fewer go through executemany, whose fixed cost is lower
_KEYED = "safespace_stage_column_%d"  # SQLite: one varying column of a batch, by position
_JSON_TEXT = {str, type(None)}  # what a JSON array hands back to SQLite exactly as bound
# Each varying column past the first costs a keyed table and a lookup a row: with two (a
# fetch's value and upstream id) a million rows took 2.5 s against executemany's 5.2 s; with
# a third, long one (the JSON of each entry's own categories), 5.1 s against 4.6 s.
_MOST_VARYING = 2


def _insert_columns(
    conn: Connection, table: str, names: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> bool:
    """SQLite: insert ``rows`` with one statement that reads each column from one JSON array
    (``json_each``) instead of binding every row's values (``executemany``); False, having
    written nothing, when a column holds values other than text and NULL, or when more than
    :data:`_MOST_VARYING` columns vary (or none).

    The driver's per-row cost (bind, step, reset, in Python's ``sqlite3`` module) is several
    times the cost of inserting the row. A column with the same value in every row is bound
    once. The first varying column is scanned; each other is first put into a table keyed by
    position, which the scan looks up (``json_each`` has no index on its ``key``, so joining
    two of them directly would compare every pair). Rows get explicit rowids after the
    table's last, in order, as ``executemany`` would have given them.
    """
    columns = [list(map(itemgetter(i), rows)) for i in range(len(names))]  # C loops all
    varying = [i for i, col in enumerate(columns) if col.count(col[0]) != len(col)]
    if not 0 < len(varying) <= _MOST_VARYING:
        return False
    if any(not set(map(type, columns[i])) <= _JSON_TEXT for i in varying):
        return False
    run = conn.exec_driver_sql  # through SQLAlchemy: its errors, its events
    keyed = varying[1:]
    for i in keyed:
        run(f"CREATE TEMP TABLE IF NOT EXISTS {_KEYED % i} (k INTEGER PRIMARY KEY, v)")
        run(f"DELETE FROM {_KEYED % i}")  # a batch that failed may have left rows
        run(
            f"INSERT INTO {_KEYED % i} SELECT key, value FROM json_each(?)",
            (json.dumps(columns[i], ensure_ascii=False),),
        )
    picks = [
        "?" if i not in varying else "a.value" if i == varying[0] else f"c{i}.v"
        for i in range(len(names))
    ]
    joins = "".join(f" CROSS JOIN {_KEYED % i} AS c{i} ON c{i}.k = a.key" for i in keyed)
    after = run(f"SELECT coalesce(max(rowid), 0) FROM {table}").scalar_one()
    run(
        f"INSERT INTO {table} (rowid, {', '.join(names)}) SELECT ? + a.key, "
        f"{', '.join(picks)} FROM json_each(?) AS a{joins}",
        (
            after + 1,
            *(columns[i][0] for i in range(len(names)) if i not in varying),
            json.dumps(columns[varying[0]], ensure_ascii=False),
        ),
    )
    for i in keyed:  # emptied now: the connection keeps its temporary tables
        run(f"DELETE FROM {_KEYED % i}")
    return True


def _processor(conn: Connection, column: str) -> Callable[[Any], Any]:
    """SQLAlchemy's own conversion for a column, so stored values read back as usual."""
    proc = _entries.c[column].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return proc if proc is not None else (lambda v: v)


def add_records(s: Session, bank_id: int, records: Sequence[HashRecord]) -> AddResult:
    """Add canonical records to a bank, skipping ones it has, and log each addition.

    Rows are staged in a temporary table, then moved in one INSERT .. SELECT that keeps the
    first of any repeated hash and leaves out hashes the bank has (so no id is spent on a
    duplicate). Writers are serialised, so the rows this call added are exactly those with
    an id above the largest before it, and their change-log rows are one more INSERT ..
    SELECT.
    """
    conn = s.connection()
    when, json = _processor(conn, "created_at"), _processor(conn, "extra")
    enabled = _processor(conn, "enabled")(True)
    now = utcnow()
    created, no_extra = when(now), json({})
    whole: dict[tuple[str, str], str] = {}  # (type, stored digest) -> canonical value

    def chunks() -> Iterator[list[tuple[Any, ...]]]:
        for chunk in batched(iter(records), CHUNK):
            yield [
                (
                    bank_id, r.signal_type, _stored(r, whole), enabled, r.source, r.category,
                    r.note, None if r.added_at is None else when(r.added_at),
                    json(dict(r.extra)) if r.extra else no_extra,
                    created,
                )
                for r in chunk
            ]  # fmt: skip

    added = _stage_and_move(s, bank_id, now, chunks(), whole)
    return AddResult(added, len(records) - added)


def add_rows(s: Session, bank_id: int, rows: Sequence[StagedRow]) -> int:
    """:func:`add_records` for rows already in the value column's form (a peer fetch's path:
    no record objects, ``extra`` serialised by the caller); returns how many were added.

    No type among ``rows`` may be ``digest_stored`` (their whole values need records)."""
    conn = s.connection()
    when = _processor(conn, "created_at")
    enabled = _processor(conn, "enabled")(True)
    now = utcnow()
    created = when(now)

    def chunks() -> Iterator[list[tuple[Any, ...]]]:
        for start in range(0, len(rows), CHUNK):
            yield [
                (bank_id, t, v, enabled, src, cat, None, None, extra, created)
                for t, v, src, cat, extra in rows[start : start + CHUNK]
            ]

    return _stage_and_move(s, bank_id, now, chunks(), {})


NarrowRow = tuple[Any, ...]
"""A row for :func:`add_narrow_rows`: signal type, stored value, category, ``extra`` as JSON
text, then the values of the caller's own staged columns."""
_NARROW = ("signal_type", "value", "category", "extra")
_type_and_value = itemgetter(0, 1)
_value = itemgetter(1)


def _in_value_order(rows: Sequence[NarrowRow]) -> list[NarrowRow]:
    """``rows`` sorted by (type, value), stably (repeats keep their order). A fetch's rows
    are nearly always of one type: then the value alone is the key, a string compared in C,
    three times as quick as a tuple of two."""
    key = _value if len({r[0] for r in rows}) <= 1 else _type_and_value
    return sorted(rows, key=key)


def add_narrow_rows(
    s: Session,
    bank_id: int,
    rows: Sequence[NarrowRow],
    *,
    source: str | None,
    columns: Sequence[tuple[str, str]] = (),
    then: Callable[[Connection, str, Moved], None] | None = None,
    extra_around: tuple[str, str, str] | None = None,
) -> int:
    """:func:`add_rows` with narrow staged rows: only what differs per entry goes through
    the driver (:func:`insert_chunk`); the bank, ``source``, ``enabled`` and the time are
    filled in by the move. ``columns`` (name, SQL type) are the
    caller's own per-row values staged beside each entry, and ``then(conn, stage, moved)``
    runs before the staging table goes (a peer fetch maps upstream ids in the same pass);
    :class:`Moved` says how the staged rows can be paired with their new entries without
    looking each value up in the bank. ``extra_around`` (head, column, tail): a row staged
    with ``extra`` NULL gets ``head``, the JSON string of its staged ``column``, then ``tail``,
    written by the database (a peer fetch's rows differ only in their upstream id there, and
    a column that varies costs far more to stage than one that is NULL throughout).

    Rows are staged, and so become entries, in (signal type, value) order, not the order
    given (the first of a repeated hash is still the one kept): the bank's key (bank, type,
    value) then grows in key order, each index page written once a call, where rows in arrival
    order (random, for hashes) touched index pages all over a big bank, more than the page
    cache holds.

    On SQLite a hash the bank already has, or a repeat, is skipped by the unique key as it
    is inserted (:data:`_SKIP_KNOWN`), and spends an id; ids are never reused either way.

    Returns how many entries were added. No type among ``rows`` may be ``digest_stored``.
    """
    names = (*_NARROW, *(n for n, _ in columns))
    if extra_around is not None and extra_around[1] not in names:
        raise ValueError(f"no staged column {extra_around[1]!r}")
    rows = _in_value_order(rows)
    conn = s.connection()
    postgres = conn.dialect.name == "postgresql"
    before = s.scalar(select(func.coalesce(func.max(BankEntry.id), 0))) or 0
    now = utcnow()
    if postgres:  # the probes' cost estimates pass JIT's thresholds, and compiling the
        # statements (100-140 ms each) cost more than it saved; for this transaction only
        conn.exec_driver_sql("SET LOCAL jit = off")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGE}")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {_STAGE} AS SELECT {', '.join(_NARROW)} FROM {_entries.name} "
        + ("WITH NO DATA" if postgres else "WHERE 0")
    )
    for name, kind in columns:
        conn.exec_driver_sql(f"ALTER TABLE {_STAGE} ADD COLUMN {name} {kind}")
    for start in range(0, len(rows), 50_000):
        insert_chunk(conn, _STAGE, names, rows[start : start + 50_000])
    extra = "extra"
    if extra_around is not None:
        quoted = (
            f"to_json(CAST({extra_around[1]} AS TEXT))::text"
            if postgres
            else f"json_quote({extra_around[1]})"
        )
        around = f"CAST(:extra_head AS TEXT) || {quoted} || CAST(:extra_tail AS TEXT)"
        extra = f"COALESCE(extra, {f'CAST({around} AS JSON)' if postgres else around})"
    filled = (
        f"{int(bank_id)} AS bank_id, signal_type, value, {'TRUE' if postgres else '1'} AS "
        f"enabled, CAST(:source AS VARCHAR(256)) AS source, category, {extra} AS extra, "
        ":created AS created_at"
    )
    into = [c for c in _COLUMNS if c not in ("note", "added_at")]  # those stay NULL
    into_cols, s_cols = ", ".join(into), ", ".join(f"s.{c}" for c in into)
    if postgres:
        # the new entries' ids come back (RETURNING) into a table of their own: the change
        # log and the caller's pairing read that, not the bank (a scan, or a probe a row)
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_MOVED}")
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE {_MOVED} (id BIGINT, signal_type VARCHAR(16), value VARCHAR(256))"
        )
        move = (
            f"WITH moved AS (INSERT INTO {_entries.name} ({into_cols}) SELECT {s_cols} FROM ("
            f"SELECT DISTINCT ON (signal_type, value) {filled}, ctid AS pos FROM {_STAGE} "
            f"ORDER BY signal_type, value, ctid) AS s WHERE {_IS_NEW_PROBED} "
            "ORDER BY s.signal_type, s.value"  # the staging order, and no second sort
            f" RETURNING id, signal_type, value) INSERT INTO {_MOVED} SELECT * FROM moved"
        )
    else:
        move = (
            f"INSERT INTO {_entries.name} ({into_cols}) SELECT {s_cols} FROM "
            f"(SELECT {filled}, rowid AS pos FROM {_STAGE}) AS s ORDER BY s.pos "
            f"{_SKIP_KNOWN}"
        )
    params = {"source": source, "created": now}
    if extra_around is not None:
        params |= {"extra_head": extra_around[0], "extra_tail": extra_around[2]}
    moving = conn.execute(
        text(move).bindparams(
            bindparam("source", type_=String()), bindparam("created", type_=UTCDateTime())
        ),
        params,
    )
    mine = _added_since(bank_id, before)
    first = None if postgres else _first_of_block(conn, moving, len(rows))
    at = bindparam("now", type_=UTCDateTime())
    log: Executable
    head = f"INSERT INTO {_changes.name} (bank_id, entry_id, op, at) SELECT {int(bank_id)}, "
    if postgres:
        log = text(head + f"id, 'add', :now FROM {_MOVED} ORDER BY id").bindparams(at)
    elif first is not None:  # the new ids by position: no read of the rows just written
        log = text(head + f"{first - 1} + rowid, 'add', :now FROM {_STAGE} ORDER BY rowid")
        log = log.bindparams(at)
    else:
        log = _log_of_adds(mine, now)
    result = conn.execute(log, {"now": now})
    if then is not None:
        then(conn, _STAGE, Moved(table=_MOVED) if postgres else Moved(first=first))
    conn.exec_driver_sql(f"DROP TABLE {_STAGE}")
    if postgres:
        conn.exec_driver_sql(f"DROP TABLE {_MOVED}")
    count = result.rowcount
    if count is None or count < 0:
        count = s.scalar(select(func.count()).select_from(BankEntry).where(mine)) or 0
    return int(count)


def _first_of_block(conn: Connection, moving: CursorResult[Any], staged: int) -> int | None:
    """On SQLite, right after a move in staging order: the id of the first new entry when
    the ``staged`` rows (``rowid`` 1 to ``staged``) all became entries, with consecutive ids
    (one writer at a time, and one statement hands out ids in the order it inserts); None
    when any was left out (already in the bank, or a repeat).

    The move's own count of inserted rows and the id of its last say so: nothing is read."""
    if not staged or moving.rowcount != staged or not moving.lastrowid:
        return None
    first_row, last_row = conn.exec_driver_sql(  # two lookups (min and max together scan)
        f"SELECT (SELECT min(rowid) FROM {_STAGE}), (SELECT max(rowid) FROM {_STAGE})"
    ).one()
    return int(moving.lastrowid) - staged + 1 if (first_row, last_row) == (1, staged) else None


def _stage_and_move(
    s: Session,
    bank_id: int,
    now: Any,
    chunks: Iterator[list[tuple[Any, ...]]],
    whole: dict[tuple[str, str], str],
) -> int:
    """Stage rows of :data:`_COLUMNS`, move the new ones into the bank, log them; how many."""
    conn = s.connection()
    before = s.scalar(select(func.coalesce(func.max(BankEntry.id), 0))) or 0
    postgres = conn.dialect.name == "postgresql"
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGE}")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {_STAGE} AS SELECT {_COLS} FROM {_entries.name} "
        + ("WITH NO DATA" if postgres else "WHERE 0")
    )
    for rows in chunks:  # whole fills as the chunks are built
        insert_chunk(conn, _STAGE, _COLUMNS, rows)
    conn.exec_driver_sql(_MOVE_POSTGRES if postgres else _MOVE_SQLITE)
    conn.exec_driver_sql(f"DROP TABLE {_STAGE}")
    mine = _added_since(bank_id, before)
    conn.execute(_log_of_adds(mine, now))
    if whole:
        _keep_whole(s, mine, whole)
    return s.scalar(select(func.count()).select_from(BankEntry).where(mine)) or 0


def _log_of_adds(mine: ColumnElement[bool], now: Any) -> Executable:
    """The change log's 'add' rows for the entries ``mine`` selects, in id order, read back
    from the bank (a narrow move that can pair its rows by position writes them without)."""
    new = select(BankEntry.bank_id, BankEntry.id, literal("add"), literal(now, UTCDateTime()))
    return insert(_changes).from_select(
        ["bank_id", "entry_id", "op", "at"], new.where(mine).order_by(BankEntry.id)
    )


def _added_since(bank_id: int, before: int) -> ColumnElement[bool]:
    """The bank's entries with an id above ``before`` (the ones a bulk add just wrote).

    The bank is a filter (``bank_id + 0``), never the way in: the only index starting with
    it is the unique (bank, type, value) one, and a database walking that read and sorted
    the whole bank for every page of a fetch (quadratic in the bank's size); the id range
    reads just the new rows.
    """
    return (BankEntry.id > before) & (BankEntry.bank_id + 0 == bank_id)


def _stored(record: HashRecord, whole: dict[tuple[str, str], str]) -> str:
    """The value column of a record: for a ``digest_stored`` type its digest (the whole
    value is remembered in ``whole`` and written beside the entry)."""
    kind = get_signal_type(record.signal_type)
    if not kind.digest_stored:
        return record.value
    stored = kind.stored_value(record.value)
    whole[(kind.name, stored)] = record.value
    return stored


def _keep_whole(s: Session, mine: ColumnElement[bool], whole: dict[tuple[str, str], str]) -> None:
    """Write the whole values of the entries just added whose value column is a digest."""
    types = sorted({t for t, _ in whole})
    new = s.execute(
        select(BankEntry.id, BankEntry.signal_type, BankEntry.value).where(
            mine, BankEntry.signal_type.in_(types)
        )
    )
    rows = [{"entry_id": int(i), "value": whole[(t, v)]} for i, t, v in new if (t, v) in whole]
    for chunk in batched(iter(rows), CHUNK):
        s.execute(insert(_values), chunk)


def stored_pairs(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Canonical (signal type, value) pairs as the value column holds them."""
    return [(t, get_signal_type(t).stored_value(v)) for t, v in pairs]


def pairs_condition(pairs: Sequence[tuple[str, str]]) -> ColumnElement[bool]:
    """Entries with one of these stored (signal type, value) pairs, as a condition the bank's
    key (bank, type, value) answers.

    A row value ``(signal_type, value) IN (...)`` alone reads the same, but for two pairs or
    more SQLite uses only the bank from the key and scans every entry of the bank (at
    1,000,000 entries 341 ms for two pairs and 604 ms for 50, against 1.3 and 3.3 ms here;
    one pair was searched through the key). ``signal_type IN (...) AND value IN (...)`` is
    searched through the whole key; with more than one type it is a superset of the pairs,
    so the row value stays beside it as the exact filter.
    """
    kinds = sorted({kind for kind, _ in pairs})
    values = sorted({value for _, value in pairs})
    if len(kinds) == 1:
        return (BankEntry.signal_type == kinds[0]) & BankEntry.value.in_(values)
    return (
        BankEntry.signal_type.in_(kinds)
        & BankEntry.value.in_(values)
        & sql_tuple(BankEntry.signal_type, BankEntry.value).in_(list(pairs))
    )


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
    for chunk in batched(iter(stored_pairs(pairs)), 500):
        removed += delete_where(s, (BankEntry.bank_id == bank_id) & pairs_condition(chunk))
    return removed


def whole_values(s: Session, ids: Sequence[int]) -> dict[int, str]:
    """Entry id -> whole canonical value, for those of ``ids`` whose value column is a digest."""
    out: dict[int, str] = {}
    for chunk in batched(iter(ids), CHUNK):
        rows = s.execute(
            select(BankEntryValue.entry_id, BankEntryValue.value).where(
                BankEntryValue.entry_id.in_(chunk)
            )
        )
        out.update((int(i), str(v)) for i, v in rows)
    return out
