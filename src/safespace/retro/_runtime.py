"""One process's retro-matching state: the content store, the index of its PDQ hashes, and
the sweep over the change log. The ``retro-match`` task (one process per cluster) calls
:meth:`RetroRuntime.run_once`; tests call it with the clock they choose."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from safespace.config import Settings
from safespace.retro._index import ContentIndex
from safespace.retro._store import ContentStore
from safespace.retro._sweep import RetroMatcher, SweepResult
from safespace.store import Database
from safespace.store._models import utcnow

__all__ = ["RetroRuntime", "RoundResult"]

log = logging.getLogger("safespace.retro")


@dataclass(frozen=True)
class RoundResult:
    purged: int
    sweep: SweepResult


class RetroRuntime:
    """Purge what is past retention, then sweep the change log since the checkpoint."""

    def __init__(
        self, db: Database, settings: Settings, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.store = ContentStore.from_settings(db, settings, clock=clock)
        self.index = ContentIndex()
        self.matcher = RetroMatcher(db, index=self.index, clock=clock)

    def run_once(self) -> RoundResult:
        purged = self.store.purge()
        self.index.remove(purged)  # ids of other types are ignored by the index
        sweep = self.matcher.sweep_changes()
        if purged:
            log.info("retro-match: %d expired content hash(es) deleted", len(purged))
        if sweep.queued:
            log.info("retro-match: %d old upload(s) queued for review", sweep.queued)
        return RoundResult(len(purged), sweep)
