"""Reviewer media sealed at rest, with the evidence store's envelope scheme.

A user report's file kept for reviewers (``SAFESPACE_REVIEW_STORE_MEDIA``) sits in the
database until the item is decided. It is sealed like evidence: a random 256-bit data key
per item, AES-256-GCM with the review item id as associated data (a row copied onto another
item does not open), and the data key wrapped under the master key ``SAFESPACE_EVIDENCE_KEY``.
A database dump or backup then holds no readable media. Rows without a wrapped key were
stored before sealing existed and are read as they are.

:class:`~safespace.reports._queue.ReviewQueue` takes its sealer as ``sealer=`` (from
:meth:`MediaSealer.from_settings`); without one it keeps no media at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from safespace.config import Settings
from safespace.errors import ConfigError, IntegrityFailure, InvalidInput
from safespace.reports._evidence import key_id, load_master_key, rewrap_key, seal, unseal
from safespace.store import Database
from safespace.store._models_queue import ReviewMedia

__all__ = [
    "MediaSealer",
    "SealedMedia",
    "open_media",
    "rewrap_media",
    "seal_media",
]

log = logging.getLogger(__name__)


def _media_aad(item_id: int) -> bytes:
    return b"safespace-review-media-v1\n" + str(item_id).encode("ascii")


def _key_aad(item_id: int) -> bytes:
    return b"safespace-review-media-key-v1\n" + str(item_id).encode("ascii")


@dataclass(frozen=True)
class SealedMedia:
    """What a ``review_media`` row stores: ciphertext, the master key's id, the wrapped key."""

    data: bytes
    key_id: str
    wrapped_key: bytes


class MediaSealer:
    """Seals and opens reviewer media under one master key."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ConfigError("the evidence master key must be 32 bytes")
        self._key = master_key
        self.key_id = key_id(master_key)

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaSealer | None:
        """None when review media is not kept; a ConfigError when it is but the key is unusable.

        Keeping reviewer media in plaintext is not offered: the operator either sets the key
        or turns media storage off.
        """
        if not settings.review_store_media:
            return None
        try:
            return cls(load_master_key(settings.evidence_key))
        except ConfigError as exc:
            raise ConfigError(
                "SAFESPACE_REVIEW_STORE_MEDIA=true needs a usable SAFESPACE_EVIDENCE_KEY "
                f"(reviewer media is sealed with it): {exc}"
            ) from None

    def seal(self, item_id: int, data: bytes) -> SealedMedia:
        data_key = AESGCM.generate_key(bit_length=256)
        return SealedMedia(
            seal(data_key, data, _media_aad(item_id)),
            self.key_id,
            seal(self._key, data_key, _key_aad(item_id)),
        )

    def open(self, item_id: int, sealed: SealedMedia) -> bytes:
        if sealed.key_id != self.key_id:
            raise ConfigError(
                f"review media {item_id} is wrapped by master key {sealed.key_id}, this server "
                f"has {self.key_id}: finish the key rotation (safespace evidence rewrap)"
            )
        try:
            data_key = unseal(self._key, sealed.wrapped_key, _key_aad(item_id))
            return unseal(data_key, sealed.data, _media_aad(item_id))
        except InvalidTag:
            raise IntegrityFailure(
                f"review media {item_id} cannot be opened: its ciphertext or key was altered"
            ) from None


def seal_media(sealer: MediaSealer | None, item_id: int, data: bytes) -> SealedMedia | None:
    """The sealed row content, or None (logged) when there is no key: never plaintext."""
    if sealer is None:
        log.warning(
            "review item %s: media not kept: SAFESPACE_REVIEW_STORE_MEDIA needs "
            "SAFESPACE_EVIDENCE_KEY to seal it",
            item_id,
        )
        return None
    return sealer.seal(item_id, data)


def open_media(sealer: MediaSealer | None, row: ReviewMedia) -> bytes:
    """The plaintext of a row: legacy rows (no wrapped key) as stored, sealed ones opened."""
    if row.wrapped_key is None:
        return row.data
    if sealer is None:
        raise ConfigError(
            f"review media {row.item_id} is sealed, but SAFESPACE_EVIDENCE_KEY is not set"
        )
    return sealer.open(row.item_id, SealedMedia(row.data, row.key_id or "", row.wrapped_key))


def rewrap_media(db: Database, old_key: bytes, new_key: bytes) -> int:
    """Re-wrap every reviewer media key held under ``old_key``, all or nothing."""
    if old_key == new_key:
        raise InvalidInput("the old and the new evidence key are the same")
    old, new = MediaSealer(old_key), MediaSealer(new_key)
    with db.transaction() as s:
        rows = s.scalars(
            select(ReviewMedia).where(
                ReviewMedia.key_id == old.key_id, ReviewMedia.wrapped_key.is_not(None)
            )
        ).all()
        for row in rows:
            assert row.wrapped_key is not None
            row.wrapped_key = rewrap_key(
                row.wrapped_key, old_key, new_key, _key_aad(row.item_id),
                f"review media {row.item_id}",
            )  # fmt: skip
            row.key_id = new.key_id
        return len(rows)
