"""Migration 0014: review items may come from conversation-risk scoring, on SQLite (where the
CHECK clause is rewritten in place) and PostgreSQL; items, decisions and the rest survive,
the old check still refuses unknown sources, and down again removes such items."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from safespace.store import open_database, upgrade
from safespace.store._database import alembic_config

NOW = "2026-01-01 00:00:00"


def _insert(s: object, source: str, content_id: str) -> None:
    s.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO review_items (source, status, priority, content_id, urls, reports, "
            "hashes, created_at, updated_at) VALUES (:src, 'open', 1, :cid, '[]', 1, '{}', "
            ":t, :t)"
        ),
        {"src": source, "cid": content_id, "t": NOW},
    )


def test_migration_0014_admits_conversation_items_and_keeps_the_rest(db_url: str) -> None:
    from alembic import command

    db = open_database(db_url, migrate=False)
    try:
        upgrade(db, "0013")
        with db.transaction() as s:
            _insert(s, "user-report", "kept-1")
            item = s.scalar(text("SELECT id FROM review_items WHERE content_id = 'kept-1'"))
            s.execute(
                text(
                    "INSERT INTO review_decisions (item_id, actor, role, kind, reason, final, "
                    "at) VALUES (:i, 'user:lead', 'lead', 'escalate', 'why', :f, :t)"
                ),
                {"i": item, "f": False, "t": NOW},
            )
        with pytest.raises(IntegrityError), db.transaction() as s:
            _insert(s, "conversation", "too-early")
        upgrade(db)
        with db.transaction() as s:
            _insert(s, "conversation", "conversation:c-1")
        with pytest.raises(IntegrityError), db.transaction() as s:
            _insert(s, "rumour", "nope")
        with db.session() as s:
            sources = dict(s.execute(text("SELECT content_id, source FROM review_items")).all())
            decisions = s.scalar(text("SELECT count(*) FROM review_decisions"))
        assert sources == {"kept-1": "user-report", "conversation:c-1": "conversation"}
        assert decisions == 1

        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0013")
        with db.session() as s:
            left = s.execute(text("SELECT content_id FROM review_items")).scalars().all()
        assert left == ["kept-1"]
        with pytest.raises(IntegrityError), db.transaction() as s:
            _insert(s, "conversation", "after-down")
    finally:
        db.engine.dispose()
