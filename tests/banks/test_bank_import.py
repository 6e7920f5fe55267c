"""Imports are validated line by line and written in one transaction, or not at all."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from safespace.banks import BankService
from safespace.banks import _bulk as bulk
from safespace.errors import BankNotFound, ImportFormatError, InvalidInput
from safespace.store import BankEntry, Change, Database


def md5(i: int) -> str:
    return hashlib.md5(f"benign-{i}".encode()).hexdigest()


def pdq(i: int) -> str:
    return hashlib.sha256(f"pdq-{i}".encode()).hexdigest()


def hma(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def service(database: Database) -> BankService:
    svc = BankService(database)
    svc.create_bank("b")
    return svc


def counts(db: Database) -> tuple[int, int]:
    with db.session() as s:
        entries = s.scalar(select(func.count()).select_from(BankEntry)) or 0
        adds = s.scalar(select(func.count()).where(Change.op == "add")) or 0
    return entries, adds


def test_import_adds_everything_and_logs_it(service: BankService, database: Database) -> None:
    data = hma([f"md5 {md5(i)}" for i in range(10)] + [f"pdq {pdq(i)}" for i in range(5)])
    result = service.import_data("b", data, fmt="hma")
    assert (result.added, result.duplicates, result.rejects, result.removed) == (15, 0, (), 0)
    assert counts(database) == (15, 15)
    assert service.get_bank("b").entry_counts == {"md5": 10, "pdq": 5}


def test_reimport_adds_nothing_twice(service: BankService, database: Database) -> None:
    data = hma([f"md5 {md5(i)}" for i in range(10)])
    service.import_data("b", data, fmt="hma")
    again = service.import_data("b", data, fmt="hma")
    assert (again.added, again.duplicates) == (0, 10)
    bigger = service.import_data("b", hma([f"md5 {md5(i)}" for i in range(15)]), fmt="hma")
    assert (bigger.added, bigger.duplicates) == (5, 10)
    assert counts(database) == (15, 15)


def test_duplicates_within_one_file(service: BankService) -> None:
    data = hma([f"md5 {md5(1)}", f"md5 {md5(1).upper()}", f"md5 {md5(2)}"])
    result = service.import_data("b", data, fmt="hma")
    assert (result.added, result.duplicates) == (2, 1)


def test_any_bad_line_rejects_the_whole_file(service: BankService, database: Database) -> None:
    data = hma([f"md5 {md5(1)}", "md5 nothex", f"md5 {md5(2)}", "tmk 1234", f"pdq {pdq(1)}"])
    with pytest.raises(ImportFormatError, match="2 of 5 lines rejected; nothing imported") as e:
        service.import_data("b", data, fmt="hma")
    assert [r.line for r in e.value.rejects] == [2, 4]
    assert all(r.reason for r in e.value.rejects)
    assert counts(database) == (0, 0)


def test_skip_invalid_imports_the_good_lines(service: BankService, database: Database) -> None:
    data = hma([f"md5 {md5(1)}", "md5 nothex", f"md5 {md5(2)}"])
    result = service.import_data("b", data, fmt="hma", skip_invalid=True)
    assert (result.added, result.duplicates) == (2, 0)
    assert [(r.line, r.text) for r in result.rejects] == [(2, "md5 nothex")]
    assert counts(database) == (2, 2)


def test_service_level_checks_are_rejects_too(service: BankService) -> None:
    """Lines a format accepts but the database cannot hold are rejected with their line."""
    long_source = "x" * 300
    data = f"signal_type,value,source\nmd5,{md5(1)},ok\nmd5,{md5(2)},{long_source}\n".encode()
    with pytest.raises(ImportFormatError) as e:
        service.import_data("b", data, fmt="csv")
    assert [(r.line, "source longer" in r.reason) for r in e.value.rejects] == [(3, True)]
    result = service.import_data("b", data, fmt="csv", skip_invalid=True)
    assert result.added == 1
    assert len(result.rejects) == 1


def test_failure_midway_leaves_nothing(
    service: BankService, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "CHUNK", 3)
    real = bulk.insert_chunk
    calls = {"n": 0}

    def failing(conn: Any, table: str, names: Any, rows: list[tuple[Any, ...]]) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        real(conn, table, names, rows)

    monkeypatch.setattr(bulk, "insert_chunk", failing)
    data = hma([f"md5 {md5(i)}" for i in range(10)])
    with pytest.raises(RuntimeError, match="disk on fire"):
        service.import_data("b", data, fmt="hma")
    assert calls["n"] == 3  # two chunks were written before the failure
    assert counts(database) == (0, 0)
    monkeypatch.setattr(bulk, "insert_chunk", real)
    assert service.import_data("b", data, fmt="hma").added == 10


def test_chunked_import_counts_across_chunks(
    service: BankService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "CHUNK", 4)
    service.import_data("b", hma([f"md5 {md5(i)}" for i in range(0, 10, 2)]), fmt="hma")
    result = service.import_data("b", hma([f"md5 {md5(i)}" for i in range(10)]), fmt="hma")
    assert (result.added, result.duplicates) == (5, 5)


def test_format_detection_and_unknown_formats(service: BankService) -> None:
    data = f"signal_type,value\nmd5,{md5(1)}\n".encode()
    assert service.import_data("b", data, filename="list.csv").added == 1
    with pytest.raises(InvalidInput, match="unknown hash-list format"):
        service.import_data("b", data, fmt="excel")
    with pytest.raises(InvalidInput, match="unknown hash-list format"):
        service.export_data("b", "excel")
    with pytest.raises(BankNotFound):
        service.import_data("nope", data, fmt="csv")


def test_whole_file_errors_write_nothing(service: BankService, database: Database) -> None:
    with pytest.raises(ImportFormatError, match="not UTF-8"):
        service.import_data("b", b"md5 \xff\xfe\xfa" + md5(1).encode() + b"\n\xff", fmt="hma")
    assert counts(database) == (0, 0)


def test_withdrawn_hashes_are_removed_not_added(service: BankService) -> None:
    service.import_data("b", hma([f"pdq {pdq(1)}", f"pdq {pdq(2)}"]), fmt="hma")
    page = {
        "hashRecords": [
            {"signalType": "ImagePDQ", "hashValue": pdq(1), "hashStatus": "Withdrawn"},
            {"signalType": "ImagePDQ", "hashValue": pdq(3), "hashStatus": "Active"},
            {"signalType": "ImagePDQ", "hashValue": pdq(4), "hashStatus": "Deleted"},
        ]
    }
    result = service.import_data("b", json.dumps(page).encode(), fmt="stopncii")
    assert (result.added, result.removed) == (1, 1)
    assert sorted(e.value for e in service.list_entries("b")) == sorted([pdq(2), pdq(3)])


@pytest.mark.parametrize("fmt", ["hma", "csv", "stopncii", "ncmec"])
def test_export_then_import_round_trips(service: BankService, fmt: str) -> None:
    lines = [f"md5 {md5(i)}" for i in range(4)] + [f"pdq {pdq(i)}" for i in range(3)]
    service.import_data("b", hma(lines), fmt="hma")
    data = service.export_data("b", fmt)
    service.create_bank("copy")
    result = service.import_data("copy", data, fmt=fmt)
    assert result.rejects == ()
    original = {(e.signal_type, e.value) for e in service.list_entries("b")}
    copied = {(e.signal_type, e.value) for e in service.list_entries("copy")}
    assert copied == original


def test_export_keeps_metadata_and_skips_disabled(service: BankService) -> None:
    data = (
        "signal_type,value,source,category,note,added_at\n"
        f"md5,{md5(1)},hotline,A1,first,2024-05-01T12:00:00Z\n"
        f"md5,{md5(2)},hotline,B,second,\n"
    ).encode()
    service.import_data("b", data, fmt="csv")
    _first, second = service.list_entries("b")
    service.set_entry_enabled(second.id, False)
    out = service.export_data("b", "csv").decode()
    assert md5(1) in out
    assert "hotline" in out
    assert "2024-05-01T12:00:00Z" in out
    assert md5(2) not in out
    assert md5(2) in service.export_data("b", "csv", include_disabled=True).decode()


def test_empty_file_imports_nothing(service: BankService) -> None:
    result = service.import_data("b", b"# nothing here\n", fmt="hma")
    assert (result.added, result.duplicates, result.rejects) == (0, 0, ())


def test_duplicates_use_no_ids_and_the_first_occurrence_wins(service: BankService) -> None:
    data = (
        f"signal_type,value,source\nmd5,{md5(1)},first\nmd5,{md5(2)},x\nmd5,{md5(1)},second\n"
    ).encode()
    service.import_data("b", data, fmt="csv")
    service.import_data("b", data, fmt="csv")
    service.import_data("b", hma([f"md5 {md5(3)}"]), fmt="hma")
    entries = service.list_entries("b")
    assert [(e.value, e.source) for e in entries] == [
        (md5(1), "first"),
        (md5(2), "x"),
        (md5(3), None),
    ]
    ids = [e.id for e in entries]
    assert ids == list(range(ids[0], ids[0] + 3))  # file order, and no id spent on duplicates
