"""Drop ``ix_bank_entries_signal_type_value``: every query of entries by value names its bank.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07

The bank's unique key (bank_id, signal_type, value) answers every lookup by value: each one
(the API's lookups, the console's search, removals by value, the bulk paths' checks for
known hashes) names the bank, and the matcher's one read by type alone (keyword entries, at
a snapshot load) goes bank by bank through the key. Every added entry paid for the second
index: another random insert into an index as large as the key's. Measured at 1,000,000
entries, alternated with the code before in one sitting: on SQLite a peer's full fetch
1.12-1.25x, a plain import 1.17-1.23x, a delta of 10,000 into the full bank 1.27-1.78x; on
PostgreSQL the full fetch 1.10-1.12x (docs/exchanges.md, Speed).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_bank_entries_signal_type_value", table_name="bank_entries")


def downgrade() -> None:
    op.create_index("ix_bank_entries_signal_type_value", "bank_entries", ["signal_type", "value"])
