"""Encrypted evidence: keys, audited access, tampering, retention, legal hold, key rotation."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from safespace.config import Settings
from safespace.errors import AccessDenied, ConfigError, EvidenceNotFound, IntegrityFailure
from safespace.reports import EvidenceStore, load_master_key
from safespace.reports import _audit as audit
from safespace.store import Database
from safespace.store._models_reports import AuditRecord

# Benign stand-in for a confirmed file: generated noise, never real material.
DATA = os.urandom(4096)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def store(database: Database, tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(database, _key(), tmp_path / "evidence")


def _actions(db: Database) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "not set"),
        ("  ", "not set"),
        ("change-me-please", "placeholder"),
        (base64.b64encode(b"x" * 16).decode(), "must be 32 bytes, not 16"),
        ("%%%not base64%%%", "not valid base64"),
        (base64.b64encode(b"\0" * 32).decode(), "not random"),
    ],
)
def test_weak_or_missing_keys_are_refused(value: str | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_master_key(value)


def test_a_good_key_loads_in_either_base64_alphabet() -> None:
    key = _key()
    assert load_master_key(SecretStr(base64.b64encode(key).decode())) == key
    assert load_master_key(base64.urlsafe_b64encode(key).decode()) == key


def test_from_settings_refuses_to_start_without_a_key(database: Database, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SAFESPACE_EVIDENCE_KEY is not set"):
        EvidenceStore.from_settings(database, Settings(data_dir=tmp_path))
    key = base64.b64encode(_key()).decode()
    settings = Settings(data_dir=tmp_path, evidence_key=key, evidence_retention_days=30)
    store = EvidenceStore.from_settings(database, settings)
    info = store.store("case-1", DATA, "image/png", "lead-ann", now=T0)
    assert info.retain_until == T0 + timedelta(days=30)
    assert (tmp_path / "evidence").is_dir()


def test_store_then_open_as_lead_is_audited(store: EvidenceStore) -> None:
    info = store.store("case-1", DATA, "image/jpeg", "rev-bo", now=T0)
    assert info.size == len(DATA)
    assert info.retain_until == T0 + timedelta(days=365)
    assert not info.legal_hold
    files = list(store.directory.glob("*/*.bin"))
    assert len(files) == 1
    assert DATA not in files[0].read_bytes()
    assert store.open_item(info.id, "lead-ann", "lead") == DATA
    assert store.open_item(info.id, "admin-cy", "admin") == DATA
    assert _actions(store.db) == ["evidence.store", "evidence.open", "evidence.open"]
    assert [i.id for i in store.for_case("case-1")] == [info.id]


def test_other_roles_are_refused_and_the_refusal_is_audited(store: EvidenceStore) -> None:
    info = store.store("case-1", DATA, "image/jpeg", "rev-bo")
    for role in ("reviewer", "", "LEAD"):
        with pytest.raises(AccessDenied, match="leads and admins only"):
            store.open_item(info.id, "rev-bo", role)
    assert _actions(store.db)[1:] == ["evidence.refused"] * 3
    with store.db.session() as s:
        assert audit.verify(s).ok


def test_tampered_ciphertext_is_a_clear_error(store: EvidenceStore) -> None:
    info = store.store("case-1", DATA, "image/jpeg", "rev-bo")
    path = next(store.directory.glob("*/*.bin"))
    raw = bytearray(path.read_bytes())
    raw[100] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(IntegrityFailure, match="tampered"):
        store.open_item(info.id, "lead-ann", "lead")
    assert _actions(store.db)[-1] == "evidence.open_failed"


def test_ciphertext_is_bound_to_its_item(store: EvidenceStore) -> None:
    a = store.store("case-1", DATA, "image/jpeg", "rev-bo")
    b = store.store("case-2", b"other benign bytes", "image/jpeg", "rev-bo")
    pa, pb = store._path(a.id), store._path(b.id)
    pa.write_bytes(pb.read_bytes())  # b's ciphertext presented as a's
    with pytest.raises(IntegrityFailure):
        store.open_item(a.id, "lead-ann", "lead")
    pb.unlink()
    with pytest.raises(IntegrityFailure, match="missing"):
        store.open_item(b.id, "lead-ann", "lead")


def test_unknown_item_is_not_found(store: EvidenceStore) -> None:
    with pytest.raises(EvidenceNotFound):
        store.open_item("0" * 32, "lead-ann", "lead")
    with pytest.raises(EvidenceNotFound):
        store.get("../../etc/passwd")


def test_purge_removes_expired_items_for_real(store: EvidenceStore) -> None:
    old = store.store("case-1", DATA, "image/jpeg", "rev-bo", now=T0)
    new = store.store("case-2", DATA, "image/jpeg", "rev-bo", now=T0 + timedelta(days=100))
    assert store.purge_expired(T0 + timedelta(days=364)) == []
    assert store.purge_expired(T0 + timedelta(days=366)) == [old.id]
    assert not store._path(old.id).exists()
    assert store._path(new.id).exists()
    gone = store.get(old.id)
    assert gone.purged_at is not None
    with pytest.raises(EvidenceNotFound):
        store.open_item(old.id, "lead-ann", "lead")
    assert store.open_item(new.id, "lead-ann", "lead") == DATA
    assert "evidence.purge" in _actions(store.db)
    assert store.purge_expired(T0 + timedelta(days=366)) == []  # idempotent


def test_legal_hold_keeps_an_item_until_released(store: EvidenceStore) -> None:
    info = store.store("case-1", DATA, "image/jpeg", "rev-bo", now=T0)
    with pytest.raises(AccessDenied):
        store.set_hold(info.id, "rev-bo", "reviewer", "subpoena")
    held = store.set_hold(info.id, "lead-ann", "lead", "preservation request LE-123")
    assert held.legal_hold
    assert held.hold_reason == "preservation request LE-123"
    later = T0 + timedelta(days=800)
    assert store.purge_expired(later) == []
    assert store.open_item(info.id, "lead-ann", "lead") == DATA
    store.clear_hold(info.id, "lead-ann", "lead", "case closed")
    assert store.purge_expired(later) == [info.id]
    actions = _actions(store.db)
    assert actions.index("evidence.hold") < actions.index("evidence.release")


def test_rewrap_moves_every_item_to_the_new_master_key(database: Database, tmp_path: Path) -> None:
    old_key, new_key = _key(), _key()
    old = EvidenceStore(database, old_key, tmp_path / "ev")
    items = [old.store(f"case-{i}", DATA + bytes([i]), "image/png", "rev-bo") for i in range(3)]
    assert old.rewrap_all(old_key, new_key, actor="admin-cy") == 3
    new = EvidenceStore(database, new_key, tmp_path / "ev")
    for i, info in enumerate(items):
        assert new.open_item(info.id, "lead-ann", "lead") == DATA + bytes([i])
    with pytest.raises(ConfigError, match="rewrap_all"):
        old.open_item(items[0].id, "lead-ann", "lead")
    assert old.rewrap_all(old_key, new_key) == 0  # nothing left under the old key
    assert new.rewrap_all(_key(), new_key) == 0  # a key that wraps nothing: nothing to do
    with database.session() as s:
        assert audit.verify(s).ok
