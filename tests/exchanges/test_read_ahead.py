"""``read_ahead`` hands on a source's pages, produced in a helper thread a bounded number of
pages ahead: all of them in order, a fault after the pages before it, and a caller that
stops early stops the helper and closes the source's iterator."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from safespace.errors import SourceUnavailable
from safespace.exchanges._source import FetchPage, read_ahead


def _page(number: int, more: bool = True) -> FetchPage:
    return FetchPage([], [f"gone-{number}"], {"page": number}, more)


class Pages:
    """A source's page iterator that counts what it produced and knows if it was closed."""

    def __init__(self, count: int, fault_after: int | None = None) -> None:
        self.count, self.fault_after = count, fault_after
        self.produced = 0
        self.closed = False
        self.thread: str | None = None

    def __iter__(self) -> Iterator[FetchPage]:
        self.thread = threading.current_thread().name
        try:
            for number in range(1, self.count + 1):
                if number - 1 == self.fault_after:
                    raise SourceUnavailable("the page is cut short")
                self.produced += 1
                yield _page(number, more=number < self.count)
        finally:
            self.closed = True


def test_every_page_arrives_in_order_from_a_helper_thread() -> None:
    source = Pages(25)
    got = list(read_ahead(iter(source), 3))
    assert [p.checkpoint["page"] for p in got] == list(range(1, 26))
    assert source.closed
    assert source.thread is not None
    assert source.thread != threading.current_thread().name


def test_a_fault_reaches_the_caller_after_the_pages_before_it() -> None:
    pages = read_ahead(iter(Pages(10, fault_after=4)), 2)
    got = [next(pages) for _ in range(4)]
    assert [p.checkpoint["page"] for p in got] == [1, 2, 3, 4]
    with pytest.raises(SourceUnavailable, match="cut short"):
        next(pages)


def test_a_caller_that_stops_early_stops_the_helper_and_closes_the_source() -> None:
    source = Pages(1_000)
    pages = read_ahead(iter(source), 2)
    assert next(pages).checkpoint["page"] == 1
    pages.close()  # returns once the helper has ended
    assert source.closed
    assert not [t for t in threading.enumerate() if t.name == "safespace-fetch-ahead"]
    # at most: the page taken, the two waiting, the one the helper was handing over
    assert source.produced <= 1 + 2 + 1
