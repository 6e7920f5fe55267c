"""Matcher snapshots: round trip, catching up from their seq, foreign or damaged ones, races."""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import random
import threading
from pathlib import Path

import pytest

from safespace.banks import BankService, Matcher
from safespace.banks._snapshot import VERSION, database_identity, list_snapshots, load_snapshot
from safespace.banks.formats import HashRecord
from safespace.errors import IndexFormatError
from safespace.store import Database, open_database


def pdq(i: int) -> str:
    return hashlib.sha256(f"snap-pdq-{i}".encode()).hexdigest()


def md5(i: int) -> str:
    return hashlib.md5(f"snap-md5-{i}".encode()).hexdigest()


def sha(i: int) -> str:
    return hashlib.sha256(f"snap-sha-{i}".encode()).hexdigest()


def near(h: str, bits: int, seed: int) -> str:
    value = int(h, 16)
    for b in random.Random(seed).sample(range(256), bits):
        value ^= 1 << b
    return f"{value:064x}"


QUERIES = (
    [[("pdq", near(pdq(i), i % 12, i))] for i in range(40)]
    + [[("md5", md5(i))] for i in range(40)]
    + [[("sha256", sha(i)), ("pdq", pdq(i))] for i in range(40)]
)


def fill(service: BankService) -> None:
    service.create_bank("a", pdq_distance=31)
    service.create_bank("b", pdq_distance=8)
    service.create_bank("ok", kind="allow", pdq_distance=2)
    service.add_entries("a", [HashRecord("pdq", pdq(i), source="s") for i in range(30)])
    service.add_entries("a", [HashRecord("md5", md5(i), note="n") for i in range(25)])
    service.add_entries("b", [HashRecord("pdq", pdq(i)) for i in range(20, 35)])
    service.add_entries("b", [HashRecord("md5", md5(i)) for i in range(20, 30)])  # in a and b
    service.add_entries("b", [HashRecord("sha256", sha(i)) for i in range(30)])
    service.add_entries("ok", [HashRecord("pdq", pdq(33))])


def same(m: Matcher, other: Matcher) -> None:
    assert len(m) == len(other)
    assert m.seq == other.seq
    for q in QUERIES:
        assert m.match(q) == other.match(q), q


def change_things(service: BankService) -> None:
    service.add_entries("a", [HashRecord("pdq", pdq(i)) for i in range(30, 38)])
    service.add_entries("a", [HashRecord("sha256", sha(i)) for i in range(35, 40)])
    entries = service.list_entries("a", limit=1000)
    service.set_entry_enabled(entries[0].id, False)
    service.remove_entries([e.id for e in entries[1:4]])
    md5s = [e for e in entries if e.signal_type == "md5"]
    service.set_entry_enabled(md5s[0].id, False)
    service.update_bank("b", pdq_distance=20)
    service.update_bank("ok", enabled=False)


def test_round_trip_matches_identically(database: Database, tmp_path: Path) -> None:
    fill(BankService(database))
    built = Matcher.from_database(database)
    assert [m.entry_id for m in built.match([("md5", md5(22))]).matches]  # two banks list it
    path = built.save_snapshot(tmp_path / "snaps")
    assert list_snapshots(tmp_path / "snaps", database_identity(database)) == [path]
    loaded = Matcher.from_snapshot(database, path)
    assert loaded.snapshot == path
    same(loaded, built)
    # the big arrays are memory-mapped, not read
    data = load_snapshot(path)
    assert type(data.bank).__name__ == "memmap"


def test_load_catches_up_from_the_snapshot_seq(database: Database, tmp_path: Path) -> None:
    service = BankService(database)
    fill(service)
    folder = tmp_path / "snaps"
    first = Matcher.load_or_build(database, folder)  # nothing there: builds and writes
    assert first.snapshot is not None
    assert first.snapshot.parent == folder
    change_things(service)
    later = Matcher.load_or_build(database, folder)
    assert later.snapshot == first.snapshot  # loaded, then refreshed from its seq
    same(later, Matcher.from_database(database))
    # a snapshot of a matcher that followed the log is as good as a fresh build
    first.refresh()
    again = Matcher.from_snapshot(database, first.save_snapshot(folder))
    same(again, Matcher.from_database(database))
    assert len(list_snapshots(folder, database_identity(database))) == 2


def test_snapshot_of_another_database_is_never_used(tmp_path: Path) -> None:
    folder = tmp_path / "snaps"
    one = open_database(f"sqlite:///{tmp_path / 'one.db'}")
    two = open_database(f"sqlite:///{tmp_path / 'two.db'}")
    try:
        for db in (one, two):  # the same banks and hashes, made separately
            BankService(db).create_bank("a")
            BankService(db).add_entries("a", [HashRecord("md5", md5(i)) for i in range(5)])
        assert database_identity(one) != database_identity(two)
        path = Matcher.load_or_build(one, folder).snapshot
        assert path is not None
        with pytest.raises(IndexFormatError, match="another database"):
            Matcher.from_snapshot(two, path)
        m = Matcher.load_or_build(two, folder)
        assert m.snapshot is not None
        assert m.snapshot != path
        BankService(two).add_entries("a", [HashRecord("md5", md5(9))])
        m.refresh()
        assert len(m.match([("md5", md5(9))]).matches) == 1
    finally:
        one.close()
        two.close()


@pytest.mark.parametrize("damage", ["truncate", "manifest", "index", "version"])
def test_damaged_snapshot_is_ignored_and_rebuilt(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    fill(BankService(database))
    folder = tmp_path / "snaps"
    path = Matcher.from_database(database).save_snapshot(folder)
    if damage == "truncate":
        f = path / "bank.npy"
        f.write_bytes(f.read_bytes()[:-7])
    elif damage == "manifest":
        (path / "snapshot.json").write_text("{not json")
    elif damage == "index":
        (path / "index" / "manifest.json").write_text('{"format": "x"}')
    else:
        text = (path / "snapshot.json").read_text()
        (path / "snapshot.json").write_text(text.replace(f'"version": {VERSION}', '"version": 99'))
    with caplog.at_level(logging.WARNING, logger="safespace.matcher"):
        m = Matcher.load_or_build(database, folder)
    assert "unusable" in caplog.text
    assert m.snapshot is not None
    assert m.snapshot != path
    assert not path.exists()  # replaced by a good one
    same(m, Matcher.from_database(database))
    same(Matcher.from_snapshot(database, m.snapshot), m)


def _start(url: str, folder: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    db = open_database(url)
    try:
        m = Matcher.load_or_build(db, folder)
        out.put((len(m), str(m.snapshot)))
    finally:
        db.close()


def test_concurrent_starts_and_writers_are_safe(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    db = open_database(url)
    service = BankService(db)
    fill(service)
    folder = tmp_path / "snaps"
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_start, args=(url, str(folder), out)) for _ in range(3)]
    for p in procs:
        p.start()
    errors: list[BaseException] = []
    matcher = Matcher.from_database(db)

    def write() -> None:
        try:
            for _ in range(3):
                matcher.save_snapshot(folder)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert not errors
    assert {n for n, _ in results} == {len(matcher)}
    snaps = list_snapshots(folder, database_identity(db))
    assert 1 <= len(snaps) <= 2  # older ones pruned
    assert not list(folder.glob(".tmp-*"))
    for path in snaps:
        same(Matcher.from_snapshot(db, path), matcher)
    db.close()


def test_match_cached_never_reads_the_database(database: Database) -> None:
    fill(BankService(database))
    m = Matcher.from_database(database)
    miss = [("pdq", "0" * 64)]
    assert m.match_cached(miss) == m.match(miss)
    hit = [("pdq", near(pdq(3), 2, 1))]
    assert m.match_cached(hit) is None  # its details are not in memory yet
    full = m.match(hit)
    assert full.matched
    assert m.match_cached(hit) == full
