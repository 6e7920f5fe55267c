"""Migration 0024 (text-match spans) goes down cleanly on SQLite and PostgreSQL.

Down to 0023 the span columns are gone and every row survives: the match event, the review
item (its ``matched_value`` cut to the old 128 characters, which PostgreSQL would otherwise
refuse to narrow) and its decisions. On SQLite the downgrade must not rebuild
``review_items`` in a batch: dropping the old table cascades deletes to ``review_decisions``.
Every table's row count is compared before and after. Then up to head again works.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy import text

from safespace.store import Database, open_database, upgrade
from safespace.store._database import alembic_config

NOW = "2026-01-01 00:00:00"
LONG_EXPRESSION = "example.org/" + "listed/" * 40  # a URL expression over 128 characters
SPANS = [{"event_id": 1, "signal_type": "t", "expression": "example.org/p", "start": 4, "end": 17}]


def _columns(db: Database, table: str) -> set[str]:
    with db.engine.connect() as conn:
        return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def _counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        tables = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
        return {
            t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()) for t in tables
        }


def _fill(db: Database) -> dict[str, Any]:
    """Rows at 0024 in every table the migration touches, and the ones that refer to them."""
    with db.transaction() as s:
        s.execute(
            text(
                "INSERT INTO match_events (content_id, bank, entry_id, signal_type, distance, "
                "query_value, created_at, expression, span_start, span_end) VALUES ('post-1', "
                "'urls', 7, 't', 0, NULL, :t, :e, 4, 17)"
            ),
            {"t": NOW, "e": LONG_EXPRESSION},
        )
        s.execute(
            text(
                "INSERT INTO review_items (source, status, priority, content_id, urls, reports, "
                "bank, entry_id, signal_type, matched_value, hashes, text_spans, created_at, "
                "updated_at) VALUES ('match', 'open', 1, 'post-1', '[]', 0, 'urls', 7, 't', "
                ":v, '{}', :spans, :t, :t)"
            ),
            {"v": LONG_EXPRESSION, "spans": json.dumps(SPANS), "t": NOW},
        )
        item = s.scalar(text("SELECT id FROM review_items WHERE content_id = 'post-1'"))
        for kind, final in (("escalate", False), ("confirm", True)):
            s.execute(
                text(
                    "INSERT INTO review_decisions (item_id, actor, role, kind, reason, final, "
                    "at) VALUES (:i, 'user:lead', 'lead', :k, 'why', :f, :t)"
                ),
                {"i": item, "k": kind, "f": final, "t": NOW},
            )
    return {"item": item}


def test_migration_0024_downgrades_keeping_rows_and_upgrades_again(db_url: str) -> None:
    from alembic import command

    db = open_database(db_url, migrate=False)
    try:
        upgrade(db, "0024")
        assert {"expression", "span_start", "span_end", "excerpt"} <= _columns(db, "match_events")
        assert "text_spans" in _columns(db, "review_items")
        ids = _fill(db)
        before = _counts(db)
        assert before["review_decisions"] == 2

        with db.engine.begin() as conn:
            if conn.dialect.name == "sqlite":  # so a table rebuild would cascade, were there one
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            command.downgrade(alembic_config(conn), "0023")

        gone = {"expression", "span_start", "span_end", "excerpt", "excerpt_key_id"}
        assert not gone & _columns(db, "match_events")
        assert "text_spans" not in _columns(db, "review_items")
        assert _counts(db) == before  # nothing cascaded away
        with db.session() as s:
            item = s.execute(text("SELECT id, content_id, matched_value FROM review_items")).one()
            decisions = (
                s.execute(
                    text("SELECT kind FROM review_decisions WHERE item_id = :i ORDER BY id"),
                    {"i": ids["item"]},
                )
                .scalars()
                .all()
            )
            event = s.execute(text("SELECT content_id, bank, entry_id FROM match_events")).one()
        assert (item.id, item.content_id) == (ids["item"], "post-1")
        assert item.matched_value == LONG_EXPRESSION[:128]
        assert decisions == ["escalate", "confirm"]
        assert tuple(event) == ("post-1", "urls", 7)
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []

        upgrade(db)  # head again, over the kept rows
        assert "text_spans" in _columns(db, "review_items")
        assert "expression" in _columns(db, "match_events")
        after = _counts(db)
        assert {t: after[t] for t in before} == before
    finally:
        db.engine.dispose()
