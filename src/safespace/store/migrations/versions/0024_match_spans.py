"""Text matches keep where they matched: the listed expression and the span, never the text.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05

A match of a post's text (a listed URL, a URL's SHA-256, a keyword) records on its
``match_events`` row the listed expression it matched (``expression``: the URL expression,
the hash, the keyword) and the span of the submitted text it matched (``span_start``,
``span_end``: character offsets). The text itself is not kept. Only when the operator sets
``SAFESPACE_REVIEW_TEXT_CONTEXT_CHARS`` above 0 (and ``SAFESPACE_EVIDENCE_KEY``) is a bounded
excerpt kept, sealed like reviewer media: ``excerpt`` is AES-256-GCM ciphertext, its data key
wrapped under the master key (``excerpt_wrapped_key``, ``excerpt_key_id``).

``review_items.text_spans`` carries the spans of the events an item was made from (event id,
signal type, expression, start, end), and ``review_items.matched_value`` widens to 2048
characters: a listed URL expression is longer than a hash.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("match_events") as batch:
        batch.add_column(sa.Column("expression", sa.String(length=2048), nullable=True))
        batch.add_column(sa.Column("span_start", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("span_end", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("excerpt", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("excerpt_key_id", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("excerpt_wrapped_key", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("review_items") as batch:
        batch.add_column(sa.Column("text_spans", sa.JSON(), nullable=True))
        batch.alter_column(
            "matched_value",
            existing_type=sa.String(length=128),
            type_=sa.String(length=2048),
            existing_nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("review_items") as batch:
        batch.alter_column(
            "matched_value",
            existing_type=sa.String(length=2048),
            type_=sa.String(length=128),
            existing_nullable=True,
        )
        batch.drop_column("text_spans")
    with op.batch_alter_table("match_events") as batch:
        batch.drop_column("excerpt_wrapped_key")
        batch.drop_column("excerpt_key_id")
        batch.drop_column("excerpt")
        batch.drop_column("span_end")
        batch.drop_column("span_start")
        batch.drop_column("expression")
