"""Upstream-id mappings go with their entry or source by triggers, not foreign keys (issue 14).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07

``exchange_entries`` had two foreign keys, to ``bank_entries`` and to ``exchange_sources``,
both ON DELETE CASCADE. Their insert-side checks cost a peer fetch more than anything but
the entries themselves: on PostgreSQL each mapped row ran two referential-integrity queries
(1M rows: the mapping took 2.3x as long as without them, the whole fetch 1.30x). They checked
nothing the fetch does not know already: it maps, in its own write transaction, only the
entries it has just added or looked up. What the keys did on delete stays, as triggers: a
deleted bank entry (one at a time, by a fetch's removals, or every entry of a deleted bank)
or a deleted source takes its mappings with it. PostgreSQL runs one statement per delete
statement (the transition table of deleted rows); SQLite one indexed delete per row, as its
cascade did.

Downgrade deletes mappings whose entry or source is gone, then puts the keys back.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = (  # name, column, referenced table
    ("fk_exchange_entries_source_id_exchange_sources", "source_id", "exchange_sources"),
    ("fk_exchange_entries_entry_id_bank_entries", "entry_id", "bank_entries"),
)
_UNMAP = (  # trigger, table deleted from, the mapping column holding its id
    ("bank_entries_unmap", "bank_entries", "entry_id"),
    ("exchange_sources_unmap", "exchange_sources", "source_id"),
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for name, _, _ in _KEYS:
            op.drop_constraint(name, "exchange_entries", type_="foreignkey")
    else:  # SQLite drops a key by copying the table
        with op.batch_alter_table("exchange_entries", recreate="always") as batch:
            for name, _, _ in _KEYS:
                batch.drop_constraint(name, type_="foreignkey")
    for trigger, table, column in _UNMAP:
        if postgres:
            op.execute(
                f"CREATE FUNCTION safespace_{trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN DELETE FROM exchange_entries AS m USING gone AS g WHERE m.{column} = g.id; "
                "RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {trigger} AFTER DELETE ON {table} REFERENCING OLD TABLE AS gone "
                f"FOR EACH STATEMENT EXECUTE FUNCTION safespace_{trigger}()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {trigger} AFTER DELETE ON {table} FOR EACH ROW BEGIN "
                f"DELETE FROM exchange_entries WHERE {column} = OLD.id; END"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for trigger, table, _ in _UNMAP:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (f" ON {table}" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS safespace_{trigger}()")
    for _, column, table in _KEYS:
        op.execute(f"DELETE FROM exchange_entries WHERE {column} NOT IN (SELECT id FROM {table})")
    if postgres:
        for name, column, table in _KEYS:
            op.create_foreign_key(
                name, "exchange_entries", table, [column], ["id"], ondelete="CASCADE"
            )
    else:
        with op.batch_alter_table("exchange_entries", recreate="always") as batch:
            for name, column, table in _KEYS:
                batch.create_foreign_key(name, table, [column], ["id"], ondelete="CASCADE")
