"""ExchangeService: sources stored, fetched in transactions of whole pages, faults recorded
with backoff, and a crash mid-fetch resuming with nothing lost or doubled."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_source_contract import MemorySource, MemoryUpstream

from safespace.banks import BankService, Matcher
from safespace.errors import (
    BankNotFound,
    ConfigError,
    Conflict,
    InvalidInput,
    SourceExists,
    SourceNotFound,
)
from safespace.exchanges import FetchPage, get_source_type
from safespace.exchanges import _service as service_module
from safespace.exchanges._service import ExchangeService, backoff
from safespace.store import Database
from safespace.store._models_exchanges import ExchangeSource

UPSTREAMS: dict[str, MemoryUpstream] = {}
KEY = {"api_key": "k"}


class Memory(MemorySource):
    type_name = "memory"
    credential_names = ("api_key",)

    def __init__(self, config: Any, credentials: Any, http: Any) -> None:
        super().__init__(UPSTREAMS["current"])
        self.credentials = dict(credentials)


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryUpstream]:
    UPSTREAMS["current"] = MemoryUpstream()

    def lookup(name: str) -> Any:
        return Memory if name == "memory" else get_source_type(name)

    monkeypatch.setattr(service_module, "get_source_type", lookup)
    yield UPSTREAMS["current"]
    UPSTREAMS.clear()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def exchanges(database: Database, clock: Clock) -> ExchangeService:
    BankService(database).create_bank("common")
    return ExchangeService(database, master_key=os.urandom(32), clock=clock)


def bank_values(database: Database) -> list[tuple[str, str]]:
    entries = BankService(database).list_entries("common", limit=1000)
    return sorted((e.signal_type, e.value) for e in entries)


def live_values(upstream: MemoryUpstream) -> list[tuple[str, str]]:
    return sorted(upstream.live().values())


def test_a_fetch_fills_the_bank_and_a_later_one_applies_the_changes(
    exchanges: ExchangeService, upstream: MemoryUpstream, database: Database
) -> None:
    upstream.publish(25)
    exchanges.add("peer", type="memory", bank="common", credentials=KEY)
    report = exchanges.fetch_once("peer")
    assert (report.ok, report.pages, report.added) == (True, 3, 25)
    assert bank_values(database) == live_values(upstream)
    upstream.publish(2)
    upstream.withdraw(3)
    report = exchanges.fetch_once("peer")
    assert (report.added, report.removed) == (2, 3)
    assert bank_values(database) == live_values(upstream)
    info = exchanges.get("peer")
    assert (info.status, info.entries, info.fetched, info.removed) == ("ok", 24, 27, 3)
    assert info.checkpoint is not None
    assert "fetched_at" in info.checkpoint


def test_entries_keep_their_source_upstream_id_and_match_with_them(
    exchanges: ExchangeService, upstream: MemoryUpstream, database: Database
) -> None:
    upstream.publish(1)
    exchanges.add("peer", type="memory", bank="common", credentials=KEY)
    exchanges.fetch_once("peer")
    (entry,) = BankService(database).list_entries("common")
    assert entry.source == "peer"
    assert entry.extra["upstream_id"] == "u1"
    assert entry.extra["exchange"] == "peer"
    result = Matcher.from_database(database).match([("md5", entry.value)])
    (match,) = result.matches
    assert match.to_dict()["exchange"] == {
        "source": "peer", "upstream_id": "u1", "categories": [], "opinions": {},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("group_changes", "committed"),
    [(1, 20), (20, 20), (15, 20)],
    ids=["a page a transaction", "two pages a transaction", "grouped past a page"],
)
def test_a_crash_mid_fetch_resumes_with_nothing_lost_or_doubled(
    upstream: MemoryUpstream,
    database: Database,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    group_changes: int,
    committed: int,
) -> None:
    """Pages of 10, 10 and 5: the second transaction dies. One page a transaction: page 1
    is in, page 2 is not. Grouped by 20 (or 15: a group ends with the page that reaches it):
    pages 1 and 2 are one transaction, and page 3 dies in the next."""
    BankService(database).create_bank("common")
    exchanges = ExchangeService(
        database, master_key=os.urandom(32), clock=clock, group_changes=group_changes
    )
    upstream.publish(25)
    exchanges.add("peer", type="memory", bank="common", credentials=KEY)
    real = service_module._apply
    calls = {"n": 0}
    dies_at = 3 if group_changes == 1 else 2

    def dies_on_a_later_transaction(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == dies_at:
            raise RuntimeError("the process died here")  # the transaction rolls back
        return real(*args)

    monkeypatch.setattr(service_module, "_apply", dies_on_a_later_transaction)
    with pytest.raises(RuntimeError):
        exchanges.fetch_once("peer")
    assert len(bank_values(database)) == committed  # whole transactions only
    monkeypatch.setattr(service_module, "_apply", real)
    report = exchanges.fetch_once("peer")
    assert (report.pages, report.added) == (1, 5)
    assert bank_values(database) == live_values(upstream)


def test_a_fault_is_recorded_with_backoff_and_cleared_by_success(
    exchanges: ExchangeService, upstream: MemoryUpstream, clock: Clock
) -> None:
    upstream.publish(15)
    exchanges.add("peer", type="memory", bank="common", credentials=KEY, interval_seconds=600)
    upstream.break_next_page()
    report = exchanges.fetch_once("peer")
    assert (report.ok, report.error_code) == (False, "source-unavailable")
    info = exchanges.get("peer")
    assert (info.status, info.consecutive_failures) == ("failing", 1)
    assert info.last_error == "source-unavailable: page cut short"
    assert info.next_run_at == clock.now + backoff(1, timedelta(seconds=600))
    assert exchanges.due(clock.now) == []
    assert exchanges.due(clock.now + timedelta(hours=7)) == ["peer"]
    assert exchanges.fetch_once("peer").ok
    info = exchanges.get("peer")
    assert (info.status, info.consecutive_failures, info.last_error) == ("ok", 0, None)
    assert backoff(3, timedelta(seconds=600)) == timedelta(minutes=4)
    assert backoff(40, timedelta(seconds=600)) == timedelta(hours=6)


def test_a_page_that_follows_another_checkpoint_is_refused(
    exchanges: ExchangeService, upstream: MemoryUpstream, database: Database
) -> None:
    upstream.publish(3)
    exchanges.add("peer", type="memory", bank="common", credentials=KEY)
    exchanges.fetch_once("peer")
    with database.session() as s:
        source_id = s.query(ExchangeSource.id).scalar()
    page = FetchPage([], [], {"seq": 99}, more=False)
    with pytest.raises(Conflict):
        exchanges.apply_pages(source_id, [page], expected={"seq": 1})


@pytest.mark.parametrize("fetched_before", [False, True], ids=["first-fetch", "stale-restart"])
def test_two_fetches_of_one_source_at_once_apply_its_pages_once(
    exchanges: ExchangeService,
    upstream: MemoryUpstream,
    clock: Clock,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    fetched_before: bool,
) -> None:
    """A fetch from the start (a source's first, or one whose checkpoint went stale) still
    checks that nobody applied meanwhile: the one that applies second stops with a conflict,
    not with the database refusing a doubled entry, and the source is not marked failing."""
    upstream.publish(5)
    exchanges.add("peer", type="memory", bank="common", credentials=KEY)
    if fetched_before:
        exchanges.fetch_once("peer")
        clock.now += timedelta(days=2)  # past Memory's stale_after: both start over
    upstream.publish(3)
    real_fetch = Memory.fetch
    inner: list[Any] = []

    def racing(self: Memory, checkpoint: Any) -> Iterator[FetchPage]:
        if not inner:  # the outer fetch has read the checkpoint: another one runs to its end
            inner.append(None)
            inner[0] = exchanges.fetch_once("peer")
        yield from real_fetch(self, checkpoint)

    monkeypatch.setattr(Memory, "fetch", racing)
    with pytest.raises(Conflict, match="fetched by someone else meanwhile"):
        exchanges.fetch_once("peer")
    assert inner[0].ok
    assert bank_values(database) == live_values(upstream)
    info = exchanges.get("peer")
    assert (info.status, info.consecutive_failures, info.entries) == ("ok", 0, 8)


def test_a_stale_checkpoint_starts_over(
    exchanges: ExchangeService, upstream: MemoryUpstream, clock: Clock, database: Database
) -> None:
    upstream.publish(5)
    exchanges.add("peer", type="memory", bank="common", credentials=KEY)
    exchanges.fetch_once("peer")
    clock.now += timedelta(days=2)  # Memory's checkpoints are stale after a day
    report = exchanges.fetch_once("peer")
    assert report.restarted
    assert report.added == 0  # everything again, nothing doubled
    assert bank_values(database) == live_values(upstream)


def test_sources_are_added_paused_resumed_and_removed(
    exchanges: ExchangeService, upstream: MemoryUpstream, database: Database, clock: Clock
) -> None:
    upstream.publish(3)
    exchanges.add("peer", type="memory", bank="common", credentials=KEY)
    with pytest.raises(SourceExists):
        exchanges.add("peer", type="memory", bank="common", credentials=KEY)
    with pytest.raises(BankNotFound):
        exchanges.add("other", type="memory", bank="nope", credentials=KEY)
    with pytest.raises(InvalidInput):
        exchanges.add("Bad Name", type="memory", bank="common", credentials=KEY)
    with pytest.raises(InvalidInput):
        exchanges.add("x", type="ftp", bank="common")
    with pytest.raises(InvalidInput):  # its credential is missing
        exchanges.add("x", type="memory", bank="common")
    exchanges.fetch_once("peer")
    assert exchanges.pause("peer").status == "paused"
    assert exchanges.due(clock.now + timedelta(days=1)) == []
    assert exchanges.resume("peer").status == "ok"
    assert [s.name for s in exchanges.list()] == ["peer"]
    assert exchanges.remove("peer") == 3
    assert bank_values(database) == []
    with pytest.raises(SourceNotFound):
        exchanges.get("peer")


def test_credentials_are_sealed_at_rest(
    exchanges: ExchangeService, upstream: MemoryUpstream, database: Database
) -> None:
    exchanges.add("peer", type="memory", bank="common", credentials={"api_key": "s3cret-k3y"})
    with database.session() as s:
        row = s.query(ExchangeSource).one()
        assert row.credentials is not None
        assert b"s3cret" not in row.credentials
    source, _, _ = exchanges.open_source("peer")
    assert source.credentials == {"api_key": "s3cret-k3y"}
    keyless = ExchangeService(database)
    with pytest.raises(ConfigError):
        keyless.add("peer2", type="memory", bank="common", credentials={"api_key": "x"})


def test_a_list_source_applies_each_copy_as_a_diff(
    exchanges: ExchangeService, database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_text(
        "signal_type,value,category\nmd5," + "a" * 32 + ",spam\nmd5," + "b" * 32 + ",\n"
    )
    exchanges.add("feed", type="list", bank="common", config={"url": str(path)})
    assert exchanges.fetch_once("feed").added == 2
    path.write_text(
        "signal_type,value,category\nmd5," + "a" * 32 + ",spam\nmd5," + "c" * 32 + ",\n"
    )
    report = exchanges.fetch_once("feed")
    assert (report.added, report.removed) == (1, 1)
    assert bank_values(database) == [("md5", "a" * 32), ("md5", "c" * 32)]
    spam = [e for e in BankService(database).list_entries("common") if e.category]
    assert [e.category for e in spam] == ["spam"]
    assert exchanges.fetch_once("feed").pages == 0  # the same copy: nothing to apply
