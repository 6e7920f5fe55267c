"""Serving-only tuning: a server worker freezes its startup objects out of the collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from safespace.api._freshness import MatcherHolder
from safespace.store import Database


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # give the test process its collector back


@pytest.mark.usefixtures("unfrozen")
@pytest.mark.parametrize("freeze", [True, False])
def test_a_serving_matcher_freezes_what_startup_made(database: Database, freeze: bool) -> None:
    holder = MatcherHolder(database, min_quality=0, interval=0.05, freeze_gc=freeze)
    holder.start()
    try:
        assert holder.wait_ready(30)
        frozen = gc.get_freeze_count()
    finally:
        holder.stop()
    if freeze:
        # The app's modules, ORM and matcher are now out of every full collection's walk.
        assert frozen > 10_000
    else:
        assert frozen == 0
