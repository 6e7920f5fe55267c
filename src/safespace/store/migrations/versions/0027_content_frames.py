"""Video frames in the content-hash store (issue 13): ``content_signals.frame_seconds``.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06

A video remembered for retro-matching keeps its good sampled frames as PDQ rows of
``content_signals``; this nullable column holds each frame's time in the video (seconds).
Every other row leaves it NULL. Written out in full (not importing the models). No index:
the sweep reads frame rows by id or by content id, which existing indexes cover.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("content_signals", sa.Column("frame_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("content_signals", "frame_seconds")
