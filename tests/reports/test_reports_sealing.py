"""Reviewer media sealed at rest: per-item keys, item binding, legacy rows, rotation, config."""

from __future__ import annotations

import base64
import os

import pytest
from sqlalchemy import select, update

from safespace.config import Settings
from safespace.errors import ConfigError, IntegrityFailure, InvalidInput
from safespace.reports import _sealing as sealing
from safespace.reports._queue import ReviewPolicy, ReviewQueue, UserReport
from safespace.store import Database
from safespace.store._models_queue import ReviewMedia

# Benign stand-in for a reported file: generated noise, never real material.
MEDIA = os.urandom(2048)


def _queue(db: Database, key: bytes | None) -> ReviewQueue:
    queue = ReviewQueue(db, ReviewPolicy(store_media=True))
    queue.sealer = sealing.MediaSealer(key) if key else None
    return queue


def _row(db: Database, item_id: int) -> sealing.SealedMedia:
    """The stored columns, read straight from the table."""
    with db.session() as s:
        row = s.get(ReviewMedia, item_id)
        assert row is not None
        assert row.key_id is not None
        assert row.wrapped_key is not None
        return sealing.SealedMedia(row.data, row.key_id, row.wrapped_key)


def test_stored_media_is_ciphertext_and_opens_to_the_original(database: Database) -> None:
    key = os.urandom(32)
    queue = _queue(database, key)
    item, _ = queue.report(UserReport("p1", "reported", media=MEDIA, media_type="image/png"))
    row = _row(database, item.id)
    assert row.data != MEDIA
    assert MEDIA[:64] not in row.data
    assert len(row.data) == len(MEDIA) + 12 + 16  # nonce and tag: nothing else is added
    assert row.key_id == sealing.MediaSealer(key).key_id
    assert len(row.wrapped_key) == 12 + 32 + 16
    assert queue.media(item.id) == ("image/png", MEDIA)
    # each item has its own data key: the same file twice gives unrelated ciphertexts
    other, _ = queue.report(UserReport("p2", "reported", media=MEDIA, media_type="image/png"))
    assert _row(database, other.id).data[12:] != row.data[12:]


def test_media_is_bound_to_its_item_and_its_key(database: Database) -> None:
    key = os.urandom(32)
    queue = _queue(database, key)
    a, _ = queue.report(UserReport("a", "r", media=MEDIA, media_type="image/png"))
    b, _ = queue.report(UserReport("b", "r", media=b"other bytes", media_type="image/png"))
    first = _row(database, a.id)
    with database.transaction() as s:  # copy item a's sealed row over item b's
        s.execute(
            update(ReviewMedia)
            .where(ReviewMedia.item_id == b.id)
            .values(data=first.data, wrapped_key=first.wrapped_key)
        )
    with pytest.raises(IntegrityFailure, match=f"review media {b.id}"):
        queue.media(b.id)
    with pytest.raises(ConfigError, match="key rotation"):
        _queue(database, os.urandom(32)).media(a.id)
    with pytest.raises(ConfigError, match="not set"):
        _queue(database, None).media(a.id)


def test_legacy_plaintext_rows_are_still_readable(database: Database) -> None:
    queue = _queue(database, os.urandom(32))
    item, _ = queue.report(UserReport("old", "r"))
    with database.transaction() as s:
        s.add(ReviewMedia(item_id=item.id, media_type="image/gif", sha256="", data=MEDIA))
    assert queue.media(item.id) == ("image/gif", MEDIA)


def test_without_a_key_media_is_not_kept_at_all(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    queue = _queue(database, None)
    item, _ = queue.report(UserReport("p", "r", media=MEDIA, media_type="image/png"))
    assert item.media_type is None
    assert queue.media(item.id) is None
    assert "SAFESPACE_EVIDENCE_KEY" in caplog.text


def test_decided_items_lose_their_media(database: Database) -> None:
    queue = _queue(database, os.urandom(32))
    item, _ = queue.report(UserReport("p", "r", media=MEDIA, media_type="image/png"))
    queue.claim(item.id, "ann", "reviewer")
    queue.decide(item.id, "ann", "reviewer", "confirm", "clearly", "B")
    with database.session() as s:
        assert s.scalars(select(ReviewMedia)).all() == []


def test_rewrap_moves_media_to_the_new_key(database: Database) -> None:
    old, new = os.urandom(32), os.urandom(32)
    item, _ = _queue(database, old).report(UserReport("p", "r", media=MEDIA, media_type="x/y"))
    assert sealing.rewrap_media(database, old, new) == 1
    assert _queue(database, new).media(item.id) == ("x/y", MEDIA)
    assert sealing.rewrap_media(database, old, new) == 0  # safe to run again
    with pytest.raises(InvalidInput):
        sealing.rewrap_media(database, new, new)


def test_settings_decide_whether_and_how_media_is_sealed() -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    assert sealing.MediaSealer.from_settings(Settings()) is None
    sealer = sealing.MediaSealer.from_settings(Settings(review_store_media=True, evidence_key=key))
    assert sealer is not None
    with pytest.raises(ConfigError, match="REVIEW_STORE_MEDIA=true needs a usable"):
        sealing.MediaSealer.from_settings(Settings(review_store_media=True))
    with pytest.raises(ConfigError, match="placeholder"):
        sealing.MediaSealer.from_settings(
            Settings(review_store_media=True, evidence_key="change-me")
        )
