"""matcher-refresh, matcher-snapshot and change-log-prune: keep each worker's in-memory
matcher current, its restarts quick, and the change log it follows bounded.

The work itself is :class:`~safespace.api._freshness.MatcherHolder`'s; the app runs these on
its context, and a holder on its own (scripts, tests) runs :data:`HOLDER_TASKS` on itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from safespace.runtime._context import AppContext
from safespace.runtime._periodic import PeriodicTask

if TYPE_CHECKING:
    from safespace.api._freshness import MatcherHolder

__all__ = ["HOLDER_TASKS", "PRUNE", "REFRESH", "SNAPSHOT"]

SNAPSHOT_CHECK_SECONDS = 30.0
PRUNE_CHECK_SECONDS = 3600.0
_REFRESH_TEXT = (
    "Loads this worker's in-memory matcher (from the newest snapshot or the database), then "
    "applies the bank change log to it; after a failure it retries, backing off to 5 s."
)
_SNAPSHOT_TEXT = (
    "Writes a new matcher snapshot when at least SAFESPACE_SNAPSHOT_MIN_CHANGES changes piled "
    "up (one worker at a time, by the snapshot folder's lock)."
)
_PRUNE_TEXT = (
    "Hourly, deletes bank changes older than SAFESPACE_CHANGE_LOG_RETENTION_DAYS and older "
    "than the holder's newest snapshot; one process in the cluster, so machines on one "
    "database never prune at once."
)


def _refresh(holder: MatcherHolder) -> None:
    holder.run_once()


def _snapshot(holder: MatcherHolder) -> None:
    holder.write_snapshot()


HOLDER_TASKS: tuple[PeriodicTask[MatcherHolder], ...] = (
    PeriodicTask["MatcherHolder"](
        name="matcher-refresh",
        interval=0.2,
        setting="matcher_refresh_seconds",
        run=_refresh,
        placement="every-worker",
        description=_REFRESH_TEXT,
        max_backoff=5.0,
    ),
    PeriodicTask["MatcherHolder"](
        name="matcher-snapshot",
        interval=SNAPSHOT_CHECK_SECONDS,
        run=_snapshot,
        placement="every-worker",
        description=_SNAPSHOT_TEXT,
    ),
)


def _prune(holder: MatcherHolder) -> None:
    holder.prune_change_log()


def _on_app(task: PeriodicTask[MatcherHolder]) -> PeriodicTask[AppContext]:
    def run(ctx: AppContext) -> None:
        task.run(ctx.state.matcher)

    return PeriodicTask[AppContext](
        name=task.name,
        interval=task.interval,
        setting=task.setting,
        run=run,
        placement=task.placement,
        description=task.description,
        max_backoff=task.max_backoff,
    )


REFRESH, SNAPSHOT = (_on_app(task) for task in HOLDER_TASKS)
PRUNE = _on_app(
    PeriodicTask["MatcherHolder"](
        name="change-log-prune",
        interval=PRUNE_CHECK_SECONDS,
        run=_prune,
        placement="once-per-cluster",
        description=_PRUNE_TEXT,
    )
)
