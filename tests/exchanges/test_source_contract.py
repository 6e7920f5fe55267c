"""The contract itself: a source served from memory passes the inherited tests, and the
contract's types and registry behave as documented."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import BaseModel
from source_contract import SourceContract

from safespace.errors import InvalidInput, InvalidRequest, InvalidSignal, SourceUnavailable
from safespace.exchanges import (
    SOURCE_TYPES,
    BankSource,
    FetchPage,
    Opinion,
    SourceEntry,
    checkpoint_time,
    get_source_type,
    known_signal_type,
)


class MemoryUpstream:
    """A change log in memory: (sequence, upstream id, value or None for a removal)."""

    def __init__(self) -> None:
        self.log: list[tuple[int, str, str | None]] = []
        self.broken = False
        self.received: list[tuple[str, str]] = []
        self._next = 0

    def publish(self, count: int) -> None:
        for _ in range(count):
            self._next += 1
            value = hashlib.md5(f"entry {self._next}".encode()).hexdigest()
            self.log.append((len(self.log) + 1, f"u{self._next}", value))

    def withdraw(self, count: int) -> None:
        for upstream_id in list(self.live())[:count]:
            self.log.append((len(self.log) + 1, upstream_id, None))

    def live(self) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for _, upstream_id, value in self.log:
            if value is None:
                out.pop(upstream_id, None)
            else:
                out[upstream_id] = ("md5", value)
        return out

    def break_next_page(self) -> None:
        self.broken = True

    def opinions(self) -> list[tuple[str, str]]:
        return self.received


class MemoryConfig(BaseModel):
    page_size: int = 10


class MemorySource(BankSource):
    type_name: ClassVar[str] = "memory"
    description: ClassVar[str] = "a change log in memory (tests)"
    config_model: ClassVar[type[BaseModel]] = MemoryConfig
    supports_opinions: ClassVar[bool] = True
    stale_after: ClassVar[timedelta | None] = timedelta(days=1)

    def __init__(self, upstream: MemoryUpstream) -> None:
        super().__init__(MemoryConfig(), {}, httpx.Client())
        self.upstream = upstream

    def fetch(self, checkpoint: Mapping[str, Any] | None) -> Iterator[FetchPage]:
        after = int((checkpoint or {}).get("seq", 0))
        size = 10
        while True:
            rows = [row for row in self.upstream.log if row[0] > after][:size]
            if self.upstream.broken and rows:
                self.upstream.broken = False
                raise SourceUnavailable("page cut short")
            if not rows:
                return
            after = rows[-1][0]
            more = any(row[0] > after for row in self.upstream.log)
            yield FetchPage(
                upserts=[SourceEntry(u, "md5", v) for _, u, v in rows if v is not None],
                removals=[u for _, u, v in rows if v is None],
                checkpoint={"seq": after},
                more=more,
            )
            if not more:
                return

    def send_opinion(self, opinion: Opinion) -> None:
        self.upstream.received.append((opinion.upstream_id, opinion.verdict.value))


class TestMemorySource(SourceContract):
    @pytest.fixture
    def upstream(self) -> MemoryUpstream:
        return MemoryUpstream()

    @pytest.fixture
    def make_source(self, upstream: MemoryUpstream) -> Callable[[], BankSource]:
        return lambda: MemorySource(upstream)


def test_entries_are_resolved_through_the_signal_registry() -> None:
    entry = SourceEntry("1", "MD5", "D41D8CD98F00B204E9800998ECF8427E", categories=["a"])  # type: ignore[arg-type]
    assert (entry.signal_type, entry.value) == ("md5", "d41d8cd98f00b204e9800998ecf8427e")
    assert entry.categories == ("a",)
    with pytest.raises(InvalidSignal):
        SourceEntry("2", "md5", "not a hash")
    with pytest.raises(InvalidSignal):
        SourceEntry("3", "no-such-type", "00")
    assert known_signal_type("no-such-type") is None
    assert known_signal_type("MD5") == "md5"


def test_a_checkpoint_must_be_json() -> None:
    with pytest.raises(TypeError):
        FetchPage([], [], {"when": datetime.now(UTC)}, more=False)


def test_checkpoint_time_reads_fetched_at() -> None:
    assert checkpoint_time(None) is None
    assert checkpoint_time({"fetched_at": "garbage"}) is None
    when = checkpoint_time({"fetched_at": "2026-12-05T10:00:00"})
    assert when == datetime(2026, 12, 5, 10, tzinfo=UTC)


def test_the_registry_names_four_types_and_refuses_others() -> None:
    assert SOURCE_TYPES == ("safespace", "list", "ncmec", "stopncii")
    with pytest.raises(InvalidInput):
        get_source_type("memory")


def test_settings_are_checked_against_the_model() -> None:
    with pytest.raises(InvalidRequest):
        MemorySource.parse_config({"page_size": "many"})
    assert MemorySource.config_schema()["x-credentials"] == []
