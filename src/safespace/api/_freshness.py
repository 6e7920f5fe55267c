"""One in-memory matcher per worker, built in the background and kept current.

The ``matcher-refresh`` task (:mod:`safespace.runtime`, :meth:`MatcherHolder.run_once`)
loads the :class:`~safespace.banks._matching.Matcher` (the service answers ``/healthz``
meanwhile, and ``/readyz`` says 503): from the newest snapshot in ``snapshot_dir``
(memory-mapped: seconds even for 10M hashes), or from the database, writing a snapshot for
the next start. Then it applies the change log every ``interval`` seconds, so a hash added
through any worker or the CLI matches here within about ``interval`` plus the refresh time.
Curate endpoints also call :meth:`refresh_now`, so their own worker is current before they
respond. The ``matcher-snapshot`` task (:meth:`MatcherHolder.write_snapshot`, its own thread)
writes a new snapshot now and then (one worker at a time), from a private matcher, so serving
never pauses for it. The ``change-log-prune`` task (:meth:`MatcherHolder.prune_change_log`)
runs in one process of the cluster.
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from safespace.banks import Matcher
from safespace.banks import _snapshot as snap
from safespace.banks._changelog import prune_change_log
from safespace.banks._info import bank_thresholds
from safespace.errors import IndexFormatError, ServiceUnavailable
from safespace.signals import DISTANCE
from safespace.store import Bank, Database
from safespace.store._models import Change, utcnow

__all__ = ["BankMeta", "MatcherHolder"]

log = logging.getLogger("safespace.api")


@dataclass(frozen=True)
class BankMeta:
    """What a match result says about its bank."""

    name: str
    kind: str
    thresholds: dict[str, dict[str, int]]  # signal type -> threshold name -> value
    enabled: bool
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "thresholds": self.thresholds,
            **{  # the flat spelling (pdq_distance) clients used before
                f"{t}_{DISTANCE}": v[DISTANCE] for t, v in self.thresholds.items() if DISTANCE in v
            },
            "enabled": self.enabled,
            "description": self.description,
        }


class MatcherHolder:
    """Owns the matcher and its refresh thread; ``stale_after`` bounds what "current" means."""

    def __init__(
        self,
        db: Database,
        *,
        min_quality: int,
        interval: float,
        snapshot_dir: Path | None = None,
        snapshot_min_changes: int = 0,
        freeze_gc: bool = False,
        change_log_retention: timedelta | None = None,
        max_lag: int | None = None,
    ) -> None:
        self._db = db
        self._min_quality = min_quality
        self.interval = interval
        self.snapshot_dir = snapshot_dir
        self.snapshot_min_changes = snapshot_min_changes
        self.freeze_gc = freeze_gc
        self.change_log_retention = change_log_retention
        # Not ready while more than this many change-log entries are not yet applied here.
        self.max_lag = max_lag
        self.stale_after = max(5.0, 25 * interval)
        self._matcher: Matcher | None = None
        self._banks: dict[str, BankMeta] = {}
        self._banks_seq = -1
        self._last_ok = 0.0
        self._error: str | None = None
        self._runner: Any = None

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Run the matcher's two tasks on their own (scripts and tests; the app runs them
        with its other tasks from :data:`safespace.runtime.TASKS`)."""
        if self._runner is None:
            from safespace.runtime import TaskRunner  # below this module in the layering
            from safespace.runtime._task_matcher import HOLDER_TASKS

            tasks = [replace(t, interval=self.interval) if t.setting else t for t in HOLDER_TASKS]
            self._runner = TaskRunner(tasks, self)
            self._runner.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._runner is not None:
            self._runner.stop(timeout)
            self._runner = None

    def wait_ready(self, timeout: float) -> bool:
        """Block until the matcher is built (for tests and scripts); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._matcher is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._matcher is not None

    def run_once(self) -> None:
        """One round of ``matcher-refresh``: load the matcher, or apply the change log.

        A failure is kept for readiness and raised; the runner retries, backing off to 5 s.
        """
        try:
            if self._matcher is None:
                self._load()
            else:
                try:
                    self._refresh(self._matcher)
                except IndexFormatError as exc:  # the log was pruned past us
                    log.warning("%s: reloading the matcher (it serves meanwhile)", exc)
                    self._load()
        except Exception as exc:  # keep serving: the next round retries
            message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            self._error = message
            raise

    def _load(self) -> None:
        started = time.monotonic()
        matcher = None
        if self.snapshot_dir is not None:
            try:
                matcher = Matcher.load_or_build(
                    self._db, self.snapshot_dir, min_quality=self._min_quality
                )
            except OSError as exc:  # an unwritable or full disk must not keep us down
                log.warning("matcher snapshots unusable (%s); reading the database", exc)
                self.snapshot_dir = None
        if matcher is None:
            matcher = Matcher.from_database(self._db, min_quality=self._min_quality)
        self._sync_banks(matcher)
        if self.freeze_gc and self._matcher is None:  # at start only: a reload serves meanwhile
            _freeze_gc()
        self._matcher = matcher
        how = f"snapshot {matcher.snapshot.name}" if matcher.snapshot else "the database"
        took = time.monotonic() - started
        log.info("matcher ready: %d entries from %s in %.1f s", len(matcher), how, took)

    def write_snapshot(self) -> None:
        """One round of ``matcher-snapshot``: once the matcher is loaded, write a new snapshot
        if many changes have accumulated."""
        if self._matcher is None or self.snapshot_dir is None or self.snapshot_min_changes <= 0:
            return
        path = Matcher.update_snapshot(
            self._db, self.snapshot_dir, min_changes=self.snapshot_min_changes
        )
        if path is not None:
            log.info("wrote matcher snapshot %s", path.name)

    def prune_change_log(self) -> None:
        """One round of ``change-log-prune`` (one process in the cluster runs it): delete
        changes older than the retention period and older than this machine's newest
        snapshot. Another machine whose snapshot is older than that reloads from the
        database when it starts, as a worker does that falls behind the pruned mark."""
        folder, retention = self.snapshot_dir, self.change_log_retention
        if folder is None or retention is None:
            return
        with snap.snapshot_lock(folder, wait=False) as mine:
            if not mine:
                return  # a worker here is writing a snapshot: prune at the next round
            newest = snap.list_snapshots(folder, snap.database_identity(self._db))
        if not newest:
            return  # nothing to restart from but the log itself: keep it
        keep = snap.snapshot_seq(newest[0])
        done = prune_change_log(self._db, before=utcnow() - retention, keep_from_seq=keep)
        if done.deleted:
            log.info("pruned %d change-log entries (through %d)", done.deleted, done.through_seq)

    # --- state ---------------------------------------------------------------------------

    def _refresh(self, matcher: Matcher) -> None:
        matcher.refresh()
        self._sync_banks(matcher)
        self._last_ok = time.monotonic()
        self._error = None

    def _sync_banks(self, matcher: Matcher) -> None:
        if matcher.seq == self._banks_seq:
            return
        seq = matcher.seq
        with self._db.session() as s:
            rows = s.scalars(select(Bank)).all()
            banks = {
                b.name: BankMeta(b.name, b.kind, bank_thresholds(b), b.enabled, b.description)
                for b in rows
            }
        self._banks, self._banks_seq = banks, seq
        self._last_ok = time.monotonic()

    def refresh_now(self) -> None:
        """Apply pending changes now (after a write through this worker). Never raises."""
        matcher = self._matcher
        if matcher is None:
            return
        try:
            self._refresh(matcher)
        except Exception as exc:
            log.warning("matcher refresh after a write failed (the thread retries): %s", exc)

    @property
    def matcher(self) -> Matcher:
        """The matcher, or :class:`ServiceUnavailable` while it is being built."""
        matcher = self._matcher
        if matcher is None:
            raise ServiceUnavailable("the matcher is still loading the banks; try again", 2.0)
        return matcher

    def bank(self, name: str) -> BankMeta | None:
        return self._banks.get(name)

    def status(self) -> dict[str, Any]:
        """Readiness: built, and refreshed within ``stale_after`` seconds."""
        matcher = self._matcher
        if matcher is None:
            return {"ready": False, "detail": self._error or "loading the banks into memory"}
        age = time.monotonic() - self._last_ok
        if age > self.stale_after:
            detail = f"matcher not refreshed for {age:.0f} s: {self._error or 'refresh stalled'}"
            return {"ready": False, "detail": detail}
        seq = matcher.seq
        head = self.head_seq()
        lag = max(0, head - seq) if head is not None else None
        if lag is not None and self.max_lag is not None and lag > self.max_lag:
            detail = (
                f"matcher is {lag} changes behind the change log "
                f"(readiness_max_lag_changes is {self.max_lag})"
            )
            return {"ready": False, "detail": detail, "seq": seq, "lag": lag}
        return {"ready": True, "entries": len(matcher), "seq": seq, "lag": lag}

    def head_seq(self) -> int | None:
        """The newest change-log sequence number in the database; None when unreadable."""
        try:
            with self._db.session() as s:
                return int(s.scalar(select(func.max(Change.seq))) or 0)
        except Exception as exc:  # readiness reports it; it never raises
            log.warning("reading the change log's head failed: %s", exc)
            return None


def _freeze_gc() -> None:
    """Move everything alive at startup out of the collector's sight, once, before serving.

    A worker holds a few hundred thousand long-lived objects (modules, the ORM, the banks'
    metadata); a full collection walks all of them, 50-100 ms on this hardware, and every
    request in flight waits that long: the p99. Frozen, a full collection only walks what
    was made since. Only the server does this (a test process builds many apps).
    """
    gc.collect()
    gc.freeze()
