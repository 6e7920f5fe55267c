"""Retro-matching on each backend: the content-hash store, sweeps of new bank entries against
it (recall against brute force on random hashes), allow banks, disabled banks, no duplicate
items on re-runs, purge by an injected clock and forgetting on request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from safespace.banks import BankService
from safespace.banks.formats._base import HashRecord
from safespace.reports._queue import ReviewQueue
from safespace.retro import ContentIndex, ContentStore, RetroMatcher
from safespace.signals import (
    DISTANCE,
    HexSignalType,
    IndexKind,
    get_signal_type,
    signal_types_with_index,
)
from safespace.store import Database
from safespace.store._models_retro import RetroHit

PDQ = next(iter(signal_types_with_index(IndexKind.PDQ_MIH))).name
EXACT = sorted(
    t.name for t in signal_types_with_index(IndexKind.EXACT) if isinstance(t, HexSignalType)
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _hex(bits: np.ndarray) -> str:
    return np.packbits(bits).tobytes().hex()


def _random_hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2, size=(n, 256), dtype=np.uint8)


def _near(rng: np.random.Generator, bits: np.ndarray, flips: int) -> np.ndarray:
    out = bits.copy()
    out[rng.choice(256, size=flips, replace=False)] ^= 1
    return out


def _retro_items(db: Database) -> list[tuple[str | None, int | None]]:
    queue = ReviewQueue(db)
    return [(i.content_id, i.entry_id) for i in queue.list_items() if i.source == "retro"]


def test_recall_against_brute_force_on_random_hashes(database: Database) -> None:
    rng = np.random.default_rng(13)
    store = ContentStore(database, clock=Clock(T0))
    stored = _random_hashes(rng, 1500)
    rows = [(f"c{k}", PDQ, _hex(bits)) for k, bits in enumerate(stored)]
    assert store.insert_new(rows) == len(rows)
    banks = BankService(database)
    banks.create_bank("later", thresholds={PDQ: {DISTANCE: 31}})
    # new entries: near copies at every distance around the threshold, and unrelated ones
    picks = rng.choice(len(stored), size=120, replace=False)
    flips = [int(f) for f in rng.integers(0, 48, size=len(picks))]
    entries = [_near(rng, stored[p], f) for p, f in zip(picks, flips, strict=True)]
    entries += list(_random_hashes(rng, 80))
    matcher = RetroMatcher(database, clock=Clock(T0 + timedelta(days=1)))
    matcher.sweep_changes()  # the checkpoint: what is there now
    banks.add_entries("later", [HashRecord.of(PDQ, _hex(b)) for b in entries])
    result = matcher.sweep_changes()
    assert result.entries == len(entries)
    # brute force: every (content, entry) pair within 31 bits
    a = stored.astype(bool)[:, None, :]
    b = np.array(entries, dtype=bool)[None, :, :]
    dist = (a != b).sum(axis=2)
    expected = {(f"c{i}", j) for i, j in zip(*np.nonzero(dist <= 31), strict=True)}
    assert len(expected) >= 60  # the planted copies within reach are there
    with database.session() as s:
        found = s.execute(select(RetroHit.content_id, RetroHit.entry_id)).all()
    listed = BankService(database).list_entries("later", limit=1000)
    position = {_hex(b): j for j, b in enumerate(entries)}
    order = {e.id: position[e.value] for e in listed}
    got = {(cid, order[int(eid)]) for cid, eid in found}
    assert got == expected  # recall 1.0 and no false hit
    assert result.queued == len({c for c, _ in expected})  # one open item per content id


def test_exact_types_allow_banks_disabled_banks_and_no_duplicates(database: Database) -> None:
    store = ContentStore(database, clock=Clock(T0))
    value = {t: "ab" * int(get_signal_type(t).width or 16) for t in EXACT}
    store.remember("plain", {EXACT[0]: value[EXACT[0]]})
    store.remember("benign", {EXACT[-1]: value[EXACT[-1]]})
    banks = BankService(database)
    banks.create_bank("later")
    banks.create_bank("off", enabled=False)
    banks.create_bank("fp", kind="allow")
    matcher = RetroMatcher(database, clock=Clock(T0 + timedelta(hours=1)))
    matcher.sweep_changes()
    banks.add_entries("fp", [HashRecord.of(EXACT[-1], value[EXACT[-1]])])
    banks.add_entries("off", [HashRecord.of(EXACT[0], value[EXACT[0]])])
    banks.add_entries("later", [HashRecord.of(t, value[t]) for t in EXACT])
    first = matcher.sweep_changes()
    assert (first.queued, first.allowed) == (1, 1)  # plain queued; benign is allow-listed
    items = _retro_items(database)
    assert [c for c, _ in items] == ["plain"]
    item = ReviewQueue(database).list_items()[0]
    assert "first seen 2026-01-01T00:00:00Z" in (item.reason or "")
    assert item.hashes == {EXACT[0]: value[EXACT[0]]}
    # a re-run (the same changes again, or a sweep of the bank) queues nothing twice
    with database.transaction() as s:
        from safespace.store._models_queue import ReviewCursor

        row = s.get(ReviewCursor, "retro_changes")
        assert row is not None
        row.position = 0
    again = matcher.sweep_changes()
    assert again.queued == 0
    assert again.already == 2
    swept = RetroMatcher(database, clock=Clock(T0)).sweep_bank("later")
    assert swept.queued == 0
    assert swept.already == 2
    assert len(_retro_items(database)) == 1


def test_sweep_bank_since_a_date(database: Database) -> None:
    rng = np.random.default_rng(5)
    bits = _random_hashes(rng, 2)
    store = ContentStore(database, clock=Clock(T0))
    store.remember("old", {PDQ: _hex(bits[0])})
    store.remember("older", {PDQ: _hex(bits[1])})
    banks = BankService(database)
    banks.create_bank("list")
    banks.add_entries("list", [HashRecord.of(PDQ, _hex(bits[0]), added_at=T0)])
    banks.add_entries("list", [HashRecord.of(PDQ, _hex(bits[1]), added_at=T0 - timedelta(days=9))])
    result = RetroMatcher(database, clock=Clock(T0)).sweep_bank(
        "list", since=T0 - timedelta(days=1)
    )
    assert (result.entries, result.queued) == (1, 1)
    assert [c for c, _ in _retro_items(database)] == ["old"]
    assert RetroMatcher(database, clock=Clock(T0)).sweep_bank("list").queued == 1  # the older one


def test_purge_and_forget_remove_hashes(database: Database) -> None:
    clock = Clock(T0)
    store = ContentStore(database, retention=timedelta(days=30), clock=clock)
    rng = np.random.default_rng(1)
    a, b = (_hex(x) for x in _random_hashes(rng, 2))
    store.remember("keep", {PDQ: a})
    store.remember("expire", {PDQ: b})
    index = ContentIndex()
    assert index.sync(database) == 2
    clock.at = T0 + timedelta(days=20)
    store.remember("keep", {PDQ: a})  # seen again: kept 30 days from now
    assert store.purge() == []
    clock.at = T0 + timedelta(days=31)
    purged = store.purge()
    assert len(purged) == 1
    assert store.signals_of("expire") == []
    assert [s.value for s in store.signals_of("keep")] == [a]
    index.remove(purged)
    assert len(index) == 1
    assert store.forget("keep") == 1
    assert store.signals_of("keep") == []
    assert store.forget("keep") == 0
    # a forgotten content's row may linger in the index: the sweep reads rows back
    banks = BankService(database)
    banks.create_bank("later")
    matcher = RetroMatcher(database, index=index, clock=clock)
    matcher.sweep_changes()
    banks.add_entries("later", [HashRecord.of(PDQ, a), HashRecord.of(PDQ, b)])
    result = matcher.sweep_changes()
    assert result.hits == 0
    assert _retro_items(database) == []


def test_nothing_stored_moves_only_the_checkpoint(database: Database) -> None:
    banks = BankService(database)
    banks.create_bank("later")
    rng = np.random.default_rng(2)
    banks.add_entries("later", [HashRecord.of(PDQ, _hex(_random_hashes(rng, 1)[0]))])
    result = RetroMatcher(database).sweep_changes()
    assert result.entries == 0
    assert (result.through_seq or 0) > 0


@pytest.mark.parametrize("quality", [10, 90])
def test_low_quality_pdq_is_not_kept(database: Database, quality: int) -> None:
    from types import SimpleNamespace

    rng = np.random.default_rng(3)
    signals = SimpleNamespace(**{PDQ: _hex(_random_hashes(rng, 1)[0])})
    field = get_signal_type(PDQ).quality_field
    assert field is not None
    setattr(signals, field, quality)
    stored = ContentStore(database).remember("q", signals, min_quality=50)
    assert stored == (1 if quality >= 50 else 0)
