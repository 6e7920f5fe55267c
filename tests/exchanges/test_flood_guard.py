"""The flood guard: a new entry matching far more content than its bank's others is
quarantined (disabled, recorded) until a lead releases it; old entries, banks where many
entries match alike, allow banks and released entries are left alone. Retro-matches count as
live matches do, and retro-matching leaves a quarantined entry alone until it is released."""

from __future__ import annotations

import hashlib
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from app_factory import AppStarter
from safespace.banks import BankService
from safespace.banks.formats._base import HashRecord
from safespace.errors import AccessDenied, Conflict
from safespace.exchanges._flood import FloodGuard, FloodPolicy
from safespace.reports._queue import ReviewQueue
from safespace.retro import ContentStore, RetroMatcher
from safespace.signals import HexSignalType, IndexKind, signal_types_with_index
from safespace.store import BankEntry, Database
from safespace.store._models import utcnow
from safespace.store._models_access import MatchEvent
from safespace.store._models_opinions import EntryQuarantine
from waiting import WAIT_SECONDS

sys.path.insert(0, str(Path(__file__).parents[1] / "review"))
from review_helpers import ReviewApp, csrf, fast_passwords

POLICY = FloodPolicy(min_matches=50, factor=10, window=timedelta(hours=1))
# An exact-match type retro-matching searches (from the registry: no type named here).
EXACT = next(t for t in signal_types_with_index(IndexKind.EXACT) if isinstance(t, HexSignalType))


def _bank(db: Database, name: str = "list", kind: str = "normal", n: int = 4) -> list[int]:
    banks = BankService(db)
    banks.create_bank(name, kind=kind)
    values = [hashlib.md5(f"{name} {i}".encode()).hexdigest() for i in range(n)]
    banks.add_entries(name, [HashRecord("md5", v) for v in values])
    return [e.id for e in banks.list_entries(name)]


def _matches(db: Database, bank: str, entry_id: int, contents: int, tag: str = "") -> None:
    with db.transaction() as s:
        for i in range(contents):
            s.add(
                MatchEvent(
                    content_id=f"post-{tag}{entry_id}-{i}", bank=bank, entry_id=entry_id,
                    signal_type="md5", distance=0, created_at=utcnow(),
                )
            )  # fmt: skip


def _enabled(db: Database, entry_id: int) -> bool:
    return BankService(db).get_entry(entry_id).enabled


def test_a_flooding_new_entry_is_quarantined_and_released_by_a_lead(database: Database) -> None:
    flood, a, b, c = _bank(database)
    _matches(database, "list", flood, 120)
    for entry, n in ((a, 2), (b, 3), (c, 1)):
        _matches(database, "list", entry, n)
    guard = FloodGuard(database, POLICY)
    (made,) = guard.check()
    assert (made.entry_id, made.matches, made.usual, made.status) == (flood, 120, 2, "quarantined")
    assert not _enabled(database, flood)  # matchers drop it: nothing automatic
    assert all(_enabled(database, e) for e in (a, b, c))
    assert guard.check() == []  # once
    assert [q.entry_id for q in guard.list()] == [flood]
    with pytest.raises(AccessDenied):
        guard.release(flood, "ann", "reviewer")
    released = guard.release(flood, "lea", "lead")
    assert (released.status, released.released_by) == ("released", "lea")
    assert _enabled(database, flood)
    with pytest.raises(Conflict):
        guard.release(flood, "lea", "lead")
    _matches(database, "list", flood, 120, tag="again")
    assert guard.check() == []  # a lead let it through: it stays released
    assert guard.list() == []


def test_old_entries_usual_floods_allow_banks_and_a_guard_turned_off_are_left_alone(
    database: Database,
) -> None:
    old, young = _bank(database, "old", n=2)
    with database.transaction() as s:
        s.execute(
            update(BankEntry)
            .where(BankEntry.id == old)
            .values(created_at=utcnow() - timedelta(days=10))
        )
    _matches(database, "old", old, 120)
    busy = _bank(database, "busy", n=3)
    for entry in busy:  # every entry of the bank matches a lot: that is its usual
        _matches(database, "busy", entry, 80)
    allow = _bank(database, "benign", kind="allow", n=1)
    _matches(database, "benign", allow[0], 500)
    guard = FloodGuard(database, POLICY)
    assert guard.check() == []
    assert FloodGuard(database, FloodPolicy(min_matches=0)).check() == []
    _matches(database, "old", young, 60)  # young, alone in the window bar the old one
    assert [q.entry_id for q in guard.check()] == []  # 60 < 10 x 120
    assert _enabled(database, young)


def test_a_quarantine_left_half_done_is_completed(database: Database) -> None:
    (entry,) = _bank(database, n=1)
    with database.transaction() as s:
        s.add(
            EntryQuarantine(
                entry_id=entry, bank="list", matches=99, usual=0, window_minutes=60,
                status="quarantined", quarantined_at=utcnow(),
            )
        )  # fmt: skip
    assert _enabled(database, entry)  # as if the process died before disabling it
    FloodGuard(database, POLICY).check()
    assert not _enabled(database, entry)


def test_in_a_running_app_a_quarantined_entry_stops_matching_and_its_matches_await_review(
    start_app: AppStarter,
) -> None:
    started = start_app(review_poll_seconds=3600)
    state = started.state
    _, secret = state.keys.create(["match", "curate"], name="t")
    headers = {"Authorization": f"Bearer {secret}"}
    flood, quiet = _bank(state.db, n=2)
    values = {e.id: e.value for e in state.banks.list_entries("list")}

    def match(entry_id: int, content_id: str | None = None) -> list[int]:
        body: dict[str, object] = {"signals": {"md5": values[entry_id]}}
        if content_id:
            body["content_id"] = content_id
        response = started.client.post("/v1/match", json=body, headers=headers)
        assert response.status_code == 200
        return [e["entry_id"] for g in response.json()["matches"] for e in g["entries"]]

    deadline = time.monotonic() + WAIT_SECONDS
    while not match(flood) and time.monotonic() < deadline:  # the matcher has loaded it
        time.sleep(0.05)
    for i in range(60):
        assert match(flood, f"upload-{i}") == [flood]
    assert match(quiet, "upload-quiet") == [quiet]
    (made,) = FloodGuard(state.db, POLICY).check()
    assert made.entry_id == flood
    while match(flood) and time.monotonic() < deadline:  # every worker drops it on refresh
        time.sleep(0.05)
    assert match(flood, "upload-after") == []  # nothing automatic while quarantined
    assert match(quiet) == [quiet]
    queue = started.app.state.review.queue
    queue.sync()
    flooded = [i for i in queue.list_items(limit=500) if i.entry_id == flood]
    assert len(flooded) == 60  # what it matched before is waiting for a reviewer


def test_a_lead_releases_the_entry_from_the_review_item(start_app: AppStarter) -> None:
    started = start_app(wait_matcher=False, matcher_snapshots=False, review_poll_seconds=3600)
    started.app.state.accounts.passwords = fast_passwords()
    app = ReviewApp(started.app, start_app.clients)
    db = started.state.db
    flood, _ = _bank(db, n=2)
    _matches(db, "list", flood, 60)
    FloodGuard(db, POLICY).check()
    queue = started.app.state.review.queue
    queue.sync()
    item = next(i.id for i in queue.list_items(limit=500) if i.entry_id == flood)
    reviewer = app.signed_in("ann")
    page = reviewer.get(f"/console/items/{item}").text
    assert "Entry set aside by the flood guard" in page
    assert "release-entry" not in page  # a reviewer cannot release it
    token = csrf(reviewer)
    refused = reviewer.post(f"/console/items/{item}/release-entry", data={"csrf_token": token})
    assert refused.status_code == 403
    assert not _enabled(db, flood)
    lead = app.signed_in("lea", "lead")
    assert 'id="release-entry"' in lead.get(f"/console/items/{item}").text
    done = lead.post(f"/console/items/{item}/release-entry", data={"csrf_token": csrf(lead)})
    assert done.status_code == 303
    assert _enabled(db, flood)
    assert "Released by lea" in " ".join(lead.get(f"/console/items/{item}").text.split())


# --- retro-matches ---------------------------------------------------------------------------


def _value(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[: 2 * int(EXACT.width or 16)]


def _retro_items(db: Database) -> list[tuple[str | None, int | None]]:
    items = ReviewQueue(db).list_items()
    return sorted((i.content_id, i.entry_id) for i in items if i.source == "retro")


def test_a_quarantined_entry_is_not_retro_matched_until_a_lead_releases_it(
    database: Database,
) -> None:
    ContentStore(database).remember("old-upload", {EXACT.name: _value("blank frame")})
    banks = BankService(database)
    banks.create_bank("list")
    retro = RetroMatcher(database)
    retro.sweep_changes()  # the checkpoint: nothing new yet
    banks.add_entries(
        "list", [HashRecord.of(EXACT.name, _value(f"x{i}")) for i in range(3)]
        + [HashRecord.of(EXACT.name, _value("blank frame"))]
    )  # fmt: skip
    (flood,) = [e.id for e in banks.list_entries("list") if e.value == _value("blank frame")]
    _matches(database, "list", flood, 120)  # live uploads flood before the sweep runs
    guard = FloodGuard(database, POLICY)
    assert [q.entry_id for q in guard.check()] == [flood]
    # Quarantined: as a live match finds nothing, the retro sweeps find nothing either.
    swept = retro.sweep_changes()
    assert (swept.hits, swept.queued) == (0, 0)
    assert retro.sweep_bank("list").hits == 0  # the on-demand sweep too
    assert _retro_items(database) == []
    # A lead releases it: the entry is enabled again, and the next sweep looks back.
    guard.release(flood, "lea", "lead")
    after = retro.sweep_changes()
    assert after.queued == 1
    assert _retro_items(database) == [("old-upload", flood)]


def test_retro_matches_count_toward_the_flood_guard(database: Database) -> None:
    store = ContentStore(database)
    for i in range(60):  # a blank frame: every old upload of a blank video has it
        store.remember(f"old-{i}", {EXACT.name: _value("blank frame")})
    store.remember("old-real", {EXACT.name: _value("real")})
    banks = BankService(database)
    banks.create_bank("list")
    retro = RetroMatcher(database)
    retro.sweep_changes()
    banks.add_entries(
        "list",
        [
            HashRecord.of(EXACT.name, _value("blank frame")),
            HashRecord.of(EXACT.name, _value("real")),
        ],
    )
    by_value = {e.value: e.id for e in banks.list_entries("list")}
    flood, real = by_value[_value("blank frame")], by_value[_value("real")]
    _matches(database, "list", flood, 5)  # and a few live ones: both kinds count
    assert retro.sweep_changes().queued == 61
    (made,) = FloodGuard(database, POLICY).check()
    assert (made.entry_id, made.matches, made.usual) == (flood, 65, 1)
    assert not _enabled(database, flood)
    assert _enabled(database, real)
