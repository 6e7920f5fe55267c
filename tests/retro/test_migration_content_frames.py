"""Migration 0027 (video frames in the content-hash store) on SQLite and PostgreSQL: up, it
adds the nullable ``content_signals.frame_seconds`` and keeps the rows there; down to 0026
the column is gone and every row survives; then up to head again works."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import text

from safespace.store import Database, open_database, upgrade
from safespace.store._database import alembic_config

NOW = "2026-01-01 00:00:00"


def _columns(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return {c["name"] for c in sa.inspect(conn).get_columns("content_signals")}


def _rows(db: Database) -> list[tuple[str, str]]:
    with db.session() as s:
        return [
            (str(c), str(v))
            for c, v in s.execute(text("SELECT content_id, value FROM content_signals ORDER BY id"))
        ]


def test_migration_0027_adds_and_drops_frame_seconds_keeping_rows(db_url: str) -> None:
    from alembic import command

    db = open_database(db_url, migrate=False)
    try:
        upgrade(db, "0026")
        assert "frame_seconds" not in _columns(db)
        with db.transaction() as s:
            s.execute(
                text(
                    "INSERT INTO content_signals (content_id, signal_type, value, first_seen_at, "
                    "last_seen_at, expires_at) VALUES ('old', 't', 'ab', :t, :t, :t)"
                ),
                {"t": NOW},
            )
        upgrade(db, "0027")
        assert "frame_seconds" in _columns(db)
        with db.transaction() as s:
            s.execute(
                text(
                    "INSERT INTO content_signals (content_id, signal_type, value, first_seen_at, "
                    "last_seen_at, expires_at, frame_seconds) VALUES ('clip', 't', 'cd', :t, :t, "
                    ":t, 2.5)"
                ),
                {"t": NOW},
            )
            seconds = s.execute(
                text("SELECT content_id, frame_seconds FROM content_signals ORDER BY id")
            ).all()
        assert [tuple(r) for r in seconds] == [("old", None), ("clip", 2.5)]
        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0026")
        assert "frame_seconds" not in _columns(db)
        assert _rows(db) == [("old", "ab"), ("clip", "cd")]
        upgrade(db)  # head again
        assert "frame_seconds" in _columns(db)
        assert _rows(db) == [("old", "ab"), ("clip", "cd")]
    finally:
        db.close()
