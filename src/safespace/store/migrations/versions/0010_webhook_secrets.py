"""Webhook secrets leave the database: a verifier for configured ones, ciphertext for the rest.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

Written out in full (not importing the models), so it keeps meaning what it meant when the
models move on.

``webhook_endpoints.secret`` held each endpoint's HMAC signing secret in plain text, so any
database dump or backup could forge actions. It is replaced by ``secret_source`` and:

* ``review`` (the endpoint the review queue keeps from ``SAFESPACE_REVIEW_WEBHOOK_SECRET``)
  becomes ``settings``: the server signs with the configured secret; the row keeps only
  ``secret_check``, a salted scrypt verifier, so the service can tell (and audit) when the
  configured secret changes.
* every other endpoint becomes ``unset``: its plaintext is removed and not kept in any form.
  This migration has no master key to seal it with, and a secret that sat in plain text in
  earlier dumps should be rotated anyway. Its actions stay in the outbox (each attempt
  records why it was not sent) until an operator gives it a secret again with
  ``WebhookService.set_secret`` (sealed under ``SAFESPACE_EVIDENCE_KEY``).

``sealed_secret`` and ``key_id`` hold secrets sealed by the service after this revision.
The old column is overwritten before it is dropped; disk pages and backups from before the
upgrade may still hold the old values (VACUUM to reclaim pages; rotate to be sure).

SQLite: only ADD COLUMN and DROP COLUMN (SQLite 3.35+) are used, never a table copy: the
copy's DROP TABLE would break ``webhook_actions``' foreign key with ``foreign_keys=ON``.
Downgrading restores the ``secret`` column empty and disables every endpoint (no secret).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REVIEW_ENDPOINT = "review"
_ENDPOINTS = sa.table(
    "webhook_endpoints",
    sa.column("id", sa.Integer()),
    sa.column("name", sa.String()),
    sa.column("secret", sa.String()),
    sa.column("secret_source", sa.String()),
    sa.column("secret_check", sa.String()),
    sa.column("enabled", sa.Boolean()),
)


def _verifier(secret: str) -> str:
    """Same format as ``safespace.reports._webhooks``: ``s1$<salt hex>$<scrypt hex>``."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(
        secret.encode(),
        salt=b"safespace-webhook-secret-v1\n" + salt,
        n=2**14,
        r=8,
        p=1,
        dklen=32,
    )
    return f"s1${salt.hex()}${digest.hex()}"


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", recreate="never") as batch:
        batch.add_column(
            sa.Column("secret_source", sa.String(length=16), server_default="unset", nullable=False)
        )
        batch.add_column(sa.Column("secret_check", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("sealed_secret", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))
    conn = op.get_bind()
    t = _ENDPOINTS
    for row_id, name, secret in conn.execute(sa.select(t.c.id, t.c.name, t.c.secret)).all():
        configured = name == _REVIEW_ENDPOINT and bool(secret)
        conn.execute(
            sa.update(t)
            .where(t.c.id == row_id)
            .values(
                secret="",
                secret_source="settings" if configured else "unset",
                secret_check=_verifier(secret) if configured else None,
            )
        )
    with op.batch_alter_table("webhook_endpoints", recreate="never") as batch:
        batch.drop_column("secret")


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", recreate="never") as batch:
        batch.add_column(
            sa.Column("secret", sa.String(length=128), server_default="", nullable=False)
        )
    op.execute(sa.update(_ENDPOINTS).values(enabled=False))
    with op.batch_alter_table("webhook_endpoints", recreate="never") as batch:
        batch.drop_column("key_id")
        batch.drop_column("sealed_secret")
        batch.drop_column("secret_check")
        batch.drop_column("secret_source")
