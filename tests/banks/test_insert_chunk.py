"""``banks._bulk.insert_chunk`` writes a batch of staged rows exactly as given, in order.

On SQLite a batch of many rows with one or two varying columns goes in as one JSON array per
varying column (``json_each``), and a column with one value in every row is bound once; a
few rows, more varying columns, or a column of values other than text and NULL, go through
``executemany``. PostgreSQL uses ``COPY``. Whichever way,
the table reads back the same rows, with rowids in the order given after the ones it had.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from safespace.banks import _bulk as bulk
from safespace.store import Database, open_database

NAMES = ("signal_type", "value", "category", "extra", "upstream_id")


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    """A database on SQLite alone, for what only SQLite's path does."""
    db = open_database(f"sqlite:///{tmp_path / 'chunks.db'}")
    try:
        yield db
    finally:
        db.close()


def _create(conn: Connection) -> None:
    conn.exec_driver_sql(
        "CREATE TEMP TABLE chunk_test (signal_type VARCHAR(16), value VARCHAR(256), "
        "category VARCHAR(256), extra TEXT, upstream_id VARCHAR(256))"
    )


def _read(conn: Connection) -> list[tuple[Any, ...]]:
    order = "rowid" if conn.dialect.name == "sqlite" else "ctid"
    return [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM chunk_test ORDER BY {order}")]


def _two(start: int, count: int) -> list[tuple[Any, ...]]:
    """Two columns vary (a fetch's value and upstream id), with NULLs, quotes, escapes and
    other than ASCII among them; the others hold one value each."""
    return [
        (
            "md5",
            f"{i:032x}",
            None,
            None,
            None if i % 3 == 0 else f'id "{i}" \\ ünï\n✓' if i % 2 else str(i),
        )
        for i in range(start, start + count)
    ]


def _rows(start: int, count: int) -> list[tuple[Any, ...]]:
    """Varying text, look-alike and non-ASCII text, NULLs among text, quotes and escapes."""
    return [
        (
            "md5" if i % 7 else "sha256",
            f"{i:032x}",
            None if i % 3 else f'cat "{i}" \\ ünïcødé ✓',
            None if i % 2 else f'{{"exchange": "peer", "upstream_id": "{i}"}}',
            str(i) if i % 5 else f"id\n{i}\t€",
        )
        for i in range(start, start + count)
    ]


def _one_varying(start: int, count: int) -> list[tuple[Any, ...]]:
    """Only the value varies; a column of NULLs and a column of one text."""
    return [("md5", f"{i:032x}", None, None, "same") for i in range(start, start + count)]


def _identical(start: int, count: int) -> list[tuple[Any, ...]]:
    """No column varies: every row is the same, and every one is written."""
    return [("md5", "a" * 32, None, "{}", "1")] * count


@pytest.mark.parametrize("shape", [_two, _rows, _one_varying, _identical])
@pytest.mark.parametrize("count", [1, 63, 64, 500])
def test_rows_read_back_as_given_in_order(database: Database, count: int, shape: Any) -> None:
    rows = shape(0, count)
    with database.transaction() as s:
        conn = s.connection()
        _create(conn)
        bulk.insert_chunk(conn, "chunk_test", NAMES, rows)
        assert _read(conn) == rows


def test_batches_follow_the_rows_already_there(database: Database) -> None:
    with database.transaction() as s:
        conn = s.connection()
        _create(conn)
        bulk.insert_chunk(conn, "chunk_test", NAMES, _two(0, 10))  # executemany on SQLite
        bulk.insert_chunk(conn, "chunk_test", NAMES, _two(10, 300))  # JSON arrays
        bulk.insert_chunk(conn, "chunk_test", NAMES, _rows(310, 200))  # executemany
        bulk.insert_chunk(conn, "chunk_test", NAMES, _two(510, 100))
        assert _read(conn) == [*_two(0, 310), *_rows(310, 200), *_two(510, 100)]
        if conn.dialect.name == "sqlite":  # the move and the upstream mapping use rowids
            rowids = [r[0] for r in conn.exec_driver_sql("SELECT rowid FROM chunk_test")]
            assert rowids == list(range(1, 611))


def test_a_column_of_numbers_keeps_its_values(database: Database) -> None:
    with database.transaction() as s:
        conn = s.connection()
        conn.exec_driver_sql("CREATE TEMP TABLE chunk_test (n BIGINT, t VARCHAR(20))")
        rows = [(2**62 + i, f"t{i}") for i in range(100)]  # past a double's exact integers
        bulk.insert_chunk(conn, "chunk_test", ("n", "t"), rows)
        assert _read(conn) == rows


def test_sqlite_reads_columns_from_json_arrays(sqlite_database: Database) -> None:
    """Many rows with at most two varying columns go in as JSON arrays on SQLite (not a
    silent fallback to executemany); with more, executemany is the quicker and is used."""
    with sqlite_database.transaction() as s:
        conn = s.connection()
        _create(conn)
        statements: list[str] = []
        raw: Any = conn.connection.driver_connection
        raw.set_trace_callback(statements.append)
        try:
            bulk.insert_chunk(conn, "chunk_test", NAMES, _two(0, 100))
            bulk.insert_chunk(conn, "chunk_test", NAMES, _rows(100, 100))
        finally:
            raw.set_trace_callback(None)
        inserts = [x for x in statements if x.lstrip().startswith("INSERT INTO chunk_test")]
        assert "json_each" in inserts[0]  # two varying columns: one statement
        assert all("json_each" not in x for x in inserts[1:])  # four: one per row
        assert len(inserts) == 1 + 100
        assert _read(conn) == [*_two(0, 100), *_rows(100, 100)]


def test_a_failed_batch_leaves_nothing_for_the_next(sqlite_database: Database) -> None:
    """On SQLite a batch whose insert fails (a NULL where the table refuses one) writes no
    row, and a later batch in the same transaction is written whole, as if it came first
    (PostgreSQL ends the transaction at a failed ``COPY``)."""
    with sqlite_database.transaction() as s:
        conn = s.connection()
        conn.exec_driver_sql(
            "CREATE TEMP TABLE chunk_test (value TEXT NOT NULL, upstream TEXT NOT NULL)"
        )
        bad = [(f"{i:032x}", None if i == 70 else str(i)) for i in range(100)]
        with pytest.raises(IntegrityError):
            bulk.insert_chunk(conn, "chunk_test", ("value", "upstream"), bad)
        good = [(f"{i:032x}", f"up-{i}") for i in range(200, 300)]
        bulk.insert_chunk(conn, "chunk_test", ("value", "upstream"), good)
        assert _read(conn) == good
