"""Match events keep the query's own hash; reviewer media is sealed like evidence.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25

``match_events.query_value`` is the caller's hash for the matched signal type (a hash, never
image bytes), so a reviewer's false positive on a near match can allow the content's own hash.
``review_media`` gains the wrapped data key and the master key's id: its ``data`` is then
AES-256-GCM ciphertext (rows from before this revision have neither and are plaintext).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("match_events") as batch:
        batch.add_column(sa.Column("query_value", sa.String(length=128), nullable=True))
    with op.batch_alter_table("review_media") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("wrapped_key", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_media") as batch:
        batch.drop_column("wrapped_key")
        batch.drop_column("key_id")
    with op.batch_alter_table("match_events") as batch:
        batch.drop_column("query_value")
