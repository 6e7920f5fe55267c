"""The contract every bank source's tests inherit: subclass :class:`SourceContract`.

A subclass provides two fixtures:

* ``upstream``: the fake far end (a real HTTP server, or files), an object with the methods
  of :class:`Upstream`;
* ``make_source``: a callable returning a *fresh* :class:`~safespace.exchanges.BankSource`
  pointed at that upstream each time it is called (a new instance models a restart: all
  that survives is the checkpoint).

The inherited tests apply pages to :class:`MemoryBank`, which follows the rules
:class:`~safespace.exchanges.ExchangeService` applies to the database: a page's upserts,
removals and checkpoint together, after the page is whole, and the checkpoint through JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol

import pytest

from safespace.errors import SourceRejected, SourceUnavailable
from safespace.exchanges import FETCHED_AT, BankSource, FetchPage, Opinion, Verdict


class Upstream(Protocol):
    """The fake far end a source's tests drive."""

    def publish(self, count: int) -> None:
        """Add ``count`` new entries (benign made-up hashes) upstream."""

    def withdraw(self, count: int) -> None:
        """Remove ``count`` of the entries now listed upstream."""

    def live(self) -> dict[str, tuple[str, str]]:
        """What is listed now: upstream id -> (signal type, canonical value)."""

    def break_next_page(self) -> None:
        """Serve the next page cut short (a truncated body): the source must raise."""

    def opinions(self) -> list[tuple[str, str]]:
        """(upstream id, verdict) of every opinion received, in order."""


class MemoryBank:
    """The service's apply rules, in memory: what a source's pages leave behind."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, str]] = {}
        self.checkpoint: dict[str, Any] | None = None
        self.pages = 0
        self.upserted = 0

    def apply(self, page: FetchPage) -> None:
        listed = {entry.upstream_id for entry in page.upserts}
        for entry in page.upserts:
            new = (entry.signal_type, entry.value)
            if self.entries.get(entry.upstream_id) != new:
                self.upserted += 1  # counts what changed, not what was listed again
            self.entries[entry.upstream_id] = new
        for upstream_id in page.removals:
            self.entries.pop(upstream_id, None)
        if page.complete:  # a whole copy: what it lacks is gone
            for upstream_id in [u for u in self.entries if u not in listed]:
                del self.entries[upstream_id]
        checkpoint = dict(page.checkpoint)
        checkpoint.setdefault(FETCHED_AT, datetime.now(UTC).isoformat())
        self.checkpoint = json.loads(json.dumps(checkpoint))  # stored as JSON, read back
        self.pages += 1

    def sync(self, source: BankSource) -> None:
        for page in source.fetch(self.checkpoint):
            self.apply(page)


class SourceContract:
    """Inherit this in a source's test module; provide ``upstream`` and ``make_source``."""

    #: How many entries the tests publish: enough for several pages where the source pages.
    entries: ClassVar[int] = 25

    @pytest.fixture
    def upstream(self) -> Upstream:
        raise NotImplementedError("a source's test class provides the upstream fixture")

    @pytest.fixture
    def make_source(self, upstream: Upstream) -> Callable[[], BankSource]:
        raise NotImplementedError("a source's test class provides the make_source fixture")

    def test_a_first_fetch_brings_everything(
        self, upstream: Upstream, make_source: Callable[[], BankSource]
    ) -> None:
        upstream.publish(self.entries)
        bank = MemoryBank()
        bank.sync(make_source())
        assert bank.entries == upstream.live()
        assert bank.checkpoint is not None

    def test_a_later_fetch_brings_the_changes_only(
        self, upstream: Upstream, make_source: Callable[[], BankSource]
    ) -> None:
        upstream.publish(self.entries)
        bank = MemoryBank()
        bank.sync(make_source())
        before = bank.upserted
        upstream.publish(3)
        upstream.withdraw(2)
        bank.sync(make_source())  # a new instance: only the checkpoint carries over
        assert bank.entries == upstream.live()
        assert bank.upserted - before < self.entries  # not everything again

    def test_pages_apply_idempotently(
        self, upstream: Upstream, make_source: Callable[[], BankSource]
    ) -> None:
        upstream.publish(self.entries)
        upstream.withdraw(3)
        pages = list(make_source().fetch(None))
        once, twice = MemoryBank(), MemoryBank()
        for page in pages:
            once.apply(page)
        for page in pages + pages:
            twice.apply(page)
        assert once.entries == twice.entries == upstream.live()

    def test_a_truncated_page_raises_and_applies_nothing(
        self, upstream: Upstream, make_source: Callable[[], BankSource]
    ) -> None:
        upstream.publish(self.entries)
        bank = MemoryBank()
        bank.sync(make_source())
        kept = (dict(bank.entries), bank.checkpoint)
        upstream.publish(4)
        upstream.break_next_page()
        with pytest.raises(SourceUnavailable):
            bank.sync(make_source())
        assert (bank.entries, bank.checkpoint) == kept
        bank.sync(make_source())  # retried: the next attempt gets the page whole
        assert bank.entries == upstream.live()

    def test_the_checkpoint_survives_json(
        self, upstream: Upstream, make_source: Callable[[], BankSource]
    ) -> None:
        upstream.publish(self.entries)
        bank = MemoryBank()
        bank.sync(make_source())
        assert bank.checkpoint is not None
        assert json.loads(json.dumps(bank.checkpoint)) == bank.checkpoint
        upstream.publish(2)
        bank.sync(make_source())
        assert bank.entries == upstream.live()

    def test_staleness_follows_stale_after(
        self, upstream: Upstream, make_source: Callable[[], BankSource]
    ) -> None:
        upstream.publish(2)
        bank = MemoryBank()
        source = make_source()
        bank.sync(source)
        now = datetime.now(UTC)
        assert not source.is_stale(bank.checkpoint, now)
        assert not source.is_stale(None, now)
        if source.stale_after is None:
            assert not source.is_stale(bank.checkpoint, now + timedelta(days=3650))
        else:
            assert source.is_stale(bank.checkpoint, now + source.stale_after * 2)

    def test_opinions_reach_the_source(
        self, upstream: Upstream, make_source: Callable[[], BankSource]
    ) -> None:
        upstream.publish(2)
        bank = MemoryBank()
        source = make_source()
        bank.sync(source)
        upstream_id, (signal_type, value) = next(iter(bank.entries.items()))
        if not source.supports_opinions:  # refused, as the contract says
            with pytest.raises(SourceRejected):
                source.send_opinion(
                    Opinion(upstream_id, signal_type, value, Verdict.CONFIRMED, None, _now())
                )
            return
        source.send_opinion(
            Opinion(upstream_id, signal_type, value, Verdict.CONFIRMED, None, datetime.now(UTC))
        )
        source.send_opinion(
            Opinion(
                upstream_id,
                signal_type,
                value,
                Verdict.FALSE_POSITIVE,
                "a benign photo",
                datetime.now(UTC),
            )
        )
        assert upstream.opinions()[-2:] == [
            (upstream_id, Verdict.CONFIRMED.value),
            (upstream_id, Verdict.FALSE_POSITIVE.value),
        ]


def _now() -> datetime:
    return datetime.now(UTC)


def entries_of(pages: list[FetchPage]) -> Mapping[str, tuple[str, str]]:
    """What ``pages`` leave in an empty bank."""
    bank = MemoryBank()
    for page in pages:
        bank.apply(page)
    return bank.entries
