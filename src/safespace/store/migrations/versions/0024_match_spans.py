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

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: a batch rebuild of review_items on SQLite would drop and recreate it,
    # and the DROP cascades to review_decisions and every other table that refers to it.
    for column in (
        sa.Column("expression", sa.String(length=2048), nullable=True),
        sa.Column("span_start", sa.Integer(), nullable=True),
        sa.Column("span_end", sa.Integer(), nullable=True),
        sa.Column("excerpt", sa.LargeBinary(), nullable=True),
        sa.Column("excerpt_key_id", sa.String(length=16), nullable=True),
        sa.Column("excerpt_wrapped_key", sa.LargeBinary(), nullable=True),
    ):
        op.add_column("match_events", column)
    op.add_column("review_items", sa.Column("text_spans", sa.JSON(), nullable=True))
    _matched_value_length(128, 2048)


def _matched_value_length(old: int, new: int) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.alter_column(
            "review_items",
            "matched_value",
            existing_type=sa.String(length=old),
            type_=sa.String(length=new),
            existing_nullable=True,
        )
        return
    # SQLite never enforces a VARCHAR's length; only the declared type changes, in place.
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'review_items'"
    ).scalar_one()
    changed, found = re.subn(rf"(matched_value\s+VARCHAR)\({old}\)", rf"\g<1>({new})", sql, count=1)
    if not found:
        raise RuntimeError("review_items has no matched_value VARCHAR to widen")
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar_one())
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'review_items'",
            (changed,),
        )
        bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def downgrade() -> None:
    # A listed URL expression may be longer than the old 128 characters: PostgreSQL refuses
    # to narrow the column over such a value, so cut it (on both backends, so they agree)
    # and keep the row and its decisions.
    op.execute(
        "UPDATE review_items SET matched_value = substr(matched_value, 1, 128) "
        "WHERE length(matched_value) > 128"
    )
    _matched_value_length(2048, 128)
    op.drop_column("review_items", "text_spans")
    for name in (
        "excerpt_wrapped_key", "excerpt_key_id", "excerpt", "span_end", "span_start", "expression",
    ):  # fmt: skip
        op.drop_column("match_events", name)
