"""Opening databases, migrations, and the schema's own guarantees."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safespace.errors import ConfigError
from safespace.store import (
    Bank,
    BankEntry,
    BankThreshold,
    Base,
    Change,
    Database,
    open_database,
    upgrade,
)
from safespace.store._database import BULK_CHECKPOINT_PAGES, CHECKPOINT_PAGES, alembic_config
from waiting import WAIT_SECONDS


def test_models_and_migrations_agree(database: Database) -> None:
    with database.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_migrated_to_head_and_reopening_is_a_no_op(db_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    for _ in range(2):
        db = open_database(db_url)
        with db.session() as s:
            assert s.scalar(text("SELECT version_num FROM alembic_version")) == head
        tables = set(inspect(db.engine).get_table_names())
        assert {"banks", "bank_entries", "changes", "alembic_version"} <= tables
        db.close()


def test_sqlite_creates_folder_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "safespace.db"
    db = open_database(f"sqlite:///{path}")
    assert path.exists()
    with db.session() as s:
        assert s.scalar(text("PRAGMA journal_mode")) == "wal"
        assert s.scalar(text("PRAGMA foreign_keys")) == 1
        assert s.scalar(text("PRAGMA busy_timeout")) >= 1000
    db.close()


def _write_entries(s: Session, bank_id: int, start: int, count: int) -> None:
    """``count`` entries with long notes: several MiB of pages for the log."""
    s.execute(
        insert(BankEntry),
        [
            {"bank_id": bank_id, "signal_type": "md5", "value": f"{i:032x}", "note": "n" * 900}
            for i in range(start, start + count)
        ],
    )


def test_a_bulk_write_leaves_the_log_to_the_next_ordinary_write(tmp_path: Path) -> None:
    """A bulk commit does not checkpoint SQLite's write-ahead log (the database file keeps
    its size, the pages are in the log); the next ordinary commit does; an ordinary commit of
    the same rows checkpoints at once. Either way every row is there."""
    path = tmp_path / "safespace.db"
    db = open_database(f"sqlite:///{path}")
    many = (CHECKPOINT_PAGES * 4096) // 900 + 2000  # past an ordinary commit's threshold
    with db.transaction() as s:
        s.add(Bank(name="b"))
        s.flush()
        bank_id = s.scalar(select(Bank.id))
        assert bank_id is not None
    with db.transaction(bulk=True) as s:
        assert s.scalar(text("PRAGMA wal_autocheckpoint")) == BULK_CHECKPOINT_PAGES
        bulk_connection = s.connection().connection.driver_connection
        before = path.stat().st_size
        _write_entries(s, bank_id, 0, many)
    assert path.stat().st_size == before  # still in the log
    with db.session() as s:  # and readers see it
        assert s.scalar(select(func.count()).select_from(BankEntry)) == many
    with db.transaction() as s:  # an ordinary write, on the same pooled connection
        assert s.connection().connection.driver_connection is bulk_connection
        assert s.scalar(text("PRAGMA wal_autocheckpoint")) == CHECKPOINT_PAGES
        s.add(Bank(name="c"))
    assert path.stat().st_size > before + many * 900  # copied into the database file
    before = path.stat().st_size
    with db.transaction() as s:
        _write_entries(s, bank_id, many, many)
    assert path.stat().st_size > before + many * 900
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(BankEntry)) == 2 * many
    db.close()


def test_sqlite_in_memory_works() -> None:
    db = open_database("sqlite://")
    with db.transaction() as s:
        s.add(Bank(name="m"))
    with db.session() as s:
        assert s.scalars(select(Bank.name)).all() == ["m"]
    db.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "bad database URL"),
        ("mysql://u@localhost/db", "unsupported database 'mysql'"),
        ("postgresql+nodriver://u@localhost/db", "no database driver"),
    ],
)
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_database(url)


def test_unreachable_postgres_is_a_config_error_without_password() -> None:
    with pytest.raises(ConfigError, match="cannot open database") as info:
        open_database("postgresql://someone:s3cret@127.0.0.1:1/nothing")
    assert "s3cret" not in str(info.value)


def test_bare_postgres_scheme_uses_psycopg3() -> None:
    from safespace.store._database import _parse_url

    assert _parse_url("postgresql://u@h/d").drivername == "postgresql+psycopg"
    assert _parse_url("postgres://u@h/d").drivername == "postgresql+psycopg"


def test_deleting_a_bank_cascades_to_entries(database: Database) -> None:
    with database.transaction() as s:
        bank = Bank(name="b")
        s.add(bank)
        s.flush()
        s.add(BankEntry(bank_id=bank.id, signal_type="md5", value="0" * 32))
    with database.transaction() as s:
        s.execute(Bank.__table__.delete())
    with database.session() as s:
        assert s.scalar(select(BankEntry.id)) is None


def test_schema_rejects_bad_rows(database: Database) -> None:
    for values in ({"name": "x", "kind": "weird"},):
        with pytest.raises(IntegrityError), database.transaction() as s:
            s.execute(insert(Bank).values(**values, enabled=True, description=""))
    with pytest.raises(IntegrityError), database.transaction() as s:
        s.add(BankThreshold(bank_id=12345, signal_type="pdq", name="distance", value=3))
    with database.transaction() as s:
        s.add(Bank(name="y", kind="normal", enabled=True, description=""))
        bank_id = s.scalar(select(Bank.id).where(Bank.name == "y"))
    with pytest.raises(IntegrityError), database.transaction() as s:
        s.add(BankThreshold(bank_id=bank_id, signal_type="pdq", name="distance", value=-1))
    with pytest.raises(IntegrityError), database.transaction() as s:
        s.add(BankEntry(bank_id=12345, signal_type="md5", value="0" * 32))


def test_ids_are_never_reused(database: Database) -> None:
    with database.transaction() as s:
        s.add(Bank(name="a"))
    with database.transaction() as s:
        first = s.scalar(select(Bank.id))
        s.execute(Bank.__table__.delete())
    with database.transaction() as s:
        bank = Bank(name="b")
        s.add(bank)
        s.flush()
        assert first is not None
        assert bank.id > first


def test_a_failed_transaction_writes_nothing(database: Database) -> None:
    def failing() -> None:
        with database.transaction() as s:
            s.add(Bank(name="gone"))
            s.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing()
    with database.session() as s:
        assert s.scalar(select(Bank.id)) is None


def test_writers_are_serialised_so_log_order_is_commit_order(db_url: str) -> None:
    """A second writer waits for the first: seq numbers come out in commit order."""
    db = open_database(db_url)
    first_in = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def slow_writer() -> None:
        with db.transaction() as s:
            first_in.set()
            release.wait(WAIT_SECONDS)
            s.execute(insert(Change).values(bank_id=1, op="bank-update"))
            order.append("slow")

    t = threading.Thread(target=slow_writer)
    t.start()
    assert first_in.wait(WAIT_SECONDS)
    second_done = threading.Event()

    def fast_writer() -> None:
        with db.transaction() as s:
            s.execute(insert(Change).values(bank_id=2, op="bank-update"))
            order.append("fast")
        second_done.set()

    t2 = threading.Thread(target=fast_writer)
    t2.start()
    assert not second_done.wait(0.5)  # blocked behind the first writer
    release.set()
    t.join(WAIT_SECONDS)
    t2.join(WAIT_SECONDS)
    assert order == ["slow", "fast"]
    with db.session() as s:
        assert s.execute(select(Change.bank_id).order_by(Change.seq)).scalars().all() == [1, 2]
    db.close()


def test_upgrade_is_idempotent(database: Database) -> None:
    upgrade(database)
    upgrade(database)
    with database.session() as s:
        assert s.scalar(text("SELECT count(*) FROM alembic_version")) == 1


def test_opening_does_not_wait_for_a_running_write(db_url: str) -> None:
    """A worker starting during a long import opens the (already migrated) database."""
    first = open_database(db_url)
    with first.transaction() as s:
        s.add(Bank(name="importing"))
        s.flush()
        second = open_database(db_url)
        with second.session() as other:
            assert other.scalar(select(Bank.id)) is None  # not committed yet
        second.close()
    first.close()
