"""Per-bank, per-signal-type thresholds: ``bank_thresholds`` replaces ``banks.pdq_distance``.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

Written out in full (not importing the models or the signal registry), so it keeps meaning
what it meant when they move on; that is why it spells the signal type ``pdq``.

One row per (bank, signal type, threshold name): a PDQ bank's match distance is
``('pdq', 'distance')``; a video type adds more names (query and compared match percent).
Every bank's ``pdq_distance`` is copied as its ``pdq``/``distance`` row, then the column goes.

SQLite cannot drop a column that a table CHECK constraint names, and recreating ``banks``
would cascade-delete every entry (``DROP TABLE`` with ``foreign_keys=ON``). So on SQLite the
``ck_banks_dist`` clause is first removed from the stored table definition (the
``writable_schema`` edit SQLite documents as safe for removing CHECK constraints), then the
column is dropped in place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECK = re.compile(r",\s*CONSTRAINT\s+ck_banks_dist\s+CHECK\s*\([^()]*\)", re.IGNORECASE)


def upgrade() -> None:
    op.create_table(
        "bank_thresholds",
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("signal_type", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.CheckConstraint("value >= 0", name=op.f("ck_bank_thresholds_value")),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["banks.id"],
            name=op.f("fk_bank_thresholds_bank_id_banks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bank_id", "signal_type", "name", name=op.f("pk_bank_thresholds")),
    )
    op.execute(
        "INSERT INTO bank_thresholds (bank_id, signal_type, name, value) "
        "SELECT id, 'pdq', 'distance', pdq_distance FROM banks"
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite_drop_check(bind)
        op.execute("ALTER TABLE banks DROP COLUMN pdq_distance")
    else:
        op.drop_constraint(op.f("ck_banks_dist"), "banks", type_="check")
        op.drop_column("banks", "pdq_distance")


def _sqlite_drop_check(bind: sa.Connection) -> None:
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'banks'"
    ).scalar_one()
    new, found = _CHECK.subn("", sql)
    if not found:  # a database downgraded by 0013 has the column without the constraint
        return
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar_one())
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'banks'", (new,)
        )
        bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def downgrade() -> None:
    with op.batch_alter_table("banks", recreate="never") as batch:
        batch.add_column(
            sa.Column("pdq_distance", sa.Integer(), nullable=False, server_default="31")
        )
    op.execute(
        "UPDATE banks SET pdq_distance = (SELECT t.value FROM bank_thresholds t "
        "WHERE t.bank_id = banks.id AND t.signal_type = 'pdq' AND t.name = 'distance') "
        "WHERE EXISTS (SELECT 1 FROM bank_thresholds t WHERE t.bank_id = banks.id "
        "AND t.signal_type = 'pdq' AND t.name = 'distance')"
    )
    if op.get_bind().dialect.name != "sqlite":  # SQLite cannot add a table constraint
        op.create_check_constraint(
            op.f("ck_banks_dist"), "banks", "pdq_distance >= 0 AND pdq_distance <= 128"
        )
    op.drop_table("bank_thresholds")
