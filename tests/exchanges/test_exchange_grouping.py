"""A fetch applies its pages in groups (up to ``group_changes`` changes or ``group_seconds``
after a group's first page), each group one transaction with its consecutive pages applied
as one: the bank, the mapping and the checkpoint end as they would with one transaction a
page; a fault keeps the pages before it; a whole copy (a complete page) is never merged."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, event
from test_exchange_service import KEY, Clock, Memory
from test_source_contract import MemoryUpstream

from safespace.banks import BankService
from safespace.banks.formats import HashRecord
from safespace.errors import InvalidInput, SourceUnavailable
from safespace.exchanges import FetchPage, SourceEntry, get_source_type
from safespace.exchanges import _service as service_module
from safespace.exchanges._service import ExchangeService
from safespace.exchanges._source import read_ahead
from safespace.store import Database, open_database
from safespace.store._database import BULK_CHECKPOINT_PAGES, CHECKPOINT_PAGES
from safespace.store._models_exchanges import ExchangeEntry, ExchangeSource

CURRENT: dict[str, Any] = {}


class Scripted(Memory):
    """The memory source, with a hook run before each page it yields (a fault, a clock)."""

    def fetch(self, checkpoint: Mapping[str, Any] | None) -> Iterator[FetchPage]:
        for number, page in enumerate(super().fetch(checkpoint), start=1):
            CURRENT["before_page"](number)
            yield page


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryUpstream]:
    from test_exchange_service import UPSTREAMS

    UPSTREAMS["current"] = MemoryUpstream()
    CURRENT["before_page"] = lambda number: None

    def lookup(name: str) -> Any:
        return Scripted if name == "memory" else get_source_type(name)

    monkeypatch.setattr(service_module, "get_source_type", lookup)
    yield UPSTREAMS["current"]
    UPSTREAMS.clear()
    CURRENT.clear()


def service(database: Database, clock: Clock | None = None, **group: Any) -> ExchangeService:
    return ExchangeService(database, master_key=os.urandom(32), clock=clock or Clock(), **group)


def peer(
    database: Database, upstream: MemoryUpstream, entries: int, **settings: Any
) -> ExchangeService:
    """A service with source "peer" filling bank "common", ``entries`` published upstream."""
    BankService(database).create_bank("common")
    exchanges = service(database, **settings)
    exchanges.add("peer", type="memory", bank="common", credentials=KEY)
    upstream.publish(entries)
    return exchanges


def entries_of(database: Database, bank: str) -> list[tuple[str, str, str]]:
    """(upstream id, signal type, value) of every entry in ``bank``."""
    entries = BankService(database).list_entries(bank, limit=10_000)
    return sorted((e.extra["upstream_id"], e.signal_type, e.value) for e in entries)


def live(upstream: MemoryUpstream) -> list[tuple[str, str, str]]:
    return sorted((u, t, v) for u, (t, v) in upstream.live().items())


def transactions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Pages per transaction, as the fetch applies them (a spy on ``apply_pages``)."""
    seen: list[int] = []
    real = ExchangeService.apply_pages

    def spy(self: ExchangeService, source_id: int, pages: Any, **kw: Any) -> Any:
        seen.append(len(pages))
        return real(self, source_id, pages, **kw)

    monkeypatch.setattr(ExchangeService, "apply_pages", spy)
    return seen


Op = tuple[str, int]
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("publish"), st.integers(1, 25)),
        st.tuples(st.just("withdraw"), st.integers(1, 8)),
        st.tuples(st.just("change"), st.integers(0, 40)),
        st.tuples(st.just("fetch"), st.just(0)),
    ),
    max_size=12,
)


def _run(upstream: MemoryUpstream, op: Op, changed: list[int]) -> None:
    kind, n = op
    if kind == "publish":
        upstream.publish(n)
    elif kind == "withdraw":
        upstream.withdraw(n)
    elif kind == "change" and upstream.live():
        ids = sorted(upstream.live())
        changed[0] += 1
        value = hashlib.md5(f"changed {changed[0]}".encode()).hexdigest()
        upstream.log.append((len(upstream.log) + 1, ids[n % len(ids)], value))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS, group_changes=st.sampled_from([7, 15, 40, 100_000]))
def test_grouped_pages_leave_what_one_transaction_a_page_leaves(
    database: Database, upstream: MemoryUpstream, ops: list[Op], group_changes: int
) -> None:
    """Adds, withdrawals and changed values, fetched at random points by two sources on
    the same upstream: one grouped, one a page a transaction. Their banks hold the same
    entries under the same upstream ids, and so does the upstream where every page was
    well formed (the memory source can put an id's upsert and removal in one page, which
    the service reads as an upsert; both ways do alike)."""
    upstream.log.clear()
    tag = os.urandom(4).hex()
    banks = BankService(database)
    grouped, paged = (
        service(database, group_changes=group_changes),
        service(database, group_changes=1),
    )
    for name, exchanges in (("grouped", grouped), ("paged", paged)):
        banks.create_bank(f"{name}-{tag}")
        exchanges.add(f"{name}-{tag}", type="memory", bank=f"{name}-{tag}", credentials=KEY)
    changed = [0]
    for op in [*ops, ("fetch", 0)]:
        if op[0] == "fetch":
            assert grouped.fetch_once(f"grouped-{tag}").ok
            assert paged.fetch_once(f"paged-{tag}").ok
        else:
            _run(upstream, op, changed)
    assert entries_of(database, f"grouped-{tag}") == entries_of(database, f"paged-{tag}")
    with database.session() as s:
        rows = s.query(ExchangeSource).filter(ExchangeSource.name.endswith(tag)).all()
        seqs = {r.name: (r.checkpoint or {}).get("seq", 0) for r in rows}
    assert seqs == {f"grouped-{tag}": len(upstream.log), f"paged-{tag}": len(upstream.log)}


def test_a_large_fetch_is_applied_in_groups_and_matches_the_upstream(
    database: Database, upstream: MemoryUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pages of 10: groups of three pages (30 changes), then the rest
    exchanges = peer(database, upstream, 95, group_changes=30)
    seen = transactions(monkeypatch)
    report = exchanges.fetch_once("peer")
    assert seen == [3, 3, 3, 1]
    assert (report.pages, report.added) == (10, 95)
    assert entries_of(database, "common") == live(upstream)
    upstream.withdraw(12)
    upstream.publish(3)
    seen.clear()
    report = exchanges.fetch_once("peer")
    assert seen == [2]  # 15 changes: a page of 10 and one of 5, one transaction
    assert (report.pages, report.added, report.removed) == (2, 3, 12)
    assert entries_of(database, "common") == live(upstream)


def test_a_group_is_committed_once_its_first_page_is_a_second_old(
    database: Database, upstream: MemoryUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow source: each page arrives 0.6 s after the last (the clock moves as it would),
    so a group closes with the page that finds it a second old, however few its changes."""
    clock = Clock()
    exchanges = peer(database, upstream, 50, clock=clock, group_seconds=1.0)

    def slow(number: int) -> None:
        clock.now += timedelta(seconds=0.6)

    CURRENT["before_page"] = slow
    seen = transactions(monkeypatch)
    assert exchanges.fetch_once("peer").added == 50
    assert seen == [3, 2]  # pages arrive at 0.6, 1.2, 1.8 s: the third finds the group 1.2 s old
    assert entries_of(database, "common") == live(upstream)


def test_a_fault_keeps_the_pages_before_it_and_the_next_fetch_resumes(
    database: Database, upstream: MemoryUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    exchanges = peer(database, upstream, 45)

    def cut_at_the_fourth(number: int) -> None:
        if number == 4:
            raise SourceUnavailable("page cut short")

    CURRENT["before_page"] = cut_at_the_fourth
    seen = transactions(monkeypatch)
    report = exchanges.fetch_once("peer")
    assert (report.ok, report.error_code, report.pages, report.added) == (
        False, "source-unavailable", 3, 30,
    )  # fmt: skip
    assert seen == [3]  # the three pages before the fault, in one transaction
    assert exchanges.get("peer").status == "failing"
    CURRENT["before_page"] = lambda number: None
    report = exchanges.fetch_once("peer")
    assert (report.ok, report.pages, report.added) == (True, 2, 15)
    assert entries_of(database, "common") == live(upstream)


def _entry(n: int) -> SourceEntry:
    return SourceEntry(f"u{n}", "md5", hashlib.md5(f"entry {n}".encode()).hexdigest())


def test_a_whole_copy_is_applied_on_its_own_within_a_group(
    database: Database, upstream: MemoryUpstream
) -> None:
    """A complete page removes what it does not list, so merging it with the partial pages
    around it would keep what it drops (before it) or drop what follows it (after it)."""
    exchanges = peer(database, upstream, 0)
    with database.session() as s:
        source_id = s.query(ExchangeSource.id).scalar()
    pages = [
        FetchPage([_entry(1), _entry(2)], [], {"seq": 1}, more=True),
        FetchPage([_entry(2), _entry(3)], [], {"seq": 2}, more=True, complete=True),
        FetchPage([_entry(5)], [], {"seq": 3}, more=True),
        FetchPage([_entry(6)], ["u3"], {"seq": 4}, more=False),
    ]
    stored = exchanges.apply_pages(source_id, pages, expected=None)
    assert stored["seq"] == 4
    assert [u for u, _, _ in entries_of(database, "common")] == ["u2", "u5", "u6"]


def test_no_pages_is_refused(database: Database, upstream: MemoryUpstream) -> None:
    exchanges = peer(database, upstream, 0)
    with database.session() as s:
        source_id = s.query(ExchangeSource.id).scalar()
    with pytest.raises(InvalidInput, match="no pages to apply"):
        exchanges.apply_pages(source_id, [], expected=None)
    assert exchanges.get("peer").pages == 0


def test_a_failed_apply_stops_a_source_reading_ahead_before_its_http_client_closes(
    database: Database, upstream: MemoryUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source whose pages a helper thread reads ahead (as the peer source does) is closed
    by the fetch when applying fails, while its HTTP client is still open: its helper has
    ended and its page iterator is closed by the time the fault is reported."""
    closed: list[bool] = []
    closed_when_http_closed: list[bool] = []

    class Http(httpx.Client):
        def __exit__(self, *exc: Any) -> None:
            closed_when_http_closed.append(bool(closed))
            super().__exit__(*exc)

    class ReadingAhead(Scripted):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.http = Http()

        def fetch(self, checkpoint: Mapping[str, Any] | None) -> Iterator[FetchPage]:
            def pages() -> Iterator[FetchPage]:
                try:
                    yield from super(ReadingAhead, self).fetch(checkpoint)
                finally:
                    closed.append(True)

            return read_ahead(pages(), 2)

    monkeypatch.setattr(
        service_module,
        "get_source_type",
        lambda name: ReadingAhead if name == "memory" else get_source_type(name),
    )
    exchanges = peer(database, upstream, 200, group_changes=1)
    real = ExchangeService.apply_pages
    calls: list[int] = []

    def failing(self: ExchangeService, source_id: int, pages: Any, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise SourceUnavailable("the database went away")
        return real(self, source_id, pages, **kw)

    monkeypatch.setattr(ExchangeService, "apply_pages", failing)
    report = exchanges.fetch_once("peer")
    assert report.error is not None
    assert "went away" in report.error
    assert closed_when_http_closed == [True]
    assert closed == [True]
    assert not [t for t in threading.enumerate() if t.name == "safespace-fetch-ahead"]
    assert len(entries_of(database, "common")) == 10  # the first page stays applied


def test_a_fetch_leaves_checkpointing_to_its_last_write(
    tmp_path: Path, upstream: MemoryUpstream
) -> None:
    """On SQLite a group's commit leaves the write-ahead log unchecked up to 256 MiB (see
    ``store.BULK_CHECKPOINT_PAGES``); the fetch's own last write, its status, is an ordinary
    commit, which checkpoints what the groups left."""
    database = open_database(f"sqlite:///{tmp_path / 'safespace.db'}")
    exchanges = peer(database, upstream, 95, group_changes=30)
    at_commit: list[int] = []

    @event.listens_for(database.engine, "commit")
    def threshold(conn: Connection) -> None:
        at_commit.append(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())

    assert exchanges.fetch_once("peer").added == 95
    assert at_commit == [BULK_CHECKPOINT_PAGES] * 4 + [CHECKPOINT_PAGES]
    assert entries_of(database, "common") == live(upstream)
    database.close()


def test_values_the_bank_had_map_to_its_entries_and_new_ones_to_theirs(
    database: Database, upstream: MemoryUpstream
) -> None:
    """A fetch into a bank that already holds some of the values: those upstream ids map to
    the entries that were there (on PostgreSQL found in the bank; the new ones come from the
    move's own table of what it added), a value twice upstream maps both ids to one entry."""
    exchanges = peer(database, upstream, 20)
    upstream.log.append((len(upstream.log) + 1, "twin", upstream.live()["u3"][1]))
    banks = BankService(database)
    had = {upstream.live()[u][1] for u in ("u2", "u7", "u19")}
    banks.add_entries("common", [HashRecord("md5", v) for v in sorted(had)])
    before = {e.value: e.id for e in banks.list_entries("common", limit=100)}
    report = exchanges.fetch_once("peer")
    assert report.added == 17  # 20 published, three of them there before, "twin" a repeat
    after = {e.value: e.id for e in banks.list_entries("common", limit=100)}
    assert {v: after[v] for v in had} == before
    with database.session() as s:
        mapped = {m.upstream_id: m.entry_id for m in s.query(ExchangeEntry)}
    assert mapped == {u: after[v] for u, (_, v) in upstream.live().items()}
    assert mapped["twin"] == mapped["u3"]
