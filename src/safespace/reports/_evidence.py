"""Evidence store: confirmed material kept encrypted, for a fixed time, opened only by leads.

Envelope encryption: each item gets its own random 256-bit data key; the item is sealed
with AES-256-GCM under that key (associated data: the item id, so a ciphertext cannot be
passed off as another item), and the data key is sealed under the master key from
``SAFESPACE_EVIDENCE_KEY``. Ciphertext lives in files under ``data_dir/evidence/``; the
database holds metadata and the wrapped key. Purging destroys the wrapped key first (so
copies of the file in backups are unreadable), then overwrites and unlinks the file. Every
store, opening, refusal, hold and purge writes an audit record.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from sqlalchemy import select

from safespace.config import Settings
from safespace.errors import (
    AccessDenied,
    ConfigError,
    EvidenceNotFound,
    IntegrityFailure,
    InvalidInput,
    MediaTooLarge,
)
from safespace.reports import _audit as audit
from safespace.reports._audit import AuditAction
from safespace.store import Database
from safespace.store._models import utcnow
from safespace.store._models_reports import EvidenceItem

__all__ = [
    "EVIDENCE_ROLES",
    "EvidenceInfo",
    "EvidenceStore",
    "key_id",
    "list_items",
    "load_master_key",
]

EVIDENCE_ROLES = ("lead", "admin")
_MAGIC = b"SSEV\x01"
_NONCE = 12
_ORPHAN_AGE_SECONDS = 3600
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$")
_PLACEHOLDERS = ("change", "example", "placeholder", "secret", "xxxx", "todo")


def load_master_key(value: SecretStr | str | None) -> bytes:
    """Decode ``SAFESPACE_EVIDENCE_KEY``; refuse missing, placeholder and short keys."""
    hint = "generate one with: openssl rand -base64 32"
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not raw or not raw.strip():
        raise ConfigError(f"SAFESPACE_EVIDENCE_KEY is not set: evidence storage needs it; {hint}")
    text = raw.strip()
    if any(word in text.lower() for word in _PLACEHOLDERS):
        raise ConfigError(f"SAFESPACE_EVIDENCE_KEY looks like a placeholder; {hint}")
    try:
        key = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"SAFESPACE_EVIDENCE_KEY is not valid base64; {hint}") from None
    if len(key) != 32:
        raise ConfigError(f"SAFESPACE_EVIDENCE_KEY must be 32 bytes, not {len(key)}; {hint}")
    if len(set(key)) < 8:
        raise ConfigError(f"SAFESPACE_EVIDENCE_KEY is not random (repeated bytes); {hint}")
    return key


def key_id(master_key: bytes) -> str:
    """A short public fingerprint of a master key: which key wraps which item."""
    return hashlib.sha256(b"safespace-evidence-key-id\n" + master_key).hexdigest()[:16]


@dataclass(frozen=True)
class EvidenceInfo:
    id: str
    case_id: str
    sha256: str
    size: int
    media_type: str
    created_at: datetime
    retain_until: datetime
    legal_hold: bool
    hold_reason: str | None
    purged_at: datetime | None

    @classmethod
    def of(cls, row: EvidenceItem) -> EvidenceInfo:
        return cls(
            row.id,
            row.case_id,
            row.sha256,
            row.size,
            row.media_type,
            row.created_at,
            row.retain_until,
            row.legal_hold,
            row.hold_reason,
            row.purged_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars(self).items()}


def _item_aad(item_id: str) -> bytes:
    return b"safespace-evidence-v1\n" + item_id.encode("ascii")


def _key_aad(item_id: str) -> bytes:
    return b"safespace-evidence-key-v1\n" + item_id.encode("ascii")


def seal(key: bytes, data: bytes, aad: bytes) -> bytes:
    """AES-256-GCM: a random nonce, then the ciphertext and tag, bound to ``aad``."""
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(key).encrypt(nonce, data, aad)


def unseal(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    """The data :func:`seal` sealed; ``InvalidTag`` for a wrong key, aad or altered bytes."""
    return AESGCM(key).decrypt(sealed[:_NONCE], sealed[_NONCE:], aad)


def rewrap_key(wrapped: bytes, old_key: bytes, new_key: bytes, aad: bytes, what: str) -> bytes:
    """A data key wrapped under ``old_key``, wrapped anew under ``new_key`` (key rotation)."""
    try:
        data_key = unseal(old_key, wrapped, aad)
    except InvalidTag:
        raise IntegrityFailure(f"{what}: its wrapped key does not open with the old key") from None
    return seal(new_key, data_key, aad)


class EvidenceStore:
    """Encrypted evidence with retention, legal hold and audited access."""

    def __init__(
        self,
        db: Database,
        master_key: bytes,
        directory: Path,
        *,
        retention_days: int = 365,
        max_bytes: int = 100 * 1024 * 1024,
    ) -> None:
        if len(master_key) != 32:
            raise ConfigError("the evidence master key must be 32 bytes")
        self.db = db
        self.directory = Path(directory)
        self.retention = timedelta(days=retention_days)
        self.max_bytes = max_bytes
        self._key = master_key
        self._key_id = key_id(master_key)

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> EvidenceStore:
        """The store for this installation; a ConfigError if the key is missing or weak."""
        return cls(
            db,
            load_master_key(settings.evidence_key),
            settings.data_dir / "evidence",
            retention_days=settings.evidence_retention_days,
            max_bytes=settings.max_media_bytes,
        )

    # --- writing -------------------------------------------------------------------------

    def store(
        self,
        case_id: str,
        data: bytes,
        media_type: str,
        actor: str,
        *,
        now: datetime | None = None,
    ) -> EvidenceInfo:
        """Encrypt and keep ``data`` for a confirmed case, until now + the retention period."""
        if not case_id or len(case_id) > 128:
            raise InvalidInput("case id must be 1 to 128 characters")
        if not _MEDIA_TYPE.match(media_type) or len(media_type) > 128:
            raise InvalidInput(f"bad media type {media_type!r} (expected e.g. image/jpeg)")
        if not data:
            raise InvalidInput("evidence is empty")
        if len(data) > self.max_bytes:
            raise MediaTooLarge(f"evidence is {len(data)} bytes; the limit is {self.max_bytes}")
        now = now or utcnow()
        item_id = uuid.uuid4().hex
        data_key = AESGCM.generate_key(bit_length=256)
        path = self._path(item_id)
        self._write(path, _MAGIC + seal(data_key, data, _item_aad(item_id)))
        digest = hashlib.sha256(data).hexdigest()
        try:
            with self.db.transaction() as s:
                row = EvidenceItem(
                    id=item_id,
                    case_id=case_id,
                    sha256=digest,
                    size=len(data),
                    media_type=media_type,
                    created_at=now,
                    retain_until=now + self.retention,
                    legal_hold=False,
                    key_id=self._key_id,
                    wrapped_key=seal(self._key, data_key, _key_aad(item_id)),
                )
                s.add(row)
                s.flush()
                audit.append(
                    s,
                    actor,
                    "evidence.store",
                    f"evidence:{item_id}",
                    {"case_id": case_id, "sha256": digest, "size": len(data)},
                )
                info = EvidenceInfo.of(row)
        except BaseException:
            _shred(path)
            raise
        return info

    def set_hold(self, item_id: str, actor: str, role: str, reason: str) -> EvidenceInfo:
        """Keep the item past its retention date until the hold is cleared."""
        return self._hold(item_id, actor, role, reason, on=True)

    def clear_hold(self, item_id: str, actor: str, role: str, reason: str) -> EvidenceInfo:
        """End a hold; an item past its retention date goes at the next purge."""
        return self._hold(item_id, actor, role, reason, on=False)

    def _hold(self, item_id: str, actor: str, role: str, reason: str, *, on: bool) -> EvidenceInfo:
        action: AuditAction = "evidence.hold" if on else "evidence.release"
        self._check_role(item_id, actor, role, action)
        if not reason.strip():
            raise InvalidInput("a legal hold needs a reason")
        with self.db.transaction() as s:
            row = self._live_row(s.get(EvidenceItem, item_id), item_id)
            row.legal_hold = on
            row.hold_reason = reason.strip() if on else None
            audit.append(s, actor, action, f"evidence:{item_id}", {"reason": reason.strip()})
            return EvidenceInfo.of(row)

    def purge_expired(self, now: datetime | None = None, actor: str = "system") -> list[str]:
        """Destroy every item past its retention date and not on hold; returns their ids."""
        now = now or utcnow()
        with self.db.transaction() as s:
            rows = s.scalars(
                select(EvidenceItem).where(
                    EvidenceItem.retain_until <= now,
                    EvidenceItem.legal_hold.is_(False),
                    EvidenceItem.purged_at.is_(None),
                )
            ).all()
            for row in rows:
                row.wrapped_key = None  # crypto-shredding: copies of the file are now noise
                row.purged_at = now
                audit.append(
                    s,
                    actor,
                    "evidence.purge",
                    f"evidence:{row.id}",
                    {"case_id": row.case_id, "retain_until": row.retain_until.isoformat()},
                )
            purged = [row.id for row in rows]
        for item_id in purged:
            _shred(self._path(item_id))
        self._sweep()
        return purged

    def rewrap_all(self, old_key: bytes, new_key: bytes, actor: str = "system") -> int:
        """Re-seal every data key held under ``old_key`` with ``new_key``, all or nothing."""
        old_id, new_id = key_id(old_key), key_id(new_key)
        with self.db.transaction() as s:
            rows = s.scalars(
                select(EvidenceItem).where(
                    EvidenceItem.key_id == old_id, EvidenceItem.wrapped_key.is_not(None)
                )
            ).all()
            for row in rows:
                assert row.wrapped_key is not None
                row.wrapped_key = rewrap_key(
                    row.wrapped_key, old_key, new_key, _key_aad(row.id), f"evidence {row.id}"
                )
                row.key_id = new_id
            audit.append(
                s,
                actor,
                "evidence.rewrap",
                "evidence",
                {"count": len(rows), "old_key_id": old_id, "new_key_id": new_id},
            )
        return len(rows)

    # --- reading -------------------------------------------------------------------------

    def get(self, item_id: str) -> EvidenceInfo:
        """Metadata only (no audit record: it reveals nothing of the content)."""
        with self.db.session() as s:
            row = s.get(EvidenceItem, item_id)
            if row is None:
                raise EvidenceNotFound(f"no evidence item {item_id!r}")
            return EvidenceInfo.of(row)

    def for_case(self, case_id: str) -> list[EvidenceInfo]:
        return list_items(self.db, case_id)

    def open_item(self, item_id: str, actor: str, role: str) -> bytes:
        """The plaintext, for a lead or admin; every opening and refusal is audited."""
        self._check_role(item_id, actor, role, "evidence.open")
        with self.db.session() as s:
            row = s.get(EvidenceItem, item_id)
            live = row is not None and row.purged_at is None and row.wrapped_key is not None
            wrapped, kid, digest = (
                (row.wrapped_key, row.key_id, row.sha256) if row else (b"", "", "")
            )
        if not live or wrapped is None:
            self._audit(actor, "evidence.open_failed", item_id, {"role": role, "why": "not found"})
            raise EvidenceNotFound(f"no evidence item {item_id!r} (never stored, or purged)")
        if kid != self._key_id:
            raise ConfigError(
                f"evidence {item_id} is wrapped by master key {kid}, this server has "
                f"{self._key_id}: finish the key rotation (rewrap_all)"
            )
        try:
            sealed = self._path(item_id).read_bytes()
            if not sealed.startswith(_MAGIC):
                raise InvalidTag
            data_key = unseal(self._key, wrapped, _key_aad(item_id))
            data = unseal(data_key, sealed[len(_MAGIC) :], _item_aad(item_id))
            if hashlib.sha256(data).hexdigest() != digest:
                raise InvalidTag
        except (InvalidTag, FileNotFoundError) as exc:
            why = "ciphertext file missing" if isinstance(exc, FileNotFoundError) else "tampered"
            self._audit(actor, "evidence.open_failed", item_id, {"role": role, "why": why})
            raise IntegrityFailure(
                f"evidence {item_id} cannot be opened: {why} (the ciphertext, its key or "
                "its metadata was altered)"
            ) from None
        self._audit(actor, "evidence.open", item_id, {"role": role, "sha256": digest})
        return data

    # --- internals -----------------------------------------------------------------------

    def _check_role(self, item_id: str, actor: str, role: str, action: str) -> None:
        if role not in EVIDENCE_ROLES:
            self._audit(actor, "evidence.refused", item_id, {"role": role, "wanted": action})
            raise AccessDenied(f"role {role!r} may not do {action}: leads and admins only")

    def _audit(
        self, actor: str, action: AuditAction, item_id: str, details: dict[str, Any]
    ) -> None:
        with self.db.transaction() as s:
            audit.append(s, actor, action, f"evidence:{item_id}", details)

    @staticmethod
    def _live_row(row: EvidenceItem | None, item_id: str) -> EvidenceItem:
        if row is None:
            raise EvidenceNotFound(f"no evidence item {item_id!r}")
        if row.purged_at is not None:
            raise EvidenceNotFound(
                f"evidence item {item_id} was purged on {row.purged_at:%Y-%m-%d}"
            )
        return row

    def _path(self, item_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", item_id):
            raise EvidenceNotFound(f"no evidence item {item_id!r}")
        return self.directory / item_id[:2] / f"{item_id}.bin"

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _sweep(self) -> None:
        """Remove files with no live row (a crash between commit and unlink, a failed store)."""
        if not self.directory.is_dir():
            return
        with self.db.session() as s:
            rows = s.execute(select(EvidenceItem.id, EvidenceItem.purged_at)).all()
            known = dict(rows)
        cutoff = time.time() - _ORPHAN_AGE_SECONDS
        for path in self.directory.glob("*/*.bin"):
            if path.stem in known:
                if known[path.stem] is not None:
                    _shred(path)
            elif path.stat().st_mtime < cutoff:  # young orphans may be a store in progress
                _shred(path)


def list_items(db: Database, case_id: str | None = None, limit: int = 1000) -> list[EvidenceInfo]:
    """Metadata, oldest first (no key needed: nothing of the content is revealed)."""
    query = select(EvidenceItem).order_by(EvidenceItem.created_at, EvidenceItem.id).limit(limit)
    if case_id is not None:
        query = query.where(EvidenceItem.case_id == case_id)
    with db.session() as s:
        return [EvidenceInfo.of(r) for r in s.scalars(query)]


def _shred(path: Path) -> None:
    """Overwrite with zeros, then unlink (best effort on SSDs; the key is gone anyway)."""
    try:
        size = path.stat().st_size
        with path.open("r+b") as fh:
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()
    except FileNotFoundError:
        pass
