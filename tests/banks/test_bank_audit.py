"""Every bank change writes one audit record, in the change's own transaction.

The service is called here as the command line calls it (``actor=cli_actor()``) and as
background work does (no actor: ``system``); the HTTP API, the HMA routes and the console
have their own tests (tests/api/test_api_bank_audit.py, tests/console/test_console_bank_audit.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from bank_audit_helpers import created_with_defaults
from safespace.banks import BankService
from safespace.banks._jobs import ImportJobs
from safespace.banks.formats import HashRecord
from safespace.errors import BankExists, BankNotFound, ImportFormatError, InvalidInput
from safespace.reports import _audit as audit
from safespace.store import Bank, BankEntry, BankThreshold, Change, Database
from safespace.store._models_reports import AuditRecord

CLI = "cli:ops"
MD5 = [f"{i:032x}" for i in range(1, 4)]


def _records(db: Database) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every audit record as (actor, action, subject, details); the chain checked intact."""
    with db.session() as s:
        assert audit.verify(s).ok
        rows = s.scalars(select(AuditRecord).order_by(AuditRecord.seq)).all()
        return [(r.actor, r.action, r.subject, json.loads(r.details)) for r in rows]


def _one_new(db: Database, before: int) -> tuple[str, str, str, dict[str, Any]]:
    rows = _records(db)
    assert len(rows) == before + 1, rows[before:]
    return rows[-1]


def _state(db: Database) -> tuple[Any, ...]:
    """Everything a bank change touches: banks, entries, change-log length, audit length."""
    with db.session() as s:
        banks: list[Any] = list(s.execute(select(Bank.name, Bank.kind, Bank.enabled)).all())
        t = BankThreshold
        thresholds = s.execute(select(t.bank_id, t.signal_type, t.name, t.value)).all()
        entries = s.execute(select(BankEntry.id, BankEntry.value, BankEntry.enabled)).all()
        changes = s.scalar(select(func.count()).select_from(Change))
        records = s.scalar(select(func.count()).select_from(AuditRecord))
    return sorted(banks), sorted(thresholds), sorted(entries), changes, records


@pytest.fixture
def cli_user(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(audit.getpass, "getuser", lambda: "ops")
    return audit.cli_actor()


def test_each_change_through_the_service_writes_one_record(
    database: Database, cli_user: str
) -> None:
    svc = BankService(database)
    assert cli_user == CLI

    svc.create_bank("b", pdq_distance=20, actor=cli_user)
    assert _one_new(database, 0) == (
        CLI,
        "bank.create",
        "bank:b",
        created_with_defaults({"kind": "normal", "pdq_distance": 20, "enabled": True}),
    )

    svc.update_bank("b", pdq_distance=25, enabled=False, description="x", actor=cli_user)
    changes = {"pdq_distance": [20, 25], "enabled": [True, False], "description": "changed"}
    assert _one_new(database, 1) == (CLI, "bank.update", "bank:b", {"changes": changes})

    added = svc.add_entries("b", [HashRecord("md5", v) for v in MD5[:2]], actor=cli_user)
    assert added.added == 2
    assert _one_new(database, 2) == (
        CLI, "bank.entries.add", "bank:b", {"added": 2, "duplicates": 0}
    )  # fmt: skip

    entry = svc.list_entries("b")[0]
    svc.set_entry_enabled(entry.id, False, actor=cli_user)
    assert _one_new(database, 3) == (CLI, "bank.entry.disable", "bank:b", {"entry_id": entry.id})
    svc.set_entry_enabled(entry.id, True, actor=cli_user)
    assert _one_new(database, 4) == (CLI, "bank.entry.enable", "bank:b", {"entry_id": entry.id})

    assert svc.remove_entries([entry.id, 10**9], actor=cli_user) == 1
    assert _one_new(database, 5) == (
        CLI, "bank.entries.remove", "bank:b", {"removed": 1, "entry_ids": [entry.id]}
    )  # fmt: skip

    data = "".join(f"md5 {v}\n" for v in MD5).encode()
    result = svc.import_data("b", data, fmt="hma", actor=cli_user)
    assert (result.added, result.duplicates) == (2, 1)
    assert _one_new(database, 6) == (
        CLI, "bank.import", "bank:b", {"added": 2, "duplicates": 1, "removed": 0, "rejected": 0}
    )  # fmt: skip

    svc.delete_bank("b", actor=cli_user)
    assert _one_new(database, 7) == (
        CLI, "bank.delete", "bank:b", {"kind": "normal", "entries": 3}
    )  # fmt: skip


def test_requests_that_change_nothing_write_nothing(database: Database) -> None:
    svc = BankService(database)
    svc.create_bank("b")
    svc.add_entries("b", [HashRecord("md5", MD5[0])])
    entry = svc.list_entries("b")[0]
    before = _records(database)
    svc.update_bank("b", pdq_distance=31, enabled=True, kind="normal", description="")
    svc.add_entries("b", [HashRecord("md5", MD5[0])])  # only a duplicate
    svc.set_entry_enabled(entry.id, True)
    assert svc.remove_entries([10**9]) == 0
    assert _records(database) == before


def test_without_an_actor_the_change_is_the_systems(database: Database) -> None:
    svc = BankService(database)
    svc.create_bank("b", enabled=False)
    assert _records(database) == [
        (
            "system",
            "bank.create",
            "bank:b",
            created_with_defaults({"kind": "normal", "pdq_distance": 31, "enabled": False}),
        )
    ]
    assert not svc.get_bank("b").enabled


def test_removing_entries_of_two_banks_writes_one_record_per_bank(database: Database) -> None:
    svc = BankService(database)
    for name, value in (("a", MD5[0]), ("b", MD5[1])):
        svc.create_bank(name)
        svc.add_entries(name, [HashRecord("md5", value)])
    ids = [svc.list_entries(name)[0].id for name in ("a", "b")]
    before = len(_records(database))
    assert svc.remove_entries(ids, actor=CLI) == 2
    assert _records(database)[before:] == [
        (CLI, "bank.entries.remove", "bank:a", {"removed": 1, "entry_ids": [ids[0]]}),
        (CLI, "bank.entries.remove", "bank:b", {"removed": 1, "entry_ids": [ids[1]]}),
    ]


_FAILING: dict[str, tuple[Callable[[BankService], object], type[Exception]]] = {
    "create an existing bank": (lambda svc: svc.create_bank("b"), BankExists),
    "bad kind after a good distance": (
        lambda svc: svc.update_bank("b", pdq_distance=10, kind="weird"),
        InvalidInput,
    ),
    "unknown bank": (lambda svc: svc.delete_bank("nope"), BankNotFound),
    "add to an unknown bank": (
        lambda svc: svc.add_entries("nope", [HashRecord("md5", MD5[2])]),
        BankNotFound,
    ),
    "rejected import": (
        lambda svc: svc.import_data("b", b"md5 " + MD5[2].encode() + b"\nmd5 zz\n", fmt="hma"),
        ImportFormatError,
    ),
}


@pytest.mark.parametrize("case", list(_FAILING))
def test_a_change_that_fails_writes_no_record(database: Database, case: str) -> None:
    svc = BankService(database)
    svc.create_bank("b")
    svc.add_entries("b", [HashRecord("md5", MD5[0])])
    before = _state(database)
    change, error = _FAILING[case]
    with pytest.raises(error):
        change(svc)
    assert _state(database) == before


_CHANGES: dict[str, Callable[[BankService], object]] = {
    "create": lambda svc: svc.create_bank("c"),
    "update": lambda svc: svc.update_bank("b", enabled=False),
    "delete": lambda svc: svc.delete_bank("b"),
    "add": lambda svc: svc.add_entries("b", [HashRecord("md5", MD5[1])]),
    "disable entry": lambda svc: svc.set_entry_enabled(svc.list_entries("b")[0].id, False),
    "remove entries": lambda svc: svc.remove_entries([svc.list_entries("b")[0].id]),
    "import": lambda svc: svc.import_data("b", b"md5 " + MD5[2].encode() + b"\n", fmt="hma"),
}


class _AuditDown(Exception):
    pass


@pytest.mark.parametrize("case", list(_CHANGES))
def test_an_audit_write_that_fails_undoes_the_change(
    database: Database, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = BankService(database)
    svc.create_bank("b")
    svc.add_entries("b", [HashRecord("md5", MD5[0])])
    before = _state(database)

    def fail(*args: object, **kwargs: object) -> None:
        raise _AuditDown("the audit log cannot be written")

    monkeypatch.setattr(audit, "append", fail)
    with pytest.raises(_AuditDown):
        _CHANGES[case](svc)
    assert _state(database) == before


def _job(database: Database, jobs: ImportJobs, api_key_id: int | None) -> int:
    data = "".join(f"md5 {v}\n" for v in MD5).encode()
    job = jobs.submit("b", data, fmt="hma", api_key_id=api_key_id)
    claim = jobs.claim_next()
    assert claim is not None
    assert claim.job_id == job.id
    done = jobs.run(claim)
    assert done is not None
    assert done.status == "succeeded", done.error
    return job.id


@pytest.mark.parametrize(("key_id", "actor"), [(None, "system"), ("key", "api-key:{id}")])
def test_an_import_job_is_audited_with_the_key_that_sent_it(
    database: Database, key_id: str | None, actor: str
) -> None:
    svc = BankService(database)
    svc.create_bank("b")
    svc.add_entries("b", [HashRecord("md5", MD5[0])])
    api_key_id = None
    if key_id is not None:
        from safespace.access import KeyService

        api_key_id = KeyService(database).create("curate", name="importer")[0].id
    before = len(_records(database))
    job_id = _job(database, ImportJobs(database), api_key_id)
    counts = {"added": 2, "duplicates": 1, "removed": 0, "rejected": 0, "job_id": job_id}
    assert _one_new(database, before) == (
        actor.format(id=api_key_id), "bank.import", "bank:b", counts
    )  # fmt: skip


def test_an_import_job_whose_audit_fails_imports_nothing(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = BankService(database)
    svc.create_bank("b")
    jobs = ImportJobs(database)
    job = jobs.submit("b", b"md5 " + MD5[0].encode() + b"\n", fmt="hma")
    claim = jobs.claim_next()
    assert claim is not None

    def fail(*args: object, **kwargs: object) -> None:
        raise _AuditDown("the audit log cannot be written")

    monkeypatch.setattr(audit, "append", fail)
    with pytest.raises(_AuditDown):
        jobs.run(claim)
    assert svc.get_bank("b").entry_count == 0
    assert jobs.get(job.id).status == "running"  # the runner records the failure (jobs.fail)
    assert _records(database) == [
        (
            "system",
            "bank.create",
            "bank:b",
            created_with_defaults({"kind": "normal", "pdq_distance": 31, "enabled": True}),
        )
    ]


def test_cli_actor_names_the_os_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit.getpass, "getuser", lambda: "ops")
    assert audit.cli_actor() == "cli:ops"

    def no_user() -> str:
        raise OSError("no login name")

    monkeypatch.setattr(audit.getpass, "getuser", no_user)
    assert audit.cli_actor() == "cli:unknown"
