"""Matcher: distance per bank, allow banks, quality gate, exact hashes, dihedral, refresh."""

from __future__ import annotations

import csv
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from datafiles import REFERENCE_CSV
from safespace.banks import BankService, Matcher
from safespace.banks.formats import HashRecord
from safespace.errors import BankNotFound, InvalidInput, InvalidSignal
from safespace.store import Database


@dataclass(frozen=True)
class FakeSignals:
    pdq: str | None = None
    pdq_quality: int | None = None
    md5: str | None = None
    sha256: str | None = None


def pdq(i: int) -> str:
    return hashlib.sha256(f"pdq-{i}".encode()).hexdigest()


def md5(i: int) -> str:
    return hashlib.md5(f"benign-{i}".encode()).hexdigest()


def flip(hex_hash: str, bits: int, seed: int = 0) -> str:
    """The hash with exactly ``bits`` distinct bits flipped."""
    value = int(hex_hash, 16)
    for b in random.Random(seed).sample(range(256), bits):
        value ^= 1 << b
    return f"{value:064x}"


@pytest.fixture
def service(database: Database) -> BankService:
    return BankService(database)


def add(service: BankService, bank: str, *pairs: tuple[str, str], **meta: str) -> list[int]:
    service.add_entries(bank, [HashRecord(t, v, **meta) for t, v in pairs])  # type: ignore[arg-type]
    wanted = set(pairs)
    return [
        e.id for e in service.list_entries(bank, limit=10_000) if (e.signal_type, e.value) in wanted
    ]


def hits(result: object) -> list[tuple[str, str, int]]:
    return sorted((m.bank, m.value, m.distance) for m in result.matches)  # type: ignore[attr-defined]


def test_each_bank_applies_its_own_distance(service: BankService, database: Database) -> None:
    service.create_bank("strict", pdq_distance=5)
    service.create_bank("loose", pdq_distance=31)
    h = pdq(1)
    add(service, "strict", ("pdq", h))
    add(service, "loose", ("pdq", h))
    m = Matcher.from_database(database)
    assert hits(m.match([("pdq", flip(h, 3))])) == [("loose", h, 3), ("strict", h, 3)]
    assert hits(m.match([("pdq", flip(h, 5))])) == [("loose", h, 5), ("strict", h, 5)]
    assert hits(m.match([("pdq", flip(h, 6))])) == [("loose", h, 6)]
    assert hits(m.match([("pdq", flip(h, 31))])) == [("loose", h, 31)]
    assert hits(m.match([("pdq", flip(h, 32))])) == []


def test_bank_filter(service: BankService, database: Database) -> None:
    service.create_bank("a")
    service.create_bank("b")
    add(service, "a", ("md5", md5(1)))
    add(service, "b", ("md5", md5(1)))
    m = Matcher.from_database(database)
    assert [x.bank for x in m.match([("md5", md5(1))]).matches] == ["a", "b"]
    assert [x.bank for x in m.match([("md5", md5(1))], banks=["b"]).matches] == ["b"]
    with pytest.raises(BankNotFound, match="nope"):
        m.match([("md5", md5(1))], banks=["nope"])


def test_match_carries_entry_metadata(service: BankService, database: Database) -> None:
    service.create_bank("a")
    (entry_id,) = add(service, "a", ("pdq", pdq(1)), source="hotline", category="A1", note="n")
    result = Matcher.from_database(database).match(FakeSignals(pdq=flip(pdq(1), 2)))
    (match,) = result.matches
    assert (match.entry_id, match.signal_type, match.value, match.bank_kind) == (
        entry_id, "pdq", pdq(1), "normal",
    )  # fmt: skip
    assert match.metadata["source"] == "hotline"
    assert match.metadata["category"] == "A1"
    assert match.metadata["note"] == "n"
    assert result.matched
    row = match.to_dict()
    assert {"bank", "entry_id", "signal_type", "value", "distance", "metadata"} <= set(row)
    assert result.to_dict()["matches"][0]["distance"] == 2
    assert list(result.by_bank()) == ["a"]


def test_exact_hashes_match_exactly(service: BankService, database: Database) -> None:
    service.create_bank("a")
    sha = hashlib.sha256(b"benign file").hexdigest()
    add(service, "a", ("md5", md5(1)), ("sha256", sha))
    m = Matcher.from_database(database)
    assert hits(m.match([("md5", md5(1).upper())])) == [("a", md5(1), 0)]
    assert hits(m.match({"sha256": sha})) == [("a", sha, 0)]
    assert hits(m.match(FakeSignals(md5=md5(2), sha256=sha))) == [("a", sha, 0)]
    assert hits(m.match([("md5", md5(2))])) == []
    # An exact hash that happens to be PDQ-sized is never searched by distance.
    assert hits(m.match([("pdq", flip(sha, 1))])) == []


def test_bad_queries(service: BankService, database: Database) -> None:
    m = Matcher.from_database(database)
    with pytest.raises(InvalidSignal):
        m.match([("pdq", "xyz")])
    with pytest.raises(InvalidSignal):
        m.match([("tmk", "00")])
    with pytest.raises(InvalidInput):
        m.match("pdq " + pdq(1))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        m.match([("pdq",)])  # type: ignore[list-item]
    with pytest.raises(InvalidInput):
        m.match([("pdq", pdq(1))], dihedral="yes")
    with pytest.raises(InvalidInput):
        Matcher(database, min_quality=101)
    assert m.match([]).matches == ()


def test_allow_bank_suppresses_normal_matches(service: BankService, database: Database) -> None:
    service.create_bank("known")
    service.create_bank("benign", kind="allow", pdq_distance=10)
    h = pdq(1)
    (normal_id,) = add(service, "known", ("pdq", h), ("md5", md5(1)))[:1]
    (allow_id,) = add(service, "benign", ("pdq", flip(h, 4)))
    m = Matcher.from_database(database)

    result = m.match([("pdq", h), ("md5", md5(1))])
    assert not result.matched
    assert result.matches == ()
    assert [(a.bank, a.entry_id, a.distance) for a in result.allowed] == [("benign", allow_id, 4)]
    assert sorted((s.match.signal_type, s.by.entry_id) for s in result.suppressed) == [
        ("md5", allow_id),
        ("pdq", allow_id),
    ]
    row = next(s for s in result.suppressed if s.match.entry_id == normal_id).to_dict()
    assert row["suppressed_by"]["bank"] == "benign"

    # Allow banks apply even when the caller names only normal banks.
    assert m.match([("pdq", h)], banks=["known"]).matches == ()
    # Beyond the allow bank's own distance, nothing is suppressed.
    far = flip(h, 20, seed=7)
    far_result = m.match([("pdq", far)])
    assert [x.bank for x in far_result.matches] == ["known"]
    assert far_result.suppressed == ()


def test_low_quality_pdq_is_not_matched(service: BankService, database: Database) -> None:
    service.create_bank("a")
    add(service, "a", ("pdq", pdq(1)), ("md5", md5(1)))
    m = Matcher.from_database(database, min_quality=50)
    low = m.match(FakeSignals(pdq=pdq(1), pdq_quality=49, md5=md5(1)))
    assert low.low_quality
    assert low.pdq_quality == 49
    assert [x.signal_type for x in low.matches] == ["md5"]  # exact hashes still match
    ok = m.match(FakeSignals(pdq=pdq(1), pdq_quality=50))
    assert not ok.low_quality
    assert [x.signal_type for x in ok.matches] == ["pdq"]
    unknown = m.match([("pdq", pdq(1))])  # pairs carry no quality: matched
    assert not unknown.low_quality
    assert len(unknown.matches) == 1
    lenient = Matcher.from_database(database, min_quality=0)
    assert len(lenient.match(FakeSignals(pdq=pdq(1), pdq_quality=0)).matches) == 1


def test_dihedral_with_explicit_variants(service: BankService, database: Database) -> None:
    service.create_bank("a")
    rotated = pdq(2)
    add(service, "a", ("pdq", rotated))
    m = Matcher.from_database(database)
    query = [("pdq", pdq(1))]
    assert m.match(query).matches == ()
    variants = [pdq(1), flip(rotated, 9), flip(rotated, 3, seed=1), pdq(3)]
    (match,) = m.match(query, dihedral=variants).matches
    assert match.distance == 3  # the best distance over all variants


def _reference() -> dict[str, str]:
    with REFERENCE_CSV.open() as fh:
        return {row["path"]: row["pdq"] for row in csv.DictReader(fh)}


def test_dihedral_finds_rotations_of_a_real_photo(service: BankService, database: Database) -> None:
    ref = _reference()
    dih = sorted(p for p in ref if "/dih/" in p)
    original, rotations = ref[dih[0]], [ref[p] for p in dih[1:]]
    service.create_bank("a")
    add(service, "a", *[("pdq", h) for h in rotations])
    m = Matcher.from_database(database)
    assert m.match(FakeSignals(pdq=original, pdq_quality=100)).matches == ()
    found = m.match(FakeSignals(pdq=original, pdq_quality=100), dihedral=True).matches
    assert sorted(x.value for x in found) == sorted(set(rotations))
    assert all(x.distance <= 31 for x in found)


def test_disabled_banks_and_entries_are_not_loaded(
    service: BankService, database: Database
) -> None:
    service.create_bank("on")
    service.create_bank("off")
    a, b = add(service, "on", ("md5", md5(1)), ("md5", md5(2)))
    add(service, "off", ("md5", md5(3)))
    service.set_entry_enabled(b, False)
    service.update_bank("off", enabled=False)
    m = Matcher.from_database(database)
    assert len(m) == 1
    assert [x.entry_id for x in m.match([("md5", md5(1))]).matches] == [a]
    assert m.match([("md5", md5(2))]).matches == ()
    assert m.match([("md5", md5(3))]).matches == ()


def test_refresh_follows_every_kind_of_change(service: BankService, database: Database) -> None:
    service.create_bank("a")
    m = Matcher.from_database(database)
    h = pdq(1)
    q = [("pdq", h)]
    assert m.refresh() == 0

    (entry,) = add(service, "a", ("pdq", h))
    assert m.match(q).matches == ()  # not refreshed yet
    assert m.refresh() == 1
    assert [x.entry_id for x in m.match(q).matches] == [entry]

    service.set_entry_enabled(entry, False)
    m.refresh()
    assert m.match(q).matches == ()
    service.set_entry_enabled(entry, True)
    m.refresh()
    assert len(m.match(q).matches) == 1

    service.update_bank("a", pdq_distance=2)
    m.refresh()
    assert m.match([("pdq", flip(h, 3))]).matches == ()
    assert len(m.match([("pdq", flip(h, 2))]).matches) == 1

    service.update_bank("a", enabled=False)
    m.refresh()
    assert m.match(q).matches == ()
    assert len(m) == 0
    service.update_bank("a", enabled=True)
    m.refresh()
    assert len(m.match(q).matches) == 1

    service.create_bank("ok", kind="allow")
    add(service, "ok", ("md5", md5(9)))
    service.update_bank("a", kind="allow")
    m.refresh()
    assert m.match(q).allowed[0].bank == "a"

    service.remove_entries([entry])
    m.refresh()
    assert m.match(q).allowed == ()

    add(service, "a", ("pdq", h))
    service.delete_bank("a")
    m.refresh()
    assert len(m) == 1  # only the allow bank's md5 is left
    with pytest.raises(BankNotFound):
        m.match(q, banks=["a"])


def test_refresh_after_bulk_import(service: BankService, database: Database) -> None:
    service.create_bank("a")
    m = Matcher.from_database(database)
    data = "".join(f"pdq {pdq(i)}\nmd5 {md5(i)}\n" for i in range(300)).encode()
    service.import_data("a", data, fmt="hma")
    assert m.refresh() == 600
    assert len(m) == 600
    assert len(m.match([("pdq", flip(pdq(123), 4))]).matches) == 1


def test_deleted_and_recreated_bank_between_refreshes(
    service: BankService, database: Database
) -> None:
    service.create_bank("a")
    add(service, "a", ("md5", md5(1)))
    m = Matcher.from_database(database)
    service.delete_bank("a")
    service.create_bank("a")
    add(service, "a", ("md5", md5(2)))
    m.refresh()
    assert m.match([("md5", md5(1))]).matches == ()
    assert len(m.match([("md5", md5(2))]).matches) == 1


def test_entry_removed_before_refresh_is_not_reported(
    service: BankService, database: Database
) -> None:
    service.create_bank("a")
    (entry,) = add(service, "a", ("md5", md5(1)))
    m = Matcher.from_database(database)
    service.remove_entries([entry])
    assert m.match([("md5", md5(1))]).matches == ()


def test_refresh_against_a_fresh_database_rebuilds(
    service: BankService, database: Database, tmp_path: Path
) -> None:
    service.create_bank("a")
    add(service, "a", *[("md5", md5(i)) for i in range(5)])
    m = Matcher.from_database(database)
    from safespace.store import open_database

    other = open_database(f"sqlite:///{tmp_path / 'other.db'}")
    BankService(other).create_bank("z")
    BankService(other).add_entries("z", [HashRecord("md5", md5(100))])
    m.refresh(other)
    assert [x.bank for x in m.match([("md5", md5(100))]).matches] == ["z"]
    assert m.match([("md5", md5(1))]).matches == ()
    other.close()


def test_random_changes_refresh_equals_rebuild(service: BankService, database: Database) -> None:
    """Whatever happened, following the log ends where a fresh load starts."""
    rng = random.Random(42)
    names = ["a", "b", "c"]
    for n in names:
        service.create_bank(n, pdq_distance=rng.choice([0, 10, 31]))
    m = Matcher.from_database(database)
    pool = [("pdq", pdq(i)) for i in range(30)] + [("md5", md5(i)) for i in range(30)]
    for step in range(60):
        op = rng.random()
        bank = rng.choice(names)
        if op < 0.45:
            service.add_entries(bank, [HashRecord(*p) for p in rng.sample(pool, 5)])
        elif op < 0.7:
            entries = service.list_entries(bank, limit=10_000)
            if entries:
                e = rng.choice(entries)
                service.set_entry_enabled(e.id, not e.enabled)
        elif op < 0.85:
            entries = service.list_entries(bank, limit=10_000)
            service.remove_entries([e.id for e in rng.sample(entries, min(3, len(entries)))])
        elif op < 0.95:
            service.update_bank(
                bank, enabled=rng.random() < 0.6, kind=rng.choice(["normal", "allow"])
            )
        else:
            service.delete_bank(bank)
            service.create_bank(bank, pdq_distance=rng.choice([0, 10, 31]))
        if step % 7 == 0:
            m.refresh()
    m.refresh()
    fresh = Matcher.from_database(database)
    assert len(m) == len(fresh)
    assert m.seq == fresh.seq
    for pair in pool:
        query = [(pair[0], flip(pair[1], 2) if pair[0] == "pdq" else pair[1])]
        assert m.match(query) == fresh.match(query)
