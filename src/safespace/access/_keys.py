"""API keys: issue, list, revoke, and check a presented key against the stored hashes.

A key is ``ssk_<prefix>_<secret>``: the 8 hex digit prefix names the key in listings and
logs, the secret is 32 random bytes. Only the SHA-256 of the whole key is stored; with that
much entropy a slow password hash buys nothing, and checking stays one indexed lookup.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from safespace.errors import InvalidInput, KeyNotFound
from safespace.store import ApiKey, Database
from safespace.store._models import utcnow

__all__ = ["SCOPES", "KeyInfo", "KeyService", "hash_key", "parse_scopes"]

SCOPES = ("match", "curate", "admin", "contact", "exchange")
_KEY = re.compile(r"ssk_([0-9a-f]{8})_[A-Za-z0-9_-]{43}")
_MAX_NAME = 128


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def parse_scopes(scopes: str | Iterable[str]) -> tuple[str, ...]:
    """Scopes from ``"match,curate"`` or a list, checked, deduplicated and in canonical order."""
    items = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    names = {s.strip().lower() for s in items if s.strip()}
    unknown = sorted(names - set(SCOPES))
    if unknown:
        raise InvalidInput(f"unknown scope {unknown[0]!r}: use {', '.join(SCOPES)}")
    if not names:
        raise InvalidInput(f"a key needs at least one scope: {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in names)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KeyInfo:
    """What is known about a key; never the key itself."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        """``admin`` implies every scope."""
        return scope in self.scopes or "admin" in self.scopes

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "scopes": list(self.scopes),
            "created_at": _iso(self.created_at),
            "revoked_at": _iso(self.revoked_at),
            "active": self.active,
        }


def _info(row: ApiKey) -> KeyInfo:
    scopes = tuple(s for s in row.scopes.split(",") if s)
    return KeyInfo(row.id, row.name, row.prefix, scopes, row.created_at, row.revoked_at)


class KeyService:
    """API keys over a :class:`~safespace.store.Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, scopes: str | Iterable[str], *, name: str = "") -> tuple[KeyInfo, str]:
        """Issue a key: returns its info and the key, which is shown this once and never again."""
        wanted = parse_scopes(scopes)
        if len(name) > _MAX_NAME or not name.isprintable():
            raise InvalidInput(f"key name must be printable and at most {_MAX_NAME} characters")
        with self.db.transaction() as s:
            while True:  # a prefix clash is a 1 in 4 billion event per existing key
                prefix = secrets.token_hex(4)
                if s.scalar(select(ApiKey.id).where(ApiKey.prefix == f"ssk_{prefix}")) is None:
                    break
            key = f"ssk_{prefix}_{secrets.token_urlsafe(32)}"
            row = ApiKey(
                name=name,
                prefix=f"ssk_{prefix}",
                key_hash=hash_key(key),
                scopes=",".join(wanted),
                created_at=utcnow(),
            )
            s.add(row)
            s.flush()
            return _info(row), key

    def list_keys(self) -> list[KeyInfo]:
        with self.db.session() as s:
            return [_info(k) for k in s.scalars(select(ApiKey).order_by(ApiKey.id))]

    def get(self, key_id: int) -> KeyInfo:
        with self.db.session() as s:
            row = s.get(ApiKey, key_id)
            if row is None:
                raise KeyNotFound(f"no API key with id {key_id}")
            return _info(row)

    def revoke(self, key_id: int) -> KeyInfo:
        """Revoke a key for good (idempotent). Servers notice within their key cache's lifetime."""
        with self.db.transaction() as s:
            row = s.get(ApiKey, key_id)
            if row is None:
                raise KeyNotFound(f"no API key with id {key_id}")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                s.flush()
            return _info(row)

    def lookup(self, key: str) -> KeyInfo | None:
        """The active key with this secret, or None (malformed, unknown or revoked)."""
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            return None
        digest = hash_key(key)
        with self.db.session() as s:
            row = s.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
            if row is None or row.revoked_at is not None:
                return None
            # The unique hash already matched; compare in constant time anyway.
            if not secrets.compare_digest(row.key_hash, digest):
                return None
            return _info(row)
