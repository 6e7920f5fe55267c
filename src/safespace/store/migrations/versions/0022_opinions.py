"""Reserved: issue 14: opinions that go back to bank sources, and the flood guard.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05

Reserved in the chain so parallel work can add its tables without forking Alembic's
history; a revision left empty is removed before release.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
