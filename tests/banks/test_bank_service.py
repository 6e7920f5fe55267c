"""BankService on every backend: banks, entries, validation and the change log."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from safespace.banks import BankInfo, BankService
from safespace.banks.formats import HashRecord
from safespace.errors import BankExists, BankNotFound, InvalidInput, InvalidSignal, NotFound
from safespace.store import Change, Database


def md5(i: int) -> str:
    return hashlib.md5(f"benign-{i}".encode()).hexdigest()


def pdq(i: int) -> str:
    return hashlib.sha256(f"pdq-{i}".encode()).hexdigest()


@pytest.fixture
def service(database: Database) -> BankService:
    return BankService(database)


def changes(db: Database) -> list[tuple[int, int | None, str]]:
    with db.session() as s:
        rows = s.execute(select(Change.bank_id, Change.entry_id, Change.op).order_by(Change.seq))
        return [(b, e, op) for b, e, op in rows]


def test_create_get_list_update_delete(service: BankService) -> None:
    created = service.create_bank("ncmec-1", description="from NCMEC", pdq_distance=20)
    assert (created.name, created.kind, _distance(created), created.enabled) == (
        "ncmec-1", "normal", 20, True,
    )  # fmt: skip
    assert created.created_at.tzinfo is not None
    service.create_bank("allow.list", kind="allow")
    assert [b.name for b in service.list_banks()] == ["allow.list", "ncmec-1"]
    got = service.get_bank("ncmec-1")
    assert got.description == "from NCMEC"
    assert got.entry_count == 0

    updated = service.update_bank("ncmec-1", pdq_distance=10, enabled=False, description="d")
    assert (_distance(updated), updated.enabled, updated.description) == (10, False, "d")
    assert updated.updated_at >= created.updated_at
    assert service.update_bank("ncmec-1", kind="allow").kind == "allow"

    service.delete_bank("ncmec-1")
    assert [b.name for b in service.list_banks()] == ["allow.list"]
    with pytest.raises(BankNotFound):
        service.get_bank("ncmec-1")


def test_bank_info_to_dict_is_json_ready(service: BankService) -> None:
    service.create_bank("b")
    service.add_entries("b", [HashRecord("md5", md5(1)), HashRecord("pdq", pdq(1))])
    d = service.get_bank("b").to_dict()
    assert d["entry_count"] == 2
    assert d["entry_counts"] == {"md5": 1, "pdq": 1}
    assert d["created_at"].endswith("Z")


def test_list_banks_counts_per_signal_type(service: BankService) -> None:
    service.create_bank("a")
    service.create_bank("b")
    service.add_entries("a", [HashRecord("md5", md5(i)) for i in range(3)])
    service.add_entries("a", [HashRecord("pdq", pdq(1))])
    service.add_entries("b", [HashRecord("sha256", pdq(9))])
    counts = {b.name: dict(b.entry_counts) for b in service.list_banks()}
    assert counts == {"a": {"md5": 3, "pdq": 1}, "b": {"sha256": 1}}


@pytest.mark.parametrize(
    "name", ["", "x" * 65, "has space", "slash/name", "..", "-lead", "ünïcode", "semi;colon"]
)
def test_bad_bank_names(service: BankService, name: str) -> None:
    with pytest.raises(InvalidInput, match="bad bank name"):
        service.create_bank(name)


@pytest.mark.parametrize("name", ["a", "x" * 64, "A.b-c_9", "9lives"])
def test_good_bank_names(service: BankService, name: str) -> None:
    assert service.create_bank(name).name == name


def test_bad_settings(service: BankService) -> None:
    for distance in (-1, 129, True, 3.5):
        with pytest.raises(InvalidInput, match="pdq distance"):
            service.create_bank("b", pdq_distance=distance)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="bad bank kind"):
        service.create_bank("b", kind="block")
    service.create_bank("b")
    with pytest.raises(InvalidInput):
        service.update_bank("b", pdq_distance=500)
    with pytest.raises(InvalidInput):
        service.update_bank("b", kind="other")
    with pytest.raises(InvalidInput, match="description too long"):
        service.update_bank("b", description="x" * 5000)
    assert _distance(service.get_bank("b")) == 31
    assert _distance(service.create_bank("edge", pdq_distance=128)) == 128
    assert _distance(service.create_bank("zero", pdq_distance=0)) == 0


def _distance(bank: BankInfo) -> int:
    return bank.thresholds["pdq"]["distance"]


def test_duplicate_and_unknown_banks(service: BankService) -> None:
    service.create_bank("b")
    with pytest.raises(BankExists, match="already exists"):
        service.create_bank("b")
    for call in (
        lambda: service.get_bank("nope"),
        lambda: service.update_bank("nope", enabled=False),
        lambda: service.delete_bank("nope"),
        lambda: service.add_entries("nope", []),
        lambda: service.list_entries("nope"),
        lambda: service.export_data("nope", "hma"),
        lambda: service.import_data("nope", b"md5 " + md5(1).encode()),
    ):
        with pytest.raises(BankNotFound, match="no bank named 'nope'"):
            call()


def test_add_entries_counts_duplicates_and_keeps_metadata(service: BankService) -> None:
    service.create_bank("b")
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    first = [
        HashRecord("md5", md5(1), source="ncmec", category="A1", note="n", added_at=when,
                   extra={"ref": "42"}),
        HashRecord("md5", md5(2)),
        HashRecord("md5", md5(1)),  # repeated in the input
    ]  # fmt: skip
    result = service.add_entries("b", first)
    assert (result.added, result.duplicates) == (2, 1)
    again = service.add_entries("b", [HashRecord("md5", md5(2)), HashRecord("md5", md5(3))])
    assert (again.added, again.duplicates) == (1, 1)
    entries = service.list_entries("b")
    assert [e.value for e in entries] == [md5(1), md5(2), md5(3)]
    e = entries[0]
    assert (e.source, e.category, e.note, e.added_at, dict(e.extra)) == (
        "ncmec", "A1", "n", when, {"ref": "42"},
    )  # fmt: skip
    assert e.enabled
    assert e.bank == "b"
    assert e.to_dict()["added_at"] == "2024-05-01T12:00:00Z"


def test_add_entries_normalises_and_rejects_bad_hashes(service: BankService) -> None:
    service.create_bank("b")
    service.add_entries("b", [HashRecord("photo_pdq", "0X" + pdq(1).upper())])
    assert [(e.signal_type, e.value) for e in service.list_entries("b")] == [("pdq", pdq(1))]
    with pytest.raises(InvalidSignal):
        service.add_entries("b", [HashRecord("md5", md5(5)), HashRecord("md5", "zz")])
    with pytest.raises(InvalidSignal, match="source longer"):
        service.add_entries("b", [HashRecord("md5", md5(6), source="s" * 300)])
    assert len(service.list_entries("b")) == 1  # nothing from the failed calls


def test_same_hash_in_two_banks_is_two_entries(service: BankService) -> None:
    service.create_bank("a")
    service.create_bank("b")
    assert service.add_entries("a", [HashRecord("md5", md5(1))]).added == 1
    assert service.add_entries("b", [HashRecord("md5", md5(1))]).added == 1


def test_list_entries_pages_and_filters(service: BankService) -> None:
    service.create_bank("b")
    service.add_entries("b", [HashRecord("md5", md5(i)) for i in range(5)])
    service.add_entries("b", [HashRecord("pdq", pdq(i)) for i in range(3)])
    page1 = service.list_entries("b", limit=3)
    page2 = service.list_entries("b", offset=3, limit=3)
    assert len(page1) == 3
    assert len(page2) == 3
    assert page1[-1].id < page2[0].id
    assert [e.signal_type for e in service.list_entries("b", signal_type="photo_pdq")] == [
        "pdq"
    ] * 3
    with pytest.raises(InvalidInput):
        service.list_entries("b", limit=0)
    with pytest.raises(InvalidInput):
        service.list_entries("b", offset=-1)
    with pytest.raises(InvalidSignal):
        service.list_entries("b", signal_type="tmk")


def test_enable_disable_and_remove_entries(service: BankService) -> None:
    service.create_bank("b")
    service.add_entries("b", [HashRecord("md5", md5(i)) for i in range(3)])
    ids = [e.id for e in service.list_entries("b")]
    assert service.set_entry_enabled(ids[0], False).enabled is False
    assert service.get_entry(ids[0]).enabled is False
    assert service.set_entry_enabled(ids[0], True).enabled is True
    assert service.remove_entries([ids[1], ids[2], 999_999]) == 2
    assert [e.id for e in service.list_entries("b")] == [ids[0]]
    with pytest.raises(NotFound):
        service.set_entry_enabled(999_999, False)
    with pytest.raises(NotFound):
        service.get_entry(ids[1])


def test_every_mutation_is_in_the_change_log(service: BankService, database: Database) -> None:
    b = service.create_bank("b").id
    service.add_entries("b", [HashRecord("md5", md5(1)), HashRecord("md5", md5(2))])
    e1, e2 = (e.id for e in service.list_entries("b"))
    service.add_entries("b", [HashRecord("md5", md5(1))])  # duplicate: no change
    service.set_entry_enabled(e1, False)
    service.set_entry_enabled(e1, False)  # already disabled: no change
    service.set_entry_enabled(e1, True)
    service.remove_entries([e2])
    service.update_bank("b", pdq_distance=5)
    service.update_bank("b", pdq_distance=5)  # same value: no change
    service.delete_bank("b")
    assert changes(database) == [
        (b, None, "bank-update"),
        (b, e1, "add"),
        (b, e2, "add"),
        (b, e1, "disable"),
        (b, e1, "enable"),
        (b, e2, "remove"),
        (b, None, "bank-update"),
        (b, None, "bank-delete"),
    ]
    with database.session() as s:
        seqs = s.scalars(select(Change.seq).order_by(Change.seq)).all()
    assert seqs == sorted(set(seqs))
