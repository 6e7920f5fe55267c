"""Opening the database: engine set-up per backend, sessions, write transactions, migrations.

Writers are serialised (SQLite ``BEGIN IMMEDIATE``; a PostgreSQL transaction-level advisory
lock), which keeps change-log sequence numbers in commit order: a follower that has read up
to ``seq`` N can never later see a smaller one appear.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from safespace.errors import ConfigError, ServiceUnavailable

from ._models_runtime import InstanceIdentity

__all__ = ["Database", "open_database"]

_MIGRATIONS = Path(__file__).with_name("migrations")
_WRITE_OPTION = "safespace_write"
_BULK_OPTION = "safespace_bulk"
_CHECKPOINT_INFO = "safespace_wal_autocheckpoint"  # the threshold a connection has now
# SQLite copies the write-ahead log into the database (a checkpoint) when a commit leaves
# more than this many pages in it: SQLite's own default, for every ordinary write.
CHECKPOINT_PAGES = 1000
# A bulk write's commits (a fetch's groups of 100,000 entries) checkpoint only past 256 MiB
# of log. Each group touches index pages all over a big bank, so checkpointing after every
# group copied (and synced) nearly the whole index again and again; one checkpoint every few
# groups copies each page once for all of them. The next ordinary commit checkpoints the rest.
BULK_CHECKPOINT_PAGES = 65536
# Arbitrary but fixed advisory-lock keys ("SafeSpace" in spirit): writes, and migrations.
_PG_WRITE_LOCK = 0x5AFE_5BACE
_PG_MIGRATE_LOCK = 0x5AFE_5BACF
SQLITE_BUSY_TIMEOUT_MS = 30_000


class Database:
    """An engine plus sessions. ``transaction()`` for writes, ``session()`` for reads."""

    def __init__(self, engine: Engine, *, file: Path | None = None) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # A SQLite file: which file was opened, so a write is never acknowledged into a
        # file that was deleted or replaced under us (it would be lost), or made read-only.
        self._file = file
        self._identity = _identity(file) if file is not None else None
        self._instance_id: str | None = None

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @property
    def url(self) -> str:
        """The URL with any password hidden, for logs and messages."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for reading; anything it changes is rolled back."""
        with self._sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def transaction(self, *, bulk: bool = False) -> Iterator[Session]:
        """A write transaction holding the database's single writer lock; commits on success.

        ``bulk``: one of a run of large transactions (a fetch's groups). On SQLite its commit
        leaves up to :data:`BULK_CHECKPOINT_PAGES` in the write-ahead log instead of
        checkpointing it; the first ordinary write after the run checkpoints. Nothing else
        changes: the commit is as durable, and readers see it at once.
        """
        with self._sessions() as session:
            session.connection(execution_options={_WRITE_OPTION: True, _BULK_OPTION: bulk})
            if self.dialect == "postgresql":
                session.execute(select(func.pg_advisory_xact_lock(_PG_WRITE_LOCK)))
            try:
                yield session
                self.check_file()
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def instance_id(self) -> str:
        """This SafeSpace's id among federated peers (made once, by migration 0029; the same
        for every machine on the database, and for a copy of it)."""
        if self._instance_id is None:
            with self.session() as s:
                found = s.scalar(select(InstanceIdentity.instance_id))
            if found is None:
                raise ConfigError(f"{self.url}: no instance identity (migrate the database)")
            self._instance_id = str(found)
        return self._instance_id

    def check_file(self) -> None:
        """:class:`ServiceUnavailable` when the SQLite file opened is gone, replaced or
        read-only: what is written now would be lost or refused."""
        if self._file is None:
            return
        try:
            st = self._file.stat()
        except OSError:
            raise ServiceUnavailable(
                "the database file is gone (was the data folder deleted?); nothing was saved",
                _RETRY_SECONDS,
            ) from None
        if (st.st_dev, st.st_ino) != self._identity:
            raise ServiceUnavailable(
                "the database file was replaced while in use; nothing was saved; restart",
                _RETRY_SECONDS,
            )
        writable = st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        if not writable or not os.access(self._file, os.W_OK):
            raise ServiceUnavailable(
                "the database file is read-only; nothing was saved", _RETRY_SECONDS
            )

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url!r})"


DEFAULT_POOL_SIZE = 10
_RETRY_SECONDS = 5.0


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def open_database(
    url: str, *, migrate: bool = True, echo: bool = False, pool_size: int = DEFAULT_POOL_SIZE
) -> Database:
    """Connect to ``url`` (SQLite or PostgreSQL) and bring its schema up to date.

    ``pool_size`` connections are kept open, and as many again may be opened at busy times.
    SQLAlchemy's default of 5 made a server under load open and close a connection for most
    requests that read the database (connecting costs more than the query).
    """
    parsed = _parse_url(url)
    pool = {"pool_size": pool_size, "max_overflow": pool_size}
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = _sqlite_engine(parsed, echo=echo, pool=pool)
        else:
            engine = create_engine(parsed, pool_pre_ping=True, echo=echo, **pool)
    except NoSuchModuleError:
        raise ConfigError(
            f"no database driver for {parsed.drivername!r}; "
            "for PostgreSQL install safespace[postgres] (psycopg 3)"
        ) from None
    except ImportError as exc:
        raise ConfigError(f"database driver not installed: {exc}") from None
    db = Database(engine, file=_sqlite_file(parsed))
    if migrate:
        try:
            upgrade(db)
        except OperationalError as exc:
            db.close()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise ConfigError(f"cannot open database {db.url}: {reason}") from None
    return db


def upgrade(db: Database, revision: str = "head") -> None:
    """Run the Alembic migrations in one transaction, one process at a time.

    An up-to-date schema is seen with a plain read first, so opening a database never waits
    behind a long write (an import) in another process.
    """
    if revision == "head" and _current_revision(db) == _head_revision():
        return
    with db.engine.connect() as conn:
        conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            if db.dialect == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(_PG_MIGRATE_LOCK)))
            command.upgrade(alembic_config(conn), revision)


def _current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code: no alembic.ini needed at run time."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("bad database URL (expected e.g. sqlite:///path/safespace.db)") from None
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql") and parsed.drivername in ("postgres", "postgresql"):
        # The bare scheme means psycopg2 to SQLAlchemy; SafeSpace ships with psycopg 3.
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return parsed


def _sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL (a plain path, not a ``file:`` URI or in memory)."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or "mode=memory" in database or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _create_private(path: Path) -> None:
    """The database's folder (0700) and an empty file (0600) for SQLite to open: SQLite gives
    its -wal, -shm and journal files the database file's permissions."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):  # an existing one keeps its permissions
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_engine(url: URL, *, echo: bool, pool: dict[str, int]) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in database
    kwargs: dict[str, Any] = dict(pool)
    if in_memory:
        # One shared connection, or every session would see its own empty database.
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    elif not database.startswith("file:"):
        _create_private(Path(database).expanduser())
    engine = create_engine(url, echo=echo, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below issue BEGIN itself (pysqlite's own is lazy).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if not in_memory:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA cache_size = -65536")  # 64 MiB: bulk imports touch big indexes
            # No memory-mapped reads: a file truncated or gone under a mapping is a SIGBUS
            # that kills the worker, where a read() is an error answered 503.
            cur.execute("PRAGMA mmap_size = 0")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        write = options.get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
        if write and not in_memory:  # only a write's commit checkpoints
            pages = BULK_CHECKPOINT_PAGES if options.get(_BULK_OPTION) else CHECKPOINT_PAGES
            if conn.info.get(_CHECKPOINT_INFO, CHECKPOINT_PAGES) != pages:  # per connection
                conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {pages}")
                conn.info[_CHECKPOINT_INFO] = pages

    return engine
