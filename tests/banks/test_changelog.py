"""Pruning the change log: what goes, what stays, and who reloads instead of missing changes."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from safespace.api._freshness import MatcherHolder
from safespace.banks import BankService, Matcher
from safespace.banks._changelog import prune_change_log, pruned_through
from safespace.banks._snapshot import database_identity, list_snapshots, snapshot_seq
from safespace.banks.formats import HashRecord
from safespace.errors import IndexFormatError
from safespace.store import Change, Database
from safespace.store._models import utcnow
from waiting import WAIT_SECONDS

LATER = timedelta(days=1)


def md5(i: int) -> str:
    return hashlib.md5(f"log-{i}".encode()).hexdigest()


def _add(service: BankService, start: int, count: int) -> None:
    for i in range(start, start + count):  # one change each
        service.add_entries("b", [HashRecord("md5", md5(i))])


def _seqs(db: Database) -> list[int]:
    with db.session() as s:
        return list(s.scalars(select(Change.seq).order_by(Change.seq)))


def _matches(matcher: Matcher, i: int) -> bool:
    return bool(matcher.match([("md5", md5(i))]).matches)


def test_prune_keeps_the_first_row_and_the_snapshot_position(database: Database) -> None:
    service = BankService(database)
    service.create_bank("b")
    _add(service, 0, 20)
    before = _seqs(database)
    identity = database_identity(database)
    keep = before[12]

    done = prune_change_log(database, before=utcnow() + LATER, keep_from_seq=keep)

    after = _seqs(database)
    assert after == [before[0], *before[12:]]  # the identity row, then the bound onwards
    assert done.deleted == 11
    assert done.through_seq == before[11]
    with database.session() as s:
        assert pruned_through(s) == before[11]
    assert database_identity(database) == identity  # snapshots keyed by it stay usable
    again = prune_change_log(database, before=utcnow() + LATER, keep_from_seq=keep)
    assert again.deleted == 0
    assert again.through_seq == before[11]


def test_prune_keeps_what_is_within_retention(database: Database) -> None:
    service = BankService(database)
    service.create_bank("b")
    _add(service, 0, 5)
    done = prune_change_log(database, before=utcnow() - LATER, keep_from_seq=None)
    assert done.deleted == 0
    assert len(_seqs(database)) == 6
    with database.session() as s:
        assert pruned_through(s) == 0


def test_a_matcher_behind_the_pruned_log_refuses_to_catch_up(database: Database) -> None:
    service = BankService(database)
    service.create_bank("b")
    _add(service, 0, 3)
    behind = Matcher.from_database(database, min_quality=0)
    current = Matcher.from_database(database, min_quality=0)
    _add(service, 3, 5)
    current.refresh()
    top = _seqs(database)[-1]
    prune_change_log(database, before=utcnow() + LATER, keep_from_seq=top)
    _add(service, 8, 1)

    assert current.refresh() == 1  # at the bound or past it: follows the log as before
    assert _matches(current, 8)
    with pytest.raises(IndexFormatError, match="pruned"):
        behind.refresh()  # changes 3..7 are gone from the log: it must not miss them


def _bank_of_three(database: Database) -> BankService:
    service = BankService(database)
    service.create_bank("b")
    _add(service, 0, 3)
    return service


def test_an_old_snapshot_is_skipped_for_a_newer_one_or_the_database(
    database: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "snapshots"
    service = _bank_of_three(database)
    old = Matcher.load_or_build(database, folder).snapshot
    _add(service, 3, 4)
    top = _seqs(database)[-1]
    prune_change_log(database, before=utcnow() + LATER, keep_from_seq=top)
    for path in list_snapshots(folder, database_identity(database)):
        assert path == old  # only the old one exists

    matcher = Matcher.load_or_build(database, folder, min_quality=0)
    assert matcher.snapshot != old  # rebuilt from the database and written anew
    assert all(_matches(matcher, i) for i in range(7))


def test_the_service_prunes_to_its_snapshot_and_a_lagging_worker_reloads(
    database: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "snapshots"
    service = _bank_of_three(database)
    pruner = MatcherHolder(
        database, min_quality=0, interval=0.05, snapshot_dir=folder,
        change_log_retention=timedelta(0),
    )  # fmt: skip
    lagging = MatcherHolder(database, min_quality=0, interval=0.05)
    pruner.start()
    lagging.start()
    try:
        assert pruner.wait_ready(30)
        assert lagging.wait_ready(30)
        lagging.stop()  # away for a while: its position stays at 3 entries
        stale = lagging.matcher
        _add(service, 3, 6)
        Matcher.update_snapshot(database, folder, min_changes=1)
        newest = snapshot_seq(list_snapshots(folder, database_identity(database))[0])
        pruner.prune_change_log()
        with database.session() as s:
            assert pruned_through(s) == newest - 1
            assert s.scalar(select(func.count()).select_from(Change)) == 2  # first, and mark

        lagging.start()  # back: its refresh finds the log pruned past it, so it reloads
        deadline = time.monotonic() + WAIT_SECONDS
        while lagging.matcher is stale and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lagging.matcher is not stale
        assert all(_matches(lagging.matcher, i) for i in range(9))
        assert lagging.status()["ready"]
    finally:
        pruner.stop()
        lagging.stop()
